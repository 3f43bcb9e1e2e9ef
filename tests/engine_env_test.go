package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/envlife"
)

// An environment's whole life on the real engine, driven by the environments identity (the
// platform's environments kubeconfig, a client certificate of the group), as `env up` runs it:
// up (every Deployment Available, Traefik reading every Ingress and publishing its status), a
// second up that changes nothing but the expiry it renews, an update (replicas, image, an app
// added) applied in place, env down leaving no namespace, object or stack; then env down with
// refused credentials failing with the namespace intact, and an environment whose platform is
// gone removed all the same.
func TestEnvironmentLifecycleOnTheEngine(t *testing.T) {
	t.Parallel()
	w := newEngineWorld(t)
	ctx := context.Background()
	c := w.cp.Clientset()
	const stack, ns = "pr-42", "env-pr-42"
	// up also logs, for the benchmark, how long the engine took over each resource it created
	// (its own "created (Ns)" lines), so the note can say where an up's time goes.
	up := func(now time.Time) (envlife.Info, time.Duration) {
		t.Helper()
		var progress bytes.Buffer
		m := w.manager(now)
		m.Progress = &progress
		begin := time.Now()
		info, err := m.Up(ctx, envlife.UpRequest{Stack: stack, Owner: "renovate[bot]", TTL: 24 * time.Hour, Platform: enginePlatform})
		require.NoError(t, err, "env up %s", stack)
		took := time.Since(begin)
		for _, line := range strings.Split(progress.String(), "\n") {
			if strings.Contains(line, " created (") {
				t.Logf("benchmark:   %s", strings.TrimSpace(line))
			}
		}
		return info, took
	}

	// A fresh environment of two apps.
	w.apps(stack, `[{"name": "web"}, {"name": "api", "healthPath": "/index.html"}]`)
	now := time.Now().UTC()
	info, took := up(now)
	t.Logf("benchmark: env up of a fresh two-app environment took %s", took.Round(10*time.Millisecond))
	assert.Equal(t, map[string]string{"web": "https://web-pr-42." + envDomain + "/", "api": "https://api-pr-42." + envDomain + "/"}, info.URLs)
	for _, d := range []string{"web", "api"} {
		got, err := c.AppsV1().Deployments(ns).Get(ctx, d, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, *got.Spec.Replicas, got.Status.AvailableReplicas, "%s available", d)
		ing, err := c.NetworkingV1().Ingresses(ns).Get(ctx, d, metav1.GetOptions{})
		require.NoError(t, err)
		require.NotEmpty(t, ing.Status.LoadBalancer.Ingress, "Traefik published %s's status", d)
		assert.Equal(t, w.lbName, ing.Status.LoadBalancer.Ingress[0].Hostname)
	}
	// Traefik routes a host once it sees the Service's endpoints; env up returns when the pods
	// are Ready (the Service itself is not awaited), so routing follows within moments. The
	// pull-request workflow posts the URLs only once `env check` sees them serve.
	var routers map[string]string
	routed := func() bool {
		routers = w.traefik.routers(t)
		for _, app := range []string{"web", "api"} {
			if routers[fmt.Sprintf(`Host("%s-pr-42.%s") && PathPrefix("/")`, app, envDomain)] != "enabled" {
				return false
			}
		}
		return true
	}
	begin := time.Now()
	require.Eventually(t, routed, 30*time.Second, 100*time.Millisecond, "Traefik builds a router for web and api; it has %v", routers)
	t.Logf("benchmark: Traefik routed both hosts %s after env up returned", time.Since(begin).Round(10*time.Millisecond))
	namespace, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err)
	uid := namespace.UID
	assert.Equal(t, "renovate_bot", namespace.Labels["outside-in/owner"], "a bot's name made a label value")

	// A second up renews the expiry and changes nothing else.
	before := w.resourceVersions(ns)
	_, took = up(now.Add(time.Minute))
	t.Logf("benchmark: a second env up took %s", took.Round(10*time.Millisecond))
	changes := w.lastUpdate(stack)
	assert.Equal(t, 1, changes["update"], "only the namespace, which carries the expiry: %v", changes)
	assert.Zero(t, changes["create"]+changes["delete"]+changes["replace"], "%v", changes)
	assert.Equal(t, before, w.resourceVersions(ns), "no object but the namespace was written")
	namespace, err = c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, now.Add(time.Minute+24*time.Hour).Truncate(time.Second).Format("20060102T150405Z"), namespace.Labels["outside-in/expires-at"])

	// An update: more replicas, another image, an app added; in place.
	w.apps(stack, `[{"name": "web", "replicas": 3, "image": "httpd:2.4.66"}, {"name": "api", "healthPath": "/index.html"}, {"name": "docs"}]`)
	_, took = up(now.Add(2 * time.Minute))
	t.Logf("benchmark: an env up that adds an app took %s", took.Round(10*time.Millisecond))
	changes = w.lastUpdate(stack)
	assert.Zero(t, changes["replace"]+changes["delete"], "nothing replaced or deleted: %v", changes)
	namespace, err = c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, uid, namespace.UID, "the namespace is the same one")
	web, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(3), web.Status.AvailableReplicas)
	assert.Equal(t, "httpd:2.4.66", web.Spec.Template.Spec.Containers[0].Image)
	_, err = c.AppsV1().Deployments(ns).Get(ctx, "docs", metav1.GetOptions{})
	require.NoError(t, err)

	// env down: nothing left.
	begin = time.Now()
	require.NoError(t, w.manager(now).Down(ctx, stack))
	t.Logf("benchmark: env down took %s", time.Since(begin).Round(10*time.Millisecond))
	require.Eventually(t, func() bool { return w.namespaceGone(ns) }, time.Minute, 200*time.Millisecond, "namespace %s is gone", ns)
	_, err = os.Stat(filepath.Join(w.dir, "Pulumi."+stack+".yaml"))
	assert.True(t, os.IsNotExist(err), "the stack file env up wrote is gone")
	assert.NotContains(t, w.pulumi("stack", "ls", "--json"), stack)
}

