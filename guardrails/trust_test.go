package guardrails_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/offline/plan"
)

// githubToken is a job's OIDC token, described by what GitHub builds its claims from. The subject
// is GitHub's: by default repo:<repository>:<context>, where the context is environment:<name>
// when the job names an environment, else pull_request for a pull_request event, else
// ref:<ref>; a `:` inside a value becomes %3A. With the subject template
// include_claim_keys [repo, context, ref] the same subject is followed by :ref:<ref>. A
// repository created or renamed on or after 2026-07-15 is named owner@<id>/name@<id> in it.
type githubToken struct {
	name string
	// fromPR: the author of a pull request can make GitHub issue this token (a workflow of
	// their branch, or their pull request's run); false: only workflows on main can.
	fromPR bool
	// repo is the token's repository; empty is the platform's own.
	repo    string
	context string
	ref     string
	// allowedBy are the roles that must let it in: e(nvironments), r(ead-only: the drift
	// check), d(eploy).
	allowedBy string
}

func (g githubToken) subject(template guardrails.SubjectTemplate, repository string) string {
	if g.repo != "" {
		repository = g.repo
	}
	sub := "repo:" + repository + ":" + g.context
	if template == guardrails.SubjectRepoContextRef {
		sub += ":ref:" + g.ref
	}
	return sub
}

const prRef = "refs/pull/17/merge"

// githubTokens is the table: every token a pull request's author can get issued, then main's.
var githubTokens = []githubToken{
	{name: "pull_request job", fromPR: true, context: "pull_request", ref: prRef, allowedBy: "e"},
	{name: "pull_request job naming environment drift", fromPR: true, context: "environment:drift", ref: prRef},
	{name: "push to a branch, job naming environment drift", fromPR: true, context: "environment:drift", ref: "refs/heads/feature"},
	{name: "pull_request job naming environment reaper", fromPR: true, context: "environment:reaper", ref: prRef},
	{name: "pull_request job naming environment platform", fromPR: true, context: "environment:platform", ref: prRef},
	{name: "pull_request job naming environment production", fromPR: true, context: "environment:production", ref: prRef},
	{name: "pull_request job naming an environment spelled like main's subject", fromPR: true,
		context: "environment:reaper%3Aref%3Arefs/heads/main", ref: prRef},
	{name: "push to a branch", fromPR: true, context: "ref:refs/heads/feature", ref: "refs/heads/feature"},
	{name: "push to a branch, job naming environment reaper", fromPR: true, context: "environment:reaper", ref: "refs/heads/feature"},
	{name: "push to a branch, job naming environment platform", fromPR: true, context: "environment:platform", ref: "refs/heads/feature"},
	{name: "push to a branch, job naming environment production", fromPR: true, context: "environment:production", ref: "refs/heads/feature"},
	{name: "workflow_dispatch on a branch naming environment reaper", fromPR: true, context: "environment:reaper", ref: "refs/heads/feature"},
	{name: "push to a branch named main-next", fromPR: true, context: "ref:refs/heads/main-next", ref: "refs/heads/main-next"},
	{name: "push to a branch named feature/main, naming production", fromPR: true, context: "environment:production", ref: "refs/heads/feature/main"},
	{name: "push of a tag", fromPR: true, context: "ref:refs/tags/v1.0.0", ref: "refs/tags/v1.0.0"},
	{name: "push of a tag, job naming environment reaper", fromPR: true, context: "environment:reaper", ref: "refs/tags/v1.0.0"},
	{name: "a fork's own main, naming environment reaper", fromPR: true, repo: "mallory/outside-in", context: "environment:reaper", ref: "refs/heads/main"},
	{name: "a fork's own main", fromPR: true, repo: "mallory/outside-in", context: "ref:refs/heads/main", ref: "refs/heads/main"},
	{name: "a repository whose name extends ours, naming production", fromPR: true, repo: "example/outside-in-next", context: "environment:production", ref: "refs/heads/main"},
	// GitHub issues a fork's pull_request run no OIDC token and the jobs skip forks; were one
	// issued, it would carry exactly a pull request's rights.
	{name: "pull_request from a fork", fromPR: true, context: "pull_request", ref: prRef, allowedBy: "e"},

	{name: "push to main: deploy of the platform", context: "environment:platform", ref: "refs/heads/main", allowedBy: "d"},
	{name: "push to main: deploy of production", context: "environment:production", ref: "refs/heads/main", allowedBy: "d"},
	{name: "schedule or dispatch on main: the trusted reaper", context: "environment:reaper", ref: "refs/heads/main", allowedBy: "d"},
	{name: "schedule on main: pull requests' reaper", context: "ref:refs/heads/main", ref: "refs/heads/main", allowedBy: "e"},
	{name: "schedule on main: the drift check", context: "environment:drift", ref: "refs/heads/main", allowedBy: "r"},
	// pull_request_target and workflow_run run main's workflow with main's ref for a pull
	// request's event: the trust cannot tell them from main, so no workflow may use them
	// (TestWorkflowsFollowTheRules, "triggers").
	{name: "pull_request_target job of a workflow on main naming reaper", context: "environment:reaper", ref: "refs/heads/main", allowedBy: "d"},
}

