package program

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/envname"
	"github.com/outside-in/outside-in/internal/iampolicy"
	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/internal/naming"
)

// Platform outputs: what an environment stack reads through its StackReference.
const (
	OutputEnvDomain             = "envDomain"
	OutputEnvironmentKubeconfig = "environmentKubeconfig"
	OutputIngressClass          = "ingressClass"
	OutputControllerNamespace   = "controllerNamespace"
	OutputControllerPodLabels   = "controllerPodLabels"
)

// GitHubTokenIssuer is GitHub Actions' OIDC issuer.
const GitHubTokenIssuer = "token.actions.githubusercontent.com"

// Environments is the platform's component for environment stacks: the RBAC of the
// environments group.
type Environments struct {
	pulumi.ResourceState
}

// GitHubAccess is the platform's component for CI: the GitHub OIDC provider and the CI roles.
type GitHubAccess struct {
	pulumi.ResourceState
}

// exportPlatform exports what environment stacks need, and lets the environments group manage
// environment namespaces.
func exportPlatform(ctx *pulumi.Context, cfg Config, k8s *cluster.Result) error {
	c := &Environments{}
	if err := ctx.RegisterComponentResource("outside-in:platform:Environments", "environments", c); err != nil {
		return err
	}
	if err := environmentsRBAC(ctx, c, k8s); err != nil {
		return err
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"group": pulumi.String(cluster.EnvironmentsGroup)}); err != nil {
		return fmt.Errorf("platform: registering outputs: %w", err)
	}
	ctx.Export(OutputEnvDomain, pulumi.String(cfg.EnvDomain))
	ctx.Export(OutputEnvironmentKubeconfig, k8s.EnvironmentKubeconfig)
	ctx.Export(OutputIngressClass, pulumi.String(ingress.IngressClass))
	ctx.Export(OutputControllerNamespace, pulumi.String(ingress.ControllerNamespace))
	ctx.Export(OutputControllerPodLabels, pulumi.ToStringMap(ingress.ControllerSelector))
	return nil
}

// EnvironmentsRules are what an environment stack may do in the platform's cluster: create and
// delete namespaces (it makes one of its own) and manage, inside namespaces, the kinds of
// object an environment declares. No cluster-wide object besides namespaces, no RBAC, no
// secrets of other kinds of workload.
//
// Reading what those objects make is part of deploying them: pulumi-kubernetes waits for a
// Deployment by watching its ReplicaSets and Pods, and for a Service by its endpoints, and
// reports their events; without read access its watches fail and `env up` times out.
var EnvironmentsRules = []struct {
	Groups, Resources, Verbs []string
}{
	{[]string{""}, []string{"namespaces"}, manageVerbs},
	{[]string{""}, []string{"configmaps", "services", "resourcequotas", "limitranges"}, manageVerbs},
	{[]string{"apps"}, []string{"deployments"}, manageVerbs},
	{[]string{"policy"}, []string{"poddisruptionbudgets"}, manageVerbs},
	{[]string{"networking.k8s.io"}, []string{"ingresses", "networkpolicies"}, manageVerbs},
	{[]string{""}, []string{"pods", "pods/log", "endpoints", "events"}, readVerbs},
	{[]string{"apps"}, []string{"replicasets"}, readVerbs},
	{[]string{"discovery.k8s.io"}, []string{"endpointslices"}, readVerbs},
	{[]string{"events.k8s.io"}, []string{"events"}, readVerbs},
}

var (
	manageVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	readVerbs   = []string{"get", "list", "watch"}
)

