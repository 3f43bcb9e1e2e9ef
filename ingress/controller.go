package ingress

import (
	"fmt"

	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	helmv3 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/helm/v3"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/internal/naming"
)

// The ingress controller: Traefik v3 from its official chart, pinned.
const (
	ControllerNamespace = "traefik"
	ControllerRelease   = "traefik"
	ChartName           = "traefik"
	ChartRepo           = "https://traefik.github.io/charts"
	// ChartVersion 41.3.0 ships Traefik v3.7.11.
	ChartVersion = "41.3.0"
	// TraefikVersion and TraefikDigest pin the controller's image by digest (the multi-arch
	// index of traefik:v3.7.11, docker-library/repo-info), so a retagged image never rolls in.
	TraefikVersion = "v3.7.11"
	TraefikDigest  = "sha256:5203c3f39ca70de6790d964624e042463ffbd57715bc82be155cf224c0dd5144"
	// IngressClass is the controller's IngressClass, the cluster default.
	IngressClass = "traefik"
	// EntryService is the Service the load balancer reaches the controller through.
	EntryService = "traefik-entry"

	// Container ports of Traefik's entry points: web (plain HTTP from the load balancer) and
	// websecure (requests the load balancer decrypted).
	webPort       = 8000
	websecurePort = 8443
)

// ReadinessDelaySeconds is how long a new controller pod waits before its first readiness probe
// (the chart's readinessProbe.initialDelaySeconds, 2 by default).
const ReadinessDelaySeconds = 10

// UnclaimedLoadBalancerClass is the entry Service's loadBalancerClass. No controller claims it,
// so Kubernetes allocates the node ports and the healthCheckNodePort of a LoadBalancer Service
// but no cloud provider creates a load balancer for it: the stack owns the only one.
const UnclaimedLoadBalancerClass = "outside-in/stack-owned"

// controllerPodLabels are added to the chart's own pod labels through deployment.podLabels.
var controllerPodLabels = map[string]string{"app.kubernetes.io/component": "ingress-controller"}

// ControllerSelector selects the controller pods: the chart's name label plus ours.
var ControllerSelector = map[string]string{
	"app.kubernetes.io/name":      "traefik",
	"app.kubernetes.io/component": "ingress-controller",
}

