package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// The repository variables that name the runners (runs-on) of the two kinds of jobs; unset,
// both run on GitHub's hosted ubuntu-24.04.
const (
	deployRunnerVar = "OUTSIDE_IN_DEPLOY_RUNNER"
	prRunnerVar     = "OUTSIDE_IN_PR_RUNNER"
)

// deployWorkflows are the workflows with jobs on the deploy runner: the only ones its runner
// group may admit, and only as main has them.
var deployWorkflows = []string{"deploy.yml", "reap.yml", "drift.yml"}

const (
	needsVariables  = "a classic token's repo scope, or a fine-grained token's Variables (read)"
	needsOrgRunners = "a classic token's admin:org scope, or a fine-grained token's Self-hosted runners organization permission (read)"
)

// hostedPrefixes start the labels of GitHub's hosted runners, a fresh machine per job.
var hostedPrefixes = []string{"ubuntu-", "windows-", "macos-"}

type runner struct {
	Name   string        `json:"name"`
	Labels []runnerLabel `json:"labels"`
}

type runnerLabel struct {
	Name string `json:"name"`
}

func (r runner) has(label string) bool {
	return label != "" && slices.ContainsFunc(r.Labels, func(l runnerLabel) bool {
		return strings.EqualFold(l.Name, label) // GitHub matches labels case-insensitively
	})
}

type runnerGroup struct {
	ID                    int64    `json:"id"`
	Name                  string   `json:"name"`
	RestrictedToWorkflows bool     `json:"restricted_to_workflows"`
	SelectedWorkflows     []string `json:"selected_workflows"`
}

// runnerRow checks that the deploy runners take the deploy workflows of main and nothing else:
// each runner that carries the deploy label sits in an organization runner group restricted
// to those workflows, and no such group holds a pull-request runner. A branch's workflow may
// name any label, so the label alone keeps no one off the deploy runner.
func runnerRow(ctx context.Context, api API, t target) Row {
	row := Row{Name: "deploy-runner"}
	deploy, err := variable(ctx, api, t, deployRunnerVar)
	if err != nil {
		row.unknown(err, needsVariables)
		return row
	}
	pr, err := variable(ctx, api, t, prRunnerVar)
	if err != nil {
		row.unknown(err, needsVariables)
	}
	if deploy == "" && t.deployRunnerGroup == "" {
		row.ok(deployRunnerVar + " is unset: the deploy jobs run on GitHub's hosted runners, a fresh machine per job")
		return row
	}
	if deploy != "" && strings.EqualFold(deploy, pr) {
		row.unsafe(fmt.Sprintf("%s and %s are both %q: pull-request jobs and deploys share runners", deployRunnerVar, prRunnerVar, deploy),
			"give the deploy runners a label no pull-request runner carries")
	}
	if t.deployRunnerGroup == "" && slices.ContainsFunc(hostedPrefixes, func(p string) bool { return strings.HasPrefix(deploy, p) }) {
		row.ok(fmt.Sprintf("%s is %q, a GitHub-hosted runner: a fresh machine per job", deployRunnerVar, deploy))
		return row
	}
	groupFix := fmt.Sprintf("put the deploy runners in an organization runner group of their own whose workflow access is \"Selected workflows\": %s (https://github.com/organizations/%s/settings/actions/runner-groups)",
		strings.Join(expectedWorkflows(t), ", "), t.owner)

	found := false
	repoRunners, truncated, err := listRunners(ctx, api, "repos/"+t.repo()+"/actions/runners")
	if err != nil {
		row.unknown(err, needsRepoAdmin)
	}
	if truncated {
		row.add(Unknown, "the repository has more than 100 runners; only the first 100 were checked", "")
	}
	for _, r := range repoRunners {
		if r.has(deploy) {
			found = true
			row.unsafe(fmt.Sprintf("repository runner %q carries %q: a repository's own runners take any workflow of any branch", r.Name, deploy), groupFix)
		}
	}
	if !t.org {
		row.unsafe(fmt.Sprintf("%s owns the repository, not an organization: only organizations have runner groups, and a user's self-hosted runner takes any branch's workflow", t.owner),
			fmt.Sprintf("unset %s so the deploys run on GitHub's hosted runners, or move the repository to an organization", deployRunnerVar))
		return row
	}

	var groups struct {
		TotalCount   int           `json:"total_count"`
		RunnerGroups []runnerGroup `json:"runner_groups"`
	}
	path := fmt.Sprintf("orgs/%s/actions/runner-groups?visible_to_repository=%s&per_page=100", t.owner, t.name)
	if err := getJSON(ctx, api, path, &groups); err != nil {
		row.unknown(err, needsOrgRunners)
		return row
	}
	if groups.TotalCount > len(groups.RunnerGroups) {
		row.add(Unknown, fmt.Sprintf("%d runner groups, only the first %d were checked", groups.TotalCount, len(groups.RunnerGroups)), "")
	}
	named := false
	for _, g := range groups.RunnerGroups {
		runners, truncated, err := listRunners(ctx, api, fmt.Sprintf("orgs/%s/actions/runner-groups/%d/runners", t.owner, g.ID))
		if err != nil {
			row.unknown(err, needsOrgRunners)
			continue
		}
		if truncated {
			row.add(Unknown, fmt.Sprintf("runner group %q has more than 100 runners; only the first 100 were checked", g.Name), "")
		}
		holdsDeploy, holdsPR := false, false
		for _, r := range runners {
			holdsDeploy = holdsDeploy || r.has(deploy)
			holdsPR = holdsPR || r.has(pr)
			if r.has(deploy) && r.has(pr) {
				row.unsafe(fmt.Sprintf("runner %q carries both %q and %q: pull-request jobs and deploys share it", r.Name, deploy, pr), groupFix)
			}
		}
		isNamed := t.deployRunnerGroup != "" && g.Name == t.deployRunnerGroup
		named = named || isNamed
		if !holdsDeploy && !isNamed {
			continue
		}
		found = true
		checkDeployGroup(&row, t, g, holdsPR, pr, groupFix)
	}
	if t.deployRunnerGroup != "" && !named {
		row.broken(fmt.Sprintf("no runner group %q is visible to the repository", t.deployRunnerGroup), groupFix)
	}
	if !found {
		row.add(Unknown, fmt.Sprintf("no self-hosted runner visible to the repository carries %q, so no group could be checked; a runner registered with it later must go in a restricted group", deploy), "")
	}
	return row
}

