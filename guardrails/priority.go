package guardrails

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	schedulingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/scheduling/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/internal/naming"
)

// PriorityClass is one PriorityClass (scheduling.k8s.io/v1) the platform declares.
type PriorityClass struct {
	Name  string
	Value int32
	// PreemptionPolicy is PreemptLowerPriority or Never.
	PreemptionPolicy string
	// GlobalDefault gives the class to every pod that names none.
	GlobalDefault bool
	// Why says what the value protects, for the reader of the cluster's objects.
	Why string
}

// PlatformPriority is the class of the platform's own pods: the ingress controller and the
// platform's apps. 1,000,000 is above every class an environment may use (EnvironmentsPriority,
// 0), so the scheduler evicts an environment's pods to make room for the controller and never the
// reverse; and far below system-cluster-critical (2,000,000,000), which CoreDNS, the cluster
// autoscaler and metrics-server run at, and system-node-critical, the node agents' (kube-proxy,
// the VPC CNI), so the cluster's own add-ons still outrank the controller.
var PlatformPriority = PriorityClass{
	Name: kubemeta.PlatformPriorityClass, Value: 1_000_000, PreemptionPolicy: "PreemptLowerPriority",
	Why: "the platform's ingress controller and apps: above every environment's pods, below the cluster's system-*-critical add-ons",
}

// EnvironmentsPriority is the class of every environment's pods, and the cluster's default. Its
// value, 0, is what a pod that names no class gets without a default, so being the default
// changes no pod's rank; it is above the cluster autoscaler's expendable-pods cutoff (-10), so a
// pending environment pod still makes the autoscaler add a node. PreemptionPolicy Never: an
// environment's pod waits for room and never evicts anyone's pod to get it. The admission
// policies refuse every other class (system-node-critical and system-cluster-critical included)
// to the environments group, so an environment can neither outrank the platform nor preempt.
var EnvironmentsPriority = PriorityClass{
	Name: kubemeta.EnvironmentsPriorityClass, Value: 0, PreemptionPolicy: "Never", GlobalDefault: true,
	Why: "environments' pods (and any pod that names no class): below the platform's, never preempting",
}

// PriorityClasses are the classes a stack declares: the platform's wherever the program installs
// the controller, and the environments' too on a platform (a stack with envDomain). Only one
// class of a cluster may be its global default: a cluster that already has one refuses
// EnvironmentsPriority, and the deploy says so.
func PriorityClasses(platform bool) []PriorityClass {
	if platform {
		return []PriorityClass{PlatformPriority, EnvironmentsPriority}
	}
	return []PriorityClass{PlatformPriority}
}

// PrioritiesArgs says where to declare the PriorityClasses.
type PrioritiesArgs struct {
	// Platform adds the environments' class (a platform for environment stacks).
	Platform bool
	Provider *kubernetes.Provider
	// Ready are what the classes wait for (the cluster's readiness).
	Ready []pulumi.Resource
}

// Priorities is the component of the stack's PriorityClasses. Classes are what the pods that
// name them wait for: the API server refuses a pod whose class does not exist.
type Priorities struct {
	pulumi.ResourceState

	Classes []pulumi.Resource
}

// NewPriorities declares PriorityClasses(args.Platform).
func NewPriorities(ctx *pulumi.Context, name string, args PrioritiesArgs, opts ...pulumi.ResourceOption) (*Priorities, error) {
	c := &Priorities{}
	if err := ctx.RegisterComponentResource("outside-in:platform:Priorities", name, c, opts...); err != nil {
		return nil, err
	}
	child := []pulumi.ResourceOption{pulumi.Parent(c), pulumi.Provider(args.Provider), pulumi.DependsOn(args.Ready)}
	for i, p := range PriorityClasses(args.Platform) {
		class, err := schedulingv1.NewPriorityClass(ctx, naming.Child(name, "class", i), &schedulingv1.PriorityClassArgs{
			Metadata: &metav1.ObjectMetaArgs{
				Name:        pulumi.String(p.Name),
				Labels:      pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String(kubemeta.PartOf)},
				Annotations: pulumi.StringMap{"outside-in/why": pulumi.String(p.Why)},
			},
			Value:            pulumi.Int(int(p.Value)),
			PreemptionPolicy: pulumi.String(p.PreemptionPolicy),
			GlobalDefault:    pulumi.Bool(p.GlobalDefault),
			Description:      pulumi.String(p.Why),
		}, child...)
		if err != nil {
			return nil, fmt.Errorf("guardrails: priority class %s: %w", p.Name, err)
		}
		c.Classes = append(c.Classes, class)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{}); err != nil {
		return nil, fmt.Errorf("guardrails: registering outputs: %w", err)
	}
	return c, nil
}
