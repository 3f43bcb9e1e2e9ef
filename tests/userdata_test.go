package tests

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/offline/plan"
)

// tool finds a command the user-data checks run, failing with how to install it.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("OUTSIDE_IN_SKIP_TOOLS") == "1" {
			t.Skipf("%s is not installed and OUTSIDE_IN_SKIP_TOOLS=1", name)
		}
		t.Fatalf("%s is not installed: run scripts/install-tools.sh (Debian: apt-get install %s)", name, name)
	}
	return path
}

// cloudConfig is a node's rendered user data, and the files it writes.
type cloudConfig struct {
	raw   string
	files map[string]string
	k3s   map[string]any
}

func parseCloudConfig(t *testing.T, raw string) cloudConfig {
	t.Helper()
	require.True(t, strings.HasPrefix(raw, "#cloud-config\n"))
	var doc struct {
		WriteFiles []struct {
			Path, Content, Permissions string
		} `json:"write_files"`
		RunCmd [][]string `json:"runcmd"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(raw), &doc))
	c := cloudConfig{raw: raw, files: map[string]string{}}
	for _, f := range doc.WriteFiles {
		c.files[f.Path] = f.Content
	}
	require.Equal(t, [][]string{{"/usr/local/sbin/outside-in-k3s-bootstrap"}}, doc.RunCmd, "cloud-init runs the bootstrap, nothing else")
	require.NoError(t, yaml.Unmarshal([]byte(c.files["/etc/rancher/k3s/config.yaml"]), &c.k3s))
	return c
}

// userData is every node's user data as the plan registers it: each server's, and the agents'
// launch template's (base64, as EC2 takes it).
func userData(t *testing.T, res *plan.Result) (servers []cloudConfig, agents cloudConfig) {
	t.Helper()
	for _, s := range res.OfType("aws:ec2/instance:Instance") {
		if !strings.HasPrefix(s.Name, "cluster-server-") {
			continue
		}
		servers = append(servers, parseCloudConfig(t, text(t, s.In("userData"))))
	}
	lt := res.Named("aws:ec2/launchTemplate:LaunchTemplate", "cluster-agent-lt")
	require.NotNil(t, lt)
	raw, err := base64.StdEncoding.DecodeString(text(t, lt.In("userData")))
	require.NoError(t, err)
	return servers, parseCloudConfig(t, string(raw))
}

// Every node's user data is a cloud-config that cloud-init's own schema accepts, and every
// shell file in it passes shellcheck.
func TestUserDataPassesCloudInitAndShellcheck(t *testing.T) {
	cloudInit, shellcheck := tool(t, "cloud-init"), tool(t, "shellcheck")
	three := with(stack(t, "k3s"), map[string]string{"k3sServers": "3", "azCount": "3"})
	for _, s := range []plan.Stack{stack(t, "k3s"), three} {
		servers, agents := userData(t, run(t, s))
		for i, c := range append(servers, agents) {
			dir := t.TempDir()
			file := filepath.Join(dir, "user-data")
			require.NoError(t, os.WriteFile(file, []byte(c.raw), 0o600))
			out, err := exec.Command(cloudInit, "schema", "--config-file", file).CombinedOutput()
			require.NoError(t, err, "node %d: cloud-init schema:\n%s", i, out)
			assert.Contains(t, string(out), "Valid cloud-config")

			script := filepath.Join(dir, "bootstrap.sh")
			require.NoError(t, os.WriteFile(script, []byte(c.files["/usr/local/sbin/outside-in-k3s-bootstrap"]), 0o600))
			env := filepath.Join(dir, "k3s.env")
			require.NoError(t, os.WriteFile(env, []byte(c.files["/etc/outside-in/k3s.env"]), 0o600))
			out, err = exec.Command(shellcheck, "--shell=bash", "--severity=style", script).CombinedOutput()
			assert.NoError(t, err, "node %d: shellcheck of the bootstrap:\n%s", i, out)
			// The settings file is sourced by the bootstrap, so its variables are used there.
			out, err = exec.Command(shellcheck, "--shell=bash", "--severity=style", "--exclude=SC2034", env).CombinedOutput()
			assert.NoError(t, err, "node %d: shellcheck of the settings:\n%s", i, out)
		}
	}
}

// The NAT instance's user data passes the same checks, and configures what a NAT needs.
func TestNatInstanceUserData(t *testing.T) {
	cloudInit, shellcheck := tool(t, "cloud-init"), tool(t, "shellcheck")
	res := run(t, stack(t, "k3s"))
	nat := res.Named("aws:ec2/instance:Instance", "network-nat-instance")
	require.NotNil(t, nat)
	raw := text(t, nat.In("userData"))
	dir := t.TempDir()
	file := filepath.Join(dir, "user-data")
	require.NoError(t, os.WriteFile(file, []byte(raw), 0o600))
	out, err := exec.Command(cloudInit, "schema", "--config-file", file).CombinedOutput()
	require.NoError(t, err, "cloud-init schema:\n%s", out)
	var doc struct {
		WriteFiles []struct{ Path, Content string } `json:"write_files"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(raw), &doc))
	require.Len(t, doc.WriteFiles, 1)
	script := filepath.Join(dir, "nat.sh")
	require.NoError(t, os.WriteFile(script, []byte(doc.WriteFiles[0].Content), 0o600))
	out, err = exec.Command(shellcheck, "--shell=bash", "--severity=style", script).CombinedOutput()
	assert.NoError(t, err, "shellcheck:\n%s", out)
	assert.Contains(t, doc.WriteFiles[0].Content, "net.ipv4.ip_forward = 1")
	assert.Contains(t, doc.WriteFiles[0].Content, "-j MASQUERADE")
	golden(t, "k3s.nat-instance.cloud-config.yaml", []byte(raw))
}

