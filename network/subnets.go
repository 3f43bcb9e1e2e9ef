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
		public, err := b.subnet("public", i, pair.Public.String(), pair.AvailabilityZone)
		if err != nil {
			return out, err
		}
		private, err := b.subnet("private", i, pair.Private.String(), pair.AvailabilityZone)
		if err != nil {
			return out, err
		}
		out.public = append(out.public, public)
		out.private = append(out.private, private)
	}
	return out, nil
}

// subnet builds the public or private subnet of one AZ. Only public subnets map public IPs on
// launch; the program launches no instance there: the NAT gateways and the load balancer are
// the public subnets' tenants.
func (b *builder) subnet(role string, index int, cidr, az string) (*ec2.Subnet, error) {
	public := role == "public"
	s, err := ec2.NewSubnet(b.ctx, naming.Child(b.name, role, index), &ec2.SubnetArgs{
		VpcId:               b.vpcID,
		CidrBlock:           pulumi.String(cidr),
		AvailabilityZone:    pulumi.String(az),
		MapPublicIpOnLaunch: pulumi.Bool(public),
		Tags:                b.tags(role+"-"+az, SubnetRoleTags(public, b.args.ClusterName)),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("network: %s subnet in %s: %w", role, az, err)
	}
	return s, nil
}
