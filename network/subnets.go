package network

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// builtSubnets holds the subnets in AZ order.
type builtSubnets struct {
	public, private []*ec2.Subnet
}

func (s builtSubnets) publicIDs() pulumi.StringArrayOutput  { return idsOf(s.public) }
func (s builtSubnets) privateIDs() pulumi.StringArrayOutput { return idsOf(s.private) }

func idsOf(subnets []*ec2.Subnet) pulumi.StringArrayOutput {
	ids := make(pulumi.StringArray, len(subnets))
	for i, s := range subnets {
		ids[i] = s.ID().ToStringOutput()
	}
	return ids.ToStringArrayOutput()
}

// SubnetRoleTags are the tags Kubernetes load balancer controllers use to find subnets: public
// subnets take internet-facing load balancers, private ones internal load balancers.
func SubnetRoleTags(public bool, clusterName string) map[string]string {
	tags := map[string]string{}
	if public {
		tags["kubernetes.io/role/elb"] = "1"
	} else {
		tags["kubernetes.io/role/internal-elb"] = "1"
	}
	if clusterName != "" {
		tags["kubernetes.io/cluster/"+clusterName] = "shared"
	}
	return tags
}

func (b *builder) subnets() (builtSubnets, error) {
	var out builtSubnets
	for i, pair := range b.plan {
		public, err := ec2.NewSubnet(b.ctx, naming.Child(b.name, "public", i), &ec2.SubnetArgs{
			VpcId:            b.vpcID,
			CidrBlock:        pulumi.String(pair.Public.String()),
			AvailabilityZone: pulumi.String(pair.AvailabilityZone),
			// Only public subnets map public IPs on launch. The program launches no instance
			// here: the NAT gateways and the load balancer are the public subnets' tenants.
			MapPublicIpOnLaunch: pulumi.Bool(true),
			Tags:                b.tags("public-"+pair.AvailabilityZone, SubnetRoleTags(true, b.args.ClusterName)),
		}, b.parent)
		if err != nil {
			return out, fmt.Errorf("network: public subnet in %s: %w", pair.AvailabilityZone, err)
		}
		private, err := ec2.NewSubnet(b.ctx, naming.Child(b.name, "private", i), &ec2.SubnetArgs{
			VpcId:               b.vpcID,
			CidrBlock:           pulumi.String(pair.Private.String()),
			AvailabilityZone:    pulumi.String(pair.AvailabilityZone),
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                b.tags("private-"+pair.AvailabilityZone, SubnetRoleTags(false, b.args.ClusterName)),
		}, b.parent)
		if err != nil {
			return out, fmt.Errorf("network: private subnet in %s: %w", pair.AvailabilityZone, err)
		}
		out.public = append(out.public, public)
		out.private = append(out.private, private)
	}
	return out, nil
}
