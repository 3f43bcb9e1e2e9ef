package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/internal/envlife"
	"github.com/outside-in/outside-in/internal/envname"
)

// The checks here are what actionlint does not know about this project: how little each job
// may do, which jobs must never run twice at once, where actions come from, and that CI names
// PR environments as internal/envname does. Each returns one line per problem.

// workflow is the part of a GitHub Actions workflow the checks read.
type workflow struct {
	path string
	raw  string
	// On is the workflow's triggers. YAML 1.1 reads an unquoted `on` key as true, and so does
	// the converter: loadWorkflow takes it from either.
	On          any            `json:"on"`
	OnAsBool    any            `json:"true"`
	Permissions any            `json:"permissions"`
	Concurrency any            `json:"concurrency"`
	Env         map[string]any `json:"env"`
	Jobs        map[string]job `json:"jobs"`
}

type job struct {
	If          any `json:"if"`
	RunsOn      any `json:"runs-on"`
	Environment any `json:"environment"`
	Permissions any `json:"permissions"`
	Concurrency any `json:"concurrency"`
	Timeout     any `json:"timeout-minutes"`
	Needs       any `json:"needs"`
	Strategy    struct {
		Matrix map[string]any `json:"matrix"`
	} `json:"strategy"`
	Env   map[string]any `json:"env"`
	Uses  string         `json:"uses"`
	Steps []step         `json:"steps"`
}

type step struct {
	ID   string         `json:"id"`
	Name string         `json:"name"`
	If   any            `json:"if"`
	Uses string         `json:"uses"`
	With map[string]any `json:"with"`
	Env  map[string]any `json:"env"`
	Run  string         `json:"run"`
	// ContinueOnError lets a job pass over the step's failure.
	ContinueOnError any `json:"continue-on-error"`
}

func loadWorkflow(path string) (workflow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return workflow{}, err
	}
	js, err := yaml.YAMLToJSON(b)
	if err != nil {
		return workflow{}, fmt.Errorf("%s: %w", path, err)
	}
	w := workflow{path: path, raw: string(b)}
	if err := json.Unmarshal(js, &w); err != nil {
		return workflow{}, fmt.Errorf("%s: %w", path, err)
	}
	if w.On == nil {
		w.On, w.OnAsBool = w.OnAsBool, nil
	}
	return w, nil
}

func (j job) scripts() string {
	var b strings.Builder
	for _, s := range j.Steps {
		b.WriteString(s.Run + "\n")
	}
	return b.String()
}

func (j job) usesAction(prefix string) bool {
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, prefix) {
			return true
		}
	}
	return false
}

