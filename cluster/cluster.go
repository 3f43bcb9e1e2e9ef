// Package cluster builds the Kubernetes cluster the request path ends in, in one of three modes,
// and hands every later layer the same Result:
//
//   - eks: an EKS control plane with private endpoint access and KMS-encrypted secrets, a
//     managed node group in the private subnets, access entries, the core add-ons with network
//     policy enforcement, and the Cluster Autoscaler with an EKS Pod Identity;
//   - k3s: k3s servers and an agent autoscaling group on EC2 in the private subnets (the seeds'
//     master and minions), with a CA and credentials the program generates, so the kubeconfig
//     is known at deploy time, and the API behind a load balancer open only to adminCidrs;
//   - existing: a cluster the stack does not build (a platform stack's, or any kubeconfig).
//
// In every mode the Kubernetes provider is used only after the API has answered the program's
// own credentials, and the in-cluster layers wait on Result.Ready.
package cluster

import (
	"context"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/internal/kubewait"
)

// Result is what every cluster mode fills in for the layers after it; none of them branches on
// the mode.
type Result struct {
	// Name is the cluster's name (EKS name, k3s cluster name, or the platform's).
	Name pulumi.StringOutput
	// Kubeconfig is a secret: it reaches the cluster as an administrator.
	Kubeconfig pulumi.StringOutput
	// EnvironmentKubeconfig is what a platform hands environment stacks (secret): on EKS the
	// same kubeconfig, whose caller's access entry decides the rights; on k3s a client
	// certificate of the group EnvironmentsGroup only.
	EnvironmentKubeconfig pulumi.StringOutput
	// Provider is the Kubernetes provider for this cluster; every Kubernetes resource uses it.
	Provider *kubernetes.Provider
	// NodeSecurityGroupID is the group of the nodes the load balancer sends to (empty when the
	// stack owns no nodes).
	NodeSecurityGroupID pulumi.StringOutput
	// NodeAutoscalingGroupNames are the autoscaling groups of those nodes, which the load
	// balancer's target groups attach.
	NodeAutoscalingGroupNames pulumi.StringArrayOutput
	// Arch is the nodes' CPU architecture.
	Arch Arch
	// Ready are the resources the in-cluster layers wait for: nodes to run on and DNS.
	Ready []pulumi.Resource
}

// EnvironmentsGroup is the Kubernetes group of environment stacks (the CI role's access entry
// on EKS, the environments' client certificate on k3s); guardrails says what it may do.
const EnvironmentsGroup = guardrails.EnvironmentsGroup

// APIWaiter blocks until the API behind a kubeconfig answers it, within opts' bounds. The
// program uses kubewait.Wait; the offline plan records the call instead.
type APIWaiter func(ctx context.Context, kubeconfig string, opts kubewait.Options) error

// gateOnAPI returns the kubeconfig once the API answers it, after the given resources exist, so
// that the provider built from it makes no call the cluster would refuse. On preview nothing
// waits: the values are unknown or the cluster is already serving.
func gateOnAPI(ctx *pulumi.Context, kubeconfig pulumi.StringOutput, after []pulumi.Resource, wait APIWaiter, opts kubewait.Options) pulumi.StringOutput {
	// A resource's URN resolves when its registration returns, which is once it is created;
	// unlike its id, it is known on preview too.
	var deps []any
	for _, r := range after {
		deps = append(deps, r.URN())
	}
	return pulumi.All(kubeconfig, pulumi.All(deps...)).ApplyT(func(v []any) (string, error) {
		k := v[0].(string)
		if ctx.DryRun() || wait == nil {
			return k, nil
		}
		if err := wait(context.Background(), k, opts); err != nil {
			return "", err
		}
		return k, nil
	}).(pulumi.StringOutput)
}
