package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/offline/kubeapi"
)

// envDomain is Pulumi.platform.yaml's.
const envDomain = "env.platform.example.com"

// k3sEnvDomain is the envDomain of a k3s platform made from Pulumi.k3s.yaml.
const k3sEnvDomain = "env.k3s.outside-in.example.com"

// environmentAttacks is the table of what the environments identity of environment pr-42 must
// be refused and what env up, an update, env down and env check need of it, in the order a
// lifecycle runs (the namespace first, its deletion last).
func environmentAttacks(envDomain string) []attack {
	const ns = "env-pr-42"
	host := "web-pr-42." + envDomain
	privileged := "privileged"
	confined := "may change objects only in env-* namespaces"
	q := func(c kubernetes.Interface) interface {
		Create(context.Context, *corev1.ResourceQuota, metav1.CreateOptions) (*corev1.ResourceQuota, error)
	} {
		return c.CoreV1().ResourceQuotas(ns)
	}
	rows := []attack{
		// Outside environment namespaces: nothing.
		{"create a ConfigMap in kube-system", false, confined, func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().ConfigMaps("kube-system").Create(ctx, configMap("kube-system", "x"), create)
			return err
		}},
		{"run a Deployment in kube-system as the cluster autoscaler's service account", false, confined, func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.AppsV1().Deployments("kube-system").Create(ctx, deployment("kube-system", "grab", 1, "cluster-autoscaler"), create)
			return err
		}},
		{"change a ConfigMap of the controller's namespace traefik", false, confined, func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().ConfigMaps("traefik").Update(ctx, configMap("traefik", "platform-config"), metav1.UpdateOptions{})
			return err
		}},
		{"delete a ConfigMap of the platform's app namespace www", false, confined, func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().ConfigMaps("www").Delete(ctx, "platform-config", metav1.DeleteOptions{})
		}},
		{"delete the Service kubernetes in default", false, confined, func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().Services("default").Delete(ctx, "kubernetes", metav1.DeleteOptions{})
		}},
		{"publish an Ingress for the platform's host in www", false, confined, func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.NetworkingV1().Ingresses("www").Create(ctx, ingressFor("www", "grab", "traefik", "www.platform.example.com"), create)
			return err
		}},
		{"delete the namespace traefik", false, "only namespaces named env-*", func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().Namespaces().Delete(ctx, "traefik", metav1.DeleteOptions{})
		}},
		{"relabel the namespace www to Pod Security privileged", false, "only namespaces named env-*", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Patch(ctx, "www", mergePatch, labelPatch("pod-security.kubernetes.io/enforce", &privileged), metav1.PatchOptions{})
			return err
		}},
		{"create a namespace without the environment prefix", false, "only namespaces named env-*", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Create(ctx, envNamespace("scratch", nil), create)
			return err
		}},
		{"create an environment namespace without Pod Security restricted", false, "enforce=restricted", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Create(ctx, envNamespace(ns, map[string]string{"pod-security.kubernetes.io/enforce": ""}), create)
			return err
		}},
		{"create an environment namespace enforcing privileged", false, "enforce=restricted", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Create(ctx, envNamespace(ns, map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}), create)
			return err
		}},
		{"create an environment namespace without its environment label", false, "carries the label outside-in/environment=", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Create(ctx, envNamespace(ns, map[string]string{guardrails.EnvironmentLabel: ""}), create)
			return err
		}},
		{"create an environment namespace labelled as another environment", false, "carries the label outside-in/environment=", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Create(ctx, envNamespace(ns, map[string]string{guardrails.EnvironmentLabel: "pr-43"}), create)
			return err
		}},
		{"create an environment namespace pinned to an old Pod Security version", false, "enforce-version must be latest", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Create(ctx, envNamespace(ns, map[string]string{"pod-security.kubernetes.io/enforce-version": "v1.20"}), create)
			return err
		}},
		// env up: the namespace, then its quota and limits, then the apps.
		{"create its namespace env-pr-42, restricted", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Create(ctx, envNamespace(ns, nil), create)
			return err
		}},
		{"relabel its namespace to Pod Security privileged", false, "enforce=restricted", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Patch(ctx, ns, mergePatch, labelPatch("pod-security.kubernetes.io/enforce", &privileged), metav1.PatchOptions{})
			return err
		}},
		{"remove its namespace's Pod Security label", false, "enforce=restricted", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Namespaces().Patch(ctx, ns, mergePatch, labelPatch("pod-security.kubernetes.io/enforce", nil), metav1.PatchOptions{})
			return err
		}},
		{"a Deployment before the namespace has its quota", false, "no params found for policy binding with `Deny` parameterNotFoundAction", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "early", 1, ""), create)
			return err
		}},
		{"a ResourceQuota above the platform's limits.cpu", false, "limits.cpu must be set and at most 8", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := q(c).Create(ctx, quota(ns, withQuota(map[string]string{"limits.cpu": "100"})), create)
			return err
		}},
		{"a ResourceQuota without the LoadBalancer limit", false, "services.loadbalancers must be set", func(ctx context.Context, c kubernetes.Interface) error {
			hard := withQuota(nil)
			delete(hard, "services.loadbalancers")
			_, err := q(c).Create(ctx, quota(ns, hard), create)
			return err
		}},
		{"a second, scoped ResourceQuota", false, "one ResourceQuota, environment, without scopes", func(ctx context.Context, c kubernetes.Interface) error {
			rq := quota(ns, withQuota(nil))
			rq.Name = "loose"
			_, err := q(c).Create(ctx, rq, create)
			return err
		}},
		{"its ResourceQuota at the platform's limits", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := q(c).Create(ctx, quota(ns, withQuota(nil)), create)
			return err
		}},
		{"a LimitRange whose default cpu is above the platform's", false, "default cpu must be set and at most 500m", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().LimitRanges(ns).Create(ctx, limitRange(ns, "4"), create)
			return err
		}},
		{"its LimitRange at the platform's defaults", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().LimitRanges(ns).Create(ctx, limitRange(ns, "500m"), create)
			return err
		}},
		{"raise its ResourceQuota's pods above the platform's", false, "pods must be set and at most 40", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().ResourceQuotas(ns).Patch(ctx, guardrails.EnvironmentQuotaName, mergePatch, []byte(`{"spec":{"hard":{"pods":"400"}}}`), metav1.PatchOptions{})
			return err
		}},
		{"lower its ResourceQuota's pods", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().ResourceQuotas(ns).Patch(ctx, guardrails.EnvironmentQuotaName, mergePatch, []byte(`{"spec":{"hard":{"pods":"30"}}}`), metav1.PatchOptions{})
			return err
		}},
		{"delete its ResourceQuota", false, "may not delete its quota or limits", func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().ResourceQuotas(ns).Delete(ctx, guardrails.EnvironmentQuotaName, metav1.DeleteOptions{})
		}},
		{"delete its LimitRange", false, "may not delete its quota or limits", func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().LimitRanges(ns).Delete(ctx, guardrails.EnvironmentLimitsName, metav1.DeleteOptions{})
		}},
	}
	rows = append(rows, secretReads(ns)...)
	rows = append(rows, isolationAttacks(ns, host)...)
	for _, h := range foreignHosts(host, envDomain) {
		rows = append(rows, attack{"an Ingress for " + h.host + " (" + h.what + ")", false, "every rule needs a host <app>-pr-42." + envDomain, func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.NetworkingV1().Ingresses(ns).Create(ctx, ingressFor(ns, "grab", "traefik", h.host), create)
			return err
		}})
	}
	rows = append(rows, []attack{
		{"its app's Deployment", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "web", 2, ""), create)
			return err
		}},
		{"a ConfigMap, a PodDisruptionBudget and a NetworkPolicy of its own", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			if _, err := c.CoreV1().ConfigMaps(ns).Create(ctx, configMap(ns, "web-httpd"), create); err != nil {
				return err
			}
			if _, err := c.PolicyV1().PodDisruptionBudgets(ns).Create(ctx, budget(ns, "web", intstr.FromInt32(1)), create); err != nil {
				return err
			}
			_, err := c.NetworkingV1().NetworkPolicies(ns).Create(ctx, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "default-deny"}, Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{"Ingress"}}}, create)
			return err
		}},
		{"a Service of type LoadBalancer", false, "only ClusterIP Services, not LoadBalancer", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Services(ns).Create(ctx, service(ns, "lb", corev1.ServiceTypeLoadBalancer), create)
			return err
		}},
		{"a Service of type NodePort", false, "only ClusterIP Services, not NodePort", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Services(ns).Create(ctx, service(ns, "np", corev1.ServiceTypeNodePort), create)
			return err
		}},
		{"a ClusterIP Service with externalIPs", false, "may not set externalIPs", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Services(ns).Create(ctx, service(ns, "ext", corev1.ServiceTypeClusterIP, func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"203.0.113.10"} }), create)
			return err
		}},
		{"an ExternalName Service to the API server", false, "only ClusterIP Services, not ExternalName", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Services(ns).Create(ctx, service(ns, "api", corev1.ServiceTypeExternalName), create)
			return err
		}},
		{"its app's ClusterIP Service", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Services(ns).Create(ctx, service(ns, "web", corev1.ServiceTypeClusterIP), create)
			return err
		}},
		{"an Ingress of another ingress class", false, "ingressClassName must be traefik", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.NetworkingV1().Ingresses(ns).Create(ctx, ingressFor(ns, "grab", "other", host), create)
			return err
		}},
		{"an Ingress routed to the controller's own entry point by annotation", false, "may not set controller annotations", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.NetworkingV1().Ingresses(ns).Create(ctx, ingressFor(ns, "grab", "traefik", host, func(i *networkingv1.Ingress) {
				i.Annotations = map[string]string{"traefik.ingress.kubernetes.io/router.entrypoints": "traefik"}
			}), create)
			return err
		}},
		{"an Ingress with a default backend", false, "may not set a default backend", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.NetworkingV1().Ingresses(ns).Create(ctx, ingressFor(ns, "grab", "traefik", host, func(i *networkingv1.Ingress) {
				i.Spec.DefaultBackend = i.Spec.Rules[0].HTTP.Paths[0].Backend.DeepCopy()
			}), create)
			return err
		}},
		{"its app's Ingress at web-pr-42." + envDomain, true, "", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.NetworkingV1().Ingresses(ns).Create(ctx, ingressFor(ns, "web", "traefik", host), create)
			return err
		}},
	}...)
	rows = append(rows, routeAttacks(ns, host, envDomain)...)
	return append(rows, []attack{
		// What the awaits and env check read.
		{"list and watch its Pods, ReplicaSets, PVCs, Endpoints, EndpointSlices and Events", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			list := metav1.ListOptions{}
			for _, f := range []func() error{
				func() error { _, err := c.CoreV1().Pods(ns).List(ctx, list); return err },
				func() error { _, err := c.AppsV1().ReplicaSets(ns).List(ctx, list); return err },
				func() error { _, err := c.CoreV1().PersistentVolumeClaims(ns).List(ctx, list); return err },
				func() error { _, err := c.CoreV1().Endpoints(ns).List(ctx, list); return err },
				func() error { _, err := c.DiscoveryV1().EndpointSlices(ns).List(ctx, list); return err },
				func() error { _, err := c.CoreV1().Events(ns).List(ctx, list); return err },
				func() error {
					w, err := c.CoreV1().PersistentVolumeClaims(ns).Watch(ctx, list)
					if err == nil {
						w.Stop()
					}
					return err
				},
			} {
				if err := f(); err != nil {
					return err
				}
			}
			return nil
		}},
		// Never: Secrets, RBAC, admission, cluster-wide objects.
		{"list Secrets in every namespace", false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch Secrets in every namespace", false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
			w, err := c.CoreV1().Secrets("").Watch(ctx, metav1.ListOptions{})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"bind cluster-admin in its own namespace", false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.RbacV1().RoleBindings(ns).Create(ctx, platformRoleBinding(ns), create)
			return err
		}},
		{"create a ClusterRole", false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "grab"}}, create)
			return err
		}},
		{"delete an admission policy binding", false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
			return c.AdmissionregistrationV1().ValidatingAdmissionPolicyBindings().Delete(ctx, "outside-in-environments-confined", metav1.DeleteOptions{})
		}},
		{"create a validating webhook", false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "grab"}}, create)
			return err
		}},
		{"create a PersistentVolume on the host", false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().PersistentVolumes().Create(ctx, &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "grab"}, Spec: corev1.PersistentVolumeSpec{
				Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}, AccessModes: []corev1.PersistentVolumeAccessMode{"ReadWriteOnce"},
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}},
			}}, create)
			return err
		}},
		{"create a CustomResourceDefinition", false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
			return c.Discovery().RESTClient().Post().AbsPath("/apis/apiextensions.k8s.io/v1/customresourcedefinitions").
				Body([]byte(`{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition","metadata":{"name":"grabs.example.com"}}`)).Do(ctx).Error()
		}},
		{"list the nodes", false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
			_, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			return err
		}},
		// env down: its objects, then its namespace.
		{"delete its app's Deployment", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			return c.AppsV1().Deployments(ns).Delete(ctx, "web", metav1.DeleteOptions{})
		}},
		{"delete its namespace", true, "", func(ctx context.Context, c kubernetes.Interface) error {
			return c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		}},
	}...)
}

