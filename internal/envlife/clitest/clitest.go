// Package clitest gives tests the real Pulumi CLI and a throw-away file backend, so lifecycle
// code is tested against the engine it will run on rather than a model of it.
//
// The CLI is the one scripts/install-tools.sh builds into <repo>/.tools/bin. A test fails when
// it is missing, naming the script; only with OUTSIDE_IN_SKIP_PULUMI=1 is a missing CLI a skip,
// so a machine that cannot build it can still run the rest of the suite on purpose.
package clitest

import (
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// Version is the CLI version tools/pulumi/go.mod pins.
const Version = "v3.274.1"

// SkipEnv lets a run without the CLI skip these tests instead of failing them.
const SkipEnv = "OUTSIDE_IN_SKIP_PULUMI"

var (
	once   sync.Once
	cli    auto.PulumiCommand
	cliErr error
)

// RepoRoot is the repository's root directory (the one holding Pulumi.yaml).
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// ToolsRoot is the directory whose bin/ holds the built CLI.
func ToolsRoot() string { return filepath.Join(RepoRoot(), ".tools") }

// CLI returns the Pulumi CLI, checked once per test binary (auto.NewPulumiCommand runs
// `pulumi version` and refuses one older than the SDK's minimum).
func CLI(t testing.TB) auto.PulumiCommand {
	t.Helper()
	bin := filepath.Join(ToolsRoot(), "bin", "pulumi")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv(SkipEnv) == "1" {
			t.Skipf("no Pulumi CLI at %s and %s=1: skipping the tests that need it", bin, SkipEnv)
		}
		t.Fatalf("no Pulumi CLI at %s: run scripts/install-tools.sh (or set %s=1 to skip these tests)", bin, SkipEnv)
	}
	once.Do(func() {
		cli, cliErr = auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: ToolsRoot(), SkipVersionCheck: false})
	})
	if cliErr != nil {
		t.Fatalf("the Pulumi CLI at %s does not run: %v (rebuild it with scripts/install-tools.sh --force)", bin, cliErr)
	}
	if got := "v" + cli.Version().String(); got != Version {
		t.Fatalf("the Pulumi CLI at %s is %s, want %s: run scripts/install-tools.sh", bin, got, Version)
	}
	return cli
}

// Passphrase encrypts the secrets of test stacks.
const Passphrase = "outside-in-test-passphrase"

// Backend is a fresh file backend and Pulumi home for one test: the environment variables to
// give every CLI run, and the backend's directory (where state and locks are files).
func Backend(t testing.TB) (env map[string]string, dir string) {
	t.Helper()
	dir = t.TempDir()
	return map[string]string{
		"PULUMI_BACKEND_URL":       "file://" + dir,
		"PULUMI_CONFIG_PASSPHRASE": Passphrase,
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		"PULUMI_HOME":              t.TempDir(),
		// No telemetry, no prompts, no colour codes in the output a test may print.
		"PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
		"PULUMI_SKIP_CONFIRMATIONS":            "true",
		"NO_COLOR":                             "1",
		// Most CLI runs of a test are short (a tag, an output, a stack's creation): about
		// 0.2 s of CPU each, nearly all of it the CLI's start, and a sixth of that collecting
		// a heap that is gone when the run exits. With no collection until the heap nears
		// GOMEMLIMIT, a short run (about 110 MB resident) never collects, and an update's
		// engine and provider collect only near the limit. envlife's tests took 180 s of CPU
		// with GOGC=400, 154 to 168 s with no collection.
		"GOGC":       "off",
		"GOMEMLIMIT": "256MiB",
	}, dir
}

// Project writes a minimal Pulumi.yaml for a project named name into a new directory and
// returns it. The runtime is go, but inline programs never start a language host.
func Project(t testing.TB, name string) string {
	t.Helper()
	dir := t.TempDir()
	body := "name: " + name + "\nruntime: go\ndescription: a test project\n"
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(body), 0o644); err != nil {
		t.Fatalf("writing Pulumi.yaml: %v", err)
	}
	return dir
}