// ControllerValues are the chart values. They are tested as data, because the objects the chart
// renders exist only at deploy time. publishedHostname, the load balancer's DNS name, is what
// the controller writes into each Ingress's status (pulumi-kubernetes waits for that status, and
// kubectl shows where the Ingress is reached) and, with gatewayAPI, into the Gateway's addresses.
// With gatewayAPI Traefik also runs its kubernetesGateway provider, beside the Ingress provider:
// Ingresses keep being served while a stack switches its routing, and while environments made
// before the switch still have theirs.
func ControllerValues(replicas int, tls bool, trustedForwarders []string, publishedHostname pulumi.StringInput, gatewayAPI bool) map[string]any {
	web := map[string]any{"port": webPort, "exposedPort": 80, "protocol": "TCP"}
	websecure := map[string]any{
		"port": websecurePort, "exposedPort": 443, "protocol": "TCP",
		// TLS ends at the load balancer; this entry point receives decrypted requests.
		"http": map[string]any{"tls": map[string]any{"enabled": false}},
	}
	if len(trustedForwarders) > 0 {
		// X-Forwarded-* are believed only from where the load balancer connects from
		// (TrustedForwarders says why); from anyone else Traefik drops them and records the
		// connection's own address as the client's.
		ips := make([]any, len(trustedForwarders))
		for i, c := range trustedForwarders {
			ips[i] = c
		}
		trusted := map[string]any{"trustedIPs": ips}
		web["forwardedHeaders"] = trusted
		websecure["forwardedHeaders"] = trusted
	}
	if tls {
		// Plain HTTP that reaches the controller is redirected to HTTPS.
		web["http"] = map[string]any{"redirections": map[string]any{"entryPoint": map[string]any{
			"to": "websecure", "scheme": "https", "permanent": true,
		}}}
	}
	values := map[string]any{
		"image":           map[string]any{"digest": TraefikDigest, "pullPolicy": "IfNotPresent"},
		"versionOverride": TraefikVersion,
		// Above every environment's pods: the scheduler evicts theirs to place the controller,
		// never the reverse (guardrails.PlatformPriority).
		"priorityClassName": kubemeta.PlatformPriorityClass,
		"deployment": map[string]any{
			"kind":                          "Deployment",
			"replicas":                      replicas,
			"podLabels":                     toAny(controllerPodLabels),
			"terminationGracePeriodSeconds": TerminationGraceSeconds,
			// The pod keeps serving while the load balancer's health check notices that this
			// node lost its local endpoint and drains it.
			"lifecycle": map[string]any{"preStop": map[string]any{"sleep": map[string]any{"seconds": PreStopSeconds}}},
		},
		"ingressClass": map[string]any{"enabled": true, "isDefaultClass": true, "name": IngressClass},
		"providers": map[string]any{
			"kubernetesIngress": map[string]any{
				"enabled":         true,
				"ingressEndpoint": map[string]any{"hostname": publishedHostname},
			},
			"kubernetesCRD": map[string]any{"enabled": false},
		},
		// The program declares the entry Service itself (see entryService); the chart's own
		// would be a LoadBalancer Service that a cloud controller could act on.
		"service":             map[string]any{"enabled": false},
		"ports":               map[string]any{"web": web, "websecure": websecure},
		"podDisruptionBudget": map[string]any{"enabled": true, "maxUnavailable": 1},
		// Said here rather than left to the chart's default: a new pod is Ready before an old
		// one goes, so a rollout never lowers the controller's capacity.
		"updateStrategy": map[string]any{"type": "RollingUpdate", "rollingUpdate": map[string]any{"maxUnavailable": 0, "maxSurge": 1}},
		"resources": map[string]any{
			"requests": map[string]any{"cpu": "100m", "memory": "128Mi"},
			"limits":   map[string]any{"cpu": "1", "memory": "256Mi"},
		},
		"topologySpreadConstraints": spreadConstraints(ControllerSelector),
		// Traefik answers /ping as soon as it runs, before its providers have built its routes
		// from the cluster: a new pod of a rollout then answers 404 for every host. On a busy
		// control plane that lasted up to 2 s after the chart's 2 s delay; a pod is Ready no
		// sooner than ReadinessDelaySeconds.
		"readinessProbe": map[string]any{"initialDelaySeconds": ReadinessDelaySeconds},
	}
	if gatewayAPI {
		// Without the Gateway API the values hold nothing of it: a stack on Ingresses gets no
		// provider, Gateway or GatewayClass key it does not use.
		providers := values["providers"].(map[string]any)
		providers["kubernetesGateway"] = map[string]any{
			"enabled":       true,
			"statusAddress": map[string]any{"hostname": publishedHostname, "service": map[string]any{"enabled": false}},
		}
		// The program declares the GatewayClass and the Gateway itself (gateway.go): the
		// chart's would admit routes from every namespace.
		values["gateway"] = map[string]any{"enabled": false}
		values["gatewayClass"] = map[string]any{"enabled": false}
	}
	return values
}

// spreadConstraints spread pods over zones (best effort) and nodes (strict, one extra at most),
// counting only nodes whose taints the pods tolerate (see apps' spread: a k3s server or a
// drained node would otherwise be a domain no pod can fill).
func spreadConstraints(selector map[string]string) []any {
	constraint := func(key, when string) map[string]any {
		return map[string]any{
			"maxSkew":            1,
			"topologyKey":        key,
			"whenUnsatisfiable":  when,
			"labelSelector":      map[string]any{"matchLabels": toAny(selector)},
			"nodeTaintsPolicy":   "Honor",
			"nodeAffinityPolicy": "Honor",
		}
	}
	return []any{
		constraint("topology.kubernetes.io/zone", "ScheduleAnyway"),
		constraint("kubernetes.io/hostname", "DoNotSchedule"),
	}
}

func toAny(m map[string]string) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

