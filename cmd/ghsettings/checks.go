package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/outside-in/outside-in/guardrails"
)

// What a request needs of the token, named in an unknown row when GitHub answers 403 or 404.
const (
	needsRepoAdmin = "admin on the repository: a classic token's repo scope, or a fine-grained token's Administration (read)"
	needsSecrets   = "a classic token's repo scope, or a fine-grained token's Secrets (read)"
	needsEnvs      = "a classic token's repo scope, or a fine-grained token's Environments (read)"
	needsActions   = "a classic token's repo scope, or a fine-grained token's Actions (read)"
)

// The secrets that open stacks: the passphrase of every stack but the pull requests', and
// theirs.
const (
	deployPassphrase       = "PULUMI_CONFIG_PASSPHRASE"
	environmentsPassphrase = "OUTSIDE_IN_ENVIRONMENTS_PASSPHRASE"
)

// target is the repository checked and what the checks expect of it.
type target struct {
	owner, name string
	// org is whether the owner is an organization (runner groups, organization secrets and
	// variables exist only there).
	org bool
	// private covers private and internal repositories: fork pull requests are governed by
	// the private-repository settings there, by the contributor approval policy otherwise.
	private bool
	// deployRunnerGroup is --deploy-runner-group: the runner group the operator says holds the
	// deploy runners, checked even if no runner in it carries the deploy label yet.
	deployRunnerGroup string
	// template is the OIDC subject template the platform's trust was built for.
	template guardrails.SubjectTemplate
}

func (t target) repo() string { return t.owner + "/" + t.name }

// settingsPage is the repository's settings page for one area, e.g. "actions".
func (t target) settingsPage(area string) string {
	return "https://github.com/" + t.repo() + "/settings/" + area
}

// readTarget reads what every check depends on: that the repository is readable, whether its
// owner is an organization and whether it is private.
func readTarget(ctx context.Context, api API, t target) (target, error) {
	var repo struct {
		Private    bool   `json:"private"`
		Visibility string `json:"visibility"`
		Owner      struct {
			Type string `json:"type"`
		} `json:"owner"`
	}
	if err := getJSON(ctx, api, "repos/"+t.repo(), &repo); err != nil {
		return t, err
	}
	t.org = repo.Owner.Type == "Organization"
	t.private = repo.Private || repo.Visibility == "internal"
	return t, nil
}

// check reads every setting and returns a row per check.
func check(ctx context.Context, api API, t target) []Row {
	rows := workflowPermissionRows(ctx, api, t)
	rows = append(rows, forkPullRequestRow(ctx, api, t))
	rows = append(rows, runnerRow(ctx, api, t))
	rows = append(rows, mainProtectionRow(ctx, api, t))
	for _, env := range protectedEnvironments {
		rows = append(rows, environmentRow(ctx, api, t, env))
	}
	rows = append(rows, secretsRow(ctx, api, t))
	rows = append(rows, oidcSubjectRow(ctx, api, t))
	return rows
}

