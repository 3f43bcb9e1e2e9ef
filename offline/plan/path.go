package plan

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/outside-in/outside-in/apps"
	"github.com/outside-in/outside-in/offline/fakeaws"
)

// Path is one hostname's request path, traced through the recorded resources by following the
// values that connect them: nothing in it is taken from the configuration.
type Path struct {
	Host string
	// Alias is the Route 53 record (nil when the stack manages no zone).
	Alias *Alias
	LB    LB
	// Listeners, in port order, each with the target it forwards to.
	Listeners []ListenerHop
	Health    HealthCheck
	Entry     EntryService
	Ingress   IngressRule
	Service   AppService
	Workload  Workload
}

// Alias is a hostname's alias record.
type Alias struct {
	ZoneID, Name, Target, TargetZone string
	EvaluateTargetHealth             bool
}

// LB is the load balancer the alias points at.
type LB struct {
	Kind, DNSName, ZoneID string
	Subnets               []string
	SecurityGroups        []string
	URN                   string
}

// ListenerHop is a listener and where it sends a request.
type ListenerHop struct {
	Port     int
	Protocol string
	Redirect string // "HTTPS:443" when the listener redirects
	NodePort int
	// TargetGroup is the target group's ARN (empty for the classic ELB).
	TargetGroup string
	TLSPolicy   string
	// Health is how the listener's targets are checked: its target group's check, or the
	// classic ELB's one check (zero when the listener redirects).
	Health HealthCheck
}

// HealthCheck is how the load balancer checks a node.
type HealthCheck struct {
	Protocol                              string
	Port                                  int
	Path                                  string
	Interval, Timeout, Unhealthy, Healthy int
	DeregistrationDelay                   int
}

// FailoverSeconds is the longest a dead node stays in rotation.
func (h HealthCheck) FailoverSeconds() int { return h.Unhealthy*h.Interval + h.Timeout }

// EntryService is the ingress controller's node-port Service.
type EntryService struct {
	Namespace, Name, Type, ExternalTrafficPolicy, LoadBalancerClass string
	NodePorts                                                       map[int]int // node port → target port
	HealthCheckNodePort                                             int
	SkipAwait                                                       bool
	Selector                                                        map[string]any
}

// IngressRule is the Ingress rule for the host.
type IngressRule struct {
	Namespace, Name, Class, Path, PathType, ServiceName string
	ServicePort                                         int
}

// AppService is the app's Service.
type AppService struct {
	Namespace, Name, Type string
	Port                  int
	TargetPort            string
	Selector              map[string]any
}

// Workload is the Deployment behind the app's Service.
type Workload struct {
	Namespace, Name string
	Replicas        int
	ContainerPort   int
	ReadinessPath   string
	PreStopSeconds  int
	HasPDB          bool
}

