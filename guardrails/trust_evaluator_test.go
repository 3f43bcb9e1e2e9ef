package guardrails_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/internal/iamsim"
)

// The project's own trust matcher (iammatch_test.go) is a restatement of IAM; here it is held
// to an evaluator the project did not write, cloud-copilot's IAM simulator (internal/iamsim),
// on every row of the trust table: each token of githubTokens, under each subject template
// variant, on each CI role's trust policy as the platform plan declares it, and main's tokens
// under the template the repository did not set.
//
// The simulator checks each request's context keys against AWS's catalogue, whose list for
// sts:AssumeRoleWithWebIdentity names GitHub's claim keys (:ref, :repository, ...) but not :sub
// and :aud, so it drops those two and refuses every row. The agreement is therefore with the
// same engine run with every key kept (iamsim.Result.WithAllContext); the test also holds
// that the validated run drops exactly those two keys, so a catalogue that learns them shows.
func TestTrustMatcherAgreesWithTheIAMEvaluator(t *testing.T) {
	ev, err := iamsim.Find(".")
	require.NoError(t, err)
	for _, v := range trustVariants {
		t.Run(v.name, func(t *testing.T) {
			res := planPlatform(t, v.set)
			providerArn, _ := res.Named("aws:iam/openIdConnectProvider:OpenIdConnectProvider", "github-oidc").Out("arn").(string)
			require.NotEmpty(t, providerArn)
			type role struct{ name, arn, trust string }
			var roles []role
			for _, name := range []string{"github-ci-environments", "github-ci-readonly", "github-ci-deploy"} {
				r := res.Named("aws:iam/role:Role", name)
				require.NotNil(t, r, "role %s", name)
				trust, _ := r.In("assumeRolePolicy").(string)
				arn, _ := r.Out("arn").(string)
				roles = append(roles, role{name, arn, trust})
			}
			other := guardrails.SubjectRepoContext
			if v.template == guardrails.SubjectRepoContext {
				other = guardrails.SubjectRepoContextRef
			}
			type row struct {
				token, sub string
				role       role
				req        request
			}
			var rows []row
			var reqs []iamsim.Request
			add := func(tok githubToken, sub, provider string, r role) {
				req := request{provider: provider, keys: map[string]string{
					guardrails.GitHubTokenIssuer + ":aud": "sts.amazonaws.com",
					guardrails.GitHubTokenIssuer + ":sub": sub,
					guardrails.GitHubTokenIssuer + ":ref": tok.ref,
				}}
				keys := map[string]any{}
				for k, v := range req.keys {
					keys[k] = v
				}
				rows = append(rows, row{token: tok.name, sub: sub, role: r, req: req})
				reqs = append(reqs, iamsim.Request{Name: fmt.Sprint(len(reqs)), Principal: provider, Action: "sts:AssumeRoleWithWebIdentity",
					Resource: r.arn, ResourceAccount: "123456789012", ResourcePolicy: rawJSON(r.trust), Context: keys})
			}
			tokens := append(append([]githubToken{}, githubTokens...), v.extra...)
			for _, tok := range tokens {
				for _, r := range roles {
					add(tok, tok.subject(v.template, v.repository), providerArn, r)
					if !tok.fromPR {
						add(githubToken{name: tok.name + ", repository on the other template", ref: tok.ref}, tok.subject(other, v.repository), providerArn, r)
					}
				}
			}
			// A token of another account's provider for GitHub names our subjects but not our provider.
			mallory := strings.Replace(providerArn, "123456789012", "210987654321", 1)
			for _, r := range roles {
				add(githubToken{name: "another account's GitHub provider", ref: guardrails.MainRef}, githubTokens[len(githubTokens)-2].subject(v.template, v.repository), mallory, r)
			}
			out, err := ev.Run(context.Background(), nil, reqs)
			require.NoError(t, err)
			agree, allowed := 0, 0
			for i, rw := range rows {
				d := out.Decisions[i]
				assert.Equal(t, iamsim.ImplicitlyDenied, d.Decision, "the validated run refuses %s (it drops :sub and :aud)", rw.token)
				assert.Equal(t, []string{guardrails.GitHubTokenIssuer + ":aud", guardrails.GitHubTokenIssuer + ":sub"}, d.IgnoredContextKeys,
					"the keys the catalogue lacks for sts:AssumeRoleWithWebIdentity")
				ours := allows(t, rw.role.trust, rw.req)
				theirs := d.WithAllContext == iamsim.Allowed
				line := fmt.Sprintf("%-24s %-66s %-70s matcher %s, evaluator %s", rw.role.name, rw.token, rw.sub, verdict(ours), d.WithAllContext)
				if !assert.Equal(t, theirs, ours, "FAIL %s", line) {
					continue
				}
				agree++
				if ours {
					allowed++
				}
				t.Log("agree " + line)
			}
			t.Logf("%d rows, matcher and evaluator agree on %d (iam-simulate %s)", len(rows), agree, out.Versions["iam-simulate"])
			require.Greater(t, len(rows), 60, "the table holds every token on every role")
			assert.Greater(t, allowed, 3, "rows both let in and refused: an evaluator that refused all would agree on nothing that matters")
			assert.Less(t, allowed, len(rows)/2)
		})
	}
}

// rawJSON hands a policy string to the evaluator as the document it is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
