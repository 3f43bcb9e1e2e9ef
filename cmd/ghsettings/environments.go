package main

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// protectedEnvironments are the GitHub environments whose jobs hold the stacks' passphrase
// and the deploy or read-only role: platform and production deploy, reaper reaps the trusted
// stacks, drift previews platform and prod.
var protectedEnvironments = []string{"platform", "production", "reaper", "drift"}

// reviewedEnvironments must wait for a person before a job runs in them.
var reviewedEnvironments = []string{"production"}

// mainBranch is the one branch whose jobs may enter a protected environment.
const mainBranch = "main"

// environmentRow checks one environment: it exists, only main may deploy to it, production
// waits for reviewers, and it holds the stacks' passphrase.
func environmentRow(ctx context.Context, api API, t target, name string) Row {
	row := Row{Name: "environment " + name}
	base := "repos/" + t.repo() + "/environments/" + url.PathEscape(name)
	page := t.settingsPage("environments")
	var env struct {
		ProtectionRules []struct {
			Type string `json:"type"`
			// Reviewers are users or teams; only how many matters here.
			Reviewers []struct {
				Type string `json:"type"`
			} `json:"reviewers"`
		} `json:"protection_rules"`
		DeploymentBranchPolicy *struct {
			ProtectedBranches    bool `json:"protected_branches"`
			CustomBranchPolicies bool `json:"custom_branch_policies"`
		} `json:"deployment_branch_policy"`
	}
	if err := getJSON(ctx, api, base, &env); err != nil {
		if statusOf(err) == 404 {
			// The repository was readable, so the environment does not exist; the first job
			// that names it would create it with no protection at all.
			row.unsafe(fmt.Sprintf("no environment %q: the first job that names it creates it unprotected, open to every branch", name),
				fmt.Sprintf("%s: create %q with deployment branches limited to %s", page, name, mainBranch))
			return row
		}
		row.unknown(err, needsEnvs)
		return row
	}

	branchFix := fmt.Sprintf("%s → %s → Deployment branches and tags: \"Selected branches and tags\" with the one branch rule %q", page, name, mainBranch)
	switch p := env.DeploymentBranchPolicy; {
	case p == nil:
		row.unsafe("any branch may deploy to it: a branch's workflow that names it gets its secrets", branchFix)
	case p.ProtectedBranches:
		protectedOnlyMain(ctx, api, t, &row, branchFix)
	case p.CustomBranchPolicies:
		customOnlyMain(ctx, api, base, &row, branchFix)
	default:
		row.unsafe("its deployment branch policy names neither protected branches nor selected ones", branchFix)
	}

	if slices.Contains(reviewedEnvironments, name) {
		reviewers := 0
		for _, r := range env.ProtectionRules {
			if r.Type == "required_reviewers" {
				reviewers += len(r.Reviewers)
			}
		}
		if reviewers == 0 {
			row.unsafe("no required reviewers: whatever main holds deploys without a person's approval",
				fmt.Sprintf("%s → %s → Required reviewers", page, name))
		} else {
			row.ok(fmt.Sprintf("%d required reviewer(s)", reviewers))
		}
	}

	secrets, err := secretNames(ctx, api, base+"/secrets")
	switch {
	case err != nil:
		row.unknown(err, needsEnvs)
	case !slices.Contains(secrets, deployPassphrase):
		row.broken(fmt.Sprintf("no environment secret %s: its jobs cannot open the stacks", deployPassphrase),
			fmt.Sprintf("gh secret set %s --env %s --repo %s", deployPassphrase, name, t.repo()))
	default:
		row.ok("holds " + deployPassphrase)
	}
	return row
}

// protectedOnlyMain checks a "protected branches" policy: it admits every protected branch,
// which is main alone only if no other branch is protected.
func protectedOnlyMain(ctx context.Context, api API, t target, row *Row, fix string) {
	var branches []struct {
		Name string `json:"name"`
	}
	if err := getJSON(ctx, api, "repos/"+t.repo()+"/branches?protected=true&per_page=100", &branches); err != nil {
		row.unknown(err, "read access to the repository")
		return
	}
	var others []string
	hasMain := false
	for _, b := range branches {
		if b.Name == mainBranch {
			hasMain = true
		} else {
			others = append(others, b.Name)
		}
	}
	switch {
	case len(others) > 0:
		row.unsafe(fmt.Sprintf("deployment is open to every protected branch, and %s are protected too", strings.Join(others, ", ")), fix)
	case !hasMain:
		row.broken("deployment is open to protected branches, and main is not protected: no job can enter it", fix)
	default:
		row.ok("only protected branches may deploy, and main is the only one")
	}
}

// customOnlyMain checks a "selected branches and tags" policy: exactly one branch rule, main.
// A tag rule named main would admit refs/tags/main.
func customOnlyMain(ctx context.Context, api API, base string, row *Row, fix string) {
	var list struct {
		BranchPolicies []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"branch_policies"`
	}
	if err := getJSON(ctx, api, base+"/deployment-branch-policies?per_page=100", &list); err != nil {
		row.unknown(err, needsEnvs)
		return
	}
	var other []string
	hasMain := false
	for _, p := range list.BranchPolicies {
		kind := p.Type
		if kind == "" {
			kind = "branch" // answers from before tag rules existed name branches only
		}
		if kind == "branch" && p.Name == mainBranch {
			hasMain = true
		} else {
			other = append(other, kind+" "+p.Name)
		}
	}
	switch {
	case len(other) > 0:
		row.unsafe(fmt.Sprintf("deployment is open to %s besides main", strings.Join(other, ", ")), fix)
	case !hasMain:
		row.broken("no branch may deploy to it: its selected branches are empty", fix)
	default:
		row.ok("only main may deploy")
	}
}
