package check

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing/types"
)

// describeClassic turns a classic ELB into the model the hops share: its listeners, and its
// instances as one target group checked by the ELB's one health check.
func (c *awsClients) describeClassic(ctx context.Context, d elbtypes.LoadBalancerDescription) (*loadBalancer, error) {
	lb := &loadBalancer{
		kind: "classic", name: aws.ToString(d.LoadBalancerName), dnsName: aws.ToString(d.DNSName),
		zoneID: aws.ToString(d.CanonicalHostedZoneNameID), scheme: aws.ToString(d.Scheme),
		subnets: d.Subnets, securityGroups: d.SecurityGroups,
		// A classic ELB has no state: one that DescribeLoadBalancers lists is in service.
		state: "active",
	}
	for _, ld := range d.ListenerDescriptions {
		if ld.Listener == nil {
			continue
		}
		l := listener{port: ld.Listener.LoadBalancerPort, protocol: aws.ToString(ld.Listener.Protocol), instancePort: aws.ToInt32(ld.Listener.InstancePort)}
		if cert := aws.ToString(ld.Listener.SSLCertificateId); cert != "" {
			l.certificates = []string{cert}
		}
		lb.listeners = append(lb.listeners, l)
	}
	g := targetGroup{name: lb.name + " (classic ELB instances)", classic: true}
	if d.HealthCheck != nil {
		g.healthCheck = aws.ToString(d.HealthCheck.Target)
		g.healthPort = classicHealthPort(g.healthCheck)
	}
	health, err := c.elb.DescribeInstanceHealth(ctx, &elb.DescribeInstanceHealthInput{LoadBalancerName: d.LoadBalancerName})
	if err != nil {
		g.describeError = fmt.Errorf("elasticloadbalancing:DescribeInstanceHealth of %s: %w", lb.name, err)
	} else {
		for _, s := range health.InstanceStates {
			g.targets = append(g.targets, targetHealth{
				id: aws.ToString(s.InstanceId), state: aws.ToString(s.State),
				reason: aws.ToString(s.ReasonCode), description: aws.ToString(s.Description),
			})
		}
	}
	lb.groups = []targetGroup{g}
	return lb, nil
}

// classicHealthPort is the port of a classic health check target such as HTTP:32080/healthz.
func classicHealthPort(target string) string {
	var proto, rest string
	for i, r := range target {
		if r == ':' {
			proto, rest = target[:i], target[i+1:]
			break
		}
	}
	if proto == "" {
		return ""
	}
	for i, r := range rest {
		if r < '0' || r > '9' {
			return rest[:i]
		}
	}
	return rest
}
