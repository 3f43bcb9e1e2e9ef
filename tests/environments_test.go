package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/internal/envname"
	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// Two environment stacks of one platform share nothing: no namespace, no host, and neither owns
// an AWS resource; each is served under the platform's wildcard domain.
func TestTwoEnvironmentsShareNothing(t *testing.T) {
	platform := run(t, stack(t, "platform"))
	envDomain := text(t, platform.Exports[program.OutputEnvDomain].Value)
	pr := stack(t, "pr-17")
	alice := plan.Stack{Name: "dev-alice", Config: map[string]string{}}
	for k, v := range pr.Config {
		alice.Config[k] = v
	}
	alice.Config["outside-in:owner"] = "alice@example.com"

	namespaces, hosts := map[string]string{}, map[string]string{}
	for _, s := range []plan.Stack{pr, alice} {
		res, err := plan.Run(s, plan.Options{Platform: platform})
		require.NoError(t, err)
		for _, r := range res.Resources {
			require.False(t, strings.HasPrefix(r.Type, "aws:"), "%s owns %s %s", s.Name, r.Type, r.Name)
		}
		objs, err := res.KubernetesObjects()
		require.NoError(t, err)
		for _, o := range objs {
			ns := fmt.Sprint(fakeaws.Get(o, "metadata", "namespace"))
			if o["kind"] == "Namespace" {
				ns = fmt.Sprint(fakeaws.Get(o, "metadata", "name"))
			}
			if other, ok := namespaces[ns]; ok && other != s.Name {
				t.Errorf("namespace %s is both %s's and %s's", ns, other, s.Name)
			}
			namespaces[ns] = s.Name
		}
		paths, err := res.Trace()
		require.NoError(t, err)
		for _, p := range paths {
			require.True(t, strings.HasSuffix(p.Host, "."+envDomain), "%s is under the platform's envDomain", p.Host)
			require.NotContains(t, strings.TrimSuffix(p.Host, "."+envDomain), ".", "one label, so the wildcard certificate covers it")
			if other, ok := hosts[p.Host]; ok {
				t.Errorf("host %s is both %s's and %s's", p.Host, other, s.Name)
			}
			hosts[p.Host] = s.Name
		}
	}
	assert.Len(t, namespaces, 2)
	assert.Len(t, hosts, 4)
}

