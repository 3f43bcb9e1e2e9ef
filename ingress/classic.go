package ingress

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/elb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// classic builds the classic ELB of seeds 000 and 003: listeners to the node ports, the health
// check HTTP:<healthCheckNodePort>/healthz, cross-zone balancing and connection draining.
func (b *builder) classic(sg *ec2.SecurityGroup, listeners []Listener) (loadBalancer, error) {
	var ls elb.LoadBalancerListenerArray
	for _, l := range listeners {
		arg := &elb.LoadBalancerListenerArgs{
			LbPort:           pulumi.Int(l.Port),
			LbProtocol:       pulumi.String(l.Protocol),
			InstancePort:     pulumi.Int(l.NodePort),
			InstanceProtocol: pulumi.String("HTTP"),
		}
		if l.Protocol == "HTTPS" {
			arg.SslCertificateId = b.args.CertificateArns.ToStringArrayOutput().Index(pulumi.Int(0))
		}
		ls = append(ls, arg)
	}
	hc := NodeHealthCheck(b.args.Ports)
	balancer, err := elb.NewLoadBalancer(b.ctx, naming.Child(b.name, "classic"), &elb.LoadBalancerArgs{
		Internal:       pulumi.Bool(false),
		Subnets:        b.args.PublicSubnetIDs,
		SecurityGroups: pulumi.StringArray{sg.ID()},
		Listeners:      ls,
		HealthCheck: &elb.LoadBalancerHealthCheckArgs{
			Target:             pulumi.String(hc.ClassicTarget()),
			Interval:           pulumi.Int(hc.IntervalSeconds),
			Timeout:            pulumi.Int(hc.TimeoutSeconds),
			HealthyThreshold:   pulumi.Int(hc.HealthyThreshold),
			UnhealthyThreshold: pulumi.Int(hc.UnhealthyThreshold),
		},
		CrossZoneLoadBalancing:    pulumi.Bool(true),
		ConnectionDraining:        pulumi.Bool(true),
		ConnectionDrainingTimeout: pulumi.Int(DeregistrationDelaySeconds),
		Tags:                      b.tags("classic"),
	}, b.parent)
	if err != nil {
		return loadBalancer{}, fmt.Errorf("ingress: classic ELB: %w", err)
	}
	if b.args.TLS {
		policy, err := elb.NewLoadBalancerPolicy(b.ctx, naming.Child(b.name, "classic-tls"), &elb.LoadBalancerPolicyArgs{
			LoadBalancerName: balancer.Name,
			PolicyName:       pulumi.String("outside-in-tls12"),
			PolicyTypeName:   pulumi.String("SSLNegotiationPolicyType"),
			PolicyAttributes: elb.LoadBalancerPolicyPolicyAttributeArray{&elb.LoadBalancerPolicyPolicyAttributeArgs{
				Name:  pulumi.String("Reference-Security-Policy"),
				Value: pulumi.String(ClassicTLSPolicy),
			}},
		}, b.parent)
		if err != nil {
			return loadBalancer{}, fmt.Errorf("ingress: classic ELB TLS policy: %w", err)
		}
		if _, err := elb.NewListenerPolicy(b.ctx, naming.Child(b.name, "classic-tls-443"), &elb.ListenerPolicyArgs{
			LoadBalancerName: balancer.Name,
			LoadBalancerPort: pulumi.Int(443),
			PolicyNames:      pulumi.StringArray{policy.PolicyName},
		}, b.parent); err != nil {
			return loadBalancer{}, fmt.Errorf("ingress: classic ELB TLS listener policy: %w", err)
		}
	}
	if err := b.attach("asg-classic", &autoscaling.AttachmentArgs{Elb: balancer.Name}); err != nil {
		return loadBalancer{}, err
	}
	return loadBalancer{dnsName: balancer.DnsName, zoneID: balancer.ZoneId}, nil
}
