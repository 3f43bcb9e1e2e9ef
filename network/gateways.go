package network

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// egress is where a private subnet's default route goes: a NAT gateway or a NAT instance's
// network interface.
type egress struct {
	gateway  *ec2.NatGateway
	instance *ec2.Instance
}

// gateways builds the internet gateway and what the NAT strategy asks for: NAT gateways, each
// with its own Elastic IP in the public subnet of its AZ, or one NAT instance.
func (b *builder) gateways(subnets builtSubnets) (*ec2.InternetGateway, []egress, error) {
	igw, err := ec2.NewInternetGateway(b.ctx, naming.Child(b.name, "igw"), &ec2.InternetGatewayArgs{
		VpcId: b.vpcID,
		Tags:  b.tags("igw"),
	}, b.parent)
	if err != nil {
		return nil, nil, fmt.Errorf("network: internet gateway: %w", err)
	}

	if b.args.NatStrategy == NatInstance {
		instance, err := b.natInstance(subnets.public[0], igw)
		if err != nil {
			return nil, nil, err
		}
		return igw, []egress{{instance: instance}}, nil
	}
	var nats []egress
	for j, az := range NatGatewayAZs(b.args.NatStrategy, len(b.plan)) {
		zone := b.plan[az].AvailabilityZone
		eip, err := ec2.NewEip(b.ctx, naming.Child(b.name, "nat-eip", j), &ec2.EipArgs{
			Domain: pulumi.String("vpc"),
			Tags:   b.tags("nat-" + zone),
		}, b.parent)
		if err != nil {
			return nil, nil, fmt.Errorf("network: elastic IP for the NAT gateway in %s: %w", zone, err)
		}
		nat, err := ec2.NewNatGateway(b.ctx, naming.Child(b.name, "nat", j), &ec2.NatGatewayArgs{
			AllocationId: eip.AllocationId,
			SubnetId:     subnets.public[az].ID(),
			Tags:         b.tags("nat-" + zone),
		}, b.parent, pulumi.DependsOn([]pulumi.Resource{igw})) // a NAT gateway needs the IGW attached first
		if err != nil {
			return nil, nil, fmt.Errorf("network: nat gateway in %s: %w", zone, err)
		}
		nats = append(nats, egress{gateway: nat})
	}
	return igw, nats, nil
}