// An environment of a platform on routing gateway, on the real engine as the environments
// identity: env up returns only once the real Traefik, running its Gateway provider, has
// accepted the app's HTTPRoute and resolved its backend (the route's pulumi.com/waitFor, which
// pulumi-kubernetes awaits); a request through Traefik with the app's host then answers 200
// with the app's page from its pod, through the Gateway provider's router and no Ingress, and
// an unknown host 404; env down removes the route, and Traefik lets go of the host.
func TestEnvironmentOnGatewayRoutingOnTheEngine(t *testing.T) {
	t.Parallel()
	begin := time.Now()
	w := newEngineWorldRouted(t, ingress.RoutingGateway)
	t.Logf("benchmark: the gateway-routed engine world took %s to start", time.Since(begin).Round(10*time.Millisecond))
	ctx := context.Background()
	c := w.cp.Clientset()
	dyn, err := dynamic.NewForConfig(w.cp.Config())
	require.NoError(t, err)
	const stack, ns = "pr-42", "env-pr-42"
	host := "web-pr-42." + envDomain

	w.apps(stack, `[{"name": "web"}]`)
	var progress bytes.Buffer
	m := w.manager(time.Now().UTC())
	m.Progress = &progress
	begin = time.Now()
	info, err := m.Up(ctx, envlife.UpRequest{Stack: stack, Owner: "renovate[bot]", TTL: 24 * time.Hour, Platform: enginePlatform})
	require.NoError(t, err, "env up %s:\n%s", stack, progress.String())
	t.Logf("benchmark: env up of a one-app environment on routing gateway took %s", time.Since(begin).Round(10*time.Millisecond))
	for _, line := range strings.Split(progress.String(), "\n") {
		if strings.Contains(line, " created (") {
			t.Logf("benchmark:   %s", strings.TrimSpace(line))
		}
	}
	assert.Equal(t, map[string]string{"web": "https://" + host + "/"}, info.URLs)

	// As env up returned: the route is there, and what its waitFor names already holds, written
	// by Traefik's Gateway controller.
	r, err := dyn.Resource(routeGVR).Namespace(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err, "the app's HTTPRoute")
	assert.Equal(t, ingress.RouteWaitFor, r.GetAnnotations()["pulumi.com/waitFor"])
	var exprs []string
	require.NoError(t, json.Unmarshal([]byte(ingress.RouteWaitFor), &exprs))
	status, _ := json.Marshal(r.Object["status"])
	for _, e := range exprs {
		ok, err := satisfied(r.Object, e)
		require.NoError(t, err)
		assert.True(t, ok, "%s holds when env up returns; status: %s", e, status)
	}
	assert.Equal(t, ingress.GatewayControllerName, get(r.Object, "status", "parents", 0, "controllerName"), "status: %s", status)
	ings, err := c.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, ings.Items, "routing gateway makes no Ingress")

	// A request through Traefik reaches the app's pod, through the route.
	d, err := c.AppsV1().Deployments(ns).Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	served := []route{{host: host, app: "web", healthPath: d.Spec.Template.Spec.Containers[0].ReadinessProbe.HTTPGet.Path}}
	assertServed(t, stack+" on routing gateway", w.traefik, w.entry, served, "unknown-pr-42."+envDomain)
	hostRouters := func(provider string) []string {
		var out []string
		for rule := range w.traefik.routersOf(t, provider) {
			if strings.Contains(rule, host) {
				out = append(out, rule)
			}
		}
		return out
	}
	assert.Len(t, hostRouters("kubernetesgateway"), 1, "the host's router is the Gateway provider's")
	assert.Empty(t, hostRouters("kubernetes"), "and no Ingress router has it")

	// env down: the route goes with the rest, and Traefik no longer routes the host.
	begin = time.Now()
	require.NoError(t, w.manager(time.Now().UTC()).Down(ctx, stack))
	t.Logf("benchmark: env down on routing gateway took %s", time.Since(begin).Round(10*time.Millisecond))
	_, err = dyn.Resource(routeGVR).Namespace(ns).Get(ctx, "web", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the HTTPRoute is gone after env down: %v", err)
	require.Eventually(t, func() bool { return w.namespaceGone(ns) }, time.Minute, 200*time.Millisecond, "namespace %s is gone", ns)
	assert.Eventually(t, func() bool { return len(hostRouters("kubernetesgateway")) == 0 }, 15*time.Second, 200*time.Millisecond,
		"Traefik drops the host's router")
	a := w.traefik.send(w.entry, host, "/", "")
	t.Logf("request %s after env down: %s", stack, a)
	assert.True(t, a.ok(), "the host of a removed environment gets 404: %s", a)
	assert.NotContains(t, w.pulumi("stack", "ls", "--json"), stack)
}
