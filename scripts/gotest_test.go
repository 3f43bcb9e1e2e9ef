package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gotestModule is a module of its own with gotest.sh in its scripts folder: two packages of
// one name (check and cmd/check, as in the project), a slow one, and one whose test fails
// when FAIL_ME is set.
func gotestModule(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	script, err := os.ReadFile("gotest.sh")
	require.NoError(t, err)
	files := map[string]string{
		"go.mod":                  "module example.com/m\n\ngo 1.22\n",
		"scripts/gotest.sh":       string(script),
		"check/check_test.go":     "package check\n\nimport \"testing\"\n\nfunc TestOne(t *testing.T) { t.Log(\"check one\") }\n",
		"cmd/check/main.go":       "package main\n\nfunc main() {}\n",
		"cmd/check/main_test.go":  "package main\n\nimport \"testing\"\n\nfunc TestTwo(t *testing.T) { t.Log(\"cmd check two\") }\n",
		"slow/slow_test.go":       "package slow\n\nimport (\n\t\"testing\"\n\t\"time\"\n)\n\nfunc TestSlow(t *testing.T) { time.Sleep(time.Second) }\n",
		"fails/fails_test.go":     "package fails\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestMaybe(t *testing.T) {\n\tif os.Getenv(\"FAIL_ME\") != \"\" {\n\t\tt.Fatal(\"failed on purpose\")\n\t}\n}\n",
		"notests/notests.go":      "package notests\n",
		"check/testdata/here.txt": "read from the package's directory\n",
		"check/dir_test.go":       "package check\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestDir(t *testing.T) {\n\tif _, err := os.ReadFile(\"testdata/here.txt\"); err != nil {\n\t\tt.Fatal(err)\n\t}\n}\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o755))
	}
	return dir
}

// gotest runs the module's gotest.sh with env on top of this process's environment, less the
// folders `make test` gives its own run (OUTSIDE_IN_TEST_FAILURES, OUTSIDE_IN_TEST_BINARIES):
// a package made to fail here must not land in the report of the run these tests are part of.
func gotest(t *testing.T, dir string, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(dir, "scripts", "gotest.sh")}, args...)...)
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "OUTSIDE_IN_TEST_FAILURES" && name != "OUTSIDE_IN_TEST_BINARIES" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if exit, ok := err.(*exec.ExitError); ok {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err, string(out))
	return string(out), 0
}

// The test binaries are built once and kept: a second build links nothing, a change relinks
// only its package; two packages of one name get binaries of their own. (What `go` links is
// what it prints with -x: one link -o $WORK/.../<name>.test per binary it links.)
func TestGotestKeepsTestBinaries(t *testing.T) {
	dir := gotestModule(t)
	links := func() []string {
		t.Helper()
		out, code := gotest(t, dir, []string{"GOFLAGS=-x"}, "build")
		require.Equal(t, 0, code, out)
		var linked []string
		for _, m := range regexp.MustCompile(`/link -o \$WORK/b[0-9]+/(\S+)\.test `).FindAllStringSubmatch(out, -1) {
			linked = append(linked, m[1])
		}
		sort.Strings(linked)
		return linked
	}
	assert.Equal(t, []string{"check", "check", "fails", "slow"}, links(), "the first build links every binary")
	bins := filepath.Join(dir, ".tools", "test")
	for _, bin := range []string{"0/check.test", "1/check.test", "0/slow.test", "0/fails.test"} {
		_, err := os.Stat(filepath.Join(bins, bin))
		assert.NoError(t, err, "the binary %s", bin)
	}
	_, err := os.Stat(filepath.Join(bins, "0", "notests.test"))
	assert.True(t, os.IsNotExist(err), "a package without tests has no binary")

	assert.Empty(t, links(), "nothing changed, nothing linked")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "slow", "more_test.go"), []byte("package slow\n\nimport \"testing\"\n\nfunc TestMore(t *testing.T) {}\n"), 0o644))
	assert.Equal(t, []string{"slow"}, links(), "only the changed package is linked again")
}

