// Package ingress builds the middle of the request path: the load balancer the stack owns (ALB,
// NLB or classic ELB) in the public subnets, the security groups between it and the nodes, and
// the Traefik ingress controller with its node-port entry Service. The apps it routes to by
// hostname are package apps.
package ingress

import (
	"fmt"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// IngressArgs configures an Ingress.
type IngressArgs struct {
	Kind LoadBalancerKind
	// TLS ends at the load balancer with the certificates; HTTP then redirects to HTTPS. The
	// first certificate is the listener's default, the others are chosen by SNI.
	TLS             bool
	CertificateArns pulumi.StringArrayInput
	// Certificates is how many CertificateArns holds.
	Certificates int

	VpcID           pulumi.StringInput
	PublicSubnetIDs pulumi.StringArrayInput
	// PublicSubnetCidrs are the public subnets' CIDRs, where the load balancer's nodes take
	// their addresses: what Traefik trusts forwarded headers from and its entry NetworkPolicy
	// admits (TrustedForwarders, EntrySources). Plain values: they decide the policy's rules.
	PublicSubnetCidrs []string
	// ClusterCidrs are the ranges of the cluster's own nodes and pods (the VPC; k3s's pod
	// network): never a client, even when an allowed client CIDR covers them (NLB).
	ClusterCidrs []string

	NodeSecurityGroupID       pulumi.StringInput
	NodeAutoscalingGroupNames pulumi.StringArrayInput

	// AllowedCidrs may reach the listeners; nothing else is open to the internet.
	AllowedCidrs       []string
	DeletionProtection bool
	Ports              NodePorts
	ControllerReplicas int

	// Provider is the cluster's Kubernetes provider; Ready are what the controller waits for
	// (nodes to run on, cluster DNS).
	Provider *kubernetes.Provider
	Ready    []pulumi.Resource
	// PublishedHostname is what the controller writes into Ingress status when the stack has no
	// load balancer (Kind None): where the external balancer serves the apps.
	PublishedHostname string

	// GatewayAPI installs the Gateway API: its CRDs, Traefik's kubernetesGateway provider, the
	// GatewayClass and the platform's Gateway, configured by Gateway. Routing says which of
	// Ingresses and HTTPRoutes the apps use; HTTPRoutes need GatewayAPI, while GatewayAPI with
	// Ingress routing is the state in between of a switch, every app with both routes (README,
	// "Routing").
	GatewayAPI bool
	Gateway    GatewayArgs

	NamePrefix string
	Tags       map[string]string
}

// Ingress is the ingress component. Its exported fields are what the DNS layer takes.
type Ingress struct {
	pulumi.ResourceState

	LoadBalancerDNSName pulumi.StringOutput
	LoadBalancerZoneID  pulumi.StringOutput
	// Controller is the ingress controller's Helm release: Ingress rules wait for it, because
	// only the controller writes the status pulumi-kubernetes waits for.
	Controller pulumi.Resource
	// Gateway is the platform's Gateway with GatewayAPI (nil without): HTTPRoutes wait for it.
	Gateway pulumi.Resource
}

type builder struct {
	ctx    *pulumi.Context
	name   string
	args   IngressArgs
	parent pulumi.ResourceOption
}

func (b *builder) tags(role string) pulumi.StringMap {
	return naming.Tags(b.args.Tags, b.args.NamePrefix+"-"+role)
}

// NewIngress builds the load balancer and the controller.
func NewIngress(ctx *pulumi.Context, name string, args IngressArgs, opts ...pulumi.ResourceOption) (*Ingress, error) {
	if args.TLS && (args.CertificateArns == nil || args.Certificates < 1) {
		return nil, fmt.Errorf("ingress: TLS needs a certificate")
	}
	if args.Kind == Classic && args.Certificates > 1 {
		return nil, fmt.Errorf("ingress: a classic ELB listener takes one certificate, not %d", args.Certificates)
	}
	if args.Kind != ALB && args.Kind != NLB && args.Kind != Classic && args.Kind != None {
		return nil, fmt.Errorf("ingress: unknown load balancer kind %q", args.Kind)
	}
	if args.Provider == nil {
		return nil, fmt.Errorf("ingress: no Kubernetes provider")
	}
	c := &Ingress{}
	if err := ctx.RegisterComponentResource("outside-in:ingress:Ingress", name, c, opts...); err != nil {
		return nil, err
	}
	b := &builder{ctx: ctx, name: name, args: args, parent: pulumi.Parent(c)}

	// The load balancer comes first: the controller publishes its name in every Ingress's status.
	lb := loadBalancer{
		dnsName: pulumi.String(args.PublishedHostname).ToStringOutput(),
		zoneID:  pulumi.String("").ToStringOutput(),
	}
	if args.Kind != None {
		listeners := Listeners(args.Kind, args.TLS, args.Ports)
		sg, err := b.securityGroups(listeners)
		if err != nil {
			return nil, err
		}
		switch args.Kind {
		case ALB, NLB:
			lb, err = b.elbv2(sg, listeners)
		default:
			lb, err = b.classic(sg, listeners)
		}
		if err != nil {
			return nil, err
		}
	}

	controller, err := b.controller(lb.dnsName)
	if err != nil {
		return nil, err
	}
	c.Controller = controller
	if args.GatewayAPI {
		// The listeners are on the entry point the controller serves on, which TLS decides.
		b.args.Gateway.TLS = args.TLS
		if c.Gateway, err = b.gateway(controller); err != nil {
			return nil, err
		}
	}

	c.LoadBalancerDNSName = lb.dnsName
	c.LoadBalancerZoneID = lb.zoneID
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"loadBalancerDnsName": c.LoadBalancerDNSName,
		"loadBalancerZoneId":  c.LoadBalancerZoneID,
	}); err != nil {
		return nil, fmt.Errorf("ingress: registering outputs: %w", err)
	}
	return c, nil
}
