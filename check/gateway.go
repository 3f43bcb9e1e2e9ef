package check

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/outside-in/outside-in/ingress"
)

// gatewayHop is the ingress hop of a stack that routes through the Gateway API: the platform's
// Gateway accepted and programmed by the controller, its listener for the host, the host's
// HTTPRoute accepted by that Gateway with its references resolved, and then what is behind the
// route's Service, as behind an Ingress.
func (w *walk) gatewayHop(ctx context.Context, h host) Hop {
	if w.kubeErr != nil {
		return kubeFailure(HopIngress, w.kubeErr)
	}
	gwRef := w.gatewayRef()
	gw, err := w.readGateway(ctx)
	if err != nil {
		return w.gatewayReadFailure(gwRef, err)
	}
	ev := []string{fmt.Sprintf("Gateway %s: %s", gwRef, conditionList(gw.Status.Conditions, condAccepted, condProgrammed))}
	var addresses []string
	for _, a := range gw.Status.Addresses {
		addresses = append(addresses, a.Value)
	}
	if len(addresses) > 0 {
		ev[0] += ", addresses " + strings.Join(addresses, " ")
	} else {
		ev[0] += ", no address in its status"
	}
	for _, c := range []struct{ cond, means string }{
		{condAccepted, "the controller has not accepted the Gateway, so it serves none of its listeners"},
		{condProgrammed, "the controller has not programmed the Gateway's listeners into its entry points, so no request reaches a route"},
	} {
		if bad := notTrue(gw.Status.Conditions, c.cond, ""); bad != "" {
			return failed(HopIngress, ev, fmt.Sprintf("Gateway %s: %s; %s", gwRef, bad, c.means), w.gatewayFix(gw.Status.Conditions, c.cond))
		}
	}
	if want := w.t.loadBalancerDNS; want != "" && len(addresses) > 0 && !containsName(addresses, want) {
		return failed(HopIngress, append(ev, "the stack's load balancer is "+want),
			"the controller publishes another address than the stack's load balancer on the Gateway: it is another stack's controller, or its chart values are stale",
			"run `pulumi up --refresh`, which sets the controller's published hostname")
	}

	// The listener that takes the host: the most specific hostname that matches it, as a
	// Gateway matches requests.
	l, ok := listenerFor(gw.Spec.Listeners, h.host)
	if !ok {
		var names []string
		for _, l := range gw.Spec.Listeners {
			names = append(names, fmt.Sprintf("%s (%s)", l.Name, valueOr(l.Hostname, "any host")))
		}
		return failed(HopIngress, append(ev, "listeners: "+strings.Join(names, ", ")),
			fmt.Sprintf("no listener of Gateway %s takes host %s: the controller answers 404 for it", gwRef, h.host),
			"run `pulumi up --refresh`, which declares a listener for the stack's domain, its subdomains and, on a platform, the environments' domain")
	}
	line := fmt.Sprintf("listener %s (%s, port %d)", l.Name, valueOr(l.Hostname, "any host"), l.Port)
	if sel := allowedNamespaces(l); sel != "" {
		line += ", routes from namespaces " + sel
	}
	var ls *listenerStatus
	for i := range gw.Status.Listeners {
		if gw.Status.Listeners[i].Name == l.Name {
			ls = &gw.Status.Listeners[i]
		}
	}
	if ls == nil {
		return failed(HopIngress, append(ev, line+": no status"),
			fmt.Sprintf("the controller has written no status for listener %s of Gateway %s: it has not reconciled the listener", l.Name, gwRef),
			fmt.Sprintf("`kubectl -n %s logs deploy/traefik` shows what the controller says of the Gateway", w.t.controllerNS))
	}
	ev = append(ev, fmt.Sprintf("%s: %s; %d attached route(s)", line,
		conditionList(ls.Conditions, condAccepted, condProgrammed, condResolvedRefs), ls.AttachedRoutes))
	for _, cond := range []string{condAccepted, condProgrammed, condResolvedRefs} {
		if bad := notTrue(ls.Conditions, cond, ""); bad != "" {
			return failed(HopIngress, ev,
				fmt.Sprintf("listener %s of Gateway %s: %s; the listener serves no route, so the controller answers 404 for the host", l.Name, gwRef, bad),
				fmt.Sprintf("`kubectl -n %s describe gateway %s` shows the listener's status; `pulumi up --refresh` restores the listeners the stack declares", w.gatewayNamespace(), ingress.GatewayName))
		}
	}

	route, seen, err := w.routeFor(ctx, h.host)
	if err != nil {
		return kubeFailure(HopIngress, err)
	}
	if route == nil {
		where := "any namespace"
		if w.t.namespace != "" {
			where = "namespace " + w.t.namespace
		}
		return failed(HopIngress, append(ev, fmt.Sprintf("no HTTPRoute in %s names host %s (%d HTTPRoutes seen)", where, h.host, seen)),
			"no HTTPRoute for the host: the Gateway has no route to the app, and the controller answers 404",
			"run `pulumi up` (or `env up`) again, which declares the app's HTTPRoute; `kubectl get httproute -A` shows what exists")
	}
	ns, routeRef := route.Namespace, "HTTPRoute "+route.Namespace+"/"+route.Name
	attached := false
	var parents []string
	for _, p := range route.Spec.ParentRefs {
		parents = append(parents, p.String())
		attached = attached || p.names(ns, w.gatewayNamespace(), ingress.GatewayName)
	}
	if !attached {
		return failed(HopIngress, append(ev, fmt.Sprintf("%s: parents %s", routeRef, strings.Join(parents, ", "))),
			fmt.Sprintf("%s does not attach to Gateway %s: no listener serves it, and the controller answers 404 for the host", routeRef, gwRef),
			"run `pulumi up --refresh` (`env up` for an environment), which restores the route's parentRefs")
	}
	var status []metav1.Condition
	found := false
	for _, p := range route.Status.Parents {
		if p.ParentRef.names(ns, w.gatewayNamespace(), ingress.GatewayName) {
			status, found = p.Conditions, true
		}
	}
	if !found {
		return failed(HopIngress, append(ev, fmt.Sprintf("%s: no status from Gateway %s", routeRef, gwRef)),
			fmt.Sprintf("the controller has written no status of Gateway %s on %s: it has not seen the route (its kubernetesGateway provider is off, or the route is newer than its last reconcile)", gwRef, routeRef),
			fmt.Sprintf("`kubectl -n %s logs deploy/traefik` shows what the controller says of the route", w.t.controllerNS))
	}
	ev = append(ev, fmt.Sprintf("%s: %s by Gateway %s", routeRef, conditionList(status, condAccepted, condResolvedRefs), gwRef))
	if bad := notTrue(status, condAccepted, "by Gateway "+gwRef); bad != "" {
		means, fix := routeNotAccepted(meta.FindStatusCondition(status, condAccepted), route, l)
		return failed(HopIngress, ev, fmt.Sprintf("%s: %s; %s", routeRef, bad, means), fix)
	}
	if bad := notTrue(status, condResolvedRefs, "for Gateway "+gwRef); bad != "" {
		means, fix := routeUnresolved(meta.FindStatusCondition(status, condResolvedRefs), route)
		return failed(HopIngress, ev, fmt.Sprintf("%s: %s; %s", routeRef, bad, means), fix)
	}
	svcNS, svcName := routeBackend(route)
	if svcName == "" {
		return failed(HopIngress, append(ev, "its rule for / has no Service backend"), "the HTTPRoute routes the host to no Service",
			"run `pulumi up --refresh` to restore the app's HTTPRoute")
	}
	return w.backendHop(ctx, ev, svcNS, svcName, "HTTPRoute")
}

