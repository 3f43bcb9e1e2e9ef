package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const repo = "repos/example/outside-in"

// answer is GitHub's recorded answer to one GET: a status and a body.
type answer struct {
	status int
	body   string
}

// recorded answers GETs from recordings and fails the test on a request it has no answer
// for, so that a misspelt path never passes as a 404.
type recorded struct {
	t       *testing.T
	answers map[string]answer
}

func (r recorded) Get(_ context.Context, path string) ([]byte, error) {
	a, ok := r.answers[path]
	if !ok {
		r.t.Errorf("unrecorded request GET /%s", path)
		return nil, &HTTPError{Status: 404, Message: "Not Found"}
	}
	if a.status >= 300 {
		var m struct {
			Message string `json:"message"`
		}
		require.NoError(r.t, json.Unmarshal([]byte(a.body), &m))
		return nil, &HTTPError{Status: a.status, Message: m.Message}
	}
	return []byte(a.body), nil
}

// safeRecording is testdata/safe.json: the answers of a repository set up as the README says.
func safeRecording(t *testing.T) map[string]answer {
	t.Helper()
	answers := map[string]answer{}
	recording("safe")(t, answers)
	return answers
}

// recording puts the answers recorded in testdata/<name>.json in place of the ones at their
// paths.
func recording(name string) change {
	return func(t *testing.T, answers map[string]answer) {
		b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
		require.NoError(t, err)
		var raw map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(b, &raw))
		for path, body := range raw {
			answers[path] = answer{200, string(body)}
		}
	}
}

// change is one edit of the safe recording.
type change func(t *testing.T, answers map[string]answer)

// set changes one top-level field of the recorded answer at path.
func set(path, field string, value any) change {
	return func(t *testing.T, answers map[string]answer) {
		a, ok := answers[path]
		require.True(t, ok, "no recorded answer for %s", path)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(a.body), &m))
		m[field] = value
		b, err := json.Marshal(m)
		require.NoError(t, err)
		answers[path] = answer{200, string(b)}
	}
}

// fail makes GitHub answer path with an error status, as it does: {"message": ...}.
func fail(path string, status int, message string) change {
	return func(t *testing.T, answers map[string]answer) {
		b, err := json.Marshal(map[string]string{"message": message, "documentation_url": "https://docs.github.com/rest"})
		require.NoError(t, err)
		answers[path] = answer{status, string(b)}
	}
}

// secrets is a recorded list of secret names.
func secrets(names ...string) any {
	list := []map[string]string{}
	for _, n := range names {
		list = append(list, map[string]string{"name": n, "created_at": "2026-05-04T09:20:11Z", "updated_at": "2026-05-04T09:20:11Z"})
	}
	return list
}

// settings runs the command on the safe recording with the changes applied and returns the
// exit status, the output and each row's status as printed.
func settings(t *testing.T, changes ...change) (int, string, map[string]string) {
	t.Helper()
	return settingsWith(t, nil, changes...)
}

// settingsWith is settings with more command-line arguments.
func settingsWith(t *testing.T, args []string, changes ...change) (int, string, map[string]string) {
	t.Helper()
	answers := safeRecording(t)
	for _, c := range changes {
		c(t, answers)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"--repo", "example/outside-in"}, args...), &stdout, &stderr,
		func() (API, error) { return recorded{t, answers}, nil })
	require.Empty(t, stderr.String())
	return code, stdout.String(), printedRows(stdout.String())
}

// printedRows reads the status and name columns of each row's first line, up to the blank
// line before the summary.
func printedRows(out string) map[string]string {
	rows := map[string]string{}
	table, _, _ := strings.Cut(out, "\n\n")
	for _, line := range strings.Split(table, "\n") {
		if len(line) < 34 || line[0] == ' ' {
			continue
		}
		rows[strings.TrimSpace(line[9:33])] = strings.TrimSpace(line[:8])
	}
	return rows
}

// allRows are the checks every run prints.
var allRows = []string{
	"actions-approve-prs", "default-token", "fork-pr-approval", "deploy-runner", "main-protection",
	"environment platform", "environment production", "environment reaper", "environment drift",
	"repository-secrets", "oidc-subject",
}

