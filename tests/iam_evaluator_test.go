package tests

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/iamsim"
	"github.com/outside-in/outside-in/offline/plan"
)

// The IAM the program declares, judged by cloud-copilot's IAM simulator with AWS's action
// catalogue (internal/iamsim): every action it names exists; every identity a pull request can
// obtain is refused what it does not own and allowed what its jobs need; node roles read their
// own parameters only; the k3s key opens to the servers alone. Each row prints the role, the
// request, what it must be and what the evaluator answered.

// evaluator is the installed evaluator; without it the test fails and says to run make tools.
func evaluator(t *testing.T) *iamsim.Evaluator {
	t.Helper()
	ev, err := iamsim.Find(".")
	require.NoError(t, err)
	return ev
}

// droppedKeys are the context keys the simulator drops because the catalogue does not list
// them for the action, although IAM evaluates them: kms:EncryptionContext:<key> (the
// catalogue's kms:EncryptionContext:${EncryptionContextKey}, which the simulator's matcher of
// variable keys does not expand) and the :sub and :aud claims of GitHub's tokens. For a
// request that carries them the row takes the same engine's decision with every key kept.
var droppedKeys = []string{"kms:EncryptionContext:", "token.actions.githubusercontent.com:sub", "token.actions.githubusercontent.com:aud"}

// iamRow is one request and what it must get.
type iamRow struct {
	who   string
	what  string
	req   iamsim.Request
	allow bool
	// missing, when set, is why the row cannot be asked (what the plan lacks): the row fails.
	missing string
	// unseen are the managed policies of the principal, whose text the evaluator cannot read:
	// the answer is that of the principal's inline policies (and the resource's policy) alone.
	unseen []string
}

// judge asks the evaluator every row and fails each whose answer is not the one wanted, with
// one line per row: who, what, the request, want and got.
func judge(t *testing.T, ev *iamsim.Evaluator, rows []iamRow) {
	t.Helper()
	var reqs []iamsim.Request
	for i := range rows {
		if rows[i].missing == "" {
			rows[i].req.Name = fmt.Sprint(i)
			reqs = append(reqs, rows[i].req)
		}
	}
	out, err := ev.Run(context.Background(), nil, reqs)
	require.NoError(t, err)
	answers := map[string]iamsim.Result{}
	for _, d := range out.Decisions {
		answers[d.Name] = d
	}
	failed := 0
	for i, row := range rows {
		want := map[bool]string{true: "allowed", false: "refused"}[row.allow]
		line := fmt.Sprintf("%-34s %-52s %s %s", row.who, row.what, row.req.Action, row.req.Resource)
		if row.missing != "" {
			t.Errorf("FAIL %s want %s got: cannot ask, %s", line, want, row.missing)
			failed++
			continue
		}
		got, note := verdict(answers[fmt.Sprint(i)])
		if len(row.unseen) > 0 {
			var names []string
			for _, m := range row.unseen {
				names = append(names, m[strings.LastIndex(m, "/")+1:])
			}
			note += " [inline policies only: " + strings.Join(names, ", ") + " not seen]"
		}
		if got != want {
			t.Errorf("FAIL %s want %s got %s%s", line, want, got, note)
			failed++
			continue
		}
		t.Logf("ok   %s want %s got %s%s", line, want, got, note)
	}
	t.Logf("%d rows, %d as wanted, %d not (iam-simulate %s, iam-data %s)", len(rows), len(rows)-failed, failed,
		out.Versions["iam-simulate"], out.Versions["iam-data"])
}

// verdict reads a decision as allowed, refused or an error, taking the decision with every key
// kept when the simulator dropped only keys it is known to drop.
func verdict(r iamsim.Result) (got, note string) {
	decision := r.Decision
	if len(r.IgnoredContextKeys) > 0 {
		for _, k := range r.IgnoredContextKeys {
			known := false
			for _, d := range droppedKeys {
				known = known || strings.HasPrefix(k, d)
			}
			if !known {
				return "error", fmt.Sprintf(" (the catalogue has no context key %s for this action)", k)
			}
		}
		decision = r.WithAllContext
		note = fmt.Sprintf(" (with %s kept)", strings.Join(r.IgnoredContextKeys, ", "))
	}
	switch decision {
	case iamsim.Allowed:
		return "allowed", note
	case iamsim.ImplicitlyDenied:
		return "refused", note + " (implicitly denied)"
	case iamsim.ExplicitlyDenied:
		return "refused", note + " (explicitly denied)"
	}
	return "error", fmt.Sprintf(" (%s %s)", r.Decision, r.Error)
}

