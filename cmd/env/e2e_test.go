package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/envlife"
	"github.com/outside-in/outside-in/internal/envlife/clitest"
)

// TestCommandsOnTheRealCLI runs list, reap --dry-run, reap and down as the binary does: the
// project found upward from the working directory (a copy of a project of its own), the CLI
// named by OUTSIDE_IN_PULUMI, the backend from PULUMI_BACKEND_URL. The stacks are made with a small inline
// program under the same project name, because the real program needs a cluster to deploy to;
// none of these commands runs the program.
func TestCommandsOnTheRealCLI(t *testing.T) {
	cli := clitest.CLI(t)
	vars, _ := clitest.Backend(t)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	t.Setenv(EnvPlatformStack, "")
	t.Setenv(EnvPulumi, filepath.Join(clitest.ToolsRoot(), "bin", "pulumi"))
	// The commands find the project upward from the working directory: a directory of the
	// test's own, never the checkout (the CLI writes Pulumi.<stack>.yaml where it runs).
	project := clitest.Project(t, "outside-in")
	t.Chdir(project)
	maker := &envlife.Manager{
		WorkDir: project, Pulumi: cli, EnvVars: vars,
		Program: func(ctx *pulumi.Context) error {
			ctx.Export(envlife.OutputURLs, pulumi.StringMap{"web": pulumi.Sprintf("https://web-%s.env.test/", ctx.Stack())})
			return nil
		},
	}
	ctx := context.Background()
	for _, s := range []struct {
		name string
		ago  time.Duration
	}{{"envtest-old", 100 * time.Hour}, {"envtest-new", 0}} {
		maker.Now = func() time.Time { return time.Now().Add(-s.ago) }
		_, err := maker.Up(ctx, envlife.UpRequest{Stack: s.name, Owner: "carol", TTL: time.Hour, Platform: "organization/outside-in/platform"})
		require.NoError(t, err)
	}

	cmd := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, args, &out, &errOut, os.Getenv, newManager)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := cmd("list")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `envtest-new\s+environment\s+carol\s+`, out)
	assert.Regexp(t, `envtest-old\s+environment\s+carol\s+.*\(expired\)\s+https://web-envtest-old.env.test/`, out)
	t.Logf("env list:\n%s", out)

	code, out, errOut = cmd("reap", "--dry-run")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "reap: would remove 1, kept 1, locked 0, failed 0")

	code, out, errOut = cmd("reap")
	require.Equal(t, 0, code, errOut)
	assert.Regexp(t, `removed\s+\S*envtest-old: expired`, out)
	assert.Contains(t, out, "reap: removed 1, kept 1, locked 0, failed 0")
	t.Logf("env reap:\n%s", out)

	code, _, errOut = cmd("down", "envtest-new")
	require.Equal(t, 0, code, errOut)
	code, out, errOut = cmd("list")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "no ephemeral stacks\n", out)
}
