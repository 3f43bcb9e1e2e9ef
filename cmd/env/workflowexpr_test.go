package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A small evaluator of GitHub Actions expressions, for the `if:` conditions and `${{ }}` values
// of the workflows: contexts looked up by dotted path (a missing property is null), string,
// number, boolean and null literals, ! && || == != and parentheses, and the status functions.
// As GitHub does, == and != compare strings without regard to case, and a job's `if` without a
// status function means success() && (if). Anything else fails the test rather than guessing.

type exprContext struct {
	values map[string]any // github, steps, vars, ... as nested maps
	failed bool           // whether an earlier step or needed job failed
}

type exprParser struct {
	t    *testing.T
	toks []string
	pos  int
	ctx  exprContext
}

var exprToken = regexp.MustCompile(`\s*('(?:[^']|'')*'|&&|\|\||==|!=|[!()]|,|[A-Za-z_][\w.\-\[\]]*|-?\d+(?:\.\d+)?)`)

func evalExpr(t *testing.T, src string, ctx exprContext) any {
	t.Helper()
	src = strings.TrimSpace(src)
	if strings.HasPrefix(src, "${{") && strings.HasSuffix(src, "}}") {
		src = strings.TrimSpace(src[3 : len(src)-2])
	}
	var toks []string
	rest := src
	for strings.TrimSpace(rest) != "" {
		m := exprToken.FindStringSubmatchIndex(rest)
		require.True(t, m != nil && m[0] == 0, "expression %q: cannot read %q", src, rest)
		toks = append(toks, rest[m[2]:m[3]])
		rest = rest[m[1]:]
	}
	p := &exprParser{t: t, toks: toks, ctx: ctx}
	v := p.or()
	require.Equal(t, len(toks), p.pos, "expression %q: trailing %v", src, toks[p.pos:])
	return v
}

// jobRuns evaluates a job's if: as GitHub does, with success() implied.
func jobRuns(t *testing.T, j job, ctx exprContext) bool {
	t.Helper()
	cond := strings.TrimSpace(fmt.Sprint(j.If))
	if j.If == nil || cond == "" {
		return !ctx.failed
	}
	if !regexp.MustCompile(`\b(always|success|failure|cancelled)\(`).MatchString(cond) && ctx.failed {
		return false
	}
	return truthy(evalExpr(t, cond, ctx))
}

// interpolate replaces every ${{ }} in a value as the runner would.
func interpolate(t *testing.T, s string, ctx exprContext) string {
	t.Helper()
	return regexp.MustCompile(`\$\{\{.*?\}\}`).ReplaceAllStringFunc(s, func(e string) string {
		v := evalExpr(t, e, ctx)
		if v == nil {
			return ""
		}
		return fmt.Sprint(v)
	})
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *exprParser) next() string { tok := p.peek(); p.pos++; return tok }

func (p *exprParser) or() any {
	v := p.and()
	for p.peek() == "||" {
		p.next()
		r := p.and()
		if !truthy(v) {
			v = r
		}
	}
	return v
}

func (p *exprParser) and() any {
	v := p.unary()
	for p.peek() == "&&" {
		p.next()
		r := p.unary()
		if truthy(v) {
			v = r
		}
	}
	return v
}

func (p *exprParser) unary() any {
	if p.peek() == "!" {
		p.next()
		return !truthy(p.unary())
	}
	l := p.primary()
	switch p.peek() {
	case "==":
		p.next()
		return equal(l, p.primary())
	case "!=":
		p.next()
		return !equal(l, p.primary())
	}
	return l
}

func (p *exprParser) primary() any {
	tok := p.next()
	switch {
	case tok == "(":
		v := p.or()
		require.Equal(p.t, ")", p.next(), "unbalanced parenthesis")
		return v
	case strings.HasPrefix(tok, "'"):
		return strings.ReplaceAll(tok[1:len(tok)-1], "''", "'")
	case tok == "true" || tok == "false":
		return tok == "true"
	case tok == "null":
		return nil
	case regexp.MustCompile(`^-?\d`).MatchString(tok):
		f, err := strconv.ParseFloat(tok, 64)
		require.NoError(p.t, err)
		return f
	case p.peek() == "(":
		p.next()
		require.Equal(p.t, ")", p.next(), "function %s: the evaluator knows the status functions only, which take no arguments", tok)
		switch tok {
		case "always":
			return true
		case "success":
			return !p.ctx.failed
		case "failure":
			return p.ctx.failed
		case "cancelled":
			return false
		}
		p.t.Fatalf("function %s(): unknown to the evaluator; extend it", tok)
	}
	var v any = p.ctx.values
	for _, part := range strings.Split(tok, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case float64:
		return x != 0
	}
	return true
}

