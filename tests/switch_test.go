package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/theory/jsonpath"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/offline/kubeapi"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// A running stack switches its routing from Ingress to the Gateway API and back, on the control
// plane, in the order `pulumi up` takes the steps (README, "Routing"), with a request every
// 100 ms through the balancer in front of the stack's Traefik pods all along:
//
//   - to gateway, two updates: with gatewayApi true the CRDs and the GatewayClass; the
//     controller's rollout to values with the Gateway provider beside the Ingress provider (a
//     new Traefik registered once Ready, the old one deregistered, then stopped); the Gateway,
//     until Accepted and Programmed (its pulumi.com/waitFor); the HTTPRoutes beside the
//     Ingresses, until their waitFor holds. Then with routing gateway the Ingresses go.
//   - back to ingress, two updates: with routing ingress and gatewayApi true the controller's
//     values do not change (checked) and the Ingresses are created beside the HTTPRoutes and
//     awaited (the status the controller writes, what pulumi-kubernetes waits for); with
//     gatewayApi false the controller rolls out to its Ingress-only values, then the
//     HTTPRoutes and the Gateway go.
//
// Neither switch is one update: Traefik writes a route's status before its router serves (an
// Ingress's even while it skips the Ingress, its Service's endpoints not yet seen; an
// HTTPRoute's Accepted before the configuration reaches the router, which under load took
// seconds), so the status pulumi-kubernetes awaits does not prove the new route is served, and
// deleting the old kind in the same update lost requests here.

var gatewayGVR = schema.GroupVersionResource{Group: ingress.GatewayAPIGroup, Version: "v1", Resource: "gateways"}
var routeGVR = schema.GroupVersionResource{Group: ingress.GatewayAPIGroup, Version: "v1", Resource: "httproutes"}

// routedPlan is a stack planned with routing keys set, with its controller's values: its own,
// or for an environment its platform's, planned with the same keys (an environment routes as
// its platform publishes). gatewayObjs are the platform's GatewayClass and Gateway.
type routedPlan struct {
	res         *plan.Result
	values      map[string]any
	objs        []map[string]any
	gatewayObjs []map[string]any
}

func planRouted(t *testing.T, s plan.Stack, set map[string]string) routedPlan {
	t.Helper()
	var out routedPlan
	controllerRes := (*plan.Result)(nil)
	if ref := s.Config[program.Namespace+":"+program.KeyPlatformStack]; ref != "" {
		platform, err := plan.Run(with(stack(t, ref[strings.LastIndex(ref, "/")+1:]), set), plan.Options{})
		require.NoError(t, err)
		out.res, err = plan.Run(s, plan.Options{Platform: platform})
		require.NoError(t, err)
		controllerRes = platform
	} else {
		var err error
		out.res, err = plan.Run(with(s, set), plan.Options{})
		require.NoError(t, err)
		controllerRes = out.res
	}
	out.values = controllerValuesOf(t, controllerRes)
	require.NotNil(t, out.values, "%s: no controller values", s.Name)
	var err error
	out.objs, err = out.res.KubernetesObjects()
	require.NoError(t, err)
	all, err := controllerRes.KubernetesObjects()
	require.NoError(t, err)
	for _, o := range all {
		if o["kind"] == "GatewayClass" || o["kind"] == "Gateway" {
			out.gatewayObjs = append(out.gatewayObjs, o)
		}
	}
	return out
}

// switcher runs one stack's switches on a control plane shared with other stacks.
type switcher struct {
	t          *testing.T
	cp         *kubeapi.ControlPlane
	network    *podNetwork
	dyn        dynamic.Interface
	s          plan.Stack
	prefix     string
	name       string
	namespaces []string // the stack's, and for an environment the platform Gateway's
	lb         *balancer
	tr         *traefik
	ingresses  []map[string]any // the stack's Ingresses, isolated
}

func (sw *switcher) kinds(objs []map[string]any, kinds ...string) []map[string]any {
	var out []map[string]any
	for _, o := range objs {
		for _, k := range kinds {
			if o["kind"] == k {
				out = append(out, isolate(sw.t, o, sw.prefix))
			}
		}
	}
	return out
}

