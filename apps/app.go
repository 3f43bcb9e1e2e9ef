// Package apps builds the service at the end of the request path: Apache httpd apps, each with a
// Deployment, a Service, a PodDisruptionBudget, NetworkPolicies and an Ingress rule for its
// hostname, served through the ingress controller of package ingress. An app lives in a
// namespace of its own, or, in an environment stack, in the environment's namespace.
package apps

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	networkingv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/networking/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/internal/naming"
)

// AppArgs describes one Apache httpd app. Its Deployment, Service, PodDisruptionBudget,
// NetworkPolicy and Ingress take its name.
type AppArgs struct {
	Name string
	// Host is the hostname the Ingress rule routes to the app.
	Host       pulumi.StringInput
	Image      string
	Replicas   int
	Port       int
	HealthPath string
	// Environment, when set, is the namespace the app shares with the environment's other apps;
	// otherwise the app gets a namespace named after it.
	Environment *Environment
	// Provider is the cluster's Kubernetes provider; Ready are what the app waits for.
	Provider *kubernetes.Provider
	Ready    []pulumi.Resource
	// Controller is the ingress controller in front of the app.
	Controller Controller
	// Routing is the kind of route the app gets: an Ingress of the controller's class, or an
	// HTTPRoute attached to the platform's Gateway. KeepHTTPRoute gives an app routed by
	// Ingress its HTTPRoute too: the state in between of a switch either way, so that the
	// update that removes one kind of route comes after Traefik has long served the other.
	Routing       ingress.Routing
	KeepHTTPRoute bool
}

// Controller is the ingress controller an app is reached through: its release (the Ingress rule
// waits for it, since only the controller writes the status pulumi-kubernetes waits for), and
// its namespace and pod labels, the only source the app's NetworkPolicy admits.
type Controller struct {
	Release   pulumi.Resource
	Namespace pulumi.StringInput
	PodLabels pulumi.StringMapInput
	// Gateway is the platform's Gateway, which an HTTPRoute waits for (nil in an environment,
	// whose platform made it).
	Gateway pulumi.Resource
}

// The app pods' identity: a fixed non-root UID and GID above 10000, so no host user is shared.
const (
	AppUID = 10001
	AppGID = 10001
	// ServicePort is the port of each app's ClusterIP Service.
	ServicePort = 80
)

// App is an Apache httpd app behind the ingress controller.
type App struct {
	pulumi.ResourceState
}

// AppLabels select an app's pods.
func AppLabels(name string) map[string]string {
	return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": kubemeta.PartOf}
}