// environmentsRBAC binds EnvironmentsGroup to a ClusterRole with EnvironmentsRules.
func environmentsRBAC(ctx *pulumi.Context, parent pulumi.Resource, k8s *cluster.Result) error {
	var rules rbacv1.PolicyRuleArray
	for _, r := range EnvironmentsRules {
		rules = append(rules, &rbacv1.PolicyRuleArgs{
			ApiGroups: pulumi.ToStringArray(r.Groups),
			Resources: pulumi.ToStringArray(r.Resources),
			Verbs:     pulumi.ToStringArray(r.Verbs),
		})
	}
	name := "outside-in-environments"
	labels := pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String(kubemeta.PartOf)}
	opts := []pulumi.ResourceOption{pulumi.Parent(parent), pulumi.Provider(k8s.Provider), pulumi.DependsOn(k8s.Ready)}
	role, err := rbacv1.NewClusterRole(ctx, "environments-role", &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: labels},
		Rules:    rules,
	}, opts...)
	if err != nil {
		return fmt.Errorf("platform: environments role: %w", err)
	}
	if _, err := rbacv1.NewClusterRoleBinding(ctx, "environments-binding", &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(name), Labels: labels},
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"), Name: role.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Group"), Name: pulumi.String(cluster.EnvironmentsGroup),
		}},
	}, opts...); err != nil {
		return fmt.Errorf("platform: environments binding: %w", err)
	}
	return nil
}

// GitHubTrust lets GitHub Actions workflows of one repository assume a role, from the given
// subjects only (repo:<owner/name>:pull_request, …:environment:<name>, …).
func GitHubTrust(providerArn, repository string, subjects []string) iampolicy.Document {
	subs := make([]string, len(subjects))
	for i, s := range subjects {
		subs[i] = "repo:" + repository + ":" + s
	}
	return iampolicy.New(iampolicy.Statement{
		Effect:    "Allow",
		Principal: map[string][]string{"Federated": {providerArn}},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string]any{
			"StringEquals": {GitHubTokenIssuer + ":aud": "sts.amazonaws.com"},
			"StringLike":   {GitHubTokenIssuer + ":sub": subs},
		},
	})
}

