package tests

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/internal/envname"
	"github.com/outside-in/outside-in/internal/iamsim"
)

// The platform's CI roles, by resource name.
var ciRoleResources = []string{"github-ci-environments", "github-ci-readonly", "github-ci-deploy"}

// pullRequestRoles are the CI roles whose trust lets in a pull request's job token, as the
// evaluator decides sts:AssumeRoleWithWebIdentity on each trust policy.
func pullRequestRoles(t *testing.T, ev *iamsim.Evaluator, p platformPlans) []*iamRole {
	t.Helper()
	var roles []*iamRole
	var reqs []iamsim.Request
	for _, name := range ciRoleResources {
		role := roleByResource(t, p.platform, name)
		federated := stringList(statements(role.trust)[0]["Principal"].(map[string]any)["Federated"])
		require.Len(t, federated, 1, "%s trusts one OIDC provider", name)
		roles = append(roles, role)
		reqs = append(reqs, iamsim.Request{Name: name, Principal: federated[0], Action: "sts:AssumeRoleWithWebIdentity",
			Resource: role.arn, ResourceAccount: p.account, ResourcePolicy: role.trust, Context: map[string]any{
				guardrails.GitHubTokenIssuer + ":aud": "sts.amazonaws.com",
				guardrails.GitHubTokenIssuer + ":sub": "repo:example/outside-in:pull_request:ref:refs/pull/17/merge",
				guardrails.GitHubTokenIssuer + ":ref": "refs/pull/17/merge",
			}})
	}
	out, err := ev.Run(context.Background(), nil, reqs)
	require.NoError(t, err)
	var reachable []*iamRole
	for i, d := range out.Decisions {
		got, note := verdict(d)
		t.Logf("a pull request's token on %-24s %s%s", roles[i].resource, got, note)
		if got == "allowed" {
			reachable = append(reachable, roles[i])
		}
	}
	return reachable
}

