// Package picture draws an offline plan as a mermaid flowchart of the request path: each
// hostname's DNS record, the load balancer and its listeners, the target groups and their health
// checks, the nodes in the private subnets of each AZ, the ingress controller's entry Service
// and pods, and each app's Ingress rule, Service and pods, inside the VPC.
//
// Everything drawn comes from the recorded resources and the request paths plan.Result.Trace
// follows through them, never from the configuration, so the picture shows what the program
// builds, wiring mistakes included.
package picture

import (
	"fmt"
	"sort"
	"strings"

	"github.com/outside-in/outside-in/apps"
	"github.com/outside-in/outside-in/offline/plan"
)

// Mermaid renders the plan as a mermaid flowchart, left to right from the client to the pods.
func Mermaid(res *plan.Result) (string, error) {
	paths, err := res.Trace()
	if err != nil {
		return "", fmt.Errorf("picture: %w", err)
	}
	d := &drawing{res: res, declared: map[string]bool{}, edgeSeen: map[string]bool{}}
	d.layout(paths)
	return d.String(), nil
}

// drawing collects node declarations (grouped in subgraphs) and edges, each once.
type drawing struct {
	res      *plan.Result
	top      []string // lines outside any subgraph
	vpc      []string // lines inside the VPC subgraph, AZ subgraphs included
	cluster  []string // lines inside the cluster subgraph
	edges    []string
	declared map[string]bool
	edgeSeen map[string]bool
}

func (d *drawing) String() string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	for _, l := range d.top {
		b.WriteString("  " + l + "\n")
	}
	// Without a VPC of its own (a cluster given by kubeconfig) the network hops are drawn
	// outside any subgraph.
	vpcLabel, hasVPC := d.vpcLabel()
	if hasVPC {
		fmt.Fprintf(&b, "  subgraph vpc[%s]\n", quote(vpcLabel))
	}
	for _, l := range d.vpc {
		b.WriteString("    " + l + "\n")
	}
	fmt.Fprintf(&b, "  subgraph cluster[%s]\n", quote(d.clusterLabel()))
	for _, l := range d.cluster {
		b.WriteString("    " + l + "\n")
	}
	b.WriteString("  end\n")
	if hasVPC {
		b.WriteString("  end\n")
	}
	for _, e := range d.edges {
		b.WriteString("  " + e + "\n")
	}
	return b.String()
}

// node declares a node once, into the given section.
func (d *drawing) node(section *[]string, id, label string) string {
	if !d.declared[id] {
		d.declared[id] = true
		*section = append(*section, fmt.Sprintf("%s[%s]", id, quote(label)))
	}
	return id
}

// edge adds "from -->|label| to" once; dotted draws a placement rather than a request hop.
func (d *drawing) edge(from, to, label string, dotted bool) {
	arrow := "-->"
	if dotted {
		arrow = "-.->"
	}
	if label != "" {
		arrow += "|" + quote(label) + "|"
	}
	line := fmt.Sprintf("%s %s %s", from, arrow, to)
	if !d.edgeSeen[line] {
		d.edgeSeen[line] = true
		d.edges = append(d.edges, line)
	}
}