// newCIRoles gives the repository's workflows three roles. The environments role (pull requests
// and main) can do nothing in AWS; its access entry puts it in EnvironmentsGroup, enough to
// create and remove environment stacks. The read-only role (the same workflows) previews and
// checks drift. The deploy role, only for the listed GitHub environments (approval gates live
// there), can update the platform itself.
func newCIRoles(ctx *pulumi.Context, cfg Config, facts Facts) (roles ciRoles, err error) {
	c := &GitHubAccess{}
	if err := ctx.RegisterComponentResource("outside-in:platform:GitHubAccess", "github", c); err != nil {
		return roles, err
	}
	parent := pulumi.Parent(c)
	// GitHub's issuer can be registered once per account; a second platform in the account
	// names the first one's provider instead of creating another.
	providerArn := pulumi.String(cfg.GithubOidc.ProviderArn).ToStringOutput()
	if cfg.GithubOidc.ProviderArn == "" {
		provider, err := iam.NewOpenIdConnectProvider(ctx, "github-oidc", &iam.OpenIdConnectProviderArgs{
			Url:           pulumi.String("https://" + GitHubTokenIssuer),
			ClientIdLists: pulumi.StringArray{pulumi.String("sts.amazonaws.com")},
			Tags:          naming.Tags(cfg.SharedTags(), cfg.NamePrefix()+"-github-oidc"),
		}, parent)
		if err != nil {
			return roles, fmt.Errorf("platform: GitHub OIDC provider: %w", err)
		}
		providerArn = provider.Arn
	}
	role := func(name, description string, subjects []string) (*iam.Role, error) {
		return iam.NewRole(ctx, naming.Child("github", name), &iam.RoleArgs{
			Name: pulumi.String(CIRoleName(cfg, name)),
			AssumeRolePolicy: providerArn.ApplyT(func(arn string) string {
				return GitHubTrust(arn, cfg.GithubOidc.Repository, subjects).JSON()
			}).(pulumi.StringOutput),
			Description:        pulumi.String(description),
			MaxSessionDuration: pulumi.Int(3600),
			Tags:               naming.Tags(cfg.SharedTags(), cfg.NamePrefix()+"-"+name),
		}, parent)
	}
	prAndMain := []string{"pull_request", "ref:refs/heads/main"}
	envRole, err := role(CIEnvironments, "outside-in CI: environment stacks of "+cfg.GithubOidc.Repository, prAndMain)
	if err != nil {
		return roles, fmt.Errorf("platform: CI environments role: %w", err)
	}
	roles.environments = envRole.Arn
	// Previews on pull requests and the scheduled drift check read the account and change
	// nothing: a role of their own, read-only.
	readRole, err := role(CIReadOnly, "outside-in CI: previews and drift checks of "+cfg.GithubOidc.Repository, prAndMain)
	if err != nil {
		return roles, fmt.Errorf("platform: CI read-only role: %w", err)
	}
	if _, err := iam.NewRolePolicyAttachment(ctx, naming.Child("github", "ci-readonly-policy"), &iam.RolePolicyAttachmentArgs{
		Role:      readRole.Name,
		PolicyArn: pulumi.Sprintf("arn:%s:iam::aws:policy/ReadOnlyAccess", facts.Partition),
	}, parent); err != nil {
		return roles, fmt.Errorf("platform: CI read-only policy: %w", err)
	}
	ctx.Export("ciReadOnlyRoleArn", readRole.Arn)
	roles.readOnly = readRole.Arn
	outputs := pulumi.Map{"environmentsRoleArn": envRole.Arn, "readOnlyRoleArn": readRole.Arn}
	withState := []stateGrant{
		{envRole, func(partition, bucket string) iampolicy.Document {
			return EnvironmentStatePolicy(partition, bucket, cfg.Project)
		}},
		{readRole, StateReadPolicy},
	}
	if len(cfg.GithubOidc.Environments) == 0 {
		if err := stateAccess(ctx, cfg, facts.Partition, parent, withState); err != nil {
			return roles, err
		}
		return roles, ctx.RegisterResourceOutputs(c, outputs)
	}
	var subjects []string
	for _, e := range cfg.GithubOidc.Environments {
		subjects = append(subjects, "environment:"+e)
	}
	deployRole, err := role(CIDeploy, "outside-in CI: deploys the platform from "+cfg.GithubOidc.Repository, subjects)
	if err != nil {
		return roles, fmt.Errorf("platform: CI deploy role: %w", err)
	}
	for i, policy := range DeployManagedPolicies {
		if _, err := iam.NewRolePolicyAttachment(ctx, naming.Child("github", "ci-deploy-policy", i), &iam.RolePolicyAttachmentArgs{
			Role:      deployRole.Name,
			PolicyArn: pulumi.Sprintf("arn:%s:iam::aws:policy/%s", facts.Partition, policy),
		}, parent); err != nil {
			return roles, fmt.Errorf("platform: CI deploy role policy %s: %w", policy, err)
		}
	}
	if _, err := iam.NewRolePolicy(ctx, naming.Child("github", "ci-deploy"), &iam.RolePolicyArgs{
		Role:   deployRole.ID(),
		Policy: pulumi.String(DeployInlinePolicy().JSON()),
	}, parent); err != nil {
		return roles, fmt.Errorf("platform: CI deploy role inline policy: %w", err)
	}
	outputs["deployRoleArn"] = deployRole.Arn
	withState = append(withState, stateGrant{deployRole, StateBucketPolicy})
	if err := stateAccess(ctx, cfg, facts.Partition, parent, withState); err != nil {
		return roles, err
	}
	roles.deploy = deployRole.Arn
	return roles, ctx.RegisterResourceOutputs(c, outputs)
}

// The CI roles a platform with githubOidc makes; the deploy role only with GitHub environments.
const (
	CIEnvironments = "ci-environments"
	CIReadOnly     = "ci-readonly"
	CIDeploy       = "ci-deploy"
)

// CIRoleName is the IAM name of one of the stack's CI roles, <project>-<stack>-<kind>: fixed,
// so that the program knows the roles' ARNs before they exist and can tell when one of them is
// running it. IAM role names are unique in the account and at most 64 characters; a longer
// name keeps its start and ends with a hash of the whole.
func CIRoleName(cfg Config, kind string) string {
	name := cfg.NamePrefix() + "-" + kind
	if len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:64-9] + "-" + hex.EncodeToString(sum[:])[:8]
}