func (sw *switcher) apply(objs []map[string]any) {
	sw.t.Helper()
	for _, o := range objs {
		require.NoError(sw.t, sw.cp.Apply(sw.t.Context(), &unstructured.Unstructured{Object: o}), "%s %s/%s", o["kind"], ns(o), nameOf(o))
	}
}

// rollout replaces the stack's Traefik by one with the values, as the Deployment's rolling
// update does (maxSurge 1, maxUnavailable 0): the new pod is registered once Ready (it answers
// /ping, after the chart's readiness probe's initial delay), the old one deregistered, and
// stopped once the balancer no longer sends to it. The delay stands for "its providers have
// built its routes", which takes Traefik well under a second on a node with a core to spare;
// on 2 cores shared by every test here it has taken longer than the delay, so the new pod is
// registered no sooner than it sends the routes' Services to their ready endpoints, and the
// log says by how much the delay fell short.
func (sw *switcher) rollout(values map[string]any, step string, routes []route) {
	sw.t.Helper()
	began := time.Now()
	next := startTraefikWith(sw.t, sw.cp, values, traefikOptions{name: sw.name + "-" + step, namespace: sw.namespaces[0], namespaces: sw.namespaces, podNetwork: sw.network.URL})
	delay := readinessDelay(values)
	time.Sleep(time.Until(began.Add(delay)))
	waitCaughtUp(sw.t, next, sw.cp.Clientset(), sw.namespaces, routes)
	if took := time.Since(began); took > delay+500*time.Millisecond {
		sw.t.Logf("benchmark: %s: the new Traefik (%s) built its routes %s after it started, past its readiness delay of %s", sw.s.Name, step, took.Round(100*time.Millisecond), delay)
	}
	sw.lb.register(next)
	sw.lb.deregister(sw.tr)
	time.Sleep(time.Second) // requests already sent to the old pod finish
	sw.tr.stop()
	sw.tr = next
}

// readinessDelay is the controller pod's readiness probe's initialDelaySeconds, from the
// values or else the Traefik chart's default (41.3.0 values.yaml, 2): a new pod is Ready no
// sooner.
func readinessDelay(values map[string]any) time.Duration {
	if d, ok := get(values, "readinessProbe", "initialDelaySeconds").(float64); ok {
		return time.Duration(d) * time.Second
	}
	return 2 * time.Second
}

// toGateway is the two-update switch to routing gateway; it returns the routes now served.
func (sw *switcher) toGateway(routes []route) []route {
	t := sw.t
	gw := planRouted(t, sw.s, map[string]string{program.KeyRouting: string(ingress.RoutingGateway)})
	both := planRouted(t, sw.s, map[string]string{program.KeyRouting: string(ingress.RoutingIngress), program.KeyGatewayAPI: "true"})
	assert.Equal(t, gw.values, both.values, "%s: the second step leaves the controller's values as they are", sw.s.Name)
	probe := startProber(sw.lb, routes)
	// First update, gatewayApi true: the CRDs and the GatewayClass; the controller's rollout;
	// the Gateway, awaited; the HTTPRoutes beside the Ingresses, awaited.
	installGatewayAPI(t, sw.cp.Server)
	sw.apply(sw.kinds(both.gatewayObjs, "GatewayClass"))
	sw.rollout(both.values, "gateway", routes)
	for _, g := range sw.kinds(both.gatewayObjs, "Gateway") {
		sw.apply([]map[string]any{g})
		sw.waitFor(gatewayGVR, g)
	}
	gwRoutes := sw.kinds(both.objs, "HTTPRoute")
	require.Len(t, gwRoutes, len(sw.ingresses), "%s: the first step gives every app its HTTPRoute beside its Ingress", sw.s.Name)
	assert.Equal(t, sw.kinds(gw.objs, "HTTPRoute"), gwRoutes, "%s: the same HTTPRoutes as routing gateway's", sw.s.Name)
	for _, r := range gwRoutes {
		sw.apply([]map[string]any{r})
	}
	for _, r := range gwRoutes {
		sw.waitFor(routeGVR, r)
	}
	// Traefik serves both, as it has long by the second update.
	sw.routersSettle(map[string]int{"kubernetes": len(sw.ingresses), "kubernetesgateway": len(gwRoutes)}, "after the first step")
	// Second update, routing gateway: the Ingresses go.
	require.Empty(t, sw.kinds(gw.objs, "Ingress"), "%s: routing gateway declares no Ingress", sw.s.Name)
	for _, i := range sw.ingresses {
		require.NoError(t, sw.cp.Clientset().NetworkingV1().Ingresses(ns(i)).Delete(t.Context(), nameOf(i), metav1.DeleteOptions{}))
	}
	time.Sleep(2 * time.Second) // requests after Traefik let go of the Ingresses count
	sw.finish(probe, "the switch to routing gateway")
	// What serves now is the HTTPRoutes, through the Gateway provider.
	sw.routersSettle(map[string]int{"kubernetes": 0, "kubernetesgateway": len(gwRoutes)}, "after the switch to routing gateway")
	return servedRoutes(t, append(sw.kinds(gw.objs, "Deployment"), gwRoutes...))
}

