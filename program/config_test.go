package program

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/network"
)

var minimal = map[string]string{KeyDomain: "example.com", KeyAdminCidrs: `["203.0.113.10/32"]`}

func parse(t *testing.T, extra map[string]string) (Config, error) {
	t.Helper()
	raw := map[string]string{}
	for k, v := range minimal {
		raw[k] = v
	}
	for k, v := range extra {
		raw[k] = v
	}
	return Parse("outside-in", "dev", raw)
}

func TestDefaults(t *testing.T) {
	c, err := parse(t, nil)
	require.NoError(t, err)
	assert.Equal(t, "outside-in-dev", c.ClusterName, "the cluster is named after project and stack")
	assert.Equal(t, []App{{Name: "web", Host: "web.example.com", Image: DefaultAppImage, Replicas: 2, Port: 8080, HealthPath: "/index.html"}}, c.Apps)
	assert.Equal(t, network.NatOnePerAz, c.NatStrategy)
	assert.Equal(t, 2, c.AzCount)
	assert.True(t, c.TLS)
	assert.Equal(t, "alb", c.LoadBalancer)
	assert.Equal(t, map[string]string{"outside-in:project": "outside-in", "outside-in:stack": "dev", "managed-by": "pulumi"}, c.SharedTags())
}

// A missing key takes its default; a present but malformed one is an error, never a default.
func TestMissingIsNotMalformed(t *testing.T) {
	c, err := parse(t, map[string]string{KeyAzCount: "3"})
	require.NoError(t, err)
	assert.Equal(t, 3, c.AzCount)

	for key, bad := range map[string]string{KeyAzCount: "", KeyTLS: "", KeyNodeInstanceTypes: "", KeyApps: "{}"} {
		_, err := parse(t, map[string]string{key: bad})
		var ce *ConfigError
		require.True(t, errors.As(err, &ce), "%s=%q must be refused", key, bad)
		assert.Equal(t, key, ce.Problems[0].Key)
	}
}

func TestAppFieldsDefaultOneByOne(t *testing.T) {
	c, err := parse(t, map[string]string{KeyApps: `[{"name":"api","host":"api.example.com","port":9000}]`})
	require.NoError(t, err)
	assert.Equal(t, []App{{Name: "api", Host: "api.example.com", Image: DefaultAppImage, Replicas: 2, Port: 9000, HealthPath: "/index.html"}}, c.Apps)
}

func TestAZNamesSetTheCount(t *testing.T) {
	c, err := parse(t, map[string]string{KeyAzNames: `["eu-west-1a","eu-west-1b","eu-west-1c"]`})
	require.NoError(t, err)
	assert.Equal(t, 3, c.AzCount)
}

func TestAllProblemsAtOnce(t *testing.T) {
	_, err := parse(t, map[string]string{KeyNatStrategy: "x", KeyLoadBalancer: "y", KeyAzCount: "z"})
	var ce *ConfigError
	require.True(t, errors.As(err, &ce))
	var keys []string
	for _, p := range ce.Problems {
		keys = append(keys, p.Key)
	}
	assert.ElementsMatch(t, []string{KeyAzCount, KeyNatStrategy, KeyLoadBalancer}, keys)
}

// The engine passes every key of the stack in PULUMI_CONFIG; a key the program does not know is
// reported, not ignored.
func TestEngineConfigSeesUnknownKeys(t *testing.T) {
	all := map[string]string{"outside-in:domain": "example.com", "outside-in:natStrategyy": "Single", "aws:region": "eu-west-1"}
	b, err := json.Marshal(all)
	require.NoError(t, err)
	t.Setenv(pulumi.EnvConfig, string(b))
	var raw map[string]string
	_, err = fakeaws.Run("outside-in", "dev", fakeaws.Options{}, all, func(ctx *pulumi.Context) error {
		raw = EngineConfig(ctx)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"domain": "example.com", "natStrategyy": "Single"}, raw)
	_, err = Parse("outside-in", "dev", raw)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "did you mean natStrategy?")
}

func TestSanitizeName(t *testing.T) {
	assert.Equal(t, "outside-in-dev-alice", sanitizeName("outside-in-dev.alice"))
	assert.Equal(t, "a-b-c", sanitizeName("a-b_c"))
}
