// Package envname derives the names of an environment from its stack name: the environment's
// name (its namespace and the suffix of its hosts) and each app's host label. cmd/env, the CI
// workflows and the program all name things through it, so they always agree.
package envname

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
)

// MaxLen bounds an environment name, so that `<app>-<env>` (an app name has at most 40
// characters) mostly stays within one DNS label without being cut.
const MaxLen = 22

// NamespacePrefix starts every environment's namespace, which keeps environments apart from the
// platform's own app namespaces (app names may not start with it).
const NamespacePrefix = "env-"

var label = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// FromStack returns the environment name of a stack: the last segment of its name
// (org/project/stack), lower-cased, with every character a DNS label cannot hold made a dash.
// When that changed the name or it is longer than MaxLen, a short hash of the stack name is
// appended to a cut prefix, so two different stack names never give the same environment.
func FromStack(stack string) (string, error) {
	if i := strings.LastIndexByte(stack, '/'); i >= 0 {
		stack = stack[i+1:]
	}
	if stack == "" {
		return "", fmt.Errorf("the stack name is empty")
	}
	clean := strings.Trim(strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r - 'A' + 'a'
		default:
			return '-'
		}
	}, stack), "-")
	if clean == stack && len(clean) <= MaxLen && label.MatchString(clean) {
		return clean, nil
	}
	suffix := "-" + shortHash(stack)
	keep := MaxLen - len(suffix)
	if len(clean) > keep {
		clean = strings.TrimRight(clean[:keep], "-")
	}
	if clean == "" {
		return "", fmt.Errorf("stack name %q has no letter or digit to name an environment after", stack)
	}
	return clean + suffix, nil
}

// Namespace is the environment's namespace.
func Namespace(env string) string { return NamespacePrefix + env }

// HostLabel is the first label of an app's host in an environment, `<app>-<env>`: one label, so
// that the platform's wildcard certificate for *.<envDomain> covers it. A label over 63
// characters is cut and ends in a hash of the whole, so it stays unique.
func HostLabel(app, env string) (string, error) {
	full := app + "-" + env
	if len(full) <= 63 {
		if !label.MatchString(full) {
			return "", fmt.Errorf("%q is not a DNS label", full)
		}
		return full, nil
	}
	suffix := "-" + shortHash(full)
	return strings.TrimRight(full[:63-len(suffix)], "-") + suffix, nil
}

// PullRequestPrefix begins the stack name of every pull request's environment.
const PullRequestPrefix = "pr-"

// PullRequestStack is the stack name of a pull request's environment.
func PullRequestStack(number int) string { return fmt.Sprintf("%s%d", PullRequestPrefix, number) }

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

// StateKeys are the object keys, as S3 wildcards, where Pulumi's file and S3 backends keep the
// stacks whose names begin with stackPrefix: their state, its backup and tags (.pulumi/stacks),
// their update history and backups, and their locks, whose path carries the organization.
func StateKeys(project, stackPrefix string) []string {
	return []string{
		".pulumi/stacks/" + project + "/" + stackPrefix + "*",
		".pulumi/history/" + project + "/" + stackPrefix + "*",
		".pulumi/backups/" + project + "/" + stackPrefix + "*",
		".pulumi/locks/organization/" + project + "/" + stackPrefix + "*",
	}
}

// KeyMatches says whether an object key (or ARN) matches one of the S3 wildcards, where *
// matches any run of characters, slashes included, as IAM matches resource ARNs.
func KeyMatches(patterns []string, key string) bool {
	for _, p := range patterns {
		if regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(p), `\*`, ".*") + "$").MatchString(key) {
			return true
		}
	}
	return false
}
