package main

import (
	"encoding/json"
	"fmt"
	"regexp"
)

// secretsRef finds a secret in an expression: secrets.NAME or secrets['NAME'].
var secretsRef = regexp.MustCompile(`\bsecrets\s*(\.|\[)`)

// checkPreviewHoldsNoCredential: a pull request's preview job (any job named preview in a
// workflow a pull request can start) holds no credential, since its code is the pull request's:
// no OIDC token (id-token), no secret, no AWS role, no GitHub environment (whose secrets it
// would get). What a reviewer sees comes from the offline plan, which needs none.
func checkPreviewHoldsNoCredential(w workflow) []string {
	if !w.fromPullRequests() {
		return nil
	}
	var out []string
	for _, name := range sortedJobs(w) {
		if name != "preview" {
			continue
		}
		j := w.Jobs[name]
		perms, _ := permissionsOf(j.Permissions)
		if level, ok := perms["id-token"]; ok && level != "none" {
			out = append(out, fmt.Sprintf("job %s: permission id-token: %s lets a pull request's code get an OIDC token", name, level))
		}
		if level := perms["(all)"]; level != "" {
			out = append(out, fmt.Sprintf("job %s: permissions %s include id-token", name, level))
		}
		if j.usesAction("aws-actions/configure-aws-credentials@") {
			out = append(out, fmt.Sprintf("job %s assumes an AWS role (%v)", name, j.roles()))
		}
		if e := j.environment(); e != "" {
			out = append(out, fmt.Sprintf("job %s names the GitHub environment %s and gets its secrets", name, e))
		}
		b, err := json.Marshal(j)
		if err != nil {
			out = append(out, fmt.Sprintf("job %s: %v", name, err))
			continue
		}
		for _, m := range secretsRef.FindAllString(string(b), -1) {
			out = append(out, fmt.Sprintf("job %s reads a secret (%q in an expression)", name, m))
		}
	}
	return out
}
