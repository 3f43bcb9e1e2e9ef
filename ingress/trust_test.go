package ingress

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/fakeaws"
)

var (
	publicCidrs  = []string{"10.0.255.0/24", "10.0.254.0/24"}
	clusterCidrs = []string{"10.0.0.0/16", "10.42.0.0/16"}
)

func TestTrustedForwarders(t *testing.T) {
	cases := []struct {
		kind LoadBalancerKind
		want []string
	}{
		// Their nodes connect from the public subnets and write X-Forwarded-*.
		{ALB, publicCidrs},
		{Classic, publicCidrs},
		// It writes no header and the pods see the client itself: a forwarded header is the
		// client's own word.
		{NLB, nil},
		// Nobody known: nothing believed.
		{None, nil},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			got := TrustedForwarders(c.kind, publicCidrs)
			assert.Equal(t, c.want, got)
			for _, cidr := range got {
				assert.NotContains(t, clusterCidrs, cidr, "never the VPC or the pod network")
			}
		})
	}
	got := TrustedForwarders(ALB, publicCidrs)
	got[0] = "0.0.0.0/0"
	assert.Equal(t, "10.0.255.0/24", publicCidrs[0], "the caller's slice is not shared")
}

func TestEntrySources(t *testing.T) {
	cases := []struct {
		name    string
		kind    LoadBalancerKind
		allowed []string
		want    []EntrySource
	}{
		{"alb: its nodes in the public subnets", ALB, []string{"0.0.0.0/0"},
			[]EntrySource{{Cidr: "10.0.255.0/24"}, {Cidr: "10.0.254.0/24"}}},
		{"classic: its nodes in the public subnets", Classic, []string{"203.0.113.0/24"},
			[]EntrySource{{Cidr: "10.0.255.0/24"}, {Cidr: "10.0.254.0/24"}}},
		{"nlb: the clients, never the cluster's own ranges", NLB, []string{"0.0.0.0/0"},
			[]EntrySource{{Cidr: "0.0.0.0/0", Except: clusterCidrs}}},
		{"nlb: a client range beside the cluster's needs no exception", NLB, []string{"203.0.113.0/24", "198.51.100.7/32"},
			[]EntrySource{{Cidr: "203.0.113.0/24"}, {Cidr: "198.51.100.7/32"}}},
		{"nlb: 10/8 holds the VPC and the pod network", NLB, []string{"10.0.0.0/8"},
			[]EntrySource{{Cidr: "10.0.0.0/8", Except: clusterCidrs}}},
		{"nlb: a range inside the cluster's is no client of an internet-facing NLB", NLB, []string{"10.0.3.0/24", "10.0.0.0/16", "192.0.2.0/24"},
			[]EntrySource{{Cidr: "192.0.2.0/24"}}},
		{"nlb: host bits are masked", NLB, []string{"192.0.2.9/24"},
			[]EntrySource{{Cidr: "192.0.2.0/24"}}},
		{"none: no policy", None, []string{"0.0.0.0/0"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := EntrySources(c.kind, publicCidrs, c.allowed, clusterCidrs)
			require.NoError(t, err)
			require.Len(t, got, len(c.want))
			assert.Equal(t, c.want, got)
		})
	}
	_, err := EntrySources(NLB, publicCidrs, []string{"not-a-cidr"}, clusterCidrs)
	assert.ErrorContains(t, err, `allowed CIDR "not-a-cidr"`)
}

// buildIngress runs NewIngress against the fake AWS with a cluster of two public subnets.
func buildIngress(t *testing.T, kind LoadBalancerKind, allowed []string) *fakeaws.Fake {
	t.Helper()
	fake, err := fakeaws.Run("outside-in", "test", fakeaws.Options{}, nil, func(ctx *pulumi.Context) error {
		provider, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{Kubeconfig: pulumi.String("{}")})
		if err != nil {
			return err
		}
		_, err = NewIngress(ctx, "ingress", IngressArgs{
			Kind:                      kind,
			VpcID:                     pulumi.String("vpc-0123"),
			PublicSubnetIDs:           pulumi.ToStringArray([]string{"subnet-a", "subnet-b"}),
			PublicSubnetCidrs:         publicCidrs,
			ClusterCidrs:              clusterCidrs,
			NodeSecurityGroupID:       pulumi.String("sg-nodes"),
			NodeAutoscalingGroupNames: pulumi.ToStringArray([]string{"asg-nodes"}),
			AllowedCidrs:              allowed,
			Ports:                     ports,
			ControllerReplicas:        2,
			Provider:                  provider,
			PublishedHostname:         "apps.example.com",
			NamePrefix:                "outside-in-test",
		})
		return err
	})
	require.NoError(t, err)
	return fake
}

func ofType(fake *fakeaws.Fake, typ string) []*fakeaws.Resource { return fake.OfType(typ) }