// workflowPermissionRows checks what the GITHUB_TOKEN of a workflow gets unless it says
// otherwise, and whether it may approve pull requests.
func workflowPermissionRows(ctx context.Context, api API, t target) []Row {
	approve := Row{Name: "actions-approve-prs"}
	token := Row{Name: "default-token"}
	var perms struct {
		DefaultWorkflowPermissions   string `json:"default_workflow_permissions"`
		CanApprovePullRequestReviews bool   `json:"can_approve_pull_request_reviews"`
	}
	if err := getJSON(ctx, api, "repos/"+t.repo()+"/actions/permissions/workflow", &perms); err != nil {
		approve.unknown(err, needsRepoAdmin)
		token.unknown(err, needsRepoAdmin)
		return []Row{approve, token}
	}
	fix := fmt.Sprintf("%s (Workflow permissions: read, and untick \"Allow GitHub Actions to create and approve pull requests\"), or gh api -X PUT repos/%s/actions/permissions/workflow -f default_workflow_permissions=read -F can_approve_pull_request_reviews=false",
		t.settingsPage("actions"), t.repo())
	if perms.CanApprovePullRequestReviews {
		approve.unsafe("GitHub Actions may approve pull requests: a branch's workflow can approve its own pull request with the GITHUB_TOKEN, and once merged its code runs in the deploy", fix)
	} else {
		approve.ok("GitHub Actions may not approve pull requests")
	}
	if perms.DefaultWorkflowPermissions != "read" {
		token.unsafe(fmt.Sprintf("a workflow that names no permissions gets a %q GITHUB_TOKEN (contents, packages, pull requests...): the workflows here name theirs, a new one would inherit write", perms.DefaultWorkflowPermissions), fix)
	} else {
		token.ok("a workflow that names no permissions gets a read-only GITHUB_TOKEN")
	}
	return []Row{approve, token}
}

// forkPullRequestRow checks that a fork's pull request runs no workflow before a maintainer
// approves it: its workflow is the fork's, so it may name any runner label, the self-hosted
// ones included.
func forkPullRequestRow(ctx context.Context, api API, t target) Row {
	row := Row{Name: "fork-pr-approval"}
	if t.private {
		var s struct {
			Run           bool `json:"run_workflows_from_fork_pull_requests"`
			WriteTokens   bool `json:"send_write_tokens_to_workflows"`
			Secrets       bool `json:"send_secrets_and_variables"`
			RequireApprov bool `json:"require_approval_for_fork_pr_workflows"`
		}
		if err := getJSON(ctx, api, "repos/"+t.repo()+"/actions/permissions/fork-pr-workflows-private-repos", &s); err != nil {
			row.unknown(err, needsRepoAdmin)
			return row
		}
		fix := fmt.Sprintf("%s (Fork pull request workflows: untick \"Run workflows from fork pull requests\", or tick \"Require approval for fork pull request workflows\" and untick sending write tokens and secrets), or gh api -X PUT repos/%s/actions/permissions/fork-pr-workflows-private-repos -F run_workflows_from_fork_pull_requests=false",
			t.settingsPage("actions"), t.repo())
		switch {
		case !s.Run:
			row.ok("workflows of fork pull requests do not run")
		default:
			if !s.RequireApprov {
				row.unsafe("workflows of fork pull requests run without a maintainer's approval", fix)
			}
			if s.WriteTokens {
				row.unsafe("workflows of fork pull requests get a GITHUB_TOKEN that can write", fix)
			}
			if s.Secrets {
				row.unsafe("workflows of fork pull requests get the repository's secrets and variables", fix)
			}
			if s.RequireApprov && !s.WriteTokens && !s.Secrets {
				row.ok("workflows of fork pull requests run only after a maintainer approves, with a read-only token and no secrets")
			}
		}
		return row
	}
	var p struct {
		ApprovalPolicy string `json:"approval_policy"`
	}
	if err := getJSON(ctx, api, "repos/"+t.repo()+"/actions/permissions/fork-pr-contributor-approval", &p); err != nil {
		row.unknown(err, needsRepoAdmin)
		return row
	}
	if p.ApprovalPolicy != "all_external_contributors" {
		row.unsafe(fmt.Sprintf("approval policy %q: an outside contributor's fork runs its own workflow, which may name any runner label, without a maintainer's approval", p.ApprovalPolicy),
			fmt.Sprintf("%s (Approval for running fork pull request workflows: \"Require approval for all external contributors\"), or gh api -X PUT repos/%s/actions/permissions/fork-pr-contributor-approval -f approval_policy=all_external_contributors",
				t.settingsPage("actions"), t.repo()))
	} else {
		row.ok("every outside contributor's fork pull request waits for a maintainer's approval before its workflows run")
	}
	return row
}

