package check

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// loadBalancerHop checks that the load balancer is active, internet-facing, in exactly the
// public subnets, and that its security groups admit every listener port from every allowed
// CIDR.
func (w *walk) loadBalancerHop(ctx context.Context) Hop {
	if w.awsErr != nil {
		return awsFailure(HopLoadBalancer, w.awsErr)
	}
	if w.lbErr != nil {
		if w.lb == nil {
			return failed(HopLoadBalancer, []string{w.lbErr.Error()},
				"the load balancer the stack exports is gone, or the check reads another region or account",
				"check AWS_REGION and the account; `pulumi refresh` shows whether the stack's load balancer still exists")
		}
		return awsFailure(HopLoadBalancer, w.lbErr)
	}
	lb := w.lb
	ev := []string{fmt.Sprintf("%s %s: %s, %s", kindName(lb.kind), lb.name, lb.state, lb.scheme)}
	if lb.state != "active" {
		return failed(HopLoadBalancer, ev, "the load balancer is not active yet (provisioning takes 2–3 minutes) or has failed",
			"wait and retry (`--wait 5m`); a failed one shows its reason in `aws elbv2 describe-load-balancers`")
	}
	if lb.scheme != "internet-facing" {
		return failed(HopLoadBalancer, ev, "the load balancer is internal: clients outside the VPC cannot reach it",
			"the stack declares it internet-facing; run `pulumi up --refresh` to replace it")
	}
	subnets := slices.Sorted(slices.Values(lb.subnets))
	public := slices.Sorted(slices.Values(w.t.publicSubnets))
	ev = append(ev, "in subnets "+strings.Join(subnets, ", "))
	if len(public) > 0 && !slices.Equal(subnets, public) {
		return failed(HopLoadBalancer, append(ev, "the public subnets are "+strings.Join(public, ", ")),
			"the load balancer is not in exactly the public subnets: an AZ without a subnet sends its clients nowhere",
			"run `pulumi up --refresh`, which sets the load balancer's subnets to the public ones")
	}
	if len(lb.securityGroups) == 0 {
		return ok(HopLoadBalancer, append(ev, "no security group: every client is admitted")...)
	}
	rules, err := w.aws.ingressRules(ctx, lb.securityGroups)
	if err != nil {
		return awsFailure(HopLoadBalancer, err)
	}
	var missing []string
	for _, l := range lb.listeners {
		if len(w.t.allowedCidrs) == 0 {
			from := admittedFrom(rules, l.port)
			if len(from) == 0 {
				missing = append(missing, fmt.Sprintf("port %d from anywhere", l.port))
			} else {
				ev = append(ev, fmt.Sprintf("listener %s:%d admitted from %s", l.protocol, l.port, strings.Join(from, ", ")))
			}
			continue
		}
		for _, cidr := range w.t.allowedCidrs {
			if !admits(rules, l.port, cidr) {
				missing = append(missing, fmt.Sprintf("port %d from %s", l.port, cidr))
			}
		}
		if len(missing) == 0 {
			ev = append(ev, fmt.Sprintf("listener %s:%d admitted from %s", l.protocol, l.port, strings.Join(w.t.allowedCidrs, ", ")))
		}
	}
	if len(missing) > 0 {
		return failed(HopLoadBalancer, append(ev, "security groups "+strings.Join(lb.securityGroups, ", ")+" do not admit "+strings.Join(missing, "; ")),
			"the load balancer's security group does not admit the clients on a listener port",
			"run `pulumi up --refresh` to restore the stack's rules (allowedCidrs decides who is admitted)")
	}
	return ok(HopLoadBalancer, ev...)
}

func kindName(kind string) string {
	switch kind {
	case "application":
		return "ALB"
	case "network":
		return "NLB"
	}
	return "classic ELB"
}

// rule is one inbound permission: a port range (or all traffic) from a CIDR, or from the
// members of another security group.
type rule struct {
	all      bool
	from, to int32
	cidr     netip.Prefix // invalid for a rule naming a group
	group    string       // the source group's id, "" for a rule naming a CIDR
}

func (c *awsClients) ingressRules(ctx context.Context, groups []string) ([]rule, error) {
	out, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: groups})
	if err != nil {
		return nil, fmt.Errorf("ec2:DescribeSecurityGroups %s: %w", strings.Join(groups, ", "), err)
	}
	var rules []rule
	for _, g := range out.SecurityGroups {
		for _, p := range g.IpPermissions {
			r := rule{all: aws.ToString(p.IpProtocol) == "-1", from: aws.ToInt32(p.FromPort), to: aws.ToInt32(p.ToPort)}
			if !r.all && aws.ToString(p.IpProtocol) != "tcp" && aws.ToString(p.IpProtocol) != "6" {
				continue
			}
			for _, cidr := range cidrsOf(p) {
				if pfx, err := netip.ParsePrefix(cidr); err == nil {
					r.cidr = pfx
					rules = append(rules, r)
				}
			}
			for _, pair := range p.UserIdGroupPairs {
				g := r
				g.cidr, g.group = netip.Prefix{}, aws.ToString(pair.GroupId)
				rules = append(rules, g)
			}
		}
	}
	return rules, nil
}

func cidrsOf(p ec2types.IpPermission) []string {
	var out []string
	for _, r := range p.IpRanges {
		out = append(out, aws.ToString(r.CidrIp))
	}
	for _, r := range p.Ipv6Ranges {
		out = append(out, aws.ToString(r.CidrIpv6))
	}
	return out
}

func (r rule) port(p int32) bool { return r.all || (r.from <= p && p <= r.to) }

// admits is whether some rule admits port from every address of cidr.
func admits(rules []rule, port int32, cidr string) bool {
	want, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	for _, r := range rules {
		if r.port(port) && r.cidr.IsValid() && r.cidr.Addr().Is4() == want.Addr().Is4() && r.cidr.Bits() <= want.Bits() && r.cidr.Contains(want.Addr()) {
			return true
		}
	}
	return false
}

func admittedFrom(rules []rule, port int32) []string {
	var out []string
	for _, r := range rules {
		if r.port(port) && r.cidr.IsValid() && !slices.Contains(out, r.cidr.String()) {
			out = append(out, r.cidr.String())
		}
	}
	return out
}
