// Package plan runs outside-in against the fake AWS and renders what it would build: a resource
// tree with a summary, the request path of every hostname, the resource set in the shape of
// `pulumi stack export`, and the Kubernetes objects as YAML. cmd/plan and the tests use it.
package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/internal/fakeaws"
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
}

// Raw returns the outside-in keys without their namespace.
func (s Stack) Raw() map[string]string {
	raw := map[string]string{}
	for k, v := range s.Config {
		if name, ok := strings.CutPrefix(k, program.Namespace+":"); ok {
			raw[name] = v
		}
	}
	return raw
}

// Region is the stack's aws:region.
func (s Stack) Region() string { return s.Config["aws:region"] }

// ReadStackFile reads a Pulumi stack file. The stack is named after the file
// (Pulumi.<name>.yaml), or "dev" for a file named otherwise.
func ReadStackFile(path string) (Stack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Stack{}, err
	}
	name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "Pulumi."), ".yaml")
	if name == filepath.Base(path) || name == "" {
		name = "dev"
	}
	var file struct {
		Config map[string]json.RawMessage `json:"config"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		return Stack{}, fmt.Errorf("%s: %w", path, err)
	}
	s := Stack{Name: name, Config: map[string]string{}}
	for k, v := range file.Config {
		raw, err := configValue(v)
		if err != nil {
			return Stack{}, fmt.Errorf("%s: %s: %w", path, k, err)
		}
		s.Config[k] = raw
	}
	return s, nil
}

// configValue turns a stack-file value into the string Pulumi hands the program: strings as
// they are, numbers and booleans as written, lists and maps as JSON.
func configValue(v json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(v, &s); err == nil {
		return s, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(v, &obj); err == nil {
		if _, secure := obj["secure"]; secure && len(obj) == 1 {
			return "", errors.New("the value is encrypted (secure); the offline plan cannot decrypt it")
		}
	}
	return string(v), nil
}

// Options tune a plan run.
type Options struct {
	// Preview answers like `pulumi preview` on an empty stack: computed values unknown.
	Preview bool
	// Zones are existing hosted zones the fake account holds, by name. A stack with zoneMode
	// "existing" gets one for its domain when none is given.
	Zones map[string]string
}

// Result is what a run registered and exported.
type Result struct {
	Stack     Stack
	Fake      *fakeaws.Fake
	Resources []*fakeaws.Resource
	// Exports are the stack outputs, resolved; Secret marks the secret ones.
	Exports map[string]Export
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
	var mu sync.Mutex
	finished := false // set once Run returns: later resolutions are dropped
	resolved := map[string]chan struct{}{}
	opt := fakeaws.Options{Region: region, Preview: opts.Preview, Zones: zones}
	fake, err := fakeaws.Run(Project, s.Name, opt, s.Config, func(ctx *pulumi.Context) error {
		if err := program.RunWith(ctx, s.Raw()); err != nil {
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
