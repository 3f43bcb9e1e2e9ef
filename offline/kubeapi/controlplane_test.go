package kubeapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/outside-in/outside-in/offline/kubeapi"
)

// The control plane schedules and runs a Deployment on KWOK's nodes: the controller manager
// makes its ReplicaSet and Pods, the scheduler binds them, KWOK makes them Ready, and the
// Deployment becomes Available; its Pods are spread over both nodes.
func TestControlPlaneRunsADeployment(t *testing.T) {
	cp := kubeapi.StartControlPlane(t)
	ctx := t.Context()
	require.NoError(t, cp.AddNodes(ctx, []kubeapi.Node{
		{Name: "a", CPU: "2", Memory: "4Gi", Pods: 20},
		{Name: "b", CPU: "2", Memory: "4Gi", Pods: 20},
	}))
	require.NoError(t, cp.EnsureNamespace(ctx, "cp", nil))
	labels := map[string]string{"app": "x"}
	_, err := cp.Clientset().AppsV1().Deployments("cp").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{Name: "c", Image: "example.test/x:1"}},
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.DoNotSchedule,
						LabelSelector: &metav1.LabelSelector{MatchLabels: labels},
					}},
				},
			},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	begin := time.Now()
	require.NoError(t, wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := cp.Clientset().AppsV1().Deployments("cp").Get(ctx, "x", metav1.GetOptions{})
		return err == nil && d.Status.AvailableReplicas == 2, nil
	}))
	t.Logf("available after %s", time.Since(begin))
	pods, err := cp.Clientset().CoreV1().Pods("cp").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, pods.Items, 2)
	require.NotEqual(t, pods.Items[0].Spec.NodeName, pods.Items[1].Spec.NodeName)
	require.NotEmpty(t, pods.Items[0].Status.PodIP)
}
