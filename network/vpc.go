// Package network builds the VPC every other layer of outside-in lives in: one public and one
// private subnet per availability zone, an internet gateway, NAT gateways by strategy, route
// tables, the load balancer and cluster discovery tags, and optional flow logs.
package network

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// VpcArgs configures a Vpc. Shape-deciding values are plain Go values.
type VpcArgs struct {
	// CidrBlock is the VPC's IPv4 range, /16 to /24.
	CidrBlock netip.Prefix
	// AvailabilityZones are the AZ names, in order; subnet i lives in AZ i.
	AvailabilityZones []string
	// Layout sizes the subnets.
	Layout SubnetLayout
	// NatStrategy decides the NAT gateways and the private default routes.
	NatStrategy NatStrategy
	// FlowLogs selects the traffic logged to CloudWatch Logs (default None).
	FlowLogs FlowLogs
	// FlowLogsRetentionDays is how long flow logs are kept.
	FlowLogsRetentionDays int
	// ClusterName, when set, adds the kubernetes.io/cluster/<name> ownership tag to the subnets.
	ClusterName string
	// NamePrefix starts every Name tag, e.g. "outside-in-dev".
	NamePrefix string
	// Tags are added to every taggable resource.
	Tags map[string]string
	// Partition, Region and AccountID scope the flow-log role's trust to this account.
	Partition, Region, AccountID string
	// NatInstance sizes the NAT instance of NatStrategy Instance.
	NatInstance NatInstanceArgs
}

// NatInstanceArgs is the NAT instance: a current Amazon Linux 2023 image and a small type of the
// image's architecture.
type NatInstanceArgs struct {
	AMI          string
	InstanceType string
}

// Vpc is the network component. Its exported fields are what the next layers take.
type Vpc struct {
	pulumi.ResourceState

	VpcID            pulumi.StringOutput
	CidrBlock        pulumi.StringOutput
	PublicSubnetIDs  pulumi.StringArrayOutput
	PrivateSubnetIDs pulumi.StringArrayOutput
	// Subnets is the plan the subnets were built from, in AZ order.
	Subnets []SubnetPair
}

// NewVpc plans the subnets, then builds the network. Nothing is registered when the plan fails.
func NewVpc(ctx *pulumi.Context, name string, args VpcArgs, opts ...pulumi.ResourceOption) (*Vpc, error) {
	if !args.NatStrategy.Valid() {
		return nil, fmt.Errorf("network: unknown NAT strategy %q", args.NatStrategy)
	}
	if args.NatStrategy == NatInstance && (args.NatInstance.AMI == "" || args.NatInstance.InstanceType == "") {
		return nil, fmt.Errorf("network: a NAT instance needs an image and an instance type")
	}
	if args.FlowLogs == "" {
		args.FlowLogs = FlowLogsNone
	}
	if !args.FlowLogs.Valid() {
		return nil, fmt.Errorf("network: unknown flow logs setting %q", args.FlowLogs)
	}
	plan, err := PlanSubnets(args.CidrBlock, args.AvailabilityZones, args.Layout)
	if err != nil {
		return nil, fmt.Errorf("network: planning subnets: %w", err)
	}

	c := &Vpc{Subnets: plan}
	if err := ctx.RegisterComponentResource("outside-in:network:Vpc", name, c, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, args: args, plan: plan, parent: pulumi.Parent(c)}

	vpc, err := ec2.NewVpc(ctx, naming.Child(name, "vpc"), &ec2.VpcArgs{
		CidrBlock:          pulumi.String(args.CidrBlock.String()),
		EnableDnsSupport:   pulumi.Bool(true),
		EnableDnsHostnames: pulumi.Bool(true),
		Tags:               b.tags("vpc"),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("network: vpc: %w", err)
	}
	b.vpcID = vpc.ID().ToStringOutput()

	subnets, err := b.subnets()
	if err != nil {
		return nil, err
	}
	igw, nats, err := b.gateways(subnets)
	if err != nil {
		return nil, err
	}
	if err := b.routes(subnets, igw, nats); err != nil {
		return nil, err
	}
	if args.FlowLogs != FlowLogsNone {
		if err := b.flowLogs(); err != nil {
			return nil, err
		}
	}

	c.VpcID = b.vpcID
	c.CidrBlock = vpc.CidrBlock
	c.PublicSubnetIDs = subnets.publicIDs()
	c.PrivateSubnetIDs = subnets.privateIDs()
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"vpcId":            c.VpcID,
		"cidrBlock":        c.CidrBlock,
		"publicSubnetIds":  c.PublicSubnetIDs,
		"privateSubnetIds": c.PrivateSubnetIDs,
	}); err != nil {
		return nil, fmt.Errorf("network: registering outputs: %w", err)
	}
	return c, nil
}

// builder carries what the per-concept steps of NewVpc share.
type builder struct {
	ctx    *pulumi.Context
	name   string
	args   VpcArgs
	plan   []SubnetPair
	parent pulumi.ResourceOption
	vpcID  pulumi.StringOutput
}

// tags returns the shared tags with a Name of `<prefix>-<role>`.
func (b *builder) tags(role string, extra ...map[string]string) pulumi.StringMap {
	return naming.Tags(b.args.Tags, b.args.NamePrefix+"-"+role, extra...)
}
