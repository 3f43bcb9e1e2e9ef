package ingress

import (
	"fmt"
	"net/netip"

	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/internal/naming"
)

// EntryPolicy is the NetworkPolicy in the controller's namespace that admits Traefik's entry
// ports only from where the load balancer's traffic comes.
const EntryPolicy = "traefik-entry"

// TrustedForwarders are the addresses whose X-Forwarded-* headers Traefik believes: where the
// load balancer connects from, when it writes those headers, and nothing else.
//
// An ALB and a classic ELB (HTTP/HTTPS listeners) connect to the nodes from their own nodes,
// which take their addresses in the public subnets; externalTrafficPolicy Local keeps that
// source address on the way to the pod, and they write X-Forwarded-For, -Proto and -Port. The
// public subnets hold nothing else that connects to a pod (the NAT gateways or NAT instance
// only translate traffic leaving the VPC; the k3s API load balancer sends only to the servers),
// while pods and nodes are in the private subnets (EKS pods take VPC addresses there) or in
// k3s's pod network: none of them can forge a forwarded client address, scheme or host.
//
// An NLB writes no header, and its instance target groups preserve the client's address
// (AWS's default for instance targets, set explicitly in elbv2): Traefik sees the client
// itself, so any forwarded header came from the client and nothing is trusted. Without a load
// balancer of the stack's (Kind None: a cluster given by kubeconfig, seed 002's HAProxy) the
// program knows neither where the balancer is nor the cluster's addresses, and trusts nothing:
// Traefik then records the balancer's address as the client's, rather than believe any pod.
func TrustedForwarders(kind LoadBalancerKind, publicSubnetCidrs []string) []string {
	switch kind {
	case ALB, Classic:
		return append([]string(nil), publicSubnetCidrs...)
	default:
		return nil
	}
}

// EntrySource is one source the entry NetworkPolicy admits: a CIDR, less the ranges in Except.
type EntrySource struct {
	Cidr   string
	Except []string
}

// EntrySources are the sources of the load balancer's traffic to Traefik's pods, as the pods
// see them (externalTrafficPolicy Local keeps the source address):
//   - ALB and classic ELB: their nodes, in the public subnets;
//   - NLB: the clients themselves (client IP preservation), that is the allowed client CIDRs,
//     less the cluster's own ranges (clusterCidrs: the VPC, where nodes and EKS pods live, and
//     k3s's pod network), so that a pod is never admitted as a "client". An allowed CIDR inside
//     those ranges is left out: a client in the VPC reaches an internet-facing NLB through NAT,
//     with a public address;
//   - Kind None: no policy (nil); the balancer's addresses are unknown to the program.
//
// The health checks need no rule: with policy Local the load balancer checks the
// healthCheckNodePort, which kube-proxy answers on the node itself, and the kubelet's probes of
// the pods come from the node, which NetworkPolicies always admit.
func EntrySources(kind LoadBalancerKind, publicSubnetCidrs, allowedCidrs, clusterCidrs []string) ([]EntrySource, error) {
	var out []EntrySource
	switch kind {
	case ALB, Classic:
		for _, c := range publicSubnetCidrs {
			out = append(out, EntrySource{Cidr: c})
		}
	case NLB:
		internal := make([]netip.Prefix, 0, len(clusterCidrs))
		for _, c := range clusterCidrs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("ingress: cluster range %q: %w", c, err)
			}
			internal = append(internal, p.Masked())
		}
	allowed:
		for _, c := range allowedCidrs {
			client, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("ingress: allowed CIDR %q: %w", c, err)
			}
			src := EntrySource{Cidr: client.Masked().String()}
			for _, in := range internal {
				switch {
				case in.Bits() <= client.Bits() && in.Contains(client.Addr()):
					continue allowed
				case client.Contains(in.Addr()):
					src.Except = append(src.Except, in.String())
				}
			}
			out = append(out, src)
		}
	}
	return out, nil
}

// EntryPolicyArgs is the entry NetworkPolicy: the controller's pods admit their entry ports
// only from sources; every other port of theirs (ping, metrics) only from their node.
func EntryPolicyArgs(sources []EntrySource) *networkingv1.NetworkPolicyArgs {
	from := networkingv1.NetworkPolicyPeerArray{}
	for _, s := range sources {
		block := &networkingv1.IPBlockArgs{Cidr: pulumi.String(s.Cidr)}
		if len(s.Except) > 0 {
			block.Except = pulumi.ToStringArray(s.Except)
		}
		from = append(from, &networkingv1.NetworkPolicyPeerArgs{IpBlock: block})
	}
	ports := networkingv1.NetworkPolicyPortArray{}
	for _, p := range []int{webPort, websecurePort} {
		ports = append(ports, &networkingv1.NetworkPolicyPortArgs{Protocol: pulumi.String("TCP"), Port: pulumi.Int(p)})
	}
	// A rule with no source would admit every source: without one, the policy has no rule.
	rules := networkingv1.NetworkPolicyIngressRuleArray{}
	if len(from) > 0 {
		rules = append(rules, &networkingv1.NetworkPolicyIngressRuleArgs{From: from, Ports: ports})
	}
	return &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:      pulumi.String(EntryPolicy),
			Namespace: pulumi.String(ControllerNamespace),
			Labels:    pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String(kubemeta.PartOf)},
		},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(ControllerSelector)},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
			Ingress:     rules,
		},
	}
}

// entryPolicy declares the entry NetworkPolicy in the controller's namespace (none for Kind
// None, see EntrySources).
func (b *builder) entryPolicy(opts ...pulumi.ResourceOption) error {
	if b.args.Kind == None {
		return nil
	}
	sources, err := EntrySources(b.args.Kind, b.args.PublicSubnetCidrs, b.args.AllowedCidrs, b.args.ClusterCidrs)
	if err != nil {
		return err
	}
	if _, err := networkingv1.NewNetworkPolicy(b.ctx, naming.Child(b.name, "entry-policy"), EntryPolicyArgs(sources), opts...); err != nil {
		return fmt.Errorf("ingress: controller entry network policy: %w", err)
	}
	return nil
}
