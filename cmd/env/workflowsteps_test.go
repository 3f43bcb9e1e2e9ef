package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests run the workflows' own step scripts the way a runner does (bash --noprofile
// --norc -eo pipefail, the job's and the step's env), with `go` and `gh` replaced by fakes
// that answer as cmd/check, cmd/env check and the GitHub API would. They hold the steps to
// the check commands' interface: exit 0 the path serves, 1 it does not (the output names the
// hop), 2 a usage error.

// fakeBin writes executables into a directory for PATH.
func fakeBin(t *testing.T, scripts map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range scripts {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/usr/bin/env bash\n"+body), 0o755))
	}
	return dir
}

// fakeGo records its arguments and prints $FAKE_GO_OUT, exiting $FAKE_GO_EXIT.
const fakeGo = `printf '%s\n' "$*" >> "$FAKE_LOG/go.args"
printf '%s\n' "$FAKE_GO_OUT"
exit "${FAKE_GO_EXIT:-0}"
`

// fakeGh answers the comment listing with no comment, and keeps the body it is asked to post.
const fakeGh = `printf '%s\n' "$*" >> "$FAKE_LOG/gh.args"
for a in "$@"; do
  case "$a" in body=@*) cp "${a#body=@}" "$FAKE_LOG/comment.md" ;; esac
done
`

// runStep runs one step's script in dir and returns its output and exit status.
func runStep(t *testing.T, dir string, j job, s step, ctx exprContext, env map[string]string) (string, int) {
	t.Helper()
	require.NotEmpty(t, s.Run, "step %q runs a script", s.Name)
	script := filepath.Join(t.TempDir(), "step.sh")
	require.NoError(t, os.WriteFile(script, []byte(s.Run), 0o644))
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir = dir
	vars := map[string]string{"PATH": env["PATH"] + ":" + os.Getenv("PATH"), "HOME": t.TempDir(),
		"GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567", "GITHUB_REPOSITORY": "example/outside-in"}
	for _, m := range []map[string]any{j.Env, s.Env} {
		for k, v := range m {
			vars[k] = interpolate(t, fmt.Sprint(v), ctx)
		}
	}
	for k, v := range env {
		if k != "PATH" {
			vars[k] = v
		}
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}

func stepByID(t *testing.T, j job, id string) (int, step) {
	t.Helper()
	for i, s := range j.Steps {
		if s.ID == id {
			return i, s
		}
	}
	t.Fatalf("no step with id %s", id)
	return 0, step{}
}

func workflowNamed(t *testing.T, name string) workflow {
	t.Helper()
	w, err := loadWorkflow(filepath.Join(workflowsDir, name))
	require.NoError(t, err)
	return w
}

// The environment job checks its environment after env up, comments the URLs only when the
// check says it serves, and otherwise comments the failing hop and fails.
func TestWorkflowCommentFollowsTheEnvironmentCheck(t *testing.T) {
	env := workflowNamed(t, "pull-request.yml").Jobs["environment"]
	upAt, _ := stepByID(t, env, "up")
	checkAt, check := stepByID(t, env, "check")
	require.Greater(t, checkAt, upAt, "the check runs after env up")
	assert.Nil(t, check.ContinueOnError, "a failed check fails the job")
	commentAt := -1
	for i, s := range env.Steps {
		if strings.Contains(s.Run, "outside-in:environment") {
			commentAt = i
		}
	}
	require.Greater(t, commentAt, checkAt, "the comment comes after the check")
	comment := env.Steps[commentAt]
	ctx := prEvent("synchronize", "alice", "alice", "example/outside-in")
	ctx.values["steps"] = map[string]any{"up": map[string]any{"outcome": "failure"}}
	assert.False(t, truthy(evalExpr(t, fmt.Sprint(comment.If), exprContext{values: ctx.values, failed: true})), "no comment when env up failed")

	const url = "web  https://web-pr-17.env.platform.example.com/"
	for _, c := range []struct {
		exit     int
		out      string
		outcome  string
		says     []string
		saysNot  []string
		testCase string
	}{
		{0, "web-pr-17.env.platform.example.com: serves (dns, tls, load balancer, ingress, pods)", "success",
			[]string{url, "Removed when the pull request closes."}, []string{"does not serve"}, "it serves"},
		{1, "hop ingress: web-pr-17.env.platform.example.com: 404 from Traefik: no router for the host", "failure",
			[]string{"does not serve", "hop ingress: web-pr-17.env.platform.example.com: 404 from Traefik"}, []string{url}, "a hop fails"},
		{2, "check: unknown flag --wiat", "failure", []string{"does not serve", "unknown flag"}, []string{url}, "a usage error"},
	} {
		t.Run(c.testCase, func(t *testing.T) {
			dir, logs := t.TempDir(), t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "env.txt"), []byte(url+"\n"), 0o644))
			bin := fakeBin(t, map[string]string{"go": fakeGo, "gh": fakeGh})
			vars := map[string]string{"PATH": bin, "FAKE_LOG": logs, "FAKE_GO_OUT": c.out, "FAKE_GO_EXIT": fmt.Sprint(c.exit)}
			out, status := runStep(t, dir, env, check, ctx, vars)
			assert.Equal(t, c.exit, status, "the check step exits as the check does: %s", out)
			args, err := os.ReadFile(filepath.Join(logs, "go.args"))
			require.NoError(t, err)
			assert.Equal(t, "run ./cmd/env check pr-17 --wait 5m --format text\n", string(args))
			written, err := os.ReadFile(filepath.Join(dir, "check.txt"))
			require.NoError(t, err)
			assert.Equal(t, c.out+"\n", string(written), "check.txt holds what the check printed")

			ctx.values["steps"] = map[string]any{"up": map[string]any{"outcome": "success"}, "check": map[string]any{"outcome": c.outcome}}
			assert.True(t, truthy(evalExpr(t, fmt.Sprint(comment.If), exprContext{values: ctx.values, failed: c.exit != 0})), "the comment is posted either way")
			_, status = runStep(t, dir, env, comment, ctx, vars)
			require.Equal(t, 0, status)
			body, err := os.ReadFile(filepath.Join(logs, "comment.md"))
			require.NoError(t, err, "a comment was posted")
			for _, s := range c.says {
				assert.Contains(t, string(body), s)
			}
			for _, s := range c.saysNot {
				assert.NotContains(t, string(body), s)
			}
			t.Logf("exit %d, comment:\n%s", c.exit, body)
		})
	}
}

