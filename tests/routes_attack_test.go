package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	appspkg "github.com/outside-in/outside-in/apps"
	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
)

// foreignHost is a host an environment must be refused, and what it is.
type foreignHost struct{ host, what string }

// foreignHosts are the hosts environment pr-42 may not publish, by Ingress or by HTTPRoute: the
// platform's and another environment's, each also with an extra label on either side, and its
// own host (host, web-pr-42.<envDomain>) with an extra label on either side. A host check
// loosened at either end lets one of them through.
func foreignHosts(host, envDomain string) []foreignHost {
	var out []foreignHost
	for _, h := range []foreignHost{
		{"www.platform.example.com", "the platform's host"},
		{"web-pr-43." + envDomain, "another environment's host"},
	} {
		out = append(out, h)
		for _, v := range extraLabels(h.host) {
			out = append(out, foreignHost{v.host, h.what + ", " + v.what})
		}
	}
	for _, v := range extraLabels(host) {
		out = append(out, foreignHost{v.host, "its own host, " + v.what})
	}
	return out
}

// extraLabels are host with a label x before it, and after its first label.
func extraLabels(host string) []foreignHost {
	first, rest, _ := strings.Cut(host, ".")
	return []foreignHost{
		{"x." + host, "a label before it"},
		{first + ".x." + rest, "a label after its first"},
	}
}

