package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// MetadataHopLimit is the IMDSv2 PUT response hop limit of the nodes. 1 keeps instance metadata
// (and with it the node role's credentials) out of reach of pods on the pod network: a pod's
// packets cross one more hop, so the token response never reaches it. Host-network system pods
// (aws-node, kube-proxy) still reach it. Workloads that need AWS use IAM roles for service
// accounts through the cluster's OIDC provider.
const MetadataHopLimit = 1

// RootVolumeType is the nodes' root volume type; gp3 is cheaper than gp2 at the same baseline.
const RootVolumeType = "gp3"

type nodeGroupResult struct {
	securityGroupID       pulumi.StringOutput
	autoscalingGroupNames pulumi.StringArrayOutput
	// ready are the node group and the add-ons that need nodes (coredns, the Pod Identity
	// agent): in-cluster workloads wait for them.
	ready []pulumi.Resource
}

// nodeGroup builds the node role, the node security group, the launch template and the managed
// node group in exactly the private subnets, with add-ons ordered around it.
func (b *builder) nodeGroup(cp *eks.Cluster) (nodeGroupResult, error) {
	var out nodeGroupResult
	nodeRole, nodeRoleReady, err := b.role("node-role", "ec2.amazonaws.com", NodeRolePolicies)
	if err != nil {
		return out, err
	}
	shell, err := sessionManager(b.ctx, naming.Child(b.name, "node-role-session-manager"), nodeRole, b.parent)
	if err != nil {
		return out, err
	}
	nodeRoleReady = append(nodeRoleReady, shell)

	// The node security group starts empty: node-to-node and control-plane traffic goes through
	// the EKS cluster security group (attached below), and the ingress layer adds the load
	// balancer's rules. It has no egress rule of its own; the cluster group's covers egress.
	sg, err := ec2.NewSecurityGroup(b.ctx, naming.Child(b.name, "node-sg"), &ec2.SecurityGroupArgs{
		VpcId:       b.args.VpcID,
		Description: pulumi.Sprintf("outside-in nodes of EKS cluster %s: load balancer traffic only", b.args.Name),
		Tags:        b.tags("nodes"),
	}, b.parent)
	if err != nil {
		return out, fmt.Errorf("cluster: node security group: %w", err)
	}

	lt, err := ec2.NewLaunchTemplate(b.ctx, naming.Child(b.name, "node-lt"), &ec2.LaunchTemplateArgs{
		Description: pulumi.Sprintf("outside-in nodes of EKS cluster %s", b.args.Name),
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"), // IMDSv2 only
			HttpPutResponseHopLimit: pulumi.Int(MetadataHopLimit),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{&ec2.LaunchTemplateBlockDeviceMappingArgs{
			DeviceName: pulumi.String("/dev/xvda"),
			Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
				VolumeSize:          pulumi.Int(b.args.Nodes.DiskSizeGib),
				VolumeType:          pulumi.String(RootVolumeType),
				Encrypted:           pulumi.String("true"),
				DeleteOnTermination: pulumi.String("true"),
			},
		}},
		// A launch template that names security groups replaces EKS's default, so the cluster
		// security group is listed explicitly beside the node group's own.
		VpcSecurityGroupIds: pulumi.StringArray{cp.VpcConfig.ClusterSecurityGroupId().Elem(), sg.ID()},
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: b.tags("node")},
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: b.tags("node")},
		},
		UpdateDefaultVersion: pulumi.Bool(true),
		Tags:                 b.tags("node-lt"),
	}, b.parent)
	if err != nil {
		return out, fmt.Errorf("cluster: node launch template: %w", err)
	}

	// vpc-cni and kube-proxy go in before the nodes so they join with the pinned versions;
	// coredns goes in after, because it only becomes healthy once there are nodes to run on.
	early, err := b.addons(cp, []string{AddonVpcCni, AddonKubeProxy}, nil)
	if err != nil {
		return out, err
	}
	n := b.args.Nodes
	ng, err := eks.NewNodeGroup(b.ctx, naming.Child(b.name, "nodes"), &eks.NodeGroupArgs{
		ClusterName:   cp.Name,
		NodeRoleArn:   nodeRole.Arn,
		SubnetIds:     b.args.PrivateSubnetIDs,
		InstanceTypes: pulumi.ToStringArray(n.InstanceTypes),
		CapacityType:  pulumi.String(n.CapacityType),
		AmiType:       pulumi.String(amiType(n.Arch)),
		ScalingConfig: &eks.NodeGroupScalingConfigArgs{
			MinSize:     pulumi.Int(n.MinSize),
			DesiredSize: pulumi.Int(n.DesiredSize),
			MaxSize:     pulumi.Int(n.MaxSize),
		},
		UpdateConfig: &eks.NodeGroupUpdateConfigArgs{
			// Replace a third of the nodes at a time; the PodDisruptionBudgets keep the
			// ingress controller and apps serving while nodes drain.
			MaxUnavailablePercentage: pulumi.Int(33),
		},
		LaunchTemplate: &eks.NodeGroupLaunchTemplateArgs{
			Id:      lt.ID(),
			Version: pulumi.Sprintf("%d", lt.LatestVersion),
		},
		Tags: b.tags("nodes"),
	}, b.parent,
		pulumi.DependsOn(append(nodeRoleReady, early...)),
		// The Cluster Autoscaler owns the desired size once the group exists.
		pulumi.IgnoreChanges([]string{"scalingConfig.desiredSize"}))
	if err != nil {
		return out, fmt.Errorf("cluster: node group: %w", err)
	}
	late, err := b.addons(cp, []string{AddonCoreDNS, AddonPodIdentity}, []pulumi.Resource{ng})
	if err != nil {
		return out, err
	}
	out.ready = append([]pulumi.Resource{ng}, late...)

	out.securityGroupID = sg.ID().ToStringOutput()
	out.autoscalingGroupNames = ng.Resources.ApplyT(func(rs []eks.NodeGroupResource) []string {
		var names []string
		for _, r := range rs {
			for _, g := range r.AutoscalingGroups {
				if g.Name != nil {
					names = append(names, *g.Name)
				}
			}
		}
		return names
	}).(pulumi.StringArrayOutput)
	return out, nil
}
