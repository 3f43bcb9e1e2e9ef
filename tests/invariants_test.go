package tests

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// tb is what both *testing.T and *rapid.T offer.
type tb interface {
	Helper()
	Errorf(format string, args ...any)
	FailNow()
}

// checkRequestPath checks every DESIGN.md request-path invariant on what the program registered.
// Expectations come from the stack's configuration; the values checked come from the recorded
// resources (ids and names the fake returned), never from the configuration.
func checkRequestPath(t tb, res *plan.Result) {
	t.Helper()
	cfg, _, err := program.Parse(plan.Project, res.Stack.Name, res.Stack.Config)
	require.NoError(t, err)
	paths, err := res.Trace()
	require.NoError(t, err)
	require.Len(t, paths, len(cfg.Apps), "one request path per app")
	switch {
	case cfg.Environment():
		checkEnvironment(t, res, cfg, paths)
		return
	case cfg.ClusterMode == program.ClusterModeExisting:
		checkAttachedCluster(t, res, cfg, paths)
		return
	}

	publicSubnets := exportedStrings(t, res, "publicSubnetIds")
	require.Len(t, publicSubnets, cfg.AzCount)
	byHost := map[string]plan.Path{}
	for _, p := range paths {
		byHost[p.Host] = p
	}
	for _, app := range cfg.Apps {
		p, ok := byHost[app.Host]
		require.True(t, ok, "no request path for %s", app.Host)

		// 7: the host routes to its own Service and Deployment.
		assert.Equal(t, app.Name, p.Ingress.ServiceName, app.Host)
		assert.Equal(t, ingress.IngressClass, p.Ingress.Class)
		assert.Equal(t, "Prefix", p.Ingress.PathType)
		assert.Equal(t, app.Name, p.Workload.Name, "%s must reach its own Deployment", app.Host)
		assert.Equal(t, app.Name, p.Workload.Namespace)
		// 6: replicated, budgeted, ready on a real page.
		assert.GreaterOrEqual(t, p.Workload.Replicas, 2)
		assert.Equal(t, app.Replicas, p.Workload.Replicas)
		assert.True(t, p.Workload.HasPDB, "%s has a PodDisruptionBudget", app.Name)
		assert.Equal(t, app.Port, p.Workload.ContainerPort)
		assert.Equal(t, app.HealthPath, p.Workload.ReadinessPath)
		// 8: pods outlast the load balancer's draining.
		assert.Greater(t, p.Workload.PreStopSeconds, p.Health.DeregistrationDelay)

		// 1: alias to the load balancer's name and canonical zone, evaluating target health.
		if cfg.ZoneMode == program.ZoneNone {
			assert.Nil(t, p.Alias)
		} else {
			require.NotNil(t, p.Alias, "%s has no alias record", app.Host)
			assert.Equal(t, p.LB.DNSName, p.Alias.Target)
			assert.Equal(t, p.LB.ZoneID, p.Alias.TargetZone)
			assert.True(t, p.Alias.EvaluateTargetHealth)
			assert.Equal(t, exported(t, res, "zoneId"), p.Alias.ZoneID)
		}

		// 2: internet-facing in exactly the public subnets.
		assert.Equal(t, cfg.LoadBalancer, p.LB.Kind)
		assert.ElementsMatch(t, publicSubnets, p.LB.Subnets, "load balancer subnets are the public subnets")
		require.Len(t, p.LB.SecurityGroups, 1)

		// 3: HTTPS where TLS is on.
		ports := map[int]plan.ListenerHop{}
		for _, l := range p.Listeners {
			ports[l.Port] = l
		}
		if cfg.TLS {
			require.Contains(t, ports, 443)
			assert.Contains(t, []string{"HTTPS", "TLS"}, ports[443].Protocol)
			if cfg.LoadBalancer != program.LoadBalancerClassic {
				assert.Equal(t, ingress.ModernTLSPolicy, ports[443].TLSPolicy)
			}
			if cfg.LoadBalancer == program.LoadBalancerALB {
				assert.Equal(t, "HTTPS:443", ports[80].Redirect)
			}
		} else {
			assert.Len(t, p.Listeners, 1)
			assert.NotContains(t, ports, 443)
		}

		// 4 and 5: to the controller's node ports; healthy only with a local controller pod,
		// checked on every target group (an NLB has one per node port).
		for _, l := range p.Listeners {
			if l.Redirect != "" {
				continue
			}
			assert.NotZero(t, p.Entry.NodePorts[l.NodePort], "listener %d reaches an entry node port", l.Port)
			assert.Equal(t, p.Entry.HealthCheckNodePort, l.Health.Port, "listener %d's targets are checked on the healthCheckNodePort", l.Port)
			assert.Equal(t, "HTTP", l.Health.Protocol, "listener %d", l.Port)
			assert.Equal(t, "/healthz", l.Health.Path, "listener %d", l.Port)
			assert.LessOrEqual(t, l.Health.FailoverSeconds(), 15, "listener %d", l.Port)
		}
		assert.Equal(t, p.Entry.HealthCheckNodePort, p.Health.Port)
		assert.Equal(t, "HTTP", p.Health.Protocol)
		assert.Equal(t, "/healthz", p.Health.Path)
		assert.Equal(t, "LoadBalancer", p.Entry.Type)
		assert.Equal(t, "Local", p.Entry.ExternalTrafficPolicy)
		assert.Equal(t, ingress.UnclaimedLoadBalancerClass, p.Entry.LoadBalancerClass)
		assert.True(t, p.Entry.SkipAwait, "pulumi-kubernetes must not wait for an address")
		// 8: a dead node leaves rotation fast.
		assert.LessOrEqual(t, p.Health.FailoverSeconds(), 15)
	}

	checkSecurityGroups(t, res, cfg, paths[0])
	checkAttachments(t, res, paths[0])
	checkKubernetesObjects(t, res)
	checkEntryTrust(t, res, cfg)
	release := controllerRelease(t, res)
	assert.Equal(t, paths[0].LB.DNSName, release.In("values", "providers", "kubernetesIngress", "ingressEndpoint", "hostname"),
		"Traefik publishes the stack's load balancer in Ingress status, which pulumi-kubernetes waits for")
	assert.Equal(t, true, release.In("skipCrds"), "no CRDs left behind by Helm")
	for _, ing := range res.OfType("kubernetes:networking.k8s.io/v1:Ingress") {
		assert.Contains(t, ing.Dependencies, release.URN, "Ingress %s waits for the controller", ing.Name)
	}
}