// toIngress is the two-update switch back to routing ingress.
func (sw *switcher) toIngress(routes []route) {
	t := sw.t
	both := planRouted(t, sw.s, map[string]string{program.KeyRouting: string(ingress.RoutingIngress), program.KeyGatewayAPI: "true"})
	back := planRouted(t, sw.s, map[string]string{program.KeyRouting: string(ingress.RoutingIngress), program.KeyGatewayAPI: "false"})
	gw := planRouted(t, sw.s, map[string]string{program.KeyRouting: string(ingress.RoutingGateway)})
	assert.Equal(t, gw.values, both.values, "%s: the first step back leaves the controller's values as they are", sw.s.Name)
	probe := startProber(sw.lb, routes)
	// First update: the Ingresses, awaited; the HTTPRoutes stay.
	ingresses := sw.kinds(both.objs, "Ingress")
	require.NotEmpty(t, ingresses)
	assert.Len(t, sw.kinds(both.objs, "HTTPRoute"), len(ingresses), "%s: the first step back keeps every HTTPRoute", sw.s.Name)
	sw.apply(ingresses)
	for _, i := range ingresses {
		sw.waitIngressPublished(i)
	}
	// Traefik serves both, as it has long by the second update.
	sw.routersSettle(map[string]int{"kubernetes": len(ingresses), "kubernetesgateway": len(ingresses)}, "after the first step back")
	// Second update: the controller without the Gateway provider; then the HTTPRoutes and the
	// Gateway go (the GatewayClass is the cluster's, shared by the other stacks here).
	sw.rollout(back.values, "ingress", routes)
	for _, r := range sw.kinds(gw.objs, "HTTPRoute") {
		require.NoError(t, sw.dyn.Resource(routeGVR).Namespace(ns(r)).Delete(t.Context(), nameOf(r), metav1.DeleteOptions{}))
	}
	for _, g := range sw.kinds(gw.gatewayObjs, "Gateway") {
		require.NoError(t, sw.dyn.Resource(gatewayGVR).Namespace(ns(g)).Delete(t.Context(), nameOf(g), metav1.DeleteOptions{}))
	}
	time.Sleep(2 * time.Second)
	sw.finish(probe, "the switch back to routing ingress")
	sw.ingresses = ingresses
	sw.routersSettle(map[string]int{"kubernetes": len(ingresses), "kubernetesgateway": 0}, "after the switch back to routing ingress")
}

// routersSettle waits until Traefik's routers are as many as want says, by provider (the
// kubernetes provider's from Ingresses, kubernetesgateway's from HTTPRoutes): Traefik applies a
// provider's configuration at most every two seconds (providersThrottleDuration).
func (sw *switcher) routersSettle(want map[string]int, when string) {
	t := sw.t
	got := map[string]int{}
	if !assert.Eventually(t, func() bool {
		for p := range want {
			got[p] = len(sw.tr.routersOf(t, p))
		}
		return maps.Equal(got, want)
	}, 15*time.Second, 200*time.Millisecond) {
		t.Errorf("%s: Traefik's routers %s: %v by provider, want %v", sw.s.Name, when, got, want)
	}
}

