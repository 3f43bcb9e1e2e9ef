package tests

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/offline/kubeapi"
)

// applyGuardrails applies, as the administrator, the platform stack's ClusterRole and binding,
// its admission policies and bindings and its PriorityClasses, and waits until the API server enforces the
// policies to probe, a member of the environments group (it reads them through an informer).
// The Gateway API's CRDs are installed first: the guardrails judge HTTPRoutes, which a server
// serves once a platform routes by the Gateway API, and their probe needs the kind.
func applyGuardrails(t *testing.T, srv *kubeapi.Server, platformObjects []map[string]any, probe kubernetes.Interface) {
	t.Helper()
	ctx := t.Context()
	installGatewayAPI(t, srv)
	n := 0
	for _, o := range platformObjects {
		switch o["kind"] {
		case "ClusterRole", "ClusterRoleBinding", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "PriorityClass":
			require.NoError(t, srv.Apply(ctx, &unstructured.Unstructured{Object: o}), "%s %s", o["kind"], nameOf(o))
			n++
		}
	}
	require.Equal(t, 2+2*len(guardrails.EnvironmentPolicies(guardrails.Platform{}))+len(guardrails.PriorityClasses(true)), n,
		"the role, its binding, each policy with its binding, and the PriorityClasses")
	// The API server loads each policy (and its parameters' informer) on its own, a moment
	// after it is created: wait until a request each policy must refuse is refused.
	require.NoError(t, srv.EnsureNamespace(ctx, "env-probe", map[string]string{"pod-security.kubernetes.io/enforce": "restricted", guardrails.EnvironmentLabel: "probe"}))
	// The workloads policy's probe runs where the quota exists, so that only that policy refuses.
	require.NoError(t, srv.EnsureNamespace(ctx, "env-probe-q", map[string]string{"pod-security.kubernetes.io/enforce": "restricted", guardrails.EnvironmentLabel: "probe-q"}))
	_, err := srv.Clientset().CoreV1().ResourceQuotas("env-probe-q").Create(ctx, quota("env-probe-q", withQuota(nil)), create)
	require.NoError(t, err)
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	refused := func(err error) bool { return apierrors.IsForbidden(err) || apierrors.IsInvalid(err) }
	// A probe that another policy refuses too says which refusal it waits for.
	wants := map[string]string{"workloads": "nodeName", "budgets": "maxUnavailable", "finalizers": "finalizers"}
	probes := map[string]func() error{
		"confined": func() error {
			_, err := probe.CoreV1().ConfigMaps("default").Create(ctx, configMap("default", "p"), dry)
			return err
		},
		"namespaces": func() error {
			_, err := probe.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "probe"}}, dry)
			return err
		},
		"services": func() error {
			_, err := probe.CoreV1().Services("env-probe").Create(ctx, service("env-probe", "p", corev1.ServiceTypeNodePort), dry)
			return err
		},
		"ingresses": func() error {
			_, err := probe.NetworkingV1().Ingresses("env-probe").Create(ctx, ingressFor("env-probe", "p", "other", "x.example.com"), dry)
			return err
		},
		"routes": func() error {
			return createGatewayAPI(ctx, probe, "v1", "httproutes", "env-probe", httpRoute("p", []string{"x.example.com"}), dry)
		},
		"quota": func() error {
			_, err := probe.CoreV1().ResourceQuotas("env-probe").Create(ctx, quota("env-probe", withQuota(map[string]string{"pods": "1000"})), dry)
			return err
		},
		"quota-first": func() error {
			_, err := probe.AppsV1().Deployments("env-probe").Create(ctx, deployment("env-probe", "p", 1, ""), dry)
			return err
		},
		"workloads": func() error {
			d := deployment("env-probe-q", "p", 1, "")
			d.Spec.Template.Spec.NodeName = "probe"
			_, err := probe.AppsV1().Deployments("env-probe-q").Create(ctx, d, dry)
			return err
		},
		"budgets": func() error {
			_, err := probe.PolicyV1().PodDisruptionBudgets("env-probe").Create(ctx, budget("env-probe", "p", intstr.FromInt32(0)), dry)
			return err
		},
		"finalizers": func() error {
			cm := configMap("env-probe", "p")
			cm.Finalizers = []string{"example.com/hold"}
			_, err := probe.CoreV1().ConfigMaps("env-probe").Create(ctx, cm, dry)
			return err
		},
	}
	require.Len(t, probes, len(guardrails.EnvironmentPolicies(guardrails.Platform{})), "a probe per policy")
	for name, try := range probes {
		require.Eventually(t, func() bool { err := try(); return refused(err) && strings.Contains(err.Error(), wants[name]) }, 30*time.Second, 200*time.Millisecond,
			"the admission policy %s is never enforced (last answer: %v)", name, try())
	}
	for _, n := range []string{"env-probe", "env-probe-q"} {
		require.NoError(t, srv.Clientset().CoreV1().Namespaces().Delete(ctx, n, metav1.DeleteOptions{}))
	}
}

