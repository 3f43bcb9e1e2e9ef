package tests

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/published"
	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// A platform, on EKS or on k3s, publishes what its environments read, and nothing else of its
// outputs, in one SecureString under a KMS key of its own (not the account's aws/ssm key, which
// every principal allowed ssm:GetParameter may use); the document fits Parameter Store's
// standard tier (4 KB). An environment planned with it takes its cluster credential and domain
// from that document.
func TestPlatformPublishesWhatEnvironmentsRead(t *testing.T) {
	for _, s := range shippedPlatforms(t) {
		t.Run(s.Name, func(t *testing.T) {
			res := run(t, s)
			param := named(t, res, "aws:ssm/parameter:Parameter", "published-parameter")
			key := named(t, res, "aws:kms/key:Key", "published-key")
			assert.Equal(t, "SecureString", param.In("type"))
			assert.Equal(t, "Standard", param.In("tier"))
			assert.Equal(t, published.ParameterName(plan.Project, s.Name), param.In("name"))
			assert.Equal(t, key.Out("arn"), param.In("keyId"), "the document's own key, not aws/ssm")
			value, secret := fakeaws.Reveal(param.In("value"))
			require.True(t, secret, "the document is a secret in the state")
			docText, _ := value.(string)
			assert.Less(t, len(docText), 4096, "the standard tier holds 4 KB")
			t.Logf("published document: %d bytes", len(docText))

			doc, err := res.Published()
			require.NoError(t, err)
			var keys []string
			for k := range doc {
				keys = append(keys, k)
			}
			assert.Subset(t, published.Keys, keys, "only the keys environments and check read")
			assert.NotContains(t, doc, "kubeconfig", "never the platform's admin kubeconfig")
			for _, k := range published.Keys {
				e, ok := res.Exports[k]
				if !ok {
					continue
				}
				want, _ := json.Marshal(e.Value)
				got, _ := json.Marshal(doc[k])
				assert.JSONEq(t, string(want), string(got), "the document's %s is the platform's output", k)
			}
			for _, k := range []string{program.OutputEnvDomain, program.OutputEnvironmentKubeconfig, program.OutputControllerNamespace,
				program.OutputControllerPodLabels, "loadBalancerDnsName", "region"} {
				assert.Contains(t, doc, k)
			}

			// Its key policy gives no principal its use but through Parameter Store for this
			// parameter.
			var policy struct{ Statement []map[string]any }
			require.NoError(t, json.Unmarshal([]byte(text(t, key.In("policy"))), &policy))
			for _, st := range policy.Statement {
				for _, a := range list(t, st["Action"]) {
					if a == "kms:Decrypt" || a == "kms:Encrypt" || a == "kms:GenerateDataKey" {
						cond, _ := json.Marshal(st["Condition"])
						assert.Contains(t, string(cond), `"kms:ViaService":"ssm.`, "%s only through Parameter Store", a)
						assert.Contains(t, string(cond), `"kms:EncryptionContext:PARAMETER_ARN":"arn:aws:ssm:`, "%s only for the document", a)
					}
					assert.NotEqual(t, "kms:*", a)
					assert.NotEqual(t, "kms:CreateGrant", a, "a grant would pass the conditions by")
				}
			}
		})
	}
}

// shippedPlatforms are the shipped platform stack and a k3s stack made a platform.
func shippedPlatforms(t *testing.T) []plan.Stack {
	t.Helper()
	return []plan.Stack{stack(t, "platform"), with(stack(t, "k3s"), map[string]string{"envDomain": k3sEnvDomain, "loadBalancer": "nlb"})}
}

// An environment takes its cluster credential and hosts from its platform's published
// document: its provider holds the document's environments kubeconfig, and its hosts are under
// the document's envDomain.
func TestEnvironmentReadsThePublishedDocument(t *testing.T) {
	env := stack(t, "pr-17")
	platform := platformOf(t, env)
	doc, err := platform.Published()
	require.NoError(t, err)
	res, err := plan.Run(env, plan.Options{Platform: platform})
	require.NoError(t, err)
	provider := named(t, res, "pulumi:providers:kubernetes", "cluster-k8s")
	kc, secret := fakeaws.Reveal(provider.In("kubeconfig"))
	assert.True(t, secret, "the kubeconfig stays a secret in the environment's state")
	assert.Equal(t, doc[program.OutputEnvironmentKubeconfig], kc)
	urls, _ := res.Exports["urls"].Value.(map[string]any)
	require.NotEmpty(t, urls)
	for app, u := range urls {
		assert.Contains(t, u, "-pr-17."+text(t, doc[program.OutputEnvDomain])+"/", app)
	}

	// Without its platform's document, the environment stops before registering anything,
	// and says how to give it.
	res, err = plan.Run(env, plan.Options{})
	require.Error(t, err)
	assert.ErrorContains(t, err, "published nothing")
	assert.ErrorContains(t, err, "--platform")
	assert.Empty(t, res.Resources, "nothing registered")
}
