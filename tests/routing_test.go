package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	appspkg "github.com/outside-in/outside-in/apps"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/offline/plan"
)

// What each routing declares, planned for the dev stack and a platform: with routing ingress (the
// default) nothing of the Gateway API, in the objects or the controller's values; with routing
// gateway the release's CRDs (kept on delete), Traefik's Gateway provider, the GatewayClass, the
// Gateway after the controller, and an HTTPRoute per app instead of its Ingress, awaited until
// accepted; with routing ingress and gatewayApi true (the state in between of a switch) the
// Ingresses and HTTPRoutes both, the controller's values those of routing gateway.
func TestRoutingDeclares(t *testing.T) {
	kinds := func(res *plan.Result) map[string]int {
		out := map[string]int{}
		objs, err := res.KubernetesObjects()
		require.NoError(t, err)
		for _, o := range objs {
			out[o["kind"].(string)]++
		}
		out["ConfigFile"] = len(res.OfType("kubernetes:yaml/v2:ConfigFile"))
		return out
	}
	for _, name := range []string{"dev", "platform"} {
		t.Run(name, func(t *testing.T) {
			base := stack(t, name)
			appCount := len(run(t, base).OfType("outside-in:apps:App"))
			require.Positive(t, appCount)

			ing := run(t, base)
			k := kinds(ing)
			assert.Equal(t, appCount, k["Ingress"])
			for _, kind := range []string{"ConfigFile", "GatewayClass", "Gateway", "HTTPRoute"} {
				assert.Zero(t, k[kind], "routing ingress declares no %s", kind)
			}
			values := controllerValuesOf(t, ing)
			assert.Nil(t, get(values, "providers", "kubernetesGateway"), "an Ingress stack's controller values hold nothing of the Gateway API")
			assert.Nil(t, values["gateway"])
			assert.Equal(t, "ingress", ing.Exports["routing"].Value)

			gw := run(t, with(base, map[string]string{"routing": "gateway"}))
			k = kinds(gw)
			assert.Zero(t, k["Ingress"], "routing gateway declares no Ingress")
			assert.Equal(t, appCount, k["HTTPRoute"])
			assert.Equal(t, 1, k["ConfigFile"])
			assert.Equal(t, 1, k["GatewayClass"])
			assert.Equal(t, 1, k["Gateway"])
			assert.Equal(t, "gateway", gw.Exports["routing"].Value)
			crds := gw.OfType("kubernetes:yaml/v2:ConfigFile")[0]
			assert.Equal(t, "https://github.com/kubernetes-sigs/gateway-api/releases/download/"+ingress.GatewayAPIVersion+"/standard-install.yaml", crds.In("file"))
			assert.True(t, crds.RetainOnDelete, "deleting the CRDs would delete every route in the cluster")
			gwValues := controllerValuesOf(t, gw)
			assert.Equal(t, true, get(gwValues, "providers", "kubernetesGateway", "enabled"))
			assert.Equal(t, true, get(gwValues, "providers", "kubernetesIngress", "enabled"), "Ingresses keep being served while the routes come")
			assert.Equal(t, false, get(gwValues, "gateway", "enabled"), "the program's Gateway, not the chart's")
			assert.Equal(t, false, get(gwValues, "gatewayClass", "enabled"))
			release := gw.Named("kubernetes:helm.sh/v3:Release", "ingress-controller")
			require.NotNil(t, release)
			gateway := gw.OfType("kubernetes:gateway.networking.k8s.io/v1:Gateway")[0]
			assert.Contains(t, gateway.Dependencies, release.URN, "the Gateway waits for the controller that programs it")
			assert.Equal(t, ingress.GatewayWaitFor, get(gateway.PlainInputs(), "metadata", "annotations", "pulumi.com/waitFor"))
			for _, r := range gw.OfType("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute") {
				in := r.PlainInputs()
				assert.Equal(t, ingress.RouteWaitFor, get(in, "metadata", "annotations", "pulumi.com/waitFor"), r.Name)
				assert.Contains(t, r.Dependencies, gateway.URN, "%s waits for the Gateway", r.Name)
				app := nameOf(in)
				assert.Equal(t, app, get(in, "spec", "rules", 0, "backendRefs", 0, "name"))
				assert.EqualValues(t, appspkg.ServicePort, get(in, "spec", "rules", 0, "backendRefs", 0, "port"))
			}

			back := run(t, with(base, map[string]string{"routing": "ingress", "gatewayApi": "true"}))
			k = kinds(back)
			assert.Equal(t, appCount, k["Ingress"])
			assert.Equal(t, appCount, k["HTTPRoute"], "in between, every app has its HTTPRoute too")
			assert.Equal(t, 1, k["Gateway"], "in between, the Gateway stays")
			assert.Equal(t, gwValues, controllerValuesOf(t, back), "in between, the controller runs as on routing gateway")
		})
	}
}