// Trace follows each hostname from its Ingress rule outwards to the alias and inwards to the
// pods, failing on the first hop that does not connect.
func (r *Result) Trace() ([]Path, error) {
	t := tracer{r: r}
	var paths []Path
	for _, ing := range r.OfType("kubernetes:networking.k8s.io/v1:Ingress") {
		in := ing.PlainInputs()
		for i := range list(in, "spec", "rules") {
			p, err := t.trace(in, i)
			if err != nil {
				return nil, fmt.Errorf("request path of %s: %w", str(in, "spec", "rules", i, "host"), err)
			}
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no Ingress rule: no request path")
	}
	return paths, nil
}

type tracer struct{ r *Result }

func (t tracer) trace(ing map[string]any, rule int) (Path, error) {
	p := Path{Host: str(ing, "spec", "rules", rule, "host")}
	backend := get(ing, "spec", "rules", rule, "http", "paths", 0)
	p.Ingress = IngressRule{
		Namespace: str(ing, "metadata", "namespace"), Name: str(ing, "metadata", "name"),
		Class: str(ing, "spec", "ingressClassName"), Path: str(backend, "path"), PathType: str(backend, "pathType"),
		ServiceName: str(backend, "backend", "service", "name"), ServicePort: num(backend, "backend", "service", "port", "number"),
	}
	if err := t.inside(&p); err != nil {
		return p, err
	}
	if err := t.outside(&p); err != nil {
		return p, err
	}
	return p, nil
}

// inside follows the Ingress rule to the Service and the Deployment.
func (t tracer) inside(p *Path) error {
	svc := t.object("Service", p.Ingress.Namespace, p.Ingress.ServiceName)
	if svc == nil {
		return fmt.Errorf("Ingress %s/%s routes to Service %s, which does not exist", p.Ingress.Namespace, p.Ingress.Name, p.Ingress.ServiceName)
	}
	p.Service = AppService{Namespace: p.Ingress.Namespace, Name: p.Ingress.ServiceName, Type: str(svc, "spec", "type"),
		Selector: asMap(get(svc, "spec", "selector"))}
	for _, port := range list(svc, "spec", "ports") {
		if num(port, "port") == p.Ingress.ServicePort {
			p.Service.Port = num(port, "port")
			p.Service.TargetPort = fmt.Sprint(get(port, "targetPort"))
		}
	}
	if p.Service.Port == 0 {
		return fmt.Errorf("Service %s has no port %d", p.Service.Name, p.Ingress.ServicePort)
	}
	for _, d := range t.objects("Deployment", p.Service.Namespace) {
		labels := asMap(get(d, "spec", "template", "metadata", "labels"))
		if !selects(p.Service.Selector, labels) {
			continue
		}
		w := Workload{Namespace: p.Service.Namespace, Name: str(d, "metadata", "name"), Replicas: num(d, "spec", "replicas")}
		for _, c := range list(d, "spec", "template", "spec", "containers") {
			for _, port := range list(c, "ports") {
				if str(port, "name") == p.Service.TargetPort || fmt.Sprint(num(port, "containerPort")) == p.Service.TargetPort {
					w.ContainerPort = num(port, "containerPort")
					w.ReadinessPath = str(c, "readinessProbe", "httpGet", "path")
					w.PreStopSeconds = num(c, "lifecycle", "preStop", "sleep", "seconds")
				}
			}
		}
		if w.ContainerPort == 0 {
			return fmt.Errorf("Deployment %s has no container port %s for Service %s", w.Name, p.Service.TargetPort, p.Service.Name)
		}
		for _, pdb := range t.objects("PodDisruptionBudget", p.Service.Namespace) {
			if selects(asMap(get(pdb, "spec", "selector", "matchLabels")), labels) {
				w.HasPDB = true
			}
		}
		p.Workload = w
		return nil
	}
	return fmt.Errorf("Service %s/%s selects no Deployment", p.Service.Namespace, p.Service.Name)
}

// outside follows the host to its alias record, the load balancer, its listeners and target
// groups, and the node ports of the controller's entry Service.
func (t tracer) outside(p *Path) error {
	for _, rec := range t.r.OfType("aws:route53/record:Record") {
		in := rec.PlainInputs()
		if str(in, "name") == p.Host && str(in, "type") == "A" {
			p.Alias = &Alias{ZoneID: str(in, "zoneId"), Name: p.Host, Target: str(in, "aliases", 0, "name"),
				TargetZone: str(in, "aliases", 0, "zoneId")}
			p.Alias.EvaluateTargetHealth, _ = get(in, "aliases", 0, "evaluateTargetHealth").(bool)
		}
	}
	lb, err := t.loadBalancer(p)
	if err != nil {
		return err
	}
	switch {
	case lb == nil && len(t.r.OfType(apps.EnvironmentType)) > 0 && !t.hasEntryService():
		// An environment: the platform's load balancer, certificate, record and controller
		// serve it; the path in this stack starts at its Ingress rule.
		p.LB = LB{Kind: "platform"}
		return nil
	case lb == nil:
		// No load balancer in the stack (a cluster given by kubeconfig): the path starts at the
		// entry Service's node ports, where a balancer outside the stack sends.
		p.LB = LB{Kind: "none"}
	case p.Alias != nil && p.Alias.Target != str(lb.PlainOutputs(), "dnsName"):
		return fmt.Errorf("alias %s points at %s, not at the load balancer %s", p.Host, p.Alias.Target, p.LB.DNSName)
	case p.LB.Kind == "classic":
		t.classicHops(p, lb)
	default:
		if err := t.elbv2Hops(p, lb); err != nil {
			return err
		}
	}

	for _, svc := range t.objects("Service", "") {
		hc := num(svc, "spec", "healthCheckNodePort")
		if hc == 0 || (p.LB.Kind != "none" && hc != p.Health.Port) {
			continue
		}
		if p.LB.Kind == "none" {
			p.Health = HealthCheck{Protocol: "HTTP", Port: hc, Path: "/healthz"}
		}
		e := EntryService{Namespace: str(svc, "metadata", "namespace"), Name: str(svc, "metadata", "name"),
			Type: str(svc, "spec", "type"), ExternalTrafficPolicy: str(svc, "spec", "externalTrafficPolicy"),
			LoadBalancerClass: str(svc, "spec", "loadBalancerClass"), HealthCheckNodePort: num(svc, "spec", "healthCheckNodePort"),
			SkipAwait: str(svc, "metadata", "annotations", "pulumi.com/skipAwait") == "true",
			Selector:  asMap(get(svc, "spec", "selector")), NodePorts: map[int]int{}}
		for _, port := range list(svc, "spec", "ports") {
			e.NodePorts[num(port, "nodePort")] = num(port, "targetPort")
		}
		p.Entry = e
	}
	if p.Entry.Name == "" {
		return fmt.Errorf("no Service has healthCheckNodePort %d, the port the load balancer checks", p.Health.Port)
	}
	for _, l := range p.Listeners {
		if l.NodePort != 0 && p.Entry.NodePorts[l.NodePort] == 0 {
			return fmt.Errorf("listener %d forwards to node port %d, which Service %s does not open", l.Port, l.NodePort, p.Entry.Name)
		}
	}
	return nil
}

// hasEntryService reports whether the stack declares the controller's entry Service.
func (t tracer) hasEntryService() bool {
	for _, svc := range t.objects("Service", "") {
		if num(svc, "spec", "healthCheckNodePort") != 0 {
			return true
		}
	}
	return false
}

// loadBalancer finds the load balancer in front of the host: the one its alias points at, or,
// without an alias, the one the ingress controller publishes in Ingress status. It returns nil
// when the stack has none.
func (t tracer) loadBalancer(p *Path) (*fakeaws.Resource, error) {
	target := ""
	if p.Alias != nil {
		target = p.Alias.Target
	} else {
		for _, r := range t.r.OfType("kubernetes:helm.sh/v3:Release") {
			if h := str(r.PlainInputs(), "values", "providers", "kubernetesIngress", "ingressEndpoint", "hostname"); h != "" {
				target = h
			}
		}
	}
	var candidates []*fakeaws.Resource
	candidates = append(candidates, t.r.OfType("aws:lb/loadBalancer:LoadBalancer")...)
	candidates = append(candidates, t.r.OfType("aws:elb/loadBalancer:LoadBalancer")...)
	if len(candidates) == 0 && p.Alias == nil {
		return nil, nil
	}
	for _, lb := range candidates {
		out := lb.PlainOutputs()
		if str(out, "dnsName") != target {
			continue
		}
		kind := "classic"
		if lb.Type == "aws:lb/loadBalancer:LoadBalancer" {
			kind = map[string]string{"application": "alb", "network": "nlb"}[str(out, "loadBalancerType")]
		}
		p.LB = LB{Kind: kind, DNSName: str(out, "dnsName"), ZoneID: str(out, "zoneId"), URN: lb.URN,
			Subnets: stringsOf(list(out, "subnets")), SecurityGroups: stringsOf(list(out, "securityGroups"))}
		return lb, nil
	}
	if p.Alias != nil {
		return nil, fmt.Errorf("alias %s points at %s, which no load balancer has", p.Host, p.Alias.Target)
	}
	return nil, fmt.Errorf("no load balancer has the name %q the ingress controller publishes", target)
}

func (t tracer) elbv2Hops(p *Path, lb *fakeaws.Resource) error {
	arn := str(lb.PlainOutputs(), "arn")
	for _, l := range t.r.OfType("aws:lb/listener:Listener") {
		in := l.PlainInputs()
		if str(in, "loadBalancerArn") != arn {
			continue
		}
		hop := ListenerHop{Port: num(in, "port"), Protocol: str(in, "protocol"), TLSPolicy: str(in, "sslPolicy")}
		action := get(in, "defaultActions", 0)
		switch str(action, "type") {
		case "redirect":
			hop.Redirect = str(action, "redirect", "protocol") + ":" + str(action, "redirect", "port")
		case "forward":
			hop.TargetGroup = str(action, "targetGroupArn")
			tg := t.byOutput("aws:lb/targetGroup:TargetGroup", "arn", hop.TargetGroup)
			if tg == nil {
				return fmt.Errorf("listener %d forwards to %s, which no target group has", hop.Port, hop.TargetGroup)
			}
			tgIn := tg.PlainInputs()
			hop.NodePort = num(tgIn, "port")
			hc := get(tgIn, "healthCheck")
			port, _ := strconv.Atoi(str(hc, "port"))
			hop.Health = HealthCheck{Protocol: str(hc, "protocol"), Port: port, Path: str(hc, "path"),
				Interval: num(hc, "interval"), Timeout: num(hc, "timeout"), Unhealthy: num(hc, "unhealthyThreshold"),
				Healthy: num(hc, "healthyThreshold"), DeregistrationDelay: num(tgIn, "deregistrationDelay")}
			p.Health = hop.Health
		}
		p.Listeners = append(p.Listeners, hop)
	}
	if len(p.Listeners) == 0 {
		return fmt.Errorf("load balancer %s has no listener", p.LB.DNSName)
	}
	sortHops(p.Listeners)
	return nil
}

func (t tracer) classicHops(p *Path, lb *fakeaws.Resource) {
	in := lb.PlainInputs()
	for _, l := range list(in, "listeners") {
		p.Listeners = append(p.Listeners, ListenerHop{Port: num(l, "lbPort"), Protocol: strings.ToUpper(str(l, "lbProtocol")),
			NodePort: num(l, "instancePort")})
	}
	sortHops(p.Listeners)
	target := str(in, "healthCheck", "target") // HTTP:<port><path>
	proto, rest, _ := strings.Cut(target, ":")
	i := strings.Index(rest, "/")
	if i < 0 {
		i = len(rest)
	}
	port, _ := strconv.Atoi(rest[:i])
	p.Health = HealthCheck{Protocol: proto, Port: port, Path: rest[i:], Interval: num(in, "healthCheck", "interval"),
		Timeout: num(in, "healthCheck", "timeout"), Unhealthy: num(in, "healthCheck", "unhealthyThreshold"),
		Healthy: num(in, "healthCheck", "healthyThreshold"), DeregistrationDelay: num(in, "connectionDrainingTimeout")}
	for i := range p.Listeners {
		p.Listeners[i].Health = p.Health
	}
}

func (t tracer) byOutput(typ, key, value string) *fakeaws.Resource {
	for _, res := range t.r.OfType(typ) {
		if str(res.PlainOutputs(), key) == value {
			return res
		}
	}
	return nil
}

// object finds a Kubernetes object by kind, namespace and name.
func (t tracer) object(kind, namespace, name string) map[string]any {
	for _, o := range t.objects(kind, namespace) {
		if str(o, "metadata", "name") == name {
			return o
		}
	}
	return nil
}

// objects lists the Kubernetes objects of a kind (in a namespace, or all when empty).
func (t tracer) objects(kind, namespace string) []map[string]any {
	var out []map[string]any
	for _, res := range t.r.Resources {
		if !isKubernetesObject(res.Type) || !strings.HasSuffix(res.Type, ":"+kind) {
			continue
		}
		o := res.PlainInputs()
		if namespace == "" || str(o, "metadata", "namespace") == namespace {
			out = append(out, o)
		}
	}
	return out
}

func selects(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func stringsOf(xs []any) []string {
	var out []string
	for _, x := range xs {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func sortHops(hops []ListenerHop) {
	sort.Slice(hops, func(i, j int) bool { return hops[i].Port < hops[j].Port })
}