// layout draws each hostname's path; hops that paths share (the load balancer, listeners, the
// controller) are drawn once, so several hosts meet where their requests do.
func (d *drawing) layout(paths []plan.Path) {
	d.top = append(d.top, `client(["client"])`)
	d.declared["client"] = true
	subnets := d.subnets(paths)
	d.zones(subnets)
	for i, p := range paths {
		host := d.node(&d.top, fmt.Sprintf("host_%d", i), hostLabel(p))
		d.edge("client", host, "DNS", false)
		var controller string
		switch p.LB.Kind {
		case "platform":
			// An environment: the platform stack's balancer and controller serve its rules.
			controller = d.node(&d.top, "platform", "the platform stack's load balancer, wildcard record and ingress controller")
			d.edge(host, controller, "", false)
		case "none":
			// A cluster given by kubeconfig: a balancer outside the stack sends to the node ports.
			front := d.node(&d.top, "balancer", fmt.Sprintf("a load balancer outside the stack<br/>must check %s:%d%s",
				p.Health.Protocol, p.Health.Port, p.Health.Path))
			d.edge(host, front, "", false)
			controller = d.controller(p, func(entry string) { d.edge(front, entry, "node ports", false) })
		default:
			lb := d.node(&d.vpc, id("lb", lastName(p.LB.URN)), fmt.Sprintf("%s %s<br/>internet-facing, %d subnets",
				kindLabel[p.LB.Kind], lastName(p.LB.URN), len(p.LB.Subnets)))
			via := "point the name at " + p.LB.DNSName
			if p.Alias != nil {
				via = "alias " + p.Alias.Target
			}
			d.edge(host, lb, via, false)
			for _, s := range p.LB.Subnets {
				if sn, ok := subnets[s]; ok {
					d.edge(lb, sn.id, "in", true)
				}
			}
			controller = d.controller(p, func(entry string) {
				d.listeners(p, lb, subnets)
				for _, sn := range sortedSubnets(subnets) {
					if sn.nodes != "" {
						d.edge(sn.id, entry, "node ports", false)
					}
				}
			})
		}
		d.app(p, controller)
	}
}

// controller draws the entry Service and the controller's pods; connect draws what reaches
// the Service's node ports.
func (d *drawing) controller(p plan.Path, connect func(entry string)) string {
	entry := d.node(&d.cluster, id("svc", p.Entry.Namespace, p.Entry.Name), fmt.Sprintf(
		"Service %s/%s<br/>%s, class %s, externalTrafficPolicy %s<br/>node ports %s; healthCheckNodePort %d",
		p.Entry.Namespace, p.Entry.Name, p.Entry.Type, p.Entry.LoadBalancerClass, p.Entry.ExternalTrafficPolicy,
		nodePorts(p.Entry.NodePorts), p.Entry.HealthCheckNodePort))
	connect(entry)
	ctrl := d.node(&d.cluster, id("ctrl", p.Entry.Namespace), "ingress controller pods<br/>namespace "+p.Entry.Namespace)
	d.edge(entry, ctrl, "", false)
	return ctrl
}

// app draws the host's Ingress rule, Service and pods, from the controller that routes to them.
func (d *drawing) app(p plan.Path, controller string) {
	ing := d.node(&d.cluster, id("ing", p.Ingress.Namespace, p.Ingress.Name), fmt.Sprintf("Ingress %s/%s<br/>class %s",
		p.Ingress.Namespace, p.Ingress.Name, p.Ingress.Class))
	d.edge(controller, ing, fmt.Sprintf("Host %s %s", p.Host, p.Ingress.Path), false)
	svc := d.node(&d.cluster, id("svc", p.Service.Namespace, p.Service.Name), fmt.Sprintf("Service %s/%s<br/>%s :%d → %s",
		p.Service.Namespace, p.Service.Name, p.Service.Type, p.Service.Port, p.Service.TargetPort))
	d.edge(ing, svc, fmt.Sprintf(":%d", p.Ingress.ServicePort), false)
	pods := d.node(&d.cluster, id("pods", p.Workload.Namespace, p.Workload.Name), fmt.Sprintf(
		"Deployment %s/%s × %d<br/>:%d, ready on GET %s",
		p.Workload.Namespace, p.Workload.Name, p.Workload.Replicas, p.Workload.ContainerPort, p.Workload.ReadinessPath))
	d.edge(svc, pods, fmt.Sprintf(":%d", p.Workload.ContainerPort), false)
}

