package ingress

import "fmt"

// LoadBalancerKind selects the AWS load balancer in front of the nodes.
type LoadBalancerKind string

const (
	// ALB terminates TLS and redirects HTTP to HTTPS itself (the default).
	ALB LoadBalancerKind = "alb"
	// NLB forwards TCP 80 and terminates TLS on 443.
	NLB LoadBalancerKind = "nlb"
	// Classic is the classic ELB of seeds 000 and 003.
	Classic LoadBalancerKind = "classic"
	// None builds no load balancer: one outside the stack (seed 002's HAProxy) sends to the
	// entry Service's node ports and checks its healthCheckNodePort.
	None LoadBalancerKind = "none"
)

// NodePorts are the fixed node ports of the ingress controller's entry Service.
type NodePorts struct {
	// HTTP receives plain HTTP: served when TLS is off, redirected to HTTPS when it is on.
	HTTP int
	// HTTPS receives the requests the load balancer decrypted (TLS ends at the load balancer).
	HTTPS int
	// HealthCheck is the Service's healthCheckNodePort: kube-proxy answers /healthz there with
	// 200 only on a node that has a ready ingress-controller pod (externalTrafficPolicy Local).
	HealthCheck int
}

// Listener is one load balancer listener and where it sends traffic.
type Listener struct {
	Port     int    // the port clients connect to
	Protocol string // HTTP, HTTPS, TCP or TLS (classic: the same names)
	// NodePort is the node port the listener forwards to; 0 when it redirects instead.
	NodePort int
	// RedirectToHTTPS: the listener answers with a redirect to port 443 and forwards nothing.
	RedirectToHTTPS bool
}

// Listeners plans the listeners of a load balancer kind.
func Listeners(kind LoadBalancerKind, tls bool, ports NodePorts) []Listener {
	if !tls {
		proto := "HTTP"
		if kind == NLB {
			proto = "TCP"
		}
		return []Listener{{Port: 80, Protocol: proto, NodePort: ports.HTTP}}
	}
	switch kind {
	case ALB:
		return []Listener{
			{Port: 80, Protocol: "HTTP", RedirectToHTTPS: true},
			{Port: 443, Protocol: "HTTPS", NodePort: ports.HTTPS},
		}
	case NLB:
		// Port 80 reaches the controller, whose HTTP entry point redirects to HTTPS.
		return []Listener{
			{Port: 80, Protocol: "TCP", NodePort: ports.HTTP},
			{Port: 443, Protocol: "TLS", NodePort: ports.HTTPS},
		}
	default:
		return []Listener{
			{Port: 80, Protocol: "HTTP", NodePort: ports.HTTP},
			{Port: 443, Protocol: "HTTPS", NodePort: ports.HTTPS},
		}
	}
}

// TrafficNodePorts are the node ports some listener forwards to, without repeats, in order.
func TrafficNodePorts(listeners []Listener) []int {
	var out []int
	seen := map[int]bool{}
	for _, l := range listeners {
		if l.NodePort != 0 && !seen[l.NodePort] {
			seen[l.NodePort] = true
			out = append(out, l.NodePort)
		}
	}
	return out
}

// HealthCheck is the load balancer's health check of a node, and the timings of failover.
type HealthCheck struct {
	Port               int
	Path               string
	IntervalSeconds    int
	TimeoutSeconds     int
	HealthyThreshold   int
	UnhealthyThreshold int
}

// Timings of the request path. A dead node leaves rotation after UnhealthyThreshold failed
// checks; a draining target keeps its open connections for DeregistrationDelaySeconds; pods
// pause in preStop for PreStopSeconds, longer than that delay, so no request reaches a process
// that has stopped listening.
const (
	HealthCheckPath            = "/healthz"
	HealthCheckIntervalSeconds = 5
	HealthCheckTimeoutSeconds  = 3
	HealthyThreshold           = 2
	UnhealthyThreshold         = 2
	DeregistrationDelaySeconds = 15
	PreStopSeconds             = 20
	// TerminationGraceSeconds covers the preStop pause plus time to finish requests in flight.
	TerminationGraceSeconds = PreStopSeconds + 25
)

// NodeHealthCheck is the health check every load balancer kind runs against the nodes.
func NodeHealthCheck(ports NodePorts) HealthCheck {
	return HealthCheck{
		Port:               ports.HealthCheck,
		Path:               HealthCheckPath,
		IntervalSeconds:    HealthCheckIntervalSeconds,
		TimeoutSeconds:     HealthCheckTimeoutSeconds,
		HealthyThreshold:   HealthyThreshold,
		UnhealthyThreshold: UnhealthyThreshold,
	}
}

// FailoverSeconds is the longest a dead node stays in rotation: the checks that must fail, each
// after a full interval, plus the timeout of the last one.
func (h HealthCheck) FailoverSeconds() int {
	return h.UnhealthyThreshold*h.IntervalSeconds + h.TimeoutSeconds
}

// ClassicTarget is the classic ELB's health check target, as in seed 003: HTTP:<port>/healthz.
func (h HealthCheck) ClassicTarget() string {
	return fmt.Sprintf("HTTP:%d%s", h.Port, h.Path)
}
