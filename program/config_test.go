package program

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/network"
	"github.com/outside-in/outside-in/offline/fakeaws"
)

var minimal = map[string]string{KeyDomain: "example.com", KeyAdminCidrs: `["203.0.113.10/32"]`}

// parse runs Parse on the minimal stack plus extra outside-in keys.
func parse(t *testing.T, extra map[string]string) (Config, error) {
	t.Helper()
	all := map[string]string{}
	for k, v := range minimal {
		all[Namespace+":"+k] = v
	}
	for k, v := range extra {
		all[Namespace+":"+k] = v
	}
	c, _, err := Parse("outside-in", "dev", all)
	return c, err
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
	assert.Equal(t, DefaultKubernetesVersion, c.KubernetesVersion, "EKS's default version when none is set")
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
	c, err := parse(t, map[string]string{KeyApps: `[{"name":"api","port":9000}]`})
	require.NoError(t, err)
	assert.Equal(t, []App{{Name: "api", Host: "api.example.com", Image: DefaultAppImage, Replicas: 2, Port: 9000, HealthPath: "/index.html"}}, c.Apps,
		"an app without a host is served at <name>.<domain>")
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

// The k3s mode derives its Kubernetes version from the k3s release and refuses EKS's keys.
func TestK3sMode(t *testing.T) {
	c, err := parse(t, map[string]string{KeyClusterMode: "k3s"})
	require.NoError(t, err)
	assert.Equal(t, "v1.34.3+k3s1", c.K3sVersion)
	assert.Equal(t, "1.34", c.KubernetesVersion)
	assert.Equal(t, 1, c.K3sServers)

	_, err = parse(t, map[string]string{KeyClusterMode: "k3s", KeyAddonVersions: `{"coredns":"v1.14.3-eksbuild.3"}`})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `outside-in:addonVersions = "{\"coredns\":\"v1.14.3-eksbuild.3\"}": applies only to clusterMode eks`)

	_, err = parse(t, map[string]string{KeyK3sServers: "3"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `outside-in:k3sServers = "3": applies only to clusterMode k3s`)
}

// The engine passes every key of the stack in PULUMI_CONFIG; a key the program does not know is
// reported, not ignored, and so is a key of the aws provider that does not exist.
func TestEngineConfigSeesUnknownKeys(t *testing.T) {
	all := map[string]string{"outside-in:domain": "example.com", "outside-in:natStrategyy": "Single", "aws:regoin": "eu-west-1",
		"outside-in:adminCidrs": `["203.0.113.10/32"]`, "outsidein:tls": "false"}
	b, err := json.Marshal(all)
	require.NoError(t, err)
	t.Setenv(pulumi.EnvConfig, string(b))
	var got map[string]string
	_, err = fakeaws.Run("outside-in", "dev", fakeaws.Options{}, all, func(ctx *pulumi.Context) error {
		got = EngineConfig(ctx)
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, all, got)
	_, warnings, err := Parse("outside-in", "dev", got)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `outside-in:natStrategyy = "Single": unknown key; did you mean natStrategy?`)
	assert.Contains(t, err.Error(), `aws:regoin = "eu-west-1": is not a configuration key of the aws provider; did you mean aws:region?`)
	require.Len(t, warnings, 1)
	assert.Contains(t, warnings[0], `outsidein:tls is in namespace "outsidein", which outside-in does not read; did you mean outside-in:tls?`)
}

func TestSanitizeName(t *testing.T) {
	assert.Equal(t, "outside-in-dev-alice", sanitizeName("outside-in-dev.alice"))
	assert.Equal(t, "a-b-c", sanitizeName("a-b_c"))
}

// AWSProviderKeys is the aws provider's own list: every key its Go SDK's config package reads
// (go/aws/config/config.go of the pulumi-aws module this project builds with), and no other.
func TestAWSProviderKeysAreTheProvidersKeys(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/pulumi/pulumi-aws/sdk/v6").Output()
	require.NoError(t, err, "go list -m github.com/pulumi/pulumi-aws/sdk/v6")
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "go", "aws", "config", "config.go"))
	require.NoError(t, err)
	var keys []string
	for _, m := range regexp.MustCompile(`"aws:(\w+)"`).FindAllStringSubmatch(string(src), -1) {
		if !slices.Contains(keys, m[1]) {
			keys = append(keys, m[1])
		}
	}
	require.Greater(t, len(keys), 20, "the SDK's config.go reads the provider's keys")
	assert.ElementsMatch(t, keys, AWSProviderKeys)
}

// A stack named like a pull request's environment (pr-*) must be one: pull requests' jobs may
// read and write the state of such stacks, so a full stack of that name is refused before
// anything is registered, and an environment of that name is not.
func TestPullRequestNamesAreForEnvironments(t *testing.T) {
	all := map[string]string{}
	for k, v := range minimal {
		all[Namespace+":"+k] = v
	}
	for _, stack := range []string{"pr-9", "organization/outside-in/pr-demo"} {
		for _, mode := range []string{ClusterModeEKS, ClusterModeK3s} {
			all[Namespace+":"+KeyClusterMode] = mode
			_, _, err := Parse("outside-in", stack, all)
			require.Error(t, err, "%s as %s", stack, mode)
			assert.Contains(t, err.Error(), fmt.Sprintf(`outside-in:clusterMode = %q: cannot be used by stack %q`, mode, stack))
			assert.Contains(t, err.Error(), "pull requests may read and write")
		}
	}
	env := map[string]string{Namespace + ":" + KeyClusterMode: ClusterModeExisting, Namespace + ":" + KeyPlatformStack: "organization/outside-in/platform"}
	_, _, err := Parse("outside-in", "pr-9", env)
	assert.NoError(t, err, "an environment named pr-9")
	_, _, err = Parse("outside-in", "prod", map[string]string{Namespace + ":" + KeyDomain: "example.com", Namespace + ":" + KeyAdminCidrs: `["203.0.113.10/32"]`})
	assert.NoError(t, err, "prod is not pr-*")
}
