package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/check"
	"github.com/outside-in/outside-in/internal/envlife"
)

// recorder is a lifecycle that records what the commands asked of it.
type recorder struct {
	up      []envlife.UpRequest
	down    []string
	reap    []envlife.ReapOptions
	report  envlife.Report
	outputs map[string]map[string]any
	// published are the platforms' published documents, by platform stack.
	published map[string]map[string]any
	err       error
}

func (r *recorder) Published(_ context.Context, platform string) (map[string]any, error) {
	return r.published[platform], r.err
}

func (r *recorder) Up(_ context.Context, req envlife.UpRequest) (envlife.Info, error) {
	r.up = append(r.up, req)
	return envlife.Info{Stack: req.Stack, Kind: req.Kind(), Owner: req.Owner, ExpiresAt: time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC),
		URLs: map[string]string{"web": "https://web-" + req.Stack + ".env.example.com/", "api": "https://api-" + req.Stack + ".env.example.com/"}}, r.err
}

func (r *recorder) Down(_ context.Context, name string) error {
	r.down = append(r.down, name)
	return r.err
}

func (r *recorder) List(context.Context) ([]envlife.Info, error) { return nil, r.err }

func (r *recorder) Reap(_ context.Context, o envlife.ReapOptions) (envlife.Report, error) {
	r.reap = append(r.reap, o)
	return r.report, r.err
}

func (r *recorder) Outputs(_ context.Context, stack string) (map[string]any, error) {
	return r.outputs[stack], r.err
}

var defaultWalk = walk

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func runWith(rec *recorder, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut, env(vars),
		func(func(string) string, io.Writer) (lifecycle, error) { return rec, nil })
	return code, out.String(), errOut.String()
}

func TestUpPassesFlagsAndPrintsURLs(t *testing.T) {
	rec := &recorder{}
	code, out, errOut := runWith(rec, map[string]string{EnvPlatformStack: "organization/outside-in/platform", "USER": "alice"},
		"up", "dev-alice", "--ttl", "8h")
	require.Equal(t, 0, code, errOut)
	require.Len(t, rec.up, 1)
	assert.Equal(t, envlife.UpRequest{Stack: "dev-alice", Owner: "alice", TTL: 8 * time.Hour, Platform: "organization/outside-in/platform"}, rec.up[0])
	assert.Equal(t, "dev-alice (environment, owner alice) expires 2026-03-04T12:00:00Z\n"+
		"  api  https://api-dev-alice.env.example.com/\n"+
		"  web  https://web-dev-alice.env.example.com/\n", out)

	// Flags before the name; --from makes a full stack and ignores $OUTSIDE_IN_PLATFORM_STACK.
	rec = &recorder{}
	code, _, errOut = runWith(rec, map[string]string{EnvPlatformStack: "organization/outside-in/platform", "GITHUB_ACTOR": "bob", "USER": "runner"},
		"up", "--from", "Pulumi.k3s.yaml", "k3s-bob")
	require.Equal(t, 0, code, errOut)
	require.Len(t, rec.up, 1)
	assert.Equal(t, envlife.UpRequest{Stack: "k3s-bob", Owner: "bob", TTL: defaultTTL, From: "Pulumi.k3s.yaml"}, rec.up[0])
}