// TestIAMEvaluatorPullRequestRoles: every role a pull request's job can assume is refused what
// it does not own — other stacks' state, other buckets, the k3s keys and their KMS key,
// Secrets Manager, production's cluster, passing roles — and allowed what the pull request's
// environment job needs: its own pr-* state, the backend's metadata, the platform's published
// parameter and its key through Parameter Store. Only the environments role is reachable, and it
// carries no AWS managed policy (the evaluator cannot read one's text, and those that exist are
// account-wide).
func TestIAMEvaluatorPullRequestRoles(t *testing.T) {
	ev := evaluator(t)
	p := plansForIAM(t)
	reachable := pullRequestRoles(t, ev, p)
	var names []string
	for _, r := range reachable {
		names = append(names, r.resource)
	}
	assert.Equal(t, []string{"github-ci-environments"}, names, "FAIL the roles a pull request's token assumes, want only github-ci-environments")
	require.NotEmpty(t, reachable, "a pull request's environment job has a role")

	k3s := p.k3sParameters(t)
	prodCluster := one(t, p.prod, "aws:eks/cluster:Cluster")
	prodClusterArn, _ := prodCluster.Out("arn").(string)
	require.NotEmpty(t, prodClusterArn)
	deploy := roleByResource(t, p.platform, "github-ci-deploy")
	// The platform publishes /<namePrefix>/environments; its namePrefix is <project>-<stack>.
	envParam := "/outside-in-platform/environments"

	for _, role := range reachable {
		t.Run(role.resource, func(t *testing.T) {
			for _, m := range role.managed {
				t.Errorf("FAIL %-34s managed policy %s attached: its text is AWS's, not in the catalogue, so nothing it grants is judged; want none on a pull-request-reachable role", role.resource, m)
			}
			rows := []iamRow{}
			refuse := func(what, action, resource string, ctx map[string]any) {
				rows = append(rows, iamRow{who: role.resource, what: what, req: p.request(role, action, resource, ctx), unseen: role.managed})
			}
			allow := func(what, action, resource string, ctx map[string]any) {
				rows = append(rows, iamRow{who: role.resource, what: what, allow: true, req: p.request(role, action, resource, ctx), unseen: role.managed})
			}
			for _, s := range []string{"platform", "prod", "k3s"} {
				refuse(s+"'s state", "s3:GetObject", p.object(".pulumi/stacks/outside-in/"+s+".json"), nil)
				refuse(s+"'s state backup", "s3:GetObject", p.object(".pulumi/stacks/outside-in/"+s+".json.bak"), nil)
				refuse(s+"'s history", "s3:GetObject", p.object(".pulumi/history/outside-in/"+s+"/"+s+"-1767225600000000000.checkpoint.json"), nil)
				refuse(s+"'s backup", "s3:GetObject", p.object(".pulumi/backups/outside-in/"+s+"/"+s+".1767225600000000000.json"), nil)
			}
			refuse("write the platform's state", "s3:PutObject", p.object(".pulumi/stacks/outside-in/platform.json"), nil)
			refuse("delete the platform's state", "s3:DeleteObject", p.object(".pulumi/stacks/outside-in/platform.json"), nil)
			refuse("an object in another bucket", "s3:GetObject", "arn:aws:s3:::example-other-bucket/secrets.txt", nil)
			for _, name := range append(append([]string{}, k3s["server"]...), k3s["agent"]...) {
				refuse("k3s parameter", "ssm:GetParameter", p.parameter(name), nil)
			}
			rows = append(rows, p.decryptRow(t, p.k3s, role, "the k3s server CA key's KMS key, via SSM", serverCAKey(k3s), false))
			rows[len(rows)-1].unseen = role.managed
			refuse("a Secrets Manager secret", "secretsmanager:GetSecretValue",
				fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:outside-in-prod-AbCdEf", p.region, p.account), nil)
			refuse("production's cluster", "eks:DescribeCluster", prodClusterArn, nil)
			refuse("pass the deploy role", "iam:PassRole", deploy.arn, nil)
			refuse("another parameter of the platform", "ssm:GetParameter", p.parameter(strings.TrimSuffix(envParam, "environments")+"other"), nil)

			if role.resource == "github-ci-environments" {
				allow("its own state", "s3:GetObject", p.object(".pulumi/stacks/outside-in/pr-17.json"), nil)
				allow("write its own state", "s3:PutObject", p.object(".pulumi/stacks/outside-in/pr-17.json"), nil)
				allow("remove its own state", "s3:DeleteObject", p.object(".pulumi/stacks/outside-in/pr-17.json"), nil)
				allow("its own lock", "s3:PutObject", p.object(".pulumi/locks/organization/outside-in/pr-17/0b7c2f62-lock.json"), nil)
				allow("its own history", "s3:PutObject", p.object(".pulumi/history/outside-in/pr-17/pr-17-1767225600000000000.history.json"), nil)
				allow("the backend's metadata", "s3:GetObject", p.object(".pulumi/meta.yaml"), nil)
				allow("the stack names", "s3:ListBucket", "arn:aws:s3:::"+p.bucket, nil)
				allow("the bucket's region", "s3:GetBucketLocation", "arn:aws:s3:::"+p.bucket, nil)
				allow("the platform's published data", "ssm:GetParameter", p.parameter(envParam), nil)
				rows = append(rows, p.decryptRow(t, p.platform, role, "the published data's key, via SSM", envParam, true))
				rows[len(rows)-1].unseen = role.managed
				// The same key outside Parameter Store, or for another parameter: refused.
				direct := p.decryptRow(t, p.platform, role, "the published data's key, called directly", envParam, false)
				direct.req.Context = nil
				other := p.decryptRow(t, p.platform, role, "the published data's key, for another parameter", envParam, false)
				other.req.Context = p.viaSSM(p.parameter("/outside-in-platform/other"))
				rows = append(rows, direct, other)
				refuse("every parameter under the platform's path", "ssm:GetParametersByPath", p.parameter("/outside-in-platform"), nil)
				// What env check reads to say which hop of an environment fails: descriptions,
				// and the platform's zone, no other.
				allow("the load balancer's targets (env check)", "elasticloadbalancing:DescribeTargetHealth", "*", nil)
				allow("the nodes' security groups (env check)", "ec2:DescribeSecurityGroups", "*", nil)
				zone, _ := p.platform.Exports["zoneId"].Value.(string)
				require.NotEmpty(t, zone, "the platform exports its zone")
				allow("the platform zone's records (env check)", "route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/"+zone, nil)
				refuse("another zone's records", "route53:ListResourceRecordSets", "arn:aws:route53:::hostedzone/ZOTHER", nil)
				refuse("change the platform zone's records", "route53:ChangeResourceRecordSets", "arn:aws:route53:::hostedzone/"+zone, nil)
				refuse("deregister a target", "elasticloadbalancing:DeregisterTargets", "*", nil)
			}
			judge(t, ev, rows)
		})
	}
}

// serverCAKey is the k3s server CA's private key parameter, the one key that makes a cluster
// admin.
func serverCAKey(k3s map[string][]string) string {
	for _, name := range k3s["server"] {
		if strings.HasSuffix(name, "/server/tls/server-ca.key") {
			return name
		}
	}
	return k3s["server"][0]
}

// sessionManager are the calls AWS documents as Session Manager's minimum for an instance
// profile; a node role needs these and no Parameter Store read for a shell.
var sessionManager = []string{"ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"}

// TestIAMEvaluatorNodeRoles: k3s servers read their own parameters, agents only the agent
// token, EKS nodes none; none reads another stack's keys or the platform's published data;
// each can open a Session Manager shell. AmazonSSMManagedInstanceCore, whose text grants
// ssm:GetParameter(s) on every parameter, is attached to none.
func TestIAMEvaluatorNodeRoles(t *testing.T) {
	ev := evaluator(t)
	p := plansForIAM(t)
	k3s := p.k3sParameters(t)
	server := roleByResource(t, p.k3s, "cluster-server-role")
	agent := roleByResource(t, p.k3s, "cluster-agent-role")
	eksNode := roleByResource(t, p.platform, "cluster-node-role")
	other := "/outside-in-dev-alice/k3s/server/tls/server-ca.key"
	instance := fmt.Sprintf("arn:aws:ec2:%s:%s:instance/i-0123456789abcdef0", p.region, p.account)

	for _, role := range []*iamRole{server, agent, eksNode} {
		t.Run(role.resource, func(t *testing.T) {
			for _, m := range role.managed {
				if strings.HasSuffix(m, "/AmazonSSMManagedInstanceCore") {
					t.Errorf("FAIL %-34s managed policy %s attached: it grants ssm:GetParameter and ssm:GetParameters on every parameter; want Session Manager's calls inline", role.resource, m)
					continue
				}
				t.Logf("managed policy %s attached: AWS's text, not judged", m)
			}
			var rows []iamRow
			add := func(allow bool, what, action, resource string) {
				rows = append(rows, iamRow{who: role.resource, what: what, allow: allow, req: p.request(role, action, resource, nil), unseen: role.managed})
			}
			for _, name := range k3s["server"] {
				add(role == server, "k3s server parameter", "ssm:GetParameter", p.parameter(name))
			}
			for _, name := range k3s["agent"] {
				add(role == agent, "k3s agent parameter", "ssm:GetParameter", p.parameter(name))
			}
			add(false, "another stack's k3s server key", "ssm:GetParameter", p.parameter(other))
			add(false, "the platform's published data", "ssm:GetParameter", p.parameter("/outside-in-platform/environments"))
			add(false, "a Secrets Manager secret", "secretsmanager:GetSecretValue", fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:outside-in-prod-AbCdEf", p.region, p.account))
			add(false, "the platform's state", "s3:GetObject", p.object(".pulumi/stacks/outside-in/platform.json"))
			for _, a := range sessionManager {
				resource := "*"
				if a == "ssm:UpdateInstanceInformation" {
					resource = instance
				}
				add(true, "Session Manager", a, resource)
			}
			judge(t, ev, rows)
		})
	}
}

// TestIAMEvaluatorK3sKeyPolicy: the key that encrypts the k3s parameters, judged as a resource
// policy with each principal's own policies: the servers decrypt their keys through Parameter
// Store, agents only the agent token, and the CI roles nothing.
func TestIAMEvaluatorK3sKeyPolicy(t *testing.T) {
	ev := evaluator(t)
	p := plansForIAM(t)
	k3s := p.k3sParameters(t)
	server := roleByResource(t, p.k3s, "cluster-server-role")
	agent := roleByResource(t, p.k3s, "cluster-agent-role")
	var rows []iamRow
	for _, name := range k3s["server"] {
		rows = append(rows, p.decryptRow(t, p.k3s, server, "server decrypts "+name, name, true))
		rows = append(rows, p.decryptRow(t, p.k3s, agent, "agent decrypts "+name, name, false))
	}
	agentToken := k3s["agent"][0]
	rows = append(rows, p.decryptRow(t, p.k3s, agent, "agent decrypts "+agentToken, agentToken, true))
	for _, name := range ciRoleResources[:2] {
		role := roleByResource(t, p.platform, name)
		for _, param := range []string{serverCAKey(k3s), agentToken} {
			rows = append(rows, p.decryptRow(t, p.k3s, role, name+" decrypts "+param, param, false))
		}
	}
	// Outside Parameter Store the key opens to nobody but its administrators.
	direct := p.decryptRow(t, p.k3s, server, "server decrypts directly, not via SSM", serverCAKey(k3s), false)
	delete(direct.req.Context, "kms:ViaService")
	rows = append(rows, direct)
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].who < rows[j].who })
	judge(t, ev, rows)
}

