package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/envlife/clitest"
	"github.com/outside-in/outside-in/internal/pulumicli"
)

// TestOutputsThroughTheAutomationAPI reads a stack's outputs, secrets in plain, with the real
// Pulumi CLI from a file backend: a stack holding the outputs of a deployment is imported, then
// read as `check --stack` reads it.
func TestOutputsThroughTheAutomationAPI(t *testing.T) {
	clitest.CLI(t)
	tmp := t.TempDir()
	project := filepath.Join(tmp, "project")
	require.NoError(t, os.MkdirAll(project, 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(project, "Pulumi.yaml"), []byte("name: outside-in\nruntime: go\n"), 0o600))
	t.Setenv("PULUMI_BACKEND_URL", "file://"+filepath.Join(tmp, "state"))
	t.Setenv("PULUMI_CONFIG_PASSPHRASE", "check-test")
	t.Setenv("PULUMI_HOME", filepath.Join(tmp, "home"))
	require.NoError(t, os.MkdirAll(filepath.Join(tmp, "state"), 0o700))
	t.Chdir(project)
	getenv := func(k string) string {
		if k == EnvPulumi {
			return filepath.Join(clitest.ToolsRoot(), "bin", "pulumi")
		}
		return os.Getenv(k)
	}

	ctx := context.Background()
	cli, err := pulumicli.Command(getenv, project)
	require.NoError(t, err)
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(project), auto.Pulumi(cli))
	require.NoError(t, err)
	_, err = auto.NewStack(ctx, "dev", ws)
	require.NoError(t, err)
	deployment := map[string]any{
		"manifest": map[string]any{"time": "2026-01-01T00:00:00Z", "magic": "", "version": ""},
		"resources": []any{map[string]any{
			"urn": "urn:pulumi:dev::outside-in::pulumi:pulumi:Stack::outside-in-dev", "custom": false, "type": "pulumi:pulumi:Stack",
			"outputs": map[string]any{
				"urls":                map[string]any{"web": "https://web.dev.example.com/"},
				"loadBalancerDnsName": "lb-1.eu-central-1.elb.amazonaws.com",
			},
		}},
	}
	raw, err := json.Marshal(deployment)
	require.NoError(t, err)
	require.NoError(t, ws.ImportStack(ctx, "dev", apitype.UntypedDeployment{Version: 3, Deployment: raw}))

	out, err := stackOutputs(ctx, getenv, "dev")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"web": "https://web.dev.example.com/"}, out["urls"])
	assert.Equal(t, "lb-1.eu-central-1.elb.amazonaws.com", out["loadBalancerDnsName"])

	_, err = stackOutputs(ctx, getenv, "nosuch")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reading the outputs of stack nosuch")
}
