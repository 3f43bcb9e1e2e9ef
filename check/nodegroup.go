package check

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// nodePort is a port on the nodes that the load balancer must reach, and what it carries.
type nodePort struct {
	port  int32
	role  string // "traffic node port" or "health-check port"
	group string // the target group (or classic ELB) that sends to it
}

// nodePorts are the ports the load balancer sends to on the nodes: each target group's port
// (a target registered on its own port adds that one) and its health-check port; a classic
// ELB's listeners' instance ports and its health check's port.
func (lb *loadBalancer) nodePorts() []nodePort {
	var out []nodePort
	add := func(p nodePort) {
		if p.port > 0 && !slices.ContainsFunc(out, func(q nodePort) bool { return q.port == p.port && q.role == p.role }) {
			out = append(out, p)
		}
	}
	for _, g := range lb.groups {
		if g.classic {
			for _, l := range lb.listeners {
				add(nodePort{l.instancePort, "traffic node port", g.name})
			}
		} else {
			add(nodePort{g.port, "traffic node port", g.name})
			for _, t := range g.targets {
				add(nodePort{t.port, "traffic node port", g.name})
			}
		}
		health := g.healthPort
		if health == "traffic-port" || health == "" {
			// ELBv2 checks on each target's own port; a classic ELB names its port.
			continue
		}
		if n, err := strconv.ParseInt(health, 10, 32); err == nil {
			add(nodePort{int32(n), "health-check port", g.name})
		}
	}
	return out
}

// nodeAccess judges the node security group's inbound rules against what the load balancer
// needs (invariant 4 of the request path). A load balancer with security groups (every ALB
// and classic ELB, and the NLBs this program builds) reaches the nodes from those groups: a
// rule naming one of them admits it, and so does a CIDR rule covering every subnet of the
// load balancer, where its nodes take their addresses. An NLB without a security group keeps
// the client's address on the traffic ports (client IP preservation is always on for instance
// targets), so those must admit the clients (allowedCidrs); its health checks come from its
// own addresses in its subnets.
type nodeAccess struct {
	lbGroups      []string
	lbSubnetCidrs func() ([]netip.Prefix, error) // the load balancer's subnets' CIDRs, read when needed
	allowedCidrs  []string                       // nil: not exported
	rules         []rule
}

// admitted says who admits p, or "" when nothing the load balancer sends from is admitted.
func (a nodeAccess) admitted(p nodePort) (string, error) {
	var groups []string
	for _, r := range a.rules {
		if r.port(p.port) && r.group != "" && slices.Contains(a.lbGroups, r.group) && !slices.Contains(groups, r.group) {
			groups = append(groups, r.group)
		}
	}
	if len(groups) > 0 {
		return "the load balancer's group " + strings.Join(groups, ", "), nil
	}
	if len(a.lbGroups) == 0 && p.role == "traffic node port" {
		// NLB without a security group: the clients' own addresses arrive.
		if a.allowedCidrs == nil {
			if from := admittedFrom(a.rules, p.port); len(from) > 0 {
				return strings.Join(from, ", "), nil
			}
			return "", nil
		}
		for _, c := range a.allowedCidrs {
			if !admits(a.rules, p.port, c) {
				return "", nil
			}
		}
		return "the clients " + strings.Join(a.allowedCidrs, ", "), nil
	}
	if len(admittedFrom(a.rules, p.port)) == 0 {
		return "", nil
	}
	subnets, err := a.lbSubnetCidrs()
	if err != nil {
		return "", err
	}
	if len(subnets) == 0 {
		return "", nil
	}
	for _, s := range subnets {
		if !admits(a.rules, p.port, s.String()) {
			return "", nil
		}
	}
	return "the load balancer's subnets by address (" + strings.Join(admittedFrom(a.rules, p.port), ", ") + ")", nil
}

// want is who must be admitted, as the failure says it.
func (a nodeAccess) want(p nodePort) string {
	switch {
	case len(a.lbGroups) > 0:
		return "the load balancer's security group " + strings.Join(a.lbGroups, ", ")
	case p.role == "traffic node port" && len(a.allowedCidrs) > 0:
		return "the clients " + strings.Join(a.allowedCidrs, ", ") + " (an NLB without a security group passes their addresses through)"
	case p.role == "traffic node port":
		return "the clients (an NLB without a security group passes their addresses through)"
	}
	return "the load balancer's subnets (an NLB without a security group checks from its own addresses there)"
}

// nodeSecurityGroup checks that the node security group admits the load balancer on every
// node port it sends to. It returns the evidence, and a failed hop when a port is not
// admitted; with no node security group in the outputs it says so and judges nothing.
func (w *walk) nodeSecurityGroup(ctx context.Context, hop string) ([]string, *Hop) {
	sg := w.t.nodeSecurityGrp
	if sg == "" {
		return []string{"the outputs name no node security group (" + outNodeSecurityGroupID + "): its rules are not checked"}, nil
	}
	rules, err := w.aws.ingressRules(ctx, []string{sg})
	if err != nil {
		h := failed(hop, []string{err.Error()}, "the node security group the stack exports cannot be read: it is gone, or the check reads another region or account",
			"check AWS_REGION and the account; `pulumi refresh` shows whether the stack's node security group still exists")
		return nil, &h
	}
	a := nodeAccess{lbGroups: w.lb.securityGroups, allowedCidrs: w.t.allowedCidrs, rules: rules,
		lbSubnetCidrs: func() ([]netip.Prefix, error) { return w.aws.subnetCidrs(ctx, w.lb.subnets) }}
	var ev, missing []string
	var first nodePort
	for _, p := range w.lb.nodePorts() {
		from, err := a.admitted(p)
		if err != nil {
			h := awsFailure(hop, err)
			return nil, &h
		}
		if from == "" {
			if len(missing) == 0 {
				first = p
			}
			missing = append(missing, fmt.Sprintf("node security group %s does not admit %s on the %s %d (%s)", sg, a.want(p), p.role, p.port, p.group))
			continue
		}
		ev = append(ev, fmt.Sprintf("node security group %s admits %s on the %s %d", sg, from, p.role, p.port))
	}
	if len(missing) == 0 {
		return ev, nil
	}
	cause := fmt.Sprintf("the node security group does not admit the load balancer on the %s %d: ", first.role, first.port)
	if first.role == "health-check port" {
		cause += "its health checks time out on every node (Target.Timeout), and it sends nowhere"
	} else {
		cause += "the health check may pass, but every request the load balancer forwards times out (an ALB answers 504, an NLB or classic ELB drops the connection)"
	}
	fix := "run `pulumi up --refresh`, which restores the stack's rule"
	if len(a.lbGroups) > 0 {
		fix += fmt.Sprintf("; by hand: `aws ec2 authorize-security-group-ingress --group-id %s --protocol tcp --port %d --source-group %s`", sg, first.port, a.lbGroups[0])
	}
	h := failed(hop, append(ev, missing...), cause, fix)
	return nil, &h
}

// subnetCidrs are the IPv4 CIDRs of subnets.
func (c *awsClients) subnetCidrs(ctx context.Context, subnets []string) ([]netip.Prefix, error) {
	if len(subnets) == 0 {
		return nil, nil
	}
	out, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: subnets})
	if err != nil {
		return nil, fmt.Errorf("ec2:DescribeSubnets %s: %w", strings.Join(subnets, ", "), err)
	}
	var cidrs []netip.Prefix
	for _, s := range out.Subnets {
		if p, err := netip.ParsePrefix(aws.ToString(s.CidrBlock)); err == nil {
			cidrs = append(cidrs, p)
		}
	}
	return cidrs, nil
}
