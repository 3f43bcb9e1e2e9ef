// Package scripts holds the tests of the shell scripts that build the tools and run the
// tests: the memory budget of build-tools.sh, judged by running it over installers that only
// record when they run, and gotest.sh's kept test binaries (gotest_test.go).
package scripts

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var installers = []string{"install-provider", "install-traefik", "install-kube-tools", "install-tools", "install-moto", "install-iamsim"}

// run is one installer's run: from start to end, in seconds.
type run struct{ start, end float64 }

// schedule runs build-tools.sh (a copy, beside fake installers that log their start and end
// and sleep a moment) with the given environment, and returns each installer's run and the
// script's output.
func schedule(t *testing.T, env []string, failing string) (map[string]run, string, error) {
	t.Helper()
	dir := t.TempDir()
	script, err := os.ReadFile("build-tools.sh")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "build-tools.sh"), script, 0o755))
	logFile := filepath.Join(dir, "runs.log")
	for _, name := range installers {
		body := "#!/usr/bin/env bash\n" +
			"echo \"start " + name + " $(date +%s.%N)\" >> " + logFile + "\n" +
			"sleep 1\n" +
			"echo \"end " + name + " $(date +%s.%N)\" >> " + logFile + "\n"
		if name == failing {
			body += "exit 3\n"
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".sh"), []byte(body), 0o755))
	}
	cmd := exec.Command("bash", filepath.Join(dir, "build-tools.sh"))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	out, runErr := cmd.CombinedOutput()

	runs := map[string]run{}
	f, err := os.Open(logFile)
	if err != nil {
		return runs, string(out), runErr
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		require.Len(t, fields, 3, sc.Text())
		at, err := strconv.ParseFloat(fields[2], 64)
		require.NoError(t, err)
		r := runs[fields[1]]
		if fields[0] == "start" {
			r.start = at
		} else {
			r.end = at
		}
		runs[fields[1]] = r
	}
	return runs, string(out), runErr
}

func overlap(a, b run) bool { return a.start < b.end && b.start < a.end }

// On a 7 GB runner's budget the provider, whose link alone takes 5.4 GB, builds beside nothing
// but the small installs (moto's, and the IAM evaluator's); everything still runs, and each
// installer's time is reported.
func TestToolBuildsShareOnlyTheMemoryTheyHave(t *testing.T) {
	runs, out, err := schedule(t, []string{"OUTSIDE_IN_TOOLS_MEMORY_MB=5800"}, "")
	require.NoError(t, err, out)
	t.Log(out)
	require.Len(t, runs, len(installers), "every installer runs")
	assert.Contains(t, out, "memory budget 5800 MiB")
	for _, other := range []string{"install-kube-tools", "install-traefik", "install-tools"} {
		assert.False(t, overlap(runs["install-provider"], runs[other]), "install-provider ran beside %s on a 5800 MiB budget", other)
	}
	// The two next largest fit together (3300 + 2200 MiB): the budget is not a queue of one.
	assert.True(t, overlap(runs["install-kube-tools"], runs["install-traefik"]), "kube tools and traefik fit side by side in 5800 MiB")
	for _, name := range installers {
		assert.Regexp(t, regexp.MustCompile(`build-tools: `+name+` done in \d+s`), out)
	}
}

// The control: with room for all, all run at once, so the test above can see an overlap.
func TestToolBuildsRunSideBySideWhenMemoryAllows(t *testing.T) {
	runs, out, err := schedule(t, []string{"OUTSIDE_IN_TOOLS_MEMORY_MB=64000"}, "")
	require.NoError(t, err, out)
	require.Len(t, runs, len(installers))
	for _, name := range installers[1:] {
		assert.True(t, overlap(runs["install-provider"], runs[name]), "install-provider and %s side by side on 64000 MiB", name)
	}
}