// The controls: the same checks reject broken user data, so their passing means something.
func TestUserDataChecksRejectBrokenInput(t *testing.T) {
	cloudInit, shellcheck := tool(t, "cloud-init"), tool(t, "shellcheck")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad-user-data")
	require.NoError(t, os.WriteFile(bad, []byte("#cloud-config\nwrite_files:\n  - path: 7\n    permissions: [1]\n"), 0o600))
	out, err := exec.Command(cloudInit, "schema", "--config-file", bad).CombinedOutput()
	assert.Error(t, err, "cloud-init accepted a broken cloud-config:\n%s", out)

	script := filepath.Join(dir, "bad.sh")
	require.NoError(t, os.WriteFile(script, []byte("#!/bin/bash\nfor f in $(ls *.crt); do cat $f; done\n"), 0o600))
	out, err = exec.Command(shellcheck, "--shell=bash", script).CombinedOutput()
	assert.Error(t, err, "shellcheck accepted a broken script:\n%s", out)
}

// What each node is told: servers disable k3s's own ingress controller and load balancer, serve
// the API under the load balancer's name, keep workloads off, and only the first of three
// starts etcd; agents join the first server; every node verifies the binary of its
// architecture against the pinned checksum.
func TestUserDataSaysWhatTheClusterNeeds(t *testing.T) {
	res := run(t, with(stack(t, "k3s"), map[string]string{"k3sServers": "3", "azCount": "3"}))
	servers, agents := userData(t, res)
	require.Len(t, servers, 3)
	api := text(t, named(t, res, "aws:lb/loadBalancer:LoadBalancer", "cluster-api").Out("dnsName"))
	release, ok := cluster.K3sReleaseOf(cluster.DefaultK3sVersion)
	require.True(t, ok)

	var addresses []string
	for _, s := range k3sServers(res) {
		addresses = append(addresses, text(t, s.In("privateIp")))
	}
	require.Len(t, addresses, 3)
	for i, s := range servers {
		assert.Equal(t, []any{"traefik", "servicelb"}, s.k3s["disable"], "the stack owns the controller and every load balancer")
		assert.Contains(t, s.k3s["tls-san"], api, "the API's certificate names its load balancer")
		assert.Equal(t, []any{"CriticalAddonsOnly=true:NoExecute"}, s.k3s["node-taint"])
		assert.Equal(t, true, s.k3s["secrets-encryption"])
		assert.Nil(t, s.k3s["server"], "the join address is chosen at boot")
		assert.Nil(t, s.k3s["with-node-id"], "a server keeps its name: its replacement takes over its node")
		if i == 0 {
			assert.Equal(t, true, s.k3s["cluster-init"], "the first server starts embedded etcd")
			assert.NotContains(t, s.files["/etc/outside-in/k3s.env"], "JOIN_SERVERS", "the first server joins none")
		} else {
			assert.Nil(t, s.k3s["cluster-init"])
			var others []string
			for j, a := range addresses {
				if j != i {
					others = append(others, a)
				}
			}
			assert.Contains(t, s.files["/etc/outside-in/k3s.env"], `JOIN_SERVERS="`+strings.Join(others, " ")+`"`,
				"server %d joins any other server, the first first", i)
		}
		assert.Contains(t, s.files["/etc/outside-in/k3s.env"], `K3S_SHA256="`+release.SHA256[cluster.ArchArm64]+`"`)
		assert.Contains(t, s.files["/etc/outside-in/k3s.env"], `K3S_BINARY_URL="`+release.BinaryURL(cluster.ArchArm64)+`"`)
		assert.NotContains(t, s.raw, "PRIVATE KEY", "no key in user data")
		assert.NotContains(t, s.raw, "K10", "no token in user data")
	}
	assert.Nil(t, agents.k3s["server"], "the join address is chosen at boot")
	assert.Contains(t, agents.files["/etc/outside-in/k3s.env"], `JOIN_SERVERS="`+strings.Join(addresses, " ")+`"`, "agents join any server")
	assert.Nil(t, agents.k3s["kubelet-arg"], "kubelet settings are a KubeletConfiguration drop-in, not flags")
	assert.Equal(t, cluster.KubeletShutdown(), agents.files[cluster.KubeletConfigDir+"/50-outside-in-shutdown.conf"],
		"an agent stopped by EC2 stops its pods, so they start elsewhere at once")
	assert.Equal(t, true, agents.k3s["with-node-id"], "each agent registers under a name of its own")
	assert.Equal(t, "/etc/rancher/k3s/token", agents.k3s["token-file"])
	assert.Nil(t, agents.k3s["disable"], "agents take no server flags")
	assert.Contains(t, agents.files["/etc/outside-in/k3s.env"], `ROLE="agent"`)
	assert.NotContains(t, agents.files["/etc/outside-in/k3s.env"], "CA_FILES", "agents get no CA")
	script := agents.files["/usr/local/sbin/outside-in-k3s-bootstrap"]
	assert.Equal(t, cluster.BootstrapScript, script)
	assert.Contains(t, script, `sha256sum -c -`, "the binary is verified before it runs")
	assert.NotRegexp(t, `\|\s*(ba)?sh\b`, script, "no piped install script")
}

// The user data of the shipped k3s stack is a golden file, so a change shows in review.
func TestUserDataGolden(t *testing.T) {
	servers, agents := userData(t, run(t, stack(t, "k3s")))
	require.Len(t, servers, 1)
	golden(t, "k3s.server-0.cloud-config.yaml", []byte(servers[0].raw))
	golden(t, "k3s.agent.cloud-config.yaml", []byte(agents.raw))
}