// The chart values and the entry NetworkPolicy the component registers, per load balancer kind.
func TestIngressTrustAndEntryPolicy(t *testing.T) {
	cases := []struct {
		kind     LoadBalancerKind
		trusted  []any
		policies int
		from     []map[string]any
	}{
		{ALB, []any{"10.0.255.0/24", "10.0.254.0/24"}, 1,
			[]map[string]any{{"cidr": "10.0.255.0/24"}, {"cidr": "10.0.254.0/24"}}},
		{Classic, []any{"10.0.255.0/24", "10.0.254.0/24"}, 1,
			[]map[string]any{{"cidr": "10.0.255.0/24"}, {"cidr": "10.0.254.0/24"}}},
		{NLB, nil, 1,
			[]map[string]any{{"cidr": "0.0.0.0/0", "except": []any{"10.0.0.0/16", "10.42.0.0/16"}}}},
		{None, nil, 0, nil},
	}
	for _, c := range cases {
		t.Run(string(c.kind), func(t *testing.T) {
			fake := buildIngress(t, c.kind, []string{"0.0.0.0/0"})
			components := ofType(fake, "outside-in:ingress:Ingress")
			require.Len(t, components, 1)
			releases := ofType(fake, "kubernetes:helm.sh/v3:Release")
			require.Len(t, releases, 1)
			namespaces := ofType(fake, "kubernetes:core/v1:Namespace")
			require.Len(t, namespaces, 1)

			for _, ep := range []string{"web", "websecure"} {
				got := releases[0].In("values", "ports", ep, "forwardedHeaders", "trustedIPs")
				if c.trusted == nil {
					assert.Nil(t, releases[0].In("values", "ports", ep, "forwardedHeaders"), "%s: nothing trusted", ep)
					continue
				}
				assert.Equal(t, c.trusted, got, "%s trusts the public subnets only", ep)
			}

			policies := ofType(fake, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
			require.Len(t, policies, c.policies)
			if c.policies == 0 {
				return
			}
			p := policies[0]
			assert.Equal(t, "ingress-entry-policy", p.Name)
			assert.Equal(t, components[0].URN, p.Parent)
			assert.Contains(t, p.Dependencies, namespaces[0].URN, "the policy waits for its namespace")
			assert.Equal(t, ControllerNamespace, p.In("metadata", "namespace"))
			assert.Equal(t, EntryPolicy, p.In("metadata", "name"))
			selector, ok := p.In("spec", "podSelector", "matchLabels").(map[string]any)
			require.True(t, ok)
			require.Len(t, selector, len(ControllerSelector))
			for k, v := range ControllerSelector {
				assert.Equal(t, v, selector[k], "selects the controller's pods by %s", k)
			}
			assert.Equal(t, []any{"Ingress"}, p.In("spec", "policyTypes"))
			rules, ok := p.In("spec", "ingress").([]any)
			require.True(t, ok)
			require.Len(t, rules, 1, "one rule: the entry ports from the load balancer's sources")
			portsIn, ok := fakeaws.Get(rules[0], "ports").([]any)
			require.True(t, ok)
			require.Len(t, portsIn, 2)
			assert.Equal(t, []any{
				map[string]any{"protocol": "TCP", "port": float64(webPort)},
				map[string]any{"protocol": "TCP", "port": float64(websecurePort)},
			}, portsIn, "Traefik's entry points, not its ping or metrics ports")
			from, ok := fakeaws.Get(rules[0], "from").([]any)
			require.True(t, ok)
			require.Len(t, from, len(c.from))
			for i, want := range c.from {
				assert.Equal(t, want, fakeaws.Get(from[i], "ipBlock"), "source %d", i)
				assert.Nil(t, fakeaws.Get(from[i], "podSelector"), "no pod is a source")
				assert.Nil(t, fakeaws.Get(from[i], "namespaceSelector"), "no namespace is a source")
			}

			groups := ofType(fake, "aws:lb/targetGroup:TargetGroup")
			for _, g := range groups {
				if c.kind == NLB {
					assert.Equal(t, "true", g.In("preserveClientIp"), "%s: the pods see the client's address", g.Name)
				} else {
					assert.Nil(t, g.In("preserveClientIp"), g.Name)
				}
			}
		})
	}
}

// With no admitted source at all the policy admits nothing: a rule without sources would admit
// every source.
func TestEntryPolicyWithoutSources(t *testing.T) {
	fake := buildIngress(t, NLB, []string{"10.0.0.0/16"})
	policies := ofType(fake, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
	require.Len(t, policies, 1)
	rules := policies[0].In("spec", "ingress")
	if rules != nil {
		list, ok := rules.([]any)
		require.True(t, ok, fmt.Sprint(rules))
		assert.Empty(t, list)
	}
	assert.Equal(t, []any{"Ingress"}, policies[0].In("spec", "policyTypes"), "still isolating the pods")
}