// checkEnvironment: an environment's hosts are one label under the platform's envDomain, its
// apps live in its own namespace (quota, limits, default-deny), and it owns no AWS resource.
func checkEnvironment(t tb, res *plan.Result, cfg program.Config, paths []plan.Path) {
	t.Helper()
	env, err := program.EnvName(cfg.Stack)
	require.NoError(t, err)
	assert.Equal(t, env, text(t, res.Exports["environment"].Value), "the environment's name is exported")
	ns := "env-" + env
	for _, p := range paths {
		assert.Equal(t, "platform", p.LB.Kind)
		label, _, _ := strings.Cut(p.Host, ".")
		assert.True(t, strings.HasSuffix(label, "-"+env), "%s is <app>-%s", p.Host, env)
		assert.Equal(t, ns, p.Ingress.Namespace)
		assert.Equal(t, ns, p.Workload.Namespace)
		assert.True(t, p.Workload.HasPDB)
		assert.GreaterOrEqual(t, p.Workload.Replicas, 2)
	}
	for _, r := range res.Resources {
		assert.False(t, strings.HasPrefix(r.Type, "aws:"), "an environment owns no AWS resource: %s %s", r.Type, r.Name)
	}
	objs, err := res.KubernetesObjects()
	require.NoError(t, err)
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[fmt.Sprint(o["kind"])]++
		if o["kind"] != "Namespace" {
			assert.Equal(t, ns, fakeaws.Get(o, "metadata", "namespace"), "%s %v is in the environment's namespace", o["kind"], fakeaws.Get(o, "metadata", "name"))
		}
		if o["kind"] == "Service" {
			assert.Equal(t, "ClusterIP", fakeaws.Get(o, "spec", "type"))
		}
	}
	assert.Equal(t, 1, kinds["Namespace"])
	assert.Equal(t, 1, kinds["ResourceQuota"])
	assert.Equal(t, 1, kinds["LimitRange"])
	assert.Equal(t, len(cfg.Apps)+1, kinds["NetworkPolicy"], "default-deny plus one allow per app")
}

