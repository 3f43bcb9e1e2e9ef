package envlife

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stackFiles lists what the file backend keeps of a stack, anywhere under .pulumi.
func (w *world) stackFiles(stack string) []string {
	w.t.Helper()
	var out []string
	_ = filepath.WalkDir(filepath.Join(w.backendDir, ".pulumi"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(filepath.ToSlash(p), "/"+stack) {
			rel, _ := filepath.Rel(w.backendDir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// env down leaves nothing of the stack in the backend (its state, the state's backups and the
// update history, which hold the kubeconfig), and never deletes a stack file git tracks: a
// repository's Pulumi.pr-17.yaml stays, an untracked one made by env up goes.
func TestDownRemovesHistoryAndBackupsButNoTrackedFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = w.dir
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	git("init", "-q")
	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "Pulumi.pr-17.yaml"), []byte("config: {}\n"), 0o644))
	git("add", "Pulumi.pr-17.yaml")
	now := time.Now()
	for _, s := range []string{"pr-17", "dev-bob"} {
		w.up(s, now, time.Hour)
		w.up(s, now, time.Hour) // a second update: history and backups of both
		require.NotEmpty(t, w.stackFiles(s))
	}
	hist, _ := filepath.Glob(filepath.Join(w.backendDir, ".pulumi", "history", "envlife-test", "pr-17", "*"))
	require.NotEmpty(t, hist, "the backend keeps update history")

	m := w.manager(now)
	require.NoError(t, m.Down(context.Background(), "pr-17"))
	require.NoError(t, m.Down(context.Background(), "dev-bob"))
	for _, s := range []string{"pr-17", "dev-bob"} {
		assert.Empty(t, w.stackFiles(s), "env down %s leaves nothing in the backend", s)
	}
	_, err := os.Stat(filepath.Join(w.dir, "Pulumi.pr-17.yaml"))
	assert.NoError(t, err, "git tracks Pulumi.pr-17.yaml: env down keeps it")
	_, err = os.Stat(filepath.Join(w.dir, "Pulumi.dev-bob.yaml"))
	assert.True(t, os.IsNotExist(err), "env up wrote Pulumi.dev-bob.yaml: env down removes it (%v)", err)
}

// A lock that a cancelled job left behind stays in a self-managed backend forever. The reaper
// reports a young lock as a running update (Locked, the next sweep retries), and a lock older
// than any job runs as what it is, failing the sweep with how to remove it.
func TestReapFailsOnAStaleLock(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now().UTC()
	past := now.Add(-100 * time.Hour)
	w.up("stale", past, time.Hour)
	w.up("young", past, time.Hour)
	lock := func(stack string, at time.Time) {
		dir := filepath.Join(w.backendDir, ".pulumi", "locks", "organization", "envlife-test", stack)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		body, err := json.Marshal(map[string]any{"pid": 4242, "username": "runner", "hostname": "ci-1", "timestamp": at})
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "0a1b2c3d-cancelled-job.json"), body, 0o644))
	}
	lock("stale", now.Add(-3*time.Hour))
	lock("young", now.Add(-10*time.Minute))

	report, err := w.manager(now).Reap(context.Background(), ReapOptions{Platform: testPlatform})
	require.Error(t, err, "a stale lock fails the sweep")
	got := verdicts(report)
	assert.Equal(t, Failed, got["stale"].Outcome, got["stale"].Reason)
	assert.Contains(t, got["stale"].Reason, "a cancelled job left the lock")
	assert.Contains(t, got["stale"].Reason, "pulumi cancel --stack stale")
	assert.Equal(t, Locked, got["young"].Outcome, got["young"].Reason)
	assert.ElementsMatch(t, []string{"stale", "young"}, leaves(w.stacks()), "nothing locked is removed")
	t.Logf("sweep:\n%s", render(report))
}

// The sweep's scopes split the stacks by who can write their state: pull requests' (pr-*) go to
// --scope pull-requests, which removes an environment through the platform's cluster and never
// destroys from the state, and refuses a full stack there; every other stack goes to --scope
// trusted.
func TestReapScopes(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now().UTC()
	past := now.Add(-100 * time.Hour)
	w.up("pr-5", past, time.Hour)
	w.up("dev-carol", past, time.Hour)
	w.plainStack("pr-6", nil, map[string]string{TagKind: string(KindFullStack), TagExpiresAt: past.Format(time.RFC3339), TagCreatedAt: past.Format(time.RFC3339)})

	// The trusted sweep decides by name first: it never runs a command on a stack whose state
	// a pull request can write (no tags, no outputs, no config read from it).
	m := w.manager(now)
	rec := &recordingCLI{PulumiCommand: m.Pulumi}
	m.Pulumi = rec
	trusted, err := m.Reap(context.Background(), ReapOptions{Scope: ScopeTrusted, Platform: testPlatform})
	require.NoError(t, err)
	require.NotEmpty(t, rec.commands, "the sweep ran the CLI")
	for _, c := range rec.commands {
		for _, pr := range []string{"pr-5", "pr-6"} {
			assert.NotRegexp(t, `(^|[\s/])`+pr+`($|\s)`, c, "the trusted sweep opened %s, whose state pull requests can write", pr)
		}
	}
	got := verdicts(trusted)
	assert.Equal(t, Removed, got["dev-carol"].Outcome)
	assert.Equal(t, Kept, got["pr-5"].Outcome)
	assert.Contains(t, got["pr-5"].Reason, "a pull request's stack")
	assert.Equal(t, Kept, got["pr-6"].Outcome)

	prs, err := w.manager(now).Reap(context.Background(), ReapOptions{Scope: ScopePullRequests, Platform: testPlatform})
	require.Error(t, err, "a full stack a pull request can write fails the sweep")
	got = verdicts(prs)
	assert.Equal(t, Removed, got["pr-5"].Outcome, got["pr-5"].Reason)
	assert.Equal(t, Failed, got["pr-6"].Outcome)
	assert.Contains(t, got["pr-6"].Reason, "pull requests can write its state, so it is never destroyed from it")
	assert.ElementsMatch(t, []string{"pr-6"}, leaves(w.stacks()))
	t.Logf("trusted:\n%s\npull requests:\n%s", render(trusted), render(prs))
}
