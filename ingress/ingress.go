// Package ingress builds the middle of the request path: the load balancer the stack owns (ALB,
// NLB or classic ELB) in the public subnets, the security groups between it and the nodes, the
// Traefik ingress controller with its node-port entry Service, and the Apache httpd apps it
// routes to by hostname.
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
	// TLS ends at the load balancer with CertificateArn; HTTP then redirects to HTTPS.
	TLS            bool
	CertificateArn pulumi.StringInput

	VpcID           pulumi.StringInput
	VpcCidr         string
	PublicSubnetIDs pulumi.StringArrayInput

	NodeSecurityGroupID       pulumi.StringInput
	NodeAutoscalingGroupNames pulumi.StringArrayInput

	// AllowedCidrs may reach the listeners; nothing else is open to the internet.
	AllowedCidrs       []string
	DeletionProtection bool
	Ports              NodePorts
	ControllerReplicas int
	Apps               []AppArgs

	// Provider is the cluster's Kubernetes provider.
	Provider *kubernetes.Provider

	NamePrefix string
	Tags       map[string]string
}

// Ingress is the ingress component. Its exported fields are what the DNS layer takes.
type Ingress struct {
	pulumi.ResourceState

	LoadBalancerDNSName pulumi.StringOutput
	LoadBalancerZoneID  pulumi.StringOutput
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

// NewIngress builds the load balancer, the controller and the apps.
func NewIngress(ctx *pulumi.Context, name string, args IngressArgs, opts ...pulumi.ResourceOption) (*Ingress, error) {
	if args.TLS && args.CertificateArn == nil {
		return nil, fmt.Errorf("ingress: TLS needs a certificate")
	}
	if args.Kind != ALB && args.Kind != NLB && args.Kind != Classic {
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
	listeners := Listeners(args.Kind, args.TLS, args.Ports)
	sg, err := b.securityGroups(listeners)
	if err != nil {
		return nil, err
	}
	var lb loadBalancer
	switch args.Kind {
	case ALB, NLB:
		lb, err = b.elbv2(sg, listeners)
	default:
		lb, err = b.classic(sg, listeners)
	}
	if err != nil {
		return nil, err
	}

	controller, err := b.controller(lb.dnsName)
	if err != nil {
		return nil, err
	}
	for _, app := range args.Apps {
		app.Controller = controller
		if _, err := NewApp(ctx, app.Name, app, pulumi.Parent(c), pulumi.Provider(args.Provider)); err != nil {
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