func equal(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return strings.EqualFold(as, bs)
	}
	if a == nil && b == nil {
		return true
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// prEvent is the context of a pull_request event of example/outside-in.
func prEvent(action, actor, author, headRepo string) exprContext {
	return exprContext{values: map[string]any{
		"github": map[string]any{
			"repository": "example/outside-in",
			"actor":      actor,
			"event_name": "pull_request",
			"event": map[string]any{
				"action": action,
				"pull_request": map[string]any{
					"number": float64(17),
					"user":   map[string]any{"login": author},
					"head":   map[string]any{"repo": map[string]any{"full_name": headRepo}},
				},
			},
		},
		"vars":    map[string]any{},
		"secrets": map[string]any{},
	}}
}

func TestWorkflowExpressionEvaluator(t *testing.T) {
	ctx := prEvent("opened", "Dependabot[bot]", "alice", "example/outside-in")
	assert.Equal(t, true, evalExpr(t, "github.actor == 'dependabot[bot]'", ctx), "strings compare without case")
	assert.Equal(t, false, evalExpr(t, "${{ github.actor != 'dependabot[bot]' }}", ctx))
	assert.Equal(t, true, evalExpr(t, "github.event.action != 'closed' && (github.nothing == null || false)", ctx))
	assert.Equal(t, "x", evalExpr(t, "vars.RUNNER || 'x'", ctx), "|| yields its first truthy operand")
	assert.Equal(t, "pr-17", interpolate(t, "pr-${{ github.event.pull_request.number }}", ctx))
	assert.False(t, jobRuns(t, job{If: "github.event.action == 'opened'"}, exprContext{values: ctx.values, failed: true}), "success() is implied")
	assert.True(t, jobRuns(t, job{If: "always() && github.event.action == 'opened'"}, exprContext{values: ctx.values, failed: true}))
}

// Which pull-request jobs run, by who opened or pushed: Dependabot's own runs get no Actions
// secrets, so they skip what needs them and say so; everyone else's pull requests, bots'
// included, get their preview and environment, owned by the pull request's author.
func TestWorkflowJobsByPullRequestAuthor(t *testing.T) {
	var pr workflow
	for _, w := range loadAll(t) {
		if strings.HasSuffix(w.path, "pull-request.yml") {
			pr = w
		}
	}
	require.NotEmpty(t, pr.Jobs, "pull-request.yml")
	for _, c := range []struct {
		name, action, actor, author, head string
		run                               []string
	}{
		{"a person opens", "opened", "alice", "alice", "example/outside-in", []string{"environment", "preview", "test", "tools"}},
		{"a person pushes", "synchronize", "alice", "alice", "example/outside-in", []string{"environment", "preview", "test", "tools"}},
		{"Renovate opens", "opened", "renovate[bot]", "renovate[bot]", "example/outside-in", []string{"environment", "preview", "test", "tools"}},
		{"Renovate pushes", "synchronize", "renovate[bot]", "renovate[bot]", "example/outside-in", []string{"environment", "preview", "test", "tools"}},
		{"Dependabot opens", "opened", "dependabot[bot]", "dependabot[bot]", "example/outside-in", []string{"dependabot", "test", "tools"}},
		{"Dependabot pushes", "synchronize", "dependabot[bot]", "dependabot[bot]", "example/outside-in", []string{"dependabot", "test", "tools"}},
		{"a person pushes to Dependabot's branch", "synchronize", "alice", "dependabot[bot]", "example/outside-in", []string{"environment", "preview", "test", "tools"}},
		{"a person closes", "closed", "alice", "alice", "example/outside-in", []string{"environment-down"}},
		{"Dependabot closes its own", "closed", "dependabot[bot]", "dependabot[bot]", "example/outside-in", []string{"dependabot"}},
		{"a fork opens", "opened", "mallory", "mallory", "mallory/outside-in", []string{"test", "tools"}},
		{"a fork closes", "closed", "mallory", "mallory", "mallory/outside-in", nil},
	} {
		ctx := prEvent(c.action, c.actor, c.author, c.head)
		var ran []string
		for _, name := range sortedJobs(pr) {
			if jobRuns(t, pr.Jobs[name], ctx) {
				ran = append(ran, name)
			}
		}
		assert.Equal(t, c.run, ran, c.name)
		if env, ok := pr.Jobs["environment"]; ok && contains(ran, "environment") {
			assert.Equal(t, c.author, interpolate(t, fmt.Sprint(env.Env["AUTHOR"]), ctx), "%s: env up's owner is the pull request's author", c.name)
			assert.Contains(t, env.scripts(), `--owner "$AUTHOR"`)
		}
		t.Logf("%-40s actor %-16s author %-16s runs %v", c.name, c.actor, c.author, ran)
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
