package check

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	corev1 "k8s.io/api/core/v1"
)

// controllerHop compares the targets' health with the cluster: with externalTrafficPolicy Local
// the health check on healthCheckNodePort passes exactly on the nodes that hold a ready
// controller endpoint, so those, and only those, should be healthy targets.
func (w *walk) controllerHop(ctx context.Context) Hop {
	if w.kubeErr != nil {
		return kubeFailure(HopController, w.kubeErr)
	}
	if w.ctrlErr != nil {
		return kubeFailure(HopController, w.ctrlErr)
	}
	s := w.ctrl
	svc := s.service
	ev := []string{fmt.Sprintf("Service %s/%s: externalTrafficPolicy %s, healthCheckNodePort %d",
		svc.Namespace, svc.Name, svc.Spec.ExternalTrafficPolicy, svc.Spec.HealthCheckNodePort)}
	if len(s.readyOn) == 0 {
		return failed(HopController, append(ev, "no endpoint of the entry Service is ready"),
			"no controller pod is ready: the load balancer has nowhere to send requests",
			fmt.Sprintf("`kubectl -n %s get pods -o wide` and `kubectl -n %s describe pods` (image pull, scheduling, probes)", svc.Namespace, svc.Namespace))
	}
	ev = append(ev, "ready controller endpoints on "+w.nodeList(sortedKeys(s.readyOn)))
	if w.lb == nil {
		return skipped(HopController, "no load balancer to compare the targets with (see load-balancer)")
	}
	if err := w.mapInstances(ctx); err != nil {
		return awsFailure(HopController, err)
	}
	expected := map[string]bool{}
	for n := range s.readyOn {
		if id, ok := s.instanceOf[n]; ok {
			expected[id] = true
		}
	}
	hcnp := strconv.Itoa(int(svc.Spec.HealthCheckNodePort))
	for _, g := range w.lb.groups {
		registered, healthy := map[string]bool{}, map[string]bool{}
		for _, t := range g.targets {
			registered[t.id] = true
			if t.healthy() {
				healthy[t.id] = true
			}
		}
		var extra, sick, absent []string
		for id := range healthy {
			if !expected[id] {
				extra = append(extra, id)
			}
		}
		for id := range expected {
			switch {
			case !registered[id]:
				absent = append(absent, id)
			case !healthy[id]:
				sick = append(sick, id)
			}
		}
		ev = append(ev, fmt.Sprintf("%s: healthy targets %s", g.name, w.instanceList(sortedKeys(healthy))))
		switch {
		case len(extra) > 0:
			cause := "kube-proxy answers the health check on nodes without a ready controller endpoint (a kube-proxy that missed an update, or an endpoint that became unready less than 10 s ago)"
			fix := "retry in 15 s; if it stays, restart kube-proxy on those nodes (`kubectl -n kube-system rollout restart ds/kube-proxy`)"
			switch {
			case g.healthPort != hcnp:
				cause = fmt.Sprintf("the health check is on port %s, not the entry Service's healthCheckNodePort %s: it passes wherever the node answers, controller pod or not", g.healthPort, hcnp)
				fix = "run `pulumi up --refresh`: the stack sets the target group's health check to the healthCheckNodePort"
			case svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal:
				cause = "the entry Service's externalTrafficPolicy is not Local: kube-proxy answers the health check on every node"
				fix = "run `pulumi up --refresh`: the stack declares externalTrafficPolicy Local"
			}
			return failed(HopController, append(ev, "healthy targets on nodes without a ready controller pod: "+w.instanceList(sorted(extra))), cause, fix)
		case len(sick) > 0:
			return failed(HopController, append(ev, "nodes with a ready controller pod whose target is not healthy: "+w.instanceList(sorted(sick))),
				"the health check does not reach kube-proxy on those nodes: the node security group does not admit the load balancer's on port "+hcnp+", or kube-proxy is down there",
				"check the node security group's rule from the load balancer's group on "+hcnp+", and `kubectl -n kube-system get pods -o wide` for kube-proxy on those nodes")
		case len(absent) > 0:
			return failed(HopController, append(ev, "nodes with a ready controller pod that are not targets: "+w.instanceList(sorted(absent))),
				"those nodes are not in the autoscaling group attached to the target group",
				"run controller pods only on the stack's node group, or attach that node's group (`pulumi up --refresh`)")
		case g.healthPort != hcnp || svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal:
			return failed(HopController, append(ev, fmt.Sprintf("%s checks %s", g.name, g.healthCheck)),
				"the health check does not follow the controller: it must be on the entry Service's healthCheckNodePort "+hcnp+" with externalTrafficPolicy Local, or a node that loses its controller pod stays in rotation",
				"run `pulumi up --refresh`: the stack declares both")
		}
	}
	return ok(HopController, append(ev, "the healthy targets are exactly the nodes with a ready controller pod")...)
}

// mapInstances finds the instance of each node whose provider id does not name one (k3s), by
// its private address.
func (w *walk) mapInstances(ctx context.Context) error {
	s := w.ctrl
	var unknown []string
	for _, g := range w.lb.groups {
		for _, t := range g.targets {
			if _, ok := s.byInstance[t.id]; !ok && strings.HasPrefix(t.id, "i-") && !slices.Contains(unknown, t.id) {
				unknown = append(unknown, t.id)
			}
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	byAddress := map[string]string{}
	for name, n := range s.nodes {
		if _, ok := s.instanceOf[name]; !ok {
			byAddress[nodeAddress(n)] = name
		}
	}
	out, err := w.aws.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: unknown})
	if err != nil {
		return fmt.Errorf("ec2:DescribeInstances %s: %w", strings.Join(unknown, ", "), err)
	}
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if name, ok := byAddress[aws.ToString(i.PrivateIpAddress)]; ok {
				s.instanceOf[name] = aws.ToString(i.InstanceId)
				s.byInstance[aws.ToString(i.InstanceId)] = name
			}
		}
	}
	return nil
}

func (w *walk) nodeList(nodes []string) string {
	var out []string
	for _, n := range nodes {
		if id, ok := w.ctrl.instanceOf[n]; ok {
			out = append(out, fmt.Sprintf("%s (%s)", n, id))
		} else {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

func (w *walk) instanceList(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	var out []string
	for _, id := range ids {
		if n, ok := w.ctrl.byInstance[id]; ok {
			out = append(out, fmt.Sprintf("%s (node %s)", id, n))
		} else {
			out = append(out, id+" (no node of the cluster)")
		}
	}
	return strings.Join(out, ", ")
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string { sort.Strings(s); return s }
