package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// The checks here hold CI's tool cache to the folder the installers build into, its key to the
// keys of that folder's entries, each job's timeout to the times the README measured, and the
// tool build to the memory budget of scripts/build-tools.sh.

// hostedHome is the home folder of a GitHub-hosted Linux runner, where `~` in a cache path goes.
const hostedHome = "/home/runner"

// toolsWorkflow is the reusable workflow that builds the tools and caches them.
const toolsWorkflow = "./.github/workflows/tools.yml"

// hostedRunnerMemoryMB is the memory a hosted 2-core runner of a private repository has (7 GB);
// no workflow may give the tool build a budget beyond it.
const hostedRunnerMemoryMB = 7 * 1024

var (
	toolCacheOnce sync.Once
	toolCacheDir  string
	toolCacheErr  error
)

// hostedToolCacheDir is the folder scripts/build-tools.sh builds into on a hosted runner: its
// own answer (--cache-dir) with the runner's home and none of the variables that move it.
func hostedToolCacheDir() (string, error) {
	toolCacheOnce.Do(func() {
		home, err := os.MkdirTemp("", "runner-home")
		if err != nil {
			toolCacheErr = err
			return
		}
		defer os.RemoveAll(home)
		cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "build-tools.sh"), "--cache-dir")
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
		out, err := cmd.Output()
		if err != nil {
			toolCacheErr = fmt.Errorf("scripts/build-tools.sh --cache-dir: %w", err)
			return
		}
		dir := strings.TrimSpace(string(out))
		if !strings.HasPrefix(dir, home+"/") {
			toolCacheErr = fmt.Errorf("scripts/build-tools.sh --cache-dir printed %q, not a folder under HOME (%s)", dir, home)
			return
		}
		toolCacheDir = hostedHome + strings.TrimPrefix(dir, home)
	})
	return toolCacheDir, toolCacheErr
}

var (
	makeTest  = regexp.MustCompile(`\bmake test\b`)
	makeTools = regexp.MustCompile(`\bmake tools\b`)
	installer = regexp.MustCompile(`scripts/install-[\w-]+\.sh`)
)

// cacheSteps are a job's steps that restore or save an Actions cache.
func cacheSteps(j job) []step {
	var out []step
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "actions/cache@") || strings.HasPrefix(s.Uses, "actions/cache/") {
			out = append(out, s)
		}
	}
	return out
}

// cachePath is a cache step's path with `~` as the hosted runner's home.
func cachePath(s step) string {
	p := strings.TrimSpace(fmt.Sprint(s.With["path"]))
	if strings.HasPrefix(p, "~/") {
		p = hostedHome + p[1:]
	}
	return p
}

func (j job) needs() []string {
	switch n := j.Needs.(type) {
	case string:
		return []string{n}
	case []any:
		var out []string
		for _, x := range n {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return nil
}

var needsKey = regexp.MustCompile(`^\$\{\{\s*needs\.([\w-]+)\.outputs\.key\s*\}\}$`)

// checkToolCache: the tools are cached where they are built, never as .tools (symlinks into
// the tool cache: restored elsewhere they dangle, and every run builds every tool again). A job
// that runs `make test` restores the tools job's cache by the key that job computed, and fails
// at once on a miss rather than building for an hour; the job that builds keys the folder by
// its entries' keys, and builds and saves only on a miss.
func checkToolCache(w workflow) []string {
	dir, err := hostedToolCacheDir()
	if err != nil {
		return []string{err.Error()}
	}
	var out []string
	for _, name := range sortedJobs(w) {
		j := w.Jobs[name]
		for _, s := range cacheSteps(j) {
			p := cachePath(s)
			if p == ".tools" || strings.HasPrefix(p, ".tools/") || strings.Contains(p, "/.tools") {
				out = append(out, fmt.Sprintf("job %s caches %s: .tools holds links into %s, which a restore elsewhere leaves dangling; cache %s", name, p, dir, dir))
			}
		}
		scripts := j.scripts()
		if makeTest.MatchString(scripts) {
			out = append(out, checkRestoresTools(w, name, dir)...)
		}
		if makeTools.MatchString(scripts) {
			out = append(out, checkBuildsTools(j, name, dir)...)
		}
	}
	return out
}

func checkRestoresTools(w workflow, name, dir string) []string {
	j := w.Jobs[name]
	for _, s := range cacheSteps(j) {
		if cachePath(s) != dir {
			continue
		}
		m := needsKey.FindStringSubmatch(strings.TrimSpace(fmt.Sprint(s.With["key"])))
		if m == nil {
			return []string{fmt.Sprintf("job %s restores %s with key %v: use the tools job's key, ${{ needs.<tools job>.outputs.key }}", name, dir, s.With["key"])}
		}
		needed := false
		for _, n := range j.needs() {
			needed = needed || n == m[1]
		}
		if !needed {
			return []string{fmt.Sprintf("job %s takes the key of job %s but does not need it", name, m[1])}
		}
		if tj, ok := w.Jobs[m[1]]; !ok || tj.Uses != toolsWorkflow {
			return []string{fmt.Sprintf("job %s takes its tool cache key from job %s, which is not a call of %s", name, m[1], toolsWorkflow)}
		}
		if fmt.Sprint(s.With["fail-on-cache-miss"]) != "true" {
			return []string{fmt.Sprintf("job %s restores the tools without fail-on-cache-miss: true; on a miss make test would build them cold inside the test job's timeout", name)}
		}
		return nil
	}
	return []string{fmt.Sprintf("job %s runs make test without restoring the tool cache %s: it would build every tool cold", name, dir)}
}

func checkBuildsTools(j job, name, dir string) []string {
	var out []string
	keyStep := ""
	for _, s := range j.Steps {
		if strings.Contains(s.Run, "scripts/build-tools.sh --keys") && s.ID != "" {
			keyStep = s.ID
		}
	}
	if keyStep == "" {
		return []string{fmt.Sprintf("job %s builds the tools without keying the cache by scripts/build-tools.sh --keys: a hit could hold other pins", name)}
	}
	wantKey := regexp.MustCompile(`^\$\{\{\s*steps\.` + regexp.QuoteMeta(keyStep) + `\.outputs\.key\s*\}\}$`)
	var restored, saved bool
	for _, s := range cacheSteps(j) {
		if cachePath(s) != dir {
			out = append(out, fmt.Sprintf("job %s caches %s, not the folder the tools are built into (%s)", name, cachePath(s), dir))
			continue
		}
		if !wantKey.MatchString(strings.TrimSpace(fmt.Sprint(s.With["key"]))) {
			out = append(out, fmt.Sprintf("job %s caches the tools with key %v, not the key step %s computes", name, s.With["key"], keyStep))
		}
		restored = restored || strings.HasPrefix(s.Uses, "actions/cache/restore@")
		saved = saved || strings.HasPrefix(s.Uses, "actions/cache/save@")
	}
	if !restored || !saved {
		out = append(out, fmt.Sprintf("job %s must restore the tool cache (actions/cache/restore) and save it after a cold build (actions/cache/save)", name))
	}
	for _, s := range j.Steps {
		if makeTools.MatchString(s.Run) && !strings.Contains(fmt.Sprint(s.If), "cache-hit != 'true'") {
			out = append(out, fmt.Sprintf("job %s runs make tools whatever the cache holds: build only on a miss", name))
		}
	}
	return out
}

// readmeFigure reads a measured figure in minutes from the README's "Tools" table: the row
// whose first cell starts with label.
func readmeFigure(label string) (float64, error) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		return 0, err
	}
	row := regexp.MustCompile(`(?m)^\|\s*` + regexp.QuoteMeta(label) + `[^|]*\|\s*\*{0,2}(\d+) min(?: (\d+) s)?`)
	m := row.FindStringSubmatch(string(b))
	if m == nil {
		return 0, fmt.Errorf("README.md has no row %q with a time in minutes", label)
	}
	min, _ := strconv.Atoi(m[1])
	sec := 0
	if m[2] != "" {
		sec, _ = strconv.Atoi(m[2])
	}
	return float64(min) + float64(sec)/60, nil
}

