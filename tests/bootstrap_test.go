package tests

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/network"
)

// bootstrapShell runs the k3s bootstrap's functions in bash, with stand-ins for the commands
// it calls and every path it writes under a temporary directory.
type bootstrapShell struct {
	t                                 *testing.T
	bin, script, log                  string
	configDir, k3sDir, nodeDir, fstab string
}

func newBootstrapShell(t *testing.T) *bootstrapShell {
	t.Helper()
	dir := t.TempDir()
	b := &bootstrapShell{t: t, bin: filepath.Join(dir, "bin"), script: filepath.Join(dir, "bootstrap.sh"),
		log: filepath.Join(dir, "commands.log"), configDir: filepath.Join(dir, "etc", "rancher", "k3s"),
		k3sDir: filepath.Join(dir, "var", "lib", "rancher", "k3s"), nodeDir: filepath.Join(dir, "etc", "rancher", "node"),
		fstab: filepath.Join(dir, "etc", "fstab")}
	require.NoError(t, os.Mkdir(b.bin, 0o755))
	require.NoError(t, os.WriteFile(b.script, []byte(cluster.BootstrapScript), 0o755))
	return b
}

// stub puts a stand-in for a command on the PATH; LOG names a file it may append to.
func (b *bootstrapShell) stub(name, body string) {
	b.t.Helper()
	require.NoError(b.t, os.WriteFile(filepath.Join(b.bin, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755))
}

// run sources the bootstrap (which only defines its functions) and runs body; env overrides
// the settings.
func (b *bootstrapShell) run(body string, env ...string) (string, error) {
	b.t.Helper()
	cmd := exec.Command("bash", "-c", "source "+b.script+"; "+body)
	cmd.Env = append(append(os.Environ(), "PATH="+b.bin+":"+os.Getenv("PATH"), "LOG="+b.log,
		"CONFIG_DIR="+b.configDir, "K3S_DIR="+b.k3sDir, "NODE_DIR="+b.nodeDir, "FSTAB="+b.fstab,
		"RETRY_DELAY=0", "AWS_REGION=eu-central-1", "PARAMETER_PREFIX=/outside-in-k3s/k3s/server"), env...)
	out, err := cmd.Output()
	return string(out), err
}

// The bootstrap's functions, run by bash with stand-ins for aws and curl. A failed or empty
// Parameter Store read fails, so the retry tries again and no empty token or CA file is ever
// written; a joining node joins the first server that answers, whichever that is.
func TestBootstrapFunctions(t *testing.T) {
	b := newBootstrapShell(t)
	token := filepath.Join(t.TempDir(), "token")

	b.stub("aws", "exit 255")
	_, err := b.run("parameter server/token")
	assert.Error(t, err, "Parameter Store did not answer")
	_, err = b.run("RETRY_ATTEMPTS=3 write_parameter server/token " + token)
	assert.Error(t, err)
	assert.NoFileExists(t, token, "no token file from a failed read")

	b.stub("aws", "echo")
	_, err = b.run("parameter server/token")
	assert.Error(t, err, "an empty value is a failure")

	b.stub("aws", `[ "$*" = "ssm get-parameter --region eu-central-1 --with-decryption --name /outside-in-k3s/k3s/server/server/token --query Parameter.Value --output text" ] || exit 2; echo K10abc::server:secret`)
	_, err = b.run("write_parameter server/token " + token)
	require.NoError(t, err)
	got, err := os.ReadFile(token)
	require.NoError(t, err)
	assert.Equal(t, "K10abc::server:secret\n", string(got))
	info, err := os.Stat(token)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// Only the second server answers: the node joins through it.
	b.stub("curl", `for a in "$@"; do case "$a" in https://10.0.16.10:6443/cacerts) exit 0 ;; esac; done; exit 7`)
	_, err = b.run(`JOIN_SERVERS="10.0.0.10 10.0.16.10 10.0.32.10" choose_server`)
	require.NoError(t, err)
	join, err := os.ReadFile(filepath.Join(b.configDir, "config.yaml.d", "20-join.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "server: \"https://10.0.16.10:6443\"\n", string(join))
	_, err = b.run(`JOIN_SERVERS="10.0.0.10 10.0.32.10" RETRY_ATTEMPTS=2 retry choose_server`)
	assert.Error(t, err, "no server answers")
}

// unitSection is a section of a systemd unit: its Key=value lines.
func unitSection(unit, section string) []string {
	var out []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			in = line == "["+section+"]"
			continue
		}
		if in && line != "" {
			out = append(out, line)
		}
	}
	return out
}