// Without the variable the budget is the machine's MemAvailable less 1 GiB: between what it was
// just before the script read it and just after (other tests allocate and free meanwhile).
func TestToolBuildBudgetFollowsAvailableMemory(t *testing.T) {
	availableMiB := func() int {
		meminfo, err := os.ReadFile("/proc/meminfo")
		if err != nil {
			t.Skip("no /proc/meminfo on this machine")
		}
		m := regexp.MustCompile(`(?m)^MemAvailable:\s+(\d+) kB`).FindSubmatch(meminfo)
		require.NotNil(t, m)
		kb, _ := strconv.Atoi(string(m[1]))
		return kb / 1024
	}
	before := availableMiB()
	_, out, err := schedule(t, nil, "")
	after := availableMiB()
	require.NoError(t, err, out)
	got := regexp.MustCompile(`memory budget (\d+) MiB`).FindStringSubmatch(out)
	require.NotNil(t, got, out)
	budget, _ := strconv.Atoi(got[1])
	low, high := min(before, after)-1024, max(before, after)-1024
	assert.True(t, budget >= low-256 && budget <= high+256, "the budget %d MiB is MemAvailable less 1 GiB (%d–%d MiB around the run)", budget, low, high)
}

func TestToolBuildRefusesABadBudgetAndReportsAFailedInstaller(t *testing.T) {
	runs, out, err := schedule(t, []string{"OUTSIDE_IN_TOOLS_MEMORY_MB=lots"}, "")
	require.Error(t, err)
	assert.Equal(t, 2, err.(*exec.ExitError).ExitCode())
	assert.Contains(t, out, `OUTSIDE_IN_TOOLS_MEMORY_MB="lots": must be a whole number of MiB, at least 256`)
	assert.Empty(t, runs, "nothing is built on a bad budget")

	runs, out, err = schedule(t, []string{"OUTSIDE_IN_TOOLS_MEMORY_MB=5800"}, "install-traefik")
	require.Error(t, err)
	assert.Equal(t, 1, err.(*exec.ExitError).ExitCode())
	assert.Contains(t, out, "scripts/install-traefik.sh failed (exit 3)")
	assert.Len(t, runs, len(installers), "the other installers still run")
}

// make tools goes through the budget; the declared peaks fit a 7 GB runner one at a time.
func TestMakeToolsUsesTheBudget(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join("..", "Makefile"))
	require.NoError(t, err)
	target := regexp.MustCompile(`(?ms)^tools:\n((?:\t[^\n]*\n)+)`).FindSubmatch(mk)
	require.NotNil(t, target, "the Makefile has a tools target")
	assert.Contains(t, string(target[1]), "scripts/build-tools.sh")
	assert.NotRegexp(t, `install-[\w-]+\.sh`, string(target[1]), "make tools runs the installers only through the budget")

	script, err := os.ReadFile("build-tools.sh")
	require.NoError(t, err)
	peaks := regexp.MustCompile(`(?m)^\t"(install-[\w-]+) (\d+)"$`).FindAllSubmatch(script, -1)
	require.Len(t, peaks, len(installers), "a declared peak per installer")
	for _, p := range peaks {
		mb, _ := strconv.Atoi(string(p[2]))
		assert.Less(t, mb, 6*1024, "%s's declared peak fits a cold build under 6 GB", p[1])
	}
}

// The keys CI caches the tool folder by are the folder's own entries: after make tools (which
// make test runs first) each printed key names a complete entry, so a cache restored by them
// holds what make tools would build, and it builds nothing.
func TestToolCacheKeysNameTheBuiltEntries(t *testing.T) {
	dirOut, err := exec.Command("bash", "build-tools.sh", "--cache-dir").Output()
	require.NoError(t, err)
	dir := strings.TrimSpace(string(dirOut))
	keysOut, err := exec.Command("bash", "build-tools.sh", "--keys").Output()
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(keysOut)), "\n")
	require.Len(t, lines, 7, "pulumi, linters, kube, kwok, the provider, traefik and the IAM evaluator:\n%s", keysOut)
	for _, line := range lines {
		name, key, ok := strings.Cut(line, " ")
		require.True(t, ok, line)
		require.Regexp(t, `^[0-9a-f]{16}$`, key, line)
		_, err := os.Stat(filepath.Join(dir, name, key, ".complete"))
		assert.NoError(t, err, "the tool cache has no complete entry %s/%s: --keys and the installers disagree", name, key)
	}
}
