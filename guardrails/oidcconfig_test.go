package guardrails_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// parsePlatform parses Pulumi.platform.yaml with githubOidc fields changed, as `pulumi up` would.
func parsePlatform(t *testing.T, set map[string]any) (program.Config, error) {
	t.Helper()
	s := platformStack(t, set)
	cfg, _, err := program.Parse(plan.Project, s.Name, s.Config)
	return cfg, err
}

// githubOidc.repository takes a repository as its tokens' subject names it, in either form:
// names only, or names with the owner's and the repository's ids (immutable subject claims,
// the default for repositories created or renamed on or after 2026-07-15).
func TestTrustRepositoryForms(t *testing.T) {
	for _, repo := range []string{"example/outside-in", "Example-Org/outside.in_2", "example@123456/outside-in@456789", "o@1/r@9999999999"} {
		cfg, err := parsePlatform(t, map[string]any{"repository": repo})
		if assert.NoError(t, err, repo) {
			assert.Equal(t, repo, cfg.GithubOidc.Repository)
		}
	}
	for _, c := range []struct{ repo, want string }{
		{"outside-in", "owner/name, e.g. example/outside-in, or with immutable subject claims owner@<owner id>/name@<repository id>"},
		{"example/outside in", "owner/name"},
		{"example@123/outside-in", "names one id: with immutable subject claims both carry theirs, owner@<owner id>/name@<repository id>"},
		{"example/outside-in@456", "names one id"},
		{"example@/outside-in@", "owner@<owner id>/name@<repository id>, e.g. example@123456/outside-in@456789"},
		{"example@12a/outside-in@4", "owner@<owner id>/name@<repository id>"},
		{"example@0123/outside-in@4", "owner@<owner id>/name@<repository id>"},
		{"example@1@2/outside-in@4", "owner@<owner id>/name@<repository id>"},
	} {
		_, err := parsePlatform(t, map[string]any{"repository": c.repo})
		problem := onlyProblem(t, err, c.repo)
		assert.Equal(t, "githubOidc.repository", problem.Key, c.repo)
		assert.Equal(t, c.repo, problem.Value)
		assert.Contains(t, problem.Want, c.want, c.repo)
		t.Logf("%s", err)
	}
}

// githubOidc.subjectTemplate defaults to the template that carries the ref, and takes only the
// templates the trust is built for.
func TestTrustSubjectTemplate(t *testing.T) {
	cfg, err := parsePlatform(t, nil)
	require.NoError(t, err)
	assert.Equal(t, string(guardrails.SubjectRepoContextRef), cfg.GithubOidc.SubjectTemplate, "the default")
	cfg, err = parsePlatform(t, map[string]any{"subjectTemplate": "repo-context"})
	require.NoError(t, err)
	assert.Equal(t, string(guardrails.SubjectRepoContext), cfg.GithubOidc.SubjectTemplate)

	for _, bad := range []string{"", "repo,context,ref", "Repo-Context-Ref", "default"} {
		_, err := parsePlatform(t, map[string]any{"subjectTemplate": bad})
		problem := onlyProblem(t, err, bad)
		assert.Equal(t, "githubOidc.subjectTemplate", problem.Key)
		assert.Equal(t, bad, problem.Value)
		assert.Contains(t, problem.Want, "must be repo-context-ref (the repository's OIDC subject template is include_claim_keys [repo, context, ref]; the default) or repo-context")
	}

	assert.Equal(t, `{"include_claim_keys":["repo","context","ref"],"use_default":false}`, guardrails.SubjectRepoContextRef.Customization())
	assert.Equal(t, `{"use_default":true}`, guardrails.SubjectRepoContext.Customization())
	res := planPlatform(t, nil)
	require.Contains(t, res.Exports, "ciSubjectTemplate")
	assert.Equal(t, guardrails.SubjectRepoContextRef.Customization(), res.Exports["ciSubjectTemplate"].Value,
		"the platform says what the repository's subject template must be")
}

func onlyProblem(t *testing.T, err error, what string) program.Problem {
	t.Helper()
	var ce *program.ConfigError
	require.True(t, errors.As(err, &ce), "%q must be refused as configuration, got %v", what, err)
	require.Len(t, ce.Problems, 1, "%q: %v", what, err)
	return ce.Problems[0]
}
