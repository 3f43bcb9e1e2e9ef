package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

const (
	needsRepoRead = "read access to the repository (a fine-grained token's Metadata)"
	needsRuleset  = "write access to the ruleset: a repository admin for the repository's own rulesets, an organization owner (a classic token's admin:org scope, or a fine-grained token's Administration organization permission) for the organization's"
	// notProtected is GitHub's 404 message for a branch without a protection rule; any other
	// 404 is a read that failed.
	notProtected = "Branch not protected"
)

// mainRequirement is one thing main's protection must hold everyone to, repository admins
// included: every CI role takes whatever runs on main as trusted, so whoever can put a commit
// there unreviewed can deploy it.
type mainRequirement struct {
	// held and missing say it as a finding does.
	held, missing string
	// reviews marks the pull-request requirements, which a branch protection rule's bypass
	// allowances skip.
	reviews bool
	// classic says whether a branch protection rule requires it; rule whether a ruleset rule
	// that applies to main does.
	classic func(classicProtection) bool
	rule    func(branchRule) bool
}

var mainRequirements = []mainRequirement{
	{
		held:    "a pull request with at least 1 approving review is required",
		missing: "no pull request with an approving review is required: a commit reaches main unreviewed",
		reviews: true,
		classic: func(p classicProtection) bool { return p.Reviews != nil && p.Reviews.ApprovingReviewCount >= 1 },
		rule: func(r branchRule) bool {
			return r.Type == "pull_request" && r.pullRequest().ApprovingReviewCount >= 1
		},
	},
	{
		held:    "an approval is dismissed by a new push, or the last push must be approved",
		missing: "approvals are not dismissed on a new push, nor must the last push be approved: an approved pull request takes whatever is pushed after the approval",
		reviews: true,
		classic: func(p classicProtection) bool {
			return p.Reviews != nil && (p.Reviews.DismissStaleReviews || p.Reviews.RequireLastPushApproval)
		},
		rule: func(r branchRule) bool {
			pr := r.pullRequest()
			return r.Type == "pull_request" && (pr.DismissStaleReviewsOnPush || pr.RequireLastPushApproval)
		},
	},
	{
		held:    "force pushes are blocked",
		missing: "force pushes are allowed: they replace main's reviewed history with anything",
		classic: func(p classicProtection) bool { return !p.AllowForcePushes.Enabled },
		rule:    func(r branchRule) bool { return r.Type == "non_fast_forward" },
	},
	{
		held:    "deletion is blocked",
		missing: "main may be deleted, and pushed anew with anything",
		classic: func(p classicProtection) bool { return !p.AllowDeletions.Enabled },
		rule:    func(r branchRule) bool { return r.Type == "deletion" },
	},
}

// classicProtection is main's branch protection rule, as GET .../branches/main/protection
// answers it.
type classicProtection struct {
	Reviews *struct {
		DismissStaleReviews     bool `json:"dismiss_stale_reviews"`
		RequireLastPushApproval bool `json:"require_last_push_approval"`
		ApprovingReviewCount    int  `json:"required_approving_review_count"`
		// Allowances may push without a pull request even where admins may not.
		Allowances *struct {
			Users []struct {
				Login string `json:"login"`
			} `json:"users"`
			Teams []struct {
				Slug string `json:"slug"`
			} `json:"teams"`
			Apps []struct {
				Slug string `json:"slug"`
			} `json:"apps"`
		} `json:"bypass_pull_request_allowances"`
	} `json:"required_pull_request_reviews"`
	EnforceAdmins    enabledSetting `json:"enforce_admins"`
	AllowForcePushes enabledSetting `json:"allow_force_pushes"`
	AllowDeletions   enabledSetting `json:"allow_deletions"`
}

type enabledSetting struct {
	Enabled bool `json:"enabled"`
}

// branchRule is one active ruleset rule that applies to main, as GET .../rules/branches/main
// answers it: rulesets in "evaluate" or disabled are not listed.
type branchRule struct {
	Type      string `json:"type"`
	RulesetID int64  `json:"ruleset_id"`
	// Parameters differ by type; only a pull_request rule's are read.
	Parameters json.RawMessage `json:"parameters"`
}

type pullRequestParameters struct {
	ApprovingReviewCount      int  `json:"required_approving_review_count"`
	DismissStaleReviewsOnPush bool `json:"dismiss_stale_reviews_on_push"`
	RequireLastPushApproval   bool `json:"require_last_push_approval"`
}