// A server's data volume is mounted, by label, on k3s's server directory (formatted only when
// it holds no file system), and the k3s unit requires that mount, so k3s never starts a new,
// empty cluster on the root volume when the volume is late or missing. Agents have no such
// volume and no such requirement.
func TestServerDataVolumeIsMountedBeforeK3s(t *testing.T) {
	b := newBootstrapShell(t)
	out, err := b.run(`unset K3S_DIR; source ` + b.script + `; echo "$K3S_DIR/server"`)
	require.NoError(t, err)
	assert.Equal(t, cluster.ServerDataMount+"\n", out, "the bootstrap mounts the volume where the unit expects it")

	b.stub("blkid", "exit 2")
	b.stub("mkfs.xfs", `echo "mkfs.xfs $*" >>"$LOG"`)
	b.stub("mountpoint", "exit 1")
	b.stub("mount", `echo "mount $*" >>"$LOG"`)
	require.NoError(t, os.MkdirAll(filepath.Dir(b.fstab), 0o755))
	// The device wait is EC2's attachment; the rest is what this test is about.
	mount := `wait_for_device() { :; }; DATA_DEVICE=/dev/sdf mount_data`
	_, err = b.run(mount)
	require.NoError(t, err)
	commands, err := os.ReadFile(b.log)
	require.NoError(t, err)
	assert.Equal(t, "mkfs.xfs -L k3s-data /dev/sdf\nmount "+b.k3sDir+"/server\n", string(commands), "a new volume is formatted")

	// The replacement finds the volume's file system, and the fstab entry already there.
	b.stub("blkid", "exit 0")
	require.NoError(t, os.Remove(b.log))
	_, err = b.run(mount)
	require.NoError(t, err)
	commands, err = os.ReadFile(b.log)
	require.NoError(t, err)
	assert.Equal(t, "mount "+b.k3sDir+"/server\n", string(commands), "a volume with a file system is never formatted")
	fstab, err := os.ReadFile(b.fstab)
	require.NoError(t, err)
	assert.Equal(t, "LABEL=k3s-data "+b.k3sDir+"/server xfs defaults,nofail 0 2\n", string(fstab), "one entry, however often it runs")

	servers, agents := userData(t, run(t, with(stack(t, "k3s"), map[string]string{"k3sServers": "3", "azCount": "3"})))
	require.Len(t, servers, 3)
	for i, s := range servers {
		unit := unitSection(s.files["/etc/systemd/system/k3s.service"], "Unit")
		assert.Contains(t, unit, "RequiresMountsFor="+cluster.ServerDataMount, "server %d", i)
	}
	for _, l := range unitSection(agents.files["/etc/systemd/system/k3s.service"], "Unit") {
		assert.NotContains(t, l, "RequiresMountsFor", "agents have no data volume")
	}
}