func TestSettingsSafeRepository(t *testing.T) {
	code, out, rows := settings(t)
	t.Log("\n" + out)
	require.Len(t, rows, len(allRows), out)
	for _, name := range allRows {
		assert.Equal(t, "ok", rows[name], "row %s", name)
	}
	assert.Equal(t, 0, code)
	assert.Contains(t, out, `runner group "outside-in-deploy" admits only example/outside-in/.github/workflows/deploy.yml@refs/heads/main`)
	for _, held := range []string{
		"a pull request with at least 1 approving review is required, admins included (the branch protection rule)",
		"an approval is dismissed by a new push, or the last push must be approved, admins included (the branch protection rule)",
		"force pushes are blocked, admins included (the branch protection rule)",
		"deletion is blocked, admins included (the branch protection rule)",
	} {
		assert.Contains(t, out, held)
	}
}

// mainProtection is the path of main's branch protection rule; GitHub answers 404 "Branch not
// protected" when main has none.
const mainProtection = repo + "/branches/main/protection"

// noBranchProtection is main without a branch protection rule.
var noBranchProtection = fail(mainProtection, 404, "Branch not protected")

// mainRuleset is main protected by a repository ruleset alone, with no bypass list, then
// changes.
func mainRuleset(changes ...change) []change {
	return append([]change{noBranchProtection, recording("main-ruleset")}, changes...)
}

// A ruleset protects main as well as a branch protection rule: each requirement is held by
// the ruleset, whose bypass list is empty.
func TestSettingsMainProtectedByRuleset(t *testing.T) {
	code, out, rows := settings(t, mainRuleset()...)
	require.Len(t, rows, len(allRows), out)
	for _, name := range allRows {
		assert.Equal(t, "ok", rows[name], "row %s:\n%s", name, out)
	}
	assert.Equal(t, 4, strings.Count(out, `admins included (the ruleset "main")`), out)
	assert.NotContains(t, out, "branch protection rule")
	assert.Equal(t, 0, code)
}

// Rulesets only add to a branch protection rule: one that holds main to everything needs no
// ruleset, and without one, rules that cannot be read leave main's protection unknown.
func TestSettingsMainRulesUnreadable(t *testing.T) {
	unreadable := fail(repo+"/rules/branches/main?per_page=100", 403, "Resource not accessible by integration")
	code, out, rows := settings(t, unreadable)
	assert.Equal(t, "ok", rows["main-protection"], out)
	assert.Equal(t, 0, code)

	code, out, rows = settings(t, noBranchProtection, unreadable)
	assert.Equal(t, "unknown", rows["main-protection"], out)
	assert.Contains(t, out, "GET /repos/example/outside-in/rules/branches/main?per_page=100: HTTP 403 Resource not accessible by integration (reading it needs read access to the repository")
	assert.Equal(t, 3, code)
}

// rulesetBypass gives the main ruleset a bypass list.
func rulesetBypass(actors ...map[string]any) change {
	return set(repo+"/rulesets/4187", "bypass_actors", actors)
}

// reviews replaces the pull-request reviews main's branch protection rule requires.
func reviews(fields map[string]any) change {
	r := map[string]any{"url": "https://api.github.com/repos/example/outside-in/branches/main/protection/required_pull_request_reviews",
		"dismiss_stale_reviews": true, "require_code_owner_reviews": false, "require_last_push_approval": false, "required_approving_review_count": 1}
	for k, v := range fields {
		r[k] = v
	}
	return set(mainProtection, "required_pull_request_reviews", r)
}

// A private repository is held to its own fork settings: fork pull requests' workflows run
// only after approval, with a read-only token and no secrets.
func TestSettingsSafePrivateRepository(t *testing.T) {
	code, out, rows := settings(t, privateRepo(
		set(repo+"/actions/permissions/fork-pr-workflows-private-repos", "run_workflows_from_fork_pull_requests", true))...)
	require.Len(t, rows, len(allRows), out)
	assert.Equal(t, "ok", rows["fork-pr-approval"], out)
	assert.Contains(t, out, "run only after a maintainer approves, with a read-only token and no secrets")
	assert.Equal(t, 0, code)
}