// routeAttacks are the rows of environmentAttacks on the Gateway API, for environment namespace ns
// whose app's host is host: the HTTPRoute the program makes for an app is allowed; a route for
// any host not its own, attached elsewhere than the platform's Gateway, sending to anything but
// its own Services, naming a Traefik middleware or too big is refused by the routes policy; every
// other kind of the Gateway API is refused by RBAC. The API server must serve the Gateway API
// (applyGuardrails installs it).
func routeAttacks(ns, host, envDomain string) []attack {
	own := "every hostname must be <app>-pr-42." + envDomain
	routeWith := func(name string, hostnames []string, mutate ...func(spec map[string]any)) func(context.Context, kubernetes.Interface) error {
		return func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "httproutes", ns, httpRoute(name, hostnames, mutate...), create)
		}
	}
	rows := []attack{
		{"its app's HTTPRoute at " + host + ", as the program makes it", true, "", routeWith("web", []string{host})},
	}
	for _, h := range foreignHosts(host, envDomain) {
		rows = append(rows, attack{"an HTTPRoute for " + h.host + " (" + h.what + ")", false, own + " (one label under " + envDomain + ", of this environment), not " + h.host,
			routeWith("grab", []string{h.host})})
	}
	return append(rows, []attack{
		{"an HTTPRoute for every host under envDomain (*." + envDomain + ")", false, own, routeWith("grab", []string{"*." + envDomain})},
		{"an HTTPRoute for its own host and another environment's", false, "not web-pr-43." + envDomain, routeWith("grab", []string{host, "web-pr-43." + envDomain})},
		{"an HTTPRoute without hostnames (every host of the listener)", false, "hostnames must list its hosts <app>-pr-42." + envDomain, routeWith("grab", nil)},
		{"an HTTPRoute for another environment's host, through the API's v1beta1", false, own, func(ctx context.Context, c kubernetes.Interface) error {
			r := httpRoute("grab", []string{"web-pr-43." + envDomain})
			r["apiVersion"] = guardrails.GatewayAPIGroup + "/v1beta1"
			return createGatewayAPI(ctx, c, "v1beta1", "httproutes", ns, r, create)
		}},
		{"move its HTTPRoute to another environment's host", false, own, func(ctx context.Context, c kubernetes.Interface) error {
			return patchGatewayAPI(ctx, c, "httproutes", ns, "web", fmt.Sprintf(`{"spec":{"hostnames":["web-pr-43.%s"]}}`, envDomain))
		}},
		{"an HTTPRoute for the platform's host in www", false, "may change objects only in env-* namespaces, not in www", func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "httproutes", "www", httpRoute("grab", []string{"www.platform.example.com"}), create)
		}},
		// Its parent: the platform's Gateway, nothing else.
		{"an HTTPRoute attached to another Gateway of the controller's namespace", false,
			"parentRefs may name only the platform's Gateway traefik/outside-in, not Gateway.gateway.networking.k8s.io traefik/grab",
			routeWith("grab", []string{host}, parent(map[string]any{"namespace": ingress.GatewayNamespace, "name": "grab"}))},
		{"an HTTPRoute attached to a Gateway of its own namespace", false, "not Gateway.gateway.networking.k8s.io env-pr-42/outside-in",
			routeWith("grab", []string{host}, parent(map[string]any{"name": ingress.GatewayName}))},
		{"an HTTPRoute attached to a Gateway of that name in another namespace", false, "not Gateway.gateway.networking.k8s.io env-pr-43/outside-in",
			routeWith("grab", []string{host}, parent(map[string]any{"namespace": "env-pr-43", "name": ingress.GatewayName}))},
		{"an HTTPRoute attached to a Service (a mesh's parent)", false, "not Service kube-system/kube-dns",
			routeWith("grab", []string{host}, parent(map[string]any{"group": "", "kind": "Service", "namespace": "kube-system", "name": "kube-dns"}))},
		{"an HTTPRoute attached to the platform's Gateway by its listener's name", true, "",
			routeWith("listener", []string{"listener-pr-42." + envDomain}, parent(map[string]any{
				"group": guardrails.GatewayAPIGroup, "kind": "Gateway", "namespace": ingress.GatewayNamespace, "name": ingress.GatewayName,
				"sectionName": "websecure-environments",
			}))},
		// Its backends: Services of its own namespace.
		{"an HTTPRoute to a Service of the platform's namespace www", false, "backendRefs may name only Services of its own namespace env-pr-42, not Service www/web",
			routeWith("grab", []string{host}, backend(map[string]any{"namespace": "www", "name": "web", "port": 80}))},
		{"an HTTPRoute to Traefik's own API and dashboard (TraefikService api@internal)", false, "not TraefikService.traefik.io env-pr-42/api@internal",
			routeWith("grab", []string{host}, backend(map[string]any{"group": "traefik.io", "kind": "TraefikService", "name": "api@internal"}))},
		{"an HTTPRoute mirroring its requests to a Service of www", false, "a RequestMirror filter may mirror only to a Service of its own namespace env-pr-42",
			routeWith("grab", []string{host}, filter(map[string]any{"type": "RequestMirror", "requestMirror": map[string]any{
				"backendRef": map[string]any{"namespace": "www", "name": "web", "port": 80},
			}}))},
		{"an HTTPRoute mirroring its requests to a Service of its own", true, "",
			routeWith("mirror", []string{"mirror-pr-42." + envDomain}, filter(map[string]any{"type": "RequestMirror", "requestMirror": map[string]any{
				"backendRef": map[string]any{"name": "web", "port": 80},
			}}))},
		{"an HTTPRoute naming a Traefik middleware (an ExtensionRef filter)", false, "may not use filters of type ExtensionRef",
			routeWith("grab", []string{host}, filter(map[string]any{"type": "ExtensionRef", "extensionRef": map[string]any{
				"group": "traefik.io", "kind": "Middleware", "name": "platform-auth",
			}}))},
		// Its size.
		{fmt.Sprintf("an HTTPRoute of %d hostnames", guardrails.EnvironmentRouteHostnames+1), false,
			fmt.Sprintf("at most %d hostnames and %d rules of at most %d matches each", guardrails.EnvironmentRouteHostnames, guardrails.EnvironmentRouteRules, guardrails.EnvironmentRouteMatches) +
				" (the controller builds a router for every match, and what it holds for one environment is bounded), not 5 hostnames and 1 rules of 1 matches",
			routeWith("big", ownHosts(guardrails.EnvironmentRouteHostnames+1, envDomain))},
		{fmt.Sprintf("an HTTPRoute of %d rules", guardrails.EnvironmentRouteRules+1), false, "not 1 hostnames and 5 rules",
			routeWith("big", []string{host}, sized(guardrails.EnvironmentRouteRules+1, 1))},
		{fmt.Sprintf("an HTTPRoute rule of %d matches", guardrails.EnvironmentRouteMatches+1), false, "rules of 5 matches",
			routeWith("big", []string{host}, sized(1, guardrails.EnvironmentRouteMatches+1))},
		{fmt.Sprintf("an HTTPRoute of %d hostnames and %d rules of %d matches", guardrails.EnvironmentRouteHostnames, guardrails.EnvironmentRouteRules, guardrails.EnvironmentRouteMatches), true, "",
			routeWith("big", ownHosts(guardrails.EnvironmentRouteHostnames, envDomain), sized(guardrails.EnvironmentRouteRules, guardrails.EnvironmentRouteMatches))},
		{"delete its HTTPRoutes", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			for _, name := range []string{"big", "mirror", "listener"} {
				if err := c.Discovery().RESTClient().Delete().AbsPath(gatewayAPIPath("v1", "httproutes", ns), name).Do(ctx).Error(); err != nil {
					return err
				}
			}
			return nil
		}},
		{"get, list and watch its HTTPRoutes (the route's await)", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			r := c.Discovery().RESTClient()
			if err := r.Get().AbsPath(gatewayAPIPath("v1", "httproutes", ns), "web").Do(ctx).Error(); err != nil {
				return err
			}
			if err := r.Get().AbsPath(gatewayAPIPath("v1", "httproutes", ns)).Do(ctx).Error(); err != nil {
				return err
			}
			w, err := r.Get().AbsPath(gatewayAPIPath("v1", "httproutes", ns)).Param("watch", "true").Param("fieldSelector", "metadata.name=web").Stream(ctx)
			if err == nil {
				err = w.Close()
			}
			return err
		}},
		// Every other kind of the Gateway API: RBAC grants none.
		{"create a Gateway in its namespace", false, `cannot create resource "gateways" in API group "gateway.networking.k8s.io"`, func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "gateways", ns, gatewayAPIObject("Gateway", "grab", map[string]any{
				"gatewayClassName": ingress.GatewayClassName,
				"listeners": []any{map[string]any{"name": "grab", "port": 8000, "protocol": "HTTP", "hostname": "*.platform.example.com",
					"allowedRoutes": map[string]any{"namespaces": map[string]any{"from": "All"}}}},
			}), create)
		}},
		{"create a GatewayClass", false, `cannot create resource "gatewayclasses" in API group "gateway.networking.k8s.io" at the cluster scope`, func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "gatewayclasses", "", gatewayAPIObject("GatewayClass", "grab", map[string]any{"controllerName": ingress.GatewayControllerName}), create)
		}},
		{"create a ReferenceGrant in its namespace", false, `cannot create resource "referencegrants"`, func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "referencegrants", ns, referenceGrant(ns), create)
		}},
		{"create a ReferenceGrant in www, opening its Services to env-pr-42", false, `cannot create resource "referencegrants"`, func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "referencegrants", "www", referenceGrant(ns), create)
		}},
		{"create a BackendTLSPolicy in its namespace", false, `cannot create resource "backendtlspolicies"`, func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "backendtlspolicies", ns, gatewayAPIObject("BackendTLSPolicy", "grab", map[string]any{
				"targetRefs": []any{map[string]any{"group": "", "kind": "Service", "name": "web"}},
				"validation": map[string]any{"hostname": "web", "wellKnownCACertificates": "System"},
			}), create)
		}},
		{"create a ListenerSet adding a listener to the platform's Gateway", false, `cannot create resource "listenersets"`, func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "listenersets", ns, gatewayAPIObject("ListenerSet", "grab", map[string]any{
				"parentRef": map[string]any{"namespace": ingress.GatewayNamespace, "name": ingress.GatewayName},
				"listeners": []any{map[string]any{"name": "grab", "port": 8000, "protocol": "HTTP", "hostname": "www.platform.example.com"}},
			}), create)
		}},
		{"create a GRPCRoute in its namespace", false, `cannot create resource "grpcroutes"`, func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "grpcroutes", ns, gatewayAPIObject("GRPCRoute", "grab", map[string]any{"hostnames": []any{host}}), create)
		}},
		{"create a TLSRoute in its namespace", false, `cannot create resource "tlsroutes"`, func(ctx context.Context, c kubernetes.Interface) error {
			return createGatewayAPI(ctx, c, "v1", "tlsroutes", ns, gatewayAPIObject("TLSRoute", "grab", map[string]any{
				"parentRefs": appspkg.HTTPRouteSpec("web", nil)["parentRefs"], "hostnames": []any{host},
				"rules": []any{map[string]any{"backendRefs": []any{map[string]any{"name": "web", "port": 443}}}},
			}), create)
		}},
		{"change the platform's Gateway", false, `cannot patch resource "gateways"`, func(ctx context.Context, c kubernetes.Interface) error {
			return patchGatewayAPI(ctx, c, "gateways", ingress.GatewayNamespace, ingress.GatewayName, `{"spec":{"listeners":[]}}`)
		}},
		{"read the platform's Gateway (env check reads its conditions; RBAC lets the request through, the Gateway may not be there)", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			err := c.Discovery().RESTClient().Get().AbsPath(gatewayAPIPath("v1", "gateways", ingress.GatewayNamespace), ingress.GatewayName).Do(ctx).Error()
			if apierrors.IsNotFound(err) {
				return nil
			}
			return err
		}},
		{"read another Gateway", false, `cannot get resource "gateways"`, func(ctx context.Context, c kubernetes.Interface) error {
			return c.Discovery().RESTClient().Get().AbsPath(gatewayAPIPath("v1", "gateways", ingress.GatewayNamespace), "grab").Do(ctx).Error()
		}},
		{"list the Gateways", false, `cannot list resource "gateways"`, func(ctx context.Context, c kubernetes.Interface) error {
			return c.Discovery().RESTClient().Get().AbsPath(gatewayAPIPath("v1", "gateways", "")).Do(ctx).Error()
		}},
	}...)
}