// pullRequest is a pull_request rule's parameters; parameters it cannot read require nothing.
func (r branchRule) pullRequest() pullRequestParameters {
	var p pullRequestParameters
	_ = json.Unmarshal(r.Parameters, &p)
	return p
}

// enforcer is a branch protection rule or a ruleset that holds main to a requirement.
type enforcer struct {
	// ref tells enforcers apart: "branch protection", or "ruleset <id>".
	ref, name string
	// bypass is who may bypass it, "" for no one; fix says how to take that away.
	bypass, fix string
	// hidden says why who may bypass it is not known, "" when it is.
	hidden string
}

// strict is an enforcer no one may bypass.
func (e enforcer) strict() bool { return e.bypass == "" && e.hidden == "" }

// mainProtectionRow checks that main takes no commit but through a reviewed pull request, and
// that no one, admins included, may skip the review, force push or delete it: through a branch
// protection rule, the rulesets that apply to main (the repository's or its organization's),
// or both, each requirement held by at least one that no one may bypass.
func mainProtectionRow(ctx context.Context, api API, t target) Row {
	row := Row{Name: "main-protection"}
	type failedRead struct {
		err   error
		needs string
	}
	var failed []failedRead

	var classic *classicProtection
	var p classicProtection
	switch err := getJSON(ctx, api, "repos/"+t.repo()+"/branches/"+mainBranch+"/protection", &p); {
	case err == nil:
		classic = &p
	case statusOf(err) == 404 && strings.Contains(err.Error(), notProtected):
		// No branch protection rule: the rulesets alone may protect main.
	default:
		failed = append(failed, failedRead{err, needsRepoAdmin})
	}
	var rules []branchRule
	if err := getJSON(ctx, api, "repos/"+t.repo()+"/rules/branches/"+mainBranch+"?per_page=100", &rules); err != nil {
		failed = append(failed, failedRead{err, needsRepoRead})
	} else if len(rules) == 100 {
		failed = append(failed, failedRead{fmt.Errorf("100 ruleset rules apply to %s, only they were read", mainBranch), ""})
	}

	rulesets := map[int64]enforcer{}
	var missing []string
	// bypassed are the enforcers that someone may bypass (or may, for all this token sees) and
	// that are all that hold main to a requirement; held lists those requirements, by
	// enforcer and who may bypass it.
	var bypassed []enforcer
	held := map[string][]string{}
	for _, req := range mainRequirements {
		var by []enforcer
		if classic != nil && req.classic(*classic) {
			by = append(by, classicEnforcer(t, *classic, req.reviews))
		}
		for _, r := range rules {
			if !req.rule(r) {
				continue
			}
			if _, ok := rulesets[r.RulesetID]; !ok {
				rulesets[r.RulesetID] = readRuleset(ctx, api, t, r.RulesetID)
			}
			by = append(by, rulesets[r.RulesetID])
		}
		if i := slices.IndexFunc(by, enforcer.strict); i >= 0 {
			row.ok(fmt.Sprintf("%s, admins included (%s)", req.held, by[i].name))
			continue
		}
		if len(by) == 0 {
			missing = append(missing, req.missing)
		}
		for _, e := range by {
			key := e.ref + "\x00" + e.bypass
			if _, ok := held[key]; !ok {
				bypassed = append(bypassed, e)
			}
			held[key] = append(held[key], req.held)
		}
	}
	if len(missing) == 0 && len(bypassed) == 0 {
		return row
	}
	if len(failed) > 0 {
		// What could not be read may hold main to the rest.
		for _, f := range failed {
			row.unknown(f.err, f.needs)
		}
		return row
	}
	if classic == nil && len(rules) == 0 {
		row.unsafe("main is not protected: no branch protection rule and no active ruleset applies to it, so whoever may push puts unreviewed commits on it, and every CI role trusts what runs on main",
			protectFix(t))
		return row
	}
	if len(missing) > 0 {
		row.unsafe(strings.Join(missing, "; ")+"; and every CI role trusts what runs on main", protectFix(t))
	}
	for _, e := range bypassed {
		what := strings.Join(held[e.ref+"\x00"+e.bypass], "; ")
		if e.hidden != "" {
			row.add(Unknown, fmt.Sprintf("no rule known to bind everyone requires this (%s): %s does, and who may bypass it is not known: %s", what, e.name, e.hidden), "")
			continue
		}
		row.unsafe(fmt.Sprintf("%s may bypass %s, and no rule that binds everyone requires this (%s): whatever they push reaches main unreviewed, and every CI role trusts it", e.bypass, e.name, what), e.fix)
	}
	return row
}

