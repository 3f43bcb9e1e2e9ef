package cluster

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ebs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/iampolicy"
	"github.com/outside-in/outside-in/internal/naming"
)

// ServerDataVolumeGiB is each server's data volume: the datastore and the certificates, kept
// when the server is replaced.
const ServerDataVolumeGiB = 10

// ServerAddress is server i's fixed private address: the 10th address of its private subnet and
// on, one per server that subnet holds. Fixed addresses let agents and servers be configured
// before any server exists, and survive a server's replacement.
func ServerAddress(subnet netip.Prefix, slot int) netip.Addr {
	a := subnet.Masked().Addr()
	for range 10 + slot {
		a = a.Next()
	}
	return a
}

// NodeParameterPolicy lets a node read its own secrets, and only those: the parameters given,
// paths under the stack's prefix (a trailing /* for a whole level). Decrypting them takes the
// stack's key too, whose policy (K3sKeyPolicy) names the same parameters.
func NodeParameterPolicy(partition, region, account string, parameters ...string) iampolicy.Document {
	var arns []string
	for _, p := range parameters {
		arns = append(arns, ParameterArn(partition, region, account, p))
	}
	return iampolicy.New(iampolicy.Statement{
		Sid:      "ReadOwnParameters",
		Effect:   "Allow",
		Action:   []string{"ssm:GetParameter", "ssm:GetParameters"},
		Resource: arns,
	})
}

// nodeIdentity is a node role, its instance profile, and the role's policies, which the
// instances wait for.
type nodeIdentity struct {
	role     *iam.Role
	profile  *iam.InstanceProfile
	policies []pulumi.Resource
}

// nodeProfile builds a role and instance profile for servers or agents: Session Manager for a
// shell (no SSH anywhere), and reading the role's parameters: a server every server parameter,
// an agent the agent token alone.
func (k *k3sBuilder) nodeProfile(role string) (nodeIdentity, error) {
	var out nodeIdentity
	r, err := iam.NewRole(k.ctx, naming.Child(k.name, role+"-role"), &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(iampolicy.AssumeRole("ec2.amazonaws.com").JSON()),
		Description:      pulumi.Sprintf("outside-in k3s %s of %s", role, k.args.Name),
		Tags:             k.tags(role + "-role"),
	}, k.parent)
	if err != nil {
		return out, fmt.Errorf("cluster: %s role: %w", role, err)
	}
	shell, err := sessionManager(k.ctx, naming.Child(k.name, role+"-role-session-manager"), r, k.parent)
	if err != nil {
		return out, err
	}
	readable := k.args.ParameterPathPrefix + "/" + agentTokenParameter
	if role == "server" {
		readable = k.args.ParameterPathPrefix + "/server/*"
	}
	params, err := iam.NewRolePolicy(k.ctx, naming.Child(k.name, role+"-role-parameters"), &iam.RolePolicyArgs{
		Role:   r.ID(),
		Policy: pulumi.String(NodeParameterPolicy(k.args.Partition, k.args.Region, k.args.AccountID, readable).JSON()),
	}, k.parent)
	if err != nil {
		return out, fmt.Errorf("cluster: %s role parameter policy: %w", role, err)
	}
	profile, err := iam.NewInstanceProfile(k.ctx, naming.Child(k.name, role+"-profile"), &iam.InstanceProfileArgs{
		Role: r.Name,
		Tags: k.tags(role + "-profile"),
	}, k.parent)
	if err != nil {
		return out, fmt.Errorf("cluster: %s instance profile: %w", role, err)
	}
	return nodeIdentity{role: r, profile: profile, policies: []pulumi.Resource{shell, params}}, nil
}

