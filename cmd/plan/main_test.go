package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/tests"
)

func plan_(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestDefaultPrintsTheDevTreeAndPaths(t *testing.T) {
	code, out, errOut := plan_(t)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `Offline plan of stack "dev"`)
	assert.Contains(t, out, "├─ outside-in:network:Vpc  network")
	// The control plane sits under the Cluster component in the tree.
	assert.Regexp(t, `├─ outside-in:cluster:Cluster  cluster\n(│  [├└]─ .*\n)*│  [├└]─ aws:eks/cluster:Cluster  cluster-eks  outside-in-dev\n`, out)
	assert.Contains(t, out, "web.dev.outside-in.example.com\n  1. Route 53")
	assert.Contains(t, out, "dead node out of rotation in ≤ 13 s")
	// The tree ends with the estimate: what the stack costs and how long its first deploy takes.
	assert.Regexp(t, `\ncost: \$0\.\d+/h \(\$\d+ per 30-day month\) in eu-central-1 `, out)
	assert.Regexp(t, `\nfirst deploy: ~\d+ min: eks cluster cluster-eks [\d.]+ → .*node group cluster-nodes`, out)
	assert.NotContains(t, out, "unpriced", "the dev stack is fully priced")
}

func TestFormats(t *testing.T) {
	code, out, errOut := plan_(t, "--format", "json")
	require.Equal(t, 0, code, errOut)
	var d plan.Deployment
	require.NoError(t, json.Unmarshal([]byte(out), &d))
	require.Equal(t, 3, d.Version)
	require.NotEmpty(t, d.Deployment.Resources)
	assert.Equal(t, "pulumi:pulumi:Stack", d.Deployment.Resources[0].Type)

	code, out, errOut = plan_(t, "--format", "yaml")
	require.Equal(t, 0, code, errOut)
	docs := strings.Split(out, "\n---\n")
	require.Greater(t, len(docs), 5)
	var first map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(docs[1]), &first))
	// What objects in namespaces need comes first: their PriorityClasses, then namespaces.
	assert.Equal(t, "PriorityClass", first["kind"])
	assert.Contains(t, out, "Helm at deploy time")

	code, out, errOut = plan_(t, "--format", "estimate")
	require.Equal(t, 0, code, errOut)
	var est struct {
		Currency     string  `json:"currency"`
		HourlyUSD    float64 `json:"hourlyUSD"`
		MonthlyUSD   float64 `json:"monthlyUSD"`
		Items        []struct{ URN, Type, Basis string }
		Unpriced     []any `json:"unpriced"`
		CriticalPath struct {
			Minutes float64
			Steps   []struct{ URN, Type string }
		} `json:"criticalPath"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &est))
	assert.Equal(t, "USD", est.Currency)
	assert.Greater(t, est.HourlyUSD, 0.0)
	assert.InDelta(t, est.HourlyUSD*720, est.MonthlyUSD, 0.5, "a month is 720 hours")
	require.NotEmpty(t, est.Items)
	assert.NotEmpty(t, est.Items[0].URN)
	assert.NotEmpty(t, est.Items[0].Basis)
	assert.Empty(t, est.Unpriced)
	require.NotEmpty(t, est.CriticalPath.Steps)
	var order []string
	for _, step := range est.CriticalPath.Steps {
		switch step.Type {
		case "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "kubernetes:helm.sh/v3:Release":
			order = append(order, step.Type)
		}
	}
	assert.Equal(t, []string{"aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "kubernetes:helm.sh/v3:Release"}, order,
		"the dev stack's first deploy waits on the cluster, then the node group, then the controller")

	code, out, errOut = plan_(t, "--format", "mermaid")
	require.Equal(t, 0, code, errOut)
	assert.True(t, strings.HasPrefix(out, "flowchart LR\n"), out)
	assert.Contains(t, out, `["web.dev.outside-in.example.com`)

	code, out, errOut = plan_(t, "--stack", "prod", "--preview")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, `stack "prod"`)
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"--format", "xml"}, {"--nope"}, {"extra"}, {"--stack", "missing"}} {
		code, _, errOut := plan_(t, args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.NotEmpty(t, errOut)
	}
}