// checkAttachedCluster: on a cluster given by kubeconfig the stack builds no AWS resource and no
// load balancer; the path starts at the entry Service's fixed node ports.
func checkAttachedCluster(t tb, res *plan.Result, cfg program.Config, paths []plan.Path) {
	t.Helper()
	for _, r := range res.Resources {
		assert.False(t, strings.HasPrefix(r.Type, "aws:"), "%s %s", r.Type, r.Name)
	}
	for _, p := range paths {
		assert.Equal(t, "none", p.LB.Kind)
		assert.Equal(t, "Local", p.Entry.ExternalTrafficPolicy)
		assert.Equal(t, ingress.UnclaimedLoadBalancerClass, p.Entry.LoadBalancerClass)
		ports, ok := res.Exports["entryNodePorts"].Value.(map[string]any)
		require.True(t, ok, "the node ports an outside balancer needs are exported")
		assert.Equal(t, float64(p.Entry.HealthCheckNodePort), ports["healthCheck"], "the exported health check is the entry Service's")
		assert.Contains(t, p.Entry.NodePorts, int(number(t, ports["http"])))
		assert.Contains(t, p.Entry.NodePorts, int(number(t, ports["https"])))
	}
	checkKubernetesObjects(t, res)
	checkNoEntryTrust(t, res)
}

// checkSecurityGroups: the node group admits only the load balancer's group, on exactly the node
// ports the listeners use and the health-check port; the only CIDR rules are the listeners'.
func checkSecurityGroups(t tb, res *plan.Result, cfg program.Config, p plan.Path) {
	t.Helper()
	nodeSG := nodeSecurityGroup(t, res, cfg)
	lbSG := p.LB.SecurityGroups[0]
	wantNodePorts := []int{p.Health.Port}
	listenerPorts := []int{}
	for _, l := range p.Listeners {
		listenerPorts = append(listenerPorts, l.Port)
		if l.NodePort != 0 && !slices.Contains(wantNodePorts, l.NodePort) {
			wantNodePorts = append(wantNodePorts, l.NodePort)
		}
	}
	var nodePorts []int
	cidrRules := 0
	ingressLayer := named(t, res, "outside-in:ingress:Ingress", "ingress").URN
	for _, rule := range res.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if rule.Parent != ingressLayer {
			continue // the cluster's own rules: checkClusterRules
		}
		port := int(number(t, rule.In("fromPort")))
		assert.Equal(t, rule.In("fromPort"), rule.In("toPort"), "single-port rules only")
		if rule.In("securityGroupId") == nodeSG.ID {
			assert.Equal(t, lbSG, rule.In("referencedSecurityGroupId"), "the nodes admit the load balancer's group only")
			assert.Nil(t, rule.In("cidrIpv4"), "no CIDR reaches the nodes")
			nodePorts = append(nodePorts, port)
			continue
		}
		cidr, isCidr := rule.In("cidrIpv4").(string)
		require.True(t, isCidr, "rule %s", rule.Name)
		cidrRules++
		assert.Equal(t, lbSG, rule.In("securityGroupId"), "only the load balancer is open to CIDRs")
		assert.Contains(t, listenerPorts, port, "world-facing rules are listener ports only")
		assert.Contains(t, cfg.AllowedCidrs, cidr)
	}
	assert.ElementsMatch(t, wantNodePorts, nodePorts)
	assert.Equal(t, len(listenerPorts)*len(cfg.AllowedCidrs), cidrRules)
	egress := 0
	for _, rule := range res.OfType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
		if rule.Parent != ingressLayer {
			continue
		}
		egress++
		assert.Equal(t, lbSG, rule.In("securityGroupId"))
		assert.Equal(t, nodeSG.ID, rule.In("referencedSecurityGroupId"), "the load balancer sends to the nodes only")
	}
	assert.Equal(t, len(wantNodePorts), egress)
	// Whatever the cluster adds, no rule opens a node to a CIDR.
	for _, rule := range res.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if rule.In("securityGroupId") == nodeSG.ID {
			assert.Nil(t, rule.In("cidrIpv4"), "rule %s opens the nodes to a CIDR", rule.Name)
		}
	}
}

// nodeSecurityGroup is the group of the nodes the load balancer sends to: the node group's on
// EKS, the agents' on k3s.
func nodeSecurityGroup(t tb, res *plan.Result, cfg program.Config) *fakeaws.Resource {
	t.Helper()
	name := "cluster-node-sg"
	if cfg.ClusterMode == program.ClusterModeK3s {
		name = "cluster-agents-sg"
	}
	sg := res.Named("aws:ec2/securityGroup:SecurityGroup", name)
	require.NotNil(t, sg, "no security group %s", name)
	return sg
}