// clientAs is a client of srv with a client certificate of its own for user in groups, signed by
// the server's CA: the identity's own credentials, not an administrator impersonating it.
func clientAs(t *testing.T, srv *kubeapi.Server, user string, groups ...string) kubernetes.Interface {
	t.Helper()
	kubeconfig, err := srv.Kubeconfig(user, groups...)
	require.NoError(t, err)
	return clientOf(t, kubeconfig)
}

func clientOf(t *testing.T, kubeconfig []byte) kubernetes.Interface {
	t.Helper()
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	require.NoError(t, err)
	cfg.Timeout = 30 * time.Second
	c, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	return c
}

// attack is one row of an identity's table: an action, and whether the API server must allow it.
type attack struct {
	name    string
	allowed bool
	// refusal is a piece of the server's message a refusal must carry (the rule that refused).
	refusal string
	do      func(ctx context.Context, c kubernetes.Interface) error
}

// runAttacks tries every row as c, in order, and logs each answer as the API server gave it.
func runAttacks(t *testing.T, c kubernetes.Interface, rows []attack) {
	t.Helper()
	for _, r := range rows {
		err := r.do(t.Context(), c)
		switch {
		case r.allowed:
			if assert.NoError(t, err, "must be allowed: %s", r.name) {
				t.Logf("allowed  %s", r.name)
			}
		case err == nil:
			t.Errorf("must be refused, was allowed: %s", r.name)
		default:
			assert.True(t, apierrors.IsForbidden(err) || apierrors.IsInvalid(err), "%s: want a refusal, got %v", r.name, err)
			assert.Contains(t, err.Error(), r.refusal, "%s: refused for the wrong reason", r.name)
			t.Logf("refused  %s: %v", r.name, err)
		}
	}
}

var create = metav1.CreateOptions{}

func configMap(ns, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string]string{"k": "v"}}
}

func envNamespace(name string, labels map[string]string) *corev1.Namespace {
	l := map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
		guardrails.EnvironmentLabel: strings.TrimPrefix(name, guardrails.NamespacePrefix),
	}
	for k, v := range labels {
		if v == "" {
			delete(l, k)
		} else {
			l[k] = v
		}
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

func quota(ns string, hard map[string]string) *corev1.ResourceQuota {
	rl := corev1.ResourceList{}
	for k, v := range hard {
		rl[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	return &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: guardrails.EnvironmentQuotaName, Namespace: ns}, Spec: corev1.ResourceQuotaSpec{Hard: rl}}
}

func withQuota(change map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range guardrails.EnvironmentQuota {
		out[k] = v
	}
	for k, v := range change {
		out[k] = v
	}
	return out
}

func limitRange(ns string, cpu string) *corev1.LimitRange {
	list := func(m map[string]string) corev1.ResourceList {
		rl := corev1.ResourceList{}
		for k, v := range m {
			rl[corev1.ResourceName(k)] = resource.MustParse(v)
		}
		return rl
	}
	limits := list(guardrails.EnvironmentDefaultLimits)
	limits[corev1.ResourceCPU] = resource.MustParse(cpu)
	return &corev1.LimitRange{
		ObjectMeta: metav1.ObjectMeta{Name: guardrails.EnvironmentLimitsName, Namespace: ns},
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
			Type: corev1.LimitTypeContainer, Default: limits, DefaultRequest: list(guardrails.EnvironmentDefaultRequests),
			Max: list(guardrails.EnvironmentMaxLimits),
		}}},
	}
}

