package check

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/outside-in/outside-in/ingress"
)

// TestListenerForHost: each host of a platform is taken by the listener the program declares
// for it, the most specific that matches: an environment's host by the environments' listener,
// though the subdomains' wildcard matches it too (a wildcard is a suffix match).
func TestListenerForHost(t *testing.T) {
	spec := ingress.GatewaySpec(ingress.GatewayArgs{TLS: true, Domain: "platform.example.com", EnvDomain: "env.platform.example.com", EnvironmentLabel: "outside-in/environment"})
	b, err := json.Marshal(spec["listeners"])
	require.NoError(t, err)
	var listeners []listenerSpec
	require.NoError(t, json.Unmarshal(b, &listeners))
	require.Len(t, listeners, 3)
	for host, want := range map[string]string{
		"platform.example.com":               "websecure-apex",
		"www.platform.example.com":           "websecure-subdomains",
		"a.b.platform.example.com":           "websecure-subdomains",
		"web-pr-17.env.platform.example.com": "websecure-environments",
		"env.platform.example.com":           "websecure-subdomains",
	} {
		l, ok := listenerFor(listeners, host)
		require.True(t, ok, host)
		assert.Equal(t, want, l.Name, host)
	}
	_, ok := listenerFor(listeners, "other.example.org")
	assert.False(t, ok, "no listener takes a host outside the domains")
	_, ok = listenerFor(listeners, "xplatform.example.com")
	assert.False(t, ok, "a wildcard matches whole labels")

	env, _ := listenerFor(listeners, "web-pr-17.env.platform.example.com")
	assert.Equal(t, "outside-in/environment", allowedNamespaces(env))
	www, _ := listenerFor(listeners, "www.platform.example.com")
	assert.Equal(t, "!outside-in/environment", allowedNamespaces(www))
}

// TestGatewayReadFailure: a Gateway that does not exist and a cluster that does not serve the
// Gateway API both answer 404, and have different fixes. The second error is the one the
// API server of the tests answers for a kind it does not serve.
func TestGatewayReadFailure(t *testing.T) {
	w := &walk{t: target{controllerNS: "traefik"}}
	missing := w.gatewayReadFailure("traefik/outside-in",
		apierrors.NewNotFound(schema.GroupResource{Group: ingress.GatewayAPIGroup, Resource: "gateways"}, ingress.GatewayName))
	assert.Contains(t, missing.Cause, "the platform's Gateway traefik/outside-in is missing")
	assert.Contains(t, missing.Fix, "declares the Gateway")

	unserved := w.gatewayReadFailure("traefik/outside-in",
		apierrors.NewGenericServerResponse(http.StatusNotFound, "get", schema.GroupResource{}, "", "404 page not found", 0, true))
	assert.Contains(t, unserved.Evidence[0], "the server could not find the requested resource")
	assert.Contains(t, unserved.Cause, "does not serve the Gateway API")
	assert.Contains(t, unserved.Fix, "installs the Gateway API CRDs")
}

// TestRoutingOutput: the routing output picks the ingress hop's reading; a stack without one
// routes through Ingresses, and an unknown value is refused.
func TestRoutingOutput(t *testing.T) {
	urls := map[string]any{"web": "https://web.example.com/"}
	for out, want := range map[string]ingress.Routing{"": ingress.RoutingIngress, "ingress": ingress.RoutingIngress, "gateway": ingress.RoutingGateway} {
		o := map[string]any{"urls": urls}
		if out != "" {
			o["routing"] = out
		}
		tg, err := stackTarget(o)
		require.NoError(t, err)
		assert.Equal(t, want, tg.routing, "routing %q", out)
	}
	_, err := stackTarget(map[string]any{"urls": urls, "routing": "mesh"})
	assert.ErrorContains(t, err, `routing = "mesh"`)

	// An environment's own routing output, when it has one, is how its objects are; otherwise
	// its platform's.
	env := map[string]any{"urls": map[string]any{"web": "https://web-pr-1.env.example.com/"}, "namespace": "env-pr-1"}
	platform := map[string]any{"envDomain": "env.example.com", "routing": "gateway"}
	tg, err := environmentTarget(env, platform)
	require.NoError(t, err)
	assert.Equal(t, ingress.RoutingGateway, tg.routing)
	env["routing"] = "ingress"
	tg, err = environmentTarget(env, platform)
	require.NoError(t, err)
	assert.Equal(t, ingress.RoutingIngress, tg.routing)
}
