package guardrails_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file is a small model of how IAM decides an sts:AssumeRoleWithWebIdentity call against a
// role's trust policy, enough to hold the CI roles' trust to the tokens GitHub issues:
//   - a statement allows the call when its Effect is Allow, its Action names the call, its
//     Federated principal is the token's provider, and every condition holds;
//   - a condition holds when every key in every operator's block holds; a key the request does
//     not carry fails the condition (no ...IfExists operator is used);
//   - a key with several values holds when any one of them matches;
//   - StringEquals compares exactly and case-sensitively; StringLike does too, but `*` matches
//     any run of characters (none included) and `?` exactly one.
// Any other operator, or a Deny, makes the evaluator fail the test instead of guessing.

// trustDocument is a trust policy as IAM reads it: Condition values may be a string or a list.
type trustDocument struct {
	Statement []struct {
		Effect    string                    `json:"Effect"`
		Principal map[string]any            `json:"Principal"`
		Action    any                       `json:"Action"`
		Condition map[string]map[string]any `json:"Condition"`
	} `json:"Statement"`
}

// request is one AssumeRoleWithWebIdentity call: the token's provider and the condition keys
// its claims give (token.actions.githubusercontent.com:sub and so on).
type request struct {
	provider string
	keys     map[string]string
}

// allows reports whether the trust policy lets the request assume the role.
func allows(t *testing.T, policy string, req request) bool {
	t.Helper()
	var doc trustDocument
	require.NoError(t, json.Unmarshal([]byte(policy), &doc), "trust policy %s", policy)
	require.NotEmpty(t, doc.Statement, "trust policy %s has statements", policy)
	allowed := false
	for _, st := range doc.Statement {
		require.Equal(t, "Allow", st.Effect, "the evaluator models Allow statements only")
		if !contains(values(t, st.Action), "sts:AssumeRoleWithWebIdentity") {
			continue
		}
		if !contains(values(t, st.Principal["Federated"]), req.provider) {
			continue
		}
		if conditionsHold(t, st.Condition, req.keys) {
			allowed = true
		}
	}
	return allowed
}

func conditionsHold(t *testing.T, conditions map[string]map[string]any, keys map[string]string) bool {
	t.Helper()
	for _, op := range sortedKeys(conditions) {
		var match func(pattern, value string) bool
		switch op {
		case "StringEquals":
			match = func(p, v string) bool { return p == v }
		case "StringLike":
			match = stringLike
		default:
			t.Fatalf("condition operator %s: the evaluator knows StringEquals and StringLike only; extend it before using %s", op, op)
		}
		for key, want := range conditions[op] {
			got, present := keys[key]
			if !present {
				return false
			}
			any := false
			for _, p := range values(t, want) {
				any = any || match(p, got)
			}
			if !any {
				return false
			}
		}
	}
	return true
}

// stringLike is IAM's StringLike on one value: `*` is any run of characters, `?` one character,
// every other character itself, case-sensitively.
func stringLike(pattern, value string) bool {
	p, v := []rune(pattern), []rune(value)
	// match[i][j]: p[:i] matches v[:j].
	match := make([][]bool, len(p)+1)
	for i := range match {
		match[i] = make([]bool, len(v)+1)
	}
	match[0][0] = true
	for i := 1; i <= len(p); i++ {
		if p[i-1] == '*' {
			match[i][0] = match[i-1][0]
		}
		for j := 1; j <= len(v); j++ {
			switch p[i-1] {
			case '*':
				match[i][j] = match[i-1][j] || match[i][j-1]
			case '?':
				match[i][j] = match[i-1][j-1]
			default:
				match[i][j] = match[i-1][j-1] && p[i-1] == v[j-1]
			}
		}
	}
	return match[len(p)][len(v)]
}

// values reads a policy element that IAM accepts as a string or a list of strings.
func values(t *testing.T, v any) []string {
	t.Helper()
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			require.True(t, ok, "policy value %v is not a string", e)
			out = append(out, s)
		}
		return out
	default:
		t.Fatalf("policy value %v (%T) is neither a string nor a list", v, v)
		return nil
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// The evaluator itself, on the cases the trust table relies on: if it matched too much, the
// table's refusals would prove nothing.
func TestTrustEvaluatorMatchesAsIAMDoes(t *testing.T) {
	for _, c := range []struct {
		pattern, value string
		like           bool
	}{
		{"repo:o/r:pull_request", "repo:o/r:pull_request", true},
		{"repo:o/r:pull_request", "repo:o/R:pull_request", false}, // case-sensitive
		{"repo:o/r:*", "repo:o/r:", true},                         // * matches nothing too
		{"repo:o/r:*", "repo:o/r:environment:reaper", true},
		{"repo:o/r:*", "repo:o/r2:ref:refs/heads/main", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "abbc", false},
		{"refs/pull/*/merge", "refs/pull/17/merge", true},
		{"refs/pull/*/merge", "refs/pull/17/head", false},
		{"*main", "refs/heads/main", true},
		{"main", "refs/heads/main", false},
	} {
		assert.Equal(t, c.like, stringLike(c.pattern, c.value), "StringLike %q on %q", c.pattern, c.value)
	}

	policy := func(cond string) string {
		return fmt.Sprintf(`{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:p"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":%s}]}`, cond)
	}
	req := request{provider: "arn:p", keys: map[string]string{"k:sub": "a*c", "k:aud": "x"}}
	assert.True(t, allows(t, policy(`{"StringEquals":{"k:sub":"a*c"}}`), req), "StringEquals compares * literally")
	assert.False(t, allows(t, policy(`{"StringEquals":{"k:sub":"abc"}}`), request{provider: "arn:p", keys: map[string]string{"k:sub": "a*c"}}))
	assert.True(t, allows(t, policy(`{"StringEquals":{"k:sub":["no","a*c"]}}`), req), "several values: any one matches")
	assert.False(t, allows(t, policy(`{"StringEquals":{"k:sub":"a*c","k:aud":"y"}}`), req), "every key of a block must hold")
	assert.False(t, allows(t, policy(`{"StringEquals":{"k:sub":"a*c"},"StringLike":{"k:aud":"y*"}}`), req), "every block must hold")
	assert.False(t, allows(t, policy(`{"StringEquals":{"k:ref":"refs/heads/main"}}`), req), "a key the request lacks fails")
	assert.False(t, allows(t, policy(`{"StringEquals":{"k:sub":"a*c"}}`), request{provider: "arn:other", keys: req.keys}), "another provider's token")
}