func service(ns, name string, typ corev1.ServiceType, mutate ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Type: typ, Selector: map[string]string{"app": name}, Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if typ == corev1.ServiceTypeExternalName {
		s.Spec = corev1.ServiceSpec{Type: typ, ExternalName: "kubernetes.default.svc.cluster.local"}
	}
	for _, m := range mutate {
		m(s)
	}
	return s
}

func ingressFor(ns, name, class, host string, mutate ...func(*networkingv1.Ingress)) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To(class),
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
	for _, m := range mutate {
		m(ing)
	}
	return ing
}

// deployment is a Deployment an environment may run: pods labelled app and
// app.kubernetes.io/name (what a budget selects on) with its name, a short history.
func deployment(ns, name string, replicas int32, serviceAccount string) *appsv1.Deployment {
	labels := map[string]string{"app": name, guardrails.BudgetSelectorLabel: name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas:             ptr.To(replicas),
			RevisionHistoryLimit: ptr.To[int32](guardrails.EnvironmentRevisionHistory),
			Selector:             &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: serviceAccount,
					SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](10001), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name: "c", Image: "httpd:2.4.68",
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
						},
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
					}},
				},
			},
		},
	}
}

// budget is a PodDisruptionBudget an environment may declare for the app name, but for its
// maxUnavailable.
func budget(ns, name string, maxUnavailable intstr.IntOrString) *policyv1.PodDisruptionBudget {
	always := policyv1.AlwaysAllow
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: policyv1.PodDisruptionBudgetSpec{
		MaxUnavailable:             &maxUnavailable,
		UnhealthyPodEvictionPolicy: &always,
		Selector:                   &metav1.LabelSelector{MatchLabels: map[string]string{guardrails.BudgetSelectorLabel: name}},
	}}
}

func labelPatch(key string, value *string) []byte {
	v := "null"
	if value != nil {
		v = fmt.Sprintf("%q", *value)
	}
	return []byte(fmt.Sprintf(`{"metadata":{"labels":{%q:%s}}}`, key, v))
}

var mergePatch = types.MergePatchType

// platformRoleBinding is an RBAC object for the rows that try to write RBAC.
func platformRoleBinding(ns string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "grab", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "Group", Name: guardrails.EnvironmentsGroup}},
	}
}

// platformState is what the attacks aim at: the platform's own namespaces and objects, made by
// the administrator the way the platform stack makes them.
func platformState(t *testing.T, srv *kubeapi.Server) {
	t.Helper()
	ctx := t.Context()
	admin := srv.Clientset()
	for _, ns := range []string{"traefik", "www", "env-pr-43"} {
		labels := map[string]string{"pod-security.kubernetes.io/enforce": "restricted"}
		if ns == "env-pr-43" {
			labels[guardrails.EnvironmentLabel] = "pr-43"
		}
		require.NoError(t, srv.EnsureNamespace(ctx, ns, labels))
		_, err := admin.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, "platform-config"), create)
		require.NoError(t, err)
	}
	_, err := admin.CoreV1().ServiceAccounts("kube-system").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "cluster-autoscaler"}}, create)
	require.NoError(t, err)
	_, err = admin.CoreV1().Secrets("kube-system").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "platform-secret"}, StringData: map[string]string{"k": "v"}}, create)
	require.NoError(t, err)
	_, err = admin.NetworkingV1().NetworkPolicies("env-pr-43").Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default-deny"}, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress"}}}, create)
	require.NoError(t, err)
}
