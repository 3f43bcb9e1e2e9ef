package ingress

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	yamlv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/yaml/v2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/kubemeta"
	"github.com/outside-in/outside-in/internal/naming"
)

// Routing is how requests go from Traefik to the apps: Ingress objects, or Gateway API
// HTTPRoutes attached to the platform's Gateway.
type Routing string

const (
	RoutingIngress Routing = "ingress"
	RoutingGateway Routing = "gateway"
)

// The Gateway API: its CRDs, installed by the program from one pinned standard-channel
// release, and the platform's GatewayClass and Gateway.
const (
	// GatewayAPIVersion is the Gateway API release whose standard-channel CRDs the program
	// installs: the one Traefik v3.7.11 is built against (its go.mod, sigs.k8s.io/gateway-api
	// v1.6.1). The tests install the same CRDs from that module at this version.
	GatewayAPIVersion = "v1.6.1"
	// GatewayAPIGroup is the API group of the Gateway API's objects.
	GatewayAPIGroup = "gateway.networking.k8s.io"
	// GatewayControllerName is the controllerName Traefik's kubernetesGateway provider claims
	// GatewayClasses by (pkg/provider/kubernetes/gateway).
	GatewayControllerName = "traefik.io/gateway-controller"
	// GatewayClassName is the platform's GatewayClass, the cluster's one for Traefik.
	GatewayClassName = "outside-in"
	// GatewayName is the platform's Gateway, in the controller's namespace. Every route of
	// the stack, and every environment's, attaches to it.
	GatewayName = "outside-in"
	// GatewayNamespace is where the Gateway lives: the controller's namespace, which the
	// platform owns and no environment may write to.
	GatewayNamespace = ControllerNamespace
)

// GatewayAPICRDsURL is the release's standard-channel install file: the CRDs of every standard
// kind, and the release's own admission policy that refuses experimental CRDs over them.
var GatewayAPICRDsURL = "https://github.com/kubernetes-sigs/gateway-api/releases/download/" + GatewayAPIVersion + "/standard-install.yaml"

// GatewayArgs configures the platform side of the Gateway API.
type GatewayArgs struct {
	// TLS says which entry point serves: websecure when TLS ends at the load balancer (web
	// then only redirects), web otherwise. NewIngress sets it from IngressArgs.TLS, which
	// decides the controller's entry points.
	TLS bool
	// Domain is the stack's domain: its listeners take the domain and *.<domain>.
	Domain string
	// EnvDomain, when set, adds the environments' listener for *.<envDomain>, which admits
	// routes only from environment namespaces.
	EnvDomain string
	// EnvironmentLabel is the label every environment namespace carries, and no other.
	EnvironmentLabel string
}

// GatewayListener is one listener of the platform's Gateway, as data.
type GatewayListener struct {
	Name     string
	Hostname string
	Port     int
	// Environments: the listener admits routes only from environment namespaces; otherwise
	// only from namespaces that are not one.
	Environments bool
}

// GatewayListeners are the Gateway's listeners: on the entry point that serves (Traefik maps a
// listener to the entry point whose address has the listener's port), one for the domain's apex,
// one for its subdomains, and on a platform one for the environments' subdomains. Protocol is
// HTTP: TLS ends at the load balancer.
func GatewayListeners(a GatewayArgs) []GatewayListener {
	entry, port := "web", webPort
	if a.TLS {
		entry, port = "websecure", websecurePort
	}
	out := []GatewayListener{
		{Name: entry + "-apex", Hostname: a.Domain, Port: port},
		{Name: entry + "-subdomains", Hostname: "*." + a.Domain, Port: port},
	}
	if a.EnvDomain != "" {
		out = append(out, GatewayListener{Name: entry + "-environments", Hostname: "*." + a.EnvDomain, Port: port, Environments: true})
	}
	return out
}

