package network

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/fakeaws"
)

func vpcArgs(azs int, nat NatStrategy) VpcArgs {
	names := []string{"eu-central-1a", "eu-central-1b", "eu-central-1c", "eu-central-1d"}[:azs]
	return VpcArgs{
		CidrBlock:         netip.MustParsePrefix("10.20.0.0/16"),
		AvailabilityZones: names,
		Layout:            SubnetLayout{PublicPrefixLength: 24, PrivatePrefixLength: 20},
		NatStrategy:       nat,
		ClusterName:       "demo",
		NamePrefix:        "outside-in-test",
		Tags:              map[string]string{"team": "platform"},
		NatInstance:       NatInstanceArgs{AMI: "ami-0123456789abcdef0", InstanceType: "t4g.micro"},
	}
}

func buildVpc(t *testing.T, args VpcArgs) *fakeaws.Fake {
	t.Helper()
	fake, err := fakeaws.Run("outside-in", "test", fakeaws.Options{}, nil, func(ctx *pulumi.Context) error {
		_, err := NewVpc(ctx, "net", args)
		return err
	})
	require.NoError(t, err)
	return fake
}

func ofType(fake *fakeaws.Fake, typ string) []*fakeaws.Resource { return fake.OfType(typ) }

func named(t *testing.T, fake *fakeaws.Fake, typ, name string) *fakeaws.Resource {
	t.Helper()
	for _, r := range ofType(fake, typ) {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no %s named %s", typ, name)
	return nil
}

func TestVpcCountsByStrategy(t *testing.T) {
	cases := []struct {
		nat                      NatStrategy
		azs                      int
		nats, eips, routes, rtbs int
	}{
		{NatNone, 2, 0, 0, 1, 3},
		{NatSingle, 2, 1, 1, 3, 3},
		{NatSingle, 3, 1, 1, 4, 4},
		{NatOnePerAz, 2, 2, 2, 3, 3},
		{NatOnePerAz, 3, 3, 3, 4, 4},
		{NatInstance, 2, 0, 0, 3, 3},
		{NatInstance, 3, 0, 0, 4, 4},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_%d", c.nat, c.azs), func(t *testing.T) {
			fake := buildVpc(t, vpcArgs(c.azs, c.nat))
			assert.Len(t, ofType(fake, "aws:ec2/vpc:Vpc"), 1)
			assert.Len(t, ofType(fake, "aws:ec2/subnet:Subnet"), 2*c.azs)
			assert.Len(t, ofType(fake, "aws:ec2/internetGateway:InternetGateway"), 1)
			assert.Len(t, ofType(fake, "aws:ec2/natGateway:NatGateway"), c.nats)
			assert.Len(t, ofType(fake, "aws:ec2/eip:Eip"), c.eips)
			assert.Len(t, ofType(fake, "aws:ec2/route:Route"), c.routes)
			assert.Len(t, ofType(fake, "aws:ec2/routeTable:RouteTable"), c.rtbs)
			assert.Len(t, ofType(fake, "aws:ec2/routeTableAssociation:RouteTableAssociation"), 2*c.azs)
			assert.Empty(t, ofType(fake, "aws:ec2/flowLog:FlowLog"), "flow logs are off unless asked for")
		})
	}
}

