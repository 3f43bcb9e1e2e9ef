// Package cluster builds the Kubernetes cluster the request path ends in: an EKS control plane
// with private endpoint access and KMS-encrypted secrets, a managed node group in the private
// subnets, IAM roles, access entries, the OIDC provider, the core add-ons, a kubeconfig and the
// explicit Kubernetes provider every Kubernetes resource of the program uses.
package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// ClusterArgs configures a Cluster.
type ClusterArgs struct {
	// Name is the EKS cluster name; the network's subnets carry it in their ownership tag.
	Name              string
	KubernetesVersion string
	// AddonVersions pins each of Addons to a version (see ResolveAddonVersions).
	AddonVersions map[string]string

	VpcID            pulumi.StringInput
	PrivateSubnetIDs pulumi.StringArrayInput

	// PublicAccessCidrs, when not empty, opens the public API endpoint to exactly these CIDRs.
	// The private endpoint is always on.
	PublicAccessCidrs []string
	// Admins are IAM principal ARNs given cluster-admin through access entries: the identity
	// running Pulumi and the configured admin roles.
	Admins []string

	Nodes NodeGroupArgs

	// Region and Partition of the account; Kubeconfig says how kubectl authenticates.
	Region     string
	Partition  string
	Kubeconfig KubeconfigArgs

	NamePrefix string
	Tags       map[string]string
}

// NodeGroupArgs sizes the managed node group.
type NodeGroupArgs struct {
	InstanceTypes []string
	Arch          Arch
	CapacityType  string // ON_DEMAND or SPOT
	MinSize       int
	DesiredSize   int
	MaxSize       int
	DiskSizeGib   int
}

// ControlPlaneLogTypes are the control-plane logs sent to CloudWatch Logs.
var ControlPlaneLogTypes = []string{"api", "audit", "authenticator"}

// controlPlaneLogRetentionDays bounds what the audit log costs; the program owns the log group so
// `pulumi destroy` removes it instead of leaving EKS's never-expiring one behind.
const controlPlaneLogRetentionDays = 30

// Cluster is the cluster component. Its exported fields are what the ingress layer takes.
type Cluster struct {
	pulumi.ResourceState

	Name                      pulumi.StringOutput
	Endpoint                  pulumi.StringOutput
	NodeSecurityGroupID       pulumi.StringOutput
	NodeAutoscalingGroupNames pulumi.StringArrayOutput
	OidcProviderArn           pulumi.StringOutput
	// Kubeconfig is a secret: it names the cluster's endpoint and how to get a token.
	Kubeconfig pulumi.StringOutput
	// Provider is the Kubernetes provider for this cluster; every Kubernetes resource uses it.
	Provider *kubernetes.Provider
}

// builder carries what the steps of NewCluster share.
type builder struct {
	ctx    *pulumi.Context
	name   string
	args   ClusterArgs
	parent pulumi.ResourceOption
}

func (b *builder) tags(role string) pulumi.StringMap {
	return naming.Tags(b.args.Tags, b.args.NamePrefix+"-"+role)
}

