package tests

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
)

// policyStatement is a statement of a policy the plan declares, read from its JSON as AWS reads
// it: Action, Resource and a principal's ARNs may each be a string or a list.
type policyStatement struct {
	Effect    string
	Principal map[string]any
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

// parsePolicy parses a policy document, failing the test when it is not one.
func parsePolicy(t tb, doc string) []policyStatement {
	t.Helper()
	var p struct {
		Version   string
		Statement []policyStatement
	}
	require.NoError(t, json.Unmarshal([]byte(doc), &p), "a policy document: %s", doc)
	require.Equal(t, "2012-10-17", p.Version)
	require.NotEmpty(t, p.Statement)
	return p.Statement
}

// stringsOf is a policy field that is a string or a list of strings.
func stringsOf(t tb, v any) []string {
	t.Helper()
	switch v := v.(type) {
	case nil:
		return nil
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, text(t, e))
		}
		return out
	}
	require.Failf(t, "not a string or a list of strings", "%T %v", v, v)
	return nil
}

// globMatches is IAM's wildcard match: * any run of characters (/ included), ? one character;
// action names compare without regard to case.
func globMatches(pattern, value string, foldCase bool) bool {
	re := "^" + strings.ReplaceAll(strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*"), `\?`, ".") + "$"
	if foldCase {
		re = "(?i)" + re
	}
	return regexp.MustCompile(re).MatchString(value)
}

// anyMatches says whether one of the patterns matches value.
func anyMatches(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		if globMatches(p, value, foldCase) {
			return true
		}
	}
	return false
}

// keyPolicyAllows says whether a key policy lets principal call action with the request's
// condition keys, as KMS decides for a principal of the key's own account that the policy names
// (there is no Deny in the program's key policies, and none is expected: a Deny fails the test).
// Only the condition operators the program uses are understood; any other fails the test
// rather than being read as a match.
func keyPolicyAllows(t tb, statements []policyStatement, principal, action string, request map[string]string) bool {
	t.Helper()
	allowed := false
	for _, s := range statements {
		require.Equal(t, "Allow", s.Effect, "the key policies have no Deny")
		if !anyMatches(stringsOf(t, s.Principal["AWS"]), principal, false) || !anyMatches(stringsOf(t, s.Action), action, true) {
			continue
		}
		met := true
		for op, conditions := range s.Condition {
			for key, want := range conditions {
				got, present := request[key]
				switch op {
				case "StringEquals":
					met = met && present && slices.Contains(stringsOf(t, want), got)
				case "StringLike":
					met = met && present && anyMatches(stringsOf(t, want), got, false)
				default:
					require.Failf(t, "condition operator", "%s is not understood by this check", op)
				}
			}
		}
		allowed = allowed || met
	}
	return allowed
}

// keyUseActions are the KMS actions that use a key's material, or hand out its use (a grant).
var keyUseActions = []string{
	"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext",
	"kms:GenerateDataKeyPair", "kms:GenerateDataKeyPairWithoutPlaintext", "kms:ReEncryptFrom",
	"kms:ReEncryptTo", "kms:CreateGrant",
}

// k3sParameters are a k3s plan's parameters by ARN (as the fake AWS answered them).
func k3sParameters(t *testing.T, res *plan.Result) map[string]*fakeaws.Resource {
	t.Helper()
	params := res.OfType("aws:ssm/parameter:Parameter")
	require.Len(t, params, len(cluster.K3sServerFiles())+3, "the CA files, both tokens for servers, the agent token")
	out := map[string]*fakeaws.Resource{}
	for _, p := range params {
		out[text(t, p.Out("arn"))] = p
	}
	return out
}

