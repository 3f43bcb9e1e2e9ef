package tests

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// Every bad configuration stops the program with a message naming the key, the value and what
// is allowed, and nothing at all is registered.
func TestBadConfigRegistersNothing(t *testing.T) {
	dev := stack(t, "dev")
	for _, c := range BadConfigs {
		t.Run(c.Name, func(t *testing.T) {
			opts := plan.Options{}
			if c.NoZone {
				opts.Zones = map[string]string{}
			}
			s := with(dev, c.Set, c.Unset...)
			for k, v := range c.SetOther {
				s.Config[k] = v
			}
			res, err := plan.Run(s, opts)
			require.Error(t, err)
			var ce *program.ConfigError
			require.True(t, errors.As(err, &ce), "want a configuration error, got %v", err)
			msg := err.Error()
			assert.Contains(t, msg, c.Message())
			assert.Contains(t, msg, c.Want)
			assert.Contains(t, msg, "nothing was created")
			assert.NotRegexp(t, `interface \{\}|\ba int\b|\bslice\b|\bfloat64\b|json: `, msg, "the message speaks of the configuration, not of Go")
			require.NotNil(t, res.Fake)
			assert.Empty(t, res.Resources, "a bad configuration must register nothing")
		})
	}
}

// The same checks accept the good neighbours of some bad cases: a check must not refuse
// everything.
func TestGoodNeighboursAreAccepted(t *testing.T) {
	dev := stack(t, "dev")
	for name, set := range map[string]map[string]string{
		"world-open endpoint, explicitly": {"adminCidrs": `["0.0.0.0/0"]`, "allowWorldOpenClusterEndpoint": "true"},
		"private endpoint":                {"clusterEndpointAccess": "PrivateOnly", "adminCidrs": "[]"},
		"graviton nodes":                  {"nodeInstanceTypes": `["m7g.large","c7g.large"]`},
		"AZ names":                        {"azNames": `["eu-central-1b","eu-central-1c"]`},
		"three AZs, small VPC":            {"vpcCidr": "10.8.0.0/18", "azCount": "3", "privateSubnetPrefixLength": "21"},
		"no TLS, no zone":                 {"zoneMode": "none", "tls": "false"},
		"existing zone":                   {"zoneMode": "existing"},
		"pinned add-ons":                  {"addonVersions": `{"coredns":"v1.14.3-eksbuild.3"}`},
		"app image by digest":             {"apps": `[{"name":"web","host":"web.dev.outside-in.example.com","image":"httpd@sha256:` + fmt.Sprintf("%064d", 7) + `"}]`},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := plan.Run(with(dev, set), plan.Options{})
			require.NoError(t, err)
			assert.NotEmpty(t, res.Resources)
		})
	}
}
