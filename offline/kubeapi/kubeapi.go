// Package kubeapi runs a real kube-apiserver, backed by a real etcd, on
// loopback for tests, and validates Kubernetes objects against it with
// server-side dry-run apply. Schema validation, defaulting, field validation
// and the built-in admission plugins (including Pod Security admission) all
// run exactly as in a cluster, so a manifest accepted here is accepted by a
// real API server of the same version.
//
// The binaries are built by scripts/install-kube-tools.sh (or `make tools`)
// into <repo root>/.tools/bin; set OUTSIDE_IN_KUBE_TOOLS to use another
// directory. When they are missing, Start fails the test, unless
// OUTSIDE_IN_SKIP_APISERVER=1 is set, in which case it skips it.
//
// Typical use:
//
//	func TestManifests(t *testing.T) {
//		srv := kubeapi.Start(t)
//		ctx := t.Context()
//		require.NoError(t, srv.EnsureNamespace(ctx, "web", map[string]string{
//			"pod-security.kubernetes.io/enforce": "restricted",
//		}))
//		require.NoError(t, srv.DryRunApply(ctx, obj))
//	}
//
// All tests of a test binary that call Start while a server is up share it;
// the server stops when the last of them finishes. To keep one server for the
// whole test binary (started lazily by the first Start, stopped after the last
// test), call Main from TestMain:
//
//	func TestMain(m *testing.M) { kubeapi.Main(m) }
//
// Because the server is shared, tests should use namespace names of their own.
package kubeapi

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// EnvToolsDir is the environment variable naming the directory that holds
	// the etcd and kube-apiserver binaries. It defaults to <repo root>/.tools/bin.
	EnvToolsDir = "OUTSIDE_IN_KUBE_TOOLS"

	// EnvSkip is the environment variable that, when set to "1", makes Start
	// skip the calling test instead of failing it when the binaries are missing.
	EnvSkip = "OUTSIDE_IN_SKIP_APISERVER"

	// FieldManager is the field manager of every apply this package sends.
	FieldManager = "outside-in"

	// ServiceClusterIPRange is the --service-cluster-ip-range of the server.
	ServiceClusterIPRange = "10.96.0.0/16"

	modulePath = "github.com/outside-in/outside-in"
)

// The server shared by the tests of this test binary.
var shared struct {
	mu     sync.Mutex
	srv    *Server
	refs   int   // tests (Start calls) whose cleanup has not run yet
	pinned bool  // Run is active: keep the server while refs == 0
	err    error // first start failure; later Start calls fail fast with it
}

// Start returns a running API server for the test, starting etcd and
// kube-apiserver on free loopback ports if no server is running yet. It
// registers a cleanup that stops both processes and removes their temporary
// directory once no test uses them any more (or, under Main, after the last
// test). It fails the test if the server cannot be started, and if the
// binaries are missing it fails the test with instructions, or skips it when
// OUTSIDE_IN_SKIP_APISERVER=1.
func Start(t testing.TB) *Server {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()

	if shared.srv == nil {
		bins, err := findBinaries()
		if err != nil {
			if os.Getenv(EnvSkip) == "1" {
				t.Skipf("kubeapi: skipping, %s=1 and %v", EnvSkip, err)
			}
			t.Fatalf("kubeapi: %v\nRun scripts/install-kube-tools.sh (or `make tools`) to build them, "+
				"or set %s=1 to skip the tests that need a real API server.", err, EnvSkip)
		}
		if shared.err != nil {
			first, _, _ := strings.Cut(shared.err.Error(), "\n")
			t.Fatalf("kubeapi: an earlier test of this binary failed to start the API server "+
				"(its failure shows the server logs): %s", first)
		}
		begin := time.Now()
		srv, err := startServer(bins, nil)
		if err != nil {
			shared.err = err
			t.Fatalf("kubeapi: %v", err)
		}
		t.Logf("kubeapi: kube-apiserver at %s ready after %s (files in %s)",
			srv.cfg.Host, time.Since(begin).Round(time.Millisecond), srv.dir)
		shared.srv = srv
	}
	shared.refs++
	srv := shared.srv
	t.Cleanup(func() { release(srv) })
	return srv
}

