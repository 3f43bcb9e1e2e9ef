package tests

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/offline/kubeapi"
)

// The workloads policy judges every kind that makes pods, not only the Deployments the
// environments group is granted today: should a rule ever grant pods, ReplicaSets, StatefulSets,
// DaemonSets, Jobs or CronJobs, each is held to the same placement and priority. Tried on a real
// API server as an identity of the environments group that a second group grants those kinds
// (RBAC is a union; the policy matches the environments group), each as a server-side dry run.
func TestEveryPodKindIsJudgedOnAPIServer(t *testing.T) {
	t.Parallel()
	srv := kubeapi.Start(t)
	ctx := t.Context()
	platformState(t, srv)
	res := run(t, stack(t, "platform"))
	objs, err := res.KubernetesObjects()
	require.NoError(t, err)
	const ns, more = "env-pr-42", "outside-in-test:more-kinds"
	applyGuardrails(t, srv, objs, clientAs(t, srv, "ci-pr-42", guardrails.EnvironmentsGroup))

	admin := srv.Clientset()
	require.NoError(t, srv.EnsureNamespace(ctx, ns, map[string]string{"pod-security.kubernetes.io/enforce": "restricted", guardrails.EnvironmentLabel: "pr-42"}))
	_, err = admin.CoreV1().ResourceQuotas(ns).Create(ctx, quota(ns, withQuota(nil)), create)
	require.NoError(t, err)
	_, err = admin.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "more-kinds", Namespace: ns},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "replicationcontrollers"}, Verbs: []string{"create"}},
			{APIGroups: []string{"apps"}, Resources: []string{"replicasets", "statefulsets", "daemonsets"}, Verbs: []string{"create"}},
			{APIGroups: []string{"batch"}, Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"create"}},
		},
	}, create)
	require.NoError(t, err)
	_, err = admin.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "more-kinds", Namespace: ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: "more-kinds"},
		Subjects:   []rbacv1.Subject{{Kind: "Group", Name: more}},
	}, create)
	require.NoError(t, err)
	c := clientAs(t, srv, "ci-pr-42", guardrails.EnvironmentsGroup, more)

	// Each kind, made from the same pod template, as the environment would send it.
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	kinds := []struct {
		kind   string
		create func(ctx context.Context, c kubernetes.Interface, name string, tmpl corev1.PodTemplateSpec) error
	}{
		{"Pod", func(ctx context.Context, c kubernetes.Interface, name string, tmpl corev1.PodTemplateSpec) error {
			_, err := c.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: tmpl.Labels}, Spec: tmpl.Spec}, dry)
			return err
		}},
		{"ReplicationController", func(ctx context.Context, c kubernetes.Interface, name string, tmpl corev1.PodTemplateSpec) error {
			_, err := c.CoreV1().ReplicationControllers(ns).Create(ctx, &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: corev1.ReplicationControllerSpec{Selector: tmpl.Labels, Template: &tmpl}}, dry)
			return err
		}},
		{"ReplicaSet", func(ctx context.Context, c kubernetes.Interface, name string, tmpl corev1.PodTemplateSpec) error {
			_, err := c.AppsV1().ReplicaSets(ns).Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: appsv1.ReplicaSetSpec{Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl}}, dry)
			return err
		}},
		{"StatefulSet", func(ctx context.Context, c kubernetes.Interface, name string, tmpl corev1.PodTemplateSpec) error {
			_, err := c.AppsV1().StatefulSets(ns).Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: appsv1.StatefulSetSpec{Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl}}, dry)
			return err
		}},
		{"DaemonSet", func(ctx context.Context, c kubernetes.Interface, name string, tmpl corev1.PodTemplateSpec) error {
			_, err := c.AppsV1().DaemonSets(ns).Create(ctx, &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: tmpl.Labels}, Template: tmpl}}, dry)
			return err
		}},
		{"Job", func(ctx context.Context, c kubernetes.Interface, name string, tmpl corev1.PodTemplateSpec) error {
			tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
			tmpl.Labels = nil // a Job selects its pods by labels of its own
			_, err := c.BatchV1().Jobs(ns).Create(ctx, &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: batchv1.JobSpec{Template: tmpl}}, dry)
			return err
		}},
		{"CronJob", func(ctx context.Context, c kubernetes.Interface, name string, tmpl corev1.PodTemplateSpec) error {
			tmpl.Spec.RestartPolicy = corev1.RestartPolicyNever
			tmpl.Labels = nil
			_, err := c.BatchV1().CronJobs(ns).Create(ctx, &batchv1.CronJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Spec: batchv1.CronJobSpec{Schedule: "0 * * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}, dry)
			return err
		}},
	}
	// What each kind is tried with: one of the placements and priorities the policy refuses.
	faults := []struct {
		name, refusal string
		mutate        func(*corev1.PodSpec)
	}{
		{"at system-node-critical", "priorityClassName system-node-critical is not allowed", func(s *corev1.PodSpec) { s.PriorityClassName = "system-node-critical" }},
		{"pinned by nodeName", "nodeName node-a is not allowed", func(s *corev1.PodSpec) { s.NodeName = "node-a" }},
		{"tolerating CriticalAddonsOnly", "may tolerate only", func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists}}
		}},
		{"repelling Traefik in every namespace", "may not set namespaceSelector", func(s *corev1.PodSpec) {
			s.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector:     &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "traefik"}},
				NamespaceSelector: &metav1.LabelSelector{},
				TopologyKey:       "kubernetes.io/hostname",
			}}}}
		}},
		{"on a host name", "may not select a node by host name or role", func(s *corev1.PodSpec) {
			s.NodeSelector = map[string]string{"kubernetes.io/hostname": "node-a"}
		}},
	}
	var rows []attack
	for _, k := range kinds {
		rows = append(rows, attack{name: "a plain " + k.kind, allowed: true, do: func(ctx context.Context, c kubernetes.Interface) error {
			return k.create(ctx, c, "plain", deployment(ns, "plain", 1, "").Spec.Template)
		}})
		for _, f := range faults {
			rows = append(rows, attack{name: "a " + k.kind + " " + f.name, refusal: f.refusal, do: func(ctx context.Context, c kubernetes.Interface) error {
				tmpl := deployment(ns, "bad", 1, "").Spec.Template
				f.mutate(&tmpl.Spec)
				return k.create(ctx, c, "bad", tmpl)
			}})
		}
	}
	runAttacks(t, c, rows)
}
