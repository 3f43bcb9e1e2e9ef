package check

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancing"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
)

// awsClients are the read-only AWS APIs the hops call.
type awsClients struct {
	route53 *route53.Client
	acm     *acm.Client
	elbv2   *elbv2.Client
	elb     *elb.Client
	ec2     *ec2.Client
	region  string

	certs map[string]*certificate // by ARN, described once per check
	all   []string                // every certificate ARN of the region, listed once
}

func newAWSClients(ctx context.Context, t target, opts Options) (*awsClients, error) {
	var cfg aws.Config
	if opts.AWS != nil {
		cfg = opts.AWS.Copy()
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("loading the AWS configuration: %w", err)
		}
	}
	if t.region != "" {
		cfg.Region = t.region
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no AWS region: the outputs name none (no %s, and %s is not an ELB name); set AWS_REGION", outRegion, outLoadBalancerDNSName)
	}
	return &awsClients{
		route53: route53.NewFromConfig(cfg),
		acm:     acm.NewFromConfig(cfg),
		elbv2:   elbv2.NewFromConfig(cfg),
		elb:     elb.NewFromConfig(cfg),
		ec2:     ec2.NewFromConfig(cfg),
		region:  cfg.Region,
		certs:   map[string]*certificate{},
	}, nil
}

// loadBalancer is an ALB, NLB or classic ELB, as the hops need it.
type loadBalancer struct {
	kind           string // application, network or classic
	name, arn      string
	dnsName        string
	zoneID         string // canonical hosted zone id, what an alias record names
	scheme, state  string
	subnets        []string
	securityGroups []string
	listeners      []listener
	groups         []targetGroup
}

type listener struct {
	port         int32
	protocol     string
	certificates []string
	// instancePort is the node port a classic ELB's listener sends to (an ELBv2 listener's
	// target groups hold theirs).
	instancePort int32
}

// tls is whether the listener ends TLS, and so holds certificates.
func (l listener) tls() bool {
	switch l.protocol {
	case "HTTPS", "TLS", "SSL":
		return true
	}
	return false
}

// targetGroup is an ELBv2 target group, or a classic ELB's instances.
type targetGroup struct {
	name          string
	port          int32
	healthCheck   string // e.g. HTTP:32080/healthz
	healthPort    string
	targets       []targetHealth
	classic       bool
	describeError error
}

type targetHealth struct {
	id          string
	port        int32
	state       string // healthy, unhealthy, unused, draining, initial, unavailable; InService, OutOfService, Unknown
	reason      string
	description string
}

func (t targetHealth) healthy() bool { return t.state == "healthy" || t.state == "InService" }

func sameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, "."), strings.TrimSuffix(b, "."))
}

// findLoadBalancer finds the load balancer whose DNS name the stack exports, among the
// region's ALBs and NLBs, then its classic ELBs.
func (c *awsClients) findLoadBalancer(ctx context.Context, dnsName string) (*loadBalancer, error) {
	if dnsName == "" {
		return nil, fmt.Errorf("the outputs have no %s", outLoadBalancerDNSName)
	}
	pages := elbv2.NewDescribeLoadBalancersPaginator(c.elbv2, &elbv2.DescribeLoadBalancersInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("elasticloadbalancing:DescribeLoadBalancers (v2) in %s: %w", c.region, err)
		}
		for _, lb := range page.LoadBalancers {
			if sameName(aws.ToString(lb.DNSName), dnsName) {
				out := &loadBalancer{
					kind: string(lb.Type), name: aws.ToString(lb.LoadBalancerName), arn: aws.ToString(lb.LoadBalancerArn),
					dnsName: aws.ToString(lb.DNSName), zoneID: aws.ToString(lb.CanonicalHostedZoneId),
					scheme: string(lb.Scheme), securityGroups: lb.SecurityGroups,
				}
				if lb.State != nil {
					out.state = string(lb.State.Code)
				}
				for _, az := range lb.AvailabilityZones {
					out.subnets = append(out.subnets, aws.ToString(az.SubnetId))
				}
				return out, c.describeV2(ctx, out)
			}
		}
	}
	classic := elb.NewDescribeLoadBalancersPaginator(c.elb, &elb.DescribeLoadBalancersInput{})
	for classic.HasMorePages() {
		page, err := classic.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("elasticloadbalancing:DescribeLoadBalancers (classic) in %s: %w", c.region, err)
		}
		for _, lb := range page.LoadBalancerDescriptions {
			if sameName(aws.ToString(lb.DNSName), dnsName) {
				return c.describeClassic(ctx, lb)
			}
		}
	}
	return nil, fmt.Errorf("no load balancer in %s has the DNS name %s", c.region, dnsName)
}

// describeV2 adds an ALB's or NLB's listeners (with their certificates) and target groups
// (with their targets' health).
func (c *awsClients) describeV2(ctx context.Context, lb *loadBalancer) error {
	ls, err := c.elbv2.DescribeListeners(ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: &lb.arn})
	if err != nil {
		return fmt.Errorf("elasticloadbalancing:DescribeListeners of %s: %w", lb.name, err)
	}
	for _, l := range ls.Listeners {
		out := listener{port: aws.ToInt32(l.Port), protocol: string(l.Protocol)}
		if out.tls() {
			// The default certificate, then those added for SNI (the list holds the default too).
			seen := map[string]bool{}
			for _, cert := range l.Certificates {
				seen[aws.ToString(cert.CertificateArn)] = true
				out.certificates = append(out.certificates, aws.ToString(cert.CertificateArn))
			}
			more, err := c.elbv2.DescribeListenerCertificates(ctx, &elbv2.DescribeListenerCertificatesInput{ListenerArn: l.ListenerArn})
			if err != nil {
				return fmt.Errorf("elasticloadbalancing:DescribeListenerCertificates of %s:%d: %w", lb.name, out.port, err)
			}
			for _, cert := range more.Certificates {
				if arn := aws.ToString(cert.CertificateArn); !seen[arn] {
					seen[arn] = true
					out.certificates = append(out.certificates, arn)
				}
			}
		}
		lb.listeners = append(lb.listeners, out)
	}
	tgs, err := c.elbv2.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: &lb.arn})
	if err != nil {
		return fmt.Errorf("elasticloadbalancing:DescribeTargetGroups of %s: %w", lb.name, err)
	}
	for _, tg := range tgs.TargetGroups {
		g := targetGroup{
			name: aws.ToString(tg.TargetGroupName), port: aws.ToInt32(tg.Port), healthPort: aws.ToString(tg.HealthCheckPort),
			healthCheck: fmt.Sprintf("%s:%s%s", tg.HealthCheckProtocol, aws.ToString(tg.HealthCheckPort), aws.ToString(tg.HealthCheckPath)),
		}
		health, err := c.elbv2.DescribeTargetHealth(ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tg.TargetGroupArn})
		if err != nil {
			g.describeError = fmt.Errorf("elasticloadbalancing:DescribeTargetHealth of %s: %w", g.name, err)
		} else {
			for _, d := range health.TargetHealthDescriptions {
				th := targetHealth{id: aws.ToString(d.Target.Id), port: aws.ToInt32(d.Target.Port)}
				if d.TargetHealth != nil {
					th.state = string(d.TargetHealth.State)
					th.reason = string(d.TargetHealth.Reason)
					th.description = aws.ToString(d.TargetHealth.Description)
				}
				g.targets = append(g.targets, th)
			}
		}
		lb.groups = append(lb.groups, g)
	}
	return nil
}
