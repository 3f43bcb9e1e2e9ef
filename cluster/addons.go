package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// The EKS add-ons the program manages.
const (
	AddonVpcCni    = "vpc-cni"
	AddonKubeProxy = "kube-proxy"
	AddonCoreDNS   = "coredns"
	// AddonPodIdentity runs the EKS Pod Identity agent, through which the Cluster Autoscaler
	// gets its role.
	AddonPodIdentity = "eks-pod-identity-agent"
)

// Addons lists the managed add-ons.
var Addons = []string{AddonVpcCni, AddonKubeProxy, AddonCoreDNS, AddonPodIdentity}

// addonConfiguration is each add-on's configuration values. The VPC CNI enforces
// NetworkPolicies only when asked (VPC CNI 1.14 or later, on kernels 5.10 or later, which the
// AL2023 node image has); without it every NetworkPolicy the program declares does nothing.
var addonConfiguration = map[string]string{
	AddonVpcCni: `{"enableNetworkPolicy":"true"}`,
}

// ResolveAddonVersions returns a version for each add-on: the pinned one when given, otherwise
// the version AWS marks as the default for the Kubernetes version (an invoke, made before any
// resource is registered). Either way the add-on is created with an explicit version, so a
// preview shows any change of it.
func ResolveAddonVersions(ctx *pulumi.Context, kubernetesVersion string, pinned map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, addon := range Addons {
		if v := pinned[addon]; v != "" {
			out[addon] = v
			continue
		}
		res, err := eks.GetAddonVersion(ctx, &eks.GetAddonVersionArgs{
			AddonName:         addon,
			KubernetesVersion: kubernetesVersion,
			MostRecent:        pulumi.BoolRef(false),
		})
		if err != nil {
			return nil, fmt.Errorf("cluster: looking up the default %s version for Kubernetes %s: %w", addon, kubernetesVersion, err)
		}
		out[addon] = res.Version
	}
	return out, nil
}

// addons installs the named add-ons at their pinned versions after dependsOn.
func (b *builder) addons(cp *eks.Cluster, names []string, dependsOn []pulumi.Resource) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for _, addon := range names {
		a, err := eks.NewAddon(b.ctx, b.name+"-addon-"+addon, &eks.AddonArgs{
			ClusterName:         cp.Name,
			AddonName:           pulumi.String(addon),
			AddonVersion:        pulumi.String(b.args.AddonVersions[addon]),
			ConfigurationValues: configurationValues(addon),
			// The add-on owns its configuration; fields edited in the cluster are overwritten.
			ResolveConflictsOnCreate: pulumi.String("OVERWRITE"),
			ResolveConflictsOnUpdate: pulumi.String("OVERWRITE"),
			Tags:                     b.tags("addon-" + addon),
		}, b.parent, pulumi.DependsOn(dependsOn))
		if err != nil {
			return nil, fmt.Errorf("cluster: add-on %s: %w", addon, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func configurationValues(addon string) pulumi.StringPtrInput {
	if v, ok := addonConfiguration[addon]; ok {
		return pulumi.String(v)
	}
	return nil
}
