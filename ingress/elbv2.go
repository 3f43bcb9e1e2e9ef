package ingress

import (
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// elbv2 builds an application or network load balancer: internet-facing in every public subnet,
// one instance target group per node port, the node group attached to each.
func (b *builder) elbv2(sg *ec2.SecurityGroup, listeners []Listener) (loadBalancer, error) {
	kind := b.args.Kind
	lbType := "application"
	if kind == NLB {
		lbType = "network"
	}
	args := &lb.LoadBalancerArgs{
		LoadBalancerType:         pulumi.String(lbType),
		Internal:                 pulumi.Bool(false),
		IpAddressType:            pulumi.String("ipv4"),
		Subnets:                  b.args.PublicSubnetIDs,
		SecurityGroups:           pulumi.StringArray{sg.ID()},
		EnableDeletionProtection: pulumi.Bool(b.args.DeletionProtection),
		Tags:                     b.tags(string(kind)),
	}
	if kind == ALB {
		args.DropInvalidHeaderFields = pulumi.Bool(true)
	} else {
		// With externalTrafficPolicy Local only some nodes are healthy; cross-zone spreads
		// each AZ's share over the healthy nodes of every AZ.
		args.EnableCrossZoneLoadBalancing = pulumi.Bool(true)
	}
	// With AWS deletion protection on, Pulumi protects the load balancer too: a destroy then
	// stops before it deletes anything, instead of deleting everything in front of the load
	// balancer and failing on it.
	balancer, err := lb.NewLoadBalancer(b.ctx, naming.Child(b.name, string(kind)), args, b.parent,
		pulumi.Protect(b.args.DeletionProtection))
	if err != nil {
		return loadBalancer{}, fmt.Errorf("ingress: %s: %w", kind, err)
	}

	hc := NodeHealthCheck(b.args.Ports)
	groups := map[int]*lb.TargetGroup{}
	for _, port := range TrafficNodePorts(listeners) {
		protocol := "HTTP"
		if kind == NLB {
			protocol = "TCP"
		}
		tgArgs := &lb.TargetGroupArgs{
			VpcId:               b.args.VpcID,
			TargetType:          pulumi.String("instance"),
			Port:                pulumi.Int(port),
			Protocol:            pulumi.String(protocol),
			DeregistrationDelay: pulumi.Int(DeregistrationDelaySeconds),
			HealthCheck: &lb.TargetGroupHealthCheckArgs{
				Enabled:            pulumi.Bool(true),
				Protocol:           pulumi.String("HTTP"),
				Port:               pulumi.String(strconv.Itoa(hc.Port)),
				Path:               pulumi.String(hc.Path),
				Matcher:            pulumi.String("200"),
				Interval:           pulumi.Int(hc.IntervalSeconds),
				Timeout:            pulumi.Int(hc.TimeoutSeconds),
				HealthyThreshold:   pulumi.Int(hc.HealthyThreshold),
				UnhealthyThreshold: pulumi.Int(hc.UnhealthyThreshold),
			},
			Tags: b.tags(fmt.Sprintf("tg-%d", port)),
		}
		if kind == NLB {
			// The pods see the client's own address (AWS's default for instance targets, said
			// here because the controller's trust and entry NetworkPolicy rest on it: see
			// TrustedForwarders and EntrySources).
			tgArgs.PreserveClientIp = pulumi.String("true")
		}
		tg, err := lb.NewTargetGroup(b.ctx, naming.Child(b.name, "tg", port), tgArgs, b.parent)
		if err != nil {
			return loadBalancer{}, fmt.Errorf("ingress: target group for node port %d: %w", port, err)
		}
		if err := b.attach(fmt.Sprintf("asg-tg-%d", port), &autoscaling.AttachmentArgs{LbTargetGroupArn: tg.Arn}); err != nil {
			return loadBalancer{}, err
		}
		groups[port] = tg
	}

	for _, l := range listeners {
		args := &lb.ListenerArgs{
			LoadBalancerArn: balancer.Arn,
			Port:            pulumi.Int(l.Port),
			Protocol:        pulumi.String(l.Protocol),
			Tags:            b.tags(fmt.Sprintf("listener-%d", l.Port)),
		}
		secure := l.Protocol == "HTTPS" || l.Protocol == "TLS"
		if secure {
			args.CertificateArn = b.args.CertificateArns.ToStringArrayOutput().Index(pulumi.Int(0))
			args.SslPolicy = pulumi.String(ModernTLSPolicy)
		}
		if l.RedirectToHTTPS {
			args.DefaultActions = lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
				Type: pulumi.String("redirect"),
				Redirect: &lb.ListenerDefaultActionRedirectArgs{
					Port:       pulumi.String("443"),
					Protocol:   pulumi.String("HTTPS"),
					StatusCode: pulumi.String("HTTP_301"),
				},
			}}
		} else {
			args.DefaultActions = lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
				Type:           pulumi.String("forward"),
				TargetGroupArn: groups[l.NodePort].Arn,
			}}
		}
		listener, err := lb.NewListener(b.ctx, naming.Child(b.name, "listener", l.Port), args, b.parent)
		if err != nil {
			return loadBalancer{}, fmt.Errorf("ingress: listener on %d: %w", l.Port, err)
		}
		if !secure {
			continue
		}
		// The other certificates join the listener's list; clients get one by SNI. An ALB or
		// NLB takes 25 besides the default.
		for i := 1; i < b.args.Certificates; i++ {
			if _, err := lb.NewListenerCertificate(b.ctx, naming.Child(b.name, fmt.Sprintf("listener-%d-certificate", l.Port), i), &lb.ListenerCertificateArgs{
				ListenerArn:    listener.Arn,
				CertificateArn: b.args.CertificateArns.ToStringArrayOutput().Index(pulumi.Int(i)),
			}, b.parent); err != nil {
				return loadBalancer{}, fmt.Errorf("ingress: certificate %d of the listener on %d: %w", i, l.Port, err)
			}
		}
	}
	return loadBalancer{dnsName: balancer.DnsName, zoneID: balancer.ZoneId}, nil
}
