// Package envlife runs the lifecycle of ephemeral stacks over Pulumi's Automation API: it
// creates or updates an environment stack in a platform's cluster (or a full stack copied from
// a stack file), lists them with owner, age, expiry and URLs, destroys and removes one, and
// reaps every stack whose expiry has passed.
//
// An ephemeral stack is marked by stack tags, which the Automation API cannot filter on, so
// every listing reads the tags of each stack. The tags are written before the first `up`, so a
// stack whose first update fails is still owned, dated and reaped. Stacks without the marker
// tag, and platform stacks (stacks exporting envDomain), are never touched.
//
// The program runs inline (Manager.Program) in the project directory (Manager.WorkDir, holding
// Pulumi.yaml), so cmd/env runs the project's real program and tests run small ones; the
// Pulumi CLI only drives the engine and the backend (PULUMI_BACKEND_URL in Manager.EnvVars).
package envlife

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/published"
)

// Stack tags that make a stack ephemeral. Pulumi tag names allow letters, digits and - _ . :.
const (
	// TagKind marks a stack as made by env up; its value is a Kind. Only stacks with it are
	// ever listed, taken down or reaped.
	TagKind = "outside-in:ephemeral"
	// TagOwner names who the stack belongs to (a person, or "ci" for pull requests).
	TagOwner = "owner"
	// TagExpiresAt is when the reaper may remove the stack, RFC 3339 in UTC.
	TagExpiresAt = "expires-at"
	// TagCreatedAt is when env up first made the stack, RFC 3339 in UTC; it is never rewritten.
	TagCreatedAt = "created-at"
)

// Kind is what an ephemeral stack builds.
type Kind string

const (
	// KindEnvironment is an environment stack: a namespace and apps in a platform's cluster.
	KindEnvironment Kind = "environment"
	// KindFullStack is a whole stack of its own (VPC, cluster, load balancer), e.g. k3s.
	KindFullStack Kind = "full-stack"
)

// Config keys (namespace outside-in) that env up sets, with the namespace. They are the
// program's keys (program.KeyClusterMode and the others), spelled out here so that the
// lifecycle does not import the program, which its tests replace with inline programs;
// cmd/env's tests check that the two agree.
const (
	configNamespace                   = "outside-in"
	KeyClusterMode                    = configNamespace + ":clusterMode"
	KeyPlatformStack                  = configNamespace + ":platformStack"
	KeyOwner                          = configNamespace + ":owner"
	KeyExpiresAt                      = configNamespace + ":expiresAt"
	KeyLoadBalancerDeletionProtection = configNamespace + ":loadBalancerDeletionProtection"
	// ClusterModeExisting is the clusterMode of an environment stack.
	ClusterModeExisting = "existing"
)

// Outputs the lifecycle reads.
const (
	// OutputURLs is the map of app name to URL every stack of the program exports.
	OutputURLs = "urls"
	// OutputEnvDomain is exported by platform stacks only; a stack exporting it is never reaped.
	OutputEnvDomain = "envDomain"
)

// deleteUnreachable lets pulumi-kubernetes drop resources from the state when their cluster no
// longer answers. Without it, an environment whose platform cluster was destroyed first could
// never be destroyed; with it, any refusal (a 401, a timeout) counts as "cluster gone", so it is
// set only when the cluster verifiably no longer exists (see clusterOf).
const deleteUnreachable = "PULUMI_K8S_DELETE_UNREACHABLE"

// Manager runs lifecycle operations on the stacks of one project and backend.
type Manager struct {
	// WorkDir is the project directory: it holds Pulumi.yaml, and env up writes each stack's
	// settings there as Pulumi.<stack>.yaml.
	WorkDir string
	// Program is the project's program, run inline by up.
	Program pulumi.RunFunc
	// Pulumi is the CLI that drives the engine (see auto.NewPulumiCommand).
	Pulumi auto.PulumiCommand
	// EnvVars are set for every CLI run: PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, ...
	EnvVars map[string]string
	// Progress receives the engine's output of up and destroy; nil discards it.
	Progress io.Writer
	// Now is the clock; nil means time.Now. Tests set it to make stacks expire.
	Now func() time.Time
	// LookupHost resolves a cluster endpoint's name; nil means the system's resolver. Only a
	// name that does not exist (NXDOMAIN) counts as a cluster gone.
	LookupHost func(ctx context.Context, host string) ([]string, error)
	// RemoveNamespace deletes an environment's namespace through a kubeconfig and waits until it
	// is gone; nil means through client-go.
	RemoveNamespace func(ctx context.Context, kubeconfig, namespace string) error
	// Platforms reads a platform's published document; nil reads it from Parameter Store
	// (published.SSM). The lifecycle never opens a platform's state.
	Platforms published.Reader
}

// Published is what the platform stack (org/project/stack) publishes for its environments.
func (m *Manager) Published(ctx context.Context, platform string) (map[string]any, error) {
	r := m.Platforms
	if r == nil {
		r = published.SSM{}
	}
	doc, err := r.Read(ctx, platform)
	if err != nil {
		return nil, fmt.Errorf("reading what platform %s publishes: %w", platform, err)
	}
	return doc, nil
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now().UTC()
	}
	return time.Now().UTC()
}

func (m *Manager) progress() io.Writer {
	if m.Progress != nil {
		return m.Progress
	}
	return io.Discard
}

