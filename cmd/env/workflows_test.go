package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/envlife/clitest"
	"github.com/outside-in/outside-in/internal/envname"
)

var workflowsDir = filepath.Join("..", "..", ".github", "workflows")

// badWorkflow breaks every rule once; each check must reject it, or the check proves nothing.
const badWorkflow = "testdata/bad-workflow.yml"

var checks = []struct {
	name string
	fn   func(workflow) []string
}{
	{"top-level permissions", checkTopPermissions},
	{"job permissions", checkJobPermissions},
	{"concurrency", checkConcurrency},
	{"pinned actions", checkPinned},
	{"no access keys", checkNoAccessKeys},
	{"PR stack name", checkPRStackName},
	{"triggers", checkTriggers},
	{"job timeouts", checkTimeouts},
	{"tool cache", checkToolCache},
	{"tool build and test timeouts", checkToolTimeouts},
	{"tool build memory", checkToolMemory},
	{"credential-free preview", checkPreviewHoldsNoCredential},
	{"stack passphrases", checkStackPassphrases},
}

// suiteChecks read every workflow at once: runners and concurrency groups are shared across
// workflows.
var suiteChecks = []struct {
	name string
	fn   func([]workflow) []string
}{
	{"runner separation", checkRunnerSeparation},
	{"deploy concurrency groups", checkDeployGroups},
}

func loadAll(t *testing.T) []workflow {
	t.Helper()
	files, err := workflowFiles(workflowsDir)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 4, "pull request, deploy, reap and drift workflows in %s", workflowsDir)
	var out []workflow
	for _, f := range files {
		w, err := loadWorkflow(f)
		require.NoError(t, err)
		require.NotEmpty(t, w.Jobs, "%s has jobs", f)
		out = append(out, w)
	}
	return out
}

func TestWorkflowsFollowTheRules(t *testing.T) {
	workflows := loadAll(t)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range workflows {
				assert.Empty(t, c.fn(w), "%s", w.path)
			}
		})
	}
	for _, c := range suiteChecks {
		t.Run(c.name, func(t *testing.T) {
			assert.Empty(t, c.fn(workflows))
		})
	}
}

func TestEachWorkflowCheckRejectsTheBadWorkflow(t *testing.T) {
	bad, err := loadWorkflow(badWorkflow)
	require.NoError(t, err)
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			problems := c.fn(bad)
			assert.NotEmpty(t, problems, "the %s check accepts %s", c.name, badWorkflow)
			t.Logf("%s", strings.Join(problems, "\n"))
		})
	}
	for _, c := range suiteChecks {
		t.Run(c.name, func(t *testing.T) {
			problems := c.fn([]workflow{bad})
			assert.NotEmpty(t, problems, "the %s check accepts %s", c.name, badWorkflow)
			t.Logf("%s", strings.Join(problems, "\n"))
		})
	}
}

