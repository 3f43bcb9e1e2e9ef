package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/iampolicy"
	"github.com/outside-in/outside-in/internal/naming"
)

// The Cluster Autoscaler: kubernetes/autoscaler's chart, pinned, with the image of the cluster's
// Kubernetes minor. It owns the node group's desired size after creation, between nodeMinSize
// and nodeMaxSize.
const (
	AutoscalerChart          = "cluster-autoscaler"
	AutoscalerChartRepo      = "https://kubernetes.github.io/autoscaler"
	AutoscalerChartVersion   = "9.59.0"
	AutoscalerNamespace      = "kube-system"
	AutoscalerServiceAccount = "cluster-autoscaler"
	autoscalerUID            = 65534
)

// AutoscalerImageTags are the newest Cluster Autoscaler patch releases per Kubernetes minor; the
// autoscaler's minor must match the cluster's (kubernetes/autoscaler tags
// cluster-autoscaler-1.x.y, read 2026-11-29).
var AutoscalerImageTags = map[string]string{
	"1.32": "v1.32.7",
	"1.33": "v1.33.6",
	"1.34": "v1.34.5",
	"1.35": "v1.35.2",
	"1.36": "v1.36.1",
}

// AutoscalerPolicy is the autoscaler's IAM policy: reads account-wide (the describe calls take
// no resource), and changes only to autoscaling groups tagged as this cluster's, which EKS puts
// on the managed node group's group for the autoscaler's discovery.
func AutoscalerPolicy(clusterName string) iampolicy.Document {
	return iampolicy.New(
		iampolicy.Statement{
			Sid:    "Discover",
			Effect: "Allow",
			Action: []string{
				"autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeAutoScalingInstances",
				"autoscaling:DescribeLaunchConfigurations", "autoscaling:DescribeScalingActivities",
				"ec2:DescribeImages", "ec2:DescribeInstanceTypes", "ec2:DescribeLaunchTemplateVersions",
				"ec2:GetInstanceTypesFromInstanceRequirements", "eks:DescribeNodegroup",
			},
			Resource: []string{"*"},
		},
		iampolicy.Statement{
			Sid:      "ScaleThisClusterOnly",
			Effect:   "Allow",
			Action:   []string{"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"},
			Resource: []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {
				"aws:ResourceTag/k8s.io/cluster-autoscaler/" + clusterName: "owned",
			}},
		},
	)
}

// AutoscalerValues are the chart values: discovery by this cluster's tags, the pinned image, a
// service account the Pod Identity association names, and a pod that passes Pod Security
// "restricted" (the chart's defaults do not).
func AutoscalerValues(clusterName, region, kubernetesVersion string) map[string]any {
	return map[string]any{
		"cloudProvider": "aws",
		"awsRegion":     region,
		"autoDiscovery": map[string]any{"clusterName": clusterName},
		"image":         map[string]any{"tag": AutoscalerImageTags[kubernetesVersion]},
		"rbac": map[string]any{
			"create":         true,
			"serviceAccount": map[string]any{"create": true, "name": AutoscalerServiceAccount},
		},
		"extraArgs": map[string]any{
			"balance-similar-node-groups": true,
			"expander":                    "least-waste",
			"skip-nodes-with-system-pods": false,
		},
		"replicaCount": 1,
		// The chart's default, said here: the autoscaler outranks the platform's own class and
		// every environment's pods (guardrails.PlatformPriority).
		"priorityClassName": "system-cluster-critical",
		"resources": map[string]any{
			"requests": map[string]any{"cpu": "100m", "memory": "300Mi"},
			"limits":   map[string]any{"memory": "600Mi"},
		},
		"securityContext": map[string]any{
			"runAsNonRoot": true, "runAsUser": autoscalerUID, "runAsGroup": autoscalerUID,
			"seccompProfile": map[string]any{"type": "RuntimeDefault"},
		},
		"containerSecurityContext": map[string]any{
			"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
			"capabilities": map[string]any{"drop": []any{"ALL"}},
		},
	}
}

// clusterAutoscaler installs the Cluster Autoscaler with an EKS Pod Identity role scoped to this
// cluster's node groups. It waits for the nodes and the Pod Identity agent.
func (b *builder) clusterAutoscaler(cp *eks.Cluster, provider *kubernetes.Provider, nodesReady []pulumi.Resource) error {
	trust := iampolicy.New(iampolicy.Statement{
		Effect:    "Allow",
		Principal: map[string][]string{"Service": {"pods.eks.amazonaws.com"}},
		Action:    []string{"sts:AssumeRole", "sts:TagSession"},
	})
	role, err := iam.NewRole(b.ctx, naming.Child(b.name, "autoscaler-role"), &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(trust.JSON()),
		Description:      pulumi.Sprintf("outside-in Cluster Autoscaler of EKS cluster %s", b.args.Name),
		Tags:             b.tags("autoscaler-role"),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("cluster: autoscaler role: %w", err)
	}
	policy, err := iam.NewRolePolicy(b.ctx, naming.Child(b.name, "autoscaler-role"), &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: pulumi.String(AutoscalerPolicy(b.args.Name).JSON()),
	}, b.parent)
	if err != nil {
		return fmt.Errorf("cluster: autoscaler policy: %w", err)
	}
	association, err := eks.NewPodIdentityAssociation(b.ctx, naming.Child(b.name, "autoscaler-identity"), &eks.PodIdentityAssociationArgs{
		ClusterName:    cp.Name,
		Namespace:      pulumi.String(AutoscalerNamespace),
		ServiceAccount: pulumi.String(AutoscalerServiceAccount),
		RoleArn:        role.Arn,
		Tags:           b.tags("autoscaler-identity"),
	}, b.parent, pulumi.DependsOn([]pulumi.Resource{policy}))
	if err != nil {
		return fmt.Errorf("cluster: autoscaler pod identity: %w", err)
	}
	if _, err := helmv3.NewRelease(b.ctx, naming.Child(b.name, "autoscaler"), &helmv3.ReleaseArgs{
		Name:           pulumi.String(AutoscalerChart),
		Namespace:      pulumi.String(AutoscalerNamespace),
		Chart:          pulumi.String(AutoscalerChart),
		Version:        pulumi.String(AutoscalerChartVersion),
		RepositoryOpts: &helmv3.RepositoryOptsArgs{Repo: pulumi.String(AutoscalerChartRepo)},
		Values:         pulumi.ToMap(AutoscalerValues(b.args.Name, b.args.Region, b.args.KubernetesVersion)),
		Atomic:         pulumi.Bool(true),
		CleanupOnFail:  pulumi.Bool(true),
		Timeout:        pulumi.Int(600),
	}, b.parent, pulumi.Provider(provider), pulumi.DependsOn(append([]pulumi.Resource{association}, nodesReady...))); err != nil {
		return fmt.Errorf("cluster: autoscaler release: %w", err)
	}
	return nil
}
