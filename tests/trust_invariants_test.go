package tests

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// checkEntryTrust: Traefik believes forwarded headers only from the load balancer's addresses,
// and its pods admit their entry ports only from where the load balancer's traffic comes —
// never from an address a pod or a node of the cluster can have. Expectations come from the
// recorded subnets and the configuration; the values checked are the release's and the
// NetworkPolicy's the program registered.
func checkEntryTrust(t tb, res *plan.Result, cfg program.Config) {
	t.Helper()
	public := subnetCidrsByID(t, res, exportedStrings(t, res, "publicSubnetIds"))
	private := subnetCidrsByID(t, res, exportedStrings(t, res, "privateSubnetIds"))
	require.Len(t, public, cfg.AzCount)
	require.Len(t, private, cfg.AzCount)
	// Where the cluster's pods and nodes have their addresses: the private subnets (nodes; EKS
	// pods, through the VPC CNI) and, on k3s, flannel's pod network.
	inside := slices.Clone(private)
	if cfg.ClusterMode == program.ClusterModeK3s {
		inside = append(inside, netip.MustParsePrefix(cluster.K3sPodCidr))
	}

	values := object(t, controllerRelease(t, res).In("values"))
	trusted := map[string][]netip.Prefix{}
	for _, ep := range []string{"web", "websecure"} {
		ips, _ := get(values, "ports", ep, "forwardedHeaders", "trustedIPs").([]any)
		for _, ip := range ips {
			trusted[ep] = append(trusted[ep], netip.MustParsePrefix(text(t, ip)))
		}
	}
	assert.Equal(t, trusted["web"], trusted["websecure"], "both entry points trust the same addresses")
	switch cfg.LoadBalancer {
	case program.LoadBalancerALB, program.LoadBalancerClassic:
		assert.ElementsMatch(t, public, trusted["websecure"], "the %s load balancer writes X-Forwarded-* from the public subnets", cfg.LoadBalancer)
	default:
		assert.Empty(t, trusted["websecure"], "an NLB writes no forwarded header: none is believed")
	}
	for _, p := range trusted["websecure"] {
		for _, in := range inside {
			assert.False(t, p.Overlaps(in), "Traefik trusts %s, where pods or nodes live (%s)", p, in)
		}
	}

	objs, err := res.KubernetesObjects()
	require.NoError(t, err)
	var policies []map[string]any
	var entry map[string]any
	for _, o := range objs {
		if fakeaws.Get(o, "metadata", "namespace") != ingress.ControllerNamespace {
			continue
		}
		switch {
		case o["kind"] == "NetworkPolicy":
			policies = append(policies, o)
		case o["kind"] == "Service" && fakeaws.Get(o, "metadata", "name") == ingress.EntryService:
			entry = o
		}
	}
	require.NotNil(t, entry, "no entry Service")
	require.Len(t, policies, 1, "one NetworkPolicy in the controller's namespace")
	policy := policies[0]
	assert.Equal(t, ingress.EntryPolicy, fakeaws.Get(policy, "metadata", "name"))
	assert.Equal(t, fakeaws.Get(entry, "spec", "selector"), fakeaws.Get(policy, "spec", "podSelector", "matchLabels"),
		"the policy selects the pods the entry Service sends to")
	assert.Equal(t, []any{"Ingress"}, fakeaws.Get(policy, "spec", "policyTypes"))
	rules := list(t, fakeaws.Get(policy, "spec", "ingress"))
	require.Len(t, rules, 1, "one rule: the entry ports from the load balancer's sources")

	var entryPorts, admitted []float64
	for _, p := range list(t, fakeaws.Get(entry, "spec", "ports")) {
		entryPorts = append(entryPorts, number(t, fakeaws.Get(p, "targetPort")))
	}
	for _, p := range list(t, fakeaws.Get(rules[0], "ports")) {
		assert.Equal(t, "TCP", fakeaws.Get(p, "protocol"))
		admitted = append(admitted, number(t, fakeaws.Get(p, "port")))
	}
	assert.ElementsMatch(t, entryPorts, admitted, "the entry Service's target ports, no other")

	from := list(t, fakeaws.Get(rules[0], "from"))
	require.NotEmpty(t, from, "a rule without sources would admit every source")
	var sources []netip.Prefix
	for _, f := range from {
		assert.Nil(t, fakeaws.Get(f, "podSelector"), "no pod is a source")
		assert.Nil(t, fakeaws.Get(f, "namespaceSelector"), "no namespace is a source")
		block := netip.MustParsePrefix(text(t, fakeaws.Get(f, "ipBlock", "cidr")))
		sources = append(sources, block)
		var except []netip.Prefix
		if e := fakeaws.Get(f, "ipBlock", "except"); e != nil {
			for _, x := range list(t, e) {
				except = append(except, netip.MustParsePrefix(text(t, x)))
			}
		}
		// No address a pod or a node can have is admitted.
		for _, in := range inside {
			if !block.Overlaps(in) {
				continue
			}
			covered := slices.ContainsFunc(except, func(x netip.Prefix) bool { return x.Bits() <= in.Bits() && x.Contains(in.Addr()) })
			assert.True(t, covered, "the entry policy admits %s, where pods or nodes live (%s)", block, in)
		}
	}
	switch cfg.LoadBalancer {
	case program.LoadBalancerALB, program.LoadBalancerClassic:
		assert.ElementsMatch(t, public, sources, "the %s's nodes, in the public subnets", cfg.LoadBalancer)
	default:
		for _, s := range sources {
			assert.Contains(t, cfg.AllowedCidrs, s.String(), "behind an NLB the pods see the allowed clients themselves")
		}
	}
}

// checkNoEntryTrust: on a cluster given by kubeconfig the program knows neither the balancer's
// addresses nor the cluster's, so nothing is trusted and no entry policy is declared.
func checkNoEntryTrust(t tb, res *plan.Result) {
	t.Helper()
	values := object(t, controllerRelease(t, res).In("values"))
	for _, ep := range []string{"web", "websecure"} {
		assert.Nil(t, get(values, "ports", ep, "forwardedHeaders"), "%s believes no forwarded header", ep)
	}
	objs, err := res.KubernetesObjects()
	require.NoError(t, err)
	for _, o := range objs {
		if o["kind"] == "NetworkPolicy" {
			assert.NotEqual(t, ingress.ControllerNamespace, fakeaws.Get(o, "metadata", "namespace"), "policy %v", fakeaws.Get(o, "metadata", "name"))
		}
	}
}

// subnetCidrsByID are the CIDRs of the recorded subnets with the given ids, in that order.
func subnetCidrsByID(t tb, res *plan.Result, ids []string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, id := range ids {
		var found *fakeaws.Resource
		for _, s := range res.OfType("aws:ec2/subnet:Subnet") {
			if s.ID == id {
				found = s
			}
		}
		require.NotNil(t, found, fmt.Sprintf("no subnet %s", id))
		out = append(out, netip.MustParsePrefix(text(t, found.In("cidrBlock"))))
	}
	return out
}
