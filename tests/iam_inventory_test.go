package tests

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/iamsim"
	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
)

// This file reads the IAM a plan declares as the evaluator (internal/iamsim) takes it: every
// policy document the program writes, each role with its trust, inline policies and managed
// attachments, and each KMS key's policy.

// writtenPolicy is one policy document the program writes: where, and the document.
type writtenPolicy struct {
	where string // <type> <name> <field>
	doc   map[string]any
}

// writtenPolicies are the policy documents in the inputs of the plan's AWS resources: role
// trust and inline policies, role policies, managed policies, key, bucket and other resource
// policies, whatever resource carries them.
func writtenPolicies(t *testing.T, res *plan.Result) []writtenPolicy {
	t.Helper()
	var out []writtenPolicy
	add := func(r *fakeaws.Resource, field string, v any) {
		s, ok := v.(string)
		if !ok || s == "" {
			return
		}
		var doc map[string]any
		require.NoError(t, json.Unmarshal([]byte(s), &doc), "%s %s.%s is not a policy document: %s", r.Type, r.Name, field, s)
		out = append(out, writtenPolicy{where: fmt.Sprintf("%s %s %s", r.Type, r.Name, field), doc: doc})
	}
	for _, r := range res.Resources {
		if !strings.HasPrefix(r.Type, "aws:") {
			continue
		}
		for _, field := range []string{"policy", "assumeRolePolicy"} {
			add(r, field, r.In(field))
		}
		if inline, ok := r.In("inlinePolicies").([]any); ok {
			for i := range inline {
				add(r, fmt.Sprintf("inlinePolicies[%d].policy", i), r.In("inlinePolicies", i, "policy"))
			}
		}
	}
	return out
}

// policyActions are the actions a document names, in Action and NotAction.
func policyActions(doc map[string]any) []string {
	var out []string
	for _, st := range statements(doc) {
		for _, field := range []string{"Action", "NotAction"} {
			out = append(out, stringList(st[field])...)
		}
	}
	return out
}

