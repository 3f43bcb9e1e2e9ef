package program

import (
	"fmt"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/iampolicy"
	"github.com/outside-in/outside-in/internal/naming"
	"github.com/outside-in/outside-in/internal/published"
)

// Platform outputs: what an environment stack reads, through the platform's published document.
const (
	OutputEnvDomain             = "envDomain"
	OutputEnvironmentKubeconfig = "environmentKubeconfig"
	OutputIngressClass          = "ingressClass"
	OutputControllerNamespace   = "controllerNamespace"
	OutputControllerPodLabels   = "controllerPodLabels"
	// OutputRouting is the platform's routing: how its environments route their apps.
	// OutputGatewayAPI says whether its Gateway API stays beside Ingress routing (the first
	// step back from gateway), when its environments keep their HTTPRoutes too.
	OutputRouting    = "routing"
	OutputGatewayAPI = "gatewayApi"
)

// exportRouting exports how the stack's apps are routed, which check reads.
func exportRouting(ctx *pulumi.Context, routing string) {
	ctx.Export(OutputRouting, pulumi.String(routing))
}

// withPriorities declares the stack's PriorityClasses (guardrails.PriorityClasses: the
// platform's, and on a platform for environments the environments' too) and returns the
// cluster with them among what the in-cluster layers wait for: the API server refuses a pod
// whose class does not exist yet.
func withPriorities(ctx *pulumi.Context, cfg Config, k8s *cluster.Result) (*cluster.Result, error) {
	p, err := guardrails.NewPriorities(ctx, "priorities", guardrails.PrioritiesArgs{
		Platform: cfg.EnvDomain != "",
		Provider: k8s.Provider,
		Ready:    k8s.Ready,
	})
	if err != nil {
		return nil, fmt.Errorf("platform: %w", err)
	}
	out := *k8s
	out.Ready = append(slices.Clone(k8s.Ready), p.Classes...)
	return &out, nil
}

// GitHubAccess is the platform's component for CI: the GitHub OIDC provider and the CI roles.
type GitHubAccess struct {
	pulumi.ResourceState
}

// exportPlatform exports what environment stacks need, publishes it for them (publish), and
// declares the guardrails that let the environments group manage environment namespaces and
// nothing else. shared are the stack's outputs that an environment's check reads too.
func exportPlatform(ctx *pulumi.Context, cfg Config, facts Facts, k8s *cluster.Result, shared pulumi.Map, ci ciRoles) error {
	if _, err := guardrails.NewEnvironments(ctx, "environments", guardrails.EnvironmentsArgs{
		Platform: guardrails.Platform{
			EnvDomain: cfg.EnvDomain, IngressClass: ingress.IngressClass,
			GatewayNamespace: ingress.GatewayNamespace, GatewayName: ingress.GatewayName,
		},
		Provider: k8s.Provider,
		Ready:    k8s.Ready,
	}); err != nil {
		return fmt.Errorf("platform: %w", err)
	}
	own := pulumi.Map{
		OutputEnvDomain:             pulumi.String(cfg.EnvDomain),
		OutputEnvironmentKubeconfig: k8s.EnvironmentKubeconfig,
		OutputIngressClass:          pulumi.String(ingress.IngressClass),
		OutputControllerNamespace:   pulumi.String(ingress.ControllerNamespace),
		OutputControllerPodLabels:   pulumi.ToStringMap(ingress.ControllerSelector),
	}
	outputs := pulumi.Map{}
	for k, v := range own {
		ctx.Export(k, v)
		outputs[k] = v
	}
	for k, v := range shared {
		outputs[k] = v
	}
	// Exported by every stack (exportRouting); published for the environments, which route
	// the same way.
	outputs[OutputRouting] = pulumi.String(cfg.Routing)
	outputs[OutputGatewayAPI] = pulumi.Bool(cfg.GatewayAPI)
	return publish(ctx, cfg, facts, outputs, ci)
}

// Platform is the platform's component for what it hands environments: the published
// document, its key, and the environments role's right to read them.
type Platform struct {
	pulumi.ResourceState
}

