package estimate

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
)

// root is the repository root, where Pulumi.yaml and the shipped stack files are.
const root = "../.."

// runStack runs the offline plan of a shipped stack file.
func runStack(t *testing.T, stackFile string) *plan.Result {
	t.Helper()
	s, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), stackFile)
	require.NoError(t, err)
	return runConfig(t, s)
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
		cp := *r
		cp.Dependencies = append([]string(nil), r.Dependencies...)
		cp.PropertyDependencies = map[string][]string{}
		for k, v := range r.PropertyDependencies {
			cp.PropertyDependencies[k] = append([]string(nil), v...)
		}
		c.Resources = append(c.Resources, &cp)
	}
	return &c
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