// nodeAutoscalingGroup is the name of the autoscaling group of the nodes: the one EKS made for
// the managed node group, or the agents' group.
func nodeAutoscalingGroup(t tb, res *plan.Result) string {
	t.Helper()
	if ng := res.OfType("aws:eks/nodeGroup:NodeGroup"); len(ng) > 0 {
		require.Len(t, ng, 1)
		name, _ := ng[0].Out("resources", 0, "autoscalingGroups", 0, "name").(string)
		require.NotEmpty(t, name)
		return name
	}
	groups := res.OfType("aws:autoscaling/group:Group")
	require.Len(t, groups, 1, "one autoscaling group of agents")
	name, _ := groups[0].Out("name").(string)
	require.NotEmpty(t, name)
	return name
}

// controllerRelease is the ingress controller's Helm release.
func controllerRelease(t tb, res *plan.Result) *fakeaws.Resource {
	t.Helper()
	r := res.Named("kubernetes:helm.sh/v3:Release", "ingress-controller")
	require.NotNil(t, r, "no ingress controller release")
	return r
}

// checkAttachments: the node group's autoscaling group is attached to every target group (or to
// the classic ELB), by the names and ARNs the fake returned.
func checkAttachments(t tb, res *plan.Result, p plan.Path) {
	t.Helper()
	asg := nodeAutoscalingGroup(t, res)
	attachments := res.OfType("aws:autoscaling/attachment:Attachment")
	var attached []string
	for _, a := range attachments {
		assert.Equal(t, asg, a.In("autoscalingGroupName"))
		if arn, ok := a.In("lbTargetGroupArn").(string); ok {
			attached = append(attached, arn)
		} else {
			attached = append(attached, text(t, a.In("elb")))
		}
	}
	var want []string
	if p.LB.Kind == "classic" {
		want = append(want, text(t, res.ByURN(p.LB.URN).Out("name")))
	} else {
		for _, l := range p.Listeners {
			if l.TargetGroup != "" && !slices.Contains(want, l.TargetGroup) {
				want = append(want, l.TargetGroup)
			}
		}
	}
	assert.ElementsMatch(t, want, attached)
}

