package tests

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
)

// k3sServers are the k3s server instances (not the NAT instance).
func k3sServers(res *plan.Result) []*fakeaws.Resource {
	var out []*fakeaws.Resource
	for _, i := range res.OfType("aws:ec2/instance:Instance") {
		if strings.HasPrefix(i.Name, "cluster-server-") {
			out = append(out, i)
		}
	}
	return out
}

// subnetsByID maps the plan's subnet ids to their CIDR, AZ and whether they are public.
func subnetsByID(t *testing.T, res *plan.Result) map[string]struct {
	cidr   netip.Prefix
	az     string
	public bool
} {
	t.Helper()
	out := map[string]struct {
		cidr   netip.Prefix
		az     string
		public bool
	}{}
	for _, s := range res.OfType("aws:ec2/subnet:Subnet") {
		out[s.ID] = struct {
			cidr   netip.Prefix
			az     string
			public bool
		}{netip.MustParsePrefix(text(t, s.In("cidrBlock"))), text(t, s.In("availabilityZone")), s.In("mapPublicIpOnLaunch") == true}
	}
	return out
}

// Servers and agents are private, hardened machines: no public address, IMDSv2 with one hop,
// encrypted gp3 disks; servers at fixed addresses of the private subnets, each with its own
// encrypted data volume in its AZ; agents in an autoscaling group over the private subnets that
// rolls by instance refresh without losing capacity.
func TestK3sNodesArePrivateAndHardened(t *testing.T) {
	res := run(t, with(stack(t, "k3s"), map[string]string{"k3sServers": "3", "azCount": "3"}))
	subnets := subnetsByID(t, res)
	servers := k3sServers(res)
	require.Len(t, servers, 3)
	azs := map[string]bool{}
	for _, s := range servers {
		subnet, ok := subnets[text(t, s.In("subnetId"))]
		require.True(t, ok, "%s is in one of the stack's subnets", s.Name)
		assert.False(t, subnet.public, "%s is in a private subnet", s.Name)
		assert.True(t, subnet.cidr.Contains(netip.MustParseAddr(text(t, s.In("privateIp")))), "%s's fixed address is in its subnet", s.Name)
		azs[subnet.az] = true
		assert.Equal(t, false, s.In("associatePublicIpAddress"))
		assert.Equal(t, "required", s.In("metadataOptions", "httpTokens"))
		assert.Equal(t, 1.0, s.In("metadataOptions", "httpPutResponseHopLimit"))
		assert.Equal(t, true, s.In("rootBlockDevice", "encrypted"))
		assert.Equal(t, "gp3", s.In("rootBlockDevice", "volumeType"))
		assert.Equal(t, true, s.In("userDataReplaceOnChange"))
		// volumeTags would tag the attached data volume too, fighting its own tags on every
		// update: the root volume is tagged on its own.
		assert.Nil(t, s.In("volumeTags"), "%s: no volumeTags while a separate, tagged volume is attached", s.Name)
		assert.Equal(t, text(t, s.In("tags", "Name"))+"-root", s.In("rootBlockDevice", "tags", "Name"))
		assert.NotEmpty(t, s.In("rootBlockDevice", "tags", "outside-in:stack"), "%s's root volume has the stack's tags", s.Name)
	}
	assert.Len(t, azs, 3, "three servers in three AZs")

	volumes := res.OfType("aws:ebs/volume:Volume")
	attachments := res.OfType("aws:ec2/volumeAttachment:VolumeAttachment")
	require.Len(t, volumes, 3)
	require.Len(t, attachments, 3)
	for _, a := range attachments {
		assert.Equal(t, cluster.DataDevice, a.In("deviceName"))
		var server, volume *fakeaws.Resource
		for _, s := range servers {
			if s.ID == a.In("instanceId") {
				server = s
			}
		}
		for _, v := range volumes {
			if v.ID == a.In("volumeId") {
				volume = v
			}
		}
		require.NotNil(t, server)
		require.NotNil(t, volume)
		assert.Equal(t, subnets[text(t, server.In("subnetId"))].az, volume.In("availabilityZone"), "a volume attaches only in its AZ")
		assert.Equal(t, true, volume.In("encrypted"))
		assert.Equal(t, text(t, server.In("tags", "Name"))+"-data", volume.In("tags", "Name"), "the data volume carries its own tags")
		assert.Equal(t, true, a.In("stopInstanceBeforeDetaching"), "a replaced server's datastore is not forced off a running instance")
	}

	// Each server's fixed address lies in an explicit reservation of its subnet, which exists
	// before anything else can take an address there.
	reservations := res.OfType("aws:ec2/subnetCidrReservation:SubnetCidrReservation")
	require.Len(t, reservations, 3, "one per subnet holding a server")
	var reservationURNs []string
	for _, r := range reservations {
		assert.Equal(t, "explicit", r.In("reservationType"))
		reservationURNs = append(reservationURNs, r.URN)
	}
	for _, s := range servers {
		ip := netip.MustParseAddr(text(t, s.In("privateIp")))
		held := false
		for _, r := range reservations {
			held = held || (r.In("subnetId") == s.In("subnetId") && netip.MustParsePrefix(text(t, r.In("cidrBlock"))).Contains(ip))
		}
		assert.True(t, held, "%s's address %s is reserved in its subnet", s.Name, ip)
		assert.Subset(t, s.Dependencies, reservationURNs, s.Name)
	}
	apiLB := res.Named("aws:lb/loadBalancer:LoadBalancer", "cluster-api")
	require.NotNil(t, apiLB)
	assert.Subset(t, apiLB.Dependencies, reservationURNs, "the API load balancer's interfaces come after the reservations")

	lt := res.Named("aws:ec2/launchTemplate:LaunchTemplate", "cluster-agent-lt")
	require.NotNil(t, lt)
	assert.Equal(t, "required", lt.In("metadataOptions", "httpTokens"))
	assert.Equal(t, 1.0, lt.In("metadataOptions", "httpPutResponseHopLimit"))
	assert.Equal(t, "true", lt.In("blockDeviceMappings", 0, "ebs", "encrypted"))
	group := res.OfType("aws:autoscaling/group:Group")
	require.Len(t, group, 1)
	assert.Subset(t, group[0].Dependencies, reservationURNs, "agents launch after the reservations")
	g := group[0]
	var zones []string
	for _, id := range list(t, g.In("vpcZoneIdentifiers")) {
		sub, ok := subnets[text(t, id)]
		require.True(t, ok)
		assert.False(t, sub.public, "agents are in private subnets only")
		zones = append(zones, sub.az)
	}
	assert.Len(t, zones, 3)
	assert.Equal(t, lt.ID, g.In("mixedInstancesPolicy", "launchTemplate", "launchTemplateSpecification", "launchTemplateId"))
	var types []string
	for _, o := range list(t, g.In("mixedInstancesPolicy", "launchTemplate", "overrides")) {
		types = append(types, text(t, fakeaws.Get(o, "instanceType")))
	}
	assert.Equal(t, []string{"t4g.small", "t4g.medium"}, types)
	assert.Equal(t, 0.0, g.In("mixedInstancesPolicy", "instancesDistribution", "onDemandPercentageAboveBaseCapacity"), "SPOT")
	assert.Equal(t, "Rolling", g.In("instanceRefresh", "strategy"))
	assert.Equal(t, 100.0, g.In("instanceRefresh", "preferences", "minHealthyPercentage"), "new agents start before old ones stop")
	assert.Equal(t, "EC2", g.In("healthCheckType"))
}

