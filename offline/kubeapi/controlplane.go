package kubeapi

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// ControlPlane is a whole control plane on loopback: the API server and etcd of Server, the
// controller manager (Deployments roll, ReplicaSets make Pods, the quota, namespace, endpoint,
// disruption and node lifecycle controllers run), the scheduler with its default plugins, and
// KWOK, which plays the kubelet of every node made with AddNodes: it marks them Ready, keeps
// their leases, and makes every Pod scheduled to them Running and Ready (and deletes it when
// it is deleted) without a container runtime. Nothing else runs: no kube-proxy, no CNI, no
// cloud controller (so no Service ever gets a load balancer).
type ControlPlane struct {
	*Server
	controllers, scheduler, kwok *process
}

// KWOKAnnotation marks the nodes KWOK manages.
const KWOKAnnotation = "kwok.x-k8s.io/node"

// StartControlPlane starts a control plane of the test's own; it stops when the test ends.
func StartControlPlane(t testing.TB) *ControlPlane {
	t.Helper()
	return StartControlPlaneWith(t, nil)
}

// StartControlPlaneWith is StartControlPlane with before run on the API server before the
// controllers start: CRDs installed there are known to the controllers from their start (the
// quota controller finds kinds added later only every 30 seconds).
func StartControlPlaneWith(t testing.TB, before func(*Server) error) *ControlPlane {
	t.Helper()
	bins, err := findBinaries()
	if err == nil {
		bins.controllers, bins.scheduler, bins.kwok, err = controlPlaneBinaries(filepath.Dir(bins.apiserver))
	}
	if err != nil {
		if os.Getenv(EnvSkip) == "1" {
			t.Skipf("kubeapi: skipping, %s=1 and %v", EnvSkip, err)
		}
		t.Fatalf("kubeapi: %v\nRun scripts/install-kube-tools.sh (or `make tools`).", err)
	}
	begin := time.Now()
	srv, err := startServer(bins, nil)
	if err != nil {
		t.Fatalf("kubeapi: %v", err)
	}
	cp := &ControlPlane{Server: srv}
	t.Cleanup(cp.stop)
	if before != nil {
		if err := before(srv); err != nil {
			t.Fatalf("kubeapi: before the controllers: %v", err)
		}
	}
	if err := cp.startComponents(bins); err != nil {
		t.Fatalf("kubeapi: %v\n%s", err, cp.logTails())
	}
	t.Logf("kubeapi: control plane at %s ready after %s (files in %s)", srv.host, time.Since(begin).Round(time.Millisecond), srv.dir)
	return cp
}

// controlPlaneBinaries finds the other control-plane binaries beside kube-apiserver.
func controlPlaneBinaries(dir string) (controllers, scheduler, kwok string, err error) {
	paths := []string{filepath.Join(dir, "kube-controller-manager"), filepath.Join(dir, "kube-scheduler"), filepath.Join(dir, "kwok")}
	for _, p := range paths {
		if fi, statErr := os.Stat(p); statErr != nil || fi.Mode()&0o111 == 0 {
			return "", "", "", fmt.Errorf("missing executable %s", p)
		}
	}
	return paths[0], paths[1], paths[2], nil
}

