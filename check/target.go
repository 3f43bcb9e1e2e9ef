package check

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/outside-in/outside-in/ingress"
)

// Stack outputs the check reads (README, "Outputs").
const (
	outURLs                = "urls"
	outLoadBalancerDNSName = "loadBalancerDnsName"
	outZoneID              = "zoneId"
	outNameServers         = "nameServers"
	outPublicSubnetIDs     = "publicSubnetIds"
	outKubeconfig          = "kubeconfig"
	outEnvKubeconfig       = "environmentKubeconfig"
	outEnvDomain           = "envDomain"
	outIngressClass        = "ingressClass"
	outControllerNamespace = "controllerNamespace"
	outNamespace           = "namespace"
	// outRouting is how the controller reaches the apps: ingress or gateway. A stack that
	// predates the Gateway API does not export it, and routes through Ingresses.
	outRouting       = "routing"
	outEnvironment   = "environment"
	outPlatformStack = "platformStack"
	outClusterName   = "clusterName"
	// Outputs read when a stack exports them; without them the check derives what it can.
	outRegion       = "region"
	outAllowedCidrs = "allowedCidrs"
	// outNodeSecurityGroupID is the nodes' security group, which must admit the load balancer
	// on the node ports and the health-check port.
	outNodeSecurityGroupID = "nodeSecurityGroupId"
)

// Defaults of a stack that does not export them: the controller the program installs.
const (
	defaultIngressClass        = "traefik"
	defaultControllerNamespace = "traefik"
	entryService               = "traefik-entry"
	// pageMarker begins the sentence every app's index page carries after its name.
	pageMarker = "Served by app "
)

// target is what a check walks: the hosts and every hop's coordinates.
type target struct {
	stack           string
	hosts           []host
	loadBalancerDNS string
	zoneID          string
	nameServers     []string
	publicSubnets   []string
	allowedCidrs    []string // nil: not exported
	nodeSecurityGrp string   // "": not exported
	region          string
	kubeconfig      string
	namespace       string // "" looks in every namespace
	ingressClass    string
	controllerNS    string
	routing         ingress.Routing
}

// host is one app's hostname and where its record is.
type host struct {
	app, host, url string
	// record is the name of the alias record that answers for host: host itself, or the
	// platform's *.<envDomain> for an environment's host.
	record string
}

// stackTarget reads a full stack's outputs.
func stackTarget(out map[string]any) (target, error) {
	t, err := common(out)
	if err != nil {
		return t, err
	}
	t.stack = str(out, outClusterName)
	t.kubeconfig = str(out, outKubeconfig)
	for i := range t.hosts {
		t.hosts[i].record = t.hosts[i].host
	}
	return t, nil
}

// environmentTarget reads an environment's outputs (its hosts and namespace) and its platform's
// (everything in front of the namespace).
func environmentTarget(env, platform map[string]any) (target, error) {
	if len(platform) == 0 {
		return target{}, errors.New("the platform stack's outputs are empty: an environment is checked through its platform's load balancer, zone and cluster")
	}
	hosts, err := hostsOf(env)
	if err != nil {
		return target{}, fmt.Errorf("environment outputs: %w", err)
	}
	t, err := common(platform)
	if err != nil && !errors.Is(err, errNoURLs) {
		return t, fmt.Errorf("platform outputs: %w", err)
	}
	envDomain := str(platform, outEnvDomain)
	if envDomain == "" {
		return t, fmt.Errorf("platform outputs: no %s: the stack named by the environment's %s (%q) is not a platform",
			outEnvDomain, outPlatformStack, str(env, outPlatformStack))
	}
	t.hosts = hosts
	for i := range t.hosts {
		t.hosts[i].record = "*." + envDomain
	}
	t.stack = str(env, outEnvironment)
	t.namespace = str(env, outNamespace)
	// An environment routes as its platform did when it was last deployed: its own output,
	// when it exports one, says how its objects are, even while the platform switches.
	if _, ok := env[outRouting]; ok {
		if t.routing, err = routingOf(env); err != nil {
			return t, fmt.Errorf("environment outputs: %w", err)
		}
	}
	// The platform's admin kubeconfig reads nodes and the controller's namespace, which the
	// environments group may not; the environments kubeconfig is the fallback.
	t.kubeconfig = str(platform, outKubeconfig)
	if t.kubeconfig == "" {
		t.kubeconfig = str(platform, outEnvKubeconfig)
	}
	return t, nil
}

