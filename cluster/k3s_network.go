package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// The security groups of a k3s cluster.
const (
	GroupServers = "servers"
	GroupAgents  = "agents"
	GroupAPILB   = "api-lb"
)

// PeerRule is one rule between two of the cluster's security groups, as data: traffic From one
// group To another on a port range, and why. Each becomes an egress rule on From and an ingress
// rule on To, so the two sides cannot disagree.
type PeerRule struct {
	Description      string
	Protocol         string // tcp or udp
	FromPort, ToPort int
	From, To         string
}

// APIPort is the port of the k3s supervisor and kube-apiserver.
const APIPort = 6443

// K3sPodCidr is k3s's default cluster-cidr, which the servers keep (they set no
// --cluster-cidr): flannel gives the pods addresses there, outside the VPC.
const K3sPodCidr = "10.42.0.0/16"

// K3sPeerRules are the only ways the cluster's machines reach one another (k3s docs,
// "Inbound rules for K3s nodes"); the load balancer's rules to the agents' node ports are the
// ingress layer's. Embedded etcd's ports are open between servers only, and only with three.
func K3sPeerRules(servers int) []PeerRule {
	rules := []PeerRule{
		{"agents join and reach the supervisor and kube-apiserver", "tcp", APIPort, APIPort, GroupAgents, GroupServers},
		{"servers join the first server", "tcp", APIPort, APIPort, GroupServers, GroupServers},
		{"the API load balancer forwards to and health-checks the servers", "tcp", APIPort, APIPort, GroupAPILB, GroupServers},
	}
	if servers > 1 {
		rules = append(rules, PeerRule{"embedded etcd client and peer traffic between servers", "tcp", 2379, 2380, GroupServers, GroupServers})
	}
	for _, from := range []string{GroupServers, GroupAgents} {
		for _, to := range []string{GroupServers, GroupAgents} {
			rules = append(rules,
				PeerRule{"kubelet API (metrics-server, logs, exec)", "tcp", 10250, 10250, from, to},
				PeerRule{"flannel VXLAN: pod traffic between nodes", "udp", 8472, 8472, from, to},
			)
		}
	}
	return rules
}

// securityGroups builds the servers', agents' and API load balancer's security groups and their rules.
func (k *k3sBuilder) securityGroups() (map[string]*ec2.SecurityGroup, error) {
	groups := map[string]*ec2.SecurityGroup{}
	for _, g := range []struct{ name, description string }{
		{GroupServers, "outside-in k3s servers of %s: the API from agents, servers and its load balancer; cluster traffic"},
		{GroupAgents, "outside-in k3s agents of %s: cluster traffic, and the load balancer's node ports"},
		{GroupAPILB, "outside-in k3s API load balancer of %s: 6443 from the admin CIDRs to the servers"},
	} {
		sg, err := ec2.NewSecurityGroup(k.ctx, naming.Child(k.name, g.name+"-sg"), &ec2.SecurityGroupArgs{
			VpcId:       k.args.VpcID,
			Description: pulumi.Sprintf(g.description, k.args.Name),
			Tags:        k.tags(g.name),
		}, k.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: %s security group: %w", g.name, err)
		}
		groups[g.name] = sg
	}
	for i, r := range K3sPeerRules(k.args.Servers) {
		from, to := groups[r.From].ID().ToStringOutput(), groups[r.To].ID().ToStringOutput()
		if _, err := vpc.NewSecurityGroupIngressRule(k.ctx, naming.Child(k.name, "peer-in", i), &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: to, ReferencedSecurityGroupId: from, Description: pulumi.String(r.Description),
			IpProtocol: pulumi.String(r.Protocol), FromPort: pulumi.Int(r.FromPort), ToPort: pulumi.Int(r.ToPort),
			Tags: k.tags("peer-in"),
		}, k.parent); err != nil {
			return nil, fmt.Errorf("cluster: rule %q: %w", r.Description, err)
		}
		if _, err := vpc.NewSecurityGroupEgressRule(k.ctx, naming.Child(k.name, "peer-out", i), &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId: from, ReferencedSecurityGroupId: to, Description: pulumi.String(r.Description),
			IpProtocol: pulumi.String(r.Protocol), FromPort: pulumi.Int(r.FromPort), ToPort: pulumi.Int(r.ToPort),
			Tags: k.tags("peer-out"),
		}, k.parent); err != nil {
			return nil, fmt.Errorf("cluster: rule %q: %w", r.Description, err)
		}
	}
	// Nodes reach the internet through NAT for HTTPS only: the k3s binary, container images,
	// Parameter Store and SSM. DNS, NTP and instance metadata are link-local or the VPC
	// resolver, which security groups do not filter.
	for _, g := range []string{GroupServers, GroupAgents} {
		if _, err := vpc.NewSecurityGroupEgressRule(k.ctx, naming.Child(k.name, g+"-https-out"), &vpc.SecurityGroupEgressRuleArgs{
			SecurityGroupId: groups[g].ID(), CidrIpv4: pulumi.String("0.0.0.0/0"),
			Description: pulumi.String("HTTPS to the internet through NAT: k3s release, images, SSM"),
			IpProtocol:  pulumi.String("tcp"), FromPort: pulumi.Int(443), ToPort: pulumi.Int(443),
			Tags: k.tags(g + "-https-out"),
		}, k.parent); err != nil {
			return nil, fmt.Errorf("cluster: %s HTTPS egress: %w", g, err)
		}
	}
	for i, cidr := range k.apiClients() {
		if _, err := vpc.NewSecurityGroupIngressRule(k.ctx, naming.Child(k.name, "api-in", i), &vpc.SecurityGroupIngressRuleArgs{
			SecurityGroupId: groups[GroupAPILB].ID(), CidrIpv4: pulumi.String(cidr),
			Description: pulumi.Sprintf("Kubernetes API clients in %s", cidr),
			IpProtocol:  pulumi.String("tcp"), FromPort: pulumi.Int(APIPort), ToPort: pulumi.Int(APIPort),
			Tags: k.tags("api-in"),
		}, k.parent); err != nil {
			return nil, fmt.Errorf("cluster: API client rule for %s: %w", cidr, err)
		}
	}
	return groups, nil
}

