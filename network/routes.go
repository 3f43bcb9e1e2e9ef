package network

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

const anywhereIPv4 = "0.0.0.0/0"

// routes builds one public route table (default route to the IGW) shared by the public subnets,
// and one private route table per AZ whose default route goes to the NAT gateway the strategy
// picks. Private tables exist for every strategy, so changing strategy changes routes only.
func (b *builder) routes(subnets builtSubnets, igw *ec2.InternetGateway, nats []egress) error {
	public, err := ec2.NewRouteTable(b.ctx, naming.Child(b.name, "public-rt"), &ec2.RouteTableArgs{
		VpcId: b.vpcID,
		Tags:  b.tags("public"),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("network: public route table: %w", err)
	}
	if _, err := ec2.NewRoute(b.ctx, naming.Child(b.name, "public-default"), &ec2.RouteArgs{
		RouteTableId:         public.ID(),
		DestinationCidrBlock: pulumi.String(anywhereIPv4),
		GatewayId:            igw.ID(),
	}, b.parent); err != nil {
		return fmt.Errorf("network: public default route: %w", err)
	}

	targets := PrivateRouteTargets(b.args.NatStrategy, len(b.plan))
	for i, pair := range b.plan {
		if _, err := ec2.NewRouteTableAssociation(b.ctx, naming.Child(b.name, "public-rta", i), &ec2.RouteTableAssociationArgs{
			SubnetId:     subnets.public[i].ID(),
			RouteTableId: public.ID(),
		}, b.parent); err != nil {
			return fmt.Errorf("network: public route table association in %s: %w", pair.AvailabilityZone, err)
		}

		private, err := ec2.NewRouteTable(b.ctx, naming.Child(b.name, "private-rt", i), &ec2.RouteTableArgs{
			VpcId: b.vpcID,
			Tags:  b.tags("private-" + pair.AvailabilityZone),
		}, b.parent)
		if err != nil {
			return fmt.Errorf("network: private route table in %s: %w", pair.AvailabilityZone, err)
		}
		if nat := targets[i]; nat >= 0 {
			route := &ec2.RouteArgs{RouteTableId: private.ID(), DestinationCidrBlock: pulumi.String(anywhereIPv4)}
			if nats[nat].instance != nil {
				route.NetworkInterfaceId = nats[nat].instance.PrimaryNetworkInterfaceId
			} else {
				route.NatGatewayId = nats[nat].gateway.ID()
			}
			if _, err := ec2.NewRoute(b.ctx, naming.Child(b.name, "private-default", i), route, b.parent); err != nil {
				return fmt.Errorf("network: private default route in %s: %w", pair.AvailabilityZone, err)
			}
		}
		if _, err := ec2.NewRouteTableAssociation(b.ctx, naming.Child(b.name, "private-rta", i), &ec2.RouteTableAssociationArgs{
			SubnetId:     subnets.private[i].ID(),
			RouteTableId: private.ID(),
		}, b.parent); err != nil {
			return fmt.Errorf("network: private route table association in %s: %w", pair.AvailabilityZone, err)
		}
	}
	return nil
}
