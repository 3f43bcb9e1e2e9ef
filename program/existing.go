package program

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/apps"
	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/envname"
	"github.com/outside-in/outside-in/internal/published"
)

// buildOnExisting registers a stack on a cluster it does not build: an environment in a platform
// stack's cluster, or the controller and apps on any cluster given by kubeconfig. Neither
// creates an AWS resource or asks AWS anything.
func buildOnExisting(ctx *pulumi.Context, cfg Config, opts Options) error {
	if cfg.Environment() {
		return buildEnvironment(ctx, cfg, opts)
	}
	k8s, err := cluster.NewExisting(ctx, "cluster", cluster.ExistingArgs{Name: "kubeconfig", Kubeconfig: pulumi.String(cfg.Kubeconfig)})
	if err != nil {
		return err
	}
	if k8s, err = withPriorities(ctx, cfg, k8s); err != nil {
		return err
	}
	edge, err := ingress.NewIngress(ctx, "ingress", ingress.IngressArgs{
		Kind:               ingress.None,
		Ports:              nodePorts(cfg),
		ControllerReplicas: cfg.IngressReplicas,
		GatewayAPI:         cfg.GatewayAPI,
		Gateway:            gatewayArgs(cfg),
		Provider:           k8s.Provider,
		Ready:              k8s.Ready,
		PublishedHostname:  cfg.Domain,
		NamePrefix:         cfg.NamePrefix(),
	})
	if err != nil {
		return err
	}
	hosts := map[string]pulumi.StringInput{}
	for _, a := range cfg.Apps {
		hosts[a.Name] = pulumi.String(a.Host)
	}
	if _, err := buildApps(ctx, cfg, hosts, k8s, platformController(edge), nil); err != nil {
		return err
	}
	ctx.Export("urls", urls(cfg, hosts))
	exportRouting(ctx, cfg.Routing)
	// What the balancer in front of the nodes (seed 002's HAProxy) must use.
	ctx.Export("entryNodePorts", pulumi.IntMap{
		"http": pulumi.Int(cfg.HTTPNodePort), "https": pulumi.Int(cfg.HTTPSNodePort), "healthCheck": pulumi.Int(cfg.HealthCheckNodePort),
	})
	ctx.Export("healthCheck", pulumi.Sprintf("HTTP:%d%s", cfg.HealthCheckNodePort, ingress.HealthCheckPath))
	return nil
}

// buildEnvironment registers an environment: a namespace in the platform's cluster with its apps,
// at <app>-<env>.<envDomain>, served by the platform's controller and load balancer and covered
// by its wildcard certificate and record.
func buildEnvironment(ctx *pulumi.Context, cfg Config, opts Options) error {
	env, err := envname.FromStack(cfg.Stack)
	if err != nil {
		return fmt.Errorf("environment: %w", err) // validate refuses such a stack name first
	}
	// The platform's published document, not its state: an environment's credentials open
	// nothing else of the platform (internal/published).
	reader := opts.Platform
	if reader == nil {
		reader = published.SSM{Project: cfg.Project}
	}
	doc, err := reader.Read(ctx.Context(), cfg.PlatformStack)
	if err != nil {
		return fmt.Errorf("environment: reading what platform %s publishes: %w", cfg.PlatformStack, err)
	}
	platform, err := publishedPlatform(doc)
	if err != nil {
		return fmt.Errorf("environment: platform %s: %w", cfg.PlatformStack, err)
	}
	envDomain := platform.envDomain
	k8s, err := cluster.NewExisting(ctx, "cluster", cluster.ExistingArgs{
		Name:       cfg.PlatformStack,
		Kubeconfig: pulumi.ToSecret(pulumi.String(platform.kubeconfig)).(pulumi.StringOutput),
	})
	if err != nil {
		return err
	}
	namespace, err := apps.NewEnvironment(ctx, "environment", apps.EnvironmentArgs{
		Namespace: envname.Namespace(env), Env: env, Stack: cfg.Stack, Owner: cfg.Owner, ExpiresAt: cfg.ExpiresAt,
		Provider: k8s.Provider,
	})
	if err != nil {
		return err
	}
	hosts := map[string]pulumi.StringInput{}
	for _, a := range cfg.Apps {
		label, err := envname.HostLabel(a.Name, env)
		if err != nil {
			return fmt.Errorf("environment: app %s: %w", a.Name, err) // validate refuses it first
		}
		hosts[a.Name] = pulumi.String(label + "." + envDomain)
	}
	controller := apps.Controller{
		Namespace: pulumi.String(platform.controllerNamespace),
		PodLabels: pulumi.ToStringMap(platform.controllerPodLabels),
	}
	// The environment routes as its platform does: HTTPRoutes on the platform's Gateway, or
	// Ingresses of its class, or while the platform keeps the Gateway API on its way back to
	// Ingresses, both.
	cfg.Routing, cfg.GatewayAPI = platform.routing, platform.gatewayAPI
	if _, err := buildApps(ctx, cfg, hosts, k8s, controller, namespace); err != nil {
		return err
	}
	ctx.Export("urls", urls(cfg, hosts))
	exportRouting(ctx, cfg.Routing)
	ctx.Export("environment", pulumi.String(env))
	ctx.Export("namespace", pulumi.String(namespace.Name))
	ctx.Export("platformStack", pulumi.String(cfg.PlatformStack))
	return nil
}

// platformDoc is what an environment takes from its platform's published document.
type platformDoc struct {
	envDomain, kubeconfig, controllerNamespace string
	controllerPodLabels                        map[string]string
	// routing and gatewayAPI are the platform's: ingress and false for a platform that
	// published none (it predates the Gateway API).
	routing    string
	gatewayAPI bool
}

// publishedPlatform reads the document's fields, naming the first one missing: a document from
// a stack that is not a platform, or from an older platform, says so before anything is
// registered.
func publishedPlatform(doc map[string]any) (platformDoc, error) {
	text := func(key string) (string, error) {
		v, _ := doc[key].(string)
		if v == "" {
			return "", fmt.Errorf("its published document has no %s", key)
		}
		return v, nil
	}
	var p platformDoc
	var err error
	if p.envDomain, err = text(OutputEnvDomain); err != nil {
		return p, err
	}
	if p.kubeconfig, err = text(OutputEnvironmentKubeconfig); err != nil {
		return p, err
	}
	if p.controllerNamespace, err = text(OutputControllerNamespace); err != nil {
		return p, err
	}
	labels, _ := doc[OutputControllerPodLabels].(map[string]any)
	if len(labels) == 0 {
		return p, fmt.Errorf("its published document has no %s", OutputControllerPodLabels)
	}
	p.controllerPodLabels = map[string]string{}
	for k, v := range labels {
		p.controllerPodLabels[k] = fmt.Sprint(v)
	}
	switch r, _ := doc[OutputRouting].(string); r {
	case "":
		p.routing = string(ingress.RoutingIngress)
	case string(ingress.RoutingIngress), string(ingress.RoutingGateway):
		p.routing = r
	default:
		return p, fmt.Errorf("its published document has routing %q; this program knows %s and %s", r, ingress.RoutingIngress, ingress.RoutingGateway)
	}
	p.gatewayAPI, _ = doc[OutputGatewayAPI].(bool)
	return p, nil
}