// classicEnforcer is main's branch protection rule as what holds main to one requirement;
// reviews marks the pull-request requirements, which its bypass allowances skip too.
func classicEnforcer(t target, p classicProtection, reviews bool) enforcer {
	e := enforcer{ref: "branch protection", name: "the branch protection rule"}
	page := t.settingsPage("branches") + " → " + mainBranch
	var who, fixes []string
	if !p.EnforceAdmins.Enabled {
		who = append(who, "repository admins")
		fixes = append(fixes, fmt.Sprintf("%s: tick \"Do not allow bypassing the above settings\", or gh api -X POST repos/%s/branches/%s/protection/enforce_admins",
			page, t.repo(), mainBranch))
	}
	if a := p.Reviews; reviews && a != nil && a.Allowances != nil {
		n := len(who)
		for _, u := range a.Allowances.Users {
			who = append(who, "user "+u.Login)
		}
		for _, tm := range a.Allowances.Teams {
			who = append(who, "team "+tm.Slug)
		}
		for _, ap := range a.Allowances.Apps {
			who = append(who, "app "+ap.Slug)
		}
		if len(who) > n {
			fixes = append(fixes, page+": untick \"Allow specified actors to bypass required pull requests\"")
		}
	}
	e.bypass, e.fix = strings.Join(who, ", "), strings.Join(fixes, "; and ")
	return e
}

// readRuleset reads who may bypass the ruleset id. GitHub shows a ruleset's bypass list only
// to whoever may edit the ruleset.
func readRuleset(ctx context.Context, api API, t target, id int64) enforcer {
	path := fmt.Sprintf("repos/%s/rulesets/%d", t.repo(), id)
	e := enforcer{ref: fmt.Sprintf("ruleset %d", id), name: fmt.Sprintf("ruleset %d", id)}
	var rs struct {
		Name         string `json:"name"`
		SourceType   string `json:"source_type"`
		Source       string `json:"source"`
		BypassActors *[]struct {
			ActorID   *int64 `json:"actor_id"`
			ActorType string `json:"actor_type"`
		} `json:"bypass_actors"`
	}
	if err := getJSON(ctx, api, path, &rs); err != nil {
		e.hidden = err.Error()
		if s := statusOf(err); s == 403 || s == 404 {
			e.hidden += " (reading it needs " + needsRuleset + ")"
		}
		return e
	}
	e.name = fmt.Sprintf("the ruleset %q", rs.Name)
	page := t.settingsPage(fmt.Sprintf("rules/%d", id))
	if rs.SourceType == "Organization" {
		e.name = fmt.Sprintf("the organization ruleset %q", rs.Name)
		page = fmt.Sprintf("https://github.com/organizations/%s/settings/rules/%d", rs.Source, id)
		path = fmt.Sprintf("orgs/%s/rulesets/%d", rs.Source, id)
	}
	if rs.BypassActors == nil {
		e.hidden = "GitHub shows its bypass list only to whoever may edit it (reading it needs " + needsRuleset + ")"
		return e
	}
	var who []string
	for _, a := range *rs.BypassActors {
		if a.ActorID != nil {
			who = append(who, fmt.Sprintf("%s %d", a.ActorType, *a.ActorID))
		} else {
			who = append(who, a.ActorType)
		}
	}
	if len(who) > 0 {
		e.bypass = "its bypass list (" + strings.Join(who, ", ") + ")"
		e.fix = fmt.Sprintf("%s: remove every entry of the bypass list, or echo '{\"bypass_actors\":[]}' | gh api -X PUT %s --input -", page, path)
	}
	return e
}

// protectFix says how to protect main: a ruleset on the settings page, or a branch protection
// rule through the API.
func protectFix(t target) string {
	const rule = `{"required_status_checks":null,"enforce_admins":true,"required_pull_request_reviews":{"required_approving_review_count":1,"dismiss_stale_reviews":true},"restrictions":null,"allow_force_pushes":false,"allow_deletions":false}`
	return fmt.Sprintf("%s: a branch ruleset targeting %s with an empty bypass list, \"Restrict deletions\", \"Block force pushes\" and \"Require a pull request before merging\" with 1 approval and \"Dismiss stale pull request approvals when new commits are pushed\"; or echo '%s' | gh api -X PUT repos/%s/branches/%s/protection --input - (this replaces main's branch protection rule: put its required status checks in it)",
		t.settingsPage("rules"), mainBranch, rule, t.repo(), mainBranch)
}
