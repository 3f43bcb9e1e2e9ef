package ingress

import "fmt"

// Rule is one security-group rule, as data: who may reach what, and why.
type Rule struct {
	Description string
	Port        int
	// CidrIPv4 is set for rules that admit clients by address; otherwise the peer is the other
	// security group of the pair (load balancer ↔ nodes).
	CidrIPv4 string
}

// LoadBalancerIngressRules admit the allowed client CIDRs on the listener ports, nothing else.
func LoadBalancerIngressRules(listeners []Listener, allowedCidrs []string) []Rule {
	var out []Rule
	for _, l := range listeners {
		for _, cidr := range allowedCidrs {
			out = append(out, Rule{
				Description: fmt.Sprintf("clients in %s to the %s listener on %d", cidr, l.Protocol, l.Port),
				Port:        l.Port,
				CidrIPv4:    cidr,
			})
		}
	}
	return out
}

// NodeRules are the rules between the load balancer and the nodes: traffic to each node port a
// listener uses, and the health check. The load balancer group's egress and the node group's
// ingress carry the same list, so the two sides cannot disagree.
func NodeRules(listeners []Listener, ports NodePorts) []Rule {
	var out []Rule
	for _, p := range TrafficNodePorts(listeners) {
		out = append(out, Rule{Description: fmt.Sprintf("load balancer to the ingress controller node port %d", p), Port: p})
	}
	return append(out, Rule{
		Description: fmt.Sprintf("load balancer health check on the healthCheckNodePort %d", ports.HealthCheck),
		Port:        ports.HealthCheck,
	})
}
