package tests

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"

	"github.com/outside-in/outside-in/internal/awsdata"
	"github.com/outside-in/outside-in/offline/kubeapi"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// stackLabel marks a stack's nodes on a shared control plane; the stack's pods get a
// nodeSelector for it (see onItsNodes), so that several stacks share one control plane without
// meeting. The scheduler's nodeAffinityPolicy (Honor, the default) then keeps every other
// stack's nodes out of the pods' spread domains, as if each stack had its cluster.
const stackLabel = "outside-in.test/stack"

// nodeSet is the nodes a stack's cluster starts with, shaped like its cluster mode's: EKS managed
// nodes (nodeDesiredSize over the zones, with the labels EKS and the kubelet set), k3s servers
// (tainted CriticalAddonsOnly, as the program taints them) and agents, or, for a cluster the
// stack does not build, the platform's nodes (an environment) or three plain nodes (a
// kubeconfig). Allocatable is the instance type's, less what the kubelet keeps for the system.
func nodeSet(t *testing.T, s plan.Stack, platform *plan.Stack) []kubeapi.Node {
	t.Helper()
	cfg, _, err := program.Parse("outside-in", s.Name, s.Config)
	require.NoError(t, err)
	if cfg.ClusterMode == program.ClusterModeExisting {
		if platform != nil {
			return relabel(nodeSet(t, *platform, nil), s.Name)
		}
		var nodes []kubeapi.Node
		for i := range 3 {
			nodes = append(nodes, kubeapi.Node{Name: fmt.Sprintf("%s-node-%d", s.Name, i), CPU: "4", Memory: "15Gi", Pods: 110,
				Labels: map[string]string{stackLabel: s.Name}})
		}
		return nodes
	}
	region := cfg.Region
	zones := cfg.AzNames
	for i := 0; len(zones) < cfg.AzCount; i++ {
		zones = append(zones, region+string(rune('a'+i)))
	}
	node := func(name, instanceType, zone string, labels map[string]string, taints ...corev1.Taint) kubeapi.Node {
		it, ok := awsdata.InstanceTypes[instanceType]
		require.True(t, ok, instanceType)
		arch := map[string]string{"x86_64": "amd64", "arm64": "arm64"}[it.Arch]
		l := map[string]string{
			stackLabel:                         s.Name,
			"topology.kubernetes.io/zone":      zone,
			"topology.kubernetes.io/region":    region,
			"node.kubernetes.io/instance-type": instanceType,
			"kubernetes.io/arch":               arch,
		}
		for k, v := range labels {
			l[k] = v
		}
		return kubeapi.Node{
			Name:   name,
			CPU:    fmt.Sprintf("%dm", it.VCPU*1000-100),
			Memory: fmt.Sprintf("%dMi", int(it.MemoryGiB*1024*0.9)),
			Pods:   110, Labels: l, Taints: taints,
		}
	}
	var nodes []kubeapi.Node
	if cfg.ClusterMode == program.ClusterModeK3s {
		serverType := cfg.K3sServerInstanceType
		if serverType == "" {
			serverType = "t4g.small"
		}
		for i := range cfg.K3sServers {
			nodes = append(nodes, node(fmt.Sprintf("%s-server-%d", s.Name, i), serverType, zones[i%len(zones)],
				map[string]string{"node-role.kubernetes.io/control-plane": "true"},
				corev1.Taint{Key: "CriticalAddonsOnly", Value: "true", Effect: corev1.TaintEffectNoExecute}))
		}
	}
	for i := range cfg.NodeDesiredSize {
		labels := map[string]string{}
		if cfg.ClusterMode == program.ClusterModeEKS {
			labels["eks.amazonaws.com/nodegroup"] = cfg.ClusterName + "-nodes"
			labels["eks.amazonaws.com/capacityType"] = cfg.NodeCapacityType
		}
		nodes = append(nodes, node(fmt.Sprintf("%s-node-%d", s.Name, i), cfg.NodeInstanceTypes[0], zones[i%len(zones)], labels))
	}
	return nodes
}

// relabel gives a platform's node set to an environment stack of its own.
func relabel(nodes []kubeapi.Node, stack string) []kubeapi.Node {
	for i := range nodes {
		nodes[i].Name = stack + "-" + nodes[i].Name
		nodes[i].Labels[stackLabel] = stack
	}
	return nodes
}