// --deploy-runner-group names the group the operator put the deploy runners in: it is checked
// by name, and a name no group has is an error.
func TestSettingsNamedDeployRunnerGroup(t *testing.T) {
	groups := "orgs/example/actions/runner-groups?visible_to_repository=outside-in&per_page=100"
	code, out, rows := settingsWith(t, []string{"--deploy-runner-group", "outside-in-deploy"})
	assert.Equal(t, "ok", rows["deploy-runner"], out)
	assert.Equal(t, 0, code)

	// Named, it is checked even before a runner in it carries the label.
	code, out, rows = settingsWith(t, []string{"--deploy-runner-group", "outside-in-deploy"},
		replaceGroup(groups, 1, "restricted_to_workflows", false),
		func(t *testing.T, a map[string]answer) {
			a["orgs/example/actions/runner-groups/2/runners?per_page=100"] = answer{200, `{"total_count":0,"runners":[]}`}
		})
	assert.Equal(t, "UNSAFE", rows["deploy-runner"], out)
	assert.Contains(t, out, `runner group "outside-in-deploy", which holds the deploy runners, takes every workflow`)
	assert.Equal(t, 1, code)

	code, out, rows = settingsWith(t, []string{"--deploy-runner-group", "deploys"})
	assert.Equal(t, "BROKEN", rows["deploy-runner"], out)
	assert.Contains(t, out, `no runner group "deploys" is visible to the repository`)
	assert.Equal(t, 1, code)
}

