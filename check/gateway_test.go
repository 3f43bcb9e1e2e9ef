package check_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/outside-in/outside-in/check"
)

// routingGateway is the configuration of a stack that routes through the Gateway API.
var routingGateway = map[string]string{"outside-in:routing": "gateway"}

// gatewayDevWorld is the dev stack with routing gateway, deployed as devWorld deploys the dev
// stack: its HTTPRoute on the Gateway in place of its Ingress. It is planned as stack
// dev-gateway, with its controller (and so its Gateway) in namespace gw-traefik, beside the dev
// world of the other tests in moto and the API server.
func gatewayDevWorld(t *testing.T) *world {
	installGatewayAPI(t)
	res := runPlanAs(t, "dev", "dev-gateway", nil, routingGateway)
	w := newWorld(t, res, "gw-")
	// A platform exports its routing (TestGatewayEnvironmentServesThroughItsPlatform); the
	// dev stack's outputs are given the same output here.
	if _, ok := w.outputs["routing"]; !ok {
		w.outputs["routing"] = "gateway"
	}
	w.addHosts(w.outputs)
	return w
}

// TestGatewayStackServesAndEachFaultIsNamedAtItsHop: in gateway routing the ingress hop reads
// the Gateway, its listener for the host and the host's HTTPRoute, and names each condition
// that is not True with the object, the condition, its reason and its message. Each fault is
// the status Traefik's kubernetesGateway provider (v3.7.11, pkg/provider/kubernetes/gateway)
// writes for it; the stack must serve again once it is repaired.
func TestGatewayStackServesAndEachFaultIsNamedAtItsHop(t *testing.T) {
	w := gatewayDevWorld(t)
	ctx := t.Context()
	gw := "Gateway " + w.controllerNS + "/outside-in"
	var host string
	for _, u := range w.outputs["urls"].(map[string]any) {
		host = strings.TrimSuffix(strings.TrimPrefix(u.(string), "https://"), "/")
	}
	require.Equal(t, "web.dev.outside-in.example.com", host)

	rep := checkStack(t, w)
	out := text(t, rep)
	t.Logf("a stack on the Gateway API that serves:\n%s", out)
	require.True(t, rep.Serves, out)
	ing, _ := rep.Hosts[0].Hop(check.HopIngress)
	require.Equal(t, check.OK, ing.Status, out)
	evidence := strings.Join(ing.Evidence, "\n")
	assert.Contains(t, evidence, gw+": Accepted True, Programmed True, addresses "+w.seeded.lbDNS, out)
	assert.Contains(t, evidence, "listener websecure-subdomains (*.dev.outside-in.example.com, port 8443), routes from namespaces !outside-in/environment: Accepted True, Programmed True, ResolvedRefs True; 1 attached route(s)", out)
	assert.Contains(t, evidence, "HTTPRoute web/web: Accepted True, ResolvedRefs True by "+gw, out)
	assert.Contains(t, evidence, "Service web/web: 2 of 2 endpoints ready", out)
	assert.NotContains(t, evidence, "Ingress", "no Ingress is read in gateway routing")

	faults := []struct {
		name     string
		cause    string // in the ingress hop's cause
		evidence string // in its evidence
		fix      string // in its fix
		inject   func() (repair func())
	}{
		{"route not accepted: its namespace is not admitted",
			"HTTPRoute web/web: not Accepted by " + gw + ": NotAllowedByListeners; no listener of the Gateway admits a route from namespace web (listener websecure-subdomains admits routes from namespaces !outside-in/environment)",
			"HTTPRoute web/web: Accepted False (NotAllowedByListeners), ResolvedRefs True by " + gw,
			"kubectl get namespace web --show-labels",
			func() func() {
				// Traefik writes this reason without a message.
				w.setRouteCondition(ctx, "web", "web", condition("Accepted", metav1.ConditionFalse, "NotAllowedByListeners", ""))
				return func() { w.acceptRoute(ctx, "web", "web") }
			}},
		{"route backend not found",
			"HTTPRoute web/web: not ResolvedRefs for " + gw + `: BackendNotFound — Cannot load HTTPBackendRef web/web-typo: getting service: service "web-typo" not found; the Service the route sends to (web/web-typo) does not exist`,
			"HTTPRoute web/web: Accepted True, ResolvedRefs False (BackendNotFound) by " + gw,
			"restores the app's Service",
			func() func() {
				route := w.get(ctx, httpRoutes, "web", "web")
				rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
				require.Len(t, rules, 1)
				backends := rules[0].(map[string]any)["backendRefs"].([]any)
				require.Len(t, backends, 1)
				backends[0].(map[string]any)["name"] = "web-typo"
				require.NoError(t, unstructured.SetNestedSlice(route.Object, rules, "spec", "rules"))
				_, err := w.dyn.Resource(httpRoutes).Namespace("web").Update(ctx, route, metav1.UpdateOptions{})
				require.NoError(t, err)
				w.setRouteCondition(ctx, "web", "web", condition("ResolvedRefs", metav1.ConditionFalse, "BackendNotFound",
					`Cannot load HTTPBackendRef web/web-typo: getting service: service "web-typo" not found`))
				return func() { w.restore(ctx, "HTTPRoute", "web", "web") }
			}},
		{"Gateway not programmed",
			gw + ": not Programmed: Invalid — No Listener is valid; the controller has not programmed the Gateway's listeners",
			gw + ": Accepted True, Programmed False (Invalid)",
			"kubectl -n " + w.controllerNS + " describe gateway outside-in",
			func() func() {
				w.setGatewayCondition(ctx, w.controllerNS, "outside-in", condition("Programmed", metav1.ConditionFalse, "Invalid", "No Listener is valid"))
				return func() { w.programGateway(ctx, w.controllerNS, "outside-in") }
			}},
		{"no HTTPRoute for the host",
			"no HTTPRoute for the host",
			"no HTTPRoute in any namespace names host " + host,
			"declares the app's HTTPRoute",
			func() func() {
				require.NoError(t, w.dyn.Resource(httpRoutes).Namespace("web").Delete(ctx, "web", metav1.DeleteOptions{}))
				return func() { w.restore(ctx, "HTTPRoute", "web", "web") }
			}},
		{"no Gateway",
			"the platform's " + gw + " is missing",
			gw + `: gateways.gateway.networking.k8s.io "outside-in" not found`,
			"declares the Gateway",
			func() func() {
				require.NoError(t, w.dyn.Resource(gateways).Namespace(w.controllerNS).Delete(ctx, "outside-in", metav1.DeleteOptions{}))
				return func() { w.restore(ctx, "Gateway", w.controllerNS, "outside-in") }
			}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			repair := f.inject()
			rep := checkStack(t, w)
			out := text(t, rep)
			repair()
			t.Logf("%s:\n%s", f.name, out)

			require.False(t, rep.Serves, "the check passed with the fault in place:\n%s", out)
			h := rep.Hosts[0]
			require.Equal(t, check.HopIngress, h.FirstBroken, out)
			hop, _ := h.Hop(check.HopIngress)
			assert.Contains(t, hop.Cause, f.cause, out)
			assert.Contains(t, strings.Join(hop.Evidence, "\n"), f.evidence, out)
			assert.Contains(t, hop.Fix, f.fix, out)

			again := checkStack(t, w)
			require.True(t, again.Serves, "the repaired stack does not serve:\n%s", text(t, again))
		})
	}
}

