package kubeapi_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
	// Each pod's address lies in its node's pod CIDR, and has a loopback image a test may serve.
	for _, p := range pods.Items {
		node, err := cp.Clientset().CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		require.NoError(t, err)
		cidr := netip.MustParsePrefix(node.Spec.PodCIDR)
		ip := netip.MustParseAddr(p.Status.PodIP)
		assert.True(t, cidr.Contains(ip), "pod %s at %s, node %s has %s", p.Name, ip, node.Name, cidr)
		lo, ok := kubeapi.PodAddressOnLoopback(ip)
		assert.True(t, ok && lo.IsLoopback(), "%s on loopback: %s", ip, lo)
	}
	// A Service's EndpointSlice lists the pods at those addresses, as an ingress controller
	// reads them.
	_, err = cp.Clientset().CoreV1().Services("cp").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Port: 80}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	want := []string{pods.Items[0].Status.PodIP, pods.Items[1].Status.PodIP}
	var got []string
	require.Eventually(t, func() bool {
		slices, err := cp.Clientset().DiscoveryV1().EndpointSlices("cp").List(ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=x"})
		if err != nil {
			return false
		}
		got = nil
		for _, s := range slices.Items {
			for _, e := range s.Endpoints {
				got = append(got, e.Addresses...)
			}
		}
		return assert.ObjectsAreEqualValues(len(want), len(got))
	}, 30*time.Second, 100*time.Millisecond, "the Service's endpoints")
	assert.ElementsMatch(t, want, got)
}
