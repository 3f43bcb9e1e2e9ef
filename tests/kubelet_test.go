package tests

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/cluster"
)

// kubeletCheck runs kubelet-check (the kubelet's own flag set, config scheme and validation,
// built into .tools/bin by scripts/install-kube-tools.sh) on kubelet arguments and a drop-in
// directory, as k3s starts the kubelet. It returns the effective KubeletConfiguration on
// success, or the kubelet's error.
func kubeletCheck(t *testing.T, dropins string, args []string) (map[string]any, error) {
	t.Helper()
	bin := filepath.Join(root, ".tools", "bin", "kubelet-check")
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("OUTSIDE_IN_SKIP_TOOLS") == "1" {
			t.Skip("kubelet-check is not built and OUTSIDE_IN_SKIP_TOOLS=1")
		}
		t.Fatalf("kubelet-check is not built: run scripts/install-kube-tools.sh")
	}
	cmdArgs := []string{}
	if dropins != "" {
		cmdArgs = append(cmdArgs, "--dropin-dir", dropins)
	}
	cmd := exec.Command(bin, append(append(cmdArgs, "--"), args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &cfg), "kubelet-check's output:\n%s", stdout.String())
	return cfg, nil
}

// kubeletArgs are a node's kubelet-arg values as k3s passes them to the kubelet: each one a
// flag, "--" and the value.
func kubeletArgs(t *testing.T, c cloudConfig) []string {
	t.Helper()
	var out []string
	if v, ok := c.k3s["kubelet-arg"]; ok {
		for _, a := range list(t, v) {
			out = append(out, "--"+text(t, a))
		}
	}
	return out
}

// kubeletDropIns writes the KubeletConfiguration drop-ins a node's cloud-config puts in k3s's
// kubelet config directory into dir, as the kubelet would find them, and returns their names.
// k3s's own 00-k3s-defaults.conf is there too on a node: a stand-in with the two fields that
// matter here, as k3s writes them (its defaults set no graceful shutdown, so both are 0s).
func kubeletDropIns(t *testing.T, c cloudConfig, dir string) []string {
	t.Helper()
	var names []string
	for p, content := range c.files {
		if path.Dir(p) != cluster.KubeletConfigDir {
			continue
		}
		assert.True(t, strings.HasSuffix(p, ".conf"), "%s: the kubelet reads only *.conf drop-ins", p)
		require.NoError(t, os.WriteFile(filepath.Join(dir, path.Base(p)), []byte(content), 0o600))
		names = append(names, path.Base(p))
	}
	defaults := "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" +
		"shutdownGracePeriod: 0s\nshutdownGracePeriodCriticalPods: 0s\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "00-k3s-defaults.conf"), []byte(defaults), 0o600))
	return names
}

// The kubelet an agent starts takes every kubelet-arg and every drop-in the user data gives it
// (its own flag parser, strict config decoding and validation say so), and ends up shutting
// down gracefully: 60 s, 20 s of them for critical pods, over k3s's defaults. The drop-ins go
// where k3s points the kubelet's --config-dir, read from k3s's source for every release the
// program installs.
func TestKubeletTakesTheAgentsArgumentsAndDropIns(t *testing.T) {
	flags := k3sCLIFlags(t)
	for _, r := range cluster.K3sReleases {
		t.Run(r.Version, func(t *testing.T) {
			line, ok := flags.Lines[r.KubernetesMinor()]
			require.True(t, ok, "no k3s CLI data for %s in tests/testdata/k3s-cli-flags.json", r.KubernetesMinor())
			assert.Equal(t, line.KubeletConfigDir, cluster.KubeletConfigDir, "k3s %s passes the kubelet another --config-dir", r.Version)

			_, agents := userData(t, run(t, with(stack(t, "k3s"), map[string]string{"k3sVersion": r.Version})))
			dir := t.TempDir()
			names := kubeletDropIns(t, agents, dir)
			cfg, err := kubeletCheck(t, dir, kubeletArgs(t, agents))
			require.NoError(t, err, "the kubelet refuses the agents' configuration")
			require.NotEmpty(t, names, "the agents' user data writes a kubelet drop-in")
			for _, n := range names {
				assert.Greater(t, n, "20-cli-config-dir", "%s sorts after every drop-in k3s writes, so it wins", n)
			}
			assert.Equal(t, "1m0s", cfg["shutdownGracePeriod"])
			assert.Equal(t, "20s", cfg["shutdownGracePeriodCriticalPods"])
		})
	}
}

// The controls: the kubelet refuses configuration fields passed as flags (what agents were
// once given as kubelet-arg, which kept k3s restarting), and a drop-in with a misspelt field.
func TestKubeletCheckRefusesWhatTheKubeletRefuses(t *testing.T) {
	_, err := kubeletCheck(t, "", []string{"--shutdown-grace-period=60s", "--shutdown-grace-period-critical-pods=20s"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unknown flag: --shutdown-grace-period")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "50-typo.conf"),
		[]byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nshutdownGracePeriods: 60s\n"), 0o600))
	_, err = kubeletCheck(t, dir, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown field "shutdownGracePeriods"`)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "50-typo.conf"),
		[]byte("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nshutdownGracePeriod: 10s\nshutdownGracePeriodCriticalPods: 20s\n"), 0o600))
	_, err = kubeletCheck(t, dir, nil)
	require.Error(t, err, "critical pods cannot have longer than the whole shutdown")
	assert.Contains(t, err.Error(), "shutdownGracePeriodCriticalPods")
}
