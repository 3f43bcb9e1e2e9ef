package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/offline/kubeapi"
	"github.com/outside-in/outside-in/offline/plan"
)

// settle bounds how long a rollout or a drain may take to complete on the control plane, where
// pods are Ready as soon as they are bound: anything slower has stalled. Each step of a
// rollout is a round of the scheduler, KWOK and the controller manager, which on 2 busy cores
// beside the other tests (a load average of 16) has taken over 10 s: a rollout of 4 replicas
// one at a time did not finish in 45.
const settle = 90 * time.Second

// Every shipped stack's objects, applied for real (not a dry run) to one control plane, each
// stack on a node set shaped like its cluster mode's (nodeSet), with the controller's pods
// played by a stand-in Deployment built from the chart values the program gives (the chart
// renders the real one at deploy time): every Deployment reaches Available with all its
// replicas; a change of the httpd config (the pod template's config hash) rolls every app
// under its rollout strategy; draining one node through the eviction API keeps every app
// serving (its PodDisruptionBudget respected) and brings every app back to all its replicas on
// the other nodes; deleting the namespaces leaves nothing behind. And requests go through the
// real Traefik to the pods (served_test.go): once up, every host of the stack answers 200 with
// its app's page, at / and at the app's health path, and an unknown host 404; while the node is
// drained, a request every 100 ms, until the evicted pods' preStop pause is over, never fails.
func TestStacksRunOnTheControlPlane(t *testing.T) {
	t.Parallel()
	cp := startControlPlaneWithGatewayAPI(t)
	network := startPodNetwork(t, cp)
	// The platform's PriorityClasses first: an environment stack's pods name the environments'
	// class, which its platform declares, and the API server refuses a pod whose class is
	// missing.
	applyPriorityClasses(t, cp.Server)
	stacks := shippedStacks(t)
	stacks = append(stacks, generatedStacks(t)...)
	for i, s := range stacks {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			runStack(t, cp, network, s, i)
		})
	}
}

// applyPriorityClasses applies the platform stack's PriorityClasses to srv, for real.
func applyPriorityClasses(t *testing.T, srv *kubeapi.Server) {
	t.Helper()
	objs, err := run(t, stack(t, "platform")).KubernetesObjects()
	require.NoError(t, err)
	n := 0
	for _, o := range objs {
		if o["kind"] == "PriorityClass" {
			require.NoError(t, srv.Apply(t.Context(), &unstructured.Unstructured{Object: o}), "PriorityClass %s", nameOf(o))
			n++
		}
	}
	require.Equal(t, len(guardrails.PriorityClasses(true)), n)
}

// generatedStacks are stacks the shipped ones do not show: three k3s servers with as many app
// replicas as agents, and an EKS stack over three zones with more replicas than nodes.
func generatedStacks(t *testing.T) []plan.Stack {
	k3s := with(stack(t, "k3s"), map[string]string{"k3sServers": "3", "azCount": "3",
		"apps": `[{"name":"web","replicas":2},{"name":"api","replicas":3}]`})
	k3s.Name = "gen-k3s-3-servers"
	eks := with(stack(t, "dev"), map[string]string{"azCount": "3", "nodeDesiredSize": "3", "nodeMaxSize": "6",
		"apps": `[{"name":"web","replicas":4}]`})
	eks.Name = "gen-eks-3-zones"
	return []plan.Stack{k3s, eks}
}

