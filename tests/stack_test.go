package tests

import (
	"bytes"
	"encoding/json"
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

// state is `cmd/plan --format json` read back as a tool reading Pulumi state would.
type state struct {
	resources []map[string]any
}

func exportState(t *testing.T, res *plan.Result) state {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, json.NewEncoder(&buf).Encode(res.State()))
	var doc struct {
		Version    int `json:"version"`
		Deployment struct {
			Resources []map[string]any `json:"resources"`
		} `json:"deployment"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	require.Equal(t, 3, doc.Version)
	return state{resources: doc.Deployment.Resources}
}

func (s state) ofType(typ string) []map[string]any {
	var out []map[string]any
	for _, r := range s.resources {
		if r["type"] == typ {
			out = append(out, r)
		}
	}
	return out
}

func (s state) one(t *testing.T, typ string) map[string]any {
	t.Helper()
	rs := s.ofType(typ)
	require.Len(t, rs, 1, typ)
	return rs[0]
}

func (s state) byID(typ, id string) map[string]any {
	for _, r := range s.ofType(typ) {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

func strs(t tb, v any) []string {
	t.Helper()
	var out []string
	for _, e := range list(t, v) {
		out = append(out, text(t, e))
	}
	return out
}

// Read from the JSON plan of the dev stack: one VPC; a public and a private subnet in each of at
// least two distinct AZs, inside the VPC and disjoint; public subnets route to the IGW and
// private ones to the NAT instance.
func TestDevPlanNetwork(t *testing.T) {
	s := exportState(t, run(t, stack(t, "dev")))
	vpc := s.one(t, "aws:ec2/vpc:Vpc")
	vpcCidr := netip.MustParsePrefix(text(t, fakeaws.Get(vpc, "inputs", "cidrBlock")))
	igw := s.one(t, "aws:ec2/internetGateway:InternetGateway")

	routeOf := map[string]map[string]any{} // route table id → default route
	for _, r := range s.ofType("aws:ec2/route:Route") {
		if fakeaws.Get(r, "inputs", "destinationCidrBlock") == "0.0.0.0/0" {
			routeOf[text(t, fakeaws.Get(r, "inputs", "routeTableId"))] = r
		}
	}
	tableOf := map[string]string{} // subnet id → route table id
	for _, a := range s.ofType("aws:ec2/routeTableAssociation:RouteTableAssociation") {
		tableOf[text(t, fakeaws.Get(a, "inputs", "subnetId"))] = text(t, fakeaws.Get(a, "inputs", "routeTableId"))
	}
	// The dev stack's egress is a NAT instance: private routes go to its network interface.
	nat := s.one(t, "aws:ec2/instance:Instance")
	natENI, ok := fakeaws.Get(nat, "outputs", "primaryNetworkInterfaceId").(string)
	require.True(t, ok, "the NAT instance has a network interface")
	assert.Equal(t, false, fakeaws.Get(nat, "inputs", "sourceDestCheck"))

	subnets := s.ofType("aws:ec2/subnet:Subnet")
	require.Len(t, subnets, 4)
	publicAZs, privateAZs := map[string]bool{}, map[string]bool{}
	var cidrs []netip.Prefix
	for _, sn := range subnets {
		assert.Equal(t, vpc["id"], fakeaws.Get(sn, "inputs", "vpcId"))
		cidr := netip.MustParsePrefix(text(t, fakeaws.Get(sn, "inputs", "cidrBlock")))
		assert.True(t, vpcCidr.Contains(cidr.Addr()) && cidr.Bits() > vpcCidr.Bits(), "%s inside %s", cidr, vpcCidr)
		for _, other := range cidrs {
			assert.False(t, cidr.Overlaps(other), "%s overlaps %s", cidr, other)
		}
		cidrs = append(cidrs, cidr)
		az := text(t, fakeaws.Get(sn, "inputs", "availabilityZone"))
		route := routeOf[tableOf[text(t, sn["id"])]]
		require.NotNil(t, route, "subnet %s has a default route", sn["id"])
		if fakeaws.Get(sn, "inputs", "mapPublicIpOnLaunch") == true {
			publicAZs[az] = true
			assert.Equal(t, igw["id"], fakeaws.Get(route, "inputs", "gatewayId"), "public subnets route to the IGW")
		} else {
			privateAZs[az] = true
			assert.Equal(t, natENI, fakeaws.Get(route, "inputs", "networkInterfaceId"), "private subnets route to the NAT instance")
		}
	}
	assert.Len(t, publicAZs, 2)
	assert.Equal(t, publicAZs, privateAZs, "a public and a private subnet in each AZ")
}

// Issue acceptance for the cluster, from the JSON plan of the dev stack.
func TestDevPlanCluster(t *testing.T) {
	res := run(t, stack(t, "dev"))
	s := exportState(t, res)
	eks := s.one(t, "aws:eks/cluster:Cluster")
	in := object(t, eks["inputs"])
	assert.Equal(t, true, fakeaws.Get(in, "vpcConfig", "endpointPrivateAccess"))
	assert.Equal(t, true, fakeaws.Get(in, "vpcConfig", "endpointPublicAccess"))
	assert.Equal(t, []string{"203.0.113.10/32"}, strs(t, fakeaws.Get(in, "vpcConfig", "publicAccessCidrs")), "public endpoint only for the admin CIDRs")
	assert.Equal(t, []string{"secrets"}, strs(t, fakeaws.Get(in, "encryptionConfig", "resources")))
	key := s.one(t, "aws:kms/key:Key")
	assert.Equal(t, fakeaws.Get(key, "outputs", "arn"), fakeaws.Get(in, "encryptionConfig", "provider", "keyArn"), "secrets are encrypted with the stack's key")
	assert.Equal(t, true, fakeaws.Get(key, "inputs", "enableKeyRotation"))
	assert.Equal(t, cluster.ControlPlaneLogTypes, strs(t, in["enabledClusterLogTypes"]))
	assert.Equal(t, "API", fakeaws.Get(in, "accessConfig", "authenticationMode"))
	assert.Equal(t, "1.35", in["version"])

	privateIDs := exportedStrings(t, res, "privateSubnetIds")
	require.Len(t, privateIDs, 2)
	assert.Equal(t, privateIDs, strs(t, fakeaws.Get(in, "vpcConfig", "subnetIds")), "control plane interfaces in the private subnets")
	ng := s.one(t, "aws:eks/nodeGroup:NodeGroup")
	assert.Equal(t, privateIDs, strs(t, fakeaws.Get(ng, "inputs", "subnetIds")), "nodes in exactly the private subnets")
	assert.Equal(t, "SPOT", fakeaws.Get(ng, "inputs", "capacityType"))
	assert.Equal(t, []string{"t3.medium", "t3a.medium"}, strs(t, fakeaws.Get(ng, "inputs", "instanceTypes")))
	assert.Equal(t, 2.0, fakeaws.Get(ng, "inputs", "scalingConfig", "desiredSize"))

	lt := s.one(t, "aws:ec2/launchTemplate:LaunchTemplate")
	assert.Equal(t, lt["id"], fakeaws.Get(ng, "inputs", "launchTemplate", "id"), "the node group uses the launch template")
	assert.Equal(t, "required", fakeaws.Get(lt, "inputs", "metadataOptions", "httpTokens"), "IMDSv2 only")
	assert.Equal(t, 1.0, fakeaws.Get(lt, "inputs", "metadataOptions", "httpPutResponseHopLimit"))
	assert.Equal(t, "true", fakeaws.Get(lt, "inputs", "blockDeviceMappings", 0, "ebs", "encrypted"))
	assert.Equal(t, "gp3", fakeaws.Get(lt, "inputs", "blockDeviceMappings", 0, "ebs", "volumeType"))
	nodeSG := named(t, res, "aws:ec2/securityGroup:SecurityGroup", "cluster-node-sg")
	assert.ElementsMatch(t, []string{text(t, fakeaws.Get(eks, "outputs", "vpcConfig", "clusterSecurityGroupId")), nodeSG.ID},
		strs(t, fakeaws.Get(lt, "inputs", "vpcSecurityGroupIds")))

	provider := s.one(t, "pulumi:providers:kubernetes")
	assert.Contains(t, strs(t, provider["dependencies"]), eks["urn"], "the Kubernetes provider depends on the cluster")
	assoc := s.one(t, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
	assert.Contains(t, strs(t, provider["dependencies"]), assoc["urn"], "and on the admin access")
	assert.Equal(t, "arn:aws:iam::123456789012:role/platform-engineer", fakeaws.Get(assoc, "inputs", "principalArn"),
		"the identity running Pulumi gets admin explicitly")
	assert.Contains(t, fakeaws.Get(assoc, "inputs", "policyArn"), "AmazonEKSClusterAdminPolicy")

	oidc := s.one(t, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
	assert.Equal(t, fakeaws.Get(eks, "outputs", "identities", 0, "oidcs", 0, "issuer"), fakeaws.Get(oidc, "inputs", "url"))
}

// Each role has exactly its policies: the cluster role the EKS cluster policy, the node role the
// worker, CNI and ECR read-only policies (Session Manager is inline, without Parameter Store).
func TestRolePolicies(t *testing.T) {
	res := run(t, stack(t, "dev"))
	roles := map[string]string{} // role name → logical name
	for _, r := range res.OfType("aws:iam/role:Role") {
		roles[text(t, r.Out("name"))] = r.Name
	}
	got := map[string][]string{}
	for _, a := range res.OfType("aws:iam/rolePolicyAttachment:RolePolicyAttachment") {
		arn := text(t, a.In("policyArn"))
		got[roles[text(t, a.In("role"))]] = append(got[roles[text(t, a.In("role"))]], arn[strings.LastIndex(arn, "/")+1:])
	}
	assert.ElementsMatch(t, cluster.ClusterRolePolicies, got["cluster-cluster-role"])
	assert.ElementsMatch(t, []string{"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"},
		got["cluster-node-role"])
	assert.Len(t, got, 2, "no other role has managed policies")
	for _, r := range res.OfType("aws:iam/role:Role") {
		assert.NotContains(t, r.In("assumeRolePolicy"), `"*"`, "%s trusts a named service only", r.Name)
	}
}

// Add-ons are pinned, and ordered around the node group: vpc-cni and kube-proxy before it,
// coredns and the Pod Identity agent, which need nodes to run on, after it.
func TestAddons(t *testing.T) {
	res := run(t, stack(t, "prod"))
	ng := one(t, res, "aws:eks/nodeGroup:NodeGroup")
	versions := map[string]string{}
	for _, a := range res.OfType("aws:eks/addon:Addon") {
		name := text(t, a.In("addonName"))
		versions[name] = text(t, a.In("addonVersion"))
		if name == cluster.AddonCoreDNS || name == cluster.AddonPodIdentity {
			assert.Contains(t, a.Dependencies, ng.URN, "%s runs on the nodes", name)
		} else {
			assert.Contains(t, ng.Dependencies, a.URN)
		}
	}
	assert.Equal(t, map[string]string{
		"coredns":                "v1.14.3-eksbuild.3",  // pinned in Pulumi.prod.yaml
		"kube-proxy":             "v1.35.3-eksbuild.13", // pinned in Pulumi.prod.yaml
		"vpc-cni":                "v1.20.1-eksbuild.3",  // AWS's default, looked up
		"eks-pod-identity-agent": "v1.3.8-eksbuild.2",   // AWS's default, looked up
	}, versions)
}

// Every resource has its component as parent, every component registers its outputs, and the
// child names start with the component's name.
func TestComponentStructure(t *testing.T) {
	for _, st := range shippedStacks(t) {
		t.Run(st.Name, func(t *testing.T) {
			res := run(t, st)
			components := map[string]*fakeaws.Resource{}
			for _, r := range res.Resources {
				if !r.Custom {
					require.True(t, strings.HasPrefix(r.Type, "outside-in:"), r.Type)
					components[r.URN] = r
				}
			}
			if strings.Contains(st.Config["outside-in:clusterMode"], "existing") {
				require.GreaterOrEqual(t, len(components), 3, "cluster, controller or environment, an app")
			} else {
				require.GreaterOrEqual(t, len(components), 6, "network, DNS, cluster, ingress, an app, the guard")
			}
			for _, r := range res.Resources {
				if !r.Custom || r.Read {
					continue // a StackReference is read at the top, as Pulumi does
				}
				parent, ok := components[r.Parent]
				require.True(t, ok, "%s %s has no component parent", r.Type, r.Name)
				assert.True(t, strings.HasPrefix(r.Name, parent.Name+"-"), "%s is named after its component %s", r.Name, parent.Name)
			}
			for _, c := range components {
				assert.Equal(t, res.Fake.StackURN(), c.Parent, "%s is a top-level layer", c.Name)
			}
			assert.Equal(t, len(components)+1, res.Fake.OutputRegistrations(),
				"every component (and the stack) registers its outputs once")
		})
	}
}

// The hosted zone and the certificate wait on nothing in the cluster, so they are built (and
// the certificate validated) while the control plane comes up.
func TestZoneAndCertificateDoNotWaitOnTheCluster(t *testing.T) {
	res := run(t, stack(t, "dev"))
	clusterURNs := map[string]bool{}
	for _, r := range res.Resources {
		if strings.Contains(r.URN, "outside-in:cluster:Cluster") {
			clusterURNs[r.URN] = true
		}
	}
	require.NotEmpty(t, clusterURNs)
	var waitsOn func(r *fakeaws.Resource, seen map[string]bool) []string
	waitsOn = func(r *fakeaws.Resource, seen map[string]bool) []string {
		var out []string
		deps := append([]string{}, r.Dependencies...)
		for _, ds := range r.PropertyDependencies {
			deps = append(deps, ds...)
		}
		for _, d := range deps {
			if seen[d] {
				continue
			}
			seen[d] = true
			out = append(out, d)
			if dep := res.ByURN(d); dep != nil {
				out = append(out, waitsOn(dep, seen)...)
			}
		}
		return out
	}
	checked := 0
	for _, typ := range []string{"aws:route53/zone:Zone", "aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation"} {
		for _, r := range res.OfType(typ) {
			checked++
			for _, d := range waitsOn(r, map[string]bool{}) {
				assert.False(t, clusterURNs[d], "%s waits on %s", r.Name, d)
			}
		}
	}
	assert.Equal(t, 3, checked)
}

// A preview (ids unknown, as before anything exists) runs the whole program without error.
func TestPreviewOfShippedStacks(t *testing.T) {
	for _, st := range shippedStacks(t) {
		t.Run(st.Name, func(t *testing.T) {
			full := run(t, st)
			preview, err := plan.Run(st, plan.Options{Preview: true, Platform: platformOf(t, st)})
			require.NoError(t, err)
			assert.Equal(t, len(full.Resources), len(preview.Resources))
			unknown := 0
			for _, r := range preview.Resources {
				if r.Custom && r.ID == "" {
					unknown++
				}
			}
			assert.Greater(t, unknown, 5, "ids are unknown in a preview")
		})
	}
}

// Every taggable AWS resource carries the Name tag and the stack's tags.
func TestTags(t *testing.T) {
	res := run(t, stack(t, "prod"))
	tagged := 0
	for _, r := range res.Resources {
		tags, ok := r.In("tags").(map[string]any)
		if !ok || !strings.HasPrefix(r.Type, "aws:") {
			continue
		}
		tagged++
		assert.NotEmpty(t, tags["Name"], "%s %s", r.Type, r.Name)
		assert.Equal(t, "prod", tags["outside-in:stack"], "%s %s", r.Type, r.Name)
		assert.Equal(t, "web-platform", tags["cost-center"], "%s %s", r.Type, r.Name)
	}
	assert.Greater(t, tagged, 40)
	untaggable := []string{"aws:ec2/route:Route", "aws:ec2/routeTableAssociation:RouteTableAssociation",
		"aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/rolePolicy:RolePolicy", "aws:route53/record:Record",
		"aws:acm/certificateValidation:CertificateValidation", "aws:autoscaling/attachment:Attachment",
		"aws:eks/accessPolicyAssociation:AccessPolicyAssociation"}
	for _, r := range res.Resources {
		if strings.HasPrefix(r.Type, "aws:") && r.In("tags") == nil {
			assert.True(t, slices.Contains(untaggable, r.Type), "%s %s has no tags", r.Type, r.Name)
		}
	}
}

// The program reads only these facts from the account, all before it registers anything (a bad
// answer then stops it with nothing created, as the bad-config table shows for AZs and zones).
func TestLookups(t *testing.T) {
	res := run(t, stack(t, "prod"))
	var tokens []string
	for _, inv := range res.Fake.Invokes() {
		tokens = append(tokens, inv.Token)
	}
	assert.ElementsMatch(t, []string{
		"aws:index/getRegion:getRegion",
		"aws:index/getPartition:getPartition",
		"aws:index/getCallerIdentity:getCallerIdentity",
		"aws:iam/getSessionContext:getSessionContext",
		"aws:index/getAvailabilityZones:getAvailabilityZones",
		"aws:route53/getZone:getZone",             // zoneMode existing
		"aws:eks/getAddonVersion:getAddonVersion", // vpc-cni is not pinned in prod
		"aws:eks/getAddonVersion:getAddonVersion", // nor is the Pod Identity agent
	}, tokens)
}
