package envlife

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/envname"
)

// verdicts maps verdicts by the last segment of their stack name, which is how the tests name
// stacks (the file backend lists them as org/project/stack or stack; see TestFileBackendFacts).
func verdicts(r Report) map[string]Verdict {
	out := map[string]Verdict{}
	for _, v := range r.Verdicts {
		out[stackLeaf(v.Stack)] = v
	}
	return out
}

func leaves(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = stackLeaf(n)
	}
	return out
}

// seed makes the stacks every reaper case starts from: two expired environments, a fresh one,
// an expired stack without the marker tag, and a platform that carries every tag (expired) but
// exports envDomain.
func seed(w *world, now time.Time) {
	past := now.Add(-100 * time.Hour)
	w.up("pr-1", past, time.Hour)
	w.up("pr-2", past, 24*time.Hour)
	w.up("dev-fresh", now, 72*time.Hour)
	w.plainStack("scratch", nil, map[string]string{TagExpiresAt: past.Format(time.RFC3339), TagOwner: "bob"})
	w.plainStack("platform", map[string]string{"outside-in:envDomain": "env.test"}, map[string]string{
		TagKind: string(KindFullStack), TagOwner: "ops", TagExpiresAt: past.Format(time.RFC3339),
	})
}

// TestReapDryRunThenSweep seeds one backend and sweeps it twice: a dry run, which must decide
// as the sweep does and remove nothing, then the sweep.
func TestReapDryRunThenSweep(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now().UTC()
	seed(w, now)
	all := []string{"pr-1", "pr-2", "dev-fresh", "scratch", "platform"}
	require.ElementsMatch(t, all, leaves(w.stacks()))

	dry, err := w.manager(now).Reap(context.Background(), ReapOptions{DryRun: true, Platform: testPlatform})
	require.NoError(t, err)
	require.True(t, dry.DryRun)
	assert.ElementsMatch(t, all, leaves(w.stacks()), "a dry run removes nothing")

	report, err := w.manager(now).Reap(context.Background(), ReapOptions{Platform: testPlatform})
	require.NoError(t, err)
	require.Len(t, report.Verdicts, 5)
	got := verdicts(report)
	assert.Equal(t, Removed, got["pr-1"].Outcome, got["pr-1"].Reason)
	assert.Equal(t, Removed, got["pr-2"].Outcome, got["pr-2"].Reason)
	assert.Equal(t, Kept, got["dev-fresh"].Outcome)
	assert.Contains(t, got["dev-fresh"].Reason, "expires in")
	assert.Equal(t, Kept, got["scratch"].Outcome)
	assert.Contains(t, got["scratch"].Reason, "no "+TagKind+" tag")
	assert.Equal(t, Kept, got["platform"].Outcome)
	assert.Contains(t, got["platform"].Reason, "platform")
	// Removed means gone from the backend, not merely destroyed.
	assert.ElementsMatch(t, []string{"dev-fresh", "scratch", "platform"}, leaves(w.stacks()))
	t.Logf("sweep:\n%s", render(report))

	// The dry run's verdicts were the sweep's.
	require.Len(t, dry.Verdicts, len(report.Verdicts))
	for i, v := range dry.Verdicts {
		assert.Equal(t, report.Verdicts[i].Stack, v.Stack)
		assert.Equal(t, report.Verdicts[i].Outcome, v.Outcome, v.Stack)
	}
}