// The checks see the jobs that matter: without these the rules above could pass by matching
// nothing.
func TestWorkflowsDoWhatTheDesignSays(t *testing.T) {
	byFile := map[string]workflow{}
	for _, w := range loadAll(t) {
		byFile[filepath.Base(w.path)] = w
	}
	pr := byFile["pull-request.yml"]
	require.Contains(t, pr.Jobs, "environment")
	require.Contains(t, pr.Jobs, "environment-down")
	assert.Contains(t, pr.Jobs["environment"].scripts(), "cmd/env up")
	assert.Contains(t, pr.Jobs["environment-down"].scripts(), "cmd/env down")
	// The preview is the offline plan of both sides, diffed: no live preview on pull requests.
	require.Contains(t, pr.Jobs, "preview")
	assert.Contains(t, pr.Jobs["preview"].scripts(), "./cmd/plan")
	assert.Contains(t, pr.Jobs["preview"].scripts(), "--format json")
	assert.Contains(t, pr.Jobs["preview"].scripts(), " diff plans/base plans/head")
	assert.NotContains(t, pr.Jobs["preview"].scripts(), "pulumi preview")
	assert.Empty(t, checkPreviewHoldsNoCredential(pr), "the preview job holds no credential")
	assert.Contains(t, pr.Jobs["test"].scripts(), "make test")
	names := prStackNames(pr, 17)
	require.NotEmpty(t, names, "the PR workflow names the PR's stack")
	for _, n := range names {
		assert.Equal(t, envname.PullRequestStack(17), n)
	}

	deploy := byFile["deploy.yml"]
	require.Contains(t, deploy.Jobs, "production")
	assert.Contains(t, deploy.raw, "environment: production")
	assert.Contains(t, deploy.Jobs["production"].scripts(), "pulumi up")
	assert.Contains(t, deploy.Jobs["platform"].scripts(), "pulumi up")

	reap := byFile["reap.yml"]
	require.Contains(t, reap.Jobs, "pull-requests")
	require.Contains(t, reap.Jobs, "trusted")
	// The pull requests' stacks are reaped with their own rights, in no GitHub environment;
	// everything else with the deploy role, in the reaper environment.
	prReap, trustedReap := reap.Jobs["pull-requests"], reap.Jobs["trusted"]
	assert.Contains(t, prReap.scripts(), "cmd/env reap --scope pull-requests")
	assert.Equal(t, []string{"AWS_ENVIRONMENTS_ROLE_ARN"}, prReap.roles())
	assert.Empty(t, prReap.environment())
	assert.Contains(t, trustedReap.scripts(), "cmd/env reap --scope trusted")
	assert.Equal(t, []string{"AWS_DEPLOY_ROLE_ARN"}, trustedReap.roles())
	assert.Equal(t, "reaper", trustedReap.environment())
	assert.NotEqual(t, groupPatterns(prReap.Concurrency, nil), groupPatterns(trustedReap.Concurrency, nil), "each sweep in a group of its own")
	drift := byFile["drift.yml"].Jobs["drift"].scripts()
	assert.Contains(t, drift, "--refresh --expect-no-changes", "the drift check refreshes in the preview, writing no state")
	assert.NotContains(t, drift, "pulumi refresh", "the read-only role may not write the state")

	stackJobs := 0
	for _, w := range byFile {
		for _, j := range w.Jobs {
			if changesStack.MatchString(j.scripts()) {
				stackJobs++
			}
		}
	}
	assert.Equal(t, 6, stackJobs, "environment, environment-down, platform, production and both reapers change stacks; drift only reads")

	// Runners: every job that reaches a cluster names the variable of its side, pull requests'
	// or the privileged jobs' (the check above proves the two sides never meet).
	runnerOf := map[string]string{
		"pull-request.yml environment":      "vars.OUTSIDE_IN_PR_RUNNER",
		"pull-request.yml environment-down": "vars.OUTSIDE_IN_PR_RUNNER", "reap.yml pull-requests": "vars.OUTSIDE_IN_PR_RUNNER",
		"deploy.yml platform": "vars.OUTSIDE_IN_DEPLOY_RUNNER", "deploy.yml production": "vars.OUTSIDE_IN_DEPLOY_RUNNER",
		"reap.yml trusted": "vars.OUTSIDE_IN_DEPLOY_RUNNER", "drift.yml drift": "vars.OUTSIDE_IN_DEPLOY_RUNNER",
	}
	for id, want := range runnerOf {
		file, name, _ := strings.Cut(id, " ")
		require.Contains(t, byFile[file].Jobs, name, id)
		got, problem := runners(byFile[file].Jobs[name])
		require.Empty(t, problem, id)
		assert.Equal(t, []string{want}, got, "%s runs on %s (or a hosted runner)", id, want)
	}
	// The preview reaches no cluster: a hosted runner, fresh for every job.
	got, problem := runners(pr.Jobs["preview"])
	require.Empty(t, problem)
	assert.Empty(t, got, "the preview runs on a GitHub-hosted runner only")
}

// TestActionlint runs the real linter, with shellcheck on every run: script.
func TestActionlint(t *testing.T) {
	actionlint := filepath.Join(clitest.ToolsRoot(), "bin", "actionlint")
	if _, err := os.Stat(actionlint); err != nil {
		t.Fatalf("no actionlint at %s: run scripts/install-tools.sh", actionlint)
	}
	shellcheck, err := exec.LookPath("shellcheck")
	require.NoError(t, err, "shellcheck is not on PATH: run scripts/install-tools.sh (it installs Debian's shellcheck)")
	files, err := workflowFiles(workflowsDir)
	require.NoError(t, err)
	require.NotEmpty(t, files)

	lint := func(files ...string) (string, error) {
		args := append([]string{"-no-color", "-shellcheck", shellcheck}, files...)
		out, err := exec.Command(actionlint, args...).CombinedOutput()
		return string(out), err
	}
	out, err := lint(files...)
	assert.NoError(t, err, "actionlint:\n%s", out)
	// The control: actionlint does reject a broken workflow.
	out, err = lint(badWorkflow)
	assert.Error(t, err, "actionlint accepted %s", badWorkflow)
	assert.Contains(t, out, "timeout-minutes")
}