// TestGatewayEnvironmentServesThroughItsPlatform: an environment of a platform that routes
// through the Gateway API is checked on the Gateway, as its own outputs and its platform's
// say: each host's route in the environment's namespace,
// on the environments' listener, which is more specific for its host than the platform's
// subdomains listener. A route of the environment that no listener admits fails that host only.
func TestGatewayEnvironmentServesThroughItsPlatform(t *testing.T) {
	installGatewayAPI(t)
	ctx := t.Context()
	platformPlan := runPlanAs(t, "platform", "platform-gateway", nil, routingGateway)
	envPlan := runPlan(t, "pr-17", platformPlan)
	w := newWorld(t, platformPlan, "gwplatform-")
	w.deployObjects(ctx, envPlan)
	env := w.seeded.replace(outputsOf(envPlan)).(map[string]any)
	require.Equal(t, "gateway", w.outputs["routing"], "the platform exports its routing")
	require.Equal(t, "gateway", env["routing"], "the environment routes as its platform publishes")
	w.addHosts(env)
	gw := "Gateway " + w.controllerNS + "/outside-in"

	rep, err := check.Environment(ctx, env, w.outputs, w.opts)
	require.NoError(t, err)
	out := text(t, rep)
	t.Logf("an environment on the Gateway API that serves:\n%s", out)
	require.Len(t, rep.Hosts, 2, "pr-17 has two apps")
	require.True(t, rep.Serves, out)
	for _, h := range rep.Hosts {
		ing, _ := h.Hop(check.HopIngress)
		evidence := strings.Join(ing.Evidence, "\n")
		assert.Contains(t, evidence, "listener websecure-environments (*.env.platform.example.com, port 8443), routes from namespaces outside-in/environment: Accepted True", out)
		assert.Contains(t, evidence, "HTTPRoute env-pr-17/"+h.App+": Accepted True, ResolvedRefs True by "+gw, out)
	}

	w.setRouteCondition(ctx, "env-pr-17", "api", condition("Accepted", metav1.ConditionFalse, "NotAllowedByListeners", ""))
	rep, err = check.Environment(ctx, env, w.outputs, w.opts)
	w.acceptRoute(ctx, "env-pr-17", "api")
	require.NoError(t, err)
	out = text(t, rep)
	require.False(t, rep.Serves, out)
	for _, h := range rep.Hosts {
		if h.App != "api" {
			assert.True(t, h.Serves, out)
			continue
		}
		require.Equal(t, check.HopIngress, h.FirstBroken, out)
		ing, _ := h.Hop(check.HopIngress)
		assert.Contains(t, ing.Cause, "HTTPRoute env-pr-17/api: not Accepted by "+gw+": NotAllowedByListeners; no listener of the Gateway admits a route from namespace env-pr-17 (listener websecure-environments admits routes from namespaces outside-in/environment)", out)
	}
}