// checkDeployGroup judges a group that holds deploy runners.
func checkDeployGroup(row *Row, t target, g runnerGroup, holdsPR bool, pr, fix string) {
	want := expectedWorkflows(t)
	switch {
	case !g.RestrictedToWorkflows:
		row.unsafe(fmt.Sprintf("runner group %q, which holds the deploy runners, takes every workflow: a branch's workflow that names the label runs on them", g.Name), fix)
	case len(g.SelectedWorkflows) == 0:
		row.broken(fmt.Sprintf("runner group %q admits no workflow: the deploys wait forever", g.Name), fix)
	default:
		var extra []string
		for _, w := range g.SelectedWorkflows {
			if !slices.ContainsFunc(want, func(e string) bool { return strings.EqualFold(e, w) }) {
				extra = append(extra, w)
			}
		}
		if len(extra) > 0 {
			row.unsafe(fmt.Sprintf("runner group %q, which holds the deploy runners, also admits %s", g.Name, strings.Join(extra, ", ")), fix)
		} else {
			row.ok(fmt.Sprintf("runner group %q admits only %s", g.Name, strings.Join(g.SelectedWorkflows, ", ")))
		}
	}
	if holdsPR {
		row.unsafe(fmt.Sprintf("runner group %q holds both the deploy runners and runners labelled %q, the pull requests'", g.Name, pr), fix)
	}
}

// expectedWorkflows are the runner group's selected workflows as GitHub spells them.
func expectedWorkflows(t target) []string {
	out := make([]string, 0, len(deployWorkflows))
	for _, w := range deployWorkflows {
		out = append(out, t.repo()+"/.github/workflows/"+w+"@refs/heads/main")
	}
	return out
}

// listRunners lists the first 100 runners at path; truncated says there are more.
func listRunners(ctx context.Context, api API, path string) (runners []runner, truncated bool, err error) {
	var list struct {
		TotalCount int      `json:"total_count"`
		Runners    []runner `json:"runners"`
	}
	if err := getJSON(ctx, api, path+"?per_page=100", &list); err != nil {
		return nil, false, err
	}
	return list.Runners, list.TotalCount > len(list.Runners), nil
}

// variable is an Actions variable as the workflows' vars context sees it: the repository's,
// else an organization variable shared with the repository; "" when neither is set.
func variable(ctx context.Context, api API, t target, name string) (string, error) {
	var v struct {
		Value string `json:"value"`
	}
	err := getJSON(ctx, api, "repos/"+t.repo()+"/actions/variables/"+name, &v)
	if err == nil {
		return v.Value, nil
	}
	if statusOf(err) != 404 {
		return "", err
	}
	if !t.org {
		return "", nil
	}
	var list struct {
		TotalCount int `json:"total_count"`
		Variables  []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"variables"`
	}
	if err := getJSON(ctx, api, "repos/"+t.repo()+"/actions/organization-variables?per_page=30", &list); err != nil {
		return "", err
	}
	for _, ov := range list.Variables {
		if strings.EqualFold(ov.Name, name) { // GitHub stores variable names upper-case
			return ov.Value, nil
		}
	}
	if list.TotalCount > len(list.Variables) {
		return "", fmt.Errorf("%d organization variables, only the first %d were read", list.TotalCount, len(list.Variables))
	}
	return "", nil
}
