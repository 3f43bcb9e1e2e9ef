package tests

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/mod/modfile"

	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/kubeapi"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// root is the repository root, where the stack files live.
const root = ".."

// requiredVersion is the version, without its "v", at which the go.mod at path requires
// module: read with Go's own parser, rather than by a `go list` run (a second of CPU).
func requiredVersion(t *testing.T, path, module string) string {
	t.Helper()
	body, err := os.ReadFile(path)
	require.NoError(t, err)
	mod, err := modfile.Parse(path, body, nil)
	require.NoError(t, err)
	for _, r := range mod.Require {
		if r.Mod.Path == module {
			return strings.TrimPrefix(r.Mod.Version, "v")
		}
	}
	t.Fatalf("%s does not require %s", path, module)
	return ""
}

// shippedStacks are the stack files in the repository.
func shippedStacks(t *testing.T) []plan.Stack {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "Pulumi.*.yaml"))
	require.NoError(t, err)
	sort.Strings(files)
	var out []plan.Stack
	for _, f := range files {
		s, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), f)
		require.NoError(t, err, f)
		out = append(out, s)
	}
	require.GreaterOrEqual(t, len(out), 3, "dev, prod and seed002 stacks at least")
	return out
}

func stack(t *testing.T, name string) plan.Stack {
	t.Helper()
	s, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), filepath.Join(root, "Pulumi."+name+".yaml"))
	require.NoError(t, err)
	return s
}

// with returns a copy of the stack with keys set and removed.
func with(s plan.Stack, set map[string]string, unset ...string) plan.Stack {
	out := plan.Stack{Name: s.Name, Config: map[string]string{}}
	for k, v := range s.Config {
		out.Config[k] = v
	}
	for k, v := range set {
		out.Config[program.Namespace+":"+k] = v
	}
	for _, k := range unset {
		delete(out.Config, program.Namespace+":"+k)
	}
	return out
}

// run plans a stack; an environment stack's platform (Pulumi.<last segment of its
// platformStack>.yaml) is planned first, and its published document answers the environment.
func run(t *testing.T, s plan.Stack) *plan.Result {
	t.Helper()
	res, err := plan.Run(s, plan.Options{Platform: platformOf(t, s)})
	require.NoError(t, err)
	return res
}

func platformOf(t *testing.T, s plan.Stack) *plan.Result {
	t.Helper()
	ref := s.Config[program.Namespace+":"+program.KeyPlatformStack]
	if ref == "" {
		return nil
	}
	platform, err := plan.Run(stack(t, ref[strings.LastIndex(ref, "/")+1:]), plan.Options{})
	require.NoError(t, err)
	return platform
}

// TestMain keeps one kube-apiserver for the whole test binary (started by the first test that
// needs it), and runs the property tests on 200 generated cases from a fixed seed unless the
// -rapid.checks or -rapid.seed flags say otherwise.
func TestMain(m *testing.M) {
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, value := range map[string]string{"rapid.checks": "200", "rapid.seed": "20261129"} {
		if !set[name] {
			if err := flag.Set(name, value); err != nil {
				panic(err)
			}
		}
	}
	os.Exit(kubeapi.Run(m))
}

// one is the plan's only resource of a type, failing the test (not panicking) otherwise.
func one(t tb, res *plan.Result, typ string) *fakeaws.Resource {
	t.Helper()
	all := res.OfType(typ)
	require.Len(t, all, 1, "resources of type %s", typ)
	return all[0]
}

// named is the plan's resource of a type and name, failing the test (not panicking) when there
// is none.
func named(t tb, res *plan.Result, typ, name string) *fakeaws.Resource {
	t.Helper()
	r := res.Named(typ, name)
	require.NotNil(t, r, "no %s named %s in the plan", typ, name)
	return r
}