// TestReapSkipsALockedStackAndGoesOn holds a real lock: an update of lock-me whose program
// blocks until the test releases it. Facts measured with the CLI (v3.274.1, file backend):
// while the update runs, the backend holds a lock file under .pulumi/locks/ and `pulumi stack
// ls --json` still reports updateInProgress false, so the reaper can only learn of the lock
// from the refused destroy ("the stack is currently locked by 1 lock(s)").
func TestReapSkipsALockedStackAndGoesOn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now().UTC()
	past := now.Add(-100 * time.Hour)
	w.up("pr-1", past, time.Hour)
	w.up("lock-me", past, time.Hour)
	w.up("pr-3", past, time.Hour)

	gate := make(chan struct{})
	w.mu.Lock()
	w.gates["lock-me"] = gate
	w.mu.Unlock()
	upDone := make(chan error, 1)
	go func() {
		stack, err := auto.SelectStack(context.Background(), "lock-me", w.workspace())
		if err == nil {
			_, err = stack.Up(context.Background())
		}
		upDone <- err
	}()
	released := false
	release := func() {
		if !released {
			released = true
			close(gate)
		}
	}
	// On an early failure: let the held update finish before the backend's directory goes.
	t.Cleanup(func() {
		if !released {
			release()
			<-upDone
		}
	})
	select {
	case <-w.started:
	case err := <-upDone:
		t.Fatalf("the blocking update ended before its program ran: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the blocking update did not start within 60s")
	}
	locks := w.lockFiles()
	require.Len(t, locks, 1, "a running update holds one lock file")
	assert.Contains(t, locks[0], "lock-me")
	assert.True(t, envname.KeyMatches(envname.StateKeys("envlife-test", "lock-me"), ".pulumi/locks/"+filepath.ToSlash(locks[0])),
		"the lock %s is where envname.StateKeys (the environments role's state policy) says", locks[0])
	list, err := w.workspace().ListStacks(context.Background())
	require.NoError(t, err)
	for _, s := range list {
		assert.False(t, s.UpdateInProgress, "the file backend reports no update in progress, even for %s", s.Name)
	}

	report, err := w.manager(now).Reap(context.Background(), ReapOptions{Platform: testPlatform})
	require.NoError(t, err, "a locked stack is not a failure")
	got := verdicts(report)
	require.Len(t, got, 3)
	assert.Equal(t, Locked, got["lock-me"].Outcome, got["lock-me"].Reason)
	// The sweep went on past the locked stack: both stacks after it in name order were removed.
	assert.Equal(t, Removed, got["pr-1"].Outcome, got["pr-1"].Reason)
	assert.Equal(t, Removed, got["pr-3"].Outcome, got["pr-3"].Reason)
	assert.Equal(t, []string{"lock-me"}, leaves(w.stacks()))
	t.Logf("sweep while locked:\n%s", render(report))

	release()
	select {
	case err := <-upDone:
		require.NoError(t, err, "the held update completes once released")
	case <-time.After(60 * time.Second):
		t.Fatal("the held update did not finish within 60s of its release")
	}
	report, err = w.manager(now).Reap(context.Background(), ReapOptions{Platform: testPlatform})
	require.NoError(t, err)
	assert.Equal(t, Removed, verdicts(report)["lock-me"].Outcome, "the next sweep takes it")
	assert.Empty(t, w.stacks())
	t.Logf("next sweep:\n%s", render(report))
}

func render(r Report) string {
	var b strings.Builder
	for _, v := range r.Verdicts {
		b.WriteString("  " + string(v.Outcome) + " " + v.Stack + ": " + v.Reason + "\n")
	}
	return b.String()
}

func TestReapKeepsThePlatformNamedByFlag(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now().UTC()
	// Tagged and expired, and it exports no envDomain: only the flag protects it.
	w.up("shared", now.Add(-100*time.Hour), time.Hour)
	report, err := w.manager(now).Reap(context.Background(), ReapOptions{DryRun: true, Platform: "organization/envlife-test/shared"})
	require.NoError(t, err)
	v := verdicts(report)["shared"]
	assert.Equal(t, Kept, v.Outcome)
	assert.Contains(t, v.Reason, "--platform")
	// The control: without the flag the same stack would go.
	report, err = w.manager(now).Reap(context.Background(), ReapOptions{DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, Removed, verdicts(report)["shared"].Outcome)
}

// A stack with the marker but no readable expires-at (the tags are written one call at a
// time) is never kept silently: it is taken once its created-at is MaxTTL past, kept with the
// date it will be taken until then, and without either date it fails the sweep.
func TestReapDatesAStackWithoutAReadableExpiry(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now().UTC()
	old := now.Add(-MaxTTL - time.Hour).Format(time.RFC3339)
	w.plainStack("odd", nil, map[string]string{TagKind: string(KindEnvironment), TagExpiresAt: "next tuesday"})
	w.plainStack("undated-old", nil, map[string]string{TagKind: string(KindEnvironment), TagCreatedAt: old})
	w.plainStack("undated-new", nil, map[string]string{TagKind: string(KindEnvironment), TagCreatedAt: now.Format(time.RFC3339)})
	report, err := w.manager(now).Reap(context.Background(), ReapOptions{Platform: testPlatform})
	require.Error(t, err, "a stack that cannot be dated fails the sweep")
	assert.Contains(t, err.Error(), "odd: "+TagExpiresAt+` tag "next tuesday" is not an RFC 3339 time, and no readable `+TagCreatedAt)
	got := verdicts(report)
	require.Len(t, got, 3)
	assert.Equal(t, Failed, got["odd"].Outcome)
	assert.Equal(t, Removed, got["undated-old"].Outcome, got["undated-old"].Reason)
	assert.Contains(t, got["undated-old"].Reason, "longer than any stack may live")
	assert.Equal(t, Kept, got["undated-new"].Outcome)
	assert.Contains(t, got["undated-new"].Reason, "taken at "+TagCreatedAt+" + 336h0m0s")
	assert.ElementsMatch(t, []string{"odd", "undated-new"}, leaves(w.stacks()))
	t.Logf("sweep:\n%s", render(report))
}