// controller installs Traefik and its entry Service, and returns the release.
func (b *builder) controller(loadBalancerDNSName pulumi.StringInput) (*helmv3.Release, error) {
	opts := []pulumi.ResourceOption{b.parent, pulumi.Provider(b.args.Provider)}
	ns, err := corev1.NewNamespace(b.ctx, naming.Child(b.name, "controller-ns"), &corev1.NamespaceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:   pulumi.String(ControllerNamespace),
			Labels: pulumi.ToStringMap(kubemeta.PodSecurityLabels()),
		},
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("ingress: controller namespace: %w", err)
	}
	release, err := helmv3.NewRelease(b.ctx, naming.Child(b.name, "controller"), &helmv3.ReleaseArgs{
		Name:           pulumi.String(ControllerRelease),
		Namespace:      ns.Metadata.Name(),
		Chart:          pulumi.String(ChartName),
		Version:        pulumi.String(ChartVersion),
		RepositoryOpts: &helmv3.RepositoryOptsArgs{Repo: pulumi.String(ChartRepo)},
		Values:         pulumi.ToMap(ControllerValues(b.args.ControllerReplicas, b.args.TLS, TrustedForwarders(b.args.Kind, b.args.PublicSubnetCidrs), loadBalancerDNSName, b.args.GatewayAPI)),
		// The chart ships Traefik's CRDs; with the CRD provider off they serve nothing, and Helm
		// would leave them in the cluster after an uninstall.
		SkipCrds:      pulumi.Bool(true),
		Atomic:        pulumi.Bool(true),
		CleanupOnFail: pulumi.Bool(true),
		Timeout:       pulumi.Int(600),
	}, append(opts, pulumi.DependsOn(b.args.Ready))...)
	if err != nil {
		return nil, fmt.Errorf("ingress: controller release: %w", err)
	}
	if _, err := corev1.NewService(b.ctx, naming.Child(b.name, "entry"), entryService(b.args.Ports), append(opts, pulumi.DependsOn([]pulumi.Resource{ns}))...); err != nil {
		return nil, fmt.Errorf("ingress: controller entry service: %w", err)
	}
	if err := b.entryPolicy(append(opts, pulumi.DependsOn([]pulumi.Resource{ns}))...); err != nil {
		return nil, err
	}
	return release, nil
}

// entryService is the controller's entry Service (DESIGN invariant 5, seed 003's pattern):
// externalTrafficPolicy Local, fixed node ports, and a fixed healthCheckNodePort at which
// kube-proxy answers 200 only on nodes with a ready local controller pod. The API server accepts
// healthCheckNodePort only on a LoadBalancer Service with policy Local; the unclaimed
// loadBalancerClass keeps any cloud controller from building a load balancer for it, and
// pulumi.com/skipAwait stops pulumi-kubernetes waiting for an address that never comes.
func entryService(ports NodePorts) *corev1.ServiceArgs {
	return &corev1.ServiceArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name:        pulumi.String(EntryService),
			Namespace:   pulumi.String(ControllerNamespace),
			Annotations: pulumi.StringMap{"pulumi.com/skipAwait": pulumi.String("true")},
			Labels:      pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("outside-in")},
		},
		Spec: &corev1.ServiceSpecArgs{
			Type:                          pulumi.String("LoadBalancer"),
			LoadBalancerClass:             pulumi.String(UnclaimedLoadBalancerClass),
			AllocateLoadBalancerNodePorts: pulumi.Bool(true),
			ExternalTrafficPolicy:         pulumi.String("Local"),
			HealthCheckNodePort:           pulumi.Int(ports.HealthCheck),
			Selector:                      pulumi.ToStringMap(ControllerSelector),
			Ports: corev1.ServicePortArray{
				&corev1.ServicePortArgs{Name: pulumi.String("web"), Protocol: pulumi.String("TCP"),
					Port: pulumi.Int(80), TargetPort: pulumi.Int(webPort), NodePort: pulumi.Int(ports.HTTP)},
				&corev1.ServicePortArgs{Name: pulumi.String("websecure"), Protocol: pulumi.String("TCP"),
					Port: pulumi.Int(443), TargetPort: pulumi.Int(websecurePort), NodePort: pulumi.Int(ports.HTTPS)},
			},
		},
	}
}
