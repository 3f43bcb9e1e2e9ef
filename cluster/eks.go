package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/iampolicy"
	"github.com/outside-in/outside-in/internal/kubewait"
	"github.com/outside-in/outside-in/internal/naming"
)

// EKSArgs configures an EKS cluster.
type EKSArgs struct {
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
	// Viewers are IAM principal ARNs that read everything in the cluster and change nothing
	// (AdminViewPolicy): a CI role that previews or refreshes the stack.
	Viewers []string
	// ExtraAccess are further principals with their access policies (the CI deploy role).
	ExtraAccess []AccessGrant

	Nodes NodeGroupArgs

	// Region and Partition of the account; Kubeconfig says how kubectl authenticates.
	Region     string
	Partition  string
	Kubeconfig KubeconfigArgs
	// WaitForAPI, when set, is asked before the Kubernetes provider is built (not on preview).
	WaitForAPI APIWaiter

	NamePrefix string
	Tags       map[string]string
}

// AccessGrant gives a principal access to the cluster: an EKS access policy, or Kubernetes
// groups that the cluster's own RBAC binds (for rights narrower than any access policy).
type AccessGrant struct {
	// Name is the grant's stable part of its resources' names (e.g. ci-deploy).
	Name         string
	PrincipalArn pulumi.StringInput
	// Policy is an EKS access policy name, e.g. AmazonEKSClusterAdminPolicy; empty for none.
	Policy string
	// KubernetesGroups are the groups the principal's requests carry.
	KubernetesGroups []string
}

// NodeGroupArgs sizes the nodes: the managed node group in EKS mode, the agents in k3s mode.
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

// EKS is the EKS cluster component.
type EKS struct {
	pulumi.ResourceState
}

// builder carries what the steps of NewEKS share.
type builder struct {
	ctx    *pulumi.Context
	name   string
	args   EKSArgs
	parent pulumi.ResourceOption
}

func (b *builder) tags(role string) pulumi.StringMap {
	return naming.Tags(b.args.Tags, b.args.NamePrefix+"-"+role)
}

// NewEKS builds the EKS cluster and its Kubernetes provider.
func NewEKS(ctx *pulumi.Context, name string, args EKSArgs, opts ...pulumi.ResourceOption) (*Result, error) {
	for _, addon := range Addons {
		if args.AddonVersions[addon] == "" {
			return nil, fmt.Errorf("cluster: no version for add-on %s", addon)
		}
	}
	c := &EKS{}
	if err := ctx.RegisterComponentResource("outside-in:cluster:Cluster", name, c, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, args: args, parent: pulumi.Parent(c)}

	key, err := kms.NewKey(ctx, naming.Child(name, "secrets-key"), &kms.KeyArgs{
		Description:          pulumi.Sprintf("Envelope encryption of Kubernetes secrets in EKS cluster %s", args.Name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(7),
		Tags:                 b.tags("secrets-key"),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("cluster: secrets key: %w", err)
	}
	clusterRole, clusterRoleReady, err := b.role("cluster-role", "eks.amazonaws.com", ClusterRolePolicies)
	if err != nil {
		return nil, err
	}
	// EKS uses the key as the cluster role: without these, creating the cluster with secrets
	// encryption fails on a real account.
	keyAccess, err := iam.NewRolePolicy(ctx, naming.Child(name, "cluster-role-kms"), &iam.RolePolicyArgs{
		Role: clusterRole.ID(),
		Policy: key.Arn.ApplyT(func(arn string) string {
			return ClusterKeyPolicy(arn).JSON()
		}).(pulumi.StringOutput),
	}, b.parent)
	if err != nil {
		return nil, fmt.Errorf("cluster: cluster role key policy: %w", err)
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
	}, b.parent, pulumi.DependsOn(append(clusterRoleReady, logs, keyAccess)))
	if err != nil {
		return nil, fmt.Errorf("cluster: control plane: %w", err)
	}

	admins, err := b.accessEntries(cp)
	if err != nil {
		return nil, err
	}
	if err := b.oidcProvider(cp); err != nil {
		return nil, err
	}
	nodes, err := b.nodeGroup(cp)
	if err != nil {
		return nil, err
	}

	kubeconfig := pulumi.ToSecret(Kubeconfig(cp, args.Region, args.Kubeconfig)).(pulumi.StringOutput)
	// Environment stacks authenticate as whoever runs them (the CI environments role, a
	// developer), never through the admin's kubeconfigRoleArn or profile, which they may not use.
	environmentKubeconfig := pulumi.ToSecret(Kubeconfig(cp, args.Region, KubeconfigArgs{})).(pulumi.StringOutput)
	// A new access entry is refused for a short while after EKS reports it created: the
	// provider is given the kubeconfig only once the API accepts it.
	ready := gateOnAPI(ctx, kubeconfig, admins, args.WaitForAPI, kubewait.DefaultOptions)
	provider, err := kubernetes.NewProvider(ctx, naming.Child(name, "k8s"), &kubernetes.ProviderArgs{
		Kubeconfig: ready,
	}, b.parent, pulumi.DependsOn(append([]pulumi.Resource{cp}, admins...)))
	if err != nil {
		return nil, fmt.Errorf("cluster: kubernetes provider: %w", err)
	}
	if err := b.clusterAutoscaler(cp, provider, nodes.ready); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"name":                      cp.Name,
		"endpoint":                  cp.Endpoint,
		"nodeSecurityGroupId":       nodes.securityGroupID,
		"nodeAutoscalingGroupNames": nodes.autoscalingGroupNames,
		"kubeconfig":                kubeconfig,
	}); err != nil {
		return nil, fmt.Errorf("cluster: registering outputs: %w", err)
	}
	return &Result{
		Name:                      cp.Name,
		Kubeconfig:                kubeconfig,
		EnvironmentKubeconfig:     environmentKubeconfig,
		Provider:                  provider,
		NodeSecurityGroupID:       nodes.securityGroupID,
		NodeAutoscalingGroupNames: nodes.autoscalingGroupNames,
		Arch:                      args.Nodes.Arch,
		Ready:                     nodes.ready,
	}, nil
}