// httpRoute is an HTTPRoute of an app named name of environment pr-42, as the program makes it
// (apps.HTTPRouteSpec: the platform's Gateway as parent, every path to the Service web port 80)
// but for its hostnames (none when nil), and changed by mutate.
func httpRoute(name string, hostnames []string, mutate ...func(spec map[string]any)) map[string]any {
	spec := appspkg.HTTPRouteSpec("web", nil)
	delete(spec, "hostnames")
	if hostnames != nil {
		var hs []any
		for _, h := range hostnames {
			hs = append(hs, h)
		}
		spec["hostnames"] = hs
	}
	for _, m := range mutate {
		m(spec)
	}
	return gatewayAPIObject("HTTPRoute", name, spec)
}

// parent replaces a route's parentRefs with ref.
func parent(ref map[string]any) func(map[string]any) {
	return func(spec map[string]any) { spec["parentRefs"] = []any{ref} }
}

// backend replaces the backends of a route's first rule with ref.
func backend(ref map[string]any) func(map[string]any) {
	return func(spec map[string]any) { firstRule(spec)["backendRefs"] = []any{ref} }
}

// filter gives a route's first rule the filter f.
func filter(f map[string]any) func(map[string]any) {
	return func(spec map[string]any) { firstRule(spec)["filters"] = []any{f} }
}