// A server keeps its k3s node identity (/etc/rancher/node, its node password) on its data
// volume, so a replacement that registers under the same name brings the password k3s knows;
// an identity k3s made on the root volume before is kept, unless the volume has one.
func TestServerNodeIdentityLivesOnTheDataVolume(t *testing.T) {
	b := newBootstrapShell(t)
	kept := filepath.Join(b.k3sDir, "server", "etc-rancher-node")

	_, err := b.run(`keep_node_identity && echo first-password >"$NODE_DIR/password"`)
	require.NoError(t, err)
	got, err := os.ReadFile(filepath.Join(kept, "password"))
	require.NoError(t, err, "the password k3s writes lands on the volume")
	assert.Equal(t, "first-password\n", string(got))
	info, err := os.Stat(kept)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm())

	// The replacement: a fresh root volume, the same data volume.
	replacement := filepath.Join(t.TempDir(), "etc", "rancher", "node")
	_, err = b.run(`keep_node_identity`, "NODE_DIR="+replacement)
	require.NoError(t, err)
	got, err = os.ReadFile(filepath.Join(replacement, "password"))
	require.NoError(t, err)
	assert.Equal(t, "first-password\n", string(got), "the replaced server presents the password k3s registered")

	// k3s ran on this root volume before: its identity moves to an empty volume, but never
	// over the one the volume holds.
	for volume, want := range map[string]string{"": "root-password\n", "volume-password\n": "volume-password\n"} {
		b := newBootstrapShell(t)
		require.NoError(t, os.MkdirAll(b.nodeDir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(b.nodeDir, "password"), []byte("root-password\n"), 0o600))
		if volume != "" {
			dir := filepath.Join(b.k3sDir, "server", "etc-rancher-node")
			require.NoError(t, os.MkdirAll(dir, 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "password"), []byte(volume), 0o600))
		}
		_, err := b.run(`keep_node_identity`)
		require.NoError(t, err)
		link, err := os.Readlink(b.nodeDir)
		require.NoError(t, err, "the node directory is a link to the volume")
		assert.Equal(t, filepath.Join(b.k3sDir, "server", "etc-rancher-node"), link)
		got, err := os.ReadFile(filepath.Join(b.nodeDir, "password"))
		require.NoError(t, err)
		assert.Equal(t, want, string(got), "volume held %q", volume)
	}
}

// awsNATSteps are the commands of the AWS VPC user guide's "Create a NAT AMI" for Amazon
// Linux 2023 (https://docs.aws.amazon.com/vpc/latest/userguide/work-with-nat-instances.html#create-nat-ami),
// in its order: the service is started before the NAT's rules go in, and they are saved last.
var awsNATSteps = []string{
	"dnf install -y iptables-services",
	"systemctl enable --now iptables",
	"iptables -t nat -A POSTROUTING -o ens5 -j MASQUERADE",
	"iptables -F FORWARD",
	"service iptables save",
}

// The NAT instance's script runs AWS's steps in AWS's order, as stand-ins for dnf, systemctl,
// iptables and service record them, and turns on IPv4 forwarding for good.
func TestNatInstanceFollowsAWSOrder(t *testing.T) {
	dir := t.TempDir()
	bin, log := filepath.Join(dir, "bin"), filepath.Join(dir, "commands.log")
	require.NoError(t, os.Mkdir(bin, 0o755))
	for _, name := range []string{"dnf", "systemctl", "iptables", "service", "sysctl"} {
		require.NoError(t, os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/bash\necho \""+name+" $*\" >>\"$LOG\"\n"), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(bin, "ip"),
		[]byte("#!/bin/bash\necho 'default via 10.0.0.1 dev ens5 proto dhcp src 10.0.0.9 metric 512'\n"), 0o755))
	script := filepath.Join(dir, "nat.sh")
	require.NoError(t, os.WriteFile(script, []byte(network.NatInstanceScript), 0o755))
	sysctlFile := filepath.Join(dir, "90-nat.conf")
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "LOG="+log, "SYSCTL_FILE="+sysctlFile, "RETRY_DELAY=0")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)

	raw, err := os.ReadFile(log)
	require.NoError(t, err)
	var steps []string
	for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if !strings.HasPrefix(l, "sysctl ") {
			steps = append(steps, l)
		}
	}
	assert.Equal(t, awsNATSteps, steps)
	forward, err := os.ReadFile(sysctlFile)
	require.NoError(t, err)
	assert.Equal(t, "net.ipv4.ip_forward = 1\n", string(forward))
	assert.Contains(t, string(raw), "sysctl --system")
}
