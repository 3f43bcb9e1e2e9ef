package envlife

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUpTagsConfiguresAndRenews(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	first := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	info := w.up("dev-alice", first, 72*time.Hour)
	assert.Equal(t, map[string]string{"web": "https://web-dev-alice.env.test/"}, info.URLs)
	assert.Equal(t, first.Add(72*time.Hour), info.ExpiresAt)

	stack, err := auto.SelectStack(ctx, "dev-alice", w.workspace())
	require.NoError(t, err)
	tags, err := stack.ListTags(ctx)
	require.NoError(t, err)
	assert.Equal(t, string(KindEnvironment), tags[TagKind])
	assert.Equal(t, "alice", tags[TagOwner])
	assert.Equal(t, "2026-03-04T12:00:00Z", tags[TagExpiresAt])
	assert.Equal(t, "2026-03-01T12:00:00Z", tags[TagCreatedAt])
	// The program saw the lifecycle configuration.
	out, err := stack.Outputs(ctx)
	require.NoError(t, err)
	assert.Equal(t, "existing", out["sawClusterMode"].Value)
	assert.Equal(t, "alice", out["sawOwner"].Value)
	cfg, err := stack.GetAllConfig(ctx)
	require.NoError(t, err)
	assert.Equal(t, testPlatform, cfg["outside-in:platformStack"].Value)
	assert.Equal(t, "2026-03-04T12:00:00Z", cfg["outside-in:expiresAt"].Value)

	// A second up renews the expiry and keeps the creation time.
	later := first.Add(48 * time.Hour)
	info = w.up("dev-alice", later, 48*time.Hour)
	assert.Equal(t, later.Add(48*time.Hour), info.ExpiresAt)
	assert.Equal(t, first, info.CreatedAt)
	tags, err = stack.ListTags(ctx)
	require.NoError(t, err)
	assert.Equal(t, "2026-03-05T12:00:00Z", tags[TagExpiresAt])
	assert.Equal(t, "2026-03-01T12:00:00Z", tags[TagCreatedAt])
}

// TestUpFromAFreshCheckout is CI's case: the PR's stack exists in the backend, but the runner's
// checkout has no Pulumi.pr-<n>.yaml, so neither its config nor its encryption salt. Measured
// with the CLI: it writes a new salt, and the secrets in the state still decrypt, because the
// state carries its own secrets-provider settings; the config is rewritten by up itself.
func TestUpFromAFreshCheckout(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.up("pr-5", time.Now(), time.Hour)
	file := filepath.Join(w.dir, "Pulumi.pr-5.yaml")
	require.FileExists(t, file)
	require.NoError(t, os.Remove(file))

	w.up("pr-5", time.Now(), time.Hour)
	stack, err := auto.SelectStack(context.Background(), "pr-5", w.workspace())
	require.NoError(t, err)
	out, err := stack.Outputs(context.Background())
	require.NoError(t, err)
	assert.Equal(t, auto.OutputValue{Value: "hush", Secret: true}, out["secret"])
	cfg, err := stack.GetAllConfig(context.Background())
	require.NoError(t, err)
	assert.Equal(t, testPlatform, cfg[KeyPlatformStack].Value)
}

func TestUpRefusesALongLivedStack(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.plainStack("prod", nil, nil)
	_, err := w.manager(time.Now()).Up(context.Background(), UpRequest{Stack: "prod", Owner: "alice", TTL: time.Hour, Platform: testPlatform})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "was not made by env up")
	stack, err := auto.SelectStack(context.Background(), "prod", w.workspace())
	require.NoError(t, err)
	tags, err := stack.ListTags(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, tags, TagKind, "the refused stack was not tagged")
}

func TestUpFullStackCopiesTheStackFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	from := filepath.Join(t.TempDir(), "Pulumi.k3s.yaml")
	require.NoError(t, os.WriteFile(from, []byte(`config:
  outside-in:clusterMode: k3s
  outside-in:apps:
    - name: web
  aws:region: eu-central-1
`), 0o644))
	info, err := w.manager(time.Now()).Up(context.Background(), UpRequest{Stack: "k3s-bob", Owner: "bob", TTL: 8 * time.Hour, From: from})
	require.NoError(t, err)
	assert.Equal(t, KindFullStack, info.Kind)

	stack, err := auto.SelectStack(context.Background(), "k3s-bob", w.workspace())
	require.NoError(t, err)
	out, err := stack.Outputs(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "k3s", out["sawClusterMode"].Value, "the program saw the copied configuration")
	cfg, err := stack.GetAllConfig(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "eu-central-1", cfg["aws:region"].Value)
	assert.JSONEq(t, `[{"name":"web"}]`, cfg["outside-in:apps"].Value, "structured values stay structured")
	assert.Equal(t, "false", cfg["outside-in:loadBalancerDeletionProtection"].Value, "a reapable full stack is never guarded")
	assert.NotContains(t, cfg, "outside-in:platformStack")
	tags, err := stack.ListTags(context.Background())
	require.NoError(t, err)
	assert.Equal(t, string(KindFullStack), tags[TagKind])

	// The same name as an environment is refused: kinds never change under a stack.
	_, err = w.manager(time.Now()).Up(context.Background(), UpRequest{Stack: "k3s-bob", Owner: "bob", TTL: time.Hour, Platform: testPlatform})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is of kind full-stack, not environment")
}

