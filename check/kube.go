package check

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

type kubeClient struct {
	c kubernetes.Interface
	// dyn reads the Gateway API's objects, which have no typed client here.
	dyn dynamic.Interface
}

func newKubeClient(t target, opts Options) (*kubeClient, error) {
	cfg := opts.Kubernetes
	if cfg == nil {
		if t.kubeconfig == "" {
			return nil, fmt.Errorf("the outputs have no %s to reach the cluster with", outKubeconfig)
		}
		var err error
		if cfg, err = clientcmd.RESTConfigFromKubeConfig([]byte(t.kubeconfig)); err != nil {
			return nil, fmt.Errorf("the %s output does not load: %w", outKubeconfig, err)
		}
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("a Kubernetes client for %s: %w", cfg.Host, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("a Kubernetes client for %s: %w", cfg.Host, err)
	}
	return &kubeClient{c: c, dyn: dyn}, nil
}

// controllerState is the cluster's side of the targets: the entry Service, and on which nodes
// (by instance) a ready controller endpoint is.
type controllerState struct {
	service *corev1.Service
	// readyOn are the nodes with a ready local endpoint of the entry Service.
	readyOn map[string]bool
	// nodes are the cluster's nodes by name.
	nodes map[string]*corev1.Node
	// instanceOf maps a node name to its EC2 instance id, byInstance the reverse.
	instanceOf, byInstance map[string]string
}

func (k *kubeClient) controller(ctx context.Context, t target) (*controllerState, error) {
	s := &controllerState{readyOn: map[string]bool{}, nodes: map[string]*corev1.Node{}, instanceOf: map[string]string{}, byInstance: map[string]string{}}
	svc, err := k.c.CoreV1().Services(t.controllerNS).Get(ctx, entryService, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading Service %s/%s: %w", t.controllerNS, entryService, err)
	}
	s.service = svc
	slices, err := k.c.DiscoveryV1().EndpointSlices(t.controllerNS).List(ctx, metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + entryService,
	})
	if err != nil {
		return nil, fmt.Errorf("listing the EndpointSlices of %s/%s: %w", t.controllerNS, entryService, err)
	}
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			if ep.NodeName != nil && ready(ep) {
				s.readyOn[*ep.NodeName] = true
			}
		}
	}
	nodes, err := k.c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		s.nodes[n.Name] = n
		if id := instanceID(n.Spec.ProviderID); id != "" {
			s.instanceOf[n.Name] = id
			s.byInstance[id] = n.Name
		}
	}
	return s, nil
}

// ready is an endpoint's readiness as kube-proxy counts it: a missing condition means ready.
func ready(ep discoveryv1.Endpoint) bool {
	return ep.Conditions.Ready == nil || *ep.Conditions.Ready
}

// instanceID is the EC2 instance id of an AWS provider id, aws:///eu-central-1a/i-0123.
func instanceID(providerID string) string {
	if !strings.HasPrefix(providerID, "aws://") {
		return ""
	}
	i := strings.LastIndex(providerID, "/")
	if id := providerID[i+1:]; strings.HasPrefix(id, "i-") {
		return id
	}
	return ""
}

// kubeFailure is a hop that could not read the cluster.
func kubeFailure(hop string, err error) Hop {
	cause := "the check could not read the cluster (its API endpoint admits only adminCidrs, or the credentials cannot read)"
	var status interface{ Status() metav1.Status }
	if errors.As(err, &status) && status.Status().Reason == metav1.StatusReasonForbidden {
		cause = "the credentials may not read what the check needs (nodes, Services, EndpointSlices, Ingresses or the Gateway and HTTPRoutes, Deployments, PodDisruptionBudgets)"
	}
	return failed(hop, []string{err.Error()}, cause,
		"run from an address in adminCidrs with a role that has AmazonEKSAdminViewPolicy in the cluster (the platform's ciReadOnlyRoleArn), or a kubeconfig that reads everything")
}

// nodeAddress is a node's InternalIP.
func nodeAddress(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}