// The platform serves environments: a certificate for *.<envDomain> on its listener beside the
// apps' one, a wildcard alias to its load balancer, the environments group bound to a role that
// manages namespaced objects (and namespaces) only, and the outputs an environment reads.
func TestPlatformServesEnvironments(t *testing.T) {
	res := run(t, stack(t, "platform"))
	envDomain := "env.platform.example.com"
	var wildcard bool
	for _, c := range res.OfType("aws:acm/certificate:Certificate") {
		wildcard = wildcard || c.In("domainName") == "*."+envDomain
	}
	assert.True(t, wildcard, "a certificate for *.%s", envDomain)
	require.Len(t, res.OfType("aws:lb/listenerCertificate:ListenerCertificate"), 1, "the wildcard certificate is on the listener by SNI")
	alias := res.Named("aws:route53/record:Record", "dns-env-alias")
	require.NotNil(t, alias)
	assert.Equal(t, "*."+envDomain, alias.In("name"))
	assert.Equal(t, exported(t, res, "loadBalancerDnsName"), alias.In("aliases", 0, "name"))

	role := res.Named("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "environments-role")
	require.NotNil(t, role)
	for _, rule := range list(t, role.In("rules")) {
		for _, r := range list(t, fakeaws.Get(rule, "resources")) {
			assert.NotContains(t, []string{"secrets", "clusterroles", "clusterrolebindings", "roles", "rolebindings", "nodes", "*"}, r)
		}
	}
	binding := res.Named("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "environments-binding")
	require.NotNil(t, binding)
	assert.Equal(t, cluster.EnvironmentsGroup, binding.In("subjects", 0, "name"))

	for _, out := range []string{program.OutputEnvDomain, program.OutputEnvironmentKubeconfig, program.OutputIngressClass,
		program.OutputControllerNamespace, program.OutputControllerPodLabels, "ciEnvironmentsRoleArn", "ciReadOnlyRoleArn", "ciDeployRoleArn"} {
		assert.Contains(t, res.Exports, out)
	}
	assert.True(t, res.Exports[program.OutputEnvironmentKubeconfig].Secret)

	// CI: the environments role may do nothing in AWS and is in the environments group only;
	// its trust is the repository's pull requests and main branch; the deploy role is trusted
	// from the GitHub environments on main only (guardrails' trust table holds every token a
	// pull request can produce against these).
	for _, r := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		assert.NotContains(t, r.Name, "ci-environments", "the environments role has no AWS policy")
	}
	envRole := res.Named("aws:iam/role:Role", "github-ci-environments")
	require.NotNil(t, envRole)
	trust := policyDoc(t, text(t, envRole.In("assumeRolePolicy")))
	assert.Equal(t, map[string]any{"token.actions.githubusercontent.com:sub": []any{"repo:example/outside-in:pull_request:ref:refs/pull/*/merge",
		"repo:example/outside-in:ref:refs/heads/main:ref:refs/heads/main"}},
		trust.Statement[0].Condition["StringLike"])
	deploy := policyDoc(t, text(t, named(t, res, "aws:iam/role:Role", "github-ci-deploy").In("assumeRolePolicy")))
	assert.Equal(t, map[string]any{"token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
		"token.actions.githubusercontent.com:sub": []any{"repo:example/outside-in:environment:platform:ref:refs/heads/main",
			"repo:example/outside-in:environment:production:ref:refs/heads/main", "repo:example/outside-in:environment:reaper:ref:refs/heads/main"}},
		deploy.Statement[0].Condition["StringEquals"], "the GitHub environments of Pulumi.platform.yaml, where approvals gate, on main")
	// Every CI role may use the backend's bucket, and only it. The read-only and deploy roles
	// (main only) read every stack's state; the read-only role writes nothing, the deploy role
	// anything. The environments role, which pull requests obtain, reads and writes only the
	// pull requests' stacks: it can neither rewrite nor read the platform's state.
	bucket := "arn:aws:s3:::example-outside-in-state"
	writes, readsOf := map[string][]string{}, map[string][]string{}
	for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
		if !strings.HasPrefix(p.Name, "github-state-") {
			continue
		}
		doc := policyDoc(t, text(t, p.In("policy")))
		var reads, written []string
		for _, st := range doc.Statement {
			for _, r := range st.Resource {
				require.True(t, r == bucket || strings.HasPrefix(r, bucket+"/"), "%s reaches only the state bucket, not %s", p.Name, r)
			}
			if slices.Contains(st.Action, "s3:GetObject") {
				reads = append(reads, st.Resource...)
			}
			if slices.Contains(st.Action, "s3:PutObject") {
				written = append(written, st.Resource...)
			}
		}
		readsOf[text(t, p.In("role"))] = reads
		writes[text(t, p.In("role"))] = written
	}
	require.Len(t, writes, 3, "environments, read-only and deploy roles")
	roleID := func(name string) string { return named(t, res, "aws:iam/role:Role", name).ID }
	assert.Empty(t, writes[roleID("github-ci-readonly")], "the read-only role writes no state")
	assert.Equal(t, []string{bucket + "/*"}, writes[roleID("github-ci-deploy")])
	for _, r := range []string{"github-ci-readonly", "github-ci-deploy"} {
		assert.Contains(t, readsOf[roleID(r)], bucket+"/*", "%s reads every stack's state", r)
	}
	envReads := readsOf[roleID("github-ci-environments")]
	for _, key := range []string{".pulumi/stacks/outside-in/pr-17.json", ".pulumi/meta.yaml", ".pulumi/history/outside-in/pr-17/pr-17-1.history.json"} {
		assert.True(t, envname.KeyMatches(envReads, bucket+"/"+key), "the environments role reads %s", key)
	}
	for _, key := range []string{".pulumi/stacks/outside-in/platform.json", ".pulumi/stacks/outside-in/prod.json",
		".pulumi/backups/outside-in/platform/platform.1.json", ".pulumi/history/outside-in/k3s/k3s-1.checkpoint.json"} {
		assert.False(t, envname.KeyMatches(envReads, bucket+"/"+key), "the environments role may not read %s", key)
	}
	envWrites := writes[roleID("github-ci-environments")]
	require.NotEmpty(t, envWrites)
	for _, key := range []string{".pulumi/stacks/outside-in/pr-17.json", ".pulumi/stacks/outside-in/pr-17.pulumi-tags",
		".pulumi/locks/organization/outside-in/pr-17/0b5f.json", ".pulumi/history/outside-in/pr-17/pr-17-1.history.json"} {
		assert.True(t, envname.KeyMatches(envWrites, bucket+"/"+key), "the environments role writes %s", key)
	}
	for _, key := range []string{".pulumi/stacks/outside-in/platform.json", ".pulumi/stacks/outside-in/prod.json",
		".pulumi/locks/organization/outside-in/platform/0b5f.json", ".pulumi/meta.yaml"} {
		assert.False(t, envname.KeyMatches(envWrites, bucket+"/"+key), "the environments role may not write %s", key)
	}
	entries := map[string][]any{}
	for _, e := range res.OfType("aws:eks/accessEntry:AccessEntry") {
		groups, _ := e.In("kubernetesGroups").([]any)
		entries[text(t, e.In("principalArn"))] = groups
	}
	assert.Equal(t, []any{cluster.EnvironmentsGroup}, entries[text(t, envRole.Out("arn"))])

	// In the cluster the read-only role reads everything a refresh reads (Helm's release
	// Secrets, the ClusterRole above) and writes nothing; the deploy role administers.
	policies := map[string]string{}
	for _, a := range res.OfType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation") {
		assert.Equal(t, "cluster", a.In("accessScope", "type"), a.Name)
		policies[text(t, a.In("principalArn"))] = text(t, a.In("policyArn"))
	}
	readOnly := res.Named("aws:iam/role:Role", "github-ci-readonly")
	require.NotNil(t, readOnly)
	assert.Equal(t, "arn:aws:eks::aws:cluster-access-policy/"+cluster.AdminViewPolicy, policies[text(t, readOnly.Out("arn"))])
	assert.Equal(t, "arn:aws:eks::aws:cluster-access-policy/"+cluster.ClusterAdminPolicy,
		policies[text(t, named(t, res, "aws:iam/role:Role", "github-ci-deploy").Out("arn"))])
	assert.NotContains(t, policies, text(t, envRole.Out("arn")), "the environments role has its group's rights only")
}

