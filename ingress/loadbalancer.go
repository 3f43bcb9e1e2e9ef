package ingress

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// TLS policies. ALB and NLB take the TLS 1.3/1.2 policy AWS recommends, with post-quantum key
// exchange; the classic ELB has no TLS 1.3 policy, so it takes the TLS 1.2-only one.
const (
	ModernTLSPolicy  = "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09"
	ClassicTLSPolicy = "ELBSecurityPolicy-TLS-1-2-2017-01"
)

// loadBalancer is what every kind hands back: the name and zone for the alias records.
type loadBalancer struct {
	dnsName pulumi.StringOutput
	zoneID  pulumi.StringOutput
}

// securityGroups builds the load balancer's security group and the rules of the pair: clients
// to the listeners; load balancer to the nodes on the node ports and health-check port only.
func (b *builder) securityGroups(listeners []Listener) (*ec2.SecurityGroup, error) {
	sg, err := ec2.NewSecurityGroup(b.ctx, naming.Child(b.name, "lb-sg"), &ec2.SecurityGroupArgs{
		VpcId:       b.args.VpcID,
		Description: pulumi.String("outside-in load balancer: listeners from the allowed CIDRs, node ports to the nodes"),
		Tags:        b.tags("lb"),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("ingress: load balancer security group: %w", err)
	}
	lbID := sg.ID().ToStringOutput()
	for i, r := range LoadBalancerIngressRules(listeners, b.args.AllowedCidrs) {
		if err := b.rule("lb-in", i, ingressRule, lbID, r, nil); err != nil {
			return nil, err
		}
	}
	for i, r := range NodeRules(listeners, b.args.Ports) {
		if err := b.rule("lb-out", i, egressRule, lbID, r, b.args.NodeSecurityGroupID); err != nil {
			return nil, err
		}
		if err := b.rule("node-in", i, ingressRule, b.args.NodeSecurityGroupID, r, lbID); err != nil {
			return nil, err
		}
	}
	return sg, nil
}

type direction int

const (
	ingressRule direction = iota
	egressRule
)

// rule registers one single-port TCP rule of a security group: from (ingress) or to (egress)
// the peer group, or, without a peer, the rule's CIDR.
func (b *builder) rule(role string, index int, dir direction, group pulumi.StringInput, r Rule, peer pulumi.StringInput) error {
	name := naming.Child(b.name, role, index)
	var cidr pulumi.StringPtrInput
	if peer == nil {
		cidr = pulumi.String(r.CidrIPv4)
	}
	var err error
	if dir == ingressRule {
		_, err = vpc.NewSecurityGroupIngressRule(b.ctx, name, &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: group, Description: pulumi.String(r.Description), IpProtocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(r.Port), ToPort: pulumi.Int(r.Port), CidrIpv4: cidr, ReferencedSecurityGroupId: peer,
			Tags: b.tags(role),
		}, b.parent)
	} else {
		_, err = vpc.NewSecurityGroupEgressRule(b.ctx, name, &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId: group, Description: pulumi.String(r.Description), IpProtocol: pulumi.String("tcp"),
			FromPort: pulumi.Int(r.Port), ToPort: pulumi.Int(r.Port), CidrIpv4: cidr, ReferencedSecurityGroupId: peer,
			Tags: b.tags(role),
		}, b.parent)
	}
	if err != nil {
		return fmt.Errorf("ingress: security group rule %q: %w", r.Description, err)
	}
	return nil
}

// nodeAutoscalingGroup is the autoscaling group behind the node group. An EKS managed node group
// has exactly one.
func (b *builder) nodeAutoscalingGroup() pulumi.StringOutput {
	return b.args.NodeAutoscalingGroupNames.ToStringArrayOutput().Index(pulumi.Int(0))
}

// attach registers the node group's instances with a target group or a classic ELB.
func (b *builder) attach(role string, args *autoscaling.AttachmentArgs) error {
	args.AutoscalingGroupName = b.nodeAutoscalingGroup()
	if _, err := autoscaling.NewAttachment(b.ctx, naming.Child(b.name, role), args, b.parent); err != nil {
		return fmt.Errorf("ingress: attaching the nodes (%s): %w", role, err)
	}
	return nil
}