// The environments identity, with a client certificate of its own (what the k3s platform hands
// environments, and what the EKS access entry of the CI environments role maps to: the group
// and nothing else), on a real control plane with three nodes, the platform's RBAC, admission
// policies and PriorityClasses applied and the controller's pods running as the chart runs
// them: refused every row of environmentAttacks that it must be, each with the API server's
// own message, and allowed everything an environment's lifecycle needs. Then what only a
// running control plane shows: the controller kept every pod through the attacks (none
// preempted) and outranks the environment's; the LimitRange and the quota (enforced by the real
// quota controller) hold; draining a node holding the environment's pods finishes.
func TestEnvironmentsIdentityOnTheControlPlane(t *testing.T) {
	t.Parallel()
	cp := startControlPlaneWithGatewayAPI(t)
	ctx := t.Context()
	require.NoError(t, cp.AddNodes(ctx, []kubeapi.Node{
		{Name: "node-a", CPU: "4", Memory: "16Gi", Pods: 110},
		{Name: "node-b", CPU: "4", Memory: "16Gi", Pods: 110},
		{Name: "node-c", CPU: "4", Memory: "16Gi", Pods: 110},
	}))
	platformState(t, cp.Server)
	res := run(t, stack(t, "platform"))
	objs, err := res.KubernetesObjects()
	require.NoError(t, err)
	c := clientAs(t, cp.Server, "ci-pr-42", guardrails.EnvironmentsGroup)
	applyGuardrails(t, cp.Server, objs, c)
	kube := cp.Clientset()
	replicas := startController(t, cp, kube, controllerStandIn(t, res))
	waitQuotaCounts(t, kube, "count/httproutes."+guardrails.GatewayAPIGroup)

	const ns = "env-pr-42"
	rows := environmentAttacks(envDomain)
	last := len(rows) - 2 // keep web and the namespace until the quota has been seen to hold
	runAttacks(t, c, rows[:last])

	// The preemption lock-out was refused, and nothing else displaced the controller.
	assertControllerServing(t, kube, replicas, 5*time.Second)
	waitRolledOut(t, kube, ns+"/web", "the environment's app")
	assertOutranks(t, kube, ns, "web")
	limitRangeRefusesLargeDisk(t, c, ns)

	// The quota (lowered to 30 pods above) holds what a Deployment asks for: beside web's pods
	// the controller manager's ReplicaSet makes what the quota leaves, the quota admission
	// refuses the rest. The quota admission judges by the quota's status, which the quota
	// controller keeps: wait for it to have taken the lowered limit.
	admin := kube.CoreV1().ResourceQuotas(ns)
	pods := func(q *corev1.ResourceQuota, of corev1.ResourceList) int64 {
		v := of[corev1.ResourcePods]
		return v.Value()
	}
	require.Eventually(t, func() bool {
		q, err := admin.Get(ctx, guardrails.EnvironmentQuotaName, metav1.GetOptions{})
		return err == nil && pods(q, q.Status.Hard) == 30 && pods(q, q.Status.Used) == 2
	}, time.Minute, 200*time.Millisecond, "the quota controller takes the lowered limit and counts web's 2 pods")
	_, err = c.AppsV1().Deployments(ns).Create(ctx, deployment(ns, "many", 35, ""), create)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		q, err := admin.Get(ctx, guardrails.EnvironmentQuotaName, metav1.GetOptions{})
		return err == nil && pods(q, q.Status.Used) == 30
	}, time.Minute, 200*time.Millisecond, "the quota controller counts 30 pods")
	time.Sleep(2 * time.Second) // the ReplicaSet keeps trying; the quota keeps refusing
	many, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=many"})
	require.NoError(t, err)
	assert.Equal(t, 28, len(many.Items), "35 asked for, 28 allowed beside web's 2")
	// The ReplicaSet controller records its refusals as events, on its own time; on a busy
	// machine the quota admission may also time out first, and the controller tries again.
	var exceeded string
	var seen []string
	for deadline := time.Now().Add(time.Minute); exceeded == "" && time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "reason=FailedCreate"})
		require.NoError(t, err)
		seen = seen[:0]
		for _, e := range events.Items {
			seen = append(seen, e.Message)
			if strings.Contains(e.Message, "exceeded quota") {
				exceeded = e.Message
			}
		}
	}
	assert.NotEmpty(t, exceeded, "a FailedCreate event says the quota was exceeded; the FailedCreate events: %q", seen)
	t.Logf("refused  pod 29 of 35: %s", exceeded)

	// The quota has been seen to hold; many goes, so that the drain below is about the drain: with
	// the quota full, many's ReplicaSet, still asking for 7 more, could take the slot web's
	// evicted pod frees.
	require.NoError(t, c.AppsV1().Deployments(ns).Delete(ctx, "many", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		q, err := admin.Get(ctx, guardrails.EnvironmentQuotaName, metav1.GetOptions{})
		return err == nil && pods(q, q.Status.Used) == 2
	}, time.Minute, 200*time.Millisecond, "many's pods are gone and the quota counts web's 2 again")

	// A drain of the node holding the most of the environment's pods, as kubectl drain does
	// (through the eviction API, retrying what a budget refuses), finishes; the controller's pods
	// on it go too, within its budget.
	node := busiestNode(t, kube, []string{ns})
	drain(t, kube, node, []string{ns, ingress.ControllerNamespace})
	waitRolledOut(t, kube, ns+"/web", "after draining "+node)
	waitRolledOut(t, kube, ingress.ControllerNamespace+"/controller-stand-in", "after draining "+node)
	t.Logf("drained  %s: every pod of %s and %s evicted, web and the controller back at all their replicas", node, ns, ingress.ControllerNamespace)

	fillToQuota(t, c, kube, ns, envDomain)
	runAttacks(t, c, rows[last:])
}

