package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/kubemeta"
)

// What only a running control plane shows of one environment's reach (issue 23): the
// controller's pods stay, outrank the environment's; the LimitRange and the quota's counts hold.

// startController runs the platform's controller as the chart runs it (controllerStandIn: the
// program's values, its PriorityClass included) and waits until all its pods are ready.
func startController(t *testing.T, cp interface {
	Apply(context.Context, *unstructured.Unstructured) error
}, admin kubernetes.Interface, objs []map[string]any) int {
	t.Helper()
	var replicas int
	for _, o := range objs {
		require.NoError(t, cp.Apply(t.Context(), &unstructured.Unstructured{Object: o}), "%s %s", o["kind"], nameOf(o))
		if o["kind"] == "Deployment" {
			replicas = int(get(o, "spec", "replicas").(float64))
		}
	}
	require.Positive(t, replicas)
	waitRolledOut(t, admin, ingress.ControllerNamespace+"/controller-stand-in", "the controller's first deploy")
	return replicas
}

// assertControllerServing watches the controller for hold: all its pods ready, no more of them
// (no replacement waiting), and no event in its namespace saying the scheduler preempted one.
// It fails with the scheduler's own words: the preemption events and why replacements wait.
func assertControllerServing(t *testing.T, c kubernetes.Interface, replicas int, hold time.Duration) {
	t.Helper()
	ctx := t.Context()
	sel := metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: ingress.ControllerSelector})
	deadline := time.Now().Add(hold)
	for {
		pods, err := c.CoreV1().Pods(ingress.ControllerNamespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
		require.NoError(t, err)
		ready := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && podReady(p) {
				ready++
			}
		}
		events, err := c.CoreV1().Events(ingress.ControllerNamespace).List(ctx, metav1.ListOptions{FieldSelector: "reason=Preempted"})
		require.NoError(t, err)
		if ready < replicas || len(pods.Items) > replicas || len(events.Items) > 0 {
			var why []string
			for _, e := range events.Items {
				why = append(why, fmt.Sprintf("  pod %s: %s", e.InvolvedObject.Name, e.Message))
			}
			t.Fatalf("the controller lost its pods: %d of %d ready, %d in all\n%s\n%s", ready, replicas, len(pods.Items),
				strings.Join(why, "\n"), pendingPods(t, c, ingress.ControllerNamespace))
		}
		if time.Now().After(deadline) {
			t.Logf("serving  the controller: %d of %d pods ready throughout %s, none preempted", ready, replicas, hold)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func podReady(p corev1.Pod) bool {
	for _, cond := range p.Status.Conditions {
		if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// assertOutranks reads the ranks the API server gave: the controller's pods at the platform's
// class, an environment's app (whose Deployment names no class) at the environments' class by
// default, never preempting.
func assertOutranks(t *testing.T, c kubernetes.Interface, envNs, app string) {
	t.Helper()
	ctx := t.Context()
	sel := metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: ingress.ControllerSelector})
	controller, err := c.CoreV1().Pods(ingress.ControllerNamespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	require.NoError(t, err)
	env, err := c.CoreV1().Pods(envNs).List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	require.NoError(t, err)
	require.NotEmpty(t, controller.Items)
	require.NotEmpty(t, env.Items)
	for _, p := range controller.Items {
		assert.Equal(t, kubemeta.PlatformPriorityClass, p.Spec.PriorityClassName, "controller pod %s", p.Name)
		assert.Equal(t, guardrails.PlatformPriority.Value, *p.Spec.Priority, "controller pod %s", p.Name)
	}
	for _, p := range env.Items {
		assert.Equal(t, kubemeta.EnvironmentsPriorityClass, p.Spec.PriorityClassName, "environment pod %s", p.Name)
		assert.Equal(t, guardrails.EnvironmentsPriority.Value, *p.Spec.Priority, "environment pod %s", p.Name)
		assert.Equal(t, corev1.PreemptNever, *p.Spec.PreemptionPolicy, "environment pod %s", p.Name)
	}
	t.Logf("ranks    controller pods %s (%d); %s's pods, naming no class, %s (%d, preemption %s)", kubemeta.PlatformPriorityClass,
		*controller.Items[0].Spec.Priority, app, env.Items[0].Spec.PriorityClassName, *env.Items[0].Spec.Priority, *env.Items[0].Spec.PreemptionPolicy)
}

// limitRangeRefusesLargeDisk: a container asking for more node disk than the LimitRange's
// maximum gets no pod; the LimitRanger's own message is in the ReplicaSet's events.
func limitRangeRefusesLargeDisk(t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	ctx := t.Context()
	dep := deployment(ns, "disk", 1, "")
	dep.Spec.Template.Spec.Containers[0].Resources.Limits[corev1.ResourceEphemeralStorage] = resource.MustParse("10Gi")
	_, err := c.AppsV1().Deployments(ns).Create(ctx, dep, create)
	require.NoError(t, err)
	var msg string
	require.Eventually(t, func() bool {
		events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedCreate"})
		if err != nil {
			return false
		}
		for _, e := range events.Items {
			if strings.HasPrefix(e.InvolvedObject.Name, "disk-") {
				msg = e.Message
				return true
			}
		}
		return false
	}, time.Minute, 200*time.Millisecond, "the ReplicaSet of disk reports its refused pod")
	assert.Contains(t, msg, "maximum ephemeral-storage usage per Container is "+guardrails.EnvironmentMaxLimits["ephemeral-storage"])
	t.Logf("refused  a container of 10Gi of node disk: %s", msg)
	require.NoError(t, c.AppsV1().Deployments(ns).Delete(ctx, "disk", metav1.DeleteOptions{}))
}

// fillToQuota creates, as the environment, objects of each kind the quota counts until the quota
// refuses one, and checks that exactly the quota's figure of them exists then.
func fillToQuota(t *testing.T, c, admin kubernetes.Interface, ns, envDomain string) {
	t.Helper()
	ctx := t.Context()
	name := func(i int) string { return fmt.Sprintf("fill%d", i) }
	kinds := []struct {
		key    string
		create func(i int) error
		count  func() int
	}{
		{"count/configmaps", func(i int) error {
			_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, name(i)), create)
			return err
		}, func() int {
			l, err := admin.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			return len(l.Items)
		}},
		{"services", func(i int) error {
			_, err := c.CoreV1().Services(ns).Create(ctx, service(ns, name(i), corev1.ServiceTypeClusterIP), create)
			return err
		}, func() int {
			l, err := admin.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			return len(l.Items)
		}},
		{"count/ingresses.networking.k8s.io", func(i int) error {
			host := fmt.Sprintf("%s-%s.%s", name(i), strings.TrimPrefix(ns, guardrails.NamespacePrefix), envDomain)
			_, err := c.NetworkingV1().Ingresses(ns).Create(ctx, ingressFor(ns, name(i), "traefik", host), create)
			return err
		}, func() int {
			l, err := admin.NetworkingV1().Ingresses(ns).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			return len(l.Items)
		}},
		{"count/httproutes.gateway.networking.k8s.io", func(i int) error {
			host := fmt.Sprintf("%s-%s.%s", name(i), strings.TrimPrefix(ns, guardrails.NamespacePrefix), envDomain)
			return createGatewayAPI(ctx, c, "v1", "httproutes", ns, httpRoute(name(i), []string{host}), create)
		}, func() int {
			body, err := admin.Discovery().RESTClient().Get().AbsPath(gatewayAPIPath("v1", "httproutes", ns)).DoRaw(ctx)
			require.NoError(t, err)
			var l struct{ Items []any }
			require.NoError(t, json.Unmarshal(body, &l))
			return len(l.Items)
		}},
		{"count/deployments.apps", func(i int) error {
			_, err := c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, name(i), 0, ""), create)
			return err
		}, func() int {
			l, err := admin.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			return len(l.Items)
		}},
		{"count/poddisruptionbudgets.policy", func(i int) error {
			_, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, budget(ns, name(i), intstr.FromInt32(1)), create)
			return err
		}, func() int {
			l, err := admin.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			return len(l.Items)
		}},
		{"count/networkpolicies.networking.k8s.io", func(i int) error {
			_, err := c.NetworkingV1().NetworkPolicies(ns).Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name(i)},
				Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress"}}}, create)
			return err
		}, func() int {
			l, err := admin.NetworkingV1().NetworkPolicies(ns).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			return len(l.Items)
		}},
	}
	for _, k := range kinds {
		limit := resource.MustParse(guardrails.EnvironmentQuota[k.key])
		var err error
		for i := 0; i <= int(limit.Value()) && err == nil; i++ {
			err = k.create(i)
		}
		if !assert.Error(t, err, "%s: the quota never refused one", k.key) {
			continue
		}
		assert.True(t, apierrors.IsForbidden(err), "%s: %v", k.key, err)
		assert.Contains(t, err.Error(), "exceeded quota: "+guardrails.EnvironmentQuotaName)
		assert.Equal(t, int(limit.Value()), k.count(), "%s: objects when the quota refused", k.key)
		t.Logf("refused  %s beyond %s: %v", k.key, limit.String(), err)
	}
}
