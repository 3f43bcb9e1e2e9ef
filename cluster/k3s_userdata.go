package cluster

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// BootstrapScript is the shell script every k3s node runs once, from its cloud-config.
//
//go:embed k3s-bootstrap.sh
var BootstrapScript string

// Where the bootstrap puts things on a node.
const (
	bootstrapPath = "/usr/local/sbin/outside-in-k3s-bootstrap"
	envFilePath   = "/etc/outside-in/k3s.env"
	k3sConfigPath = "/etc/rancher/k3s/config.yaml"
	// K3sDataDir is k3s's data directory (its default); ServerDataMount is where a server's
	// data volume is mounted, the datastore and certificates k3s keeps under server/.
	K3sDataDir      = "/var/lib/rancher/k3s"
	ServerDataMount = K3sDataDir + "/server"
	// KubeletConfigDir is the directory k3s (v1.32 and later) passes to the kubelet as
	// --config-dir. k3s writes its own defaults there as 00-k3s-defaults.conf on every start,
	// with graceful shutdown off, and leaves other files alone; the kubelet merges *.conf in
	// lexical order, so a later name overrides k3s's defaults.
	KubeletConfigDir = K3sDataDir + "/agent/etc/kubelet.conf.d"
	// kubeletShutdownDropIn sorts after every name k3s writes there (00-, 10-cli-config.conf,
	// 20-cli-config-dir/).
	kubeletShutdownDropIn = KubeletConfigDir + "/50-outside-in-shutdown.conf"
	// DataDevice is the device name the server's data volume is attached as; on Nitro instances
	// it is an NVMe device that Amazon Linux links to this name.
	DataDevice = "/dev/sdf"
)

// kubeletSysctls are the kernel settings protect-kernel-defaults requires (k3s hardening guide).
const kubeletSysctls = "vm.panic_on_oom=0\nvm.overcommit_memory=1\nkernel.panic=10\nkernel.panic_on_oops=1\n"

// K3sNode is what one node's user data says.
type K3sNode struct {
	Role string // "server" or "agent"
	// ServerIndex is the server's place (0 starts the cluster).
	ServerIndex int
	// Servers is the number of servers; with 3, the first starts embedded etcd.
	Servers int
	// Servers are every server's address, in order. A joining node (an agent, or a server
	// other than the first) joins the first of the others whose supervisor answers, so that it
	// can join while any server is up; the first server starts the cluster and joins none.
	ServerAddresses []string
	// TLSSANs are the extra names of the API's serving certificate.
	TLSSANs []string
	Release K3sRelease
	Arch    Arch
	// ParameterPrefix is where the node's secrets are in SSM Parameter Store.
	ParameterPrefix string
	Region          string
}

// K3sConfig is the node's /etc/rancher/k3s/config.yaml: k3s's flags, none of them secret (the
// tokens are files the bootstrap writes).
func (n K3sNode) K3sConfig() map[string]any {
	cfg := map[string]any{
		"token-file":              "/etc/rancher/k3s/token",
		"protect-kernel-defaults": true,
	}
	if n.Role == "agent" {
		// EC2 gives a new instance the hostname of its private address, which a terminated
		// agent may have had: k3s refuses a node whose name is registered with another node
		// password. A random suffix, kept in /etc/rancher/node/id, makes each agent's name its own.
		cfg["with-node-id"] = true
		return cfg
	}
	for k, v := range map[string]any{
		"agent-token-file": "/etc/rancher/k3s/agent-token",
		// The stack owns the ingress controller and every load balancer.
		"disable": []any{"traefik", "servicelb"},
		"tls-san": toAny(n.TLSSANs),
		"node-taint": []any{
			// Workloads run on the agents, which the load balancer targets; k3s's own
			// CoreDNS and metrics-server tolerate this taint.
			"CriticalAddonsOnly=true:NoExecute",
		},
		"secrets-encryption":    true,
		"write-kubeconfig-mode": "0600",
	} {
		cfg[k] = v
	}
	if n.Servers > 1 && n.ServerIndex == 0 {
		cfg["cluster-init"] = true
	}
	return cfg
}