// The README's rows that size the timeouts.
const (
	coldToolsRow = "cold tool build"
	freshTestRow = "`make test` on a fresh clone, tools cached"
)

// timeoutMargin is how much longer than the measured time a job may run: a hosted runner's
// cores are no faster than these, and a slow mirror or a busy neighbour costs minutes.
const timeoutMargin = 1.5

// checkToolTimeouts: the job that builds the tools may run the README's measured cold build
// with margin, and a job that runs make test the measured fresh-clone run with margin.
func checkToolTimeouts(w workflow) []string {
	var out []string
	for _, name := range sortedJobs(w) {
		j := w.Jobs[name]
		var label string
		switch scripts := j.scripts(); {
		case makeTools.MatchString(scripts):
			label = coldToolsRow
		case makeTest.MatchString(scripts):
			label = freshTestRow
		default:
			continue
		}
		measured, err := readmeFigure(label)
		if err != nil {
			return append(out, err.Error())
		}
		need := math.Ceil(measured * timeoutMargin)
		if got, ok := j.Timeout.(float64); !ok || got < need {
			out = append(out, fmt.Sprintf("job %s: timeout-minutes %v is below %v, the README's %q (%.0f min) with a margin of %v", name, j.Timeout, need, label, measured, timeoutMargin))
		}
	}
	return out
}

const memoryVar = "OUTSIDE_IN_TOOLS_MEMORY_MB"

// checkToolMemory: tools are built only through make tools, whose budget follows the runner's
// memory; no job calls an installer directly (all would build at once) or gives the build a
// budget beyond what a hosted runner has.
func checkToolMemory(w workflow) []string {
	var out []string
	envs := func(where string, env map[string]any) {
		if v, ok := env[memoryVar]; ok {
			if mb, err := strconv.Atoi(fmt.Sprint(v)); err != nil || mb > hostedRunnerMemoryMB-1024 {
				out = append(out, fmt.Sprintf("%s sets %s=%v: more than a %d MiB runner can give the build", where, memoryVar, v, hostedRunnerMemoryMB))
			}
		}
	}
	envs("the workflow", w.Env)
	for _, name := range sortedJobs(w) {
		j := w.Jobs[name]
		envs("job "+name, j.Env)
		for _, s := range j.Steps {
			envs("job "+name+" step "+s.Name, s.Env)
			if m := installer.FindString(s.Run); m != "" {
				out = append(out, fmt.Sprintf("job %s runs %s itself: build the tools with make tools, whose memory budget decides what builds side by side", name, m))
			}
			if strings.Contains(s.Run, memoryVar+"=") {
				out = append(out, fmt.Sprintf("job %s sets %s in a script: leave the budget to the runner's memory", name, memoryVar))
			}
		}
	}
	return out
}