func TestUpRefusesSecretsInTheStackFile(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	from := filepath.Join(t.TempDir(), "Pulumi.x.yaml")
	require.NoError(t, os.WriteFile(from, []byte("config:\n  outside-in:kubeconfig:\n    secure: v1:abc:def\n"), 0o644))
	_, err := w.manager(time.Now()).Up(context.Background(), UpRequest{Stack: "x-1", Owner: "bob", TTL: time.Hour, From: from})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "outside-in:kubeconfig")
	assert.Empty(t, w.stacks(), "nothing was created")
}

func TestUpRequestValidate(t *testing.T) {
	t.Parallel()
	ok := UpRequest{Stack: "pr-17", Owner: "ci", TTL: time.Hour, Platform: testPlatform}
	require.NoError(t, ok.Validate())
	for name, tc := range map[string]struct {
		mutate func(*UpRequest)
		want   string
	}{
		"no stack":         {func(r *UpRequest) { r.Stack = "" }, "stack name is empty"},
		"bad owner":        {func(r *UpRequest) { r.Owner = "a b" }, `owner "a b"`},
		"empty owner":      {func(r *UpRequest) { r.Owner = "" }, `owner ""`},
		"zero ttl":         {func(r *UpRequest) { r.TTL = 0 }, "ttl 0s"},
		"ttl too long":     {func(r *UpRequest) { r.TTL = MaxTTL + time.Hour }, "at most 336h0m0s"},
		"both":             {func(r *UpRequest) { r.From = "Pulumi.k3s.yaml" }, "not both"},
		"neither":          {func(r *UpRequest) { r.Platform = "" }, "no platform stack"},
		"short platform":   {func(r *UpRequest) { r.Platform = "platform" }, "fully qualified"},
		"platform is self": {func(r *UpRequest) { r.Stack = "platform" }, "is the platform itself"},
	} {
		t.Run(name, func(t *testing.T) {
			r := ok
			tc.mutate(&r)
			err := r.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestListShowsOwnerExpiryAndURLs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	now := time.Now().UTC().Truncate(time.Second)
	w.up("dev-alice", now, 72*time.Hour)
	w.up("pr-9", now.Add(-100*time.Hour), time.Hour)
	w.plainStack("scratch", nil, nil)

	infos, err := w.manager(now).List(context.Background())
	require.NoError(t, err)
	require.Len(t, infos, 2, "the untagged stack is not listed")
	alice, pr := infos[0], infos[1]
	assert.Equal(t, "dev-alice", stackLeaf(alice.Stack))
	assert.Equal(t, "alice", alice.Owner)
	assert.Equal(t, KindEnvironment, alice.Kind)
	assert.Equal(t, now.Add(72*time.Hour), alice.ExpiresAt)
	assert.False(t, alice.Expired(now))
	assert.Equal(t, map[string]string{"web": "https://web-dev-alice.env.test/"}, alice.URLs)
	assert.Equal(t, now, alice.CreatedAt)
	assert.WithinDuration(t, time.Now(), alice.LastUpdate, 5*time.Minute, "last update from the backend's stack list")

	assert.Equal(t, "pr-9", stackLeaf(pr.Stack))
	assert.True(t, pr.Expired(now))
	assert.Equal(t, map[string]string{"web": "https://web-pr-9.env.test/"}, pr.URLs)
}

func TestDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cli := w.record()
	w.up("dev-alice", time.Now(), time.Hour)
	w.plainStack("prod", nil, nil)
	w.plainStack("platform", map[string]string{"outside-in:envDomain": "env.test"}, map[string]string{TagKind: string(KindFullStack)})
	m := w.manager(time.Now())
	ctx := context.Background()

	require.NoError(t, m.Down(ctx, "dev-alice"))
	require.NoError(t, m.Down(ctx, "dev-alice"), "a stack already gone is down")
	err := m.Down(ctx, "prod")
	assert.True(t, errors.Is(err, ErrNotEphemeral), "untagged: %v", err)
	err = m.Down(ctx, "platform")
	assert.True(t, errors.Is(err, ErrNotEphemeral), "platform: %v", err)
	assert.ElementsMatch(t, []string{"prod", "platform"}, leaves(w.stacks()))

	// After an update or a destroy the Automation API reads its summary from the stack's
	// history. env up and env down read it without secrets: with --show-secrets the CLI
	// derives the passphrase's key once more (0.25 s of CPU a run) for values nothing reads.
	// Four summaries: env up's, the two plain stacks' updates', env down's destroy's.
	summaries := cli.runsOf("history")
	assert.Len(t, summaries, 4, "%q", summaries)
	for _, c := range summaries {
		assert.NotContains(t, strings.Fields(c), "--show-secrets", "pulumi %s", c)
	}
}