// Each case changes one setting of the safe repository: that row, and no other, must say so,
// and the command must fail.
func TestSettingsUnsafe(t *testing.T) {
	env := repo + "/environments/"
	deployGroup := "orgs/example/actions/runner-groups/2/runners?per_page=100"
	groups := "orgs/example/actions/runner-groups?visible_to_repository=outside-in&per_page=100"
	cases := []struct {
		name    string
		changes []change
		row     string
		status  string
		says    string
	}{
		{"actions approve pull requests", []change{set(repo+"/actions/permissions/workflow", "can_approve_pull_request_reviews", true)},
			"actions-approve-prs", "UNSAFE", "may approve pull requests"},
		{"write token by default", []change{set(repo+"/actions/permissions/workflow", "default_workflow_permissions", "write")},
			"default-token", "UNSAFE", `"write" GITHUB_TOKEN`},
		{"first-time contributors only", []change{set(repo+"/actions/permissions/fork-pr-contributor-approval", "approval_policy", "first_time_contributors")},
			"fork-pr-approval", "UNSAFE", `approval policy "first_time_contributors"`},
		{"private: forks run unapproved", privateRepo(
			set(repo+"/actions/permissions/fork-pr-workflows-private-repos", "run_workflows_from_fork_pull_requests", true),
			set(repo+"/actions/permissions/fork-pr-workflows-private-repos", "require_approval_for_fork_pr_workflows", false)),
			"fork-pr-approval", "UNSAFE", "without a maintainer's approval"},
		{"private: forks get secrets", privateRepo(
			set(repo+"/actions/permissions/fork-pr-workflows-private-repos", "run_workflows_from_fork_pull_requests", true),
			set(repo+"/actions/permissions/fork-pr-workflows-private-repos", "send_secrets_and_variables", true)),
			"fork-pr-approval", "UNSAFE", "secrets and variables"},
		{"deploy group takes every workflow", []change{replaceGroup(groups, 1, "restricted_to_workflows", false)},
			"deploy-runner", "UNSAFE", "takes every workflow"},
		{"deploy group takes a branch's deploy.yml", []change{replaceGroup(groups, 1, "selected_workflows",
			[]string{"example/outside-in/.github/workflows/deploy.yml@refs/heads/*"})},
			"deploy-runner", "UNSAFE", "also admits example/outside-in/.github/workflows/deploy.yml@refs/heads/*"},
		{"a pull-request runner in the deploy group", []change{addRunner(deployGroup, "pr-runner-c", "outside-in-pr")},
			"deploy-runner", "UNSAFE", "holds both the deploy runners and runners labelled \"outside-in-pr\""},
		{"a repository runner with the deploy label", []change{addRunner(repo+"/actions/runners?per_page=100", "deploy-runner-b", "outside-in-deploy")},
			"deploy-runner", "UNSAFE", `repository runner "deploy-runner-b"`},
		{"one label for both", []change{set(repo+"/actions/variables/OUTSIDE_IN_PR_RUNNER", "value", "outside-in-deploy")},
			"deploy-runner", "UNSAFE", "share runners"},
		{"a user's repository with a self-hosted deploy runner", []change{set(repo, "owner", map[string]any{"login": "example", "type": "User"})},
			"deploy-runner", "UNSAFE", "only organizations have runner groups"},
		{"platform open to every branch", []change{set(env+"platform", "deployment_branch_policy", nil)},
			"environment platform", "UNSAFE", "any branch may deploy"},
		{"reaper open to a tag named main", []change{set(env+"reaper/deployment-branch-policies?per_page=100", "branch_policies",
			[]map[string]any{{"id": 1, "name": "main", "type": "branch"}, {"id": 2, "name": "main", "type": "tag"}})},
			"environment reaper", "UNSAFE", "open to tag main besides main"},
		{"drift open to another protected branch", []change{func(t *testing.T, a map[string]answer) {
			a[repo+"/branches?protected=true&per_page=100"] = answer{200, `[{"name":"main","protected":true},{"name":"release","protected":true}]`}
		}}, "environment drift", "UNSAFE", "release are protected too"},
		{"production without reviewers", []change{set(env+"production", "protection_rules", []any{})},
			"environment production", "UNSAFE", "no required reviewers"},
		{"no environment reaper", []change{fail(env+"reaper", 404, "Not Found")},
			"environment reaper", "UNSAFE", `no environment "reaper"`},
		{"platform without the passphrase", []change{set(env+"platform/secrets?per_page=100", "secrets", secrets("AWS_DEPLOY_ROLE_ARN"))},
			"environment platform", "BROKEN", "no environment secret PULUMI_CONFIG_PASSPHRASE"},
		{"passphrase as a repository secret", []change{set(repo+"/actions/secrets?per_page=100", "secrets",
			secrets("OUTSIDE_IN_ENVIRONMENTS_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE"))},
			"repository-secrets", "UNSAFE", "PULUMI_CONFIG_PASSPHRASE is a repository secret"},
		{"passphrase as an organization secret", []change{set(repo+"/actions/organization-secrets?per_page=100", "secrets", secrets("PULUMI_CONFIG_PASSPHRASE"))},
			"repository-secrets", "UNSAFE", "organization secret shared with the repository"},
		{"no environments passphrase", []change{set(repo+"/actions/secrets?per_page=100", "secrets", secrets())},
			"repository-secrets", "BROKEN", "OUTSIDE_IN_ENVIRONMENTS_PASSPHRASE is not a repository secret"},
		{"main unprotected", []change{noBranchProtection},
			"main-protection", "UNSAFE", "main is not protected: no branch protection rule and no active ruleset applies to it"},
		{"main without pull requests", []change{set(mainProtection, "required_pull_request_reviews", nil)},
			"main-protection", "UNSAFE", "no pull request with an approving review is required: a commit reaches main unreviewed; approvals are not dismissed on a new push"},
		{"main: pull requests without approvals", []change{reviews(map[string]any{"required_approving_review_count": 0})},
			"main-protection", "UNSAFE", "no pull request with an approving review is required: a commit reaches main unreviewed"},
		{"main: reviews without stale dismissal", []change{reviews(map[string]any{"dismiss_stale_reviews": false})},
			"main-protection", "UNSAFE", "approvals are not dismissed on a new push, nor must the last push be approved"},
		{"main: admins bypass", []change{set(mainProtection, "enforce_admins", map[string]any{"url": "https://api.github.com/repos/example/outside-in/branches/main/protection/enforce_admins", "enabled": false})},
			"main-protection", "UNSAFE", "repository admins may bypass the branch protection rule, and no rule that binds everyone requires this (a pull request with at least 1 approving review is required; an approval is dismissed by a new push, or the last push must be approved; force pushes are blocked; deletion is blocked)"},
		{"main: a user may skip the pull request", []change{reviews(map[string]any{"bypass_pull_request_allowances": map[string]any{
			"users": []map[string]any{{"login": "release-bot", "id": 5021, "type": "User"}}, "teams": []any{}, "apps": []any{}}})},
			"main-protection", "UNSAFE", "user release-bot may bypass the branch protection rule, and no rule that binds everyone requires this (a pull request with at least 1 approving review is required; an approval is dismissed by a new push, or the last push must be approved)"},
		{"main: force pushes allowed", []change{set(mainProtection, "allow_force_pushes", map[string]any{"enabled": true})},
			"main-protection", "UNSAFE", "force pushes are allowed"},
		{"main: deletion allowed", []change{set(mainProtection, "allow_deletions", map[string]any{"enabled": true})},
			"main-protection", "UNSAFE", "main may be deleted"},
		{"main: ruleset with a bypass list", mainRuleset(rulesetBypass(map[string]any{"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"})),
			"main-protection", "UNSAFE", `its bypass list (RepositoryRole 5) may bypass the ruleset "main"`},
		{"main: ruleset without force-push blocking", mainRuleset(func(t *testing.T, a map[string]answer) {
			var rules []map[string]any
			require.NoError(t, json.Unmarshal([]byte(a[repo+"/rules/branches/main?per_page=100"].body), &rules))
			require.Equal(t, "non_fast_forward", rules[1]["type"])
			b, err := json.Marshal(append(rules[:1], rules[2:]...))
			require.NoError(t, err)
			a[repo+"/rules/branches/main?per_page=100"] = answer{200, string(b)}
		}),
			"main-protection", "UNSAFE", "force pushes are allowed"},
		{"GitHub's default subject", []change{set(repo+"/actions/oidc/customization/sub", "use_default", true)},
			"oidc-subject", "BROKEN", "the subject template is [repo, context], githubOidc.subjectTemplate repo-context-ref expects [repo, context, ref]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, rows := settings(t, c.changes...)
			require.Len(t, rows, len(allRows), out)
			for _, name := range allRows {
				want := "ok"
				if name == c.row {
					want = c.status
				}
				assert.Equal(t, want, rows[name], "row %s:\n%s", name, out)
			}
			assert.Contains(t, out, c.says)
			assert.Contains(t, out, "fix: ", "an unsafe row says how to fix it")
			assert.Equal(t, 1, code)
		})
	}
}