// trustVariant is one githubOidc configuration of the platform stack.
type trustVariant struct {
	name       string
	template   guardrails.SubjectTemplate
	repository string
	set        map[string]any // githubOidc fields changed from Pulumi.platform.yaml
	// extra rows for this variant's repository form.
	extra []githubToken
}

var trustVariants = []trustVariant{
	{name: "default subject template (repo, context, ref)", template: guardrails.SubjectRepoContextRef, repository: "example/outside-in",
		extra: []githubToken{
			{name: "the same repository renamed: immutable subject", fromPR: true, repo: "example@123/outside-in@456", context: "environment:reaper", ref: "refs/heads/main"},
		}},
	{name: "GitHub's default subject template (repo, context)", template: guardrails.SubjectRepoContext, repository: "example/outside-in",
		set: map[string]any{"subjectTemplate": string(guardrails.SubjectRepoContext)}},
	{name: "immutable subject claims", template: guardrails.SubjectRepoContextRef, repository: "example@123/outside-in@456",
		set: map[string]any{"repository": "example@123/outside-in@456"},
		extra: []githubToken{
			{name: "our names with another owner's id (a recycled name)", fromPR: true, repo: "example@999/outside-in@456", context: "environment:reaper", ref: "refs/heads/main"},
			{name: "our names without ids", fromPR: true, repo: "example/outside-in", context: "environment:reaper", ref: "refs/heads/main"},
		}},
}

