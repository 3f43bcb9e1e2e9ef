package check

import (
	"context"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/outside-in/outside-in/ingress"
)

// ingressHop checks the host's side of the cluster: the Ingress for the host, claimed by the
// controller's class and admitted (its status names the load balancer); the Service it routes
// to with ready endpoints; the Deployment behind the Service available; a PodDisruptionBudget
// that allows a disruption. A stack that routes through the Gateway API has its Gateway and
// HTTPRoute in place of the Ingress (gatewayHop).
func (w *walk) ingressHop(ctx context.Context, h host) Hop {
	if w.t.routing == ingress.RoutingGateway {
		return w.gatewayHop(ctx, h)
	}
	if w.kubeErr != nil {
		return kubeFailure(HopIngress, w.kubeErr)
	}
	c := w.kube.c
	list, err := c.NetworkingV1().Ingresses(w.t.namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return kubeFailure(HopIngress, fmt.Errorf("listing Ingresses: %w", err))
	}
	ing, backend := ingressFor(list.Items, h.host)
	where := "any namespace"
	if w.t.namespace != "" {
		where = "namespace " + w.t.namespace
	}
	if ing == nil {
		return failed(HopIngress, []string{fmt.Sprintf("no Ingress in %s has a rule for host %s (%d Ingresses seen)", where, h.host, len(list.Items))},
			"no Ingress for the host: the controller has no route to the app, and answers 404",
			"run `pulumi up` (or `env up`) again, which declares the app's Ingress; `kubectl get ingress -A` shows what exists")
	}
	ns := ing.Namespace
	ev := []string{fmt.Sprintf("Ingress %s/%s: class %s", ns, ing.Name, className(ing))}
	if className(ing) != w.t.ingressClass {
		return failed(HopIngress, ev, fmt.Sprintf("the Ingress is not of the controller's class %s: no controller serves it", w.t.ingressClass),
			"set spec.ingressClassName to "+w.t.ingressClass+" (`pulumi up --refresh` restores the stack's)")
	}
	var published []string
	for _, s := range ing.Status.LoadBalancer.Ingress {
		published = append(published, s.Hostname+s.IP)
	}
	if len(published) == 0 {
		return failed(HopIngress, append(ev, "no address in its status"),
			"the controller has not admitted the Ingress: it is not running, or does not watch its class or namespace",
			fmt.Sprintf("`kubectl -n %s logs deploy/traefik` shows what the controller says of the Ingress", w.t.controllerNS))
	}
	ev[0] += ", status " + strings.Join(published, " ")
	want := w.t.loadBalancerDNS
	if want != "" && !containsName(published, want) {
		return failed(HopIngress, append(ev, "the stack's load balancer is "+want),
			"the controller publishes another address than the stack's load balancer: it is another stack's controller, or its chart values are stale",
			"run `pulumi up --refresh`, which sets the controller's published hostname")
	}
	if backend == nil {
		return failed(HopIngress, append(ev, "its rule for the host has no Service backend"), "the Ingress routes the host to no Service",
			"run `pulumi up --refresh` to restore the app's Ingress")
	}
	return w.backendHop(ctx, ev, ns, backend.Name, "Ingress")
}