func sortedJobs(w workflow) []string {
	names := make([]string, 0, len(w.Jobs))
	for n := range w.Jobs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// permissionsOf reads a permissions block: a map of scope to read/write/none. "read-all",
// "write-all" and other non-maps come back as one pseudo-scope so a check can refuse them.
func permissionsOf(p any) (map[string]string, bool) {
	switch v := p.(type) {
	case nil:
		return nil, false
	case map[string]any:
		out := map[string]string{}
		for k, x := range v {
			out[k] = fmt.Sprint(x)
		}
		return out, true
	default:
		return map[string]string{"(all)": fmt.Sprint(v)}, true
	}
}

// checkTopPermissions: the workflow grants at most contents: read; jobs ask for more.
func checkTopPermissions(w workflow) []string {
	perms, ok := permissionsOf(w.Permissions)
	if !ok {
		return []string{"no top-level permissions: the default token may write to the repository; set permissions: {contents: read}"}
	}
	var out []string
	for scope, level := range perms {
		if !(scope == "contents" && (level == "read" || level == "none")) && level != "none" {
			out = append(out, fmt.Sprintf("top-level permissions grant %s: %s; only contents: read belongs there", scope, level))
		}
	}
	return out
}

var (
	prComment    = regexp.MustCompile(`issues/\$PR/comments|gh pr comment`)
	issueWrite   = regexp.MustCompile(`gh issue (create|comment)`)
	changesStack = regexp.MustCompile(`pulumi (up|destroy|refresh|cancel)\b|cmd/env (up|down|reap)\b`)
)

// checkJobPermissions: every job says what it needs, and needs what it says. contents: read;
// pull-requests: write where it comments on a PR; issues: write where it writes an issue;
// id-token: write where it assumes an AWS role; nothing else.
func checkJobPermissions(w workflow) []string {
	var out []string
	for _, name := range sortedJobs(w) {
		j := w.Jobs[name]
		perms, ok := permissionsOf(j.Permissions)
		if !ok {
			out = append(out, fmt.Sprintf("job %s: no permissions block", name))
			continue
		}
		want := map[string]string{"contents": "read"}
		if prComment.MatchString(j.scripts()) {
			want["pull-requests"] = "write"
		}
		if issueWrite.MatchString(j.scripts()) {
			want["issues"] = "write"
		}
		if j.usesAction("aws-actions/configure-aws-credentials@") {
			want["id-token"] = "write"
		}
		for scope, level := range perms {
			if want[scope] != level {
				out = append(out, fmt.Sprintf("job %s: permission %s: %s is not needed (want %q)", name, scope, level, want[scope]))
			}
		}
		for scope, level := range want {
			if perms[scope] != level {
				out = append(out, fmt.Sprintf("job %s: needs permission %s: %s", name, scope, level))
			}
		}
	}
	return out
}

// checkConcurrency: a job that changes a stack is in a concurrency group that never cancels a
// running job (a cancelled update leaves the stack locked and half-changed), and a job with
// a STACK is grouped by it.
func checkConcurrency(w workflow) []string {
	var out []string
	for _, name := range sortedJobs(w) {
		j := w.Jobs[name]
		if !changesStack.MatchString(j.scripts()) {
			continue
		}
		c, ok := j.Concurrency.(map[string]any)
		if !ok {
			out = append(out, fmt.Sprintf("job %s changes a stack but has no concurrency {group, cancel-in-progress: false}", name))
			continue
		}
		group, _ := c["group"].(string)
		if group == "" {
			out = append(out, fmt.Sprintf("job %s: concurrency has no group", name))
		}
		if cancel, ok := c["cancel-in-progress"].(bool); !ok || cancel {
			out = append(out, fmt.Sprintf("job %s: concurrency must say cancel-in-progress: false, got %v", name, c["cancel-in-progress"]))
		}
		if stack, ok := j.Env["STACK"].(string); ok && group != stack {
			out = append(out, fmt.Sprintf("job %s: concurrency group %q is not its STACK %q", name, group, stack))
		}
	}
	return out
}

var (
	usesLine   = regexp.MustCompile(`(?m)^\s*(?:-\s+)?uses:\s*(\S+)(.*)$`)
	pinnedUses = regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	versionTag = regexp.MustCompile(`#\s*v\d+(\.\d+)*`)
)

// checkPinned: every action (and reusable workflow) is pinned to a full commit SHA, with the
// version it is in a comment. A tag can be moved to other code; a commit cannot.
func checkPinned(w workflow) []string {
	var out []string
	for _, m := range usesLine.FindAllStringSubmatch(w.raw, -1) {
		ref, rest := m[1], m[2]
		if strings.HasPrefix(ref, "./") {
			continue // an action of this repository, pinned by the checkout
		}
		if !pinnedUses.MatchString(ref) {
			out = append(out, fmt.Sprintf("uses %s: not pinned to a 40-hex commit SHA", ref))
		} else if !versionTag.MatchString(rest) {
			out = append(out, fmt.Sprintf("uses %s: no '# vX.Y.Z' comment saying which version the SHA is", ref))
		}
	}
	return out
}

var accessKey = regexp.MustCompile(`(?i)aws-access-key-id|aws-secret-access-key|aws_access_key_id|aws_secret_access_key|\b(AKIA|ASIA)[A-Z0-9]{16}\b`)

// checkTimeouts: every job that runs steps has a timeout, and every job that can hold a stack's
// lock (it runs pulumi or cmd/env, or the Pulumi action) ends within a time the reaper knows: a
// lock older than envlife.StaleLockAfter is taken for a cancelled job's, so no such job may run
// that long. (The tool build holds no lock; its timeout follows the measured cold build.)
func checkTimeouts(w workflow) []string {
	var out []string
	for _, name := range sortedKeys(w.Jobs) {
		j := w.Jobs[name]
		if j.Uses != "" {
			continue
		}
		minutes, ok := j.Timeout.(float64)
		if !ok {
			out = append(out, fmt.Sprintf("job %s: timeout-minutes is %v; set a number of minutes", name, j.Timeout))
			continue
		}
		locks := holdsLocks.MatchString(j.scripts()) || j.usesAction("pulumi/actions@")
		if limit := envlife.StaleLockAfter.Minutes(); locks && minutes >= limit {
			out = append(out, fmt.Sprintf("job %s: timeout-minutes %v is not below %v, past which the reaper takes a lock for a cancelled job's", name, minutes, limit))
		}
	}
	return out
}

// holdsLocks finds a script that can take a stack's lock.
var holdsLocks = regexp.MustCompile(`\bpulumi\s|\bcmd/env\b`)

// checkNoAccessKeys: AWS is reached only through OIDC role assumption, never long-lived keys.
func checkNoAccessKeys(w workflow) []string {
	var out []string
	for _, m := range accessKey.FindAllString(w.raw, -1) {
		out = append(out, fmt.Sprintf("mentions AWS access keys (%s): use role-to-assume with OIDC", m))
	}
	return out
}

var prNumberExpr = regexp.MustCompile(`([\w.-]*)\$\{\{\s*github\.event\.pull_request\.number\s*\}\}([\w.-]*)`)

// prStackNames returns each name a workflow builds from the PR number, with the number
// substituted, skipping the bare number (a PR reference, not a stack).
func prStackNames(w workflow, number int) []string {
	var out []string
	for _, m := range prNumberExpr.FindAllStringSubmatch(w.raw, -1) {
		if m[1] == "" && m[2] == "" {
			continue
		}
		out = append(out, m[1]+strconv.Itoa(number)+m[2])
	}
	return out
}

// checkPRStackName: every stack name built from the PR number is envname.PullRequestStack's.
func checkPRStackName(w workflow) []string {
	var out []string
	const n = 4242
	for _, got := range prStackNames(w, n) {
		if want := envname.PullRequestStack(n); got != want {
			out = append(out, fmt.Sprintf("PR stack name %s for PR %d, but envname.PullRequestStack gives %s", got, n, want))
		}
	}
	return out
}

// workflowFiles lists the repository's workflows.
func workflowFiles(dir string) ([]string, error) {
	var files []string
	for _, pattern := range []string{"*.yml", "*.yaml"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	return files, nil
}