// sized gives a route rules rules of matches path matches each (/r<i>/m<j>).
func sized(rules, matches int) func(map[string]any) {
	return func(spec map[string]any) {
		var rs []any
		for i := range rules {
			var ms []any
			for j := range matches {
				ms = append(ms, map[string]any{"path": map[string]any{"type": "PathPrefix", "value": fmt.Sprintf("/r%d/m%d", i, j)}})
			}
			rs = append(rs, map[string]any{"matches": ms, "backendRefs": firstRule(spec)["backendRefs"]})
		}
		spec["rules"] = rs
	}
}

func firstRule(spec map[string]any) map[string]any { return spec["rules"].([]any)[0].(map[string]any) }

// ownHosts are n hosts of environment pr-42: app0-pr-42.<envDomain>, ...
func ownHosts(n int, envDomain string) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("app%d-pr-42.%s", i, envDomain))
	}
	return out
}

// referenceGrant lets HTTPRoutes of from send to every Service of the namespace it is in.
func referenceGrant(from string) map[string]any {
	return gatewayAPIObject("ReferenceGrant", "grab", map[string]any{
		"from": []any{map[string]any{"group": guardrails.GatewayAPIGroup, "kind": "HTTPRoute", "namespace": from}},
		"to":   []any{map[string]any{"group": "", "kind": "Service"}},
	})
}