// runStack runs one stack's objects; index tells the stacks apart on the shared control plane.
func runStack(t *testing.T, cp *kubeapi.ControlPlane, network *podNetwork, s plan.Stack, index int) {
	ctx := t.Context()
	res := run(t, s)
	var platform *plan.Stack
	if p := platformOf(t, s); p != nil {
		platform = &p.Stack
	}
	nodes := nodeSet(t, s, platform)
	require.NoError(t, cp.AddNodes(ctx, nodes))
	objs, err := res.KubernetesObjects()
	require.NoError(t, err)
	prefix := "cp-" + shortName(s.Name) + "-"
	var namespaces []string
	var deployments []string // namespace/name
	admin := cp.Clientset()
	objs = append(objs, controllerStandIn(t, res)...)
	var isolated []map[string]any
	for _, o := range objs {
		o = onItsNodes(t, isolate(t, o, prefix), s.Name)
		isolated = append(isolated, o)
		switch o["kind"] {
		case "Namespace":
			namespaces = append(namespaces, nameOf(o))
		case "Deployment":
			deployments = append(deployments, ns(o)+"/"+nameOf(o))
		}
	}
	for _, o := range objs {
		if o["kind"] == "ResourceQuota" {
			quotaCountsRoutes(t, cp)
			break
		}
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i]["kind"] == "Namespace" && objs[j]["kind"] != "Namespace" })
	for _, o := range objs {
		o = ownNodePorts(t, onItsNodes(t, isolate(t, o, prefix), s.Name), index)
		if o["kind"] == "ValidatingAdmissionPolicy" || o["kind"] == "ValidatingAdmissionPolicyBinding" ||
			o["kind"] == "ClusterRole" || o["kind"] == "ClusterRoleBinding" {
			continue // cluster-wide, and the guardrails tests' business
		}
		require.NoError(t, cp.Apply(ctx, &unstructured.Unstructured{Object: o}), "%s %s/%s", o["kind"], ns(o), nameOf(o))
	}
	require.NotEmpty(t, deployments)

	// Up: every Deployment Available with all its replicas.
	for _, d := range deployments {
		waitRolledOut(t, admin, d, "first deploy")
	}
	quotaRefusesLoadBalancers(t, admin, namespaces)
	// Requests through Traefik reach every app.
	routes := servedRoutes(t, isolated)
	tr, entry := stackTraefik(t, cp, network, res, s, namespaces, shortName(s.Name))
	if len(routes) > 0 {
		require.NotNil(t, tr, "a stack with hosts has a controller, its own or its platform's")
		assertServed(t, s.Name, tr, entry, routes, "unknown."+prefix+"example.invalid")
	}
	// A change of the httpd config rolls the pods.
	for _, d := range deployments {
		namespace, name, _ := strings.Cut(d, "/")
		patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"outside-in/config-sha256":"changed-%d"}}}}}`, time.Now().UnixNano())
		_, err := admin.AppsV1().Deployments(namespace).Patch(ctx, name, mergePatch, []byte(patch), metav1.PatchOptions{})
		require.NoError(t, err)
	}
	for _, d := range deployments {
		waitRolledOut(t, admin, d, "rollout of a changed config")
	}
	// Drain the node holding the most of the stack's pods, as kubectl drain does.
	var lb *balancer
	if len(routes) > 0 {
		lb = newBalancer(entry, tr)
		lb.story = func(from, to time.Time) []string { return network.story(prefix, from, to) }
	}
	drained := drainServing(t, admin, s.Name, lb, namespaces, routes, deployments)
	if len(routes) > 0 {
		// The same stack on the Gateway API: switched to, served, drained, and switched back.
		uncordon(t, admin, drained)
		sw := &switcher{t: t, cp: cp, network: network, s: s, prefix: prefix, name: shortName(s.Name),
			namespaces: namespaces, lb: lb, tr: tr}
		sw.dyn, err = dynamic.NewForConfig(cp.Config())
		require.NoError(t, err)
		if gwNs := prefix + ingress.GatewayNamespace; !slices.Contains(namespaces, gwNs) {
			// An environment's routes attach to its platform's Gateway, in the platform's
			// controller namespace.
			require.NoError(t, cp.EnsureNamespace(ctx, gwNs, nil))
			sw.namespaces = append(slices.Clone(namespaces), gwNs)
		}
		for _, o := range isolated {
			if o["kind"] == "Ingress" {
				sw.ingresses = append(sw.ingresses, o)
			}
		}
		gwRoutes := sw.toGateway(routes)
		assertServed(t, s.Name+" on routing gateway", sw.tr, entry, gwRoutes, "unknown."+prefix+"example.invalid")
		drained = drainServing(t, admin, s.Name+" on routing gateway", sw.lb, namespaces, gwRoutes, deployments)
		uncordon(t, admin, drained)
		sw.toIngress(gwRoutes)
		assertServed(t, s.Name+" back on routing ingress", sw.tr, entry, routes, "unknown."+prefix+"example.invalid")
		namespaces = sw.namespaces
	}
	// Down: the namespaces go, and everything in them.
	for _, n := range namespaces {
		require.NoError(t, admin.CoreV1().Namespaces().Delete(ctx, n, metav1.DeleteOptions{}))
	}
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, n := range namespaces {
			if _, err := admin.CoreV1().Namespaces().Get(ctx, n, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				return false, nil
			}
		}
		return true, nil
	}), "namespaces %v still there after a minute", namespaces)
	for _, n := range namespaces {
		pods, err := admin.CoreV1().Pods(n).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		assert.Empty(t, pods.Items, "pods left in %s", n)
	}
	t.Logf("%s: %d deployments up, rolled, drained off %s and removed, on %d nodes", s.Name, len(deployments), drained, len(nodes))
}

// drainServing drains the node holding the most of the stack's pods and waits until every
// Deployment is back to all its replicas; with a balancer, requests go through it every 100 ms
// from once Traefik has caught up with the endpoints until the evicted pods' preStop pause is
// over, and none may fail. It returns the node it drained.
func drainServing(t *testing.T, admin kubernetes.Interface, stack string, lb *balancer, namespaces []string, routes []route, deployments []string) string {
	t.Helper()
	drained := busiestNode(t, admin, namespaces)
	var probe *prober
	if lb != nil {
		for _, tr := range lb.targets {
			waitCaughtUp(t, tr, admin, namespaces, routes)
		}
		probe = startProber(lb, routes)
	}
	began := time.Now()
	drain(t, admin, drained, namespaces)
	for _, d := range deployments {
		waitRolledOut(t, admin, d, "after draining "+drained)
	}
	if probe != nil {
		// The evicted pods serve through their preStop pause; requests go on until it is over,
		// so that one sent after Traefik should have let go of them is among them.
		time.Sleep(time.Until(began.Add(time.Duration(ingress.PreStopSeconds)*time.Second + time.Second)))
		sent, failed := probe.finish(t, stack, lb.entry, "the drain of "+drained)
		t.Logf("drain of %s: %d requests through Traefik, one every 100 ms over %d hosts, %d failed", drained, sent, len(routes), failed)
		assert.Zero(t, failed, "requests failed while %s was drained", drained)
	}
	return drained
}

// uncordon makes a drained node schedulable again.
func uncordon(t *testing.T, c kubernetes.Interface, node string) {
	t.Helper()
	_, err := c.CoreV1().Nodes().Patch(t.Context(), node, mergePatch, []byte(`{"spec":{"unschedulable":false}}`), metav1.PatchOptions{})
	require.NoError(t, err)
}

// quotaRefusesLoadBalancers: in a namespace with a ResourceQuota (an environment's), the quota
// itself refuses a LoadBalancer and a NodePort Service, even to the administrator, whom no
// admission policy of the environments binds.
func quotaRefusesLoadBalancers(t *testing.T, c kubernetes.Interface, namespaces []string) {
	ctx := t.Context()
	for _, n := range namespaces {
		quotas, err := c.CoreV1().ResourceQuotas(n).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		if len(quotas.Items) == 0 {
			continue
		}
		for _, typ := range []corev1.ServiceType{corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort} {
			var err error
			require.Eventually(t, func() bool { // the quota controller first fills in its status
				_, err = c.CoreV1().Services(n).Create(ctx, service(n, "probe", typ), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
				return err != nil
			}, 30*time.Second, 200*time.Millisecond, "a %s Service in %s passed the quota", typ, n)
			assert.Contains(t, err.Error(), "exceeded quota", "%s Service in %s", typ, n)
			t.Logf("refused  a %s Service in %s: %v", typ, n, err)
		}
	}
}

// ownNodePorts moves a Service's node ports by 10 per stack: node ports are the cluster's, and
// the stacks share one control plane.
func ownNodePorts(t tb, o map[string]any, index int) map[string]any {
	if o["kind"] != "Service" {
		return o
	}
	spec := object(t, o["spec"])
	if p, ok := spec["healthCheckNodePort"].(float64); ok {
		spec["healthCheckNodePort"] = p + float64(10*index)
	}
	ports, _ := spec["ports"].([]any)
	for _, p := range ports {
		port := object(t, p)
		if n, ok := port["nodePort"].(float64); ok {
			port["nodePort"] = n + float64(10*index)
		}
	}
	return o
}

// onItsNodes pins a workload's pods to its stack's nodes (see stackLabel).
func onItsNodes(t tb, o map[string]any, stack string) map[string]any {
	if o["kind"] != "Deployment" {
		return o
	}
	spec := object(t, get(o, "spec", "template", "spec"))
	spec["nodeSelector"] = map[string]any{stackLabel: stack}
	return o
}

// controllerStandIn plays the ingress controller's pods: the chart renders the real Deployment
// and PodDisruptionBudget at deploy time, so these carry what the program's values give them
// (replicas, pod labels, priority class, resources, spread constraints, rollout strategy,
// budget). None for a
// stack without the controller (an environment).
func controllerStandIn(t *testing.T, res *plan.Result) []map[string]any {
	t.Helper()
	release := res.OfType("kubernetes:helm.sh/v3:Release")
	var values map[string]any
	for _, r := range release {
		if strings.Contains(r.Name, "ingress-controller") {
			values = object(t, r.In("values"))
		}
	}
	if values == nil {
		return nil
	}
	d := object(t, values["deployment"])
	labels := map[string]any{}
	for k, v := range ingress.ControllerSelector {
		labels[k] = v
	}
	strategy := map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxUnavailable": 0, "maxSurge": 1}}
	if u, ok := values["updateStrategy"].(map[string]any); ok {
		strategy = u
	}
	standIn := map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "controller-stand-in", "namespace": ingress.ControllerNamespace},
		"spec": map[string]any{
			"replicas": d["replicas"],
			"selector": map[string]any{"matchLabels": labels},
			"strategy": strategy,
			"template": map[string]any{
				"metadata": map[string]any{"labels": labels},
				"spec": map[string]any{
					"priorityClassName":         values["priorityClassName"],
					"securityContext":           map[string]any{"runAsNonRoot": true, "runAsUser": 65532, "seccompProfile": map[string]any{"type": "RuntimeDefault"}},
					"topologySpreadConstraints": values["topologySpreadConstraints"],
					"containers": []any{map[string]any{
						"name": "traefik", "image": "traefik:" + ingress.TraefikVersion, "resources": values["resources"],
						"securityContext": map[string]any{"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": map[string]any{"drop": []any{"ALL"}}},
					}},
				},
			},
		},
	}
	budget := map[string]any{
		"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
		"metadata": map[string]any{"name": "controller-stand-in", "namespace": ingress.ControllerNamespace},
		"spec": map[string]any{
			"maxUnavailable": object(t, values["podDisruptionBudget"])["maxUnavailable"],
			"selector":       map[string]any{"matchLabels": labels},
		},
	}
	// Values hold Go types the API's JSON does not (ints of different sizes): round-trip them.
	raw, err := json.Marshal([]any{standIn, budget})
	require.NoError(t, err)
	var out []map[string]any
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

// waitRolledOut waits until the Deployment has all its replicas updated and available and no
// old ones, failing with where its pods are stuck.
func waitRolledOut(t *testing.T, c kubernetes.Interface, d, when string) {
	t.Helper()
	namespace, name, _ := strings.Cut(d, "/")
	ctx := t.Context()
	var last *appsv1.Deployment
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, settle, true, func(ctx context.Context) (bool, error) {
		got, err := c.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = got
		want := *got.Spec.Replicas
		s := got.Status
		return s.ObservedGeneration >= got.Generation && s.UpdatedReplicas == want && s.AvailableReplicas == want && s.Replicas == want, nil
	})
	if err == nil {
		return
	}
	pending := pendingPods(t, c, namespace)
	if last != nil {
		t.Fatalf("%s: Deployment %s stalled: %d wanted, %d updated, %d available, %d in all\n%s", when, d,
			*last.Spec.Replicas, last.Status.UpdatedReplicas, last.Status.AvailableReplicas, last.Status.Replicas, pending)
	}
	t.Fatalf("%s: Deployment %s never seen: %v", when, d, err)
}

// pendingPods says why the namespace's pending pods are not scheduled (the scheduler's message).
func pendingPods(t *testing.T, c kubernetes.Interface, namespace string) string {
	pods, err := c.CoreV1().Pods(namespace).List(t.Context(), metav1.ListOptions{FieldSelector: "status.phase=Pending"})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodScheduled && cond.Status != corev1.ConditionTrue {
				fmt.Fprintf(&b, "  pod %s pending: %s\n", p.Name, cond.Message)
			}
		}
	}
	return b.String()
}

func busiestNode(t *testing.T, c kubernetes.Interface, namespaces []string) string {
	count := map[string]int{}
	for _, n := range namespaces {
		pods, err := c.CoreV1().Pods(n).List(t.Context(), metav1.ListOptions{})
		require.NoError(t, err)
		for _, p := range pods.Items {
			count[p.Spec.NodeName]++
		}
	}
	best := ""
	for node, n := range count {
		if node != "" && (best == "" || n > count[best] || n == count[best] && node < best) {
			best = node
		}
	}
	require.NotEmpty(t, best)
	return best
}

// drain cordons the node and evicts the stack's pods on it through the eviction API, retrying
// an eviction the PodDisruptionBudget refuses (429) as kubectl drain does, and checks that every
// eviction the API allowed kept the app within its budget.
func drain(t *testing.T, c kubernetes.Interface, node string, namespaces []string) {
	ctx := t.Context()
	_, err := c.CoreV1().Nodes().Patch(ctx, node, mergePatch, []byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = c.CoreV1().Nodes().Patch(context.Background(), node, mergePatch, []byte(`{"spec":{"unschedulable":false}}`), metav1.PatchOptions{})
	})
	for _, n := range namespaces {
		pods, err := c.CoreV1().Pods(n).List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + node})
		require.NoError(t, err)
		for _, p := range pods.Items {
			evicted := false
			err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, settle, true, func(ctx context.Context) (bool, error) {
				err := c.PolicyV1().Evictions(n).Evict(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: n}})
				switch {
				case err == nil, apierrors.IsNotFound(err):
					evicted = true
					return true, nil
				case apierrors.IsTooManyRequests(err):
					return false, nil // the budget says wait
				default:
					return false, err
				}
			})
			require.NoError(t, err, "evicting %s/%s from %s (the budget never allowed it)\n%s", n, p.Name, node, pendingPods(t, c, n))
			require.True(t, evicted)
			assertServing(t, c, n)
		}
	}
}

// assertServing: every Deployment of the namespace still has a Ready pod that is not going.
func assertServing(t *testing.T, c kubernetes.Interface, namespace string) {
	ctx := t.Context()
	deployments, err := c.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, d := range deployments.Items {
		sel := metav1.FormatLabelSelector(d.Spec.Selector)
		pods, err := c.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		require.NoError(t, err)
		ready := 0
		for _, p := range pods.Items {
			for _, cond := range p.Status.Conditions {
				if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
					ready++
				}
			}
		}
		assert.Positive(t, ready, "%s/%s has no ready pod during the drain", namespace, d.Name)
	}
}

func shortName(s string) string {
	s = strings.ReplaceAll(s, "gen-", "g")
	if len(s) > 12 {
		s = s[:12]
	}
	return strings.Trim(s, "-")
}