// Each deploy checks its stack's path after pulumi up, and fails when it does not serve.
func TestWorkflowDeployChecksThePathAfterUp(t *testing.T) {
	deploy := workflowNamed(t, "deploy.yml")
	for _, name := range []string{"platform", "production"} {
		j := deploy.Jobs[name]
		up, checkAt := -1, -1
		for i, s := range j.Steps {
			if pulumiUp.MatchString(s.Run) {
				up = i
			}
			if strings.Contains(s.Run, "./cmd/check") {
				checkAt = i
			}
		}
		require.GreaterOrEqual(t, up, 0, "%s runs pulumi up", name)
		require.Greater(t, checkAt, up, "%s checks after pulumi up", name)
		assert.Nil(t, j.Steps[checkAt].ContinueOnError)
		for _, exit := range []int{0, 1, 2} {
			logs := t.TempDir()
			bin := fakeBin(t, map[string]string{"go": fakeGo})
			_, status := runStep(t, t.TempDir(), j, j.Steps[checkAt], exprContext{values: map[string]any{}},
				map[string]string{"PATH": bin, "FAKE_LOG": logs, "FAKE_GO_OUT": "hop", "FAKE_GO_EXIT": fmt.Sprint(exit)})
			assert.Equal(t, exit, status, "%s: the step exits as cmd/check does", name)
			args, err := os.ReadFile(filepath.Join(logs, "go.args"))
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("run ./cmd/check --stack %s --wait 10m\n", j.Env["STACK"]), string(args))
		}
	}
}

// A run Dependabot starts says in its summary why it has no preview and no environment.
func TestWorkflowDependabotRunSaysWhy(t *testing.T) {
	j := workflowNamed(t, "pull-request.yml").Jobs["dependabot"]
	require.Len(t, j.Steps, 1)
	summary := filepath.Join(t.TempDir(), "summary.md")
	out, status := runStep(t, t.TempDir(), j, j.Steps[0], prEvent("opened", "dependabot[bot]", "dependabot[bot]", "example/outside-in"),
		map[string]string{"GITHUB_STEP_SUMMARY": summary})
	require.Equal(t, 0, status, out)
	b, err := os.ReadFile(summary)
	require.NoError(t, err)
	assert.Contains(t, string(b), "No preview and no environment")
	assert.Contains(t, string(b), "no Actions secrets")
	assert.Contains(t, out, "::notice ")
}