// NewApp declares the app's Kubernetes objects.
func NewApp(ctx *pulumi.Context, name string, args AppArgs, opts ...pulumi.ResourceOption) (*App, error) {
	c := &App{}
	if err := ctx.RegisterComponentResource("outside-in:apps:App", name, c, opts...); err != nil {
		return nil, err
	}
	child := []pulumi.ResourceOption{pulumi.Parent(c), pulumi.Provider(args.Provider)}
	namespace := args.Name
	var inNs []pulumi.ResourceOption
	if args.Environment != nil {
		namespace = args.Environment.Name
		inNs = append(child, pulumi.DependsOn(append([]pulumi.Resource{args.Environment.Namespace}, args.Environment.Guards...)))
	} else {
		ns, err := corev1.NewNamespace(ctx, naming.Child(name, "ns"), &corev1.NamespaceArgs{
			Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(namespace), Labels: pulumi.ToStringMap(kubemeta.PodSecurityLabels())},
		}, child...)
		if err != nil {
			return nil, fmt.Errorf("apps: app %s namespace: %w", args.Name, err)
		}
		inNs = append(child, pulumi.DependsOn([]pulumi.Resource{ns}))
		if _, err := networkingv1.NewNetworkPolicy(ctx, naming.Child(name, "default-deny"), DefaultDeny(namespace), inNs...); err != nil {
			return nil, fmt.Errorf("apps: app %s default-deny policy: %w", args.Name, err)
		}
	}
	meta := func() *metav1.ObjectMetaArgs {
		return &metav1.ObjectMetaArgs{Name: pulumi.String(args.Name), Namespace: pulumi.String(namespace),
			Labels: pulumi.ToStringMap(AppLabels(args.Name))}
	}

	cm, err := corev1.NewConfigMap(ctx, naming.Child(name, "httpd"), &corev1.ConfigMapArgs{
		Metadata: &metav1.ObjectMetaArgs{Name: pulumi.String(args.Name + "-httpd"), Namespace: pulumi.String(namespace),
			Labels: pulumi.ToStringMap(AppLabels(args.Name))},
		Data: pulumi.StringMap{
			"httpd.conf": pulumi.String(HTTPDConfig(args.Port, args.Name)),
			"index.html": pulumi.String(IndexPage(args.Name)),
		},
	}, inNs...)
	if err != nil {
		return nil, fmt.Errorf("apps: app %s config: %w", args.Name, err)
	}
	// The pods need nodes to run on: the Deployment waits for the cluster's readiness.
	if _, err := appsDeployment(ctx, name, args, meta(), cm.Metadata.Name().Elem(), append(inNs, pulumi.DependsOn(args.Ready))); err != nil {
		return nil, err
	}
	// The Deployment's await already proves its pods Ready, and they are what the selector
	// picks; pulumi-kubernetes' Service await would only add its fixed ten seconds for the
	// endpoints to settle (pkg/await/service.go), which is most of an environment's `env up`.
	// `check` reads the endpoints after a deploy.
	svcMeta := meta()
	svcMeta.Annotations = pulumi.StringMap{"pulumi.com/skipAwait": pulumi.String("true")}
	if _, err := corev1.NewService(ctx, naming.Child(name, "service"), &corev1.ServiceArgs{
		Metadata: svcMeta,
		Spec: &corev1.ServiceSpecArgs{
			Type:     pulumi.String("ClusterIP"),
			Selector: pulumi.ToStringMap(AppLabels(args.Name)),
			Ports: corev1.ServicePortArray{&corev1.ServicePortArgs{
				Name: pulumi.String("http"), Protocol: pulumi.String("TCP"),
				Port: pulumi.Int(ServicePort), TargetPort: pulumi.String("http"),
			}},
		},
	}, inNs...); err != nil {
		return nil, fmt.Errorf("apps: app %s service: %w", args.Name, err)
	}
	if _, err := policyv1.NewPodDisruptionBudget(ctx, naming.Child(name, "pdb"), &policyv1.PodDisruptionBudgetArgs{
		Metadata: meta(),
		// One pod at a time, and unready pods always: a drain, a node group update or a
		// scale-down always finishes (in an environment the platform refuses any other budget).
		Spec: &policyv1.PodDisruptionBudgetSpecArgs{
			MaxUnavailable:             pulumi.Int(1),
			UnhealthyPodEvictionPolicy: pulumi.String("AlwaysAllow"),
			Selector:                   &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(AppLabels(args.Name))},
		},
	}, inNs...); err != nil {
		return nil, fmt.Errorf("apps: app %s disruption budget: %w", args.Name, err)
	}
	if _, err := networkingv1.NewNetworkPolicy(ctx, naming.Child(name, "from-controller"), &networkingv1.NetworkPolicyArgs{
		Metadata: meta(),
		Spec:     FromController(args.Name, args.Port, args.Controller),
	}, inNs...); err != nil {
		return nil, fmt.Errorf("apps: app %s network policy: %w", args.Name, err)
	}
	if err := route(ctx, name, args, meta(), inNs); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{"host": args.Host, "namespace": pulumi.String(namespace)}); err != nil {
		return nil, fmt.Errorf("apps: app %s outputs: %w", args.Name, err)
	}
	return c, nil
}

// DefaultDeny selects every pod of a namespace and allows nothing in or out: what reaches an
// app is only what another policy names.
func DefaultDeny(namespace string) *networkingv1.NetworkPolicyArgs {
	return &networkingv1.NetworkPolicyArgs{
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String("default-deny"), Namespace: pulumi.String(namespace),
			Labels: pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String(kubemeta.PartOf)},
		},
		Spec: &networkingv1.NetworkPolicySpecArgs{
			PodSelector: &metav1.LabelSelectorArgs{},
			PolicyTypes: pulumi.ToStringArray([]string{"Ingress", "Egress"}),
		},
	}
}