// privateRepo makes the repository private, then applies changes.
func privateRepo(changes ...change) []change {
	return append([]change{set(repo, "private", true), set(repo, "visibility", "private")}, changes...)
}

// replaceGroup sets a field of the i-th runner group in the recorded list.
func replaceGroup(path string, i int, field string, value any) change {
	return func(t *testing.T, answers map[string]answer) {
		var list map[string]any
		require.NoError(t, json.Unmarshal([]byte(answers[path].body), &list))
		groups := list["runner_groups"].([]any)
		require.Greater(t, len(groups), i)
		groups[i].(map[string]any)[field] = value
		b, err := json.Marshal(list)
		require.NoError(t, err)
		answers[path] = answer{200, string(b)}
	}
}

// addRunner adds a self-hosted runner with one custom label to a recorded runner list.
func addRunner(path, name, label string) change {
	return func(t *testing.T, answers map[string]answer) {
		var list map[string]any
		require.NoError(t, json.Unmarshal([]byte(answers[path].body), &list))
		runners, _ := list["runners"].([]any)
		list["runners"] = append(runners, map[string]any{"id": 99, "name": name, "os": "linux", "status": "online", "busy": false,
			"labels": []map[string]any{{"id": 1, "name": "self-hosted", "type": "read-only"}, {"id": 99, "name": label, "type": "custom"}}})
		list["total_count"] = len(runners) + 1
		b, err := json.Marshal(list)
		require.NoError(t, err)
		answers[path] = answer{200, string(b)}
	}
}

// Unset runner variables mean GitHub's hosted runners for every job: nothing to restrict, and
// no runner or group is read.
func TestSettingsHostedRunners(t *testing.T) {
	code, out, rows := settings(t,
		fail(repo+"/actions/variables/OUTSIDE_IN_DEPLOY_RUNNER", 404, "Not Found"),
		fail(repo+"/actions/variables/OUTSIDE_IN_PR_RUNNER", 404, "Not Found"),
		func(t *testing.T, a map[string]answer) {
			a[repo+"/actions/organization-variables?per_page=30"] = answer{200, `{"total_count":1,"variables":[{"name":"SLACK_CHANNEL","value":"#ops","created_at":"2026-05-04T09:20:11Z","updated_at":"2026-05-04T09:20:11Z","visibility":"all"}]}`}
			// Unset variables send the deploys to hosted runners; the runner lists must not matter.
			delete(a, repo+"/actions/runners?per_page=100")
			delete(a, "orgs/example/actions/runner-groups?visible_to_repository=outside-in&per_page=100")
		})
	assert.Equal(t, "ok", rows["deploy-runner"], out)
	assert.Contains(t, out, "OUTSIDE_IN_DEPLOY_RUNNER is unset: the deploy jobs run on GitHub's hosted runners")
	assert.Equal(t, 0, code)
}

