package main

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// The checks here look at who may run what, and where: which events start a workflow, which
// jobs hold more than a pull request's rights, which runners each may land on, and which jobs
// share a concurrency group with a deploy. The runner and group checks read every workflow at
// once, since a runner or a group is shared across workflows.

// triggers are the events that start a workflow, with the branches a push is limited to.
func (w workflow) triggers() (events []string, pushBranches []string) {
	switch on := w.On.(type) {
	case string:
		events = []string{on}
	case []any:
		for _, e := range on {
			events = append(events, fmt.Sprint(e))
		}
	case map[string]any:
		for e, spec := range on {
			events = append(events, e)
			if e != "push" {
				continue
			}
			if m, ok := spec.(map[string]any); ok {
				if bs, ok := m["branches"].([]any); ok {
					for _, b := range bs {
						pushBranches = append(pushBranches, fmt.Sprint(b))
					}
				}
			}
		}
	}
	sort.Strings(events)
	return events, pushBranches
}

// fromPullRequests reports whether the workflow can be started by something other than main
// (a push to main, a schedule, a dispatch): then anyone who may open a pull request or push a
// branch decides when it runs, and for some events what it runs.
func (w workflow) fromPullRequests() bool {
	events, branches := w.triggers()
	for _, e := range events {
		switch e {
		case "schedule", "workflow_dispatch":
		case "push":
			if len(branches) != 1 || branches[0] != "main" {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// roles are the repository variables a job's configure-aws-credentials steps assume.
func (j job) roles() []string {
	var out []string
	for _, s := range j.Steps {
		if !strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") {
			continue
		}
		if m := varsRef.FindStringSubmatch(fmt.Sprint(s.With["role-to-assume"])); m != nil {
			out = append(out, m[1])
		} else {
			out = append(out, fmt.Sprint(s.With["role-to-assume"]))
		}
	}
	return out
}

var varsRef = regexp.MustCompile(`^\$\{\{\s*vars\.(\w+)\s*\}\}$`)

// environment is the GitHub environment a job names, if any.
func (j job) environment() string {
	switch e := j.Environment.(type) {
	case string:
		return e
	case map[string]any:
		return fmt.Sprint(e["name"])
	}
	return ""
}

// privileged says why a job holds more than a pull request's job may: it names a GitHub
// environment (whose variables and, on main, whose deploy role it gets), or it runs from main
// only and assumes a role other than the environments role or writes with its token.
func privileged(w workflow, j job) string {
	if e := j.environment(); e != "" {
		return "names the GitHub environment " + e
	}
	if w.fromPullRequests() {
		return ""
	}
	for _, r := range j.roles() {
		if r != "AWS_ENVIRONMENTS_ROLE_ARN" {
			return "assumes " + r
		}
	}
	perms, _ := permissionsOf(j.Permissions)
	for scope, level := range perms {
		if level == "write" && scope != "id-token" {
			return fmt.Sprintf("writes %s", scope)
		}
	}
	return ""
}

// foreignTriggers run main's workflow, with main's ref and token, for an event a pull request
// causes: CI's OIDC trust cannot tell such a job from main's own.
var foreignTriggers = []string{"pull_request_target", "workflow_run"}

// checkTriggers: no workflow runs on pull_request_target or workflow_run, and no job that a
// pull request or a branch can start holds a GitHub environment.
func checkTriggers(w workflow) []string {
	var out []string
	events, _ := w.triggers()
	for _, e := range events {
		for _, f := range foreignTriggers {
			if e == f {
				out = append(out, fmt.Sprintf("runs on %s, which runs main's workflow with main's ref for a pull request's event: the CI roles' trust cannot tell it from main", e))
			}
		}
	}
	if w.fromPullRequests() {
		for _, name := range sortedJobs(w) {
			if why := privileged(w, w.Jobs[name]); why != "" {
				out = append(out, fmt.Sprintf("job %s %s but runs on %s: privileged jobs run from main only", name, why, strings.Join(events, ", ")))
			}
		}
	}
	return out
}

// hostedRunner is a GitHub-hosted runner label: a fresh virtual machine for every job, shared
// with no other job.
var hostedRunner = regexp.MustCompile(`^(ubuntu|windows|macos)-[\w.-]+$`)

var varOrHosted = regexp.MustCompile(`^\$\{\{\s*vars\.(\w+)\s*\|\|\s*'([^']+)'\s*\}\}$`)

// runners are the persistent runners a job may land on, one name each: vars.<NAME> for a
// variable's runner, label:<name> or group:<name> for a fixed one. Hosted runners are left out.
// A runs-on the check cannot read is a problem, so nothing passes by being unreadable.
func runners(j job) (names []string, problem string) {
	label := func(l string) {
		if !hostedRunner.MatchString(l) {
			names = append(names, "label:"+strings.ToLower(l))
		}
	}
	if j.RunsOn == nil && strings.HasPrefix(j.Uses, "./.github/workflows/") {
		// A call of a workflow of this repository runs on that workflow's runners; it is loaded
		// and checked as a workflow of its own, one a pull request can start (workflow_call).
		return nil, ""
	}
	switch r := j.RunsOn.(type) {
	case string:
		if m := varOrHosted.FindStringSubmatch(r); m != nil {
			names = append(names, "vars."+m[1])
			label(m[2])
		} else if strings.Contains(r, "${{") {
			return nil, fmt.Sprintf("runs-on %q: write a GitHub-hosted label or ${{ vars.NAME || 'ubuntu-24.04' }}, so the runners can be told apart", r)
		} else {
			label(r)
		}
	case []any:
		for _, l := range r {
			label(fmt.Sprint(l))
		}
	case map[string]any:
		if g, ok := r["group"]; ok {
			names = append(names, "group:"+strings.ToLower(fmt.Sprint(g)))
		}
		if ls, ok := r["labels"].([]any); ok {
			for _, l := range ls {
				label(fmt.Sprint(l))
			}
		}
	default:
		return nil, fmt.Sprintf("runs-on %v: unreadable", r)
	}
	return names, ""
}

// checkRunnerSeparation: no runner (variable, label or group) is open both to a job a pull
// request can start and to a privileged one. A persistent runner keeps what a job leaves on
// it: a pull request's code could wait there for the next deploy, reap or drift job.
func checkRunnerSeparation(ws []workflow) []string {
	var out []string
	type user struct{ job, why string }
	prUsers, privUsers := map[string][]user{}, map[string][]user{}
	for _, w := range ws {
		for _, name := range sortedJobs(w) {
			j := w.Jobs[name]
			id := fmt.Sprintf("%s %s", w.path, name)
			rs, problem := runners(j)
			if problem != "" {
				out = append(out, id+": "+problem)
				continue
			}
			why := privileged(w, j)
			for _, r := range rs {
				if w.fromPullRequests() {
					prUsers[r] = append(prUsers[r], user{id, "runs on pull requests"})
				}
				if why != "" {
					privUsers[r] = append(privUsers[r], user{id, why})
				}
			}
		}
	}
	for _, r := range sortedKeys(prUsers) {
		for _, p := range prUsers[r] {
			for _, q := range privUsers[r] {
				out = append(out, fmt.Sprintf("runner %s: job %s (%s) and job %s (%s) can share it; give pull-request jobs a runner of their own", r, p.job, p.why, q.job, q.why))
			}
		}
	}
	return out
}

var pulumiUp = regexp.MustCompile(`\bpulumi up\b`)

// groupPatterns are the concurrency groups a job (or a workflow) can be in, lower-cased (GitHub
// compares group names case-insensitively): a matrix value substituted for each of its
// expressions, any other expression a wildcard.
func groupPatterns(concurrency any, matrix map[string]any) []string {
	var group string
	switch c := concurrency.(type) {
	case string:
		group = c
	case map[string]any:
		group, _ = c["group"].(string)
	}
	if group == "" {
		return nil
	}
	patterns := []string{strings.ToLower(group)}
	for key, vals := range matrix {
		list, ok := vals.([]any)
		if !ok {
			continue
		}
		expr := regexp.MustCompile(`\$\{\{\s*matrix\.` + regexp.QuoteMeta(key) + `\s*\}\}`)
		var next []string
		for _, p := range patterns {
			if !expr.MatchString(p) {
				next = append(next, p)
				continue
			}
			for _, v := range list {
				next = append(next, expr.ReplaceAllLiteralString(p, strings.ToLower(fmt.Sprint(v))))
			}
		}
		patterns = next
	}
	for i, p := range patterns {
		patterns[i] = anyExpression.ReplaceAllString(p, "*")
	}
	return patterns
}

var anyExpression = regexp.MustCompile(`\$\{\{[^}]*\}\}`)

// checkDeployGroups: the concurrency group of every job that runs `pulumi up` is a fixed name
// that no other job or workflow can be in. GitHub keeps one pending job per group and cancels
// it when another arrives, whatever cancel-in-progress says: a drift check or any other job
// queued there would cancel the deploy waiting behind a running one.
func checkDeployGroups(ws []workflow) []string {
	var out []string
	type member struct{ who, pattern string }
	var members []member
	deploys := map[string]string{} // job id -> its group
	for _, w := range ws {
		for _, p := range groupPatterns(w.Concurrency, nil) {
			members = append(members, member{w.path + " (the whole workflow)", p})
		}
		for _, name := range sortedJobs(w) {
			j := w.Jobs[name]
			id := fmt.Sprintf("%s %s", w.path, name)
			patterns := groupPatterns(j.Concurrency, j.Strategy.Matrix)
			for _, p := range patterns {
				members = append(members, member{id, p})
			}
			if !pulumiUp.MatchString(j.scripts()) {
				continue
			}
			if len(patterns) != 1 || strings.Contains(patterns[0], "*") {
				out = append(out, fmt.Sprintf("job %s runs pulumi up: its concurrency group must be one fixed name, got %v", id, patterns))
				continue
			}
			deploys[id] = patterns[0]
		}
	}
	for _, id := range sortedKeys(deploys) {
		for _, m := range members {
			if m.who != id && globMatch(m.pattern, deploys[id]) {
				out = append(out, fmt.Sprintf("%s can be in concurrency group %q with the deploy job %s: arriving there it cancels a deploy that waits; give it a group of its own", m.who, deploys[id], id))
			}
		}
	}
	return out
}

// globMatch matches a group pattern whose `*` stands for an expression's value.
func globMatch(pattern, name string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == name
	}
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	rest := name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, p)
		if i < 0 {
			return false
		}
		rest = rest[i+len(p):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