var errNoURLs = errors.New("no urls output: nothing to check (is this an outside-in stack, and has `pulumi up` finished?)")

// common reads the outputs every stack with a load balancer has.
func common(out map[string]any) (target, error) {
	routing, err := routingOf(out)
	if err != nil {
		return target{}, err
	}
	t := target{
		routing:         routing,
		loadBalancerDNS: str(out, outLoadBalancerDNSName),
		zoneID:          str(out, outZoneID),
		nameServers:     strs(out, outNameServers),
		publicSubnets:   strs(out, outPublicSubnetIDs),
		nodeSecurityGrp: str(out, outNodeSecurityGroupID),
		region:          str(out, outRegion),
		ingressClass:    str(out, outIngressClass),
		controllerNS:    str(out, outControllerNamespace),
	}
	if _, ok := out[outAllowedCidrs]; ok {
		t.allowedCidrs = strs(out, outAllowedCidrs)
	}
	if t.ingressClass == "" {
		t.ingressClass = defaultIngressClass
	}
	if t.controllerNS == "" {
		t.controllerNS = defaultControllerNamespace
	}
	if t.region == "" {
		t.region = regionOf(t.loadBalancerDNS)
	}
	if t.region == "" {
		t.region = kubeconfigRegion(str(out, outKubeconfig))
	}
	hosts, err := hostsOf(out)
	t.hosts = hosts
	return t, err
}

// routingOf reads the routing output: ingress when there is none.
func routingOf(out map[string]any) (ingress.Routing, error) {
	switch r := ingress.Routing(str(out, outRouting)); r {
	case "":
		return ingress.RoutingIngress, nil
	case ingress.RoutingIngress, ingress.RoutingGateway:
		return r, nil
	default:
		return "", fmt.Errorf("%s = %q: the check knows %s and %s", outRouting, r, ingress.RoutingIngress, ingress.RoutingGateway)
	}
}

// hostsOf reads the urls output: app name → URL.
func hostsOf(out map[string]any) ([]host, error) {
	raw, ok := out[outURLs].(map[string]any)
	if !ok || len(raw) == 0 {
		return nil, errNoURLs
	}
	var hosts []host
	for app, v := range raw {
		s, _ := v.(string)
		u, err := url.Parse(s)
		if err != nil || u.Hostname() == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("urls.%s = %q: not an http(s) URL", app, s)
		}
		hosts = append(hosts, host{app: app, host: strings.ToLower(u.Hostname()), url: s})
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].host < hosts[j].host })
	return hosts, nil
}

// Load balancer DNS names carry their region: ALB and classic <name>.<region>.elb.amazonaws.com,
// NLB <name>.elb.<region>.amazonaws.com.
var (
	albRegion = regexp.MustCompile(`\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.elb\.amazonaws\.com\.?$`)
	nlbRegion = regexp.MustCompile(`\.elb\.([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com\.?$`)
	cliRegion = regexp.MustCompile(`"--region",\s*"([a-z0-9-]+)"|--region\s+([a-z0-9-]+)`)
)

func regionOf(dnsName string) string {
	for _, re := range []*regexp.Regexp{albRegion, nlbRegion} {
		if m := re.FindStringSubmatch(strings.ToLower(dnsName)); m != nil {
			return m[1]
		}
	}
	return ""
}

// kubeconfigRegion is the --region an EKS kubeconfig passes to `aws eks get-token`.
func kubeconfigRegion(kubeconfig string) string {
	m := cliRegion.FindStringSubmatch(kubeconfig)
	if m == nil {
		return ""
	}
	return m[1] + m[2]
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func strs(m map[string]any, key string) []string {
	var out []string
	switch v := m[key].(type) {
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	case []string:
		out = append(out, v...)
	}
	return out
}