// ClusterAdminPolicy is the EKS access policy given to every admin principal.
const ClusterAdminPolicy = "AmazonEKSClusterAdminPolicy"

// AdminViewPolicy is get, list and watch on every resource, Secrets and RBAC objects included:
// what refreshing a stack's Kubernetes objects and Helm releases needs.
const AdminViewPolicy = "AmazonEKSAdminViewPolicy"

// ClusterKeyPolicy lets the cluster role use the secrets key, and only that key (EKS user guide,
// "Encrypt Kubernetes secrets with KMS").
func ClusterKeyPolicy(keyArn string) iampolicy.Document {
	return iampolicy.New(iampolicy.Statement{
		Sid:      "UseTheSecretsKey",
		Effect:   "Allow",
		Action:   []string{"kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListGrants"},
		Resource: []string{keyArn},
	})
}

// AdminGrantName names an admin's access entry after its principal, not its place in the list:
// when the list changes (another identity runs Pulumi, a role is added or removed) entries are
// only added or deleted, never replaced, so two entries for one principal never exist at once.
func AdminGrantName(principal string) string { return grantName("admin", principal) }

// ViewGrantName names a viewer's access entry the same way.
func ViewGrantName(principal string) string { return grantName("view", principal) }

func grantName(kind, principal string) string {
	sum := sha256.Sum256([]byte(principal))
	return kind + "-" + hex.EncodeToString(sum[:])[:8]
}

// accessEntries gives each admin principal cluster-admin and each extra grant its policy, and
// returns the policy associations.
func (b *builder) accessEntries(cp *eks.Cluster) ([]pulumi.Resource, error) {
	grants := make([]AccessGrant, 0, len(b.args.Admins)+len(b.args.Viewers)+len(b.args.ExtraAccess))
	for _, principal := range b.args.Admins {
		grants = append(grants, AccessGrant{Name: AdminGrantName(principal), PrincipalArn: pulumi.String(principal), Policy: ClusterAdminPolicy})
	}
	for _, principal := range b.args.Viewers {
		grants = append(grants, AccessGrant{Name: ViewGrantName(principal), PrincipalArn: pulumi.String(principal), Policy: AdminViewPolicy})
	}
	grants = append(grants, b.args.ExtraAccess...)
	var ready []pulumi.Resource
	for _, g := range grants {
		entryArgs := &eks.AccessEntryArgs{
			ClusterName:  cp.Name,
			PrincipalArn: g.PrincipalArn,
			Type:         pulumi.String("STANDARD"),
			Tags:         b.tags("access-" + g.Name),
		}
		if len(g.KubernetesGroups) > 0 {
			entryArgs.KubernetesGroups = pulumi.ToStringArray(g.KubernetesGroups)
		}
		entry, err := eks.NewAccessEntry(b.ctx, naming.Child(b.name, "access-"+g.Name), entryArgs, b.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: access entry %s: %w", g.Name, err)
		}
		if g.Policy == "" {
			ready = append(ready, entry)
			continue
		}
		assoc, err := eks.NewAccessPolicyAssociation(b.ctx, naming.Child(b.name, "access-"+g.Name+"-policy"), &eks.AccessPolicyAssociationArgs{
			ClusterName:  cp.Name,
			PrincipalArn: entry.PrincipalArn,
			PolicyArn:    pulumi.Sprintf("arn:%s:eks::aws:cluster-access-policy/%s", b.args.Partition, g.Policy),
			AccessScope:  &eks.AccessPolicyAssociationAccessScopeArgs{Type: pulumi.String("cluster")},
		}, b.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: access policy of %s: %w", g.Name, err)
		}
		ready = append(ready, assoc)
	}
	return ready, nil
}

// oidcProvider registers the cluster's OIDC issuer with IAM, so that service accounts can assume
// IAM roles (IRSA) instead of borrowing the node role.
func (b *builder) oidcProvider(cp *eks.Cluster) error {
	issuer := cp.Identities.Index(pulumi.Int(0)).Oidcs().Index(pulumi.Int(0)).Issuer().Elem()
	if _, err := iam.NewOpenIdConnectProvider(b.ctx, naming.Child(b.name, "oidc"), &iam.OpenIdConnectProviderArgs{
		Url:           issuer,
		ClientIdLists: pulumi.StringArray{pulumi.String("sts.amazonaws.com")},
		Tags:          b.tags("oidc"),
	}, b.parent); err != nil {
		return fmt.Errorf("cluster: OIDC provider: %w", err)
	}
	return nil
}
