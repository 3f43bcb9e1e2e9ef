package ingress

import (
	"fmt"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var ports = NodePorts{HTTP: 30080, HTTPS: 30443, HealthCheck: 32080}

func TestListeners(t *testing.T) {
	cases := []struct {
		kind LoadBalancerKind
		tls  bool
		want []Listener
	}{
		{ALB, true, []Listener{{Port: 80, Protocol: "HTTP", RedirectToHTTPS: true}, {Port: 443, Protocol: "HTTPS", NodePort: 30443}}},
		{ALB, false, []Listener{{Port: 80, Protocol: "HTTP", NodePort: 30080}}},
		{NLB, true, []Listener{{Port: 80, Protocol: "TCP", NodePort: 30080}, {Port: 443, Protocol: "TLS", NodePort: 30443}}},
		{NLB, false, []Listener{{Port: 80, Protocol: "TCP", NodePort: 30080}}},
		{Classic, true, []Listener{{Port: 80, Protocol: "HTTP", NodePort: 30080}, {Port: 443, Protocol: "HTTPS", NodePort: 30443}}},
		{Classic, false, []Listener{{Port: 80, Protocol: "HTTP", NodePort: 30080}}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_tls=%t", c.kind, c.tls), func(t *testing.T) {
			assert.Equal(t, c.want, Listeners(c.kind, c.tls, ports))
		})
	}
	assert.Equal(t, []int{30443}, TrafficNodePorts(Listeners(ALB, true, ports)), "the ALB redirects itself")
	assert.Equal(t, []int{30080, 30443}, TrafficNodePorts(Listeners(NLB, true, ports)))
}

func TestRules(t *testing.T) {
	listeners := Listeners(NLB, true, ports)
	in := LoadBalancerIngressRules(listeners, []string{"0.0.0.0/0", "10.1.0.0/16"})
	require.Len(t, in, 4)
	for _, r := range in {
		assert.Contains(t, []int{80, 443}, r.Port)
		assert.NotEmpty(t, r.CidrIPv4)
		assert.Contains(t, r.Description, r.CidrIPv4)
	}
	node := NodeRules(listeners, ports)
	require.Len(t, node, 3)
	var got []int
	for _, r := range node {
		got = append(got, r.Port)
		assert.Empty(t, r.CidrIPv4, "node rules name the load balancer's group, never a CIDR")
	}
	assert.Equal(t, []int{30080, 30443, 32080}, got)
}

func TestTimings(t *testing.T) {
	hc := NodeHealthCheck(ports)
	assert.Equal(t, 13, hc.FailoverSeconds())
	assert.LessOrEqual(t, hc.FailoverSeconds(), 15, "a dead node leaves rotation within 15 s")
	assert.Less(t, hc.TimeoutSeconds, hc.IntervalSeconds, "classic ELB requires timeout < interval")
	assert.Greater(t, PreStopSeconds, DeregistrationDelaySeconds, "pods outlast draining")
	assert.Greater(t, TerminationGraceSeconds, PreStopSeconds)
	assert.Equal(t, "HTTP:32080/healthz", hc.ClassicTarget())
}

// The chart values are all that can be checked of the objects Helm renders at deploy time.
func TestControllerValues(t *testing.T) {
	v := ControllerValues(3, true, []string{"10.0.255.0/24", "10.0.254.0/24"}, pulumi.String("lb-1.elb.example"), false)
	get := func(path ...string) any {
		var cur any = v
		for _, p := range path {
			cur = cur.(map[string]any)[p]
		}
		return cur
	}
	assert.Equal(t, 3, get("deployment", "replicas"))
	assert.Equal(t, "Deployment", get("deployment", "kind"))
	assert.Equal(t, PreStopSeconds, get("deployment", "lifecycle", "preStop", "sleep", "seconds"))
	assert.Equal(t, false, get("service", "enabled"), "the program owns the entry Service")
	assert.Equal(t, true, get("ingressClass", "isDefaultClass"))
	assert.Equal(t, IngressClass, get("ingressClass", "name"))
	assert.Equal(t, true, get("providers", "kubernetesIngress", "enabled"))
	assert.Equal(t, pulumi.String("lb-1.elb.example"), get("providers", "kubernetesIngress", "ingressEndpoint", "hostname"),
		"the controller publishes the load balancer's name in Ingress status")
	assert.Equal(t, false, get("providers", "kubernetesCRD", "enabled"))
	assert.Equal(t, webPort, get("ports", "web", "port"))
	assert.Equal(t, websecurePort, get("ports", "websecure", "port"))
	assert.Equal(t, false, get("ports", "websecure", "http", "tls", "enabled"), "TLS ends at the load balancer")
	assert.Equal(t, "websecure", get("ports", "web", "http", "redirections", "entryPoint", "to"))
	assert.Equal(t, []any{"10.0.255.0/24", "10.0.254.0/24"}, get("ports", "web", "forwardedHeaders", "trustedIPs"))
	assert.Equal(t, []any{"10.0.255.0/24", "10.0.254.0/24"}, get("ports", "websecure", "forwardedHeaders", "trustedIPs"))
	assert.Equal(t, true, get("podDisruptionBudget", "enabled"))
	assert.NotNil(t, get("resources", "limits", "memory"))
	for k, val := range get("deployment", "podLabels").(map[string]any) {
		assert.Equal(t, ControllerSelector[k], val, "the entry Service selects the labels the pods get")
	}
	assert.Equal(t, "traefik", ControllerSelector["app.kubernetes.io/name"], "the chart's own name label")
	spread := get("topologySpreadConstraints").([]any)
	require.Len(t, spread, 2)

	plain := ControllerValues(2, false, nil, pulumi.String("lb-1.elb.example"), false)
	assert.Nil(t, plain["ports"].(map[string]any)["web"].(map[string]any)["http"], "no redirect without TLS")
	for _, ep := range []string{"web", "websecure"} {
		assert.NotContains(t, plain["ports"].(map[string]any)[ep], "forwardedHeaders", "%s: nothing trusted, no trustedIPs at all", ep)
	}
}