// parameters stores the node secrets, encrypted with the stack's key: the CA files and both
// tokens for servers, the agent token for agents.
func (k *k3sBuilder) parameters(p *k3sPKI, key *kms.Key) ([]pulumi.Resource, error) {
	values := map[string]pulumi.StringOutput{
		"server/token":       p.serverToken,
		"server/agent-token": p.agentToken,
		agentTokenParameter:  p.agentToken,
	}
	for file, content := range p.files {
		values["server/tls/"+file] = content
	}
	var out []pulumi.Resource
	for _, name := range naming.SortedKeys(values) {
		param, err := ssm.NewParameter(k.ctx, naming.Child(k.name, "param-"+strings.NewReplacer("/", "-", ".", "-").Replace(name)), &ssm.ParameterArgs{
			Name:        pulumi.String(k.args.ParameterPathPrefix + "/" + name),
			Type:        pulumi.String("SecureString"),
			KeyId:       key.Arn,
			Value:       pulumi.ToSecret(values[name]).(pulumi.StringOutput),
			Description: pulumi.Sprintf("outside-in k3s %s of %s", name, k.args.Name),
			Tags:        k.tags("param"),
		}, k.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: parameter %s: %w", name, err)
		}
		out = append(out, param)
	}
	return out, nil
}

// servers builds the servers: instances at fixed private addresses, spread over the AZs, each
// with a data volume of its own, registered with the API load balancer.
func (k *k3sBuilder) servers(sg *ec2.SecurityGroup, profile *iam.InstanceProfile, tg *lb.TargetGroup, after []pulumi.Resource, sans pulumi.StringArrayOutput) ([]pulumi.Resource, error) {
	arch, err := InstanceArch(k.args.ServerInstanceType)
	if err != nil {
		return nil, fmt.Errorf("cluster: server instance type %s %v", k.args.ServerInstanceType, err)
	}
	var out []pulumi.Resource
	addresses := k.serverAddresses()
	for i := 0; i < k.args.Servers; i++ {
		subnet := k.args.Subnets[i%len(k.args.Subnets)]
		node := K3sNode{Role: "server", ServerIndex: i, Servers: k.args.Servers, ServerAddresses: addresses,
			Release: k.args.Release, Arch: arch, ParameterPrefix: k.args.ParameterPathPrefix, Region: k.args.Region}
		userData := sans.ApplyT(func(names []string) (string, error) {
			n := node
			n.TLSSANs = append(append([]string{}, names...), addresses...)
			return n.UserData()
		}).(pulumi.StringOutput)
		instance, err := ec2.NewInstance(k.ctx, naming.Child(k.name, "server", i), &ec2.InstanceArgs{
			Ami:                      pulumi.String(k.args.AMIs[arch]),
			InstanceType:             pulumi.String(k.args.ServerInstanceType),
			SubnetId:                 k.args.PrivateSubnetIDs.ToStringArrayOutput().Index(pulumi.Int(i % len(k.args.Subnets))),
			PrivateIp:                pulumi.String(addresses[i]),
			AssociatePublicIpAddress: pulumi.Bool(false),
			VpcSecurityGroupIds:      pulumi.StringArray{sg.ID()},
			IamInstanceProfile:       profile.Name,
			MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
				HttpEndpoint: pulumi.String("enabled"), HttpTokens: pulumi.String("required"),
				HttpPutResponseHopLimit: pulumi.Int(MetadataHopLimit),
			},
			// The root volume is tagged here, not with volumeTags: those apply to every volume
			// attached to the instance, the data volume too, whose own tags they would then
			// fight on every update (the provider's documentation of volumeTags).
			RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
				VolumeType: pulumi.String(RootVolumeType), VolumeSize: pulumi.Int(k.args.Nodes.DiskSizeGib),
				Encrypted: pulumi.Bool(true), DeleteOnTermination: pulumi.Bool(true),
				Tags: k.tags(fmt.Sprintf("server-%d-root", i)),
			},
			UserData:                userData,
			UserDataReplaceOnChange: pulumi.Bool(true),
			Tags:                    k.tags(fmt.Sprintf("server-%d", i)),
		}, k.parent, pulumi.DependsOn(after),
			// The address is fixed, so the old server must go before its successor starts.
			pulumi.DeleteBeforeReplace(true),
			// A newer Amazon Linux image would replace every server on the next update; servers
			// move to one only when replaced on purpose (see README, "k3s").
			pulumi.IgnoreChanges([]string{"ami"}))
		if err != nil {
			return nil, fmt.Errorf("cluster: server %d: %w", i, err)
		}
		volume, err := ebs.NewVolume(k.ctx, naming.Child(k.name, "server-data", i), &ebs.VolumeArgs{
			AvailabilityZone: pulumi.String(subnet.AvailabilityZone),
			Size:             pulumi.Int(ServerDataVolumeGiB),
			Type:             pulumi.String(RootVolumeType),
			Encrypted:        pulumi.Bool(true),
			Tags:             k.tags(fmt.Sprintf("server-%d-data", i)),
		}, k.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: server %d data volume: %w", i, err)
		}
		attachment, err := ec2.NewVolumeAttachment(k.ctx, naming.Child(k.name, "server-data-attachment", i), &ec2.VolumeAttachmentArgs{
			DeviceName: pulumi.String(DataDevice),
			InstanceId: instance.ID(),
			VolumeId:   volume.ID(),
			// When the server is replaced its datastore is still mounted: stop the instance
			// first, so the volume is detached clean and not forced off a running server.
			StopInstanceBeforeDetaching: pulumi.Bool(true),
		}, k.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: server %d data attachment: %w", i, err)
		}
		target, err := lb.NewTargetGroupAttachment(k.ctx, naming.Child(k.name, "api-target", i), &lb.TargetGroupAttachmentArgs{
			TargetGroupArn: tg.Arn,
			TargetId:       instance.ID(),
			Port:           pulumi.Int(APIPort),
		}, k.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: server %d API target: %w", i, err)
		}
		out = append(out, instance, attachment, target)
	}
	return out, nil
}