// listeners draws the listeners and where they send a request: a redirect to another listener,
// or a target group (ALB, NLB) or the node ports directly (classic ELB), and the nodes.
func (d *drawing) listeners(p plan.Path, lb string, subnets map[string]*subnet) {
	health := fmt.Sprintf("health %s:%d%s every %ds, out after %d failures",
		p.Health.Protocol, p.Health.Port, p.Health.Path, p.Health.Interval, p.Health.Unhealthy)
	listener := func(port string) string { return id("listener", lastName(p.LB.URN), port) }
	for _, l := range p.Listeners {
		d.edge(lb, d.node(&d.vpc, listener(fmt.Sprint(l.Port)), listenerLabel(l)), "", false)
	}
	for _, l := range p.Listeners {
		lid := listener(fmt.Sprint(l.Port))
		if l.Redirect != "" {
			// A redirect sends the client back to another listener of the same load balancer.
			if to := listener(l.Redirect[strings.LastIndex(l.Redirect, ":")+1:]); d.declared[to] {
				d.edge(lid, to, "redirect", true)
			}
			continue
		}
		if l.TargetGroup != "" {
			tg := d.node(&d.vpc, id("tg", lastName(p.LB.URN), fmt.Sprint(l.NodePort)),
				fmt.Sprintf("target group → node port %d<br/>%s", l.NodePort, health))
			d.edge(lid, tg, "forward", false)
			d.toNodes(tg, fmt.Sprintf(":%d", l.NodePort), subnets, false)
			continue
		}
		// A classic ELB's listener sends to the node port itself; its health check is the
		// load balancer's own.
		d.toNodes(lid, fmt.Sprintf("node port %d", l.NodePort), subnets, false)
		hc := d.node(&d.vpc, id("hc", lastName(p.LB.URN)), health)
		d.edge(lb, hc, "", true)
		d.toNodes(hc, "checks", subnets, true)
	}
}

// toNodes draws an edge from a hop to the nodes in each subnet that holds some.
func (d *drawing) toNodes(from, label string, subnets map[string]*subnet, dotted bool) {
	for _, sn := range sortedSubnets(subnets) {
		if sn.nodes != "" {
			d.edge(from, sn.id, label, dotted)
		}
	}
}

// subnet is a subnet of the plan and what the request path puts in it.
type subnet struct {
	index                    int
	id, az, cidr, resourceID string
	public                   bool   // the load balancer is in it
	nodes                    string // the node groups in it, "" if none
}

// subnets reads every subnet of the plan and marks the load balancers' and the nodes'.
func (d *drawing) subnets(paths []plan.Path) map[string]*subnet {
	out := map[string]*subnet{}
	for i, r := range d.res.OfType("aws:ec2/subnet:Subnet") {
		out[r.ID] = &subnet{index: i, id: fmt.Sprintf("subnet_%d", i), az: str(r.In("availabilityZone")), cidr: str(r.In("cidrBlock")), resourceID: r.ID}
	}
	for _, p := range paths {
		for _, s := range p.LB.Subnets {
			if sn, ok := out[s]; ok {
				sn.public = true
			}
		}
	}
	add := func(ids []any, what string) {
		for _, s := range ids {
			if sn, ok := out[str(s)]; ok {
				sn.nodes = strings.TrimPrefix(sn.nodes+", "+what, ", ")
			}
		}
	}
	for _, ng := range d.res.OfType("aws:eks/nodeGroup:NodeGroup") {
		ids := list(ng.In("subnetIds"))
		add(ids, fmt.Sprintf("node group %s, %v %s %s over %d subnets", ng.Name, ng.In("scalingConfig", "desiredSize"),
			strings.Join(strs(ng.In("instanceTypes")), "/"), str(ng.In("capacityType")), len(ids)))
	}
	for _, g := range d.res.OfType("aws:autoscaling/group:Group") {
		ids := list(g.In("vpcZoneIdentifiers"))
		add(ids, fmt.Sprintf("autoscaling group %s, %v over %d subnets", g.Name, g.In("desiredCapacity"), len(ids)))
	}
	return out
}

