package tests

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/dns"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// What a real account would refuse or get wrong, checked on the plan: each test names the AWS,
// EKS or Pulumi behaviour it guards against.

// apps returns n apps named app0…, each at its default host.
func apps(n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		parts = append(parts, fmt.Sprintf(`{"name":"app%d"}`, i))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// ACM puts at most 10 names in a certificate (its default quota). Twenty apps with TLS get two
// certificates of ten names; the ALB or NLB listener takes the first as its default and the
// second by SNI (25 allowed besides the default); each certificate waits for its own validation.
func TestCertificatesHoldAtMostTenNames(t *testing.T) {
	for _, lb := range []string{"alb", "nlb"} {
		t.Run(lb, func(t *testing.T) {
			res := run(t, with(stack(t, "dev"), map[string]string{"apps": apps(20), "loadBalancer": lb}))
			certs := res.OfType("aws:acm/certificate:Certificate")
			require.Len(t, certs, 2)
			covered := map[string]bool{}
			for _, c := range certs {
				names := []string{text(t, c.In("domainName"))}
				for _, san := range list(t, c.In("subjectAlternativeNames")) {
					names = append(names, text(t, san))
				}
				assert.LessOrEqual(t, len(names), dns.NamesPerCertificate, c.Name)
				for _, n := range names {
					assert.False(t, covered[n], "%s is on one certificate only", n)
					covered[n] = true
				}
			}
			assert.Len(t, covered, 20, "every host is covered")

			validations := res.OfType("aws:acm/certificateValidation:CertificateValidation")
			require.Len(t, validations, 2)
			validated := map[string]bool{}
			for _, v := range validations {
				validated[text(t, v.In("certificateArn"))] = true
			}
			for _, c := range certs {
				assert.True(t, validated[c.ID], "%s is validated", c.Name)
			}

			https := res.Named("aws:lb/listener:Listener", "ingress-listener-443")
			require.NotNil(t, https)
			extra := res.OfType("aws:lb/listenerCertificate:ListenerCertificate")
			require.Len(t, extra, 1)
			assert.Equal(t, https.ID, extra[0].In("listenerArn"))
			onListener := []string{text(t, https.In("certificateArn")), text(t, extra[0].In("certificateArn"))}
			assert.ElementsMatch(t, []string{validations[0].ID, validations[1].ID}, validatedArns(t, res, onListener),
				"the listener carries both validated certificates")
		})
	}
}

// validatedArns maps certificate ARNs to the validation resources that issued them.
func validatedArns(t *testing.T, res *plan.Result, arns []string) []string {
	var out []string
	for _, v := range res.OfType("aws:acm/certificateValidation:CertificateValidation") {
		if slices.Contains(arns, text(t, v.Out("certificateArn"))) {
			out = append(out, v.ID)
		}
	}
	return out
}

// A destroy never half-destroys: with AWS deletion protection on, the load balancer and the
// deletion guard are protected, and the guard depends on every other resource of the stack, so
// a destroy's first deletion is refused before anything is deleted. Without protection nothing
// is protected and destroy removes everything. The JSON plan carries protect as the state does.
func TestDeletionProtectionGuardsTheWholeStack(t *testing.T) {
	for _, protect := range []bool{true, false} {
		t.Run(fmt.Sprint(protect), func(t *testing.T) {
			res := run(t, with(stack(t, "prod"), map[string]string{"loadBalancerDeletionProtection": fmt.Sprint(protect)}))
			guard := res.OfType(program.DeletionGuardType)
			require.Len(t, guard, 1)
			var custom []string
			for _, r := range res.Resources {
				if r.Custom {
					custom = append(custom, r.URN)
				}
			}
			require.Greater(t, len(custom), 50)
			assert.ElementsMatch(t, custom, guard[0].Dependencies, "the guard depends on every resource")
			assert.Equal(t, protect, guard[0].Protect)

			lb := res.OfType("aws:lb/loadBalancer:LoadBalancer")
			require.Len(t, lb, 1)
			assert.Equal(t, protect, lb[0].In("enableDeletionProtection"))
			assert.Equal(t, protect, lb[0].Protect, "AWS deletion protection implies Pulumi protection")

			protected := 0
			for _, r := range exportState(t, res).resources {
				if r["protect"] == true {
					protected++
				}
			}
			if protect {
				assert.Equal(t, 2, protected, "the JSON plan shows the load balancer and the guard protected")
			} else {
				assert.Zero(t, protected)
			}
		})
	}
}

// In a zone the stack does not own, another stack validating the same name relies on the same
// validation record (ACM gives one record per name and account); destroying this stack must
// leave it. In a zone the stack owns, the zone goes with the stack, records included.
func TestValidationRecordsInASharedZoneAreRetained(t *testing.T) {
	for mode, retain := range map[string]bool{"existing": true, "create": false} {
		res := run(t, with(stack(t, "dev"), map[string]string{"zoneMode": mode}))
		records := 0
		for _, r := range res.OfType("aws:route53/record:Record") {
			if !strings.Contains(r.Name, "validation") {
				assert.False(t, r.RetainOnDelete, "%s belongs to this stack alone", r.Name)
				continue
			}
			records++
			assert.Equal(t, retain, r.RetainOnDelete, "zoneMode %s: %s", mode, r.Name)
			assert.Equal(t, exported(t, res, "zoneId"), r.In("zoneId"), "validation records land in the stack's zone")
		}
		assert.Equal(t, 1, records)
	}
}

// EKS encrypts secrets with the stack's key as the cluster role: the role may use that key,
// and only it.
func TestClusterRoleMayUseTheSecretsKey(t *testing.T) {
	res := run(t, stack(t, "dev"))
	key := res.OfType("aws:kms/key:Key")
	require.Len(t, key, 1)
	policy := res.Named("aws:iam/rolePolicy:RolePolicy", "cluster-cluster-role-kms")
	require.NotNil(t, policy)
	role := named(t, res, "aws:iam/role:Role", "cluster-cluster-role")
	assert.Equal(t, role.ID, policy.In("role"))
	doc := policyDoc(t, text(t, policy.In("policy")))
	require.Len(t, doc.Statement, 1)
	assert.Equal(t, []string{"kms:Encrypt", "kms:Decrypt", "kms:DescribeKey", "kms:ListGrants"}, doc.Statement[0].Action)
	assert.Equal(t, []string{text(t, key[0].Out("arn"))}, doc.Statement[0].Resource)
	eks := one(t, res, "aws:eks/cluster:Cluster")
	assert.Contains(t, eks.Dependencies, policy.URN, "the cluster is created once the role can use the key")
}

type policyDocument struct {
	Statement []struct {
		Sid       string
		Action    []string
		Resource  []string
		Condition map[string]map[string]any
	}
}

func policyDoc(t tb, s string) policyDocument {
	t.Helper()
	var doc policyDocument
	require.NoError(t, json.Unmarshal([]byte(s), &doc))
	return doc
}

// VPC flow logs list the account's log groups before they write: the role has
// logs:DescribeLogGroups (which IAM scopes no narrower than the account's log-group:*), and
// writes only to its own group. Its trust is this account's flow logs only.
func TestFlowLogRolePermissions(t *testing.T) {
	res := run(t, stack(t, "prod"))
	group := res.Named("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
	require.NotNil(t, group)
	arn := text(t, group.Out("arn"))
	doc := policyDoc(t, text(t, named(t, res, "aws:iam/rolePolicy:RolePolicy", "network-flow-logs").In("policy")))
	require.Len(t, doc.Statement, 2)
	assert.ElementsMatch(t, []string{"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}, doc.Statement[0].Action)
	assert.Equal(t, []string{arn, arn + ":*"}, doc.Statement[0].Resource)
	assert.Equal(t, []string{"logs:DescribeLogGroups"}, doc.Statement[1].Action)
	assert.Equal(t, []string{"arn:aws:logs:eu-central-1:123456789012:log-group:*"}, doc.Statement[1].Resource)

	trust := policyDoc(t, text(t, named(t, res, "aws:iam/role:Role", "network-flow-logs").In("assumeRolePolicy")))
	require.Len(t, trust.Statement, 1)
	assert.Equal(t, map[string]any{"aws:SourceAccount": "123456789012"}, trust.Statement[0].Condition["StringEquals"])
}

// The Cluster Autoscaler owns the node count after creation: installed from its pinned chart
// with the image of the cluster's minor, credentials through an EKS Pod Identity whose role can
// change only this cluster's autoscaling groups, waiting for the nodes and the identity agent.
func TestClusterAutoscaler(t *testing.T) {
	res := run(t, stack(t, "prod"))
	release := res.Named("kubernetes:helm.sh/v3:Release", "cluster-autoscaler")
	require.NotNil(t, release)
	assert.Equal(t, cluster.AutoscalerChartVersion, release.In("version"))
	assert.Equal(t, "outside-in-prod", release.In("values", "autoDiscovery", "clusterName"))
	assert.Equal(t, "v1.35.2", release.In("values", "image", "tag"), "the autoscaler's minor matches the cluster's 1.35")
	assert.Equal(t, true, release.In("values", "securityContext", "runAsNonRoot"))
	assert.Equal(t, true, release.In("values", "containerSecurityContext", "readOnlyRootFilesystem"))

	// After creation the autoscaler owns the node count: `pulumi up` leaves desiredSize alone.
	assert.Contains(t, one(t, res, "aws:eks/nodeGroup:NodeGroup").IgnoreChanges, "scalingConfig.desiredSize")

	assoc := res.OfType("aws:eks/podIdentityAssociation:PodIdentityAssociation")
	require.Len(t, assoc, 1)
	assert.Equal(t, "kube-system", assoc[0].In("namespace"))
	assert.Equal(t, release.In("values", "rbac", "serviceAccount", "name"), assoc[0].In("serviceAccount"))
	role := res.Named("aws:iam/role:Role", "cluster-autoscaler-role")
	require.NotNil(t, role)
	assert.Equal(t, text(t, role.Out("arn")), assoc[0].In("roleArn"))
	assert.Contains(t, text(t, role.In("assumeRolePolicy")), "pods.eks.amazonaws.com")
	doc := policyDoc(t, text(t, named(t, res, "aws:iam/rolePolicy:RolePolicy", "cluster-autoscaler-role").In("policy")))
	require.Len(t, doc.Statement, 2)
	assert.Equal(t, []string{"autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"}, doc.Statement[1].Action)
	assert.Equal(t, map[string]any{"aws:ResourceTag/k8s.io/cluster-autoscaler/outside-in-prod": "owned"}, doc.Statement[1].Condition["StringEquals"],
		"it scales this cluster's groups only")

	ng := one(t, res, "aws:eks/nodeGroup:NodeGroup")
	agent := res.Named("aws:eks/addon:Addon", "cluster-addon-eks-pod-identity-agent")
	require.NotNil(t, agent)
	assert.Contains(t, release.Dependencies, ng.URN)
	assert.Contains(t, release.Dependencies, agent.URN)
	assert.Contains(t, release.Dependencies, assoc[0].URN)
}

// On a fresh cluster the ingress controller and the apps wait for the node group and for
// CoreDNS to be active, and the Kubernetes provider waits until the API accepts the program's
// access entry (a bounded wait, not on preview).
func TestFirstDeployOrder(t *testing.T) {
	res := run(t, stack(t, "dev"))
	ng := one(t, res, "aws:eks/nodeGroup:NodeGroup")
	coredns := res.Named("aws:eks/addon:Addon", "cluster-addon-coredns")
	require.NotNil(t, coredns)
	assert.Contains(t, coredns.Dependencies, ng.URN, "CoreDNS goes on once there are nodes")
	for _, r := range append(res.OfType("kubernetes:helm.sh/v3:Release"), res.OfType("kubernetes:apps/v1:Deployment")...) {
		assert.Contains(t, r.Dependencies, ng.URN, "%s waits for the nodes", r.Name)
		assert.Contains(t, r.Dependencies, coredns.URN, "%s waits for cluster DNS", r.Name)
	}
	traefik := controllerRelease(t, res)
	assert.Contains(t, traefik.Dependencies, coredns.URN, "the controller waits for cluster DNS")

	require.Len(t, res.APIWaits, 1)
	assert.Equal(t, text(t, res.Exports["kubeconfig"].Value), res.APIWaits[0].Kubeconfig)
	assert.Zero(t, res.APIWaits[0].Options.MinReadyNodes, "the node group is ready when EKS says so")
	provider := one(t, res, "pulumi:providers:kubernetes")
	assoc := one(t, res, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
	assert.Contains(t, provider.PropertyDependencies["kubeconfig"], assoc.URN, "the provider's kubeconfig comes after the access entry answers")

	preview, err := plan.Run(stack(t, "dev"), plan.Options{Preview: true})
	require.NoError(t, err)
	assert.Empty(t, preview.APIWaits, "nothing waits on preview")
}

// On EKS the VPC CNI enforces NetworkPolicies (it does not unless asked): otherwise the policies
// every app namespace gets would do nothing.
func TestNetworkPoliciesAreEnforcedOnEKS(t *testing.T) {
	res := run(t, stack(t, "dev"))
	cni := res.Named("aws:eks/addon:Addon", "cluster-addon-vpc-cni")
	require.NotNil(t, cni)
	var values map[string]string
	require.NoError(t, json.Unmarshal([]byte(text(t, cni.In("configurationValues"))), &values))
	assert.Equal(t, "true", values["enableNetworkPolicy"])
}