// Every bad configuration, written into a stack file, exits 2 with the validation message,
// never a panic. A value of the wrong type for its declared key is refused by Pulumi's own
// loader first, as the Pulumi CLI refuses it.
func TestBadConfigExits2(t *testing.T) {
	raw, err := os.ReadFile("../../Pulumi.dev.yaml")
	require.NoError(t, err)
	var dev struct {
		Config map[string]any `json:"config"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &dev))
	for _, c := range tests.BadConfigs {
		if c.NoZone {
			continue // the file format has no way to say the account has no zone
		}
		t.Run(c.Name, func(t *testing.T) {
			cfg := map[string]any{}
			for k, v := range dev.Config {
				cfg[k] = v
			}
			for k, v := range c.Set {
				cfg["outside-in:"+k] = asWritten(v)
			}
			for k, v := range c.SetOther {
				cfg[k] = asWritten(v)
			}
			for _, k := range c.Unset {
				delete(cfg, "outside-in:"+k)
			}
			file := filepath.Join(t.TempDir(), "Pulumi.dev.yaml")
			data, err := yaml.Marshal(map[string]any{"config": cfg})
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(file, data, 0o600))

			code, out, errOut := plan_(t, "--config", file)
			assert.Equal(t, 2, code)
			assert.Empty(t, out)
			assert.Contains(t, errOut, c.Message())
			if c.PulumiType != "" {
				assert.Contains(t, errOut, fmt.Sprintf("must be of type '%s'", c.PulumiType), "Pulumi's loader refuses it first")
			} else {
				assert.Contains(t, errOut, c.Want)
			}
			assert.NotContains(t, errOut, "goroutine")
		})
	}
}

// asWritten is a configuration value as a stack file holds it: JSON lists and maps as YAML
// structure, anything else as the scalar it is.
func asWritten(v string) any {
	if strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{") {
		var out any
		if json.Unmarshal([]byte(v), &out) == nil {
			return out
		}
	}
	return v
}

// The README shows what the plan prints: the dev stack's mermaid picture, its cost and
// first-deploy lines, and each shipped stack's figures in the cost table.
func TestReadmeShowsWhatThePlanPrints(t *testing.T) {
	// The figures are of the day they were taken; a later day may add a warning (an EKS version
	// nearing the end of standard support) or the extended-support price.
	defer func(n func() time.Time) { now = n }(now)
	now = func() time.Time { return time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC) }
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	readme := string(raw)

	code, chart, errOut := plan_(t, "--format", "mermaid")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, readme, "```mermaid\n"+chart+"```\n", "README's picture of dev is not what --format mermaid prints")

	cost := regexp.MustCompile(`(?m)^cost: \$(\d+\.?\d*)/h(?: \(\$(\d+) per 30-day month\))?.*$`)
	deploy := regexp.MustCompile(`(?m)^first deploy: ~(\d+) min.*$`)
	stacks := map[string][]string{
		"dev": nil, "prod": nil, "platform": nil, "seed002": nil, "k3s": nil, "baremetal": nil,
		"pr-17": {"--config", "../../Pulumi.pr-17.yaml", "--platform", "../../Pulumi.platform.yaml"},
	}
	for name, args := range stacks {
		if args == nil {
			args = []string{"--stack", name}
		}
		code, out, errOut := plan_(t, args...)
		require.Equal(t, 0, code, errOut)
		c, d := cost.FindStringSubmatch(out), deploy.FindStringSubmatch(out)
		require.NotNil(t, c, "%s: no cost line", name)
		require.NotNil(t, d, "%s: no first-deploy line", name)
		if name == "dev" {
			assert.Contains(t, readme, "```\n"+c[0]+"\n"+d[0]+"\n```", "README's dev summary lines")
		}
		month := c[2]
		if month == "" {
			month = "0"
		}
		row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(name) + "` \\| [^|]+ \\| \\$([0-9.]+) \\| \\$([0-9]+) \\| ~([0-9]+) min \\|")
		m := row.FindStringSubmatch(readme)
		if assert.NotNil(t, m, "README's cost table has no row for %s", name) {
			assert.Equal(t, []string{c[1], month, d[1]}, m[1:], "%s: README's per hour, per month, first deploy", name)
		}
	}
}

// What the program warns about reaches the user, as `pulumi preview` shows it: a key in a
// namespace nothing reads, with the key it was probably meant to be; and a YAML syntax error
// exits 2, naming the file and line.
func TestWarningsAndSyntaxErrors(t *testing.T) {
	raw, err := os.ReadFile("../../Pulumi.dev.yaml")
	require.NoError(t, err)
	dir := t.TempDir()
	file := filepath.Join(dir, "Pulumi.dev.yaml")
	require.NoError(t, os.WriteFile(file, append(raw, []byte("  outsidein:tls: \"false\"\n")...), 0o644))
	code, out, errOut := plan_(t, "--config", file)
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "Request paths")
	assert.Contains(t, errOut, "plan: warning: outsidein:tls")
	assert.Contains(t, errOut, "did you mean outside-in:tls?")

	require.NoError(t, os.WriteFile(file, []byte("config:\n  aws:region: eu-central-1\n  outside-in:apps: [\n"), 0o644))
	code, out, errOut = plan_(t, "--config", file)
	assert.Equal(t, 2, code)
	assert.Empty(t, out)
	assert.Contains(t, errOut, file)
	assert.Regexp(t, `line \d`, errOut)
}

// `plan diff` pairs two directories of plans by stack: a stack on one side only is all added
// (no plan at the base) or all removed; usage errors exit 2.
func TestDiffCommand(t *testing.T) {
	code, devJSON, errOut := plan_(t, "--format", "json")
	require.Equal(t, 0, code, errOut)
	base, head := t.TempDir(), t.TempDir()
	write := func(dir, name, content string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600))
	}
	write(base, "dev.json", devJSON)
	write(head, "dev.json", strings.Replace(devJSON, `"cidrBlock": "10.0.0.0/16"`, `"cidrBlock": "10.9.0.0/16"`, 1))
	write(head, "new.json", devJSON)
	write(base, "old.json", devJSON)

	code, out, errOut := plan_(t, "diff", base, head)
	require.Equal(t, 0, code, errOut)
	t.Log("\n" + out)
	assert.Contains(t, out, "#### `dev`: 1 replaced\n")
	assert.Contains(t, out, "- `aws:ec2/vpc:Vpc` `network-vpc`\n  - `cidrBlock` ⚠: `10.0.0.0/16` → `10.9.0.0/16`\n")
	assert.Regexp(t, "#### `new`: \\d+ added\n\nNo plan at the base", out)
	assert.Regexp(t, "#### `old`: \\d+ removed\n\nThe stack file is gone at the head", out)

	code, out, errOut = plan_(t, "diff", filepath.Join(base, "dev.json"), filepath.Join(base, "dev.json"))
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "No changes: the offline plan of every stack is the same at the base and at the head (`dev`).\n", out)

	for _, args := range [][]string{{"diff"}, {"diff", base}, {"diff", base, filepath.Join(base, "dev.json")}, {"diff", base, filepath.Join(base, "missing")}} {
		code, _, errOut := plan_(t, args...)
		assert.Equal(t, 2, code, "%v", args)
		assert.NotEmpty(t, errOut)
	}
}