// ServerReservation is the block of each server subnet kept for the servers' fixed addresses
// (the .8/29 holding .10 and the slots after it): AWS assigns no address from an explicit
// reservation on its own, so no agent, load balancer interface or other instance can take a
// server's address while the server is being replaced.
func ServerReservation(subnet netip.Prefix) netip.Prefix {
	a := subnet.Masked().Addr()
	for range 8 {
		a = a.Next()
	}
	return netip.PrefixFrom(a, 29)
}

// reserveServerAddresses reserves ServerReservation in every private subnet that holds a server.
func (k *k3sBuilder) reserveServerAddresses() ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for i := 0; i < k.args.Servers && i < len(k.args.Subnets); i++ {
		r, err := ec2.NewSubnetCidrReservation(k.ctx, naming.Child(k.name, "server-addresses", i), &ec2.SubnetCidrReservationArgs{
			SubnetId:        k.args.PrivateSubnetIDs.ToStringArrayOutput().Index(pulumi.Int(i)),
			CidrBlock:       pulumi.String(ServerReservation(k.args.Subnets[i].Private).String()),
			ReservationType: pulumi.String("explicit"),
			Description:     pulumi.Sprintf("outside-in k3s servers of %s", k.args.Name),
		}, k.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: server address reservation %d: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// serverAddresses are the servers' fixed addresses, in order.
func (k *k3sBuilder) serverAddresses() []string {
	out := make([]string, k.args.Servers)
	for i := range out {
		subnet := k.args.Subnets[i%len(k.args.Subnets)]
		out[i] = ServerAddress(subnet.Private, i/len(k.args.Subnets)).String()
	}
	return out
}

// agents builds the agents' launch template and autoscaling group in every private subnet. A new
// launch template version (k3s version, image) rolls the group through an instance refresh that
// starts new agents before it stops old ones, so the load balancer keeps healthy targets.
func (k *k3sBuilder) agents(sg *ec2.SecurityGroup, profile *iam.InstanceProfile, after []pulumi.Resource) (*autoscaling.Group, error) {
	n := k.args.Nodes
	node := K3sNode{Role: "agent", ServerAddresses: k.serverAddresses(), Release: k.args.Release, Arch: n.Arch,
		ParameterPrefix: k.args.ParameterPathPrefix, Region: k.args.Region}
	userData, err := node.UserData()
	if err != nil {
		return nil, fmt.Errorf("cluster: agent user data: %w", err)
	}
	lt, err := ec2.NewLaunchTemplate(k.ctx, naming.Child(k.name, "agent-lt"), &ec2.LaunchTemplateArgs{
		Description:         pulumi.Sprintf("outside-in k3s agents of %s", k.args.Name),
		ImageId:             pulumi.String(k.args.AMIs[n.Arch]),
		UserData:            pulumi.String(base64.StdEncoding.EncodeToString([]byte(userData))),
		IamInstanceProfile:  &ec2.LaunchTemplateIamInstanceProfileArgs{Arn: profile.Arn},
		VpcSecurityGroupIds: pulumi.StringArray{sg.ID()},
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint: pulumi.String("enabled"), HttpTokens: pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(MetadataHopLimit),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{&ec2.LaunchTemplateBlockDeviceMappingArgs{
			DeviceName: pulumi.String("/dev/xvda"),
			Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
				VolumeSize: pulumi.Int(n.DiskSizeGib), VolumeType: pulumi.String(RootVolumeType),
				Encrypted: pulumi.String("true"), DeleteOnTermination: pulumi.String("true"),
			},
		}},
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: k.tags("agent")},
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: k.tags("agent")},
		},
		UpdateDefaultVersion: pulumi.Bool(true),
		Tags:                 k.tags("agent-lt"),
	}, k.parent)
	if err != nil {
		return nil, fmt.Errorf("cluster: agent launch template: %w", err)
	}
	var overrides autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArray
	for _, t := range n.InstanceTypes {
		overrides = append(overrides, &autoscaling.GroupMixedInstancesPolicyLaunchTemplateOverrideArgs{InstanceType: pulumi.String(t)})
	}
	onDemand := 100
	if n.CapacityType == "SPOT" {
		onDemand = 0
	}
	// The launch template tags the instances; the group's own tags stay on the group.
	var tags autoscaling.GroupTagArray
	agentTags := k.tags("agents")
	for _, key := range naming.SortedKeys(agentTags) {
		tags = append(tags, &autoscaling.GroupTagArgs{Key: pulumi.String(key), Value: agentTags[key], PropagateAtLaunch: pulumi.Bool(false)})
	}
	group, err := autoscaling.NewGroup(k.ctx, naming.Child(k.name, "agents"), &autoscaling.GroupArgs{
		VpcZoneIdentifiers: k.args.PrivateSubnetIDs,
		MinSize:            pulumi.Int(n.MinSize),
		MaxSize:            pulumi.Int(n.MaxSize),
		DesiredCapacity:    pulumi.Int(n.DesiredSize),
		MixedInstancesPolicy: &autoscaling.GroupMixedInstancesPolicyArgs{
			LaunchTemplate: &autoscaling.GroupMixedInstancesPolicyLaunchTemplateArgs{
				LaunchTemplateSpecification: &autoscaling.GroupMixedInstancesPolicyLaunchTemplateLaunchTemplateSpecificationArgs{
					LaunchTemplateId: lt.ID(),
					Version:          pulumi.Sprintf("%d", lt.LatestVersion),
				},
				Overrides: overrides,
			},
			InstancesDistribution: &autoscaling.GroupMixedInstancesPolicyInstancesDistributionArgs{
				OnDemandBaseCapacity:                pulumi.Int(0),
				OnDemandPercentageAboveBaseCapacity: pulumi.Int(onDemand),
				SpotAllocationStrategy:              pulumi.String("price-capacity-optimized"),
			},
		},
		// EC2 health only: with externalTrafficPolicy Local, a node without an ingress
		// controller pod is rightly unhealthy at the load balancer, but not broken.
		HealthCheckType:        pulumi.String("EC2"),
		HealthCheckGracePeriod: pulumi.Int(300),
		InstanceRefresh: &autoscaling.GroupInstanceRefreshArgs{
			Strategy: pulumi.String("Rolling"),
			Preferences: &autoscaling.GroupInstanceRefreshPreferencesArgs{
				MinHealthyPercentage: pulumi.Int(100),
				MaxHealthyPercentage: pulumi.Int(200),
				InstanceWarmup:       pulumi.String("180"),
			},
		},
		WaitForCapacityTimeout: pulumi.String("15m"),
		Tags:                   tags,
	}, k.parent, pulumi.DependsOn(after),
		// The ingress layer attaches the group to the load balancer with attachments; the group
		// must not undo them.
		pulumi.IgnoreChanges([]string{"loadBalancers", "targetGroupArns"}))
	if err != nil {
		return nil, fmt.Errorf("cluster: agents: %w", err)
	}
	return group, nil
}
