package plan

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// WritePaths prints each hostname's request path, hop by hop.
func (r *Result) WritePaths(w io.Writer) error {
	paths, err := r.Trace()
	if err != nil {
		return err
	}
	for _, p := range paths {
		fmt.Fprintf(w, "\n%s\n", p.Host)
		switch p.LB.Kind {
		case "platform":
			fmt.Fprintf(w, "  1-5. Platform  *.%s → the platform's load balancer, wildcard certificate and Traefik\n", parentDomain(p.Host))
		case "none":
			fmt.Fprintf(w, "  1. DNS        not managed by the stack: point %s at your load balancer\n", p.Host)
			fmt.Fprintf(w, "  2. Balancer   outside the stack (seed 002's HAProxy): send to %s on every node\n", nodePortList(p.Entry.NodePorts))
			fmt.Fprintf(w, "  3. Nodes      health check %s:%d%s: a node answers 200 only with a ready local controller pod\n",
				p.Health.Protocol, p.Health.Port, p.Health.Path)
			writeEntry(w, p)
		default:
			writeEdge(w, p)
			writeEntry(w, p)
		}
		fmt.Fprintf(w, "  6. Ingress    %s/%s host %s path %s (%s) → Service %s:%d\n", p.Ingress.Namespace, p.Ingress.Name,
			p.Host, p.Ingress.Path, p.Ingress.PathType, p.Ingress.ServiceName, p.Ingress.ServicePort)
		fmt.Fprintf(w, "  7. Service    %s/%s %s port %d → target port %s\n", p.Service.Namespace, p.Service.Name, p.Service.Type,
			p.Service.Port, p.Service.TargetPort)
		fmt.Fprintf(w, "  8. Pods       Deployment %s/%s × %d, container port %d, ready when GET %s answers, preStop %d s, PDB %t\n",
			p.Workload.Namespace, p.Workload.Name, p.Workload.Replicas, p.Workload.ContainerPort, p.Workload.ReadinessPath,
			p.Workload.PreStopSeconds, p.Workload.HasPDB)
	}
	return nil
}

// writeEdge prints the hops the stack's own DNS record and load balancer make.
func writeEdge(w io.Writer, p Path) {
	if p.Alias != nil {
		fmt.Fprintf(w, "  1. Route 53   A %s → alias %s (zone %s, evaluateTargetHealth %t)\n",
			p.Host, p.Alias.Target, p.Alias.TargetZone, p.Alias.EvaluateTargetHealth)
	} else {
		fmt.Fprintf(w, "  1. DNS        not managed by the stack: point %s at %s\n", p.Host, p.LB.DNSName)
	}
	fmt.Fprintf(w, "  2. %-10s internet-facing in %d public subnets\n", strings.ToUpper(p.LB.Kind), len(p.LB.Subnets))
	for _, l := range p.Listeners {
		switch {
		case l.Redirect != "":
			fmt.Fprintf(w, "       listener %s:%d → redirect to %s\n", l.Protocol, l.Port, l.Redirect)
		default:
			tls := ""
			if l.TLSPolicy != "" {
				tls = " (TLS policy " + l.TLSPolicy + ")"
			}
			fmt.Fprintf(w, "       listener %s:%d%s → node port %d\n", l.Protocol, l.Port, tls, l.NodePort)
		}
	}
	fmt.Fprintf(w, "  3. Nodes      health check %s:%d%s every %ds, out after %d failures: dead node out of rotation in ≤ %d s;"+
		" draining %d s\n", p.Health.Protocol, p.Health.Port, p.Health.Path, p.Health.Interval, p.Health.Unhealthy,
		p.Health.FailoverSeconds(), p.Health.DeregistrationDelay)
}

// writeEntry prints the controller's entry Service and pods.
func writeEntry(w io.Writer, p Path) {
	fmt.Fprintf(w, "  4. Service    %s/%s type %s (class %s), externalTrafficPolicy %s, healthCheckNodePort %d\n",
		p.Entry.Namespace, p.Entry.Name, p.Entry.Type, p.Entry.LoadBalancerClass, p.Entry.ExternalTrafficPolicy, p.Entry.HealthCheckNodePort)
	fmt.Fprintf(w, "  5. Controller Traefik pods in %s: %s\n", p.Entry.Namespace, entryPoints(p.Entry.NodePorts))
}

func nodePortList(ports map[int]int) string {
	var nodePorts []string
	for np := range ports {
		nodePorts = append(nodePorts, fmt.Sprint(np))
	}
	sort.Strings(nodePorts)
	return "node ports " + strings.Join(nodePorts, " and ")
}

func parentDomain(host string) string {
	if _, rest, ok := strings.Cut(host, "."); ok {
		return rest
	}
	return host
}

// entryPoints lists node port → container port pairs in port order.
func entryPoints(ports map[int]int) string {
	var nodePorts []int
	for np := range ports {
		nodePorts = append(nodePorts, np)
	}
	sort.Ints(nodePorts)
	var parts []string
	for _, np := range nodePorts {
		parts = append(parts, fmt.Sprintf("node port %d → container port %d", np, ports[np]))
	}
	return strings.Join(parts, ", ")
}