// workspace opens the project directory with the manager's CLI, program and environment, plus
// extra environment variables.
func (m *Manager) workspace(ctx context.Context, extra map[string]string) (auto.Workspace, error) {
	if m.WorkDir == "" || m.Program == nil || m.Pulumi == nil {
		return nil, fmt.Errorf("envlife: the manager needs WorkDir, Program and Pulumi")
	}
	env := maps.Clone(m.EnvVars)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, extra)
	ws, err := auto.NewLocalWorkspace(ctx,
		auto.WorkDir(m.WorkDir), auto.Program(m.Program), auto.Pulumi(m.Pulumi), auto.EnvVars(env))
	if err != nil {
		return nil, fmt.Errorf("envlife: opening the project in %s: %w", m.WorkDir, err)
	}
	return ws, nil
}

// Info describes an ephemeral stack as its tags and outputs tell it.
type Info struct {
	// Stack is the stack's name as the backend lists it.
	Stack string
	Kind  Kind
	Owner string
	// CreatedAt is zero when the tag is missing or unreadable; LastUpdate when the stack was
	// never updated.
	CreatedAt  time.Time
	LastUpdate time.Time
	// ExpiresAt is zero when the tag is missing; BadExpiry then or when it does not parse.
	ExpiresAt time.Time
	BadExpiry string
	// URLs maps each app to its URL, from the urls output.
	URLs map[string]string
	// Platform reports that the stack exports envDomain: a platform, never reaped.
	Platform bool
}

// Expired reports whether the stack's expiry has passed at now.
func (i Info) Expired(now time.Time) bool {
	return !i.ExpiresAt.IsZero() && !now.Before(i.ExpiresAt)
}

// readInfo reads the tags of a listed stack and, for an ephemeral one, its outputs. ok is
// false for a stack without the TagKind marker, whose outputs are not read.
func readInfo(ctx context.Context, ws auto.Workspace, s auto.StackSummary) (info Info, ok bool, err error) {
	tags, err := ws.ListTags(ctx, s.Name)
	if err != nil {
		return Info{}, false, fmt.Errorf("reading the tags of stack %s: %w", s.Name, err)
	}
	kind, ok := tags[TagKind]
	if !ok {
		return Info{Stack: s.Name}, false, nil
	}
	info = Info{Stack: s.Name, Kind: Kind(kind), Owner: tags[TagOwner]}
	info.CreatedAt, _ = time.Parse(time.RFC3339, tags[TagCreatedAt])
	info.LastUpdate = parseLastUpdate(s.LastUpdate)
	if raw, set := tags[TagExpiresAt]; !set {
		info.BadExpiry = "no " + TagExpiresAt + " tag"
	} else if info.ExpiresAt, err = time.Parse(time.RFC3339, raw); err != nil {
		info.BadExpiry = fmt.Sprintf("%s tag %q is not an RFC 3339 time", TagExpiresAt, raw)
	}
	outputs, err := maskedOutputs(ctx, ws, s.Name)
	if err != nil {
		return info, true, fmt.Errorf("reading the outputs of stack %s: %w", s.Name, err)
	}
	_, info.Platform = outputs[OutputEnvDomain]
	info.URLs = urlsOf(outputs)
	return info, true, nil
}

// maskedOutputs reads a stack's outputs with secrets masked, in one CLI run: what a listing
// needs (envDomain and the urls, never secret). ws.StackOutputs runs the CLI twice, once more
// with --show-secrets to learn which values are secret; a sweep reads every stack's outputs.
func maskedOutputs(ctx context.Context, ws auto.Workspace, stack string) (auto.OutputMap, error) {
	env := []string{}
	if home := ws.PulumiHome(); home != "" {
		env = append(env, "PULUMI_HOME="+home)
	}
	for k, v := range ws.GetEnvVars() {
		env = append(env, k+"="+v)
	}
	stdout, stderr, _, err := ws.PulumiCommand().Run(ctx, ws.WorkDir(), nil, nil, nil, env,
		"stack", "output", "--json", "--stack", stack)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr))
	}
	var values map[string]any
	if err := json.Unmarshal([]byte(stdout), &values); err != nil {
		return nil, fmt.Errorf("the CLI's outputs are not JSON: %w", err)
	}
	out := auto.OutputMap{}
	for k, v := range values {
		out[k] = auto.OutputValue{Value: v}
	}
	return out, nil
}

// parseLastUpdate reads StackSummary.LastUpdate, which the CLI writes as RFC 3339 (with
// fractional seconds on some backends); an empty or odd value gives the zero time.
func parseLastUpdate(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

func urlsOf(outputs auto.OutputMap) map[string]string {
	out := map[string]string{}
	v, ok := outputs[OutputURLs]
	if !ok {
		return out
	}
	if m, ok := v.Value.(map[string]any); ok {
		for app, u := range m {
			out[app] = fmt.Sprint(u)
		}
	}
	return out
}

// Outputs are a stack's outputs, secrets in plain (what env check reads).
func (m *Manager) Outputs(ctx context.Context, stack string) (map[string]any, error) {
	ws, err := m.workspace(ctx, nil)
	if err != nil {
		return nil, err
	}
	out, err := ws.StackOutputs(ctx, stack)
	if err != nil {
		return nil, fmt.Errorf("reading the outputs of stack %s: %w", stack, err)
	}
	values := map[string]any{}
	for k, v := range out {
		values[k] = v.Value
	}
	return values, nil
}
