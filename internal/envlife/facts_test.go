package envlife

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/envlife/clitest"
	"github.com/outside-in/outside-in/internal/envname"
)

// TestFileBackendFacts pins down what this package relies on in the CLI (v3.274.1) with a
// file backend, so that a CLI upgrade that changes any of it fails here first:
//
//   - stack tags work on the file backend; they live beside the state, in
//     .pulumi/stacks/<project>/<stack>.pulumi-tags;
//   - inside the project directory `stack ls` names stacks by their short name ("pr-1");
//     outside it, `stack ls` fails without a Pulumi.yaml and `stack ls --all` gives
//     "organization/<project>/<stack>" (on a file backend the organization is always
//     "organization"), which is why platformStack must be fully qualified;
//   - a new stack has a lastUpdate before any update (the time of `stack init`);
//   - a running update never shows as updateInProgress (see TestReapSkipsALockedStackAndGoesOn).
func TestFileBackendFacts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	stack, err := auto.NewStack(ctx, "pr-1", w.workspace())
	require.NoError(t, err)
	require.NoError(t, stack.SetTag(ctx, TagOwner, "alice"))
	tags, err := stack.ListTags(ctx)
	require.NoError(t, err)
	assert.Equal(t, "alice", tags[TagOwner])
	_, err = os.Stat(filepath.Join(w.backendDir, ".pulumi", "stacks", "envlife-test", "pr-1.pulumi-tags"))
	assert.NoError(t, err, "the file backend keeps tags in a file beside the state")
	// Every file the backend keeps for the stack is where envname.StateKeys says, which the
	// environments role's state policy grants.
	files := 0
	require.NoError(t, filepath.WalkDir(filepath.Join(w.backendDir, ".pulumi"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".attrs") || !strings.Contains(p, "pr-1") {
			return err
		}
		rel, _ := filepath.Rel(w.backendDir, p)
		files++
		assert.True(t, envname.KeyMatches(envname.StateKeys("envlife-test", "pr-1"), filepath.ToSlash(rel)), "%s is outside envname.StateKeys", rel)
		return nil
	}))
	assert.Positive(t, files)

	list, err := w.workspace().ListStacks(ctx)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "pr-1", list[0].Name, "inside the project: the short name")
	assert.NotEmpty(t, list[0].LastUpdate, "a stack never updated has a lastUpdate")
	assert.False(t, list[0].UpdateInProgress)

	cli := filepath.Join(clitest.ToolsRoot(), "bin", "pulumi")
	outside := t.TempDir()
	run := func(args ...string) ([]byte, error) {
		cmd := exec.Command(cli, args...)
		cmd.Dir = outside
		cmd.Env = os.Environ()
		for k, v := range w.env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		return cmd.CombinedOutput()
	}
	out, err := run("stack", "ls", "--json")
	assert.Error(t, err, "outside a project `stack ls` fails: %s", out)
	out, err = run("stack", "ls", "--all", "--json")
	require.NoError(t, err, "%s", out)
	var all []auto.StackSummary
	require.NoError(t, json.Unmarshal(out, &all), "%s", out)
	require.Len(t, all, 1)
	assert.Equal(t, "organization/envlife-test/pr-1", all[0].Name, "outside the project: fully qualified")
}
