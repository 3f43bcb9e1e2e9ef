package envlife

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/config"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"

	"github.com/outside-in/outside-in/internal/envname"
)

// MaxTTL bounds how long env up lets a stack live before the reaper may take it: an
// environment nobody renews is forgotten, and a forgotten full stack costs money every hour.
const MaxTTL = 14 * 24 * time.Hour

// The program's own rules for owner (program.validateLifecycle) and platformStack: checked
// here too, so that a bad value stops env up before any stack is created.
var (
	ownerPattern    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._@-]{0,61}[A-Za-z0-9])?(\[bot\])?$`)
	stackRefPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
)

// UpRequest says which ephemeral stack to create or update.
type UpRequest struct {
	// Stack is the stack's name, e.g. dev-alice or pr-17; an environment's name derives from it.
	Stack string
	// Owner is who the stack belongs to.
	Owner string
	// TTL is how long from now the stack lives, at most MaxTTL; every up renews it.
	TTL time.Duration
	// Platform is the fully qualified platform stack (org/project/stack) of an environment.
	// Exactly one of Platform and From is set.
	Platform string
	// From is a stack file (Pulumi.<x>.yaml) whose configuration a full stack copies.
	From string
}

// Kind is the kind of stack the request makes.
func (r UpRequest) Kind() Kind {
	if r.From != "" {
		return KindFullStack
	}
	return KindEnvironment
}

// Validate checks the request without touching any stack.
func (r UpRequest) Validate() error {
	var errs []error
	if r.Stack == "" {
		errs = append(errs, errors.New("the stack name is empty"))
	} else if _, err := envname.FromStack(r.Stack); err != nil {
		errs = append(errs, fmt.Errorf("stack name %q: %w", r.Stack, err))
	}
	if !ownerPattern.MatchString(r.Owner) {
		errs = append(errs, fmt.Errorf("owner %q: must be 1-63 letters, digits, - _ . or @, starting and ending with a letter or digit, optionally followed by [bot] (a GitHub App, e.g. renovate[bot])", r.Owner))
	}
	if r.TTL <= 0 || r.TTL > MaxTTL {
		errs = append(errs, fmt.Errorf("ttl %s: must be more than 0 and at most %s", r.TTL, MaxTTL))
	}
	switch {
	case r.Platform != "" && r.From != "":
		errs = append(errs, errors.New("give a platform stack (an environment) or a stack file to copy (a full stack), not both"))
	case r.Platform == "" && r.From == "":
		errs = append(errs, errors.New("no platform stack: give the platform's org/project/stack, or a stack file to copy for a full stack"))
	case r.Platform != "" && !stackRefPattern.MatchString(r.Platform):
		errs = append(errs, fmt.Errorf("platform stack %q: must be fully qualified, <organization>/<project>/<stack>", r.Platform))
	case r.Platform != "" && stackLeaf(r.Platform) == stackLeaf(r.Stack):
		errs = append(errs, fmt.Errorf("stack %q is the platform itself", r.Stack))
	}
	return errors.Join(errs...)
}

// Up creates the stack or updates it, and returns what it serves. An existing stack must have
// been made by Up, with the same kind: Up never turns a long-lived stack into an ephemeral one.
//
// Order matters: the configuration and the tags are written before the update, so that a
// stack whose update fails is still owned, dated and reaped.
func (m *Manager) Up(ctx context.Context, req UpRequest) (Info, error) {
	if err := req.Validate(); err != nil {
		return Info{}, fmt.Errorf("env up %s: %w", req.Stack, err)
	}
	var from *workspace.ProjectStack
	ws, err := m.workspace(ctx, nil)
	if err != nil {
		return Info{}, err
	}
	if req.From != "" {
		if from, err = loadStackFile(ctx, ws, req.From); err != nil {
			return Info{}, fmt.Errorf("env up %s: %w", req.Stack, err)
		}
	}
	stack, created, err := openOrCreate(ctx, ws, req.Stack)
	if err != nil {
		return Info{}, fmt.Errorf("env up %s: %w", req.Stack, err)
	}
	tags := map[string]string{}
	if !created {
		if tags, err = stack.ListTags(ctx); err != nil {
			return Info{}, fmt.Errorf("env up %s: reading tags: %w", req.Stack, err)
		}
		if got, ok := tags[TagKind]; !ok {
			return Info{}, fmt.Errorf("env up %s: the stack exists and was not made by env up (no %s tag); refusing to make a long-lived stack ephemeral", req.Stack, TagKind)
		} else if Kind(got) != req.Kind() {
			return Info{}, fmt.Errorf("env up %s: the stack is of kind %s, not %s; take it down first", req.Stack, got, req.Kind())
		}
	}

	// The marker goes first: once it is set, a retry of env up (and env down) accepts the stack,
	// and a stack left without an expiry by a crash shows in the reaper's report.
	now := m.now()
	expires := now.Add(req.TTL).Truncate(time.Second)
	type tag struct{ key, value string }
	want := []tag{
		{TagKind, string(req.Kind())},
		{TagExpiresAt, expires.Format(time.RFC3339)},
		{TagOwner, req.Owner},
	}
	createdAt, known := tags[TagCreatedAt]
	if !known {
		createdAt = now.Truncate(time.Second).Format(time.RFC3339)
		want = append(want, tag{TagCreatedAt, createdAt})
	}
	for _, t := range want {
		if got, ok := tags[t.key]; ok && got == t.value {
			continue
		}
		if err := stack.SetTag(ctx, t.key, t.value); err != nil {
			return Info{}, fmt.Errorf("env up %s: setting tag %s: %w", req.Stack, t.key, err)
		}
	}
	if err := m.writeSettings(ctx, ws, req, from, expires); err != nil {
		return Info{}, fmt.Errorf("env up %s: %w", req.Stack, err)
	}

	// The update's summary is read without secrets (optup.ShowSecrets(false)): with them the
	// CLI derives the passphrase's key once more, 0.25 s of CPU, for values nothing reads.
	res, err := stack.Up(ctx, optup.ProgressStreams(m.progress()), optup.ErrorProgressStreams(m.progress()), optup.ShowSecrets(false))
	if err != nil {
		return Info{}, fmt.Errorf("env up %s: update failed (the stack is tagged and expires at %s; run env down to remove it now): %w",
			req.Stack, expires.Format(time.RFC3339), err)
	}
	info := Info{Stack: req.Stack, Kind: req.Kind(), Owner: req.Owner, ExpiresAt: expires, LastUpdate: now, URLs: urlsOf(res.Outputs)}
	info.CreatedAt, _ = time.Parse(time.RFC3339, createdAt)
	_, info.Platform = res.Outputs[OutputEnvDomain]
	return info, nil
}

// openOrCreate creates the stack, or selects it when the backend already has one of that name.
// Creating first costs one CLI run for a new stack (the common case) instead of two.
func openOrCreate(ctx context.Context, ws auto.Workspace, name string) (auto.Stack, bool, error) {
	stack, err := auto.NewStack(ctx, name, ws)
	if err == nil {
		return stack, true, nil
	}
	if !auto.IsCreateStack409Error(err) {
		return auto.Stack{}, false, fmt.Errorf("creating the stack: %w", err)
	}
	stack, err = auto.SelectStack(ctx, name, ws)
	if err != nil {
		return auto.Stack{}, false, fmt.Errorf("selecting the stack: %w", err)
	}
	return stack, false, nil
}

// writeSettings writes Pulumi.<stack>.yaml: the stack's own secrets settings (written by stack
// creation), the configuration (kept from an earlier up for an environment, so a developer
// may add apps to it; copied afresh from the stack file for a full stack) and the lifecycle
// keys. Writing the file directly costs one file write instead of a CLI run per key.
func (m *Manager) writeSettings(ctx context.Context, ws auto.Workspace, req UpRequest, from *workspace.ProjectStack, expires time.Time) error {
	settings, err := ws.StackSettings(ctx, req.Stack)
	if err != nil {
		// A new stack whose secrets provider keeps nothing in the file has no file yet.
		if _, statErr := os.Stat(m.stackFile(req.Stack)); !os.IsNotExist(statErr) {
			return fmt.Errorf("reading %s: %w", m.stackFile(req.Stack), err)
		}
		settings = &workspace.ProjectStack{}
	}
	// A fresh value carries no raw bytes, so Save writes it whole instead of patching the file.
	out := &workspace.ProjectStack{
		SecretsProvider: settings.SecretsProvider,
		EncryptedKey:    settings.EncryptedKey,
		EncryptionSalt:  settings.EncryptionSalt,
		Config:          config.Map{},
	}
	src := settings.Config
	if from != nil {
		src = from.Config
	}
	for k, v := range src {
		out.Config[k] = v
	}
	set := func(key, value string) { out.Config[mustParseKey(key)] = config.NewValue(value) }
	set(KeyOwner, req.Owner)
	set(KeyExpiresAt, expires.Format(time.RFC3339))
	if req.Kind() == KindEnvironment {
		set(KeyClusterMode, ClusterModeExisting)
		set(KeyPlatformStack, req.Platform)
	} else if mode := out.Config[mustParseKey(KeyClusterMode)]; !isExisting(mode) {
		// A full stack on AWS guards its destroy while its load balancer is protected (the
		// deletion guard), and protection is on by default: the reaper could never remove it.
		set(KeyLoadBalancerDeletionProtection, "false")
	}
	if err := ws.SaveStackSettings(ctx, req.Stack, out); err != nil {
		return fmt.Errorf("writing the stack's settings: %w", err)
	}
	return nil
}

// mustParseKey parses one of the package's own "namespace:name" keys.
func mustParseKey(key string) config.Key {
	k, err := config.ParseKey(key)
	if err != nil {
		panic(fmt.Sprintf("envlife: bad config key %q: %v", key, err))
	}
	return k
}

func isExisting(mode config.Value) bool {
	v, err := mode.Value(config.NopDecrypter)
	return err == nil && v == ClusterModeExisting
}

func (m *Manager) stackFile(stack string) string {
	return m.WorkDir + string(os.PathSeparator) + "Pulumi." + stackLeaf(stack) + ".yaml"
}

// loadStackFile reads a stack file to copy. Secret values are refused: they are encrypted
// with the other stack's key, which the new stack does not share.
func loadStackFile(ctx context.Context, ws auto.Workspace, path string) (*workspace.ProjectStack, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("stack file to copy: %w", err)
	}
	project, err := ws.ProjectSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the project settings: %w", err)
	}
	ps, err := workspace.LoadProjectStack(nil, project, path)
	if err != nil {
		return nil, fmt.Errorf("reading stack file %s: %w", path, err)
	}
	var secret []string
	for k, v := range ps.Config {
		if v.Secure() {
			secret = append(secret, k.String())
		}
	}
	if len(secret) > 0 {
		sort.Strings(secret)
		return nil, fmt.Errorf("stack file %s holds secret values (%s), encrypted for another stack; remove them and set them on the new stack with pulumi config set --secret",
			path, strings.Join(secret, ", "))
	}
	return ps, nil
}

// stackLeaf is the last segment of a stack name (org/project/stack → stack).
func stackLeaf(name string) string {
	return name[strings.LastIndexByte(name, '/')+1:]
}