// publish writes the document environments read (internal/published) to its SSM parameter,
// encrypted with a key of its own whose policy lets principals use it only through Parameter
// Store for that parameter, and lets the CI environments role read it and describe the AWS path
// `env check` walks. The environments role reads nothing else of the platform: not its state.
func publish(ctx *pulumi.Context, cfg Config, facts Facts, outputs pulumi.Map, ci ciRoles) error {
	c := &Platform{}
	if err := ctx.RegisterComponentResource("outside-in:platform:Published", "published", c); err != nil {
		return err
	}
	parent := pulumi.Parent(c)
	name := published.ParameterName(cfg.Project, cfg.Stack)
	parameterArn := fmt.Sprintf("arn:%s:ssm:%s:%s:parameter%s", facts.Partition, facts.Region, facts.AccountID, name)
	key, err := kms.NewKey(ctx, "published-key", &kms.KeyArgs{
		Description:          pulumi.Sprintf("outside-in: encrypts %s, what platform %s publishes for its environments", name, cfg.Stack),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(7),
		Policy:               pulumi.String(guardrails.PublishedKeyPolicy(facts.Partition, facts.AccountID, parameterArn).JSON()),
		Tags:                 naming.Tags(cfg.SharedTags(), cfg.NamePrefix()+"-published"),
	}, parent)
	if err != nil {
		return fmt.Errorf("platform: published document key: %w", err)
	}
	// The document waits for the outputs it holds, and for no other.
	document := pulumi.Map{}
	for _, k := range published.Keys {
		if v, ok := outputs[k]; ok {
			document[k] = v
		}
	}
	value := document.ToMapOutput().ApplyT(func(m map[string]any) (string, error) {
		return published.Document(m)
	}).(pulumi.StringOutput)
	if _, err := ssm.NewParameter(ctx, "published-parameter", &ssm.ParameterArgs{
		Name:        pulumi.String(name),
		Type:        pulumi.String("SecureString"),
		Tier:        pulumi.String("Standard"),
		KeyId:       key.Arn,
		Value:       pulumi.ToSecret(value).(pulumi.StringOutput),
		Description: pulumi.Sprintf("outside-in: what platform %s hands its environments (envDomain, the environments kubeconfig, the controller, the load balancer)", cfg.Stack),
		Tags:        naming.Tags(cfg.SharedTags(), cfg.NamePrefix()+"-published"),
	}, parent); err != nil {
		return fmt.Errorf("platform: published document: %w", err)
	}
	ctx.Export("publishedParameter", pulumi.String(name))
	if ci.envRole == nil {
		return ctx.RegisterResourceOutputs(c, pulumi.Map{"parameter": pulumi.String(name)})
	}
	// The environments role reads the document; the read-only role's drift check refreshes
	// the parameter, which reads its value too (ReadOnlyAccess has no kms:Decrypt).
	readers := map[string]*iam.Role{"environments": ci.envRole, "drift": ci.readRole}
	for _, who := range naming.SortedKeys(readers) {
		if _, err := iam.NewRolePolicy(ctx, "published-"+who+"-read", &iam.RolePolicyArgs{
			Role: readers[who].ID(),
			Policy: key.Arn.ApplyT(func(keyArn string) string {
				return guardrails.PublishedReadPolicy(parameterArn, keyArn).JSON()
			}).(pulumi.StringOutput),
		}, parent); err != nil {
			return fmt.Errorf("platform: %s role's read of the published document: %w", who, err)
		}
	}
	zoneID := pulumi.ToOutput(document["zoneId"]).ApplyT(func(v any) string {
		id, _ := v.(string)
		return id
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, "published-environments-check", &iam.RolePolicyArgs{
		Role: ci.envRole.ID(),
		Policy: zoneID.ApplyT(func(id string) string {
			return guardrails.CheckReadPolicy(facts.Partition, facts.Region, facts.AccountID, id).JSON()
		}).(pulumi.StringOutput),
	}, parent); err != nil {
		return fmt.Errorf("platform: environments role's reads for env check: %w", err)
	}
	return ctx.RegisterResourceOutputs(c, pulumi.Map{"parameter": pulumi.String(name)})
}

// newCIRoles gives the repository's workflows three roles. The environments role (pull requests
// and main) can do nothing in AWS; its access entry puts it in EnvironmentsGroup, enough to
// create and remove environment stacks. The read-only role (the same workflows) previews and
// checks drift. The deploy role, only for jobs on main in the listed GitHub environments
// (approval gates live there), can update the platform itself.
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
			Url:           pulumi.String("https://" + guardrails.GitHubTokenIssuer),
			ClientIdLists: pulumi.StringArray{pulumi.String("sts.amazonaws.com")},
			Tags:          naming.Tags(cfg.SharedTags(), cfg.NamePrefix()+"-github-oidc"),
		}, parent)
		if err != nil {
			return roles, fmt.Errorf("platform: GitHub OIDC provider: %w", err)
		}
		providerArn = provider.Arn
	}
	// trust is built once the provider's ARN is known; it holds no resource.
	role := func(name, description string, trust func(guardrails.GitHubOIDC) iampolicy.Document) (*iam.Role, error) {
		return iam.NewRole(ctx, naming.Child("github", name), &iam.RoleArgs{
			Name: pulumi.String(guardrails.CIRoleName(cfg.NamePrefix(), name)),
			AssumeRolePolicy: providerArn.ApplyT(func(arn string) string {
				return trust(guardrails.GitHubOIDC{ProviderArn: arn, Repository: cfg.GithubOidc.Repository,
					Template: guardrails.SubjectTemplate(cfg.GithubOidc.SubjectTemplate)}).JSON()
			}).(pulumi.StringOutput),
			Description:        pulumi.String(description),
			MaxSessionDuration: pulumi.Int(3600),
			Tags:               naming.Tags(cfg.SharedTags(), cfg.NamePrefix()+"-"+name),
		}, parent)
	}
	prAndMain := guardrails.GitHubOIDC.PullRequestsAndMain
	envRole, err := role(guardrails.CIEnvironments, "outside-in CI: environment stacks of "+cfg.GithubOidc.Repository, prAndMain)
	if err != nil {
		return roles, fmt.Errorf("platform: CI environments role: %w", err)
	}
	roles.environments, roles.envRole = envRole.Arn, envRole
	// The scheduled drift check reads the account and changes nothing: a role of its own,
	// read-only, for main's job in the drift GitHub environment only. Pull requests get no
	// live preview (their plan is the offline one, which needs no credential).
	readRole, err := role(guardrails.CIReadOnly, "outside-in CI: drift checks of "+cfg.GithubOidc.Repository, guardrails.GitHubOIDC.DriftOnMain)
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
	// The trusts match only the subjects this template gives; the repository sets it (README,
	// "Setting up"), and this output is the API call's body.
	ctx.Export("ciSubjectTemplate", pulumi.String(guardrails.SubjectTemplate(cfg.GithubOidc.SubjectTemplate).Customization()))
	roles.readOnly, roles.readRole = readRole.Arn, readRole
	outputs := pulumi.Map{"environmentsRoleArn": envRole.Arn, "readOnlyRoleArn": readRole.Arn}
	withState := []stateGrant{
		{envRole, func(partition, bucket string) iampolicy.Document {
			return guardrails.EnvironmentStatePolicy(partition, bucket, cfg.Project)
		}},
		{readRole, guardrails.StateReadPolicy},
	}
	if len(cfg.GithubOidc.Environments) == 0 {
		if err := stateAccess(ctx, cfg, facts.Partition, parent, withState); err != nil {
			return roles, err
		}
		return roles, ctx.RegisterResourceOutputs(c, outputs)
	}
	onMain := func(g guardrails.GitHubOIDC) iampolicy.Document {
		return g.EnvironmentsOnMain(cfg.GithubOidc.Environments)
	}
	deployRole, err := role(guardrails.CIDeploy, "outside-in CI: deploys the platform from "+cfg.GithubOidc.Repository, onMain)
	if err != nil {
		return roles, fmt.Errorf("platform: CI deploy role: %w", err)
	}
	for i, policy := range guardrails.DeployManagedPolicies {
		if _, err := iam.NewRolePolicyAttachment(ctx, naming.Child("github", "ci-deploy-policy", i), &iam.RolePolicyAttachmentArgs{
			Role:      deployRole.Name,
			PolicyArn: pulumi.Sprintf("arn:%s:iam::aws:policy/%s", facts.Partition, policy),
		}, parent); err != nil {
			return roles, fmt.Errorf("platform: CI deploy role policy %s: %w", policy, err)
		}
	}
	if _, err := iam.NewRolePolicy(ctx, naming.Child("github", "ci-deploy"), &iam.RolePolicyArgs{
		Role:   deployRole.ID(),
		Policy: pulumi.String(guardrails.DeployInlinePolicy().JSON()),
	}, parent); err != nil {
		return roles, fmt.Errorf("platform: CI deploy role inline policy: %w", err)
	}
	outputs["deployRoleArn"] = deployRole.Arn
	withState = append(withState, stateGrant{deployRole, guardrails.StateBucketPolicy})
	if err := stateAccess(ctx, cfg, facts.Partition, parent, withState); err != nil {
		return roles, err
	}
	roles.deploy = deployRole.Arn
	return roles, ctx.RegisterResourceOutputs(c, outputs)
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

// CIRoleArns are the ARNs the stack's CI roles will have, none without githubOidc.
func CIRoleArns(cfg Config, partition, accountID string) []string {
	if cfg.GithubOidc.Repository == "" {
		return nil
	}
	kinds := []string{guardrails.CIEnvironments, guardrails.CIReadOnly}
	if len(cfg.GithubOidc.Environments) > 0 {
		kinds = append(kinds, guardrails.CIDeploy)
	}
	var arns []string
	for _, k := range kinds {
		arns = append(arns, fmt.Sprintf("arn:%s:iam::%s:role/%s", partition, accountID, guardrails.CIRoleName(cfg.NamePrefix(), k)))
	}
	return arns
}
