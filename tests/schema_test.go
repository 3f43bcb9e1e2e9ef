package tests

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

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

// The defaults Pulumi.yaml declares (the Pulumi CLI passes them to the program) are the
// program's own defaults: a stack that sets a key to its declared default builds the same as
// one that leaves it out.
func TestPulumiYamlDefaultsAreTheProgramDefaults(t *testing.T) {
	base := map[string]string{program.KeyDomain: "example.com", program.KeyAdminCidrs: `["203.0.113.10/32"]`}
	want, err := program.Parse("outside-in", "dev", base)
	require.NoError(t, err)

	withDefaults := map[string]string{}
	for k, v := range base {
		withDefaults[k] = v
	}
	declared := 0
	for key, decl := range projectSchema(t) {
		name := strings.TrimPrefix(key, program.Namespace+":")
		if decl.Default == nil {
			assert.Equal(t, program.KeyDomain, name, "only domain is required")
			continue
		}
		if _, set := base[name]; set {
			continue
		}
		var s string
		if json.Unmarshal(decl.Default, &s) != nil {
			s = string(decl.Default)
		}
		withDefaults[name] = s
		declared++
	}
	require.Greater(t, declared, 30)
	got, err := program.Parse("outside-in", "dev", withDefaults)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// The README's configuration table lists every key.
func TestReadmeListsEveryKey(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	for _, k := range program.Keys {
		assert.Contains(t, string(readme), "`"+k.Name+"`", "README.md does not document %s", k.Name)
	}
}
