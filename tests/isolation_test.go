package tests

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/kubemeta"
)

// isolationAttacks are the rows of environmentAttacks that one environment would use to take
// the platform or a neighbour down from inside its own namespace ns (issue 23): outrank and
// repel the controller, pin itself to the platform's nodes, exhaust what the cluster shares,
// block drains, hang another environment's teardown. They run once the namespace has its quota
// and limits (without them the quota-first policy would refuse first, for its own reason).
func isolationAttacks(ns, host string) []attack {
	d := func(name string, mutate func(*corev1.PodSpec)) *appsv1.Deployment {
		dep := deployment(ns, name, 1, "")
		mutate(&dep.Spec.Template.Spec)
		return dep
	}
	createD := func(dep *appsv1.Deployment) func(context.Context, kubernetes.Interface) error {
		return func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.AppsV1().Deployments(ns).Create(ctx, dep, create)
			return err
		}
	}
	createQ := func(hard map[string]string) func(context.Context, kubernetes.Interface) error {
		return func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().ResourceQuotas(ns).Create(ctx, quota(ns, hard), create)
			return err
		}
	}
	budgetWith := func(mutate func(*policyv1.PodDisruptionBudget)) func(context.Context, kubernetes.Interface) error {
		return func(ctx context.Context, c kubernetes.Interface) error {
			pdb := budget(ns, "web", intstr.FromInt32(1))
			mutate(pdb)
			_, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, pdb, create)
			return err
		}
	}
	toleration := func(key string, op corev1.TolerationOperator, effect corev1.TaintEffect) func(*corev1.PodSpec) {
		return func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: key, Operator: op, Effect: effect}}
		}
	}
	nodeTerm := func(term corev1.NodeSelectorTerm) func(*corev1.PodSpec) {
		return func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{term},
			}}}
		}
	}
	ingressOf := func(rules, paths int) func(context.Context, kubernetes.Interface) error {
		return func(ctx context.Context, c kubernetes.Interface) error {
			ing := ingressFor(ns, "big", "traefik", host)
			rule := ing.Spec.Rules[0]
			for len(rule.HTTP.Paths) < paths {
				p := rule.HTTP.Paths[0]
				p.Path = fmt.Sprintf("/p%d", len(rule.HTTP.Paths))
				rule.HTTP.Paths = append(rule.HTTP.Paths, p)
			}
			ing.Spec.Rules = nil
			for range rules {
				ing.Spec.Rules = append(ing.Spec.Rules, *rule.DeepCopy())
			}
			_, err := c.NetworkingV1().Ingresses(ns).Create(ctx, ing, create)
			return err
		}
	}
	hold := []byte(`{"metadata":{"finalizers":["example.com/hold"]}}`)
	renewed := time.Now().Add(72 * time.Hour).UTC().Format("20060102T150405Z")
	return []attack{
		// Whom its pods outrank: the preemption lock-out, and its parts.
		{"the preemption lock-out: 3 pods at system-node-critical repelling Traefik's pods from every node", false,
			"priorityClassName system-node-critical is not allowed", createD(lockout(ns, "system-node-critical"))},
		{"a Deployment at system-cluster-critical", false, "priorityClassName system-cluster-critical is not allowed",
			createD(d("grab", func(s *corev1.PodSpec) { s.PriorityClassName = "system-cluster-critical" }))},
		{"a Deployment at the platform's class", false, "priorityClassName " + kubemeta.PlatformPriorityClass + " is not allowed",
			createD(d("grab", func(s *corev1.PodSpec) { s.PriorityClassName = kubemeta.PlatformPriorityClass }))},
		{"a Deployment stating a priority of its own", false, "priority and preemptionPolicy come from the PriorityClass",
			createD(d("grab", func(s *corev1.PodSpec) { s.Priority = ptrInt32(2000001000) }))},
		{"the lock-out at the environments' class: required anti-affinity against every namespace's pods", false,
			"may not set namespaceSelector", createD(lockout(ns, ""))},
		{"preferred pod affinity naming the controller's namespace", false, "may name only its own namespace " + ns + ", not " + ingress.ControllerNamespace,
			createD(d("grab", func(s *corev1.PodSpec) {
				s.Affinity = &corev1.Affinity{PodAffinity: &corev1.PodAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
					Weight: 100, PodAffinityTerm: corev1.PodAffinityTerm{
						LabelSelector: &metav1.LabelSelector{MatchLabels: ingress.ControllerSelector}, Namespaces: []string{ingress.ControllerNamespace}, TopologyKey: "kubernetes.io/hostname",
					},
				}}}}
			}))},
		// Where its pods run: never a node by name, never the platform's tainted nodes.
		{"a Deployment pinned by nodeName", false, "nodeName node-a is not allowed",
			createD(d("grab", func(s *corev1.PodSpec) { s.NodeName = "node-a" }))},
		{"tolerate the k3s servers' CriticalAddonsOnly taint", false, "not CriticalAddonsOnly",
			createD(d("grab", toleration("CriticalAddonsOnly", corev1.TolerationOpExists, "")))},
		{"tolerate every taint (the wildcard toleration)", false, "not * (every taint)",
			createD(d("grab", toleration("", corev1.TolerationOpExists, "")))},
		{"tolerate the control plane's taint", false, "not node-role.kubernetes.io/control-plane:NoSchedule",
			createD(d("grab", toleration("node-role.kubernetes.io/control-plane", corev1.TolerationOpExists, corev1.TaintEffectNoSchedule)))},
		{"tolerate cordoned nodes (node.kubernetes.io/unschedulable)", false, "not node.kubernetes.io/unschedulable:NoSchedule",
			createD(d("grab", toleration("node.kubernetes.io/unschedulable", corev1.TolerationOpExists, corev1.TaintEffectNoSchedule)))},
		{"stay on a dead node for ever (node.kubernetes.io/unreachable without tolerationSeconds)", false, "not node.kubernetes.io/unreachable:NoExecute",
			createD(d("grab", toleration("node.kubernetes.io/unreachable", corev1.TolerationOpExists, corev1.TaintEffectNoExecute)))},
		{"select a node by its host name", false, "nodeSelector may not select a node by host name or role, not kubernetes.io/hostname",
			createD(d("grab", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{"kubernetes.io/hostname": "node-a"} }))},
		{"select the control plane's nodes by role", false, "not node-role.kubernetes.io/control-plane",
			createD(d("grab", func(s *corev1.PodSpec) {
				s.NodeSelector = map[string]string{"node-role.kubernetes.io/control-plane": "true"}
			}))},
		{"require node affinity on a host name", false, "node affinity may not select a node by name (matchFields) or by host name or role, not kubernetes.io/hostname",
			createD(d("grab", nodeTerm(corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{
				{Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-a"}},
			}})))},
		{"require node affinity on a node's name (matchFields)", false, "not metadata.name",
			createD(d("grab", nodeTerm(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"node-a"}},
			}})))},
		// What it keeps in the shared datastore, on the nodes' disks and in the controller.
		{"a Deployment keeping 50 old ReplicaSets", false, fmt.Sprintf("revisionHistoryLimit 50 is above %d", guardrails.EnvironmentRevisionHistory),
			createD(func() *appsv1.Deployment {
				dep := d("grab", func(*corev1.PodSpec) {})
				dep.Spec.RevisionHistoryLimit = ptrInt32(50)
				return dep
			}())},
		{"a Deployment that states no history (Kubernetes keeps 10)", false, "revisionHistoryLimit 10 is above",
			createD(func() *appsv1.Deployment {
				dep := d("grab", func(*corev1.PodSpec) {})
				dep.Spec.RevisionHistoryLimit = nil
				return dep
			}())},
		{"a ResourceQuota above the platform's limits.ephemeral-storage", false, "limits.ephemeral-storage must be set and at most " + guardrails.EnvironmentQuota["limits.ephemeral-storage"],
			createQ(withQuota(map[string]string{"limits.ephemeral-storage": "1Ti"}))},
		{"a ResourceQuota without the ConfigMap count", false, "count/configmaps must be set",
			createQ(func() map[string]string { h := withQuota(nil); delete(h, "count/configmaps"); return h }())},
		{"a LimitRange without the ephemeral-storage maximum", false, "max ephemeral-storage must be set and at most " + guardrails.EnvironmentMaxLimits["ephemeral-storage"],
			func(ctx context.Context, c kubernetes.Interface) error {
				lr := limitRange(ns, "500m")
				lr.Spec.Limits[0].Max = nil
				_, err := c.CoreV1().LimitRanges(ns).Update(ctx, lr, metav1.UpdateOptions{})
				return err
			}},
		{fmt.Sprintf("an Ingress of %d rules", guardrails.EnvironmentIngressRules+1), false, "at most 4 rules of at most 4 paths each", ingressOf(guardrails.EnvironmentIngressRules+1, 1)},
		{fmt.Sprintf("an Ingress rule of %d paths", guardrails.EnvironmentIngressPaths+1), false, "not 1 rules of 5 paths", ingressOf(1, guardrails.EnvironmentIngressPaths+1)},
		{fmt.Sprintf("an Ingress of %d rules of %d paths", guardrails.EnvironmentIngressRules, guardrails.EnvironmentIngressPaths), true, "",
			ingressOf(guardrails.EnvironmentIngressRules, guardrails.EnvironmentIngressPaths)},
		// Drains: a budget always allows an eviction.
		{"a PodDisruptionBudget of maxUnavailable 0", false, "maxUnavailable 0 allows no eviction",
			budgetWith(func(b *policyv1.PodDisruptionBudget) { zero := intstr.FromInt32(0); b.Spec.MaxUnavailable = &zero })},
		{"a PodDisruptionBudget of maxUnavailable 0%", false, "maxUnavailable 0% allows no eviction",
			budgetWith(func(b *policyv1.PodDisruptionBudget) { zero := intstr.FromString("0%"); b.Spec.MaxUnavailable = &zero })},
		{"a PodDisruptionBudget of minAvailable 100%", false, "not minAvailable 100%",
			budgetWith(func(b *policyv1.PodDisruptionBudget) {
				all := intstr.FromString("100%")
				b.Spec.MaxUnavailable, b.Spec.MinAvailable = nil, &all
			})},
		{"a PodDisruptionBudget that keeps pods that never become ready", false, "unhealthyPodEvictionPolicy must be AlwaysAllow, not unset",
			budgetWith(func(b *policyv1.PodDisruptionBudget) { b.Spec.UnhealthyPodEvictionPolicy = nil })},
		{"a second PodDisruptionBudget over web's pods", false, "its selector must have matchLabels app.kubernetes.io/name=web-again",
			budgetWith(func(b *policyv1.PodDisruptionBudget) { b.Name = "web-again" })},
		// Teardown: no finalizer anywhere, no relabelling of another environment's namespace.
		{"put a finalizer on another environment's namespace env-pr-43", false, "may not add the finalizers example.com/hold",
			func(ctx context.Context, c kubernetes.Interface) error {
				_, err := c.CoreV1().Namespaces().Patch(ctx, "env-pr-43", mergePatch, hold, metav1.PatchOptions{})
				return err
			}},
		{"put a finalizer on a ConfigMap of env-pr-43", false, "may not add the finalizers example.com/hold",
			func(ctx context.Context, c kubernetes.Interface) error {
				_, err := c.CoreV1().ConfigMaps("env-pr-43").Patch(ctx, "platform-config", mergePatch, hold, metav1.PatchOptions{})
				return err
			}},
		{"a ConfigMap of its own with a finalizer", false, "may not add the finalizers example.com/hold",
			func(ctx context.Context, c kubernetes.Interface) error {
				cm := configMap(ns, "held")
				cm.Finalizers = []string{"example.com/hold"}
				_, err := c.CoreV1().ConfigMaps(ns).Create(ctx, cm, create)
				return err
			}},
		{"relabel env-pr-43 as another stack's", false, "may change only the labels outside-in/expires-at and outside-in/owner of a namespace (env up renews them), not outside-in/stack",
			func(ctx context.Context, c kubernetes.Interface) error {
				v := "pr-42"
				_, err := c.CoreV1().Namespaces().Patch(ctx, "env-pr-43", mergePatch, labelPatch("outside-in/stack", &v), metav1.PatchOptions{})
				return err
			}},
		{"relabel env-pr-43 to audit at Pod Security privileged", false, "not pod-security.kubernetes.io/audit",
			func(ctx context.Context, c kubernetes.Interface) error {
				v := "privileged"
				_, err := c.CoreV1().Namespaces().Patch(ctx, "env-pr-43", mergePatch, labelPatch("pod-security.kubernetes.io/audit", &v), metav1.PatchOptions{})
				return err
			}},
		{"renew its namespace's expiry label", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Patch(ctx, ns, mergePatch, labelPatch("outside-in/expires-at", &renewed), metav1.PatchOptions{})
			return err
		}},
	}
}

// lockout is the attack: 3 pods, each refusing (required anti-affinity, symmetric) a
// node with a Traefik pod or another of its own, in every namespace; at class, or the default.
func lockout(ns, class string) *appsv1.Deployment {
	dep := deployment(ns, "lockout", 3, "")
	dep.Spec.Template.Spec.PriorityClassName = class
	dep.Spec.Template.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
			LabelSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
				Key: guardrails.BudgetSelectorLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{ingress.ControllerSelector["app.kubernetes.io/name"], "lockout"},
			}}},
			NamespaceSelector: &metav1.LabelSelector{},
			TopologyKey:       "kubernetes.io/hostname",
		}},
	}}
	return dep
}

func ptrInt32(v int32) *int32 { return &v }