// checkKubernetesObjects: every Service is ClusterIP or the unclaimed-class entry Service, so no
// cloud load balancer can appear outside the stack; every Deployment is replicated and budgeted;
// every Kubernetes resource goes through the cluster's explicit provider.
func checkKubernetesObjects(t tb, res *plan.Result) {
	t.Helper()
	providers := res.OfType("pulumi:providers:kubernetes")
	require.Len(t, providers, 1)
	for _, r := range res.Resources {
		if r.Custom && len(r.Type) > 11 && r.Type[:11] == "kubernetes:" {
			assert.Equal(t, providers[0].URN+"::"+providers[0].ID, r.Provider, "%s %s uses the cluster's provider", r.Type, r.Name)
		}
	}
	objs, err := res.KubernetesObjects()
	require.NoError(t, err)
	budgets := map[string]bool{}
	for _, o := range objs {
		if o["kind"] == "PodDisruptionBudget" {
			budgets[fmt.Sprint(fakeaws.Get(o, "metadata", "namespace"))] = true
			// Unready pods can always go: a drain never waits on them (issue 23).
			assert.Equal(t, "AlwaysAllow", fakeaws.Get(o, "spec", "unhealthyPodEvictionPolicy"), "PodDisruptionBudget %v", fakeaws.Get(o, "metadata", "name"))
		}
	}
	for _, o := range objs {
		switch o["kind"] {
		case "Service":
			switch fakeaws.Get(o, "spec", "type") {
			case "ClusterIP":
			case "LoadBalancer":
				assert.Equal(t, ingress.UnclaimedLoadBalancerClass, fakeaws.Get(o, "spec", "loadBalancerClass"))
			default:
				t.Errorf("Service %v has type %v", fakeaws.Get(o, "metadata", "name"), fakeaws.Get(o, "spec", "type"))
			}
		case "Deployment":
			assert.GreaterOrEqual(t, fakeaws.Get(o, "spec", "replicas"), 2.0)
			assert.True(t, budgets[fmt.Sprint(fakeaws.Get(o, "metadata", "namespace"))], "a PDB beside every Deployment")
			// The platform's apps outrank every environment's; an environment's run at the
			// only class the platform lets it name. Their history is what an environment may keep.
			class := kubemeta.PlatformPriorityClass
			if strings.HasPrefix(fmt.Sprint(fakeaws.Get(o, "metadata", "namespace")), guardrails.NamespacePrefix) {
				class = kubemeta.EnvironmentsPriorityClass
			}
			assert.Equal(t, class, fakeaws.Get(o, "spec", "template", "spec", "priorityClassName"), "Deployment %v", fakeaws.Get(o, "metadata", "name"))
			assert.Equal(t, float64(guardrails.EnvironmentRevisionHistory), fakeaws.Get(o, "spec", "revisionHistoryLimit"), "Deployment %v", fakeaws.Get(o, "metadata", "name"))
			checkWorkload(t, o, objs)
		}
	}
	release := controllerRelease(t, res)
	assert.Equal(t, 0.0, release.In("values", "updateStrategy", "rollingUpdate", "maxUnavailable"), "the controller rolls a new pod in before an old one goes")
	assert.Equal(t, kubemeta.PlatformPriorityClass, release.In("values", "priorityClassName"), "the controller outranks every environment's pods")
	classes := map[string]bool{}
	for _, o := range objs {
		if o["kind"] == "PriorityClass" {
			classes[fmt.Sprint(fakeaws.Get(o, "metadata", "name"))] = true
		}
	}
	assert.True(t, classes[kubemeta.PlatformPriorityClass], "the stack declares the class its controller and apps name")
	assert.Equal(t, 1.0, release.In("values", "updateStrategy", "rollingUpdate", "maxSurge"))
	for _, c := range list(t, release.In("values", "topologySpreadConstraints")) {
		assert.Equal(t, "Honor", object(t, c)["nodeTaintsPolicy"], "the controller's spread counts only nodes it may run on")
	}
	assert.GreaterOrEqual(t, release.In("values", "deployment", "replicas"), 2.0)
	assert.Equal(t, false, release.In("values", "service", "enabled"), "the chart builds no Service of its own")
	assert.Equal(t, true, release.In("values", "podDisruptionBudget", "enabled"))
}

// checkWorkload holds what keeps an app serving through a rollout and a drain, and what its
// network policy lets reach it: a new pod is Ready before an old one goes (maxUnavailable 0,
// maxSurge 1); its spread counts only nodes it may run on (nodeTaintsPolicy Honor: a tainted
// k3s server or a drained node is no domain); the one allow policy of its namespace admits
// exactly the container port, from the controller's pods only.
func checkWorkload(t tb, d map[string]any, objs []map[string]any) {
	t.Helper()
	name := fmt.Sprint(fakeaws.Get(d, "metadata", "name"))
	assert.Equal(t, 0.0, fakeaws.Get(d, "spec", "strategy", "rollingUpdate", "maxUnavailable"), "%s: maxUnavailable", name)
	assert.Equal(t, 1.0, fakeaws.Get(d, "spec", "strategy", "rollingUpdate", "maxSurge"), "%s: maxSurge", name)
	spread := list(t, fakeaws.Get(d, "spec", "template", "spec", "topologySpreadConstraints"))
	require.NotEmpty(t, spread)
	for _, c := range spread {
		assert.Equal(t, "Honor", object(t, c)["nodeTaintsPolicy"], "%s: spread over %v", name, object(t, c)["topologyKey"])
	}
	port := fakeaws.Get(d, "spec", "template", "spec", "containers", 0, "ports", 0, "containerPort")
	namespace := fakeaws.Get(d, "metadata", "namespace")
	allows := 0
	for _, o := range objs {
		if o["kind"] != "NetworkPolicy" || fakeaws.Get(o, "metadata", "namespace") != namespace || fakeaws.Get(o, "metadata", "name") == "default-deny" {
			continue
		}
		if fakeaws.Get(o, "spec", "podSelector", "matchLabels", "app.kubernetes.io/name") != name {
			continue
		}
		allows++
		rules := list(t, fakeaws.Get(o, "spec", "ingress"))
		require.Len(t, rules, 1, "%s: one ingress rule", name)
		ports := list(t, fakeaws.Get(rules[0], "ports"))
		require.Len(t, ports, 1)
		assert.Equal(t, port, object(t, ports[0])["port"], "%s: the policy admits the container port, no other", name)
		from := list(t, fakeaws.Get(rules[0], "from"))
		require.Len(t, from, 1)
		assert.Equal(t, ingress.ControllerNamespace, fakeaws.Get(from[0], "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name"), "%s: from the controller's namespace", name)
		assert.NotEmpty(t, fakeaws.Get(from[0], "podSelector", "matchLabels"), "%s: from the controller's pods only", name)
	}
	assert.Equal(t, 1, allows, "%s: one allow policy", name)
}