func statements(doc map[string]any) []map[string]any {
	switch s := doc["Statement"].(type) {
	case map[string]any:
		return []map[string]any{s}
	case []any:
		var out []map[string]any
		for _, e := range s {
			if m, ok := e.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// iamRole is a role as IAM evaluates its requests: its ARN, trust, the inline policies it
// carries (on the role or as role policies) and the managed policies attached to it.
type iamRole struct {
	resource string // the Role's resource name in the plan
	name     string
	arn      string
	trust    map[string]any
	inline   []iamsim.Policy
	managed  []string // policy ARNs
}

// roleByResource is the plan's role registered under a resource name, with its policies.
func roleByResource(t *testing.T, res *plan.Result, resourceName string) *iamRole {
	t.Helper()
	r := named(t, res, "aws:iam/role:Role", resourceName)
	role := &iamRole{resource: resourceName}
	role.name, _ = r.Out("name").(string)
	role.arn, _ = r.Out("arn").(string)
	require.NotEmpty(t, role.name, "role %s has a name", resourceName)
	require.NotEmpty(t, role.arn, "role %s has an ARN", resourceName)
	if s, ok := r.In("assumeRolePolicy").(string); ok {
		require.NoError(t, json.Unmarshal([]byte(s), &role.trust), "trust of %s", resourceName)
	}
	if inline, ok := r.In("inlinePolicies").([]any); ok {
		for i := range inline {
			if s, ok := r.In("inlinePolicies", i, "policy").(string); ok {
				role.inline = append(role.inline, iamsim.Policy{Name: fmt.Sprintf("%s inline %d", resourceName, i), Policy: json.RawMessage(s)})
			}
		}
	}
	if arns, ok := r.In("managedPolicyArns").([]any); ok {
		role.managed = append(role.managed, stringList(arns)...)
	}
	for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
		if p.In("role") == role.name {
			s, _ := p.In("policy").(string)
			require.NotEmpty(t, s, "role policy %s has a known document", p.Name)
			role.inline = append(role.inline, iamsim.Policy{Name: p.Name, Policy: json.RawMessage(s)})
		}
	}
	for _, a := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		if a.In("role") == role.name {
			arn, _ := a.In("policyArn").(string)
			role.managed = append(role.managed, arn)
		}
	}
	sort.Strings(role.managed)
	return role
}

// parameterKey is the KMS key an SSM parameter names (its keyId), or "" for the account's
// aws/ssm key, which a SecureString without one uses.
func parameterKey(t *testing.T, res *plan.Result, name string) (param *fakeaws.Resource, keyRef string) {
	t.Helper()
	for _, p := range res.OfType("aws:ssm/parameter:Parameter") {
		if p.In("name") == name {
			ref, _ := p.In("keyId").(string)
			return p, ref
		}
	}
	return nil, ""
}

// kmsKey is a key and the policy IAM evaluates requests on it with.
type kmsKey struct {
	label  string
	arn    string
	policy map[string]any
}

// keyOf finds the key a key id, key ARN or alias names in the plan, with its policy (the key's
// own, a separate key policy resource's, or, when the program sets none, KMS's default key
// policy). An empty reference is the account's aws/ssm key, whose policy AWS writes
// (awsSSMKeyPolicy).
func keyOf(t *testing.T, res *plan.Result, keyRef string) (kmsKey, bool) {
	t.Helper()
	account, region := res.Fake.AccountID(), res.Stack.Region()
	if keyRef == "" || keyRef == "alias/aws/ssm" {
		return kmsKey{label: "aws/ssm (AWS managed)", arn: fmt.Sprintf("arn:aws:kms:%s:%s:key/00000000-0000-4000-8000-00000000a55a", region, account),
			policy: awsSSMKeyPolicy(account, region)}, true
	}
	target := keyRef
	for _, a := range res.OfType("aws:kms/alias:Alias") {
		if a.In("name") == keyRef || a.Out("arn") == keyRef {
			target, _ = a.In("targetKeyId").(string)
		}
	}
	for _, k := range res.OfType("aws:kms/key:Key") {
		arn, _ := k.Out("arn").(string)
		if target != arn && target != k.Out("keyId") && target != k.ID {
			continue
		}
		key := kmsKey{label: k.Name, arn: arn}
		policy, _ := k.In("policy").(string)
		for _, p := range res.OfType("aws:kms/keyPolicy:KeyPolicy") {
			if ref := p.In("keyId"); ref == arn || ref == k.Out("keyId") || ref == k.ID {
				policy, _ = p.In("policy").(string)
			}
		}
		if policy == "" {
			key.label += " (KMS default key policy)"
			key.policy = map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
				"Sid": "Enable IAM User Permissions", "Effect": "Allow",
				"Principal": map[string]any{"AWS": fmt.Sprintf("arn:aws:iam::%s:root", account)},
				"Action":    "kms:*", "Resource": "*",
			}}}
			return key, true
		}
		require.NoError(t, json.Unmarshal([]byte(policy), &key.policy), "key policy of %s", k.Name)
		return key, true
	}
	return kmsKey{}, false
}

// awsSSMKeyPolicy is the policy AWS gives the AWS managed key aws/ssm (as the KMS console shows
// it): every principal of the account may use it through Parameter Store, whatever parameter.
func awsSSMKeyPolicy(account, region string) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": []any{
		map[string]any{
			"Sid": "Allow access through SSM for all principals in the account that are authorized to use SSM", "Effect": "Allow",
			"Principal": map[string]any{"AWS": "*"},
			"Action":    []any{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"},
			"Resource":  "*",
			"Condition": map[string]any{"StringEquals": map[string]any{
				"kms:CallerAccount": account, "kms:ViaService": "ssm." + region + ".amazonaws.com"}},
		},
		map[string]any{
			"Sid": "Allow direct access to key metadata to the account", "Effect": "Allow",
			"Principal": map[string]any{"AWS": fmt.Sprintf("arn:aws:iam::%s:root", account)},
			"Action":    []any{"kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"},
			"Resource":  "*",
		},
	}}
}
