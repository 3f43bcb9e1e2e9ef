package check

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/apps"
	"github.com/outside-in/outside-in/ingress"
)

// TestReasonCodes: the health reason codes moto never produces (it runs no health checks) are
// translated into this path's terms; each translation names what to look at.
func TestReasonCodes(t *testing.T) {
	cases := []struct {
		target targetHealth
		want   string // in the cause
	}{
		{targetHealth{state: "unhealthy", reason: "Target.FailedHealthChecks"}, "no ready controller pod"},
		{targetHealth{state: "unhealthy", reason: "Target.Timeout"}, "node security group"},
		{targetHealth{state: "unhealthy", reason: "Target.ResponseCodeMismatch"}, "healthCheckNodePort"},
		{targetHealth{state: "unused", reason: "Target.NotInUse"}, "AZ"},
		{targetHealth{state: "unused", reason: "Target.InvalidState"}, "stopped"},
		{targetHealth{state: "initial", reason: "Elb.InitialHealthChecking"}, "first health checks"},
		// A classic ELB answers in words.
		{targetHealth{state: "OutOfService", reason: "Instance", description: "Instance has failed at least the UnhealthyThreshold number of health checks consecutively."}, "no ready controller pod"},
		{targetHealth{state: "OutOfService", reason: "Instance", description: "Instance is in stopped state."}, "stopped"},
		{targetHealth{state: "OutOfService", reason: "ELB", description: "Instance registration is still in progress."}, "being registered"},
	}
	for _, c := range cases {
		r := explain(c.target)
		assert.Contains(t, r.cause, c.want, "%+v", c.target)
		assert.NotEmpty(t, r.fix)
	}
	for code, r := range reasons {
		assert.True(t, strings.HasPrefix(code, "Target.") || strings.HasPrefix(code, "Elb."), code)
		assert.NotEmpty(t, r.cause, code)
		assert.NotEmpty(t, r.fix, code)
	}
}

func TestRegionFromNames(t *testing.T) {
	assert.Equal(t, "eu-central-1", regionOf("ingress-alb-9b07f89-3251246854.eu-central-1.elb.amazonaws.com"))
	assert.Equal(t, "us-east-1", regionOf("ingress-nlb-1234.elb.us-east-1.amazonaws.com"))
	assert.Equal(t, "us-gov-west-1", regionOf("x-1.us-gov-west-1.elb.amazonaws.com."))
	assert.Equal(t, "", regionOf("lb.example.com"))
	assert.Equal(t, "eu-west-3", kubeconfigRegion(`"args": ["--region", "eu-west-3", "eks", "get-token"]`))
}

func TestCertificateCovers(t *testing.T) {
	c := &certificate{names: []string{"web.example.com", "*.env.example.com"}}
	assert.True(t, c.covers("web.example.com"))
	assert.True(t, c.covers("web-pr-1.env.example.com"))
	assert.False(t, c.covers("a.b.env.example.com"), "a wildcard covers one label")
	assert.False(t, c.covers("env.example.com"))
	assert.False(t, c.covers("api.example.com"))
}

func TestSecurityGroupAdmits(t *testing.T) {
	rules := []rule{
		{from: 443, to: 443, cidr: netip.MustParsePrefix("203.0.113.0/24")},
		{all: true, cidr: netip.MustParsePrefix("10.0.0.0/8")},
	}
	assert.True(t, admits(rules, 443, "203.0.113.0/25"), "a narrower CIDR inside the rule's")
	assert.False(t, admits(rules, 443, "203.0.112.0/23"), "a wider CIDR than the rule's")
	assert.False(t, admits(rules, 80, "203.0.113.0/24"), "another port")
	assert.True(t, admits(rules, 80, "10.1.0.0/16"), "all traffic")
	assert.False(t, admits(rules, 443, "0.0.0.0/0"))
}

// TestProgramConstants: the names the check looks for are the ones the program declares.
func TestProgramConstants(t *testing.T) {
	assert.Equal(t, ingress.EntryService, entryService)
	assert.Equal(t, ingress.IngressClass, defaultIngressClass)
	assert.Equal(t, ingress.ControllerNamespace, defaultControllerNamespace)
	require.Contains(t, apps.IndexPage("web"), pageMarker+"web")
}