// apiClients are the CIDRs the API load balancer admits: adminCidrs with a public endpoint, the
// VPC with a private one (reach it from a bastion, a VPN or a runner in the VPC).
func (k *k3sBuilder) apiClients() []string {
	if len(k.args.PublicAccessCidrs) > 0 {
		return k.args.PublicAccessCidrs
	}
	return []string{k.args.VpcCidr}
}

// apiLoadBalancer builds the network load balancer in front of the servers' API: internet-facing
// in the public subnets with a public endpoint, internal in the private subnets otherwise. The
// servers keep private addresses either way. It returns the API URL and what must exist before
// the API can answer through it.
func (k *k3sBuilder) apiLoadBalancer(sg *ec2.SecurityGroup, after []pulumi.Resource) (*lb.LoadBalancer, *lb.TargetGroup, []pulumi.Resource, error) {
	public := len(k.args.PublicAccessCidrs) > 0
	subnets := k.args.PrivateSubnetIDs
	if public {
		subnets = k.args.PublicSubnetIDs
	}
	balancer, err := lb.NewLoadBalancer(k.ctx, naming.Child(k.name, "api"), &lb.LoadBalancerArgs{
		LoadBalancerType:             pulumi.String("network"),
		Internal:                     pulumi.Bool(!public),
		Subnets:                      subnets,
		SecurityGroups:               pulumi.StringArray{sg.ID()},
		EnableCrossZoneLoadBalancing: pulumi.Bool(true),
		Tags:                         k.tags("api"),
	}, k.parent, pulumi.DependsOn(after))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cluster: API load balancer: %w", err)
	}
	tg, err := lb.NewTargetGroup(k.ctx, naming.Child(k.name, "api-tg"), &lb.TargetGroupArgs{
		VpcId:      k.args.VpcID,
		TargetType: pulumi.String("instance"),
		Port:       pulumi.Int(APIPort),
		Protocol:   pulumi.String("TCP"),
		// The API refuses anonymous requests (k3s turns anonymous auth off), so an HTTP check
		// of /readyz would fail: the check is a TCP connect.
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled: pulumi.Bool(true), Protocol: pulumi.String("TCP"), Port: pulumi.String("traffic-port"),
			Interval: pulumi.Int(10), HealthyThreshold: pulumi.Int(2), UnhealthyThreshold: pulumi.Int(2),
		},
		DeregistrationDelay: pulumi.Int(30),
		Tags:                k.tags("api-tg"),
	}, k.parent)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cluster: API target group: %w", err)
	}
	listener, err := lb.NewListener(k.ctx, naming.Child(k.name, "api-listener"), &lb.ListenerArgs{
		LoadBalancerArn: balancer.Arn,
		Port:            pulumi.Int(APIPort),
		Protocol:        pulumi.String("TCP"),
		DefaultActions: lb.ListenerDefaultActionArray{&lb.ListenerDefaultActionArgs{
			Type: pulumi.String("forward"), TargetGroupArn: tg.Arn,
		}},
		Tags: k.tags("api-listener"),
	}, k.parent)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("cluster: API listener: %w", err)
	}
	return balancer, tg, []pulumi.Resource{listener}, nil
}