func TestUsageErrorsExitTwo(t *testing.T) {
	platform := map[string]string{EnvPlatformStack: "organization/outside-in/platform", "USER": "alice"}
	for name, tc := range map[string]struct {
		vars map[string]string
		args []string
		want string
	}{
		"no command":      {platform, nil, "no command given"},
		"unknown command": {platform, []string{"deploy"}, `unknown command "deploy"`},
		"up without name": {platform, []string{"up"}, "exactly one stack NAME, got 0"},
		"up two names":    {platform, []string{"up", "a", "b"}, "exactly one stack NAME, got 2"},
		"bad ttl":         {platform, []string{"up", "a", "--ttl", "soon"}, `invalid value "soon" for flag -ttl`},
		"ttl too long":    {platform, []string{"up", "a", "--ttl", "1000h"}, "at most 336h"},
		"unknown flag":    {platform, []string{"down", "a", "--force"}, "flag provided but not defined: -force"},
		"no platform":     {map[string]string{"USER": "alice"}, []string{"up", "a"}, "no platform stack"},
		"no owner":        {map[string]string{EnvPlatformStack: "organization/outside-in/platform"}, []string{"up", "a"}, `owner ""`},
		"list with args":  {platform, []string{"list", "x"}, `list takes no arguments, got "x"`},
		"reap with args":  {platform, []string{"reap", "now"}, "reap takes no arguments"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			code, _, errOut := runWith(rec, tc.vars, tc.args...)
			assert.Equal(t, 2, code)
			assert.Contains(t, errOut, tc.want)
			assert.Contains(t, errOut, "usage:", "the usage follows the message")
			assert.Empty(t, rec.up, "nothing ran")
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	code, out, _ := runWith(&recorder{}, nil, "--help")
	assert.Equal(t, 0, code)
	assert.Contains(t, out, "env reap [--dry-run]")
}

func TestSetupErrorsExitTwoAndFailuresOne(t *testing.T) {
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"list"}, io.Discard, &errOut, env(nil), newManager)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut.String(), "PULUMI_BACKEND_URL is not set")

	rec := &recorder{err: errors.New("env down pr-3: destroying: boom")}
	code, _, stderr := runWith(rec, nil, "down", "pr-3")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "boom")
	assert.Equal(t, []string{"pr-3"}, rec.down)
}

func TestReapPrintsEachVerdict(t *testing.T) {
	rec := &recorder{report: envlife.Report{DryRun: true, Verdicts: []envlife.Verdict{
		{Stack: "pr-1", Outcome: envlife.Removed, Reason: "expired 3h0m0s ago"},
		{Stack: "platform", Outcome: envlife.Kept, Reason: "a platform (exports envDomain)"},
	}}}
	code, out, _ := runWith(rec, map[string]string{EnvPlatformStack: "organization/outside-in/platform"}, "reap", "--dry-run")
	require.Equal(t, 0, code)
	assert.Equal(t, []envlife.ReapOptions{{DryRun: true, Platform: "organization/outside-in/platform"}}, rec.reap)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	assert.Equal(t, "would remove pr-1: expired 3h0m0s ago", lines[0])
	assert.Equal(t, "kept         platform: a platform (exports envDomain)", lines[1])
	assert.Equal(t, "reap: would remove 1, kept 1, locked 0, failed 0", lines[2])

	code, _, _ = runWith(rec, nil, "reap", "--scope", "pull-requests", "--platform", "organization/outside-in/platform")
	require.Equal(t, 0, code)
	assert.Equal(t, envlife.ScopePullRequests, rec.reap[1].Scope)
	code, _, stderr := runWith(rec, nil, "reap", "--scope", "everything")
	assert.Equal(t, 2, code, "an unknown scope is a usage error")
	assert.Contains(t, stderr, `--scope "everything": want pull-requests or trusted`)
}

// env check reads the environment's outputs, then what the platform its platformStack output
// names publishes (never the platform's outputs: its state is not the environment's to open),
// walks both, prints the report and exits 1 when a path does not serve.
func TestCheckWalksAnEnvironmentThroughItsPlatform(t *testing.T) {
	rec := &recorder{outputs: map[string]map[string]any{
		"pr-17":                            {"platformStack": "organization/outside-in/platform", "urls": map[string]any{"web": "https://web-pr-17.env.example.com/"}},
		"organization/outside-in/platform": {"envDomain": "env.example.com", "kubeconfig": "the platform's admin kubeconfig"},
	}, published: map[string]map[string]any{
		"organization/outside-in/platform": {"envDomain": "env.example.com", "environmentKubeconfig": "the environments kubeconfig"},
	}}
	var gotEnv, gotPlatform map[string]any
	serves := true
	walk = func(_ context.Context, outputs, platform map[string]any) (*check.Report, error) {
		gotEnv, gotPlatform = outputs, platform
		return &check.Report{Serves: serves}, nil
	}
	t.Cleanup(func() { walk = defaultWalk })
	code, _, stderr := runWith(rec, nil, "check", "pr-17")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, rec.outputs["pr-17"], gotEnv)
	assert.Equal(t, rec.published["organization/outside-in/platform"], gotPlatform)

	serves = false
	code, _, stderr = runWith(rec, nil, "check", "pr-17", "--format", "json")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "does not serve")
	code, _, _ = runWith(rec, nil, "check", "pr-17", "--format", "yaml")
	assert.Equal(t, 2, code, "a bad --format is a usage error")
}