// TestNodeSecurityGroupAccess: who the node security group must admit differs by load
// balancer. With a security group (ALB, classic ELB, the program's NLB) a rule naming it, or a
// CIDR rule covering the load balancer's subnets; an NLB without one passes the clients'
// addresses through to the traffic port and health-checks from its own addresses.
func TestNodeSecurityGroupAccess(t *testing.T) {
	subnets := func() ([]netip.Prefix, error) {
		return []netip.Prefix{netip.MustParsePrefix("10.0.128.0/20"), netip.MustParsePrefix("10.0.144.0/20")}, nil
	}
	traffic := nodePort{port: 30443, role: "traffic node port"}
	health := nodePort{port: 32080, role: "health-check port"}
	byGroup := []rule{{from: 30443, to: 30443, group: "sg-lb"}, {from: 32080, to: 32080, group: "sg-lb"}}
	byVpc := []rule{{all: true, cidr: netip.MustParsePrefix("10.0.0.0/16")}}
	clients := []rule{{from: 30443, to: 30443, cidr: netip.MustParsePrefix("203.0.113.0/24")}, {from: 32080, to: 32080, cidr: netip.MustParsePrefix("10.0.128.0/19")}}
	cases := []struct {
		name   string
		access nodeAccess
		port   nodePort
		want   string // in who admits it; "" not admitted
	}{
		{"ALB, rule from its group", nodeAccess{lbGroups: []string{"sg-lb"}, rules: byGroup}, traffic, "the load balancer's group sg-lb"},
		{"ALB, rule from another group", nodeAccess{lbGroups: []string{"sg-other"}, rules: byGroup}, traffic, ""},
		{"ALB, the VPC's CIDR covers its subnets", nodeAccess{lbGroups: []string{"sg-lb"}, rules: byVpc, lbSubnetCidrs: subnets}, health, "subnets by address (10.0.0.0/16)"},
		{"ALB, no rule on the port", nodeAccess{lbGroups: []string{"sg-lb"}, rules: byGroup[1:], lbSubnetCidrs: subnets}, traffic, ""},
		{"NLB without a group, clients admitted", nodeAccess{allowedCidrs: []string{"203.0.113.0/24"}, rules: clients, lbSubnetCidrs: subnets}, traffic, "the clients 203.0.113.0/24"},
		{"NLB without a group, a client range missing", nodeAccess{allowedCidrs: []string{"203.0.113.0/24", "198.51.100.0/24"}, rules: clients, lbSubnetCidrs: subnets}, traffic, ""},
		{"NLB without a group, health checks from its subnets", nodeAccess{allowedCidrs: []string{"203.0.113.0/24"}, rules: clients, lbSubnetCidrs: subnets}, health, "subnets by address"},
		{"NLB without a group, health checks not admitted", nodeAccess{rules: clients[:1], lbSubnetCidrs: subnets}, health, ""},
	}
	for _, c := range cases {
		got, err := c.access.admitted(c.port)
		require.NoError(t, err, c.name)
		if c.want == "" {
			assert.Empty(t, got, c.name)
		} else {
			assert.Contains(t, got, c.want, c.name)
		}
	}
	assert.Contains(t, nodeAccess{allowedCidrs: []string{"203.0.113.0/24"}}.want(traffic), "passes their addresses through")

	// A classic ELB sends to its listeners' instance ports and checks the port its health
	// check names; an ELBv2 target group checking "traffic-port" adds none.
	classic := &loadBalancer{listeners: []listener{{port: 443, instancePort: 30443}, {port: 80, instancePort: 30080}},
		groups: []targetGroup{{name: "elb", classic: true, healthPort: classicHealthPort("HTTP:32080/healthz")}}}
	assert.Equal(t, []nodePort{{30443, "traffic node port", "elb"}, {30080, "traffic node port", "elb"}, {32080, "health-check port", "elb"}}, classic.nodePorts())
	v2 := &loadBalancer{groups: []targetGroup{{name: "tg", port: 30443, healthPort: "traffic-port"}}}
	assert.Equal(t, []nodePort{{30443, "traffic node port", "tg"}}, v2.nodePorts())
}
