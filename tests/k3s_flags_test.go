package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/cluster"
)

// k3sFlags is tests/testdata/k3s-cli-flags.json: the flags k3s's CLI defines per role, read
// from k3s's source for each Kubernetes minor the program installs.
type k3sFlags struct {
	Note       string `json:"note"`
	Repository string `json:"repository"`
	Lines      map[string]struct {
		Commit           string   `json:"commit"`
		Date             string   `json:"date"`
		Title            string   `json:"title"`
		Kubernetes       string   `json:"kubernetes"`
		KubeletConfigDir string   `json:"kubeletConfigDir"`
		Server           []string `json:"server"`
		Agent            []string `json:"agent"`
	} `json:"lines"`
}

func k3sCLIFlags(t *testing.T) k3sFlags {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "k3s-cli-flags.json"))
	require.NoError(t, err)
	var f k3sFlags
	require.NoError(t, json.Unmarshal(raw, &f))
	require.Equal(t, "k3s-io/k3s", f.Repository)
	for minor, l := range f.Lines {
		require.Len(t, l.Commit, 40, "%s: a full commit of %s", minor, f.Repository)
		require.Contains(t, l.Server, "token-file", "%s: the server's flags were read", minor)
		require.Contains(t, l.Agent, "token-file", "%s: the agent's flags were read", minor)
	}
	return f
}

// undefinedKeys are the keys of k3s config documents that the role's flags do not define, as
// "file: key".
func undefinedKeys(t *testing.T, docs map[string]string, defined []string) []string {
	t.Helper()
	var out []string
	for file, doc := range docs {
		var cfg map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &cfg), file)
		require.NotEmpty(t, cfg, "%s holds keys", file)
		for key := range cfg {
			if !slices.Contains(defined, key) {
				out = append(out, fmt.Sprintf("%s: %s", file, key))
			}
		}
	}
	sort.Strings(out)
	return out
}

// bootDropIns are the config.yaml.d drop-ins the bootstrap writes at boot (the zone label, and
// on a joining node the server it joins), written by the bootstrap's own functions.
func bootDropIns(t *testing.T) map[string]string {
	t.Helper()
	b := newBootstrapShell(t)
	b.stub("curl", "exit 0")
	_, err := b.run(`write_zone_label eu-central-1a && JOIN_SERVERS="10.0.0.10" choose_server`)
	require.NoError(t, err)
	files, err := filepath.Glob(filepath.Join(b.configDir, "config.yaml.d", "*.yaml"))
	require.NoError(t, err)
	require.Len(t, files, 2)
	out := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		out["config.yaml.d/"+filepath.Base(f)] = string(raw)
	}
	return out
}

// Every key a node's k3s reads, in /etc/rancher/k3s/config.yaml and in the drop-ins the
// bootstrap adds, is a flag k3s's own CLI defines for the node's role, in every release the
// program installs: k3s skips an undefined key with a warning only, so a misspelt or
// wrong-role key would silently do nothing. The agents' unique node names (with-node-id) are
// among them.
func TestK3sConfigKeysAreFlagsOfTheRole(t *testing.T) {
	flags := k3sCLIFlags(t)
	boot := bootDropIns(t)
	for _, r := range cluster.K3sReleases {
		t.Run(r.Version, func(t *testing.T) {
			line, ok := flags.Lines[r.KubernetesMinor()]
			require.True(t, ok, "no k3s CLI data for %s in tests/testdata/k3s-cli-flags.json", r.KubernetesMinor())
			res := run(t, with(stack(t, "k3s"), map[string]string{"k3sVersion": r.Version, "k3sServers": "3", "azCount": "3"}))
			servers, agents := userData(t, res)
			require.Len(t, servers, 3)
			for i, s := range servers {
				docs := map[string]string{"config.yaml": s.files["/etc/rancher/k3s/config.yaml"]}
				for k, v := range boot {
					docs[k] = v
				}
				assert.Empty(t, undefinedKeys(t, docs, line.Server),
					"server %d: keys k3s %s does not define for servers (%s %s)", i, r.Version, flags.Repository, line.Commit)
			}
			docs := map[string]string{"config.yaml": agents.files["/etc/rancher/k3s/config.yaml"]}
			for k, v := range boot {
				docs[k] = v
			}
			assert.Empty(t, undefinedKeys(t, docs, line.Agent),
				"agents: keys k3s %s does not define for agents (%s %s)", r.Version, flags.Repository, line.Commit)
			assert.Contains(t, line.Agent, "with-node-id")
			assert.Equal(t, true, agents.k3s["with-node-id"], "each agent registers under a name of its own")
		})
	}
}

// The control: a misspelt key, and a server's key in an agent's config, are refused.
func TestK3sConfigKeyCheckRefusesUndefinedKeys(t *testing.T) {
	flags := k3sCLIFlags(t)
	line := flags.Lines["1.34"]
	docs := map[string]string{"config.yaml": "tls-sans:\n  - api.example.com\ntoken-file: /etc/rancher/k3s/token\n"}
	assert.Equal(t, []string{"config.yaml: tls-sans"}, undefinedKeys(t, docs, line.Server))
	docs = map[string]string{"config.yaml": "disable:\n  - traefik\nwith-node-id: true\n"}
	assert.Equal(t, []string{"config.yaml: disable"}, undefinedKeys(t, docs, line.Agent))
	assert.Empty(t, undefinedKeys(t, docs, line.Server), "servers define both")
}