// CIRoleArns are the ARNs the stack's CI roles will have, none without githubOidc.
func CIRoleArns(cfg Config, partition, accountID string) []string {
	if cfg.GithubOidc.Repository == "" {
		return nil
	}
	kinds := []string{CIEnvironments, CIReadOnly}
	if len(cfg.GithubOidc.Environments) > 0 {
		kinds = append(kinds, CIDeploy)
	}
	var arns []string
	for _, k := range kinds {
		arns = append(arns, fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, accountID, CIRoleName(cfg, k)))
	}
	return arns
}

// StateBucketPolicy lets the deploy role read and write every stack's state in the backend's
// bucket, and nothing else of S3.
func StateBucketPolicy(partition, bucket string) iampolicy.Document {
	arn := fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
	return iampolicy.New(
		listState(arn),
		iampolicy.Statement{Sid: "ReadWriteState", Effect: "Allow", Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Resource: []string{arn + "/*"}},
	)
}

// StateReadPolicy lets the read-only role read the stacks' state: a preview, even with
// --refresh, takes no lock and writes nothing.
func StateReadPolicy(partition, bucket string) iampolicy.Document {
	arn := fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
	return iampolicy.New(listState(arn), readState(arn))
}

// EnvironmentStatePolicy lets the environments role read every stack's state (an environment
// reads its platform's outputs) and write only the pull requests' environment stacks
// (pr-<number>), so a pull request's job cannot rewrite the state of the platform or of any
// other long-lived stack.
func EnvironmentStatePolicy(partition, bucket, project string) iampolicy.Document {
	arn := fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
	var keys []string
	for _, k := range envname.StateKeys(project, envname.PullRequestPrefix) {
		keys = append(keys, arn+"/"+k)
	}
	return iampolicy.New(listState(arn), readState(arn),
		iampolicy.Statement{Sid: "WritePullRequestStacks", Effect: "Allow", Action: []string{"s3:PutObject", "s3:DeleteObject"}, Resource: keys})
}

func listState(bucketArn string) iampolicy.Statement {
	return iampolicy.Statement{Sid: "ListState", Effect: "Allow", Action: []string{"s3:ListBucket", "s3:GetBucketLocation"}, Resource: []string{bucketArn}}
}

func readState(bucketArn string) iampolicy.Statement {
	return iampolicy.Statement{Sid: "ReadState", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{bucketArn + "/*"}}
}

// stateGrant is a CI role and its access to the backend's bucket.
type stateGrant struct {
	role   *iam.Role
	policy func(partition, bucket string) iampolicy.Document
}

// stateAccess gives the CI roles the backend's bucket, when it is one.
func stateAccess(ctx *pulumi.Context, cfg Config, partition string, parent pulumi.ResourceOption, grants []stateGrant) error {
	if cfg.GithubOidc.StateBucket == "" {
		return nil
	}
	for i, g := range grants {
		if _, err := iam.NewRolePolicy(ctx, naming.Child("github", "state", i), &iam.RolePolicyArgs{
			Role:   g.role.ID(),
			Policy: pulumi.String(g.policy(partition, cfg.GithubOidc.StateBucket).JSON()),
		}, parent); err != nil {
			return fmt.Errorf("platform: state bucket access: %w", err)
		}
	}
	return nil
}

// DeployManagedPolicies and DeployInlinePolicy are what `pulumi up` of a full stack needs (the
// README's prerequisites list the same). AWS has no managed policy for EKS, KMS key
// administration or SSM parameters, hence the inline part.
var DeployManagedPolicies = []string{
	"AmazonEC2FullAccess", "IAMFullAccess", "AmazonRoute53FullAccess",
	"AWSCertificateManagerFullAccess", "CloudWatchLogsFullAccess",
}

// DeployInlinePolicy covers EKS, KMS keys, SSM parameters and the caller identity.
func DeployInlinePolicy() iampolicy.Document {
	return iampolicy.New(iampolicy.Statement{
		Sid:      "ClusterKeysParameters",
		Effect:   "Allow",
		Action:   []string{"eks:*", "kms:*", "ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource", "ssm:DescribeParameters", "sts:GetCallerIdentity"},
		Resource: []string{"*"},
	})
}