// The only traffic between the cluster's machines is what k3s needs, from security group to
// security group; etcd's ports open only between three servers; the nodes take no CIDR; the API
// load balancer takes 6443 from adminCidrs only; the nodes leave the VPC for HTTPS only.
func TestK3sSecurityGroups(t *testing.T) {
	for _, servers := range []int{1, 3} {
		t.Run(fmt.Sprintf("%d servers", servers), func(t *testing.T) {
			s := with(stack(t, "k3s"), map[string]string{"k3sServers": fmt.Sprint(servers), "azCount": "3"})
			res := run(t, s)
			group := map[string]string{} // security group id → role
			for _, role := range []string{cluster.GroupServers, cluster.GroupAgents, cluster.GroupAPILB} {
				sg := res.Named("aws:ec2/securityGroup:SecurityGroup", "cluster-"+role+"-sg")
				require.NotNil(t, sg, role)
				group[sg.ID] = role
			}
			type edge struct {
				proto      string
				from, to   int
				src, dst   string
				egressSide bool
			}
			var got []edge
			cidrIn := map[string][]string{}
			for _, r := range res.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
				dst, ours := group[text(t, r.In("securityGroupId"))]
				if !ours {
					continue
				}
				if cidr, ok := r.In("cidrIpv4").(string); ok {
					cidrIn[dst] = append(cidrIn[dst], cidr)
					assert.Equal(t, 6443.0, r.In("fromPort"), "%s: only the API port is open to CIDRs", r.Name)
					assert.Equal(t, 6443.0, r.In("toPort"))
					continue
				}
				src, known := group[text(t, r.In("referencedSecurityGroupId"))]
				if !known {
					// The ingress layer's rules: the load balancer to the agents' node ports.
					assert.Equal(t, cluster.GroupAgents, dst, "%s", r.Name)
					continue
				}
				got = append(got, edge{text(t, r.In("ipProtocol")), int(number(t, r.In("fromPort"))), int(number(t, r.In("toPort"))), src, dst, false})
			}
			var want []edge
			for _, p := range cluster.K3sPeerRules(servers) {
				want = append(want, edge{p.Protocol, p.FromPort, p.ToPort, p.From, p.To, false})
			}
			assert.ElementsMatch(t, want, got)
			etcd := slices.ContainsFunc(got, func(e edge) bool { return e.from == 2379 })
			assert.Equal(t, servers == 3, etcd, "etcd's ports are open only between three servers")
			assert.Equal(t, map[string][]string{cluster.GroupAPILB: {"203.0.113.10/32"}}, cidrIn,
				"only the API load balancer takes a CIDR, and only adminCidrs")

			for _, r := range res.OfType("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") {
				src, ours := group[text(t, r.In("securityGroupId"))]
				if !ours {
					continue
				}
				if cidr, ok := r.In("cidrIpv4").(string); ok {
					assert.Equal(t, "0.0.0.0/0", cidr)
					assert.Equal(t, 443.0, r.In("fromPort"), "%s leaves the VPC for HTTPS only", src)
					assert.NotEqual(t, cluster.GroupAPILB, src)
				}
			}
		})
	}
}