func (cp *ControlPlane) startComponents(bins binaries) error {
	kubeconfig := filepath.Join(cp.dir, "admin.kubeconfig")
	data, err := cp.AdminKubeconfig()
	if err != nil {
		return err
	}
	if err := os.WriteFile(kubeconfig, data, 0o600); err != nil {
		return err
	}
	stages := filepath.Join(cp.dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages), 0o600); err != nil {
		return err
	}
	if cp.controllers, err = startProcess("kube-controller-manager", bins.controllers, []string{
		"--kubeconfig=" + kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=false",
		"--service-account-private-key-file=" + cp.pki.saKeyFile,
		"--root-ca-file=" + cp.pki.caFile,
		// Certificate signing and cloud routes have nothing to do here.
		"--controllers=*,-certificatesigningrequest-signing-controller,-node-ipam-controller,-node-route-controller,-service-lb-controller,-cloud-node-lifecycle-controller",
		// A drained node's pods are evicted through the API; nodes that stop renewing their
		// lease (none here) would be tainted at once instead of after 5 minutes.
		"--node-monitor-grace-period=20s",
		"--concurrent-deployment-syncs=10",
		"--concurrent-replicaset-syncs=10",
	}, filepath.Join(cp.dir, "kube-controller-manager.log")); err != nil {
		return err
	}
	if cp.scheduler, err = startProcess("kube-scheduler", bins.scheduler, []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--secure-port=0",
		"--leader-elect=false",
	}, filepath.Join(cp.dir, "kube-scheduler.log")); err != nil {
		return err
	}
	if cp.kwok, err = startProcess("kwok", bins.kwok, []string{
		"--kubeconfig=" + kubeconfig,
		"--config=" + stages,
		"--manage-nodes-with-annotation-selector=" + KWOKAnnotation + "=fake",
		"--cidr=10.244.0.0/16",
		"--node-ip=10.0.0.1",
		"--node-lease-duration-seconds=40",
	}, filepath.Join(cp.dir, "kwok.log")); err != nil {
		return err
	}
	// The controller manager is up once it has made a namespace's default service account.
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	probe := "kube-controllers-probe"
	if _, err := cp.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: probe}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for _, p := range []*process{cp.controllers, cp.scheduler, cp.kwok} {
			if done, err := p.exited(); done {
				return false, fmt.Errorf("%s exited during startup: %v", p.name, err)
			}
		}
		_, err := cp.client.CoreV1().ServiceAccounts(probe).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("the controller manager made no service account within %s: %w", readyTimeout, err)
	}
	return cp.client.CoreV1().Namespaces().Delete(ctx, probe, metav1.DeleteOptions{})
}

func (cp *ControlPlane) logTails() string {
	out := cp.Server.logTails()
	for _, p := range []*process{cp.controllers, cp.scheduler, cp.kwok} {
		if p != nil {
			out += p.logTail(logTailLines)
		}
	}
	return out
}

func (cp *ControlPlane) stop() {
	for _, p := range []*process{cp.kwok, cp.scheduler, cp.controllers} {
		if p != nil {
			p.stop(stopGrace)
		}
	}
	cp.Server.stop()
}

// Node is one node of a node set, shaped like a cluster mode's.
type Node struct {
	Name   string
	Labels map[string]string
	Taints []corev1.Taint
	// CPU, Memory and EphemeralStorage are the node's allocatable resources ("2", "7Gi",
	// "20Gi"; storage defaults to 20Gi); Pods its pod capacity.
	CPU, Memory, EphemeralStorage string
	Pods                          int
	// PodCIDR is where KWOK gives the node's pods their addresses (it reads spec.podCIDR, as a
	// CNI plugin does); empty: a /24 of its own (NodePodCIDR).
	PodCIDR string
}

// AddNodes registers the nodes for KWOK to run, and waits until every one is Ready.
func (cp *ControlPlane) AddNodes(ctx context.Context, nodes []Node) error {
	for _, n := range nodes {
		storage := n.EphemeralStorage
		if storage == "" {
			storage = "20Gi"
		}
		res := corev1.ResourceList{
			corev1.ResourceCPU:              resource.MustParse(n.CPU),
			corev1.ResourceMemory:           resource.MustParse(n.Memory),
			corev1.ResourceEphemeralStorage: resource.MustParse(storage),
			corev1.ResourcePods:             *resource.NewQuantity(int64(n.Pods), resource.DecimalSI),
		}
		labels := map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "type": "kwok"}
		for k, v := range n.Labels {
			labels[k] = v
		}
		cidr := n.PodCIDR
		if cidr == "" {
			cidr = NodePodCIDR().String()
		}
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels, Annotations: map[string]string{KWOKAnnotation: "fake"}},
			Spec:       corev1.NodeSpec{Taints: n.Taints, PodCIDR: cidr, PodCIDRs: []string{cidr}},
			Status:     corev1.NodeStatus{Capacity: res, Allocatable: res},
		}
		if _, err := cp.client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		for _, n := range nodes {
			got, err := cp.client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil || !nodeReady(got) {
				return false, nil
			}
		}
		return true, nil
	})
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
