package check_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"

	"github.com/outside-in/outside-in/offline/plan"
)

// seeded is what the seeder made in moto for a planned stack.
type seeded struct {
	// subst maps each value the offline plan made up (ids, ARNs, DNS names, zone ids, name
	// servers) to moto's, so the plan's outputs become the outputs of the stack in moto.
	subst   map[string]string
	nodes   []node
	lbArn   string
	lbDNS   string
	lbZone  string
	zoneID  string
	zone    string
	certArn string
	tgArns  []string
	// listener443 is the ARN of the listener ending TLS.
	listener443 string
}

type node struct{ id, ip, dns, az string }

// seed creates in moto, in the plan's dependency order, every resource of the request path the
// stack declares: VPC, subnets, security groups and their rules, hosted zone and records, the
// certificate (imported, signed by the test CA, so that the HTTPS server serves the one ACM
// holds), the load balancer, target groups, listeners, the node group's instances and their
// registration by the autoscaling attachment. Path resources of a kind it does not know fail
// the test, so a stack it cannot model is never checked half-built.
func seed(t *testing.T, ctx context.Context, cfg aws.Config, res *plan.Result, ca *testCA) *seeded {
	t.Helper()
	s := &seeded{subst: map[string]string{}}
	e2, lb, r53, cm := ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg), route53.NewFromConfig(cfg), acm.NewFromConfig(cfg)
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("seeding moto: %s: %v", what, err)
		}
	}
	sub := func(v string) string {
		if m, ok := s.subst[v]; ok {
			return m
		}
		return v
	}
	subs := func(vs []string) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = sub(v)
		}
		return out
	}
	asgInstances := map[string][]string{}
	if zoneMode := res.Stack.Config["outside-in:zoneMode"]; zoneMode == "existing" {
		// The fake account's existing zone: moto needs one of the same name.
		domain := res.Stack.Config["outside-in:domain"]
		out, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(domain), CallerReference: aws.String(res.Stack.Name + "-existing")})
		must("existing zone "+domain, err)
		s.zoneID, s.zone = strings.TrimPrefix(aws.ToString(out.HostedZone.Id), "/hostedzone/"), domain
		s.subst["Z0EXISTING0ZONE0OUTSIDEIN"] = s.zoneID
		s.mapNameServers(res, out.DelegationSet.NameServers)
	}
	for _, r := range res.State().Deployment.Resources {
		in, out := r.Inputs, r.Outputs
		name := r.URN[strings.LastIndex(r.URN, "::")+2:]
		switch r.Type {
		case "aws:ec2/vpc:Vpc":
			got, err := e2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(str(in, "cidrBlock"))})
			must(name, err)
			s.subst[r.ID] = aws.ToString(got.Vpc.VpcId)
		case "aws:ec2/subnet:Subnet":
			got, err := e2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(sub(str(in, "vpcId"))),
				CidrBlock: aws.String(str(in, "cidrBlock")), AvailabilityZone: aws.String(str(in, "availabilityZone"))})
			must(name, err)
			s.subst[r.ID] = aws.ToString(got.Subnet.SubnetId)
		case "aws:ec2/securityGroup:SecurityGroup":
			got, err := e2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(res.Stack.Name + "-" + name),
				Description: aws.String(str(in, "description")), VpcId: aws.String(sub(str(in, "vpcId")))})
			must(name, err)
			s.subst[r.ID] = aws.ToString(got.GroupId)
		case "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
			p := ec2types.IpPermission{IpProtocol: aws.String(str(in, "ipProtocol"))}
			if p.IpProtocol == nil || *p.IpProtocol != "-1" {
				p.FromPort, p.ToPort = aws.Int32(num(in, "fromPort")), aws.Int32(num(in, "toPort"))
			}
			if c := str(in, "cidrIpv4"); c != "" {
				p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(c)}}
			}
			if g := str(in, "referencedSecurityGroupId"); g != "" {
				p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(sub(g))}}
			}
			_, err := e2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sub(str(in, "securityGroupId"))), IpPermissions: []ec2types.IpPermission{p}})
			must(name, err)
		case "aws:route53/zone:Zone":
			got, err := r53.CreateHostedZone(ctx, &route53.CreateHostedZoneInput{Name: aws.String(str(in, "name")), CallerReference: aws.String(r.URN)})
			must(name, err)
			s.zoneID, s.zone = strings.TrimPrefix(aws.ToString(got.HostedZone.Id), "/hostedzone/"), str(in, "name")
			s.subst[r.ID] = s.zoneID
			s.mapNameServers(res, got.DelegationSet.NameServers)
		case "aws:acm/certificate:Certificate":
			names := append([]string{str(in, "domainName")}, strList(in, "subjectAlternativeNames")...)
			certPEM, keyPEM := ca.leaf(t, names...)
			got, err := cm.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certPEM, PrivateKey: keyPEM, CertificateChain: ca.pem})
			must(name, err)
			s.subst[r.ID] = aws.ToString(got.CertificateArn)
			if s.certArn == "" {
				s.certArn = aws.ToString(got.CertificateArn)
			}
		case "aws:route53/record:Record":
			rrs := &r53types.ResourceRecordSet{Name: aws.String(str(in, "name")), Type: r53types.RRType(str(in, "type"))}
			if aliases, ok := in["aliases"].([]any); ok && len(aliases) > 0 {
				a := aliases[0].(map[string]any)
				rrs.AliasTarget = &r53types.AliasTarget{DNSName: aws.String(sub(str(a, "name"))), HostedZoneId: aws.String(sub(str(a, "zoneId"))),
					EvaluateTargetHealth: a["evaluateTargetHealth"] == true}
			} else {
				rrs.TTL = aws.Int64(int64(num(in, "ttl")))
				for _, v := range strList(in, "records") {
					rrs.ResourceRecords = append(rrs.ResourceRecords, r53types.ResourceRecord{Value: aws.String(v)})
				}
			}
			_, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(sub(str(in, "zoneId"))),
				ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: rrs}}}})
			must(name, err)
		case "aws:lb/loadBalancer:LoadBalancer":
			scheme := elbv2types.LoadBalancerSchemeEnumInternetFacing
			if in["internal"] == true {
				scheme = elbv2types.LoadBalancerSchemeEnumInternal
			}
			got, err := lb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String(str(out, "name")), Scheme: scheme,
				Type: elbv2types.LoadBalancerTypeEnum(str(in, "loadBalancerType")), Subnets: subs(strList(in, "subnets")), SecurityGroups: subs(strList(in, "securityGroups"))})
			must(name, err)
			l := got.LoadBalancers[0]
			s.lbArn, s.lbDNS, s.lbZone = aws.ToString(l.LoadBalancerArn), aws.ToString(l.DNSName), aws.ToString(l.CanonicalHostedZoneId)
			s.subst[r.ID], s.subst[str(out, "dnsName")], s.subst[str(out, "zoneId")] = s.lbArn, s.lbDNS, aws.ToString(l.CanonicalHostedZoneId)
		case "aws:lb/targetGroup:TargetGroup":
			hc, _ := in["healthCheck"].(map[string]any)
			got, err := lb.CreateTargetGroup(ctx, &elbv2.CreateTargetGroupInput{Name: aws.String(str(out, "name")), Port: aws.Int32(num(in, "port")),
				Protocol: elbv2types.ProtocolEnum(str(in, "protocol")), VpcId: aws.String(sub(str(in, "vpcId"))), TargetType: elbv2types.TargetTypeEnumInstance,
				HealthCheckProtocol: elbv2types.ProtocolEnum(str(hc, "protocol")), HealthCheckPort: aws.String(str(hc, "port")), HealthCheckPath: aws.String(str(hc, "path")),
				HealthCheckIntervalSeconds: aws.Int32(num(hc, "interval")), HealthCheckTimeoutSeconds: aws.Int32(num(hc, "timeout")),
				HealthyThresholdCount: aws.Int32(num(hc, "healthyThreshold")), UnhealthyThresholdCount: aws.Int32(num(hc, "unhealthyThreshold"))})
			must(name, err)
			arn := aws.ToString(got.TargetGroups[0].TargetGroupArn)
			s.subst[r.ID] = arn
			s.tgArns = append(s.tgArns, arn)
		case "aws:lb/listener:Listener":
			li := &elbv2.CreateListenerInput{LoadBalancerArn: aws.String(sub(str(in, "loadBalancerArn"))), Port: aws.Int32(num(in, "port")),
				Protocol: elbv2types.ProtocolEnum(str(in, "protocol")), DefaultActions: actions(in["defaultActions"], sub)}
			if c := str(in, "certificateArn"); c != "" {
				li.Certificates = []elbv2types.Certificate{{CertificateArn: aws.String(sub(c))}}
				li.SslPolicy = aws.String(str(in, "sslPolicy"))
			}
			got, err := lb.CreateListener(ctx, li)
			must(name, err)
			s.subst[r.ID] = aws.ToString(got.Listeners[0].ListenerArn)
			if li.Certificates != nil {
				s.listener443 = aws.ToString(got.Listeners[0].ListenerArn)
			}
		case "aws:lb/listenerCertificate:ListenerCertificate":
			_, err := lb.AddListenerCertificates(ctx, &elbv2.AddListenerCertificatesInput{ListenerArn: aws.String(sub(str(in, "listenerArn"))),
				Certificates: []elbv2types.Certificate{{CertificateArn: aws.String(sub(str(in, "certificateArn")))}}})
			must(name, err)
		case "aws:eks/nodeGroup:NodeGroup":
			subnets := strList(in, "subnetIds")
			desired := num(in["scalingConfig"].(map[string]any), "desiredSize")
			asg := str(out["resources"].([]any)[0].(map[string]any)["autoscalingGroups"].([]any)[0].(map[string]any), "name")
			for i := range desired {
				got, err := e2.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String("ami-12c6146b"), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
					InstanceType: ec2types.InstanceType(strList(in, "instanceTypes")[0]), SubnetId: aws.String(sub(subnets[int(i)%len(subnets)]))})
				must(name, err)
				inst := got.Instances[0]
				s.nodes = append(s.nodes, node{id: aws.ToString(inst.InstanceId), ip: aws.ToString(inst.PrivateIpAddress),
					dns: aws.ToString(inst.PrivateDnsName), az: aws.ToString(inst.Placement.AvailabilityZone)})
				asgInstances[asg] = append(asgInstances[asg], aws.ToString(inst.InstanceId))
			}
		case "aws:autoscaling/attachment:Attachment":
			var targets []elbv2types.TargetDescription
			for _, id := range asgInstances[str(in, "autoscalingGroupName")] {
				targets = append(targets, elbv2types.TargetDescription{Id: aws.String(id)})
			}
			if len(targets) == 0 {
				t.Fatalf("seeding moto: %s attaches %s, which has no instances", name, str(in, "autoscalingGroupName"))
			}
			_, err := lb.RegisterTargets(ctx, &elbv2.RegisterTargetsInput{TargetGroupArn: aws.String(sub(str(in, "lbTargetGroupArn"))), Targets: targets})
			must(name, err)
		case "aws:elb/loadBalancer:LoadBalancer", "aws:autoscaling/group:Group", "aws:lb/targetGroupAttachment:TargetGroupAttachment":
			t.Fatalf("seeding moto: %s (%s) is on the request path, and the seeder does not model it yet", name, r.Type)
		}
	}
	return s
}