// Whoever runs a stack — an engineer, the read-only CI role on a preview or a refresh, the
// deploy role on merge — it declares the same access entries, each principal once (EKS refuses
// two entries for one): the platform, whose CI roles are its own, and prod, which lists the
// platform's deploy role in adminRoleArns and its read-only role in viewRoleArns. Whichever
// identity runs it, a CI role's entry keeps its name and policy, so it is never replaced.
func TestAccessEntriesDoNotDependOnTheCaller(t *testing.T) {
	const account = "arn:aws:iam::123456789012:role/"
	type entry struct{ name, policy string }
	entries := func(s plan.Stack, caller string) map[string]entry {
		t.Helper()
		res, err := plan.Run(s, plan.Options{CallerRole: caller})
		require.NoError(t, err)
		policies := map[string]string{}
		for _, a := range res.OfType("aws:eks/accessPolicyAssociation:AccessPolicyAssociation") {
			policies[text(t, a.In("principalArn"))] = text(t, a.In("policyArn"))
		}
		byPrincipal := map[string]entry{}
		for _, e := range res.OfType("aws:eks/accessEntry:AccessEntry") {
			p := text(t, e.In("principalArn"))
			assert.NotContains(t, byPrincipal, p, "two access entries for %s (caller %q)", p, caller)
			byPrincipal[p] = entry{e.Name, policies[p]}
		}
		return byPrincipal
	}
	view := "arn:aws:eks::aws:cluster-access-policy/" + cluster.AdminViewPolicy
	admin := "arn:aws:eks::aws:cluster-access-policy/" + cluster.ClusterAdminPolicy
	readOnly, deploy := "outside-in-platform-ci-readonly", "outside-in-platform-ci-deploy"

	platform := stack(t, "platform")
	engineer := entries(platform, "")
	require.Len(t, engineer, 5, "the caller, platform-admin and the three CI roles")
	assert.Equal(t, admin, engineer[account+"platform-engineer"].policy)
	for _, role := range []string{readOnly, deploy} {
		got := entries(platform, role)
		assert.Len(t, got, 4, "run as %s", role)
		assert.NotContains(t, got, account+"platform-engineer")
		for p, e := range got {
			if strings.Contains(p, "-ci-") {
				assert.Equal(t, engineer[p], e, "%s, run as %s", p, role)
			}
		}
	}
	assert.Len(t, entries(platform, "platform-admin"), 4, "the caller listed in adminRoleArns has one entry")

	prod := stack(t, "prod")
	asDeploy, asReadOnly := entries(prod, deploy), entries(prod, readOnly)
	assert.Equal(t, asDeploy, asReadOnly, "a preview by the read-only role shows no change to what the deploy role deployed")
	require.Len(t, asDeploy, 3, "platform-admin, the deploy role, the read-only role")
	assert.Equal(t, admin, asDeploy[account+deploy].policy)
	assert.Equal(t, view, asDeploy[account+readOnly].policy)
	assert.Len(t, entries(prod, ""), 4, "an engineer running it by hand is admin beside them")
}

// A platform whose kubeconfig assumes an admin role (kubeconfigRoleArn) hands environment
// stacks a kubeconfig without it: they authenticate as whoever runs them, which may not assume
// the admin's role.
func TestEnvironmentKubeconfigIsNotTheAdmins(t *testing.T) {
	admin := "arn:aws:iam::123456789012:role/platform-admin"
	res := run(t, with(stack(t, "platform"), map[string]string{"kubeconfigRoleArn": admin}))
	assert.Contains(t, text(t, exported(t, res, "kubeconfig")), admin, "the admin's kubeconfig assumes the role")
	env := text(t, exported(t, res, program.OutputEnvironmentKubeconfig))
	assert.Contains(t, env, "eks")
	assert.NotContains(t, env, admin)
	assert.NotContains(t, env, "--role-arn")
}