// KubeletShutdown is the KubeletConfiguration drop-in that makes an agent's kubelet shut down
// gracefully when EC2 stops or terminates the instance (an instance refresh, a spot
// interruption, a scale-in): its pods are stopped, so their Deployments start them on other
// agents at once, instead of minutes later when the node is found NotReady. These are
// configuration fields, not kubelet flags: as kubelet-arg the kubelet would not start.
func KubeletShutdown() string {
	return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
shutdownGracePeriod: 60s
shutdownGracePeriodCriticalPods: 20s
`
}

// JoinServers are the servers a node may join, the first server first ("" for the first
// server, which starts the cluster).
func (n K3sNode) JoinServers() []string {
	if n.Role == "server" && n.ServerIndex == 0 {
		return nil
	}
	var out []string
	for i, a := range n.ServerAddresses {
		if n.Role == "agent" || i != n.ServerIndex {
			out = append(out, a)
		}
	}
	return out
}

// Env is the bootstrap's settings file.
func (n K3sNode) Env() string {
	vars := map[string]string{
		"ROLE":             n.Role,
		"K3S_BINARY_URL":   n.Release.BinaryURL(n.Arch),
		"K3S_SHA256":       n.Release.SHA256[n.Arch],
		"PARAMETER_PREFIX": n.ParameterPrefix,
		"AWS_REGION":       n.Region,
	}
	if join := n.JoinServers(); len(join) > 0 {
		vars["JOIN_SERVERS"] = strings.Join(join, " ")
	}
	if n.Role == "server" {
		vars["SERVER_INDEX"] = fmt.Sprint(n.ServerIndex)
		vars["DATA_DEVICE"] = DataDevice
		vars["CA_FILES"] = strings.Join(K3sServerFiles(), " ")
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q\n", k, vars[k])
	}
	return b.String()
}

// K3sServerFiles are the files under server/tls/ the first server gets from Parameter Store.
func K3sServerFiles() []string {
	var out []string
	for _, ca := range K3sCAs {
		out = append(out, ca.File+".crt", ca.File+".key")
	}
	return append(out, "service.key")
}

// systemdUnit runs k3s as install.sh's unit does. A server's unit needs its data volume: without
// it k3s would start a new, empty cluster on the root volume.
func (n K3sNode) systemdUnit() string {
	kind, mounts := "exec", ""
	if n.Role == "server" {
		kind, mounts = "notify", "RequiresMountsFor="+ServerDataMount+"\n"
	}
	return fmt.Sprintf(`[Unit]
Description=Lightweight Kubernetes (k3s %[1]s, outside-in)
Documentation=https://docs.k3s.io
Wants=network-online.target
After=network-online.target
%[3]s
[Service]
Type=%[2]s
KillMode=process
Delegate=yes
LimitNOFILE=1048576
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStartPre=-/sbin/modprobe br_netfilter
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/local/bin/k3s %[1]s

[Install]
WantedBy=multi-user.target
`, n.Role, kind, mounts)
}

// UserData renders the node's cloud-config: the settings, k3s's config, the sysctls, the unit
// and the bootstrap script as files, and one command that runs the script.
func (n K3sNode) UserData() (string, error) {
	config, err := yaml.Marshal(n.K3sConfig())
	if err != nil {
		return "", err
	}
	file := func(path, perms, content string) map[string]any {
		return map[string]any{"path": path, "permissions": perms, "owner": "root:root", "content": content}
	}
	files := []any{
		file(envFilePath, "0644", n.Env()),
		file(k3sConfigPath, "0600", string(config)),
		file("/etc/sysctl.d/90-kubelet.conf", "0644", kubeletSysctls),
		file("/etc/systemd/system/k3s.service", "0644", n.systemdUnit()),
		file(bootstrapPath, "0755", BootstrapScript),
	}
	if n.Role == "agent" {
		files = append(files, file(kubeletShutdownDropIn, "0600", KubeletShutdown()))
	}
	doc := map[string]any{"write_files": files, "runcmd": []any{[]any{bootstrapPath}}}
	body, err := yaml.Marshal(doc)
	if err != nil {
		return "", err
	}
	return "#cloud-config\n" + string(body), nil
}

func toAny(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