// NewCluster builds the EKS cluster and its Kubernetes provider.
func NewCluster(ctx *pulumi.Context, name string, args ClusterArgs, opts ...pulumi.ResourceOption) (*Cluster, error) {
	for _, addon := range Addons {
		if args.AddonVersions[addon] == "" {
			return nil, fmt.Errorf("cluster: no version for add-on %s", addon)
		}
	}
	c := &Cluster{}
	if err := ctx.RegisterComponentResource("outside-in:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, args: args, parent: pulumi.Parent(c)}

	clusterRole, clusterRoleReady, err := b.role("cluster-role", "eks.amazonaws.com", ClusterRolePolicies)
	if err != nil {
		return nil, err
	}
	key, err := kms.NewKey(ctx, naming.Child(name, "secrets-key"), &kms.KeyArgs{
		Description:          pulumi.Sprintf("Envelope encryption of Kubernetes secrets in EKS cluster %s", args.Name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(7),
		Tags:                 b.tags("secrets-key"),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("cluster: secrets key: %w", err)
	}
	logs, err := cloudwatch.NewLogGroup(ctx, naming.Child(name, "control-plane-logs"), &cloudwatch.LogGroupArgs{
		// EKS writes to exactly this name; creating it first puts its lifetime in the stack.
		Name:            pulumi.Sprintf("/aws/eks/%s/cluster", args.Name),
		RetentionInDays: pulumi.Int(controlPlaneLogRetentionDays),
		Tags:            b.tags("control-plane-logs"),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("cluster: control plane log group: %w", err)
	}

	cp, err := eks.NewCluster(ctx, naming.Child(name, "eks"), &eks.ClusterArgs{
		Name:    pulumi.String(args.Name),
		Version: pulumi.String(args.KubernetesVersion),
		RoleArn: clusterRole.Arn,
		VpcConfig: &eks.ClusterVpcConfigArgs{
			// The control plane's network interfaces live in the private subnets too.
			SubnetIds:             args.PrivateSubnetIDs,
			EndpointPrivateAccess: pulumi.Bool(true),
			EndpointPublicAccess:  pulumi.Bool(len(args.PublicAccessCidrs) > 0),
			PublicAccessCidrs:     pulumi.ToStringArray(args.PublicAccessCidrs),
		},
		EncryptionConfig: &eks.ClusterEncryptionConfigArgs{
			Resources: pulumi.StringArray{pulumi.String("secrets")},
			Provider:  &eks.ClusterEncryptionConfigProviderArgs{KeyArn: key.Arn},
		},
		EnabledClusterLogTypes: pulumi.ToStringArray(ControlPlaneLogTypes),
		AccessConfig: &eks.ClusterAccessConfigArgs{
			// Access entries only (no aws-auth ConfigMap). The creator gets no implicit admin:
			// every admin, the creator included, is an access entry in the stack.
			AuthenticationMode:                      pulumi.String("API"),
			BootstrapClusterCreatorAdminPermissions: pulumi.Bool(false),
		},
		Tags: b.tags("eks"),
	}, b.parent, pulumi.DependsOn(append(clusterRoleReady, logs)))
	if err != nil {
		return nil, fmt.Errorf("cluster: control plane: %w", err)
	}

	admins, err := b.accessEntries(cp)
	if err != nil {
		return nil, err
	}
	if err := b.oidcProvider(c, cp); err != nil {
		return nil, err
	}
	nodes, err := b.nodeGroup(cp)
	if err != nil {
		return nil, err
	}

	c.Name = cp.Name
	c.Endpoint = cp.Endpoint
	c.NodeSecurityGroupID = nodes.securityGroupID
	c.NodeAutoscalingGroupNames = nodes.autoscalingGroupNames
	c.Kubeconfig = pulumi.ToSecret(Kubeconfig(cp, args.Region, args.Kubeconfig)).(pulumi.StringOutput)
	// The provider waits for the admin access entries: before they exist, every call the
	// provider makes is refused.
	c.Provider, err = kubernetes.NewProvider(ctx, naming.Child(name, "k8s"), &kubernetes.ProviderArgs{
		Kubeconfig: c.Kubeconfig,
	}, b.parent, pulumi.DependsOn(append([]pulumi.Resource{cp}, admins...)))
	if err != nil {
		return nil, fmt.Errorf("cluster: kubernetes provider: %w", err)
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"name":                      c.Name,
		"endpoint":                  c.Endpoint,
		"nodeSecurityGroupId":       c.NodeSecurityGroupID,
		"nodeAutoscalingGroupNames": c.NodeAutoscalingGroupNames,
		"oidcProviderArn":           c.OidcProviderArn,
		"kubeconfig":                c.Kubeconfig,
	}); err != nil {
		return nil, fmt.Errorf("cluster: registering outputs: %w", err)
	}
	return c, nil
}

// ClusterAdminPolicy is the EKS access policy given to every admin principal.
const ClusterAdminPolicy = "AmazonEKSClusterAdminPolicy"

// accessEntries gives each admin principal cluster-admin, and returns the policy associations.
func (b *builder) accessEntries(cp *eks.Cluster) ([]pulumi.Resource, error) {
	var ready []pulumi.Resource
	for i, principal := range b.args.Admins {
		entry, err := eks.NewAccessEntry(b.ctx, naming.Child(b.name, "admin", i), &eks.AccessEntryArgs{
			ClusterName:  cp.Name,
			PrincipalArn: pulumi.String(principal),
			Type:         pulumi.String("STANDARD"),
			Tags:         b.tags(fmt.Sprintf("admin-%d", i)),
		}, b.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: access entry for %s: %w", principal, err)
		}
		assoc, err := eks.NewAccessPolicyAssociation(b.ctx, naming.Child(b.name, "admin-policy", i), &eks.AccessPolicyAssociationArgs{
			ClusterName:  cp.Name,
			PrincipalArn: entry.PrincipalArn,
			PolicyArn:    pulumi.Sprintf("arn:%s:eks::aws:cluster-access-policy/%s", b.args.Partition, ClusterAdminPolicy),
			AccessScope:  &eks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
		}, b.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: admin policy for %s: %w", principal, err)
		}
		ready = append(ready, assoc)
	}
	return ready, nil
}

// oidcProvider registers the cluster's OIDC issuer with IAM, so that service accounts can assume
// IAM roles (IRSA) instead of borrowing the node role.
func (b *builder) oidcProvider(c *Cluster, cp *eks.Cluster) error {
	issuer := cp.Identities.Index(pulumi.Int(0)).Oidcs().Index(pulumi.Int(0)).Issuer().Elem()
	p, err := iam.NewOpenIdConnectProvider(b.ctx, naming.Child(b.name, "oidc"), &iam.OpenIdConnectProviderArgs{
		Url:           issuer,
		ClientIdLists: pulumi.StringArray{pulumi.String("sts.amazonaws.com")},
		Tags:          b.tags("oidc"),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("cluster: OIDC provider: %w", err)
	}
	c.OidcProviderArn = p.Arn
	return nil
}