// The same table on a k3s platform: a real API server with the credentials the k3s stack
// generates, the platform's guardrails applied, and the environments client certificate the
// stack generates (what its environmentKubeconfig output holds) as the identity. No
// controller runs here; the quota's enforcement is the control plane test's.
func TestK3sEnvironmentsCertificateIsConfinedOnAPIServer(t *testing.T) {
	t.Parallel()
	res := run(t, with(stack(t, "k3s"), map[string]string{"envDomain": k3sEnvDomain, "loadBalancer": "nlb"}))
	c := readK3s(t, res)
	srv := k3sAPIServer(t, c)
	platformState(t, srv)
	objs, err := res.KubernetesObjects()
	require.NoError(t, err)
	envKubeconfig := text(t, res.Exports["environmentKubeconfig"].Value)
	cfg, err := clientcmd.Load([]byte(envKubeconfig))
	require.NoError(t, err)
	cl := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	cl.Server = srv.Config().Host
	cl.TLSServerName = c.apiHost
	local, err := clientcmd.Write(*cfg)
	require.NoError(t, err)
	env := clientOf(t, local)
	applyGuardrails(t, srv, objs, env)
	runAttacks(t, env, environmentAttacks(k3sEnvDomain))
}

// secretReads are the Secret reads an environment's credentials (a pull request's) are refused
// in every namespace that holds the platform's objects, its own and a neighbour's included: a
// read of a Secret is a write of whatever it opens.
func secretReads(own string) []attack {
	var rows []attack
	for _, ns := range []string{"kube-system", "kube-public", "kube-node-lease", "default", ingress.ControllerNamespace, "www", own, "env-pr-43"} {
		rows = append(rows,
			attack{"get a Secret in " + ns, false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
				_, err := c.CoreV1().Secrets(ns).Get(ctx, "platform-secret", metav1.GetOptions{})
				return err
			}},
			attack{"list Secrets in " + ns, false, "forbidden", func(ctx context.Context, c kubernetes.Interface) error {
				_, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
				return err
			}},
		)
	}
	return rows
}