// A read GitHub refuses is unknown, names what the token lacks, and never passes as ok.
func TestSettingsUnknown(t *testing.T) {
	cases := []struct {
		name  string
		fail  change
		rows  []string
		needs string
	}{
		{"workflow permissions", fail(repo+"/actions/permissions/workflow", 403, "Resource not accessible by personal access token"),
			[]string{"actions-approve-prs", "default-token"}, "Administration (read)"},
		{"fork approval", fail(repo+"/actions/permissions/fork-pr-contributor-approval", 403, "Must have admin rights to Repository."),
			[]string{"fork-pr-approval"}, "Administration (read)"},
		{"runner groups", fail("orgs/example/actions/runner-groups?visible_to_repository=outside-in&per_page=100", 403, "Resource not accessible by integration"),
			[]string{"deploy-runner"}, "admin:org"},
		{"runner variables", fail(repo+"/actions/variables/OUTSIDE_IN_DEPLOY_RUNNER", 403, "Resource not accessible by personal access token"),
			[]string{"deploy-runner"}, "Variables (read)"},
		{"environment secrets", fail(repo+"/environments/drift/secrets?per_page=100", 403, "Resource not accessible by personal access token"),
			[]string{"environment drift"}, "Environments (read)"},
		{"repository secrets", fail(repo+"/actions/secrets?per_page=100", 404, "Not Found"),
			[]string{"repository-secrets"}, "Secrets (read)"},
		{"OIDC subject", fail(repo+"/actions/oidc/customization/sub", 404, "Not Found"),
			[]string{"oidc-subject"}, "Actions (read)"},
		{"main's branch protection", fail(mainProtection, 403, "Resource not accessible by personal access token"),
			[]string{"main-protection"}, "Administration (read)"},
		// Only "Branch not protected" says main has no rule; another 404 is a read that failed.
		{"main's branch protection, not found", fail(mainProtection, 404, "Not Found"),
			[]string{"main-protection"}, "Administration (read)"},
		{"the main ruleset's bypass list", func(t *testing.T, a map[string]answer) {
			for _, c := range mainRuleset() {
				c(t, a)
			}
			var rs map[string]any
			require.NoError(t, json.Unmarshal([]byte(a[repo+"/rulesets/4187"].body), &rs))
			delete(rs, "bypass_actors") // GitHub shows it only to whoever may edit the ruleset
			b, err := json.Marshal(rs)
			require.NoError(t, err)
			a[repo+"/rulesets/4187"] = answer{200, string(b)}
		}, []string{"main-protection"}, "write access to the ruleset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, rows := settings(t, c.fail)
			require.Len(t, rows, len(allRows), out)
			for _, name := range allRows {
				want := "ok"
				for _, r := range c.rows {
					if r == name {
						want = "unknown"
					}
				}
				assert.Equal(t, want, rows[name], "row %s:\n%s", name, out)
			}
			assert.Contains(t, out, "reading it needs")
			assert.Contains(t, out, c.needs)
			assert.Equal(t, 3, code, "unknown, nothing unsafe")
		})
	}
}

// A repository that cannot be read at all is a setup error, not a row.
func TestSettingsUnreadableRepository(t *testing.T) {
	answers := map[string]answer{repo: {404, `{"message":"Not Found"}`}}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"--repo", "example/outside-in"}, &stdout, &stderr,
		func() (API, error) { return recorded{t, answers}, nil })
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr.String(), "reading the repository example/outside-in: GET /repos/example/outside-in: HTTP 404 Not Found")
	assert.Empty(t, stdout.String())
}

func TestSettingsUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"--repo", "outside-in"}, {"--repo", "a/b", "--subject-template", "repo"}, {"--repo", "a/b", "extra"}} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr, func() (API, error) {
			t.Errorf("%q: reached GitHub", args)
			return nil, nil
		})
		assert.Equal(t, 2, code, "%q", args)
		assert.Contains(t, stderr.String(), "usage: ghsettings", "%q", args)
	}
}

// The runner group must admit exactly the workflows whose jobs run on the deploy runner.
func TestSettingsDeployWorkflowsAreTheWorkflowsOnTheDeployRunner(t *testing.T) {
	dir := filepath.Join("..", "..", ".github", "workflows")
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var onDeployRunner []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		if strings.Contains(string(b), "vars."+deployRunnerVar) {
			onDeployRunner = append(onDeployRunner, filepath.Base(f))
		}
	}
	assert.ElementsMatch(t, deployWorkflows, onDeployRunner)
}

// gh api --include prints the status line and headers before the body, for errors too.
func TestSettingsGhResponse(t *testing.T) {
	status, body, ok := splitResponse([]byte("HTTP/2.0 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nX-Github-Api-Version-Selected: 2022-11-28\r\n\r\n{\"approval_policy\":\"all_external_contributors\"}"))
	require.True(t, ok)
	assert.Equal(t, 200, status)
	assert.JSONEq(t, `{"approval_policy":"all_external_contributors"}`, string(body))

	status, body, ok = splitResponse([]byte("HTTP/2.0 404 Not Found\nContent-Type: application/json\n\n{\"message\":\"Not Found\",\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"404\"}"))
	require.True(t, ok)
	assert.Equal(t, 404, status)
	assert.Contains(t, string(body), "Not Found")

	_, _, ok = splitResponse([]byte("To get started with GitHub CLI, please run:  gh auth login\n"))
	assert.False(t, ok)
}

// The real fetcher runs gh: a stand-in gh on PATH answers like the real one, error included.
func TestSettingsGhCLI(t *testing.T) {
	dir := t.TempDir()
	gh := filepath.Join(dir, "gh")
	script := `#!/bin/sh
case "$*" in
*actions/permissions/workflow) printf 'HTTP/2.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"default_workflow_permissions":"read","can_approve_pull_request_reviews":false}' ;;
*) printf 'HTTP/2.0 403 Forbidden\r\nContent-Type: application/json\r\n\r\n{"message":"Must have admin rights to Repository."}'; echo 'gh: Must have admin rights to Repository. (HTTP 403)' >&2; exit 1 ;;
esac
`
	require.NoError(t, os.WriteFile(gh, []byte(script), 0o755))
	api := ghCLI{bin: gh}
	body, err := api.Get(context.Background(), repo+"/actions/permissions/workflow")
	require.NoError(t, err)
	assert.JSONEq(t, `{"default_workflow_permissions":"read","can_approve_pull_request_reviews":false}`, string(body))

	_, err = api.Get(context.Background(), repo+"/actions/permissions/fork-pr-contributor-approval")
	require.Error(t, err)
	assert.Equal(t, 403, statusOf(err))
	assert.EqualError(t, err, "HTTP 403 Must have admin rights to Repository.")

	_, err = ghCLI{bin: filepath.Join(dir, "missing")}.Get(context.Background(), repo)
	require.Error(t, err)
	assert.Equal(t, 0, statusOf(err))
}

// The README's setup step says what the command checks: main's protection, the environments,
// the workflows the deploy runner group admits, and the exit statuses.
func TestSettingsReadme(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	readme := strings.Join(strings.Fields(string(b)), " ")
	assert.Contains(t, readme, "go run ./cmd/ghsettings --repo OWNER/REPO")
	for _, env := range protectedEnvironments {
		assert.Contains(t, readme, "`"+env+"`", "README names the environment %s", env)
	}
	for _, w := range deployWorkflows {
		assert.Contains(t, readme, "`"+w+"`", "README names the deploy workflow %s", w)
	}
	assert.Contains(t, readme, "`main` takes only approved pull requests, stale approvals dismissed, and no force push or deletion, admins included")
	assert.Contains(t, readme, "Exit status 0 when all are ok, 1 when one is `UNSAFE` or `BROKEN`, 3 when the rest are ok but one is `unknown`")
}
