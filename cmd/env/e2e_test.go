package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/envlife"
	"github.com/outside-in/outside-in/internal/envlife/clitest"
	"github.com/outside-in/outside-in/internal/motoserver"
)

func TestMain(m *testing.M) { os.Exit(motoserver.Run(m)) }

// TestCommandsOnTheRealCLI runs list, reap --dry-run, reap and down as the binary does: the
// project found upward from the working directory (a copy of a project of its own), the CLI
// named by OUTSIDE_IN_PULUMI, the backend from PULUMI_BACKEND_URL. The stacks are made with a small inline
// program under the same project name, because the real program needs a cluster to deploy to;
// none of these commands runs the program. AWS is moto: the platform's published document is
// read from its Parameter Store, where this platform has published nothing, so the reaper
// finds the platform gone and removes the expired environment without a cluster.
func TestCommandsOnTheRealCLI(t *testing.T) {
	cli := clitest.CLI(t)
	vars, _ := clitest.Backend(t)
	for k, v := range vars {
		t.Setenv(k, v)
	}
	t.Setenv(EnvPlatformStack, "")
	moto := motoserver.Start(t, "eu-central-1")
	t.Setenv("AWS_ENDPOINT_URL", aws.ToString(moto.BaseEndpoint))
	t.Setenv("AWS_REGION", moto.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_PROFILE", "")
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
