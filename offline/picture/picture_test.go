package picture

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// flowchart is a mermaid flowchart read back: nodes with their labels, edges, subgraph labels.
type flowchart struct {
	nodes     map[string]string
	edges     [][2]string
	subgraphs []string
}

var (
	nodeLine     = regexp.MustCompile(`^([A-Za-z0-9_]+)(?:\["(.*)"\]|\(\["(.*)"\]\))$`)
	edgeLine     = regexp.MustCompile(`^([A-Za-z0-9_]+) (?:-->|-\.->)(?:\|"[^"]*"\|)? ([A-Za-z0-9_]+)$`)
	subgraphLine = regexp.MustCompile(`^subgraph ([A-Za-z0-9_]+)\["(.*)"\]$`)
)

// parse reads the subset of mermaid the package writes, refusing any line it does not know, a
// node declared twice, an unbalanced subgraph and an edge to an undeclared node.
func parse(text string) (*flowchart, error) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if lines[0] != "flowchart LR" {
		return nil, fmt.Errorf("first line %q", lines[0])
	}
	f := &flowchart{nodes: map[string]string{}}
	depth := 0
	for i, raw := range lines[1:] {
		l := strings.TrimSpace(raw)
		switch m := subgraphLine.FindStringSubmatch(l); {
		case m != nil:
			depth++
			f.subgraphs = append(f.subgraphs, m[2])
		case l == "end":
			if depth--; depth < 0 {
				return nil, fmt.Errorf("line %d: end without subgraph", i+2)
			}
		case nodeLine.MatchString(l):
			n := nodeLine.FindStringSubmatch(l)
			if _, dup := f.nodes[n[1]]; dup {
				return nil, fmt.Errorf("line %d: node %s declared twice", i+2, n[1])
			}
			f.nodes[n[1]] = n[2] + n[3]
		case edgeLine.MatchString(l):
			e := edgeLine.FindStringSubmatch(l)
			f.edges = append(f.edges, [2]string{e[1], e[2]})
		default:
			return nil, fmt.Errorf("line %d: not a node, edge or subgraph: %q", i+2, l)
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("%d subgraphs left open", depth)
	}
	for _, e := range f.edges {
		for _, end := range e {
			if _, ok := f.nodes[end]; !ok {
				return nil, fmt.Errorf("edge %s → %s: %s is not declared", e[0], e[1], end)
			}
		}
	}
	return f, nil
}

// reachable is every node a request can reach from the client.
func (f *flowchart) reachable() map[string]bool {
	seen := map[string]bool{"client": true}
	for queue := []string{"client"}; len(queue) > 0; queue = queue[1:] {
		for _, e := range f.edges {
			if e[0] == queue[0] && !seen[e[1]] {
				seen[e[1]] = true
				queue = append(queue, e[1])
			}
		}
	}
	return seen
}

// run plans a shipped stack file; an environment stack's platform (the shipped stack named by
// the last part of platformStack) is planned first, as cmd/plan --platform does.
func run(t *testing.T, file string) *plan.Result {
	t.Helper()
	s, err := plan.LoadStack("../../Pulumi.yaml", file)
	require.NoError(t, err)
	opts := plan.Options{}
	if ref := s.Config[program.Namespace+":"+program.KeyPlatformStack]; ref != "" {
		opts.Platform = run(t, "../../Pulumi."+ref[strings.LastIndex(ref, "/")+1:]+".yaml")
	}
	res, err := plan.Run(s, opts)
	require.NoError(t, err)
	return res
}

func TestParseRefusesBrokenCharts(t *testing.T) {
	for name, text := range map[string]string{
		"undeclared end": "flowchart LR\n  a[\"a\"]\n  a --> b\n",
		"open subgraph":  "flowchart LR\n  subgraph s[\"s\"]\n  a[\"a\"]\n",
		"duplicate":      "flowchart LR\n  a[\"a\"]\n  a[\"b\"]\n",
		"garbage":        "flowchart LR\n  a[\"a\"] --> \n",
		"not flowchart":  "graph TD\n",
	} {
		_, err := parse(text)
		assert.Error(t, err, name)
	}
}

// Every shipped stack draws as a connected request path: every hostname of every Ingress rule,
// every AZ of the plan's subnets, and from the client to each app's pods.
func TestShippedStacksDrawTheirRequestPaths(t *testing.T) {
	files, err := filepath.Glob("../../Pulumi.*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			res := run(t, file)
			text, err := Mermaid(res)
			require.NoError(t, err)
			f, err := parse(text)
			require.NoError(t, err, text)

			var hosts []string
			for _, ing := range res.OfType("kubernetes:networking.k8s.io/v1:Ingress") {
				for _, rule := range list(ing.In("spec", "rules")) {
					hosts = append(hosts, str(rule.(map[string]any)["host"]))
				}
			}
			require.NotEmpty(t, hosts)
			labels := ""
			for _, l := range f.nodes {
				labels += l + "\n"
			}
			for _, h := range hosts {
				assert.Contains(t, labels, h+"<br/>", "a node for host %s", h)
			}
			for _, sn := range res.OfType("aws:ec2/subnet:Subnet") {
				assert.Contains(t, f.subgraphs, str(sn.In("availabilityZone")))
				assert.Contains(t, labels, str(sn.In("cidrBlock")))
			}

			reach := f.reachable()
			pods := 0
			for id := range f.nodes {
				if strings.HasPrefix(id, "pods_") {
					pods++
					assert.True(t, reach[id], "the client reaches %s", id)
				}
				linked := false
				for _, e := range f.edges {
					linked = linked || e[0] == id || e[1] == id
				}
				assert.True(t, linked, "node %s is on some edge", id)
			}
			assert.Len(t, res.OfType("kubernetes:apps/v1:Deployment"), pods, "one pods node per Deployment")
		})
	}
}
