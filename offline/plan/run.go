// Package plan runs outside-in against the fake AWS and renders what it would build: a resource
// tree with a summary, the request path of every hostname, the resource set in the shape of
// `pulumi stack export`, and the Kubernetes objects as YAML. cmd/plan and the tests use it.
package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/outside-in/outside-in/internal/kubewait"
	"github.com/outside-in/outside-in/internal/published"
	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/program"
)

// Project is the Pulumi project name.
const Project = "outside-in"

// Stack is a stack's name and configuration, as in a Pulumi.<stack>.yaml file.
type Stack struct {
	Name string
	// Config holds every key with its namespace ("outside-in:natStrategy", "aws:region"), with
	// values as Pulumi hands them to a program: strings, structured values as JSON.
	Config map[string]string
	// Warnings are what Pulumi's loader said about the stack file (an empty value, say).
	Warnings []string
}

// Region is the stack's aws:region.
func (s Stack) Region() string { return s.Config["aws:region"] }

// Options tune a plan run.
type Options struct {
	// Preview answers like `pulumi preview` on an empty stack: computed values unknown.
	Preview bool
	// Zones are existing hosted zones the fake account holds, by name. A stack with zoneMode
	// "existing" gets one for its domain when none is given.
	Zones map[string]string
	// Platform is the offline plan of the platform stack an environment stack references; its
	// published document answers the environment.
	Platform *Result
	// CallerRole is the IAM role running Pulumi (default platform-engineer), e.g. a CI role.
	CallerRole string
}

// Result is what a run registered and exported.
type Result struct {
	Stack     Stack
	Fake      *fakeaws.Fake
	Resources []*fakeaws.Resource
	// Exports are the stack outputs, resolved; Secret marks the secret ones.
	Exports map[string]Export
	// Warnings are what the program warned about (keys nothing reads).
	Warnings []string
	// APIWaits are the waits for the cluster's API the program asked for, in order.
	APIWaits []APIWait
}

// APIWait is one wait the program asked for before using a cluster.
type APIWait struct {
	Kubeconfig string
	Options    kubewait.Options
}

// Export is one resolved stack output.
type Export struct {
	Value   any
	Secret  bool
	Unknown bool
}

// Run runs the program for the stack against the fake AWS. A configuration error comes back
// as a *program.ConfigError with the fake's record showing what was registered (nothing).
func Run(s Stack, opts Options) (*Result, error) {
	region := s.Region()
	if region == "" {
		region = "eu-central-1"
	}
	zones := opts.Zones
	if zones == nil && s.Config[program.Namespace+":"+program.KeyZoneMode] == program.ZoneExisting {
		zones = map[string]string{s.Config[program.Namespace+":"+program.KeyDomain]: "Z0EXISTING0ZONE0OUTSIDEIN"}
	}
	res := &Result{Stack: s, Exports: map[string]Export{}}
	if _, warnings, err := program.Parse(Project, s.Name, s.Config); err == nil || program.IsConfigError(err) {
		res.Warnings = warnings
	}
	var mu sync.Mutex
	finished := false // set once Run returns: later resolutions are dropped
	resolved := map[string]chan struct{}{}
	opt := fakeaws.Options{Region: region, Preview: opts.Preview, Zones: zones, CallerRole: opts.CallerRole}
	// An environment reads its platform's published document: the one the platform's plan
	// writes to its parameter.
	var platforms published.Reader = noPlatform{}
	if opts.Platform != nil {
		doc, err := opts.Platform.Published()
		if err != nil {
			return nil, err
		}
		platforms = published.Fixed{s.Config[program.Namespace+":"+program.KeyPlatformStack]: doc}
	}
	// The fake cluster has no API to wait for: the wait is recorded, and the kubeconfig it was
	// given must be one a Kubernetes client can read.
	waiter := func(_ context.Context, kubeconfig string, o kubewait.Options) error {
		if _, err := clientcmd.RESTConfigFromKubeConfig([]byte(kubeconfig)); err != nil {
			return fmt.Errorf("the kubeconfig the program waits with does not load: %w", err)
		}
		mu.Lock()
		res.APIWaits = append(res.APIWaits, APIWait{Kubeconfig: kubeconfig, Options: o})
		mu.Unlock()
		return nil
	}
	fake, err := fakeaws.Run(Project, s.Name, opt, s.Config, func(ctx *pulumi.Context) error {
		if err := program.RunWith(ctx, s.Config, program.Options{WaitForAPI: waiter, Platform: platforms}); err != nil {
			return err
		}
		for name, value := range ctx.GetCurrentExportMap() {
			out := pulumi.ToOutput(value)
			secret := pulumi.IsSecret(out)
			done := make(chan struct{})
			resolved[name] = done
			mu.Lock()
			res.Exports[name] = Export{Secret: secret, Unknown: true}
			mu.Unlock()
			out.ApplyT(func(v any) any {
				mu.Lock()
				if !finished {
					res.Exports[name] = Export{Value: plain(v), Secret: secret}
				}
				mu.Unlock()
				close(done)
				return v
			})
		}
		return nil
	})
	// Not every output is tied to the run (a constant turned into an output is not), so wait
	// for each export here. In a preview an unknown value never resolves: it stays Unknown.
	wait := 10 * time.Second
	if opts.Preview {
		wait = 200 * time.Millisecond
	}
	deadline := time.Now().Add(wait)
	for _, done := range resolved {
		select {
		case <-done:
		case <-time.After(time.Until(deadline)):
		}
	}
	mu.Lock()
	finished = true
	mu.Unlock()
	res.Fake = fake
	res.Resources = fake.Resources()
	if err != nil {
		var ce *program.ConfigError
		if errors.As(err, &ce) {
			return res, ce
		}
		return res, err
	}
	return res, nil
}

// Published is the document the run's platform publishes for its environments: the value of
// its published parameter.
func (r *Result) Published() (map[string]any, error) {
	p := r.Named("aws:ssm/parameter:Parameter", "published-parameter")
	if p == nil {
		return nil, fmt.Errorf("stack %s publishes nothing for environments: is it a platform (envDomain set)?", r.Stack.Name)
	}
	v, secret := fakeaws.Reveal(p.In("value"))
	value, ok := v.(string)
	if !ok || !secret {
		return nil, fmt.Errorf("stack %s: its published document is not a known secret in this plan", r.Stack.Name)
	}
	return published.Parse(value)
}

// noPlatform answers an environment planned without its platform.
type noPlatform struct{}

func (noPlatform) Read(_ context.Context, platformStack string) (map[string]any, error) {
	return nil, fmt.Errorf("%w: give the plan the platform's stack file (--platform) to plan an environment of %s", published.ErrNotPublished, platformStack)
}

// plain turns an output's Go value into JSON-shaped data.
func plain(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Sprint(v)
	}
	return out
}