// secretsRow checks the two passphrases: the stacks' own only in GitHub environments, the pull
// requests' a repository secret.
func secretsRow(ctx context.Context, api API, t target) Row {
	row := Row{Name: "repository-secrets"}
	repoSecrets, err := secretNames(ctx, api, "repos/"+t.repo()+"/actions/secrets")
	if err != nil {
		row.unknown(err, needsSecrets)
		return row
	}
	// Organization secrets shared with the repository reach its jobs like repository secrets.
	var orgSecrets []string
	if t.org {
		orgSecrets, err = secretNames(ctx, api, "repos/"+t.repo()+"/actions/organization-secrets")
		if err != nil {
			row.unknown(err, needsSecrets)
		}
	}
	switch {
	case slices.Contains(repoSecrets, deployPassphrase):
		row.unsafe(deployPassphrase+" is a repository secret: every branch's workflow may read it, and it opens the platform's and prod's state",
			fmt.Sprintf("gh secret delete %s --repo %s (it belongs to the environments %s: gh secret set %s --env <environment> --repo %s)",
				deployPassphrase, t.repo(), strings.Join(protectedEnvironments, ", "), deployPassphrase, t.repo()))
	case slices.Contains(orgSecrets, deployPassphrase):
		row.unsafe(deployPassphrase+" is an organization secret shared with the repository: every branch's workflow may read it",
			"remove the repository from the organization secret's access (https://github.com/organizations/"+t.owner+"/settings/secrets/actions), or delete it")
	default:
		row.ok(deployPassphrase + " is no repository or organization secret")
	}
	if slices.Contains(repoSecrets, environmentsPassphrase) {
		row.ok(environmentsPassphrase + " is a repository secret (the pull requests' stacks)")
	} else {
		row.broken(environmentsPassphrase+" is not a repository secret: the pull requests' environment jobs cannot open their stacks",
			fmt.Sprintf("gh secret set %s --repo %s", environmentsPassphrase, t.repo()))
	}
	return row
}

// secretNames lists the names of the secrets at path (GitHub never returns their values).
func secretNames(ctx context.Context, api API, path string) ([]string, error) {
	var list struct {
		Secrets []struct {
			Name string `json:"name"`
		} `json:"secrets"`
	}
	if err := getJSON(ctx, api, path+"?per_page=100", &list); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list.Secrets))
	for _, s := range list.Secrets {
		names = append(names, s.Name)
	}
	return names, nil
}

// oidcSubjectRow checks that the repository's OIDC subject template is the one the platform's
// trust was built for. A different one fails closed: every role refuses every job.
func oidcSubjectRow(ctx context.Context, api API, t target) Row {
	row := Row{Name: "oidc-subject"}
	var sub struct {
		UseDefault       bool     `json:"use_default"`
		IncludeClaimKeys []string `json:"include_claim_keys"`
	}
	if err := getJSON(ctx, api, "repos/"+t.repo()+"/actions/oidc/customization/sub", &sub); err != nil {
		row.unknown(err, needsActions)
		return row
	}
	want := t.template.ClaimKeys()
	got := sub.IncludeClaimKeys
	if sub.UseDefault {
		got = guardrails.SubjectRepoContext.ClaimKeys()
	}
	if slices.Equal(got, want) {
		row.ok(fmt.Sprintf("the subject template is [%s], as githubOidc.subjectTemplate %s expects", strings.Join(got, ", "), t.template))
		return row
	}
	row.broken(fmt.Sprintf("the subject template is [%s], githubOidc.subjectTemplate %s expects [%s]: every CI role refuses every job",
		strings.Join(got, ", "), t.template, strings.Join(want, ", ")),
		fmt.Sprintf("echo '%s' | gh api -X PUT repos/%s/actions/oidc/customization/sub --input - (or set githubOidc.subjectTemplate to what the repository uses and pulumi up the platform)",
			t.template.Customization(), t.repo()))
	return row
}
