package apps

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/internal/naming"
)

// EnvironmentArgs describes an environment stack's namespace in a platform's cluster.
type EnvironmentArgs struct {
	// Namespace is the environment's namespace (envname.Namespace).
	Namespace string
	// Env, Stack, Owner and ExpiresAt label the namespace, so `kubectl get ns -L` shows whose
	// it is and until when.
	Env, Stack, Owner, ExpiresAt string
	Provider                     *kubernetes.Provider
}

// Environment is an environment's namespace with its quota, limits and default-deny policy.
type Environment struct {
	pulumi.ResourceState

	// Name is the namespace's name; Namespace is the namespace object and Guards its quota
	// and limits, which the apps wait for (the platform refuses a Deployment in a namespace
	// without its quota).
	Name      string
	Namespace pulumi.Resource
	Guards    []pulumi.Resource
}

// NewEnvironment declares the environment's namespace (Pod Security "restricted"), its
// ResourceQuota and LimitRange, and a NetworkPolicy that denies everything its apps do not
// allow.
func NewEnvironment(ctx *pulumi.Context, name string, args EnvironmentArgs, opts ...pulumi.ResourceOption) (*Environment, error) {
	c := &Environment{Name: args.Namespace}
	if err := ctx.RegisterComponentResource(EnvironmentType, name, c, opts...); err != nil {
		return nil, err
	}
	child := []pulumi.ResourceOption{pulumi.Parent(c), pulumi.Provider(args.Provider)}
	labels, annotations := EnvironmentLabels(args)
	ns, err := corev1.NewNamespace(ctx, naming.Child(name, "ns"), &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String(args.Namespace),
			Labels:      pulumi.ToStringMap(kubemeta.Merge(kubemeta.PodSecurityLabels(), labels)),
			Annotations: pulumi.ToStringMap(annotations),
		},
	}, child...)
	if err != nil {
		return nil, fmt.Errorf("apps: environment namespace: %w", err)
	}
	c.Namespace = ns
	inNs := append(child, pulumi.DependsOn([]pulumi.Resource{ns}))
	// The platform refuses an environment's deleting its quota and limits: they are left to go
	// with the namespace, which a destroy deletes last.
	guard := append(inNs, pulumi.RetainOnDelete(true))
	// The namespace alone carries owner and expiry: an env up that only renews the expiry then
	// changes one object, not every object of the environment.
	childLabels := map[string]string{"app.kubernetes.io/part-of": kubemeta.PartOf, guardrails.EnvironmentLabel: args.Env}
	meta := func(n string) *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(n), Namespace: pulumi.String(args.Namespace), Labels: pulumi.ToStringMap(childLabels)}
	}
	quota, err := corev1.NewResourceQuota(ctx, naming.Child(name, "quota"), &corev1.ResourceQuotaArgs{
		Metadata: meta(guardrails.EnvironmentQuotaName),
		Spec:     &corev1.ResourceQuotaSpecArgs{Hard: pulumi.ToStringMap(guardrails.EnvironmentQuota)},
	}, guard...)
	if err != nil {
		return nil, fmt.Errorf("apps: environment quota: %w", err)
	}
	limits, err := corev1.NewLimitRange(ctx, naming.Child(name, "limits"), &corev1.LimitRangeArgs{
		Metadata: meta(guardrails.EnvironmentLimitsName),
		Spec: &corev1.LimitRangeSpecArgs{Limits: corev1.LimitRangeItemArray{&corev1.LimitRangeItemArgs{
			Type:           pulumi.String("Container"),
			DefaultRequest: pulumi.ToStringMap(guardrails.EnvironmentDefaultRequests),
			Default:        pulumi.ToStringMap(guardrails.EnvironmentDefaultLimits),
			Max:            pulumi.ToStringMap(guardrails.EnvironmentMaxLimits),
		}}},
	}, guard...)
	if err != nil {
		return nil, fmt.Errorf("apps: environment limits: %w", err)
	}
	c.Guards = []pulumi.Resource{quota, limits}
	if _, err := networkingv1.NewNetworkPolicy(ctx, naming.Child(name, "default-deny"), DefaultDeny(args.Namespace), inNs...); err != nil {
		return nil, fmt.Errorf("apps: environment default-deny policy: %w", err)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"namespace": pulumi.String(args.Namespace)}); err != nil {
		return nil, fmt.Errorf("apps: environment outputs: %w", err)
	}
	return c, nil
}

var notLabelValue = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// EnvironmentLabels are the namespace's labels (values a label may hold) and annotations (the
// values as given).
func EnvironmentLabels(args EnvironmentArgs) (labels, annotations map[string]string) {
	labels = map[string]string{
		"app.kubernetes.io/part-of": kubemeta.PartOf,
		guardrails.EnvironmentLabel: args.Env,
		"outside-in/stack":          labelValue(args.Stack),
	}
	annotations = map[string]string{"outside-in/stack": args.Stack}
	if args.Owner != "" {
		labels["outside-in/owner"] = labelValue(args.Owner)
		annotations["outside-in/owner"] = args.Owner
	}
	if args.ExpiresAt != "" {
		if t, err := time.Parse(time.RFC3339, args.ExpiresAt); err == nil {
			labels["outside-in/expires-at"] = t.UTC().Format("20060102T150405Z")
		}
		annotations["outside-in/expires-at"] = args.ExpiresAt
	}
	return labels, annotations
}

// labelValue maps a string to a label value: at most 63 characters of letters, digits, - _ .,
// starting and ending with a letter or digit.
func labelValue(s string) string {
	v := notLabelValue.ReplaceAllString(s, "_")
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.Trim(v, "_.-")
}

// EnvironmentType is the type token of an environment's component: a stack that has one is an
// environment in a platform's cluster.
const EnvironmentType = "outside-in:apps:Environment"