func exported(t tb, res *plan.Result, name string) any {
	t.Helper()
	e, ok := res.Exports[name]
	require.True(t, ok, "no stack output %s", name)
	require.False(t, e.Unknown, "stack output %s is unknown", name)
	return e.Value
}

func exportedStrings(t tb, res *plan.Result, name string) []string {
	t.Helper()
	var out []string
	for _, v := range list(t, exported(t, res, name)) {
		out = append(out, text(t, v))
	}
	return out
}

func TestRequestPathOfShippedStacks(t *testing.T) {
	for _, s := range shippedStacks(t) {
		t.Run(s.Name, func(t *testing.T) {
			checkRequestPath(t, run(t, s))
		})
	}
}

// Seed 002: two hostnames, two backends, each host to its own Deployment.
func TestSeed002RoutesEachHostToItsOwnDeployment(t *testing.T) {
	res := run(t, stack(t, "seed002"))
	paths, err := res.Trace()
	require.NoError(t, err)
	require.Len(t, paths, 2)
	got := map[string]string{}
	for _, p := range paths {
		got[p.Host] = p.Workload.Namespace + "/" + p.Workload.Name
	}
	assert.Equal(t, map[string]string{
		"web80.lab.example.com":   "web80/web80",
		"web8080.lab.example.com": "web8080/web8080",
	}, got)
	assert.Equal(t, "classic", paths[0].LB.Kind)
	assert.Equal(t, "HTTP:32080/healthz", fmt.Sprintf("%s:%d%s", paths[0].Health.Protocol, paths[0].Health.Port, paths[0].Health.Path))
}

// Generated stacks: the request-path invariants hold whatever the configuration — cluster mode
// (EKS, k3s with one or three servers), load balancer kind, TLS, zone mode, region and AZ count,
// NAT strategy, VPC range and subnet sizes, node ports, apps (count, ports, health paths, images,
// replicas, names), domain and client CIDRs. make test runs 200 stacks from a fixed seed
// (TestMain); -rapid.checks=N and -rapid.seed=S run others.
func TestRequestPathOfGeneratedStacks(t *testing.T) {
	base := stack(t, "dev")
	rapid.Check(t, func(rt *rapid.T) {
		s, drawn := generateStack(rt, base)
		res, err := plan.Run(s, plan.Options{})
		if err != nil {
			rt.Fatalf("%v", err)
		}
		checkRequestPath(rt, res)
		// The node ports the generator chose are the ones the load balancer uses.
		paths, err := res.Trace()
		require.NoError(rt, err)
		require.Len(rt, paths, len(drawn.apps))
		for _, p := range paths {
			// Each app's Deployment is what the generator chose for it.
			app, ok := drawn.apps[p.Workload.Name]
			require.True(rt, ok, "%s reaches Deployment %s, not an app the generator drew", p.Host, p.Workload.Name)
			assert.Equal(rt, app.replicas, p.Workload.Replicas)
			assert.Equal(rt, app.port, p.Workload.ContainerPort)
			assert.Equal(rt, app.healthPath, p.Workload.ReadinessPath)
			assert.Equal(rt, drawn.lb, p.LB.Kind)
			assert.Equal(rt, drawn.healthCheck, p.Health.Port)
			assert.Equal(rt, drawn.healthCheck, p.Entry.HealthCheckNodePort)
			for _, l := range p.Listeners {
				if l.NodePort != 0 {
					assert.Contains(rt, []int{drawn.http, drawn.https}, l.NodePort)
				}
			}
		}
	})
}

// drawnStack is what the generator chose, to compare the plan with (not the configuration the
// program parsed from it): node ports, load balancer kind and each app.
type drawnStack struct {
	http, https, healthCheck int
	lb                       string
	apps                     map[string]drawnApp
}

type drawnApp struct {
	replicas, port int
	healthPath     string
}