// With the public endpoint the API load balancer is internet-facing in the public subnets; with
// PrivateOnly it is internal, in the private subnets, open to the VPC only. Either way the
// servers keep private addresses.
func TestK3sAPIEndpoint(t *testing.T) {
	for _, private := range []bool{false, true} {
		s := stack(t, "k3s")
		if private {
			s = with(s, map[string]string{"clusterEndpointAccess": "PrivateOnly", "adminCidrs": "[]"})
		}
		res := run(t, s)
		subnets := subnetsByID(t, res)
		api := res.Named("aws:lb/loadBalancer:LoadBalancer", "cluster-api")
		require.NotNil(t, api)
		assert.Equal(t, "network", api.In("loadBalancerType"))
		assert.Equal(t, private, api.In("internal"))
		for _, id := range list(t, api.In("subnets")) {
			assert.Equal(t, !private, subnets[text(t, id)].public, "private=%v", private)
		}
		var sources []string
		sg := named(t, res, "aws:ec2/securityGroup:SecurityGroup", "cluster-api-lb-sg")
		for _, r := range res.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
			if r.In("securityGroupId") == sg.ID {
				sources = append(sources, text(t, r.In("cidrIpv4")))
			}
		}
		if private {
			assert.Equal(t, []string{"10.0.0.0/16"}, sources, "an internal endpoint is open to the VPC")
		} else {
			assert.Equal(t, []string{"203.0.113.10/32"}, sources)
		}
		tg := res.Named("aws:lb/targetGroup:TargetGroup", "cluster-api-tg")
		require.NotNil(t, tg)
		assert.Equal(t, "TCP", tg.In("healthCheck", "protocol"), "the API refuses anonymous requests, so the check is a connect")
		targets := res.OfType("aws:lb/targetGroupAttachment:TargetGroupAttachment")
		require.Len(t, targets, 1)
		assert.Equal(t, k3sServers(res)[0].ID, targets[0].In("targetId"))
	}
}

// Each node role may read only its own parameters: servers theirs, agents the agent token alone,
// never the CA keys or the server token; no managed policy on either.
func TestK3sNodeRoles(t *testing.T) {
	res := run(t, stack(t, "k3s"))
	policies := map[string]string{}
	for _, p := range res.OfType("aws:iam/rolePolicy:RolePolicy") {
		policies[p.Name] = text(t, p.In("policy"))
	}
	for role, path := range map[string]string{"server": "/outside-in-k3s/k3s/server/*", "agent": "/outside-in-k3s/k3s/agent/token"} {
		var doc struct {
			Statement []struct {
				Action   []string
				Resource []string
			}
		}
		require.NoError(t, json.Unmarshal([]byte(policies["cluster-"+role+"-role-parameters"]), &doc))
		require.Len(t, doc.Statement, 1)
		assert.Equal(t, []string{"ssm:GetParameter", "ssm:GetParameters"}, doc.Statement[0].Action)
		assert.Equal(t, []string{"arn:aws:ssm:eu-central-1:123456789012:parameter" + path}, doc.Statement[0].Resource, role)
	}
	var managed []string
	for _, a := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		managed = append(managed, text(t, a.In("policyArn")))
	}
	assert.Empty(t, managed, "no managed policy: AmazonSSMManagedInstanceCore would read every parameter of the account")
}