// TestIAMEvaluatorKnowsEveryAction: every action named in any policy the program writes, in
// every shipped stack, is in AWS's catalogue (a misspelt action grants nothing, silently), and
// every pattern matches at least one. Managed policy attachments are listed by name: their
// text is AWS's, not in the catalogue.
func TestIAMEvaluatorKnowsEveryAction(t *testing.T) {
	ev := evaluator(t)
	where := map[string][]string{}
	managed := map[string][]string{}
	for _, s := range shippedStacks(t) {
		res := run(t, s)
		for _, p := range writtenPolicies(t, res) {
			for _, a := range policyActions(p.doc) {
				where[a] = append(where[a], s.Name+": "+p.where)
			}
		}
		for _, a := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
			arn, _ := a.In("policyArn").(string)
			managed[arn[strings.LastIndex(arn, "/")+1:]] = append(managed[arn[strings.LastIndex(arn, "/")+1:]], s.Name+": "+fmt.Sprint(a.In("role")))
		}
	}
	actions := make([]string, 0, len(where))
	for a := range where {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	require.Greater(t, len(actions), 20, "the stacks' policies name actions")
	out, err := ev.Run(context.Background(), actions, nil)
	require.NoError(t, err)
	for _, a := range out.Actions {
		if !assert.True(t, a.Exists, "%s is not in AWS's catalogue (iam-data %s) %s; written in %s", a.Action, out.Versions["iam-data"], a.Error, strings.Join(where[a.Action], "; ")) {
			continue
		}
		t.Logf("in the catalogue: %-40s matches %d", a.Action, a.Matches)
	}
	names := make([]string, 0, len(managed))
	for n := range managed {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t.Logf("managed policy attached, text not judged: %-36s %d roles", n, len(managed[n]))
	}
}

// platformPlans are the plans the tables read: the platform (Pulumi.platform.yaml, whose
// githubOidc makes the CI roles), the k3s stack whose keys a pull request must not reach, and
// production.
type platformPlans struct {
	platform, k3s, prod *plan.Result
	account, region     string
	bucket              string
}

func plansForIAM(t *testing.T) platformPlans {
	t.Helper()
	p := platformPlans{platform: run(t, stack(t, "platform")), k3s: run(t, stack(t, "k3s")), prod: run(t, stack(t, "prod"))}
	p.account, p.region = p.platform.Fake.AccountID(), p.platform.Stack.Region()
	require.Equal(t, p.account, p.k3s.Fake.AccountID(), "the stacks share an account, as the tables assume")
	p.bucket = "example-outside-in-state"
	require.Contains(t, p.platform.Stack.Config["outside-in:githubOidc"], `"`+p.bucket+`"`, "Pulumi.platform.yaml's githubOidc.stateBucket")
	return p
}

func (p platformPlans) object(key string) string { return "arn:aws:s3:::" + p.bucket + "/" + key }

func (p platformPlans) parameter(name string) string {
	return fmt.Sprintf("arn:aws:ssm:%s:%s:parameter%s", p.region, p.account, name)
}

// k3sParameters are the k3s stack's parameter names, by role path ("server", "agent").
func (p platformPlans) k3sParameters(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, r := range p.k3s.OfType("aws:ssm/parameter:Parameter") {
		name, _ := r.In("name").(string)
		for _, role := range []string{"server", "agent"} {
			if strings.Contains(name, "/k3s/"+role+"/") {
				out[role] = append(out[role], name)
			}
		}
	}
	require.NotEmpty(t, out["server"], "the k3s stack keeps server keys in Parameter Store")
	require.NotEmpty(t, out["agent"], "and the agent token")
	sort.Strings(out["server"])
	return out
}

// request is a request of a role in the account, with its identity policies.
func (p platformPlans) request(role *iamRole, action, resource string, context map[string]any) iamsim.Request {
	return iamsim.Request{IdentityPolicies: role.inline, Principal: role.arn, Action: action, Resource: resource,
		ResourceAccount: p.account, Context: context}
}

// viaSSM is the context of a KMS call Parameter Store makes for a caller reading a
// SecureString: the service, the caller's account and the parameter's ARN as encryption context.
func (p platformPlans) viaSSM(parameterArn string) map[string]any {
	return map[string]any{"kms:ViaService": "ssm." + p.region + ".amazonaws.com", "kms:CallerAccount": p.account,
		"kms:EncryptionContext:PARAMETER_ARN": parameterArn}
}

// decryptRow is kms:Decrypt of the key that encrypts a parameter, through Parameter Store,
// judged under the key's policy.
func (p platformPlans) decryptRow(t *testing.T, res *plan.Result, role *iamRole, what, parameter string, allow bool) iamRow {
	t.Helper()
	row := iamRow{who: role.resource, what: what, allow: allow, req: iamsim.Request{Action: "kms:Decrypt", Resource: "key of " + parameter}}
	param, ref := parameterKey(t, res, parameter)
	if param == nil {
		row.missing = fmt.Sprintf("%s declares no parameter %s", res.Stack.Name, parameter)
		return row
	}
	key, ok := keyOf(t, res, ref)
	if !ok {
		row.missing = fmt.Sprintf("%s declares no key %s (the key of %s)", res.Stack.Name, ref, parameter)
		return row
	}
	row.what += " [" + key.label + "]"
	row.req = p.request(role, "kms:Decrypt", key.arn, p.viaSSM(p.parameter(parameter)))
	row.req.ResourcePolicy = key.policy
	return row
}