// gatewayAPIObject is a Gateway API object of kind at v1, named name, with spec.
func gatewayAPIObject(kind, name string, spec map[string]any) map[string]any {
	return map[string]any{
		"apiVersion": guardrails.GatewayAPIGroup + "/v1", "kind": kind,
		"metadata": map[string]any{"name": name}, "spec": spec,
	}
}

// gatewayAPIPath is the path of a Gateway API resource at version, in namespace ns ("" for a
// cluster-scoped resource or every namespace).
func gatewayAPIPath(version, resource, ns string) string {
	p := "/apis/" + guardrails.GatewayAPIGroup + "/" + version
	if ns != "" {
		p += "/namespaces/" + ns
	}
	return p + "/" + resource
}

// createGatewayAPI creates obj, a Gateway API object, as c (a dry run if opts says so): the
// identity's own request, through the same client the other rows use (the Gateway API has no typed client
// there).
func createGatewayAPI(ctx context.Context, c kubernetes.Interface, version, resource, ns string, obj map[string]any, opts metav1.CreateOptions) error {
	body, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	req := c.Discovery().RESTClient().Post().AbsPath(gatewayAPIPath(version, resource, ns)).SetHeader("Content-Type", "application/json").Body(body)
	for _, d := range opts.DryRun {
		req = req.Param("dryRun", d)
	}
	return req.Do(ctx).Error()
}

// patchGatewayAPI merge-patches the Gateway API object ns/name with patch, as c.
func patchGatewayAPI(ctx context.Context, c kubernetes.Interface, resource, ns, name, patch string) error {
	return c.Discovery().RESTClient().Patch(types.MergePatchType).AbsPath(gatewayAPIPath("v1", resource, ns), name).
		Body([]byte(patch)).Do(ctx).Error()
}

// waitQuotaCounts waits until the control plane's quota controller counts the objects a quota key
// of a custom resource (count/<resource>.<group>) names. The controller finds a new kind in
// discovery every 30 seconds; a quota it judged before then keeps the key's usage unset until
// its spec changes or its periodic resync (5 minutes), and the quota admission refuses every
// object of the kind in the quota's namespace meanwhile ("status unknown for quota"). So the
// probe's quota changes its limit on every try.
func waitQuotaCounts(t *testing.T, admin kubernetes.Interface, key string) {
	t.Helper()
	ctx := t.Context()
	const ns = "quota-probe"
	_, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, create)
	require.NoError(t, err)
	_, err = admin.CoreV1().ResourceQuotas(ns).Create(ctx, quota(ns, map[string]string{key: "1"}), create)
	require.NoError(t, err)
	tries := 1
	require.Eventually(t, func() bool {
		q, err := admin.CoreV1().ResourceQuotas(ns).Get(ctx, guardrails.EnvironmentQuotaName, metav1.GetOptions{})
		if err != nil {
			return false
		}
		if _, counted := q.Status.Used[corev1.ResourceName(key)]; counted {
			return true
		}
		tries++
		q.Spec.Hard[corev1.ResourceName(key)] = *resource.NewQuantity(int64(tries), resource.DecimalSI)
		_, err = admin.CoreV1().ResourceQuotas(ns).Update(ctx, q, metav1.UpdateOptions{})
		return false
	}, 90*time.Second, 2*time.Second, "the quota controller counts %s", key)
	require.NoError(t, admin.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
}
