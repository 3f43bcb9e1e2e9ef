package network

import (
	_ "embed"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/internal/naming"
)

// NatInstanceScript configures the NAT instance.
//
//go:embed nat-instance.sh
var NatInstanceScript string

// NatInstanceUserData is the NAT instance's cloud-config: the script as a file, and one command
// that runs it.
func NatInstanceUserData() (string, error) {
	const path = "/usr/local/sbin/outside-in-nat"
	body, err := yaml.Marshal(map[string]any{
		"write_files": []any{map[string]any{"path": path, "permissions": "0755", "owner": "root:root", "content": NatInstanceScript}},
		"runcmd":      []any{[]any{path}},
	})
	if err != nil {
		return "", err
	}
	return "#cloud-config\n" + string(body), nil
}

// natInstance builds the NAT instance in the first public subnet: a public address, source and
// destination checks off (it forwards other machines' packets), IMDSv2 with one hop, an
// encrypted disk, and a security group that admits only the VPC and lets it out to anywhere.
func (b *builder) natInstance(subnet *ec2.Subnet, igw *ec2.InternetGateway) (*ec2.Instance, error) {
	sg, err := ec2.NewSecurityGroup(b.ctx, naming.Child(b.name, "nat-sg"), &ec2.SecurityGroupArgs{
		VpcId:       b.vpcID,
		Description: pulumi.String("outside-in NAT instance: from the VPC, out to the internet"),
		Tags:        b.tags("nat"),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("network: NAT instance security group: %w", err)
	}
	if _, err := vpc.NewSecurityGroupIngressRule(b.ctx, naming.Child(b.name, "nat-in"), &vpc.SecurityGroupIngressRuleArgs{
		SecurityGroupId: sg.ID(), CidrIpv4: pulumi.String(b.args.CidrBlock.String()), IpProtocol: pulumi.String("-1"),
		Description: pulumi.String("everything the private subnets send out"), Tags: b.tags("nat-in"),
	}, b.parent); err != nil {
		return nil, fmt.Errorf("network: NAT instance ingress: %w", err)
	}
	if _, err := vpc.NewSecurityGroupEgressRule(b.ctx, naming.Child(b.name, "nat-out"), &vpc.SecurityGroupEgressRuleArgs{
		SecurityGroupId: sg.ID(), CidrIpv4: pulumi.String(anywhereIPv4), IpProtocol: pulumi.String("-1"),
		Description: pulumi.String("forwarded traffic to the internet"), Tags: b.tags("nat-out"),
	}, b.parent); err != nil {
		return nil, fmt.Errorf("network: NAT instance egress: %w", err)
	}
	userData, err := NatInstanceUserData()
	if err != nil {
		return nil, fmt.Errorf("network: NAT instance user data: %w", err)
	}
	instance, err := ec2.NewInstance(b.ctx, naming.Child(b.name, "nat-instance"), &ec2.InstanceArgs{
		Ami:                      pulumi.String(b.args.NatInstance.AMI),
		InstanceType:             pulumi.String(b.args.NatInstance.InstanceType),
		SubnetId:                 subnet.ID(),
		AssociatePublicIpAddress: pulumi.Bool(true),
		SourceDestCheck:          pulumi.Bool(false),
		VpcSecurityGroupIds:      pulumi.StringArray{sg.ID()},
		MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint: pulumi.String("enabled"), HttpTokens: pulumi.String("required"), HttpPutResponseHopLimit: pulumi.Int(1),
		},
		// 8 GiB is the size of the Amazon Linux 2023 image's own snapshot, the least it boots from;
		// stated rather than left to the image so the estimate can price it.
		RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
			VolumeType: pulumi.String("gp3"), VolumeSize: pulumi.Int(8), Encrypted: pulumi.Bool(true), DeleteOnTermination: pulumi.Bool(true),
		},
		UserData:                pulumi.String(userData),
		UserDataReplaceOnChange: pulumi.Bool(true),
		Tags:                    b.tags("nat-instance"),
		VolumeTags:              b.tags("nat-instance"),
	}, b.parent, pulumi.DependsOn([]pulumi.Resource{igw}),
		// A newer image is taken when the instance is replaced on purpose, not on every update.
		pulumi.IgnoreChanges([]string{"ami"}))
	if err != nil {
		return nil, fmt.Errorf("network: NAT instance: %w", err)
	}
	return instance, nil
}