// FromController admits the ingress controller's pods, and nothing else, to the app's port.
// httpd needs no egress (it resolves no name and calls nothing), so none is allowed. The
// kubelet's probes come from the node, which NetworkPolicies always admit.
func FromController(app string, port int, controller Controller) *networkingv1.NetworkPolicySpecArgs {
	return &networkingv1.NetworkPolicySpecArgs{
		PodSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.ToStringMap(AppLabels(app))},
		PolicyTypes: pulumi.ToStringArray([]string{"Ingress"}),
		Ingress: networkingv1.NetworkPolicyIngressRuleArray{&networkingv1.NetworkPolicyIngressRuleArgs{
			From: networkingv1.NetworkPolicyPeerArray{&networkingv1.NetworkPolicyPeerArgs{
				NamespaceSelector: &metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{
					"kubernetes.io/metadata.name": controller.Namespace,
				}},
				PodSelector: &metav1.LabelSelectorArgs{MatchLabels: controller.PodLabels},
			}},
			Ports: networkingv1.NetworkPolicyPortArray{&networkingv1.NetworkPolicyPortArgs{
				Protocol: pulumi.String("TCP"), Port: pulumi.Int(port),
			}},
		}},
	}
}

// route declares the app's routes: an Ingress rule, or an HTTPRoute, for its host to its Service
// (both with KeepHTTPRoute).
func route(ctx *pulumi.Context, name string, args AppArgs, meta *metav1.ObjectMetaArgs, inNs []pulumi.ResourceOption) error {
	if args.Routing == ingress.RoutingGateway || args.KeepHTTPRoute {
		meta := *meta
		after := inNs
		if args.Controller.Gateway != nil {
			after = append(after, pulumi.DependsOn([]pulumi.Resource{args.Controller.Gateway}))
		}
		meta.Annotations = pulumi.StringMap{"pulumi.com/waitFor": pulumi.String(ingress.RouteWaitFor)}
		if _, err := apiextensions.NewCustomResource(ctx, naming.Child(name, "route"), &apiextensions.CustomResourceArgs{
			ApiVersion:  pulumi.String(ingress.GatewayAPIGroup + "/v1"),
			Kind:        pulumi.String("HTTPRoute"),
			Metadata:    &meta,
			OtherFields: map[string]any{"spec": HTTPRouteSpec(args.Name, args.Host)},
		}, after...); err != nil {
			return fmt.Errorf("apps: app %s HTTPRoute: %w", args.Name, err)
		}
		if args.Routing == ingress.RoutingGateway {
			return nil
		}
	}
	after := inNs
	if args.Controller.Release != nil {
		after = append(after, pulumi.DependsOn([]pulumi.Resource{args.Controller.Release}))
	}
	if _, err := networkingv1.NewIngress(ctx, naming.Child(name, "ingress"), &networkingv1.IngressArgs{
		Metadata: meta,
		Spec: &networkingv1.IngressSpecArgs{
			IngressClassName: pulumi.String(ingress.IngressClass),
			Rules: networkingv1.IngressRuleArray{&networkingv1.IngressRuleArgs{
				Host: args.Host,
				Http: &networkingv1.HTTPIngressRuleValueArgs{Paths: networkingv1.HTTPIngressPathArray{&networkingv1.HTTPIngressPathArgs{
					Path:     pulumi.String("/"),
					PathType: pulumi.String("Prefix"),
					Backend: &networkingv1.IngressBackendArgs{Service: &networkingv1.IngressServiceBackendArgs{
						Name: pulumi.String(args.Name),
						Port: &networkingv1.ServiceBackendPortArgs{Number: pulumi.Int(ServicePort)},
					}},
				}}},
			}},
		},
	}, after...); err != nil {
		return fmt.Errorf("apps: app %s ingress rule: %w", args.Name, err)
	}
	return nil
}

// HTTPRouteSpec is an app's HTTPRoute: what its Ingress says, for the Gateway API. It attaches
// to the platform's Gateway (whichever of its listeners admits the route's namespace and host)
// and sends every path of the host to the app's Service.
func HTTPRouteSpec(app string, host pulumi.StringInput) map[string]any {
	return map[string]any{
		"parentRefs": []any{map[string]any{
			"group": ingress.GatewayAPIGroup, "kind": "Gateway",
			"namespace": ingress.GatewayNamespace, "name": ingress.GatewayName,
		}},
		"hostnames": pulumi.StringArray{host},
		"rules": []any{map[string]any{
			"matches":     []any{map[string]any{"path": map[string]any{"type": "PathPrefix", "value": "/"}}},
			"backendRefs": []any{map[string]any{"group": "", "kind": "Service", "name": app, "port": ServicePort}},
		}},
	}
}