func TestVpcWiring(t *testing.T) {
	fake := buildVpc(t, vpcArgs(3, NatOnePerAz))
	vpc := named(t, fake, "aws:ec2/vpc:Vpc", "net-vpc")
	assert.Equal(t, "10.20.0.0/16", vpc.In("cidrBlock"))
	assert.Equal(t, true, vpc.In("enableDnsSupport"))
	assert.Equal(t, true, vpc.In("enableDnsHostnames"))
	require.True(t, strings.HasPrefix(vpc.ID, "vpc-"), vpc.ID)

	igw := named(t, fake, "aws:ec2/internetGateway:InternetGateway", "net-igw")
	assert.Equal(t, vpc.ID, igw.In("vpcId"))

	for i, az := range []string{"eu-central-1a", "eu-central-1b", "eu-central-1c"} {
		public := named(t, fake, "aws:ec2/subnet:Subnet", fmt.Sprintf("net-public-%d", i))
		private := named(t, fake, "aws:ec2/subnet:Subnet", fmt.Sprintf("net-private-%d", i))
		for _, s := range []*fakeaws.Resource{public, private} {
			assert.Equal(t, vpc.ID, s.In("vpcId"))
			assert.Equal(t, az, s.In("availabilityZone"))
			assert.Equal(t, "shared", s.In("tags", "kubernetes.io/cluster/demo"))
			assert.Equal(t, "platform", s.In("tags", "team"))
		}
		assert.Equal(t, true, public.In("mapPublicIpOnLaunch"))
		assert.Equal(t, false, private.In("mapPublicIpOnLaunch"))
		assert.Equal(t, "1", public.In("tags", "kubernetes.io/role/elb"))
		assert.Nil(t, public.In("tags", "kubernetes.io/role/internal-elb"))
		assert.Equal(t, "1", private.In("tags", "kubernetes.io/role/internal-elb"))
		assert.Equal(t, "outside-in-test-private-"+az, private.In("tags", "Name"))

		// The NAT of this AZ sits in this AZ's public subnet with its own EIP, and the private
		// route table of this AZ routes to it.
		nat := named(t, fake, "aws:ec2/natGateway:NatGateway", fmt.Sprintf("net-nat-%d", i))
		eip := named(t, fake, "aws:ec2/eip:Eip", fmt.Sprintf("net-nat-eip-%d", i))
		assert.Equal(t, public.ID, nat.In("subnetId"))
		assert.Equal(t, eip.Out("allocationId"), nat.In("allocationId"))
		assert.Contains(t, nat.Dependencies, igw.URN, "a NAT gateway waits for the IGW")

		rtb := named(t, fake, "aws:ec2/routeTable:RouteTable", fmt.Sprintf("net-private-rt-%d", i))
		route := named(t, fake, "aws:ec2/route:Route", fmt.Sprintf("net-private-default-%d", i))
		assert.Equal(t, rtb.ID, route.In("routeTableId"))
		assert.Equal(t, "0.0.0.0/0", route.In("destinationCidrBlock"))
		assert.Equal(t, nat.ID, route.In("natGatewayId"))
		assoc := named(t, fake, "aws:ec2/routeTableAssociation:RouteTableAssociation", fmt.Sprintf("net-private-rta-%d", i))
		assert.Equal(t, private.ID, assoc.In("subnetId"))
		assert.Equal(t, rtb.ID, assoc.In("routeTableId"))

		publicAssoc := named(t, fake, "aws:ec2/routeTableAssociation:RouteTableAssociation", fmt.Sprintf("net-public-rta-%d", i))
		assert.Equal(t, public.ID, publicAssoc.In("subnetId"))
	}
	publicRoute := named(t, fake, "aws:ec2/route:Route", "net-public-default")
	assert.Equal(t, igw.ID, publicRoute.In("gatewayId"))
	assert.Equal(t, named(t, fake, "aws:ec2/routeTable:RouteTable", "net-public-rt").ID, publicRoute.In("routeTableId"))
}

func TestVpcSingleNatRoutesEveryAZThroughIt(t *testing.T) {
	fake := buildVpc(t, vpcArgs(3, NatSingle))
	nats := ofType(fake, "aws:ec2/natGateway:NatGateway")
	require.Len(t, nats, 1)
	assert.Equal(t, named(t, fake, "aws:ec2/subnet:Subnet", "net-public-0").ID, nats[0].In("subnetId"))
	for i := 0; i < 3; i++ {
		route := named(t, fake, "aws:ec2/route:Route", fmt.Sprintf("net-private-default-%d", i))
		assert.Equal(t, nats[0].ID, route.In("natGatewayId"))
	}
}

// A NAT instance forwards for every private subnet: their default routes go to its network
// interface; it sits in the first public subnet with a public address, checks of source and
// destination off, IMDSv2, an encrypted disk, and a security group open to the VPC only.
func TestVpcNatInstance(t *testing.T) {
	fake := buildVpc(t, vpcArgs(3, NatInstance))
	instances := ofType(fake, "aws:ec2/instance:Instance")
	require.Len(t, instances, 1)
	nat := instances[0]
	assert.Equal(t, named(t, fake, "aws:ec2/subnet:Subnet", "net-public-0").ID, nat.In("subnetId"))
	assert.Equal(t, false, nat.In("sourceDestCheck"), "it forwards other machines' packets")
	assert.Equal(t, true, nat.In("associatePublicIpAddress"))
	assert.Equal(t, "required", nat.In("metadataOptions", "httpTokens"))
	assert.Equal(t, true, nat.In("rootBlockDevice", "encrypted"))
	assert.Equal(t, "ami-0123456789abcdef0", nat.In("ami"))
	eni := nat.Out("primaryNetworkInterfaceId")
	require.NotEmpty(t, eni)
	for i := 0; i < 3; i++ {
		route := named(t, fake, "aws:ec2/route:Route", fmt.Sprintf("net-private-default-%d", i))
		assert.Equal(t, eni, route.In("networkInterfaceId"))
		assert.Nil(t, route.In("natGatewayId"))
	}
	sg := named(t, fake, "aws:ec2/securityGroup:SecurityGroup", "net-nat-sg")
	assert.Equal(t, []any{sg.ID}, nat.In("vpcSecurityGroupIds"))
	in := named(t, fake, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "net-nat-in")
	assert.Equal(t, "10.20.0.0/16", in.In("cidrIpv4"), "only the VPC reaches the NAT instance")
	assert.Equal(t, sg.ID, in.In("securityGroupId"))
	assert.Empty(t, ofType(fake, "aws:ec2/eip:Eip"))

	_, err := fakeaws.Run("outside-in", "test", fakeaws.Options{}, nil, func(ctx *pulumi.Context) error {
		args := vpcArgs(2, NatInstance)
		args.NatInstance = NatInstanceArgs{}
		_, err := NewVpc(ctx, "net", args)
		return err
	})
	assert.ErrorContains(t, err, "a NAT instance needs an image")
}

