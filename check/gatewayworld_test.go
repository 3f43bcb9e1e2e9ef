package check_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/offline/kubeapi"
)

// The Gateway API in the test world: the standard-channel CRDs of the release the program
// installs, and the status Traefik's kubernetesGateway provider writes on the Gateway and on
// each HTTPRoute.

var (
	gateways   = schema.GroupVersionResource{Group: ingress.GatewayAPIGroup, Version: "v1", Resource: "gateways"}
	httpRoutes = schema.GroupVersionResource{Group: ingress.GatewayAPIGroup, Version: "v1", Resource: "httproutes"}
)

// installGatewayAPI applies the standard-channel CRDs of sigs.k8s.io/gateway-api at
// ingress.GatewayAPIVersion, from the Go module cache (its config/crd/standard holds what the
// release's standard-install.yaml concatenates), to the test binary's API server.
func installGatewayAPI(t *testing.T) {
	t.Helper()
	objs, err := kubeapi.GatewayAPIObjects(ingress.GatewayAPIVersion)
	require.NoError(t, err)
	srv := kubeapi.Start(t)
	for _, o := range objs {
		u := &unstructured.Unstructured{Object: o}
		require.NoError(t, srv.Apply(t.Context(), u), "Gateway API %s %s", u.GetKind(), u.GetName())
	}
}

// renameParents points a route's parentRefs at the Gateway in this world's controller
// namespace, as deployObjects moves the Gateway there.
func (w *world) renameParents(u *unstructured.Unstructured) {
	refs, _, _ := unstructured.NestedSlice(u.Object, "spec", "parentRefs")
	for _, r := range refs {
		if ref, ok := r.(map[string]any); ok && ref["namespace"] == "traefik" {
			ref["namespace"] = w.controllerNS
		}
	}
	if err := unstructured.SetNestedSlice(u.Object, refs, "spec", "parentRefs"); err != nil {
		w.t.Fatalf("HTTPRoute %s/%s parentRefs: %v", u.GetNamespace(), u.GetName(), err)
	}
}

func condition(typ string, status metav1.ConditionStatus, reason, message string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: message, LastTransitionTime: metav1.Now()}
}

// programGateway writes what Traefik writes on a Gateway it serves: Accepted and Programmed,
// the published address (the load balancer), and each listener accepted, programmed, its
// references resolved, with the routes attached to it.
func (w *world) programGateway(ctx context.Context, ns, name string) {
	gw := w.get(ctx, gateways, ns, name)
	listeners, _, _ := unstructured.NestedSlice(gw.Object, "spec", "listeners")
	var statuses []any
	for _, l := range listeners {
		statuses = append(statuses, map[string]any{
			"name":           l.(map[string]any)["name"],
			"supportedKinds": []any{map[string]any{"group": ingress.GatewayAPIGroup, "kind": "HTTPRoute"}},
			"attachedRoutes": int64(1),
			"conditions": conditions(w.t,
				condition("Accepted", metav1.ConditionTrue, "Accepted", "No error found"),
				condition("Programmed", metav1.ConditionTrue, "Programmed", "No error found"),
				condition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs", "No error found")),
		})
	}
	gw.Object["status"] = map[string]any{
		"addresses": []any{map[string]any{"type": "Hostname", "value": w.seeded.lbDNS}},
		"conditions": conditions(w.t,
			condition("Accepted", metav1.ConditionTrue, "Accepted", "Gateway successfully scheduled"),
			condition("Programmed", metav1.ConditionTrue, "Programmed", "Gateway successfully scheduled")),
		"listeners": statuses,
	}
	w.updateStatus(ctx, gateways, gw)
}

// setGatewayCondition sets one of the Gateway's own conditions.
func (w *world) setGatewayCondition(ctx context.Context, ns, name string, c metav1.Condition) {
	gw := w.get(ctx, gateways, ns, name)
	w.setConditions(gw, []string{"status", "conditions"}, c)
	w.updateStatus(ctx, gateways, gw)
}

// acceptRoute writes what Traefik writes on a route it serves: one status.parents entry for
// each of its parentRefs, Accepted and ResolvedRefs.
func (w *world) acceptRoute(ctx context.Context, ns, name string) {
	route := w.get(ctx, httpRoutes, ns, name)
	refs, _, _ := unstructured.NestedSlice(route.Object, "spec", "parentRefs")
	var parents []any
	for _, ref := range refs {
		parents = append(parents, map[string]any{
			"parentRef":      ref,
			"controllerName": ingress.GatewayControllerName,
			"conditions": conditions(w.t,
				condition("Accepted", metav1.ConditionTrue, "Accepted", "No error found"),
				condition("ResolvedRefs", metav1.ConditionTrue, "ResolvedRefs", "No error found")),
		})
	}
	route.Object["status"] = map[string]any{"parents": parents}
	w.updateStatus(ctx, httpRoutes, route)
}

// setRouteCondition sets one condition of the route's status from its (first) Gateway.
func (w *world) setRouteCondition(ctx context.Context, ns, name string, c metav1.Condition) {
	route := w.get(ctx, httpRoutes, ns, name)
	parents, _, _ := unstructured.NestedSlice(route.Object, "status", "parents")
	require.NotEmpty(w.t, parents, "HTTPRoute %s/%s has a status from its Gateway", ns, name)
	first := &unstructured.Unstructured{Object: parents[0].(map[string]any)}
	w.setConditions(first, []string{"conditions"}, c)
	parents[0] = first.Object
	require.NoError(w.t, unstructured.SetNestedSlice(route.Object, parents, "status", "parents"))
	w.updateStatus(ctx, httpRoutes, route)
}

// setConditions replaces, or adds, condition c in the list at path of u.
func (w *world) setConditions(u *unstructured.Unstructured, path []string, c metav1.Condition) {
	raw, _, _ := unstructured.NestedSlice(u.Object, path...)
	var conds []metav1.Condition
	for _, r := range raw {
		var cond metav1.Condition
		require.NoError(w.t, runtime.DefaultUnstructuredConverter.FromUnstructured(r.(map[string]any), &cond))
		conds = append(conds, cond)
	}
	meta.SetStatusCondition(&conds, c)
	require.NoError(w.t, unstructured.SetNestedSlice(u.Object, conditions(w.t, conds...), path...))
}

func conditions(t *testing.T, cs ...metav1.Condition) []any {
	var out []any
	for _, c := range cs {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&c)
		require.NoError(t, err)
		out = append(out, m)
	}
	return out
}

func (w *world) get(ctx context.Context, r schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	u, err := w.dyn.Resource(r).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatalf("%s %s/%s: %v", r.Resource, ns, name, err)
	}
	return u
}

func (w *world) updateStatus(ctx context.Context, r schema.GroupVersionResource, u *unstructured.Unstructured) {
	if _, err := w.dyn.Resource(r).Namespace(u.GetNamespace()).UpdateStatus(ctx, u, metav1.UpdateOptions{}); err != nil {
		w.t.Fatalf("%s %s/%s status: %v", r.Resource, u.GetNamespace(), u.GetName(), err)
	}
}

// restore applies the plan's object again, with the status its controller writes.
func (w *world) restore(ctx context.Context, kind, ns, name string) {
	obj, ok := w.objects[kind+" "+ns+"/"+name]
	require.True(w.t, ok, "the plan declares %s %s/%s", kind, ns, name)
	require.NoError(w.t, kubeapi.Start(w.t).Apply(ctx, obj.DeepCopy()))
	switch kind {
	case "Gateway":
		w.programGateway(ctx, ns, name)
	case "HTTPRoute":
		w.acceptRoute(ctx, ns, name)
	}
}