// run reports each package as go test does, runs it in its own directory, shows a failing
// package's output, fails when one fails, and starts the longest first once it knows them.
func TestGotestRunsAndReports(t *testing.T) {
	// As under `make test`, which keeps the logs of its own failed packages here.
	outer := t.TempDir()
	t.Setenv("OUTSIDE_IN_TEST_FAILURES", outer)
	dir := gotestModule(t)
	out, code := gotest(t, dir, nil, "run", "--")
	assert.Equal(t, 2, code, "run before build: %s", out)
	assert.Contains(t, out, "run scripts/gotest.sh build first")

	out, code = gotest(t, dir, nil, "build")
	require.Equal(t, 0, code, out)
	out, code = gotest(t, dir, nil, "run", "--")
	require.Equal(t, 0, code, out)
	for _, pkg := range []string{"check", "cmd/check", "slow", "fails"} {
		assert.Regexp(t, `(?m)^ok  \texample\.com/m/`+pkg+`\t[0-9.]+s$`, out)
	}
	assert.NotContains(t, out, "check one", "a passing package's output is not shown")

	out, code = gotest(t, dir, nil, "run", "./check", "--", "-test.v")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "check one", "-test.v shows the output")
	assert.Contains(t, out, "--- PASS: TestDir", "the test read testdata/ from its package's directory")

	out, code = gotest(t, dir, []string{"FAIL_ME=1"}, "run", "./fails", "./check", "--")
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "failed on purpose")
	assert.Regexp(t, `(?m)^FAIL\texample\.com/m/fails\t`, out)
	assert.Regexp(t, `(?m)^ok  \texample\.com/m/check\t`, out, "the other package still runs")
	kept, err := os.ReadDir(outer)
	require.NoError(t, err)
	assert.Empty(t, kept, "the package failed on purpose here is not in the report of the run around these tests")

	// One at a time: the slow package, now known to be the longest, goes first.
	out, code = gotest(t, dir, nil, "run", "-j", "1", "./check", "./fails", "./slow", "--")
	require.Equal(t, 0, code, out)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3, out)
	assert.Contains(t, lines[0], "example.com/m/slow\t", "the longest starts first")
}

// `why` ends a run with the reason a test failed, however long its verbose output: the failed
// subtest's own lines, not those of the parallel subtests that passed beside it, with the
// routine lines SKIP matches left out; the first lines of a panic; and, without -test.v, the
// lines that follow a test's --- FAIL line.
func TestGotestWhySaysWhyATestFailed(t *testing.T) {
	dir := gotestModule(t)
	par := "package par\n\nimport \"testing\"\n\n" +
		"func TestPar(t *testing.T) {\n" +
		"\tfor _, n := range []string{\"good\", \"bad\"} {\n" +
		"\t\tt.Run(n, func(t *testing.T) {\n" +
		"\t\t\tt.Parallel()\n" +
		"\t\t\tfor i := 0; i < 3; i++ {\n" +
		"\t\t\t\tt.Logf(\"%s: step %d\", n, i)\n" +
		"\t\t\t\tt.Logf(\"%s: routine request %d -> 200\", n, i)\n" +
		"\t\t\t}\n" +
		"\t\t\tif n == \"bad\" {\n" +
		"\t\t\t\tt.Errorf(\"the reason it failed\\nand its second line\")\n" +
		"\t\t\t}\n" +
		"\t\t})\n" +
		"\t}\n" +
		"}\n"
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "par"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "par", "par_test.go"), []byte(par), 0o644))
	failures := filepath.Join(t.TempDir(), "failures")
	out, code := gotest(t, dir, nil, "build")
	require.Equal(t, 0, code, out)

	out, code = gotest(t, dir, []string{"OUTSIDE_IN_TEST_FAILURES=" + failures}, "run", "./par", "./check", "--", "-test.v")
	require.Equal(t, 1, code, out)
	logs, err := filepath.Glob(filepath.Join(failures, "*.log"))
	require.NoError(t, err)
	require.Len(t, logs, 1, "one package failed, and only its output is kept")

	out, code = gotest(t, dir, nil, "why", failures, "routine request")
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "--- FAIL: TestPar/bad")
	assert.Contains(t, out, "bad: step 2")
	assert.Contains(t, out, "the reason it failed")
	assert.Contains(t, out, "and its second line")
	assert.NotContains(t, out, "good: step", "the subtest that passed is left out")
	assert.NotContains(t, out, "routine request", "the lines SKIP matches are left out")
	assert.NotContains(t, out, "check one", "the package that passed is left out")

	// Without -test.v, and a panic.
	require.NoError(t, os.RemoveAll(failures))
	out, code = gotest(t, dir, []string{"OUTSIDE_IN_TEST_FAILURES=" + failures, "FAIL_ME=1"}, "run", "./fails", "--")
	require.Equal(t, 1, code, out)
	require.NoError(t, os.WriteFile(filepath.Join(failures, "panicked.log"),
		[]byte("=== RUN   TestX\npanic: test timed out after 15m0s\n\trunning tests:\n\t\tTestX (15m0s)\n"), 0o644))
	out, code = gotest(t, dir, nil, "why", failures)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "--- FAIL: TestMaybe")
	assert.Contains(t, out, "failed on purpose")
	assert.Contains(t, out, "panic: test timed out after 15m0s")
	assert.Contains(t, out, "TestX (15m0s)")

	out, code = gotest(t, dir, nil, "why", filepath.Join(t.TempDir(), "none"))
	assert.Equal(t, 0, code, out)
	assert.Empty(t, out, "no failures, nothing to say")
}
