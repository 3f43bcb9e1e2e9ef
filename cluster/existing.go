package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// ExistingArgs names a cluster the stack does not build.
type ExistingArgs struct {
	// Name is what the cluster is called in outputs (the platform stack, or "kubeconfig").
	Name string
	// Kubeconfig reaches the cluster; it is kept secret.
	Kubeconfig pulumi.StringInput
}

// Existing is the component of a cluster given by kubeconfig.
type Existing struct {
	pulumi.ResourceState
}

// NewExisting builds only the Kubernetes provider of a cluster that exists. The stack owns no
// nodes: the node security group and autoscaling groups of the Result are empty, and nothing
// needs to be waited for.
func NewExisting(ctx *pulumi.Context, name string, args ExistingArgs, opts ...pulumi.ResourceOption) (*Result, error) {
	c := &Existing{}
	if err := ctx.RegisterComponentResource("outside-in:cluster:Existing", name, c, opts...); err != nil {
		return nil, err
	}
	kubeconfig := pulumi.ToSecret(args.Kubeconfig.ToStringOutput()).(pulumi.StringOutput)
	provider, err := kubernetes.NewProvider(ctx, naming.Child(name, "k8s"), &kubernetes.ProviderArgs{
		Kubeconfig: kubeconfig,
	}, pulumi.Parent(c))
	if err != nil {
		return nil, fmt.Errorf("cluster: kubernetes provider: %w", err)
	}
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"name": pulumi.String(args.Name), "kubeconfig": kubeconfig}); err != nil {
		return nil, fmt.Errorf("cluster: registering outputs: %w", err)
	}
	return &Result{
		Name:                      pulumi.String(args.Name).ToStringOutput(),
		Kubeconfig:                kubeconfig,
		EnvironmentKubeconfig:     kubeconfig,
		Provider:                  provider,
		NodeSecurityGroupID:       pulumi.String("").ToStringOutput(),
		NodeAutoscalingGroupNames: pulumi.StringArray{}.ToStringArrayOutput(),
	}, nil
}