// gatewayReadFailure tells a missing Gateway from a cluster without the Gateway API, and both
// from a read that failed.
func (w *walk) gatewayReadFailure(gwRef string, err error) Hop {
	var status apierrors.APIStatus
	if !apierrors.IsNotFound(err) || !errors.As(err, &status) {
		return kubeFailure(HopIngress, fmt.Errorf("reading Gateway %s: %w", gwRef, err))
	}
	ev := []string{fmt.Sprintf("Gateway %s: %v", gwRef, err)}
	if d := status.Status().Details; d == nil || d.Name != ingress.GatewayName {
		// A NotFound that names no object: the API server does not serve the kind at all.
		return failed(HopIngress, ev,
			"the cluster does not serve the Gateway API (its CRDs are not installed): there is no Gateway and no route, and the controller answers 404",
			"run `pulumi up` on the stack whose routing is gateway, which installs the Gateway API CRDs; `kubectl get crd gateways.gateway.networking.k8s.io` shows whether they are there")
	}
	return failed(HopIngress, ev,
		fmt.Sprintf("the platform's Gateway %s is missing: no listener takes the host's requests, and the controller answers 404", gwRef),
		fmt.Sprintf("run `pulumi up` on the stack that owns the controller (the platform, for an environment), which declares the Gateway; `kubectl -n %s get gateways` shows what exists", w.gatewayNamespace()))
}

