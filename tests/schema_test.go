package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

type schemaKey struct {
	Type        string          `json:"type"`
	Default     json.RawMessage `json:"default"`
	Description string          `json:"description"`
	Items       *struct {
		Type string `json:"type"`
	} `json:"items"`
}

func projectSchema(t *testing.T) map[string]schemaKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	var project struct {
		Name    string               `json:"name"`
		Runtime string               `json:"runtime"`
		Config  map[string]schemaKey `json:"config"`
	}
	require.NoError(t, yaml.Unmarshal(data, &project))
	require.Equal(t, "outside-in", project.Name)
	require.Equal(t, "go", project.Runtime)
	return project.Config
}

// Pulumi.yaml declares every key the program reads, with the same type, and no other key.
func TestPulumiYamlDeclaresEveryKey(t *testing.T) {
	schema := projectSchema(t)
	require.Len(t, schema, len(program.Keys))
	for _, k := range program.Keys {
		decl, ok := schema[program.Namespace+":"+k.Name]
		if !assert.True(t, ok, "Pulumi.yaml does not declare %s", k.Name) {
			continue
		}
		assert.Equal(t, k.Type, decl.Type, k.Name)
		assert.NotEmpty(t, decl.Description, k.Name)
		if decl.Type == "array" {
			assert.NotNil(t, decl.Items, "%s: an array declares its items", k.Name)
		}
	}
}

// The defaults Pulumi.yaml declares (Pulumi's loader applies them before the program runs) are
// the program's own defaults: a stack that sets only the required keys builds the same whether
// the defaults come from Pulumi.yaml or from the program.
func TestPulumiYamlDefaultsAreTheProgramDefaults(t *testing.T) {
	file := filepath.Join(t.TempDir(), "Pulumi.defaults.yaml")
	require.NoError(t, os.WriteFile(file, []byte("config:\n  outside-in:domain: example.com\n  outside-in:adminCidrs: [203.0.113.10/32]\n"), 0o644))
	loaded, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), file)
	require.NoError(t, err)
	require.Greater(t, len(loaded.Config), 40, "the loader applied every declared default")
	got, _, err := program.Parse("outside-in", "defaults", loaded.Config)
	require.NoError(t, err)

	want, _, err := program.Parse("outside-in", "defaults", map[string]string{
		"outside-in:domain": "example.com", "outside-in:adminCidrs": `["203.0.113.10/32"]`})
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// Pulumi.yaml names the oldest CLI that reads it: the CLI the project builds and tests with
// passes, the release before stack tags on a file backend (which cmd/env sets) is refused.
func TestPulumiYamlRequiresACapableCLI(t *testing.T) {
	proj, err := workspace.LoadProject(filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, proj.RequiredPulumiVersion)
	cli := requiredVersion(t, filepath.Join(root, "tools", "pulumi", "go.mod"), "github.com/pulumi/pulumi/pkg/v3")
	assert.NoError(t, plugin.ValidatePulumiVersionRange(proj.RequiredPulumiVersion, cli))
	assert.Error(t, plugin.ValidatePulumiVersionRange(proj.RequiredPulumiVersion, "3.210.0"))
	assert.Error(t, plugin.ValidatePulumiVersionRange(proj.RequiredPulumiVersion, "3.187.0"))
}

// The README's configuration table lists every key.
func TestReadmeListsEveryKey(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	// The first cells of the table rows: "| `nodeMinSize` / `nodeMaxSize` | …".
	documented := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || cells[0] != "" {
			continue
		}
		for _, m := range regexp.MustCompile("`([A-Za-z0-9]+)`").FindAllStringSubmatch(cells[1], -1) {
			documented[m[1]] = true
		}
	}
	for _, k := range program.Keys {
		assert.True(t, documented[k.Name], "README.md has no table row for the key %s", k.Name)
	}
}
