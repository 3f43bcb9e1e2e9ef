package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"

	"github.com/outside-in/outside-in/guardrails"
)

// The two passphrases that open stacks. EnvironmentsPassphrase opens the pr-* stacks only, and
// is the one pull-request jobs hold; StacksPassphrase opens every other stack and lives only in
// the main-only GitHub environments.
const (
	environmentsPassphrase = "OUTSIDE_IN_ENVIRONMENTS_PASSPHRASE"
	stacksPassphrase       = "PULUMI_CONFIG_PASSPHRASE"
)

// mainOnlyEnvironments are the GitHub environments whose deployment branch policy admits main
// alone (README, "Setting up"), so only they may hold the stacks' passphrase.
var mainOnlyEnvironments = []string{"platform", "production", "reaper", guardrails.DriftEnvironment}

var secretName = regexp.MustCompile(`\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^']+)'\s*\])`)

// checkStackPassphrases: the passphrase of the platform's, prod's and every other long-lived
// stack is read only by a job in a main-only GitHub environment; every other job (a pull
// request's above all) holds at most the environments' passphrase, which opens nothing but
// pr-* stacks. A repository secret is readable by any branch's workflow, so the stacks'
// passphrase must be an environment secret, and only such a job may name it.
func checkStackPassphrases(w workflow) []string {
	var out []string
	for _, name := range sortedJobs(w) {
		j := w.Jobs[name]
		b, err := json.Marshal(j)
		if err != nil {
			out = append(out, fmt.Sprintf("job %s: %v", name, err))
			continue
		}
		env := j.environment()
		for _, m := range secretName.FindAllStringSubmatch(string(b), -1) {
			secret := m[1] + m[2]
			if secret != stacksPassphrase {
				continue
			}
			switch {
			case env == "":
				out = append(out, fmt.Sprintf("job %s reads secrets.%s outside any GitHub environment: as a repository secret every branch's workflow could read it; pull-request jobs use %s", name, secret, environmentsPassphrase))
			case !slices.Contains(mainOnlyEnvironments, env):
				out = append(out, fmt.Sprintf("job %s reads secrets.%s in the GitHub environment %s, which is not one of the main-only ones %v", name, secret, env, mainOnlyEnvironments))
			case w.fromPullRequests():
				out = append(out, fmt.Sprintf("job %s reads secrets.%s in a workflow a pull request starts", name, secret))
			}
		}
	}
	return out
}