func TestVpcNoneLeavesPrivateSubnetsWithoutDefaultRoute(t *testing.T) {
	fake := buildVpc(t, vpcArgs(2, NatNone))
	routes := ofType(fake, "aws:ec2/route:Route")
	require.Len(t, routes, 1)
	assert.Equal(t, "net-public-default", routes[0].Name)
}

func TestVpcParentsAndOutputs(t *testing.T) {
	fake := buildVpc(t, vpcArgs(2, NatSingle))
	var component *fakeaws.Resource
	for _, r := range fake.Resources() {
		if r.Type == "outside-in:network:Vpc" {
			component = r
		}
	}
	require.NotNil(t, component)
	children := 0
	for _, r := range fake.Resources() {
		if r.Custom {
			children++
			assert.Equal(t, component.URN, r.Parent, "%s %s must be a child of the Vpc component", r.Type, r.Name)
			assert.True(t, strings.HasPrefix(r.Name, "net-"), "child name %s starts with the component name", r.Name)
		}
	}
	require.Greater(t, children, 10)
	// One for the component, one for the root stack.
	assert.Equal(t, 2, fake.OutputRegistrations())
}

func TestVpcFlowLogs(t *testing.T) {
	args := vpcArgs(2, NatSingle)
	args.FlowLogs, args.FlowLogsRetentionDays = FlowLogsRejected, 14
	fake := buildVpc(t, args)
	logs := ofType(fake, "aws:ec2/flowLog:FlowLog")
	require.Len(t, logs, 1)
	group := named(t, fake, "aws:cloudwatch/logGroup:LogGroup", "net-flow-logs")
	role := named(t, fake, "aws:iam/role:Role", "net-flow-logs")
	assert.Equal(t, "REJECT", logs[0].In("trafficType"))
	assert.Equal(t, named(t, fake, "aws:ec2/vpc:Vpc", "net-vpc").ID, logs[0].In("vpcId"))
	assert.Equal(t, group.Out("arn"), logs[0].In("logDestination"))
	assert.Equal(t, role.Out("arn"), logs[0].In("iamRoleArn"))
	assert.Equal(t, 14.0, group.In("retentionInDays"))
	policy := named(t, fake, "aws:iam/rolePolicy:RolePolicy", "net-flow-logs")
	assert.Contains(t, policy.In("policy"), group.Out("arn").(string)+":*", "the role may write to its log group only")
	assert.Contains(t, role.In("assumeRolePolicy"), "vpc-flow-logs.amazonaws.com")
}

func TestVpcRejectsBadArgsBeforeRegistering(t *testing.T) {
	for name, mutate := range map[string]func(*VpcArgs){
		"nat":       func(a *VpcArgs) { a.NatStrategy = "Sometimes" },
		"flow logs": func(a *VpcArgs) { a.FlowLogs = "Everything" },
		"too small": func(a *VpcArgs) { a.CidrBlock = netip.MustParsePrefix("10.0.0.0/24") },
	} {
		t.Run(name, func(t *testing.T) {
			args := vpcArgs(2, NatSingle)
			mutate(&args)
			fake, err := fakeaws.Run("outside-in", "test", fakeaws.Options{}, nil, func(ctx *pulumi.Context) error {
				_, err := NewVpc(ctx, "net", args)
				return err
			})
			require.Error(t, err)
			assert.Empty(t, fake.Resources(), "nothing may be registered")
		})
	}
}