// gatewayFix is what to do about a Gateway condition that is not True: a Gateway no controller
// has reconciled (the condition missing, or Pending or Unknown) points at the controller.
func (w *walk) gatewayFix(conds []metav1.Condition, cond string) string {
	logs := fmt.Sprintf("`kubectl -n %s logs deploy/traefik` shows what the controller says of it", w.t.controllerNS)
	c := meta.FindStatusCondition(conds, cond)
	if c == nil || c.Reason == "Pending" || c.Status == metav1.ConditionUnknown {
		return fmt.Sprintf("the controller has not reconciled the Gateway: check that Traefik runs with its kubernetesGateway provider (`pulumi up --refresh` sets it) and that GatewayClass %s names controller %s; %s",
			ingress.GatewayClassName, ingress.GatewayControllerName, logs)
	}
	return fmt.Sprintf("`kubectl -n %s describe gateway %s` and `kubectl -n %s logs deploy/traefik` show what the controller says of it; `pulumi up --refresh` restores the Gateway the stack declares",
		w.gatewayNamespace(), ingress.GatewayName, w.t.controllerNS)
}

// routeNotAccepted says what a route's Accepted condition means, by its reason.
func routeNotAccepted(c *metav1.Condition, route *httpRoute, l listenerSpec) (means, fix string) {
	restore := "run `pulumi up --refresh` (`env up` for an environment), which restores the route as the stack declares it"
	switch reasonOf(c) {
	case "NotAllowedByListeners":
		sel := allowedNamespaces(l)
		if sel == "" {
			sel = "the listeners select"
		}
		return fmt.Sprintf("no listener of the Gateway admits a route from namespace %s (listener %s admits routes from namespaces %s), and the controller answers 404 for the host", route.Namespace, l.Name, sel),
			fmt.Sprintf("`kubectl get namespace %s --show-labels`: an environment's namespace carries the environment label, a platform app's does not; `pulumi up --refresh` (`env up` for an environment) restores the namespace's labels", route.Namespace)
	case "NoMatchingListenerHostname":
		return fmt.Sprintf("the route's hostnames (%s) match no listener's hostname, and the controller answers 404 for the host", strings.Join(route.Spec.Hostnames, ", ")), restore
	case "NoMatchingParent":
		return "the route's parentRef names a listener or port the Gateway does not have", restore
	}
	return "the controller does not serve the route, and answers 404 for the host", restore + "; `kubectl -n " + route.Namespace + " describe httproute " + route.Name + "` shows its status"
}

// routeUnresolved says what a route's ResolvedRefs condition means, by its reason.
func routeUnresolved(c *metav1.Condition, route *httpRoute) (means, fix string) {
	svcNS, svc := routeBackend(route)
	switch reasonOf(c) {
	case "BackendNotFound":
		return fmt.Sprintf("the Service the route sends to (%s/%s) does not exist: the controller answers 500 for the host", svcNS, svc),
			"run `pulumi up --refresh` (`env up` for an environment), which restores the app's Service and the route's backendRefs as the stack declares them; `kubectl -n " + svcNS + " get services` shows what exists"
	case "RefNotPermitted":
		return "the route sends to a Service in another namespace, which no ReferenceGrant there permits: the controller answers 500 for the host",
			"run `pulumi up --refresh` (`env up` for an environment): an app's route sends to the app's own Service, in its own namespace"
	case "InvalidKind":
		return "the route's backend is not a kind the controller sends to (a Service): the controller answers 500 for the host",
			"run `pulumi up --refresh` (`env up` for an environment), which restores the route's backendRefs"
	}
	return "the controller cannot resolve what the route refers to, and does not send to its backend",
		"`kubectl -n " + route.Namespace + " describe httproute " + route.Name + "` shows its status; `pulumi up --refresh` restores the route as the stack declares it"
}