// Every k3s secret is a SecureString under the stack's own key, a rotated customer-managed key
// with an alias: not aws/ssm, which lets any identity of the account allowed ssm:GetParameter
// decrypt it.
func TestK3sParametersUseTheStackKey(t *testing.T) {
	res := run(t, stack(t, "k3s"))
	key := named(t, res, "aws:kms/key:Key", "cluster-parameters-key")
	assert.Equal(t, true, key.In("enableKeyRotation"))
	alias := one(t, res, "aws:kms/alias:Alias")
	assert.Equal(t, "alias/outside-in-k3s-k3s-parameters", alias.In("name"))
	assert.Equal(t, key.Out("keyId"), alias.In("targetKeyId"))
	arn := text(t, key.Out("arn"))
	for _, p := range k3sParameters(t, res) {
		assert.Equal(t, "SecureString", p.In("type"), p.Name)
		assert.Equal(t, arn, p.In("keyId"), "%s is encrypted with the stack's key", p.Name)
		assert.Contains(t, p.Dependencies, key.URN, p.Name)
	}
}

// The key policy, read as KMS would: for every parameter of the stack and every principal, who
// may decrypt it through Parameter Store. The account root administers the key and may never use
// it; servers decrypt server parameters only, agents the agent token only, and neither outside
// Parameter Store; no other identity of the account is named.
func TestK3sKeyPolicy(t *testing.T) {
	res := run(t, stack(t, "k3s"))
	key := named(t, res, "aws:kms/key:Key", "cluster-parameters-key")
	statements := parsePolicy(t, text(t, key.In("policy")))
	serverRole := named(t, res, "aws:iam/role:Role", "cluster-server-role")
	agentRole := named(t, res, "aws:iam/role:Role", "cluster-agent-role")
	assert.Contains(t, key.Dependencies, serverRole.URN, "IAM refuses a key policy naming a role that does not exist yet")
	assert.Contains(t, key.Dependencies, agentRole.URN)

	const (
		root     = "arn:aws:iam::123456789012:root"
		deployer = "arn:aws:iam::123456789012:role/platform-engineer" // the fake's caller
		other    = "arn:aws:iam::123456789012:role/ci-readonly"
		viaSSM   = "ssm.eu-central-1.amazonaws.com"
	)
	server, agent := text(t, serverRole.Out("arn")), text(t, agentRole.Out("arn"))

	// Statically: no statement naming the root matches a use action, wildcards included.
	for _, s := range statements {
		if !anyMatches(stringsOf(t, s.Principal["AWS"]), root, false) {
			continue
		}
		for _, use := range keyUseActions {
			assert.False(t, anyMatches(stringsOf(t, s.Action), use, true), "the account root may not %s: %v", use, s.Action)
		}
	}

	params := k3sParameters(t, res)
	for arn := range params {
		name := strings.TrimPrefix(arn, "arn:aws:ssm:eu-central-1:123456789012:parameter")
		isServer := strings.HasPrefix(name, "/outside-in-k3s/k3s/server/")
		isAgentToken := name == "/outside-in-k3s/k3s/agent/token"
		require.True(t, isServer || isAgentToken, "%s is a server parameter or the agent token", name)
		through := map[string]string{"kms:ViaService": viaSSM, "kms:EncryptionContext:PARAMETER_ARN": arn}
		direct := map[string]string{"kms:EncryptionContext:PARAMETER_ARN": arn}
		for _, row := range []struct {
			who, principal string
			request        map[string]string
			want           bool
		}{
			{"deployer", deployer, through, true},
			{"server", server, through, isServer},
			{"agent", agent, through, isAgentToken},
			{"server, not through Parameter Store", server, direct, false},
			{"agent, not through Parameter Store", agent, direct, false},
			{"account root", root, through, false},
			{"another role of the account", other, through, false},
		} {
			assert.Equal(t, row.want, keyPolicyAllows(t, statements, row.principal, "kms:Decrypt", row.request),
				"%s decrypts %s", row.who, name)
		}
		for _, use := range keyUseActions {
			assert.False(t, keyPolicyAllows(t, statements, root, use, through), "account root: %s on %s", use, name)
		}
	}
	for _, p := range []string{server, agent} {
		for _, use := range []string{"kms:Encrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:ReEncryptFrom", "kms:PutKeyPolicy"} {
			assert.False(t, keyPolicyAllows(t, statements, p, use, map[string]string{"kms:ViaService": viaSSM}), "%s: %s", p, use)
		}
	}
	assert.True(t, keyPolicyAllows(t, statements, root, "kms:PutKeyPolicy", nil), "the account administers the key")
	assert.True(t, keyPolicyAllows(t, statements, deployer, "kms:Encrypt", map[string]string{}), "the deployer writes the parameters")
}