// TestCITrustRefusesWhatPullRequestsCanProduce runs IAM's matching (iammatch_test.go) over the
// trust policies the platform stack declares, for every token in the table: the deploy and
// read-only roles are refused every token a pull request's author can get issued and allowed
// main's deploy jobs and drift check; the environments role lets in pull requests and main,
// and nothing else.
func TestCITrustRefusesWhatPullRequestsCanProduce(t *testing.T) {
	for _, v := range trustVariants {
		t.Run(v.name, func(t *testing.T) {
			res := planPlatform(t, v.set)
			provider := res.Named("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github-oidc")
			require.NotNil(t, provider, "the platform makes GitHub's OIDC provider")
			providerArn, _ := provider.Out("arn").(string)
			require.Contains(t, providerArn, guardrails.GitHubTokenIssuer)
			roles := map[byte]string{'e': "github-ci-environments", 'r': "github-ci-readonly", 'd': "github-ci-deploy"}
			trust := map[byte]string{}
			for k, name := range roles {
				role := res.Named("aws:iam/role:Role", name)
				require.NotNil(t, role, "role %s", name)
				policy, ok := role.In("assumeRolePolicy").(string)
				require.True(t, ok, "%s has a known trust policy", name)
				trust[k] = policy
			}
			tokens := append(append([]githubToken{}, githubTokens...), v.extra...)
			var fromPR, fromMain int
			for _, tok := range tokens {
				sub := tok.subject(v.template, v.repository)
				req := request{provider: providerArn, keys: map[string]string{
					guardrails.GitHubTokenIssuer + ":aud": "sts.amazonaws.com",
					guardrails.GitHubTokenIssuer + ":sub": sub,
					guardrails.GitHubTokenIssuer + ":ref": tok.ref,
				}}
				var verdicts []string
				for _, k := range []byte("erd") {
					want := strings.IndexByte(tok.allowedBy, k) >= 0
					got := allows(t, trust[k], req)
					verdicts = append(verdicts, fmt.Sprintf("%s=%s", roles[k], verdict(got)))
					assert.Equal(t, want, got, "%s: %s (%s) is %s by %s, want %s", v.name, tok.name, sub, verdict(got), roles[k], verdict(want))
					if tok.fromPR && k != 'e' {
						assert.False(t, got, "a pull request's author gets %s with %s", roles[k], sub)
					}
				}
				if tok.fromPR {
					fromPR++
				} else {
					fromMain++
				}
				t.Logf("%-62s %-75s %s", tok.name, sub, strings.Join(verdicts, " "))
			}
			require.Greater(t, fromPR, 15, "the table holds the tokens pull requests can produce")
			require.Greater(t, fromMain, 3, "and main's")

			// A repository left on the other template: every role refuses even main, so a
			// missed setup step shows as a refused login, never as an open door.
			other := guardrails.SubjectRepoContext
			if v.template == guardrails.SubjectRepoContext {
				other = guardrails.SubjectRepoContextRef
			}
			for _, tok := range tokens {
				if tok.fromPR {
					continue
				}
				req := request{provider: providerArn, keys: map[string]string{
					guardrails.GitHubTokenIssuer + ":aud": "sts.amazonaws.com",
					guardrails.GitHubTokenIssuer + ":sub": tok.subject(other, v.repository),
					guardrails.GitHubTokenIssuer + ":ref": tok.ref,
				}}
				for k, name := range roles {
					assert.False(t, allows(t, trust[k], req), "%s lets in %s under the %s template", name, tok.name, other)
				}
			}
		})
	}
}

// The subjects the table builds are GitHub's documented examples.
func TestTrustTableSubjectsAreGitHubs(t *testing.T) {
	env := githubToken{context: "environment:Production", ref: "refs/heads/main"}
	assert.Equal(t, "repo:octo-org/octo-repo:environment:Production", env.subject(guardrails.SubjectRepoContext, "octo-org/octo-repo"))
	branch := githubToken{context: "ref:refs/heads/main", ref: "refs/heads/main"}
	assert.Equal(t, "repo:octo-org@123456/octo-repo@456789:ref:refs/heads/main", branch.subject(guardrails.SubjectRepoContext, "octo-org@123456/octo-repo@456789"))
	assert.Equal(t, "repo:octo-org/octo-repo:environment:Production:ref:refs/heads/main", env.subject(guardrails.SubjectRepoContextRef, "octo-org/octo-repo"))
}

func verdict(allowed bool) string {
	if allowed {
		return "allowed"
	}
	return "refused"
}

// planPlatform plans Pulumi.platform.yaml under the fake AWS with githubOidc fields changed.
func planPlatform(t *testing.T, set map[string]any) *plan.Result {
	t.Helper()
	res, err := plan.Run(platformStack(t, set), plan.Options{})
	require.NoError(t, err)
	return res
}

// platformStack is Pulumi.platform.yaml with the fields of set changed in githubOidc.
func platformStack(t *testing.T, set map[string]any) plan.Stack {
	t.Helper()
	s, err := plan.LoadStack(filepath.Join("..", "Pulumi.yaml"), filepath.Join("..", "Pulumi.platform.yaml"))
	require.NoError(t, err)
	const key = "outside-in:githubOidc"
	oidc := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(s.Config[key]), &oidc))
	for k, v := range set {
		oidc[k] = v
	}
	b, err := json.Marshal(oidc)
	require.NoError(t, err)
	s.Config[key] = string(b)
	return s
}
