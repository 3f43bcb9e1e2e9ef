// Package check walks a deployed stack's request path hop by hop, in the order a request
// travels, and says where it breaks:
//
//  1. dns: the alias record in the stack's zone points at the load balancer, the name resolves
//     publicly, and the parent domain delegates to the zone's name servers;
//  2. tls: an ISSUED ACM certificate covering the host is on the listener, not about to expire;
//  3. load-balancer: active, internet-facing, in the public subnets, its security group admits
//     the listener ports from the allowed CIDRs;
//  4. targets: the health of every target, AWS's reason codes turned into what to look at;
//     the node security group admits the load balancer on every node port and the
//     health-check port;
//  5. controller: the nodes holding a ready endpoint of the controller's entry Service are
//     exactly the healthy targets (externalTrafficPolicy Local, healthCheckNodePort);
//  6. ingress: the host's Ingress is claimed by the controller and admitted, or, for a stack
//     that routes through the Gateway API, the platform's Gateway is accepted and programmed,
//     with a listener for the host, and the host's HTTPRoute is accepted by that Gateway with
//     its references resolved; the Service behind it has ready endpoints, its Deployment is
//     available and its PodDisruptionBudget allows a disruption;
//  7. http: GET of the host's URL through the load balancer answers 200 with the app's page.
//
// It reads AWS (Route 53, ACM, Elastic Load Balancing, EC2) and the cluster, and changes
// nothing. Stack checks a stack from its outputs; Environment checks an environment stack
// through its platform's outputs.
package check

import (
	"context"
	"crypto/x509"
	"net"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"k8s.io/client-go/rest"
)

// Options tune a check. The zero value checks a live stack with the default AWS credentials,
// the kubeconfig from the outputs, the system resolver, dialer and certificate roots.
type Options struct {
	// AWS is the AWS configuration to use; nil loads the default chain (environment, profile,
	// instance or OIDC role) in the stack's region.
	AWS *aws.Config
	// Kubernetes is the cluster's client configuration; nil builds it from the kubeconfig
	// output (which, for EKS, runs `aws eks get-token`).
	Kubernetes *rest.Config
	// Resolver answers the DNS hop's public lookups; nil is net.DefaultResolver.
	Resolver Resolver
	// Dial opens the HTTP hop's connections to the load balancer; nil is a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// RootCAs verify the certificate the load balancer serves; nil is the system pool.
	RootCAs *x509.CertPool
	// Now is the clock certificate expiry is judged by; nil is time.Now.
	Now func() time.Time
	// HTTPTimeout bounds the HTTP hop's request; zero is 10 s.
	HTTPTimeout time.Duration
}

// Resolver is the part of *net.Resolver the DNS hop uses.
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupNS(ctx context.Context, name string) ([]*net.NS, error)
}

// ExpiryWarning is how close to its expiry a certificate fails the TLS hop. ACM renews a
// DNS-validated certificate 60 days before it expires; one within 30 days is not renewing.
const ExpiryWarning = 30 * 24 * time.Hour

// Stack checks every host of a stack from its outputs (the values of `pulumi stack output
// --json --show-secrets`, or of an auto.OutputMap). It fails only when the outputs lack what a
// check needs (no urls); a broken hop is in the report, not an error.
func Stack(ctx context.Context, outputs map[string]any, opts Options) (*Report, error) {
	t, err := stackTarget(outputs)
	if err != nil {
		return nil, err
	}
	return run(ctx, t, opts), nil
}

// Environment checks an environment stack: the platform's hops (its wildcard record, wildcard
// certificate, load balancer, targets and controller) and then the environment's own Ingresses,
// Services and pods in its namespace, for each of the environment's hosts.
func Environment(ctx context.Context, environment, platform map[string]any, opts Options) (*Report, error) {
	t, err := environmentTarget(environment, platform)
	if err != nil {
		return nil, err
	}
	return run(ctx, t, opts), nil
}

// run gathers what the hops share (the load balancer, the cluster's view of the controller)
// once, then walks each host's path.
func run(ctx context.Context, t target, opts Options) *Report {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Resolver == nil {
		opts.Resolver = net.DefaultResolver
	}
	if opts.HTTPTimeout == 0 {
		opts.HTTPTimeout = 10 * time.Second
	}
	w := &walk{t: t, opts: opts}
	w.aws, w.awsErr = newAWSClients(ctx, t, opts)
	if w.awsErr == nil {
		w.lb, w.lbErr = w.aws.findLoadBalancer(ctx, t.loadBalancerDNS)
	}
	w.kube, w.kubeErr = newKubeClient(t, opts)
	if w.kubeErr == nil {
		w.ctrl, w.ctrlErr = w.kube.controller(ctx, t)
	}
	rep := &Report{Stack: t.stack, CheckedAt: opts.Now().UTC()}
	for _, h := range t.hosts {
		rep.Hosts = append(rep.Hosts, w.host(ctx, h))
	}
	rep.finish()
	return rep
}

// walk holds one check's clients and shared findings.
type walk struct {
	t    target
	opts Options

	aws    *awsClients
	awsErr error
	lb     *loadBalancer
	lbErr  error

	kube    *kubeClient
	kubeErr error
	ctrl    *controllerState
	ctrlErr error

	// The platform's Gateway in gateway routing, read once for every host.
	gatewayRead bool
	gateway     *gatewayObject
	gatewayErr  error

	// The node security group's verdict, read once for every host.
	nodeSGRead     bool
	nodeSGEvidence []string
	nodeSGBroken   *Hop
}

// host walks one host's path, in the order a request travels.
func (w *walk) host(ctx context.Context, h host) HostReport {
	hr := HostReport{Host: h.host, URL: h.url, App: h.app}
	hr.Hops = []Hop{
		w.dnsHop(ctx, h),
		w.tlsHop(ctx, h),
		w.loadBalancerHop(ctx),
		w.targetsHop(ctx),
		w.controllerHop(ctx),
		w.ingressHop(ctx, h),
		w.httpHop(ctx, h),
	}
	return hr
}