// parameterReads are the Parameter Store reads of values.
var parameterReads = []string{"ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath", "ssm:GetParameterHistory"}

// No node role (k3s servers and agents, EKS nodes) reads Parameter Store beyond its own
// parameters: no AmazonSSMManagedInstanceCore (ssm:GetParameter* on every parameter), no inline
// statement allowing a parameter read on "*" or outside the stack's k3s path; Session Manager
// through AWS's minimal inline policy. Every node policy parses.
func TestNodeRolesReadNoParameterAccountWide(t *testing.T) {
	for _, name := range []string{"k3s", "dev", "prod", "platform"} {
		t.Run(name, func(t *testing.T) {
			res := run(t, stack(t, name))
			roles := map[string]*fakeaws.Resource{} // role name → role
			for _, r := range res.OfType("aws:iam/role:Role") {
				for _, s := range parsePolicy(t, text(t, r.In("assumeRolePolicy"))) {
					if slices.Contains(stringsOf(t, s.Principal["Service"]), "ec2.amazonaws.com") {
						roles[text(t, r.Out("name"))] = r
					}
				}
			}
			if name == "k3s" {
				require.Len(t, roles, 2, "the server and agent roles")
			} else {
				require.Len(t, roles, 1, "the EKS node role")
			}
			own := fmt.Sprintf("arn:aws:ssm:eu-central-1:123456789012:parameter/outside-in-%s/k3s/", name)

			managed := map[string][]string{}
			for _, a := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
				if r, ok := roles[text(t, a.In("role"))]; ok {
					arn := text(t, a.In("policyArn"))
					managed[r.Name] = append(managed[r.Name], arn[strings.LastIndex(arn, "/")+1:])
				}
			}
			inline := map[string][]string{}
			for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
				role := text(t, p.In("role"))
				if _, ok := roles[role]; !ok {
					continue
				}
				inline[roles[role].Name] = append(inline[roles[role].Name], p.Name)
				for _, s := range parsePolicy(t, text(t, p.In("policy"))) {
					require.Equal(t, "Allow", s.Effect, p.Name)
					actions := stringsOf(t, s.Action)
					for _, read := range parameterReads {
						if !anyMatches(actions, read, true) {
							continue
						}
						for _, resource := range stringsOf(t, s.Resource) {
							assert.NotEqual(t, "*", resource, "%s: %s on every parameter", p.Name, read)
							assert.True(t, strings.HasPrefix(resource, own), "%s: %s on %s, outside the stack's k3s path", p.Name, read, resource)
						}
					}
				}
			}
			for _, r := range roles {
				assert.NotContains(t, managed[r.Name], "AmazonSSMManagedInstanceCore", "%s: it reads every parameter of the account", r.Name)
				for _, policy := range managed[r.Name] {
					assert.Contains(t, cluster.NodeRolePolicies, policy, "%s: only the EKS worker's managed policies", r.Name)
				}
				if name == "k3s" {
					assert.Empty(t, managed[r.Name], "%s: k3s nodes have no managed policy", r.Name)
				}
				assert.Contains(t, inline[r.Name], r.Name+"-session-manager", "%s: a shell through Session Manager", r.Name)
			}
			for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
				if strings.HasSuffix(p.Name, "-session-manager") {
					s := parsePolicy(t, text(t, p.In("policy")))
					require.Len(t, s, 1)
					assert.ElementsMatch(t, []string{"ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
						"ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"},
						stringsOf(t, s[0].Action), "AWS's documented minimum for Session Manager")
				}
			}
		})
	}
}