// generateStack draws a valid stack from the dimensions that shape the request path.
func generateStack(rt *rapid.T, base plan.Stack) (plan.Stack, drawnStack) {
	label := rapid.StringMatching(`[a-z][a-z0-9]{0,8}`)
	domain := label.Draw(rt, "sub") + "." + label.Draw(rt, "zone") + ".example.com"
	lb := rapid.SampledFrom([]string{"alb", "nlb", "classic"}).Draw(rt, "lb")
	maxApps := 5
	if lb != "classic" {
		maxApps = 14 // past one certificate's ten names
	}
	n := rapid.IntRange(1, maxApps).Draw(rt, "apps")
	var apps []string
	drawn := drawnStack{lb: lb, apps: map[string]drawnApp{}}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("a%d%s", i, rapid.StringMatching(`[a-z0-9]{0,6}`).Draw(rt, "name"))
		a := drawnApp{
			replicas:   rapid.IntRange(2, 6).Draw(rt, "replicas"),
			port:       rapid.IntRange(1024, 65535).Draw(rt, "port"),
			healthPath: "/" + rapid.StringMatching(`[a-z]{1,8}(\.html)?`).Draw(rt, "health"),
		}
		drawn.apps[name] = a
		app := fmt.Sprintf(`{"name":%q,"replicas":%d,"port":%d,"healthPath":%q,"image":%q`, name, a.replicas, a.port, a.healthPath,
			rapid.SampledFrom([]string{program.DefaultAppImage, "httpd:2.4.68", "registry.example.com/web/httpd:2.4.68-r1"}).Draw(rt, "image"))
		if rapid.Bool().Draw(rt, "explicit host") {
			app += fmt.Sprintf(`,"host":%q`, name+"-"+label.Draw(rt, "host")+"."+domain)
		}
		apps = append(apps, app+"}")
	}
	zoneMode := rapid.SampledFrom([]string{"create", "existing", "none"}).Draw(rt, "zoneMode")
	tls := zoneMode != "none" && rapid.Bool().Draw(rt, "tls")
	region := rapid.SampledFrom([]string{"us-east-1", "us-west-2", "eu-central-1", "ap-northeast-1", "sa-east-1"}).Draw(rt, "region")
	azs := rapid.IntRange(2, 3).Draw(rt, "azs")
	vpcBits := rapid.IntRange(16, 19).Draw(rt, "vpc bits")
	private := rapid.IntRange(vpcBits+3, 24).Draw(rt, "private bits")
	ports := rapid.Permutation([]int{30080, 30443, 31000, 31443, 32080, 32766}).Draw(rt, "ports")
	set := map[string]string{
		"domain":                    domain,
		"apps":                      "[" + strings.Join(apps, ",") + "]",
		"loadBalancer":              lb,
		"azCount":                   strconv.Itoa(azs),
		"natStrategy":               rapid.SampledFrom([]string{"Single", "OnePerAz", "Instance"}).Draw(rt, "nat"),
		"zoneMode":                  zoneMode,
		"tls":                       strconv.FormatBool(tls),
		"vpcCidr":                   fmt.Sprintf("10.%d.0.0/%d", rapid.IntRange(0, 15).Draw(rt, "vpc")*16, vpcBits),
		"privateSubnetPrefixLength": strconv.Itoa(private),
		"publicSubnetPrefixLength":  strconv.Itoa(rapid.IntRange(private, 26).Draw(rt, "public bits")),
		"httpNodePort":              strconv.Itoa(ports[0]),
		"httpsNodePort":             strconv.Itoa(ports[1]),
		"healthCheckNodePort":       strconv.Itoa(ports[2]),
		"allowedCidrs":              rapid.SampledFrom([]string{`["0.0.0.0/0"]`, `["198.51.100.0/24","203.0.113.0/24"]`}).Draw(rt, "clients"),
		"ingressReplicas":           strconv.Itoa(rapid.IntRange(2, 4).Draw(rt, "ingress replicas")),
	}
	if rapid.Bool().Draw(rt, "k3s") {
		set["clusterMode"] = "k3s"
		set["k3sServers"] = rapid.SampledFrom([]string{"1", "3"}).Draw(rt, "servers")
		set["nodeInstanceTypes"] = `["t4g.medium"]`
	}
	s := with(base, set)
	s.Config["aws:region"] = region
	drawn.http, drawn.https, drawn.healthCheck = ports[0], ports[1], ports[2]
	return s, drawn
}