func (sw *switcher) finish(p *prober, during string) {
	t := sw.t
	sent, failed := p.finish(t, sw.s.Name, sw.lb.entry, during)
	t.Logf("%s: %d requests through Traefik, one every 100 ms, %d failed", during, sent, failed)
	assert.Zero(t, failed, "%s: requests failed during %s", sw.s.Name, during)
}

// waitFor waits until the object's pulumi.com/waitFor annotation holds, read as
// pulumi-kubernetes reads it: a JSON list of "condition=<type>" (the status condition is True)
// and "jsonpath={...}=<value>" (kubectl's JSONPath).
func (sw *switcher) waitFor(gvr schema.GroupVersionResource, o map[string]any) {
	t := sw.t
	raw, _ := get(o, "metadata", "annotations", "pulumi.com/waitFor").(string)
	require.NotEmpty(t, raw, "%s %s/%s has no pulumi.com/waitFor", o["kind"], ns(o), nameOf(o))
	var exprs []string
	require.NoError(t, json.Unmarshal([]byte(raw), &exprs), "pulumi.com/waitFor of %s %s/%s", o["kind"], ns(o), nameOf(o))
	var last *unstructured.Unstructured
	var unmet string
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, settle, true, func(ctx context.Context) (bool, error) {
		got, err := sw.dyn.Resource(gvr).Namespace(ns(o)).Get(ctx, nameOf(o), metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = got
		for _, e := range exprs {
			ok, err := satisfied(got.Object, e)
			if err != nil {
				return false, err
			}
			if !ok {
				unmet = e
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		status := "never read"
		if last != nil {
			b, _ := json.Marshal(last.Object["status"])
			status = string(b)
		}
		t.Fatalf("%s %s/%s: %s never held: %v\nstatus: %s\n%s", o["kind"], ns(o), nameOf(o), unmet, err, status, traefikLogTail(sw.tr))
	}
}

// satisfied evaluates one waitFor expression against an object.
func satisfied(obj map[string]any, expr string) (bool, error) {
	if c, ok := strings.CutPrefix(expr, "condition="); ok {
		conditions, _ := get(obj, "status", "conditions").([]any)
		for _, x := range conditions {
			if m, _ := x.(map[string]any); m["type"] == c {
				return m["status"] == "True", nil
			}
		}
		return false, nil
	}
	p, ok := strings.CutPrefix(expr, "jsonpath=")
	if !ok {
		return false, fmt.Errorf("waitFor %q: neither condition= nor jsonpath=", expr)
	}
	// As pulumi-kubernetes reads it (provider/v4 pkg/jsonpath, with the RFC 9535 library it
	// uses): split on "=" keeping "==", the path inside braces, its first match compared as
	// text.
	parts := strings.Split(strings.ReplaceAll(p, "==", "\x00"), "=")
	if len(parts) != 2 {
		return false, fmt.Errorf("waitFor %q: want {path}=value", expr)
	}
	path, want := strings.ReplaceAll(parts[0], "\x00", "=="), strings.ReplaceAll(parts[1], "\x00", "==")
	inner, ok := strings.CutPrefix(path, "{")
	if inner, ok = strings.CutSuffix(inner, "}"); !ok {
		return false, fmt.Errorf("waitFor %q: the path must be wrapped in braces", expr)
	}
	if !strings.HasPrefix(inner, "$") {
		inner = "$" + inner
	}
	parsed, err := jsonpath.NewParser().Parse(inner)
	if err != nil {
		return false, fmt.Errorf("waitFor %q: %w", expr, err)
	}
	found := slices.Collect(parsed.Select(obj).All())
	return len(found) > 0 && fmt.Sprint(found[0]) == want, nil
}

// waitIngressPublished waits until the controller wrote the Ingress's status, which
// pulumi-kubernetes' Ingress await waits for.
func (sw *switcher) waitIngressPublished(o map[string]any) {
	t := sw.t
	require.NoError(t, wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, settle, true, func(ctx context.Context) (bool, error) {
		got, err := sw.cp.Clientset().NetworkingV1().Ingresses(ns(o)).Get(ctx, nameOf(o), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil && len(got.Status.LoadBalancer.Ingress) > 0, err
	}), "Ingress %s/%s: the controller never published it\n%s", ns(o), nameOf(o), traefikLogTail(sw.tr))
}