// TestIAMEvaluatorDriftReadsThePublishedDocument: the drift check (the read-only role, main
// only) refreshes the platform's published parameter, which reads its value: it is allowed the
// parameter and its key through Parameter Store. ReadOnlyAccess, its managed policy, grants no
// kms:Decrypt, so without the inline grant the daily check would fail.
func TestIAMEvaluatorDriftReadsThePublishedDocument(t *testing.T) {
	ev := evaluator(t)
	p := plansForIAM(t)
	role := roleByResource(t, p.platform, "github-ci-readonly")
	const envParam = "/outside-in-platform/environments"
	row := p.decryptRow(t, p.platform, role, "the published data's key, via SSM", envParam, true)
	row.unseen = role.managed
	judge(t, ev, []iamRow{
		{who: role.resource, what: "the platform's published data", allow: true, req: p.request(role, "ssm:GetParameter", p.parameter(envParam), nil), unseen: role.managed},
		row,
	})
}

// TestStateKeyMatcherAgreesWithTheIAMEvaluator: the project's own reading of the pr-* state
// keys (envname.KeyMatches, which the reaper's scopes and the tests rest on) answers as IAM does
// for the environments role's state policy, key by key, for keys of its own, of other stacks,
// and look-alikes.
func TestStateKeyMatcherAgreesWithTheIAMEvaluator(t *testing.T) {
	ev := evaluator(t)
	p := plansForIAM(t)
	role := roleByResource(t, p.platform, "github-ci-environments")
	keys := []string{
		".pulumi/stacks/outside-in/pr-17.json", ".pulumi/stacks/outside-in/pr-17.json.bak", ".pulumi/stacks/outside-in/pr-17.json.gz",
		".pulumi/history/outside-in/pr-17/pr-17-1.history.json", ".pulumi/backups/outside-in/pr-17/pr-17.1.json",
		".pulumi/locks/organization/outside-in/pr-17/a.json",
		".pulumi/stacks/outside-in/platform.json", ".pulumi/stacks/outside-in/prod-pr-1.json", ".pulumi/stacks/outside-in/prx.json",
		".pulumi/stacks/other-project/pr-17.json", ".pulumi/stacks/outside-in/sub/pr-17.json", ".pulumi/history/outside-in/platform/pr-1.json",
		".pulumi/locks/organization/outside-in/platform/pr-1.json", "pr-17.json", ".pulumi/meta.yaml",
	}
	var patterns []string
	for _, k := range envname.StateKeys("outside-in", envname.PullRequestPrefix) {
		patterns = append(patterns, p.object(k))
	}
	var reqs []iamsim.Request
	for _, k := range keys {
		reqs = append(reqs, p.request(role, "s3:PutObject", p.object(k), nil))
	}
	out, err := ev.Run(context.Background(), nil, reqs)
	require.NoError(t, err)
	agreed := 0
	for i, d := range out.Decisions {
		got, _ := verdict(d)
		ours := envname.KeyMatches(patterns, p.object(keys[i]))
		assert.Equal(t, ours, got == "allowed", "%s: the project's matcher says %v, IAM %s", keys[i], ours, got)
		if ours == (got == "allowed") {
			agreed++
		}
		t.Logf("%-62s ours=%-5v IAM=%s", keys[i], ours, got)
	}
	assert.Equal(t, len(keys), agreed)
}