// StartWith starts a server of the test's own, not shared, that presents the given serving
// certificate and trusts the given client CA: a cluster whose credentials were made elsewhere
// (the k3s CA and certificates the program generates). It stops when the test ends.
func StartWith(t testing.TB, creds Credentials) *Server {
	t.Helper()
	bins, err := findBinaries()
	if err != nil {
		if os.Getenv(EnvSkip) == "1" {
			t.Skipf("kubeapi: skipping, %s=1 and %v", EnvSkip, err)
		}
		t.Fatalf("kubeapi: %v\nRun scripts/install-kube-tools.sh (or `make tools`).", err)
	}
	srv, err := startServer(bins, &creds)
	if err != nil {
		t.Fatalf("kubeapi: %v", err)
	}
	t.Cleanup(srv.stop)
	return srv
}

// release drops one reference to srv and stops it when it was the last one.
func release(srv *Server) {
	shared.mu.Lock()
	shared.refs--
	stop := shared.refs == 0 && !shared.pinned && shared.srv == srv
	if stop {
		shared.srv = nil
	}
	shared.mu.Unlock()
	if stop {
		srv.stop()
	}
}

// Main runs the tests of m with one shared server: the first Start call
// starts it, it stays up until the last test has finished, then Main stops it
// and exits with the tests' exit code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { kubeapi.Main(m) }
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main without the os.Exit: it runs m's tests with a single shared
// server and returns m.Run's exit code, for a TestMain that has more to do.
func Run(m *testing.M) int {
	shared.mu.Lock()
	shared.pinned = true
	shared.mu.Unlock()

	code := m.Run()

	shared.mu.Lock()
	shared.pinned = false
	srv := shared.srv
	if shared.refs == 0 {
		shared.srv = nil
	} else {
		srv = nil // still in use (a test leaked past m.Run); its cleanup stops it
	}
	shared.mu.Unlock()
	if srv != nil {
		srv.stop()
	}
	return code
}

// binaries are the paths of the control-plane executables.
type binaries struct {
	etcd, apiserver string
	// The rest of a control plane (StartControlPlane only).
	controllers, scheduler, kwok string
}

// findBinaries locates etcd and kube-apiserver in $OUTSIDE_IN_KUBE_TOOLS or
// <repo root>/.tools/bin.
func findBinaries() (binaries, error) {
	dir := os.Getenv(EnvToolsDir)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return binaries{}, fmt.Errorf("cannot locate the kube tools: %v (set %s to their directory)", err, EnvToolsDir)
		}
		dir = filepath.Join(root, ".tools", "bin")
	}
	b := binaries{
		etcd:      filepath.Join(dir, "etcd"),
		apiserver: filepath.Join(dir, "kube-apiserver"),
	}
	var missing []string
	for _, p := range []string{b.etcd, b.apiserver} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return binaries{}, fmt.Errorf("missing executable(s) %s", strings.Join(missing, ", "))
	}
	return b, nil
}

// repoRoot walks up from the working directory (a package directory under
// `go test`) to the directory whose go.mod declares this repository's module,
// falling back to the nearest go.mod.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	nearest := ""
	for dir := wd; ; dir = filepath.Dir(dir) {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			if nearest == "" {
				nearest = dir
			}
			if declaresModule(string(data), modulePath) {
				return dir, nil
			}
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	if nearest != "" {
		return nearest, nil
	}
	return "", errors.New("no go.mod found above " + wd)
}

func declaresModule(gomod, path string) bool {
	for _, line := range strings.Split(gomod, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" && strings.Trim(f[1], `"`) == path {
			return true
		}
	}
	return false
}
