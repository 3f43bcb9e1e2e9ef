package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// writeStack writes a stack file holding the given YAML under config:.
func writeStack(t *testing.T, name, body string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "Pulumi."+name+".yaml")
	require.NoError(t, os.WriteFile(file, []byte(body), 0o600))
	return file
}

// The offline plan reads stack files through Pulumi's own loaders, so it reads YAML as the
// Pulumi CLI does (YAML 1.2 through gopkg.in/yaml.v3), not as a YAML 1.1 library would: `off`
// is the string "off", which a boolean key refuses, where YAML 1.1 would have made it false.
// Each verdict below is what Pulumi v3.274.1's loader and config validation give; the table
// fails if the plan ever reads a stack file differently.
func TestStackFilesReadAsPulumiReadsThem(t *testing.T) {
	cases := []struct {
		key, literal string
		want         string // the value the program receives, or "" when Pulumi refuses the file
		refusedAs    string // the type Pulumi says the key must have
	}{
		{"tls", "off", "", "boolean"},
		{"tls", "on", "", "boolean"},
		{"tls", "yes", "", "boolean"},
		{"tls", "no", "", "boolean"},
		{"tls", "y", "", "boolean"},
		{"tls", "n", "", "boolean"},
		{"tls", "True", "true", ""},
		{"tls", "false", "false", ""},
		{"tls", `"true"`, "true", ""},
		{"azCount", "0777", "511", ""}, // an octal literal, as YAML 1.1 and 1.2 both have it
		{"azCount", "0o3", "3", ""},
		{"azCount", "1_000", "1000", ""},
		{"azCount", "0x3", "3", ""},
		{"azCount", "~", "", "integer"},
		{"azCount", `"3"`, "3", ""},
		{"clusterName", "off", "off", ""},
		{"clusterName", "0777", "511", ""},
		{"clusterName", "~", "", ""},
		{"clusterName", "2024-01-01", "2024-01-01 00:00:00 +0000 UTC", ""},
	}
	for _, c := range cases {
		t.Run(c.key+"="+c.literal, func(t *testing.T) {
			file := writeStack(t, "yaml", fmt.Sprintf("config:\n  outside-in:domain: example.com\n  outside-in:%s: %s\n", c.key, c.literal))
			s, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), file)
			if c.refusedAs != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), file, "the message names the file")
				assert.Contains(t, err.Error(), fmt.Sprintf("must be of type '%s'", c.refusedAs))
				assert.Contains(t, err.Error(), fmt.Sprintf("outside-in:%s = ", c.key), "the message names the key and the value")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, s.Config["outside-in:"+c.key])
		})
	}
}

// A boolean key's YAML 1.1 spelling reaches the user as a message naming the key, the value and
// what to write, with exit status 2 from the plan.
func TestOffIsNotFalse(t *testing.T) {
	file := writeStack(t, "dev", "config:\n  outside-in:domain: example.com\n  outside-in:tls: off\n")
	_, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), file)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `outside-in:tls = "off"`)
	assert.Contains(t, err.Error(), "write true or false")
}

// An empty stack file takes every default, and then lacks the one key with no default that a
// full stack needs.
func TestEmptyStackFile(t *testing.T) {
	s, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), writeStack(t, "empty", ""))
	require.NoError(t, err)
	assert.Equal(t, "eks", s.Config["outside-in:clusterMode"], "defaults applied")
	_, err = plan.Run(s, plan.Options{})
	require.Error(t, err)
	assert.True(t, program.IsConfigError(err))
	assert.Contains(t, err.Error(), `outside-in:domain = "": is required`)
}

// A stack file that is not YAML is refused with its name and the line.
func TestStackFileSyntaxError(t *testing.T) {
	file := writeStack(t, "broken", "config:\n  outside-in:domain: example.com\n   outside-in:tls: [true\n")
	_, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), file)
	require.Error(t, err)
	assert.Contains(t, err.Error(), file)
	assert.Regexp(t, `line \d+`, err.Error())
	assert.NotContains(t, err.Error(), "interface {}", "no Go types in messages")
}

// Keys of other namespaces: the aws provider's are checked against the provider's own list,
// others are warned about, and pulumi: keys are the engine's.
func TestOtherNamespaces(t *testing.T) {
	file := writeStack(t, "ns", "config:\n  outside-in:domain: dev.outside-in.example.com\n  outside-in:adminCidrs: [203.0.113.10/32]\n"+
		"  aws:region: eu-central-1\n  aws:defaultTags:\n    tags:\n      team: web\n  outsidein:tls: false\n  kubernetes:context: x\n  pulumi:disable-default-providers: ['*']\n")
	s, err := plan.LoadStack(filepath.Join(root, "Pulumi.yaml"), file)
	require.NoError(t, err)
	res, err := plan.Run(s, plan.Options{})
	require.NoError(t, err)
	require.Len(t, res.Warnings, 2)
	assert.Contains(t, res.Warnings[0], "kubernetes:context configures the default Kubernetes provider")
	assert.Contains(t, res.Warnings[1], "did you mean outside-in:tls?")
}