// zones declares one subgraph per AZ holding its subnets, in AZ order.
func (d *drawing) zones(subnets map[string]*subnet) {
	byAZ := map[string][]*subnet{}
	var azs []string
	for _, sn := range sortedSubnets(subnets) {
		if len(byAZ[sn.az]) == 0 {
			azs = append(azs, sn.az)
		}
		byAZ[sn.az] = append(byAZ[sn.az], sn)
	}
	sort.Strings(azs)
	for i, az := range azs {
		d.vpc = append(d.vpc, fmt.Sprintf("subgraph az_%d[%s]", i, quote(az)))
		for _, sn := range byAZ[az] {
			role := "subnet"
			if sn.public {
				role = "public subnet, load balancer"
			}
			label := fmt.Sprintf("%s %s", role, sn.cidr)
			if sn.nodes != "" {
				label = fmt.Sprintf("private subnet %s<br/>nodes: %s", sn.cidr, sn.nodes)
			}
			d.declared[sn.id] = true
			d.vpc = append(d.vpc, fmt.Sprintf("  %s[%s]", sn.id, quote(label)))
		}
		d.vpc = append(d.vpc, "end")
	}
}

func (d *drawing) vpcLabel() (string, bool) {
	vpcs := d.res.OfType("aws:ec2/vpc:Vpc")
	if len(vpcs) == 0 {
		return "", false
	}
	region := d.res.Stack.Region()
	if d.res.Fake != nil {
		region = d.res.Fake.Region()
	}
	return fmt.Sprintf("VPC %s, %s", str(vpcs[0].In("cidrBlock")), region), true
}

func (d *drawing) clusterLabel() string {
	switch {
	case len(d.res.OfType("aws:eks/cluster:Cluster")) > 0:
		eks := d.res.OfType("aws:eks/cluster:Cluster")[0]
		return fmt.Sprintf("EKS cluster %s, Kubernetes %s", str(eks.In("name")), str(eks.In("version")))
	case len(d.res.OfType("aws:ec2/instance:Instance")) > 0:
		return "k3s cluster"
	case len(d.res.OfType(apps.EnvironmentType)) > 0:
		return "the platform's cluster"
	default:
		return "Kubernetes cluster given by kubeconfig"
	}
}

var kindLabel = map[string]string{"alb": "ALB", "nlb": "NLB", "classic": "classic ELB"}

func hostLabel(p plan.Path) string {
	switch {
	case p.Alias != nil:
		return fmt.Sprintf("%s<br/>Route 53 A alias, evaluateTargetHealth %t", p.Host, p.Alias.EvaluateTargetHealth)
	case p.LB.Kind == "platform":
		return p.Host + "<br/>the platform's wildcard record"
	default:
		return p.Host + "<br/>no record in the stack's DNS"
	}
}

func listenerLabel(l plan.ListenerHop) string {
	s := fmt.Sprintf("listener %s:%d", l.Protocol, l.Port)
	if l.TLSPolicy != "" {
		s += "<br/>" + l.TLSPolicy
	}
	if l.Redirect != "" {
		s += "<br/>redirect to " + l.Redirect
	}
	return s
}

func nodePorts(ports map[int]int) string {
	var keys []int
	for k := range ports {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d→%d", k, ports[k]))
	}
	return strings.Join(parts, ", ")
}

func sortedSubnets(m map[string]*subnet) []*subnet {
	out := make([]*subnet, 0, len(m))
	for _, sn := range m {
		out = append(out, sn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// id makes a mermaid node id from parts: letters, digits and underscores only.
func id(parts ...string) string {
	s := strings.Join(parts, "_")
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// quote makes a mermaid string: double quotes inside become #quot;.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, "#quot;") + `"` }

func lastName(urn string) string { return urn[strings.LastIndex(urn, "::")+2:] }

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func strs(v any) []string {
	var out []string
	for _, x := range list(v) {
		out = append(out, str(x))
	}
	return out
}