// backendHop continues the ingress hop behind the host's route (an Ingress or an HTTPRoute,
// named by kind): the Service it sends to with ready endpoints, the Deployment behind the
// Service available, a PodDisruptionBudget that allows a disruption.
func (w *walk) backendHop(ctx context.Context, ev []string, ns, service, kind string) Hop {
	c := w.kube.c
	svc, err := c.CoreV1().Services(ns).Get(ctx, service, metav1.GetOptions{})
	if err != nil {
		return failed(HopIngress, append(ev, fmt.Sprintf("Service %s/%s: %v", ns, service, err)),
			"the Service the "+kind+" routes to is missing", "run `pulumi up` to restore the app's Service")
	}
	readyEndpoints, total, err := w.kube.endpoints(ctx, ns, svc.Name)
	if err != nil {
		return kubeFailure(HopIngress, err)
	}
	ev = append(ev, fmt.Sprintf("Service %s/%s: %d of %d endpoints ready", ns, svc.Name, readyEndpoints, total))
	dep, err := w.kube.deploymentFor(ctx, svc)
	if err != nil {
		return kubeFailure(HopIngress, err)
	}
	// A Deployment scaled to 0 is "available" (none of its 0 pods is missing) and leaves the
	// Service without endpoints: the cause is the replica count, not a probe.
	if dep != nil && replicas(dep) == 0 {
		return failed(HopIngress, append(ev, fmt.Sprintf("Deployment %s/%s: scaled to 0 replicas", ns, dep.Name)),
			"the Deployment is scaled to 0 replicas: no pod runs, the Service has no endpoint, and the controller answers 503",
			fmt.Sprintf("run `pulumi up --refresh` (`env up` for an environment), which restores the app's replicas as the stack declares them; by hand: `kubectl -n %s scale deploy %s --replicas=<n>`", ns, dep.Name))
	}
	if readyEndpoints == 0 {
		return failed(HopIngress, ev,
			"the Service has zero ready endpoints: its pods are not ready (the readiness probe on the health path fails) or its selector matches no pod; the controller answers 503",
			fmt.Sprintf("`kubectl -n %s get pods -l %s` and `kubectl -n %s describe pods` (probe failures, image pulls)", ns, labels.Set(svc.Spec.Selector), ns))
	}
	if dep == nil {
		return failed(HopIngress, append(ev, fmt.Sprintf("no Deployment in %s has pods the Service selects (%s)", ns, labels.Set(svc.Spec.Selector))),
			"the pods behind the Service belong to no Deployment: they will not come back when deleted", "run `pulumi up` to restore the app's Deployment")
	}
	ev = append(ev, fmt.Sprintf("Deployment %s/%s: %d of %d available", ns, dep.Name, dep.Status.AvailableReplicas, replicas(dep)))
	if !available(dep) {
		return failed(HopIngress, ev, "the Deployment is not available: fewer pods are ready than it needs",
			fmt.Sprintf("`kubectl -n %s describe deploy %s` and its pods' events", ns, dep.Name))
	}
	pdbs, err := c.PolicyV1().PodDisruptionBudgets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return kubeFailure(HopIngress, fmt.Errorf("listing PodDisruptionBudgets in %s: %w", ns, err))
	}
	for _, pdb := range pdbs.Items {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
			continue
		}
		ev = append(ev, fmt.Sprintf("PodDisruptionBudget %s/%s: allows %d disruption(s)", ns, pdb.Name, pdb.Status.DisruptionsAllowed))
		if pdb.Status.DisruptionsAllowed < 1 {
			return failed(HopIngress, ev, "the PodDisruptionBudget allows no disruption: a node drain or upgrade would stall, and one more lost pod stops the app",
				fmt.Sprintf("`kubectl -n %s get pods -o wide`: bring the Deployment to its full count", ns))
		}
		return ok(HopIngress, ev...)
	}
	return failed(HopIngress, append(ev, "no PodDisruptionBudget covers its pods"),
		"a drain may take every pod of the app at once", "run `pulumi up` to restore the app's PodDisruptionBudget")
}

// ingressFor is the Ingress with a rule for host, and that rule's backend for "/".
func ingressFor(items []networkingv1.Ingress, host string) (*networkingv1.Ingress, *networkingv1.IngressServiceBackend) {
	for i := range items {
		ing := &items[i]
		for _, r := range ing.Spec.Rules {
			if !strings.EqualFold(r.Host, host) {
				continue
			}
			if r.HTTP != nil {
				for _, p := range r.HTTP.Paths {
					if (p.Path == "/" || p.Path == "") && p.Backend.Service != nil {
						return ing, p.Backend.Service
					}
				}
			}
			return ing, nil
		}
	}
	return nil, nil
}

func className(ing *networkingv1.Ingress) string {
	if ing.Spec.IngressClassName != nil {
		return *ing.Spec.IngressClassName
	}
	return ing.Annotations["kubernetes.io/ingress.class"]
}

func containsName(names []string, want string) bool {
	for _, n := range names {
		if sameName(n, want) {
			return true
		}
	}
	return false
}

// endpoints counts a Service's endpoints, and the ready ones.
func (k *kubeClient) endpoints(ctx context.Context, ns, service string) (readyCount, total int, err error) {
	slices, err := k.c.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + service})
	if err != nil {
		return 0, 0, fmt.Errorf("listing the EndpointSlices of %s/%s: %w", ns, service, err)
	}
	for _, sl := range slices.Items {
		for _, ep := range sl.Endpoints {
			total++
			if ready(ep) {
				readyCount++
			}
		}
	}
	return readyCount, total, nil
}

// deploymentFor is the Deployment whose pods the Service selects.
func (k *kubeClient) deploymentFor(ctx context.Context, svc *corev1.Service) (*appsv1.Deployment, error) {
	deps, err := k.c.AppsV1().Deployments(svc.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Deployments in %s: %w", svc.Namespace, err)
	}
	if len(svc.Spec.Selector) == 0 {
		return nil, nil
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	for i := range deps.Items {
		if sel.Matches(labels.Set(deps.Items[i].Spec.Template.Labels)) {
			return &deps.Items[i], nil
		}
	}
	return nil, nil
}

func replicas(d *appsv1.Deployment) int32 {
	if d.Spec.Replicas == nil {
		return 1
	}
	return *d.Spec.Replicas
}

// available is the Deployment's Available condition, for one that runs a pod at all.
func available(d *appsv1.Deployment) bool {
	if replicas(d) == 0 {
		return false
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
