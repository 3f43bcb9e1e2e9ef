package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/check"
)

// fakeChecks answers with the reports given, one per try (the last one repeats), and records
// what it was given.
type fakeChecks struct {
	reports  []*check.Report
	tries    int
	outputs  map[string]any
	platform map[string]any
}

func (f *fakeChecks) next() *check.Report {
	r := f.reports[min(f.tries, len(f.reports)-1)]
	f.tries++
	return r
}

func (f *fakeChecks) deps(outputs map[string]map[string]any) deps {
	return deps{
		getenv:   func(string) string { return "" },
		interval: time.Millisecond,
		outputs: func(_ context.Context, _ func(string) string, stack string) (map[string]any, error) {
			out, ok := outputs[stack]
			if !ok {
				return nil, os.ErrNotExist
			}
			return out, nil
		},
		// A platform's document is what it publishes: here the stack's outputs, marked so a
		// test can tell them from its state's.
		published: func(_ context.Context, platform string) (map[string]any, error) {
			out, ok := outputs[platform]
			if !ok {
				return nil, os.ErrNotExist
			}
			return map[string]any{"published": out}, nil
		},
		stack: func(_ context.Context, out map[string]any) (*check.Report, error) {
			f.outputs = out
			return f.next(), nil
		},
		environment: func(_ context.Context, env, platform map[string]any) (*check.Report, error) {
			f.outputs, f.platform = env, platform
			return f.next(), nil
		},
	}
}

func report(serves bool) *check.Report {
	hop := check.Hop{Name: check.HopTargets, Status: check.OK, Evidence: []string{"2 of 2 targets healthy"}}
	h := check.HostReport{Host: "web.example.com", URL: "https://web.example.com/", App: "web", Serves: serves, Hops: []check.Hop{hop}}
	if !serves {
		h.Hops[0].Status, h.Hops[0].Cause, h.Hops[0].Fix, h.FirstBroken = check.Failed, "every target is unhealthy", "look", check.HopTargets
	}
	return &check.Report{Serves: serves, Hosts: []check.HostReport{h}}
}

func runCheck(t *testing.T, d deps, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := run(t.Context(), args, &stdout, &stderr, d)
	return code, stdout.String(), stderr.String()
}

var stacks = map[string]map[string]any{
	"dev":                              {"urls": map[string]any{"web": "https://web.example.com/"}},
	"pr-17":                            {"urls": map[string]any{"web": "https://web-pr-17.env.example.com/"}, "platformStack": "organization/outside-in/platform"},
	"organization/outside-in/platform": {"envDomain": "env.example.com"},
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--stack"},
		{"--stack", "dev", "--format", "yaml"},
		{"--stack", "dev", "--wait", "soon"},
		{"--stack", "dev", "--wait", "-1m"},
		{"--stack", "dev", "extra"},
		{"--bogus"},
	} {
		f := &fakeChecks{reports: []*check.Report{report(true)}}
		code, _, stderr := runCheck(t, f.deps(stacks), args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.Contains(t, stderr, "usage: check --stack NAME", "%v", args)
		assert.Zero(t, f.tries, "%v: no check runs on a usage error", args)
	}
}

func TestExitStatusFollowsTheReport(t *testing.T) {
	f := &fakeChecks{reports: []*check.Report{report(true)}}
	code, stdout, _ := runCheck(t, f.deps(stacks), "--stack", "dev")
	assert.Equal(t, 0, code)
	assert.Contains(t, stdout, "web.example.com (https://web.example.com/): serves")
	assert.Equal(t, stacks["dev"], f.outputs, "the stack's outputs are checked")

	f = &fakeChecks{reports: []*check.Report{report(false)}}
	code, stdout, _ = runCheck(t, f.deps(stacks), "--stack", "dev", "--format", "json")
	assert.Equal(t, 1, code)
	var got check.Report
	require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)
	assert.False(t, got.Serves)
	assert.Equal(t, check.HopTargets, got.Hosts[0].FirstBroken)
	assert.Equal(t, 1, f.tries, "without --wait, one try")
}

func TestWaitRetriesUntilThePathServes(t *testing.T) {
	f := &fakeChecks{reports: []*check.Report{report(false), report(false), report(true)}}
	code, stdout, stderr := runCheck(t, f.deps(stacks), "--stack", "dev", "--wait", "5m")
	assert.Equal(t, 0, code, stdout)
	assert.Equal(t, 3, f.tries)
	assert.Equal(t, 2, strings.Count(stderr, "does not serve yet (first broken hop targets)"), stderr)

	f = &fakeChecks{reports: []*check.Report{report(false)}}
	code, _, _ = runCheck(t, f.deps(stacks), "--stack", "dev", "--wait", "30ms")
	assert.Equal(t, 1, code, "the time ran out")
	assert.Greater(t, f.tries, 1)
}

func TestEnvironmentIsCheckedThroughItsPlatform(t *testing.T) {
	f := &fakeChecks{reports: []*check.Report{report(true)}}
	code, _, stderr := runCheck(t, f.deps(stacks), "--stack", "pr-17")
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, stacks["pr-17"], f.outputs)
	assert.Equal(t, map[string]any{"published": stacks["organization/outside-in/platform"]}, f.platform,
		"what the platform named by platformStack publishes, not its state's outputs")

	dir := t.TempDir()
	env := writeJSON(t, dir, "env.json", stacks["pr-17"])
	code, _, stderr = runCheck(t, f.deps(nil), "--outputs", env)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--platform-outputs")

	platform := writeJSON(t, dir, "platform.json", stacks["organization/outside-in/platform"])
	code, _, stderr = runCheck(t, f.deps(nil), "--stack", "pr-17", "--outputs", env, "--platform-outputs", platform)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, "env.example.com", f.platform["envDomain"])
}

func TestOutputsFileErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	f := &fakeChecks{reports: []*check.Report{report(true)}}
	code, _, stderr := runCheck(t, f.deps(nil), "--outputs", filepath.Join(dir, "missing.json"))
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "missing.json")

	hidden := writeJSON(t, dir, "hidden.json", map[string]any{"urls": map[string]any{"web": "https://w.example.com/"}, "kubeconfig": "[secret]"})
	code, _, stderr = runCheck(t, f.deps(nil), "--outputs", hidden)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "--show-secrets")

	code, _, stderr = runCheck(t, f.deps(nil), "--stack", "nosuch")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "check:")
	assert.Zero(t, f.tries)
}

func writeJSON(t *testing.T, dir, name string, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}