// mapNameServers maps the plan's name servers of the zone to moto's, in order.
func (s *seeded) mapNameServers(res *plan.Result, moto []string) {
	planned := strList(map[string]any{"ns": res.Exports["nameServers"].Value}, "ns")
	for i := range min(len(planned), len(moto)) {
		s.subst[planned[i]] = moto[i]
	}
}

// outputs are the plan's stack outputs with moto's values in place of the plan's.
func (s *seeded) outputs(res *plan.Result) map[string]any {
	out := map[string]any{}
	for k, e := range res.Exports {
		out[k] = s.replace(e.Value)
	}
	return out
}

func (s *seeded) replace(v any) any {
	switch v := v.(type) {
	case string:
		if m, ok := s.subst[v]; ok {
			return m
		}
		return v
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = s.replace(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range v {
			out[k] = s.replace(e)
		}
		return out
	}
	return v
}

func actions(v any, sub func(string) string) []elbv2types.Action {
	var out []elbv2types.Action
	list, _ := v.([]any)
	for _, a := range list {
		m := a.(map[string]any)
		act := elbv2types.Action{Type: elbv2types.ActionTypeEnum(str(m, "type"))}
		if tg := str(m, "targetGroupArn"); tg != "" {
			act.TargetGroupArn = aws.String(sub(tg))
		}
		if r, ok := m["redirect"].(map[string]any); ok {
			act.RedirectConfig = &elbv2types.RedirectActionConfig{Port: aws.String(str(r, "port")), Protocol: aws.String(str(r, "protocol")),
				StatusCode: elbv2types.RedirectActionStatusCodeEnum(str(r, "statusCode"))}
		}
		out = append(out, act)
	}
	return out
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func num(m map[string]any, k string) int32 {
	switch v := m[k].(type) {
	case float64:
		return int32(v)
	case string:
		var n int32
		_, _ = fmt.Sscan(v, &n)
		return n
	}
	return 0
}

func strList(m map[string]any, k string) []string {
	var out []string
	list, _ := m[k].([]any)
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