// GatewaySpec is the Gateway's spec. A listener admits only HTTPRoutes, and only from the
// namespaces its selector picks: the environment listener those with the environment label, the
// others those without it. So an environment's route can never attach to a platform host's
// listener, whatever its hostnames, and the API itself enforces it.
func GatewaySpec(a GatewayArgs) map[string]any {
	var listeners []any
	for _, l := range GatewayListeners(a) {
		operator := "DoesNotExist"
		if l.Environments {
			operator = "Exists"
		}
		listeners = append(listeners, map[string]any{
			"name": l.Name, "hostname": l.Hostname, "port": l.Port, "protocol": "HTTP",
			"allowedRoutes": map[string]any{
				"kinds": []any{map[string]any{"group": GatewayAPIGroup, "kind": "HTTPRoute"}},
				"namespaces": map[string]any{
					"from": "Selector",
					"selector": map[string]any{"matchExpressions": []any{
						map[string]any{"key": a.EnvironmentLabel, "operator": operator},
					}},
				},
			},
		})
	}
	return map[string]any{"gatewayClassName": GatewayClassName, "listeners": listeners}
}

// RouteWaitFor is the pulumi.com/waitFor annotation of every HTTPRoute: pulumi-kubernetes waits
// until the Gateway's controller has accepted the route and resolved its backends, so a route
// is serving before anything that depends on it (an Ingress deleted on a switch of routing)
// goes on.
var RouteWaitFor = waitFor(
	"jsonpath={.status.parents[0].conditions[?(@.type=='Accepted')].status}=True",
	"jsonpath={.status.parents[0].conditions[?(@.type=='ResolvedRefs')].status}=True",
)

// GatewayWaitFor is the Gateway's: Traefik has accepted and programmed it.
var GatewayWaitFor = waitFor("condition=Accepted", "condition=Programmed")

// waitFor is a pulumi.com/waitFor value that lists expressions: a JSON array of strings, all
// of which must hold (a value that does not parse as one is taken as a single expression).
func waitFor(exprs ...string) string {
	b, _ := json.Marshal(exprs) // a list of strings always marshals
	return string(b)
}

// gateway installs the Gateway API CRDs, the GatewayClass and the platform's Gateway, and
// returns the Gateway: routes wait for it. The CRDs are kept when the stack stops using them
// (a switch back to Ingress, or a destroy): deleting a CRD deletes every object of its kind in
// the cluster, environments' routes among them.
func (b *builder) gateway(release pulumi.Resource) (pulumi.Resource, error) {
	opts := []pulumi.ResourceOption{b.parent, pulumi.Provider(b.args.Provider)}
	crds, err := yamlv2.NewConfigFile(b.ctx, naming.Child(b.name, "gateway-api-crds"), &yamlv2.ConfigFileArgs{
		File: pulumi.String(GatewayAPICRDsURL),
	}, append(opts, pulumi.RetainOnDelete(true), pulumi.DependsOn(b.args.Ready))...)
	if err != nil {
		return nil, fmt.Errorf("ingress: Gateway API CRDs: %w", err)
	}
	labels := pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String(kubemeta.PartOf)}
	class, err := apiextensions.NewCustomResource(b.ctx, naming.Child(b.name, "gateway-class"), &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(GatewayAPIGroup + "/v1"),
		Kind:       pulumi.String("GatewayClass"),
		Metadata:   &metav1.ObjectMetaArgs{Name: pulumi.String(GatewayClassName), Labels: labels},
		OtherFields: map[string]any{
			"spec": map[string]any{"controllerName": GatewayControllerName},
		},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{crds}))...)
	if err != nil {
		return nil, fmt.Errorf("ingress: GatewayClass: %w", err)
	}
	gw, err := apiextensions.NewCustomResource(b.ctx, naming.Child(b.name, "gateway"), &apiextensions.CustomResourceArgs{
		ApiVersion: pulumi.String(GatewayAPIGroup + "/v1"),
		Kind:       pulumi.String("Gateway"),
		Metadata: &metav1.ObjectMetaArgs{
			Name: pulumi.String(GatewayName), Namespace: pulumi.String(GatewayNamespace), Labels: labels,
			Annotations: pulumi.StringMap{"pulumi.com/waitFor": pulumi.String(GatewayWaitFor)},
		},
		OtherFields: map[string]any{"spec": GatewaySpec(b.args.Gateway)},
	}, append(opts, pulumi.DependsOn([]pulumi.Resource{class, release}))...)
	if err != nil {
		return nil, fmt.Errorf("ingress: Gateway: %w", err)
	}
	return gw, nil
}
