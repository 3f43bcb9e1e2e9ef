package estimate

import (
	"maps"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// root is the repository root, where Pulumi.yaml and the shipped stack files are.
const root = "../.."

// runStack runs the offline plan of a shipped stack file; an environment stack's platform (the
// shipped stack named by the last part of platformStack) is planned first, as cmd/plan does.
func runStack(t *testing.T, stackFile string) *plan.Result {
	t.Helper()
	s, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), stackFile)
	require.NoError(t, err)
	opts := plan.Options{}
	if ref := s.Config[program.Namespace+":"+program.KeyPlatformStack]; ref != "" {
		opts.Platform = runStack(t, filepath.Join(root, "Pulumi."+ref[strings.LastIndex(ref, "/")+1:]+".yaml"))
	}
	res, err := plan.Run(s, opts)
	require.NoError(t, err, "the offline plan of %s must run before it can be estimated", s.Name)
	return res
}

func runConfig(t *testing.T, s plan.Stack) *plan.Result {
	t.Helper()
	res, err := plan.Run(s, plan.Options{})
	require.NoError(t, err, "the offline plan of %s must run before it can be estimated", s.Name)
	return res
}

func loadDev(t *testing.T) plan.Stack {
	t.Helper()
	s, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), filepath.Join(root, "Pulumi.dev.yaml"))
	require.NoError(t, err)
	return s
}

// standardSupport is a moment well inside the version's EKS standard support, by the data:
// half a year before its end, so that no warning of the coming end applies either.
func standardSupport(t *testing.T, p *Prices, version string) time.Time {
	t.Helper()
	v, ok := p.EKSSupport.Versions[version]
	require.True(t, ok, "eksSupport has no dates for %s", version)
	return day(v.EndOfStandardSupport).AddDate(0, -6, 0)
}

// withResources is a copy of the plan whose resources can be changed without touching it.
func withResources(res *plan.Result) *plan.Result {
	c := *res
	c.Resources = nil
	for _, r := range res.Resources {
		c.Resources = append(c.Resources, clone(r))
	}
	return &c
}

// clone copies a recorded resource field by field (the fake caches plain values inside it);
// its dependencies can change without touching the original.
func clone(r *fakeaws.Resource) *fakeaws.Resource {
	cp := &fakeaws.Resource{URN: r.URN, Type: r.Type, Name: r.Name, ID: r.ID, Custom: r.Custom, Parent: r.Parent,
		Provider: r.Provider, Inputs: r.Inputs, Outputs: r.Outputs, Protect: r.Protect, RetainOnDelete: r.RetainOnDelete,
		Read: r.Read, Dependencies: append([]string(nil), r.Dependencies...), PropertyDependencies: map[string][]string{}}
	for k, v := range r.PropertyDependencies {
		cp.PropertyDependencies[k] = append([]string(nil), v...)
	}
	return cp
}

// only is the single resource of a type, failing unless there is exactly one.
func only(t *testing.T, res *plan.Result, typ string) *fakeaws.Resource {
	t.Helper()
	rs := res.OfType(typ)
	require.Len(t, rs, 1, "resources of type %s", typ)
	return rs[0]
}

func itemsOf(rep *Report, typ string) []Item {
	var out []Item
	for _, it := range rep.Items {
		if it.Type == typ {
			out = append(out, it)
		}
	}
	return out
}

func stepTypes(cp CriticalPath) []string {
	var out []string
	for _, s := range cp.Steps {
		out = append(out, s.Type)
	}
	return out
}

// fullyPriced checks that a shipped stack leaves nothing unpriced: an unpriced resource in a
// stack we ship means the price data or the rules lag behind the program.
func fullyPriced(t *testing.T, stackFile string, rep *Report) {
	t.Helper()
	for _, u := range rep.Unpriced {
		t.Errorf("%s: unpriced %s: %s", stackFile, u.URN, u.Reason)
	}
}

// withSetting is a copy of the stack with one outside-in key set.
func withSetting(s plan.Stack, key, value string) plan.Stack {
	out := plan.Stack{Name: s.Name, Config: maps.Clone(s.Config)}
	out.Config[program.Namespace+":"+key] = value
	return out
}
