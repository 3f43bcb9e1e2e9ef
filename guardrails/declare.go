package guardrails

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	admissionv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/admissionregistration/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	rbacv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/rbac/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/internal/naming"
)

// EnvironmentsRoleName names the environments group's ClusterRole and its binding.
const EnvironmentsRoleName = "outside-in-environments"

// EnvironmentsArgs says where to declare the environments' guardrails.
type EnvironmentsArgs struct {
	Platform Platform
	Provider *kubernetes.Provider
	// Ready are what the objects wait for (the cluster's readiness).
	Ready []pulumi.Resource
}

// Environments is the platform's component for environment stacks: the environments group's
// RBAC and the admission policies that confine it.
type Environments struct {
	pulumi.ResourceState
}

// NewEnvironments declares the ClusterRole of EnvironmentsRules bound to EnvironmentsGroup, and
// each of EnvironmentPolicies with its binding. The binding is declared after its policy: the
// API server refuses nothing while a binding's policy is missing, but a policy without its
// binding enforces nothing either.
func NewEnvironments(ctx *pulumi.Context, name string, args EnvironmentsArgs, opts ...pulumi.ResourceOption) (*Environments, error) {
	c := &Environments{}
	if err := ctx.RegisterComponentResource("outside-in:platform:Environments", name, c, opts...); err != nil {
		return nil, err
	}
	child := []pulumi.ResourceOption{pulumi.Parent(c), pulumi.Provider(args.Provider), pulumi.DependsOn(args.Ready)}
	labels := pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String(kubemeta.PartOf)}
	var rules rbacv1.PolicyRuleArray
	for _, r := range EnvironmentsRules {
		rules = append(rules, &rbacv1.PolicyRuleArgs{
			ApiGroups:     pulumi.ToStringArray(r.Groups),
			Resources:     pulumi.ToStringArray(r.Resources),
			Verbs:         pulumi.ToStringArray(r.Verbs),
			ResourceNames: pulumi.ToStringArray(r.ResourceNames),
		})
	}
	role, err := rbacv1.NewClusterRole(ctx, naming.Child(name, "role"), &rbacv1.ClusterRoleArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(EnvironmentsRoleName), Labels: labels},
		Rules:    rules,
	}, child...)
	if err != nil {
		return nil, fmt.Errorf("guardrails: environments role: %w", err)
	}
	if _, err := rbacv1.NewClusterRoleBinding(ctx, naming.Child(name, "binding"), &rbacv1.ClusterRoleBindingArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(EnvironmentsRoleName), Labels: labels},
		RoleRef: &rbacv1.RoleRefArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("ClusterRole"), Name: role.Metadata.Name().Elem(),
		},
		Subjects: rbacv1.SubjectArray{&rbacv1.SubjectArgs{
			ApiGroup: pulumi.String("rbac.authorization.k8s.io"), Kind: pulumi.String("Group"), Name: pulumi.String(EnvironmentsGroup),
		}},
	}, child...); err != nil {
		return nil, fmt.Errorf("guardrails: environments binding: %w", err)
	}
	for i, p := range EnvironmentPolicies(args.Platform) {
		policy, err := admissionv1.NewValidatingAdmissionPolicy(ctx, naming.Child(name, "policy", i), policyArgs(p, labels), child...)
		if err != nil {
			return nil, fmt.Errorf("guardrails: admission policy %s: %w", p.Name, err)
		}
		binding := &admissionv1.ValidatingAdmissionPolicyBindingSpecArgs{
			PolicyName:        policy.Metadata.Name().Elem(),
			ValidationActions: pulumi.ToStringArray([]string{"Deny"}),
		}
		if p.QuotaParam {
			binding.ParamRef = &admissionv1.ParamRefArgs{
				Name: pulumi.String(EnvironmentQuotaName), ParameterNotFoundAction: pulumi.String("Deny"),
			}
			binding.MatchResources = &admissionv1.MatchResourcesArgs{NamespaceSelector: &metav1.LabelSelectorArgs{
				MatchExpressions: metav1.LabelSelectorRequirementArray{&metav1.LabelSelectorRequirementArgs{
					Key: pulumi.String(EnvironmentLabel), Operator: pulumi.String("Exists"),
				}},
			}}
		}
		if _, err := admissionv1.NewValidatingAdmissionPolicyBinding(ctx, naming.Child(name, "policy-binding", i), &admissionv1.ValidatingAdmissionPolicyBindingArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(p.Name), Labels: labels},
			Spec:     binding,
		}, append(child, pulumi.DependsOn([]pulumi.Resource{policy}))...); err != nil {
			return nil, fmt.Errorf("guardrails: admission policy binding %s: %w", p.Name, err)
		}
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"group": pulumi.String(EnvironmentsGroup)}); err != nil {
		return nil, fmt.Errorf("guardrails: registering outputs: %w", err)
	}
	return c, nil
}

func policyArgs(p AdmissionPolicy, labels pulumi.StringMap) *admissionv1.ValidatingAdmissionPolicyArgs {
	var rules admissionv1.NamedRuleWithOperationsArray
	for _, m := range p.Match {
		r := &admissionv1.NamedRuleWithOperationsArgs{
			ApiGroups:   pulumi.ToStringArray(m.Groups),
			ApiVersions: pulumi.ToStringArray([]string{"*"}),
			Resources:   pulumi.ToStringArray(m.Resources),
			Operations:  pulumi.ToStringArray(m.Operations),
		}
		if m.Namespaced {
			r.Scope = pulumi.String("Namespaced")
		}
		rules = append(rules, r)
	}
	var vars admissionv1.VariableArray
	for _, v := range p.Variables {
		vars = append(vars, &admissionv1.VariableArgs{Name: pulumi.String(v.Name), Expression: pulumi.String(v.Expression)})
	}
	var validations admissionv1.ValidationArray
	for _, v := range p.Validations {
		validations = append(validations, &admissionv1.ValidationArgs{
			Expression: pulumi.String(v.Expression), MessageExpression: pulumi.String(v.Message), Reason: pulumi.String("Forbidden"),
		})
	}
	var conditions admissionv1.MatchConditionArray
	for _, c := range p.MatchConditions() {
		conditions = append(conditions, &admissionv1.MatchConditionArgs{Name: pulumi.String(c[0]), Expression: pulumi.String(c[1])})
	}
	spec := &admissionv1.ValidatingAdmissionPolicySpecArgs{
		FailurePolicy:    pulumi.String("Fail"),
		MatchConstraints: &admissionv1.MatchResourcesArgs{ResourceRules: rules},
		MatchConditions:  conditions,
		Variables:        vars,
		Validations:      validations,
	}
	if p.QuotaParam {
		spec.ParamKind = &admissionv1.ParamKindArgs{ApiVersion: pulumi.String("v1"), Kind: pulumi.String("ResourceQuota")}
	}
	return &admissionv1.ValidatingAdmissionPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(p.Name), Labels: labels,
			Annotations: pulumi.StringMap{"outside-in/why": pulumi.String(p.Why)},
		},
		Spec: spec,
	}
}
