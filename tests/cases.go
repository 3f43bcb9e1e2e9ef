// Package tests holds outside-in's whole-program tests: bad configurations, the request-path
// invariants over every shipped stack and generated ones, golden plans, and the Kubernetes
// objects checked by a real kube-apiserver. cases.go is shared with cmd/plan's tests.
package tests

// BadConfig is a change to the dev stack that the program must refuse before it registers
// anything, with a message that names the key, the value and what is allowed.
type BadConfig struct {
	Name string
	// Set overrides keys of the dev stack (without the outside-in: namespace); Unset removes some.
	Set   map[string]string
	Unset []string
	// Key and Value must appear in the message as outside-in:<Key> = "<Value>"; Want too.
	Key, Value, Want string
	// NoZone: the fake account has no hosted zone (for zoneMode existing).
	NoZone bool
}

// BadConfigs are the configurations a user can get wrong.
var BadConfigs = []BadConfig{
	{Name: "cidr not a cidr", Set: map[string]string{"vpcCidr": "10.0.0.0"}, Key: "vpcCidr", Value: "10.0.0.0", Want: "must be an IPv4 CIDR block"},
	{Name: "cidr host bits", Set: map[string]string{"vpcCidr": "10.0.0.1/16"}, Key: "vpcCidr", Value: "10.0.0.1/16", Want: "use the network address 10.0.0.0/16"},
	{Name: "cidr too large", Set: map[string]string{"vpcCidr": "10.0.0.0/8"}, Key: "vpcCidr", Value: "10.0.0.0/8", Want: "must be a /16 to /24 block"},
	{Name: "cidr ipv6", Set: map[string]string{"vpcCidr": "2001:db8::/56"}, Key: "vpcCidr", Value: "2001:db8::/56", Want: "IPv4"},
	{Name: "cidr smaller than subnets", Set: map[string]string{"vpcCidr": "10.0.0.0/22"}, Key: "privateSubnetPrefixLength", Value: "20", Want: "must be between 23 and 28"},
	{Name: "cidr too small for AZs", Set: map[string]string{"vpcCidr": "10.0.0.0/18", "azCount": "3", "privateSubnetPrefixLength": "19"},
		Key: "vpcCidr", Value: "10.0.0.0/18", Want: "is too small"},
	{Name: "one AZ", Set: map[string]string{"azCount": "1"}, Key: "azCount", Value: "1", Want: "at least 2 AZs"},
	{Name: "seven AZs", Set: map[string]string{"azCount": "7"}, Key: "azCount", Value: "7", Want: "between 2 and 6"},
	{Name: "AZ count as text", Set: map[string]string{"azCount": "two"}, Key: "azCount", Value: "two", Want: "must be a whole number"},
	{Name: "more AZs than the region", Set: map[string]string{"azCount": "4"}, Key: "azCount", Value: "4", Want: "more than the 3 AZs of eu-central-1"},
	{Name: "one AZ name", Set: map[string]string{"azNames": `["eu-central-1a"]`}, Key: "azNames", Value: "[eu-central-1a]", Want: "must name 2 to 6"},
	{Name: "AZ named twice", Set: map[string]string{"azNames": `["eu-central-1a","eu-central-1a"]`}, Key: "azNames[1]", Value: "eu-central-1a", Want: "listed twice"},
	{Name: "AZ of another region", Set: map[string]string{"azNames": `["eu-central-1a","us-east-1b"]`}, Key: "azNames[1]", Value: "us-east-1b", Want: "is not an available AZ of eu-central-1"},
	{Name: "AZ names not a list", Set: map[string]string{"azNames": "eu-central-1a"}, Key: "azNames", Value: "eu-central-1a", Want: "must be a list of strings"},
	{Name: "public subnet /29", Set: map[string]string{"publicSubnetPrefixLength": "29"}, Key: "publicSubnetPrefixLength", Value: "29", Want: "between 17 and 28"},
	{Name: "unknown NAT strategy", Set: map[string]string{"natStrategy": "Sometimes"}, Key: "natStrategy", Value: "Sometimes", Want: "must be one of None, Single, OnePerAz"},
	{Name: "NAT strategy lower case", Set: map[string]string{"natStrategy": "single"}, Key: "natStrategy", Value: "single", Want: "must be one of None, Single, OnePerAz"},
	{Name: "no NAT", Set: map[string]string{"natStrategy": "None"}, Key: "natStrategy", Value: "None", Want: "without egress"},
	{Name: "unknown flow logs", Set: map[string]string{"flowLogs": "Some"}, Key: "flowLogs", Value: "Some", Want: "must be one of None, Rejected, All"},
	{Name: "flow log retention", Set: map[string]string{"flowLogsRetentionDays": "10"}, Key: "flowLogsRetentionDays", Value: "10", Want: "CloudWatch Logs retention period"},
	{Name: "cluster mode", Set: map[string]string{"clusterMode": "k3s"}, Key: "clusterMode", Value: "k3s", Want: "must be one of eks"},
	{Name: "cluster name", Set: map[string]string{"clusterName": "-bad name"}, Key: "clusterName", Value: "-bad name", Want: "letters, digits"},
	{Name: "kubernetes version malformed", Set: map[string]string{"kubernetesVersion": "v1.35"}, Key: "kubernetesVersion", Value: "v1.35", Want: "must be a Kubernetes minor version"},
	{Name: "kubernetes version unsupported", Set: map[string]string{"kubernetesVersion": "1.20"}, Key: "kubernetesVersion", Value: "1.20", Want: "is not offered by EKS"},
	{Name: "unknown add-on", Set: map[string]string{"addonVersions": `{"cilium":"v1.16.0-eksbuild.1"}`}, Key: "addonVersions.cilium", Value: "cilium", Want: "not a managed add-on"},
	{Name: "add-on version", Set: map[string]string{"addonVersions": `{"coredns":"1.11"}`}, Key: "addonVersions.coredns", Value: "1.11", Want: "EKS add-on version"},
	{Name: "instance type malformed", Set: map[string]string{"nodeInstanceTypes": `["t3.huge"]`}, Key: "nodeInstanceTypes[0]", Value: "t3.huge", Want: "must be an EC2 instance type"},
	{Name: "instance types mixed", Set: map[string]string{"nodeInstanceTypes": `["m7g.large","m6i.large"]`}, Key: "nodeInstanceTypes", Value: "[m7g.large m6i.large]", Want: "mixes Graviton"},
	{Name: "no instance types", Set: map[string]string{"nodeInstanceTypes": `[]`}, Key: "nodeInstanceTypes", Value: "[]", Want: "at least one instance type"},
	{Name: "capacity type", Set: map[string]string{"nodeCapacityType": "spot"}, Key: "nodeCapacityType", Value: "spot", Want: "must be one of ON_DEMAND, SPOT"},
	{Name: "min above max", Set: map[string]string{"nodeMinSize": "4", "nodeMaxSize": "3", "nodeDesiredSize": "3"}, Key: "nodeMinSize", Value: "4", Want: "must not exceed nodeMaxSize (3)"},
	{Name: "desired above max", Set: map[string]string{"nodeDesiredSize": "5"}, Key: "nodeDesiredSize", Value: "5", Want: "between nodeMinSize (2) and nodeMaxSize (3)"},
	{Name: "one node", Set: map[string]string{"nodeMinSize": "1", "nodeDesiredSize": "1"}, Key: "nodeDesiredSize", Value: "1", Want: "at least 2"},
	{Name: "small disk", Set: map[string]string{"nodeDiskSizeGib": "8"}, Key: "nodeDiskSizeGib", Value: "8", Want: "between 20 and 16384"},
	{Name: "endpoint access", Set: map[string]string{"clusterEndpointAccess": "Public"}, Key: "clusterEndpointAccess", Value: "Public", Want: "must be one of PublicAndPrivate, PrivateOnly"},
	{Name: "public endpoint without CIDRs", Unset: []string{"adminCidrs"}, Key: "adminCidrs", Value: "[]", Want: "must list the CIDRs that may reach the public API endpoint"},
	{Name: "world-open endpoint", Set: map[string]string{"adminCidrs": `["0.0.0.0/0"]`}, Key: "adminCidrs[0]", Value: "0.0.0.0/0", Want: "set allowWorldOpenClusterEndpoint to true"},
	{Name: "admin CIDR malformed", Set: map[string]string{"adminCidrs": `["300.1.1.1/32"]`}, Key: "adminCidrs[0]", Value: "300.1.1.1/32", Want: "must be an IPv4 CIDR block"},
	{Name: "admin CIDRs with private endpoint", Set: map[string]string{"clusterEndpointAccess": "PrivateOnly"}, Key: "adminCidrs", Value: "[203.0.113.10/32]", Want: "has no effect with clusterEndpointAccess PrivateOnly"},
	{Name: "boolean as text", Set: map[string]string{"allowWorldOpenClusterEndpoint": "yes"}, Key: "allowWorldOpenClusterEndpoint", Value: "yes", Want: "must be true or false"},
	{Name: "admin role not a role", Set: map[string]string{"adminRoleArns": `["arn:aws:iam::123456789012:user/bob"]`}, Key: "adminRoleArns[0]", Value: "arn:aws:iam::123456789012:user/bob", Want: "must be an IAM role ARN"},
	{Name: "kubeconfig role", Set: map[string]string{"kubeconfigRoleArn": "admin"}, Key: "kubeconfigRoleArn", Value: "admin", Want: "must be an IAM role ARN"},
	{Name: "load balancer kind", Set: map[string]string{"loadBalancer": "gclb"}, Key: "loadBalancer", Value: "gclb", Want: "must be one of alb, nlb, classic"},
	{Name: "deletion protection as text", Set: map[string]string{"loadBalancerDeletionProtection": "maybe"}, Key: "loadBalancerDeletionProtection", Value: "maybe", Want: "must be true or false"},
	{Name: "no allowed CIDRs", Set: map[string]string{"allowedCidrs": `[]`}, Key: "allowedCidrs", Value: "[]", Want: "must list the client CIDRs"},
	{Name: "allowed CIDR malformed", Set: map[string]string{"allowedCidrs": `["10.0.0.0/33"]`}, Key: "allowedCidrs[0]", Value: "10.0.0.0/33", Want: "must be an IPv4 CIDR block"},
	{Name: "node port outside range", Set: map[string]string{"httpNodePort": "80"}, Key: "httpNodePort", Value: "80", Want: "between 30000 and 32767"},
	{Name: "node ports collide", Set: map[string]string{"httpsNodePort": "30080"}, Key: "httpsNodePort", Value: "30080", Want: "collides with httpNodePort"},
	{Name: "health check port collides", Set: map[string]string{"healthCheckNodePort": "30443"}, Key: "healthCheckNodePort", Value: "30443", Want: "collides with httpsNodePort"},
	{Name: "node port as text", Set: map[string]string{"healthCheckNodePort": "abc"}, Key: "healthCheckNodePort", Value: "abc", Want: "must be a whole number"},
	{Name: "one ingress replica", Set: map[string]string{"ingressReplicas": "1"}, Key: "ingressReplicas", Value: "1", Want: "between 2 and 20"},
	{Name: "apps duplicate names", Set: map[string]string{"apps": `[{"name":"web","host":"a.dev.outside-in.example.com"},{"name":"web","host":"b.dev.outside-in.example.com"}]`},
		Key: "apps[1].name", Value: "web", Want: "app names must be unique"},
	{Name: "apps duplicate hosts", Set: map[string]string{"apps": `[{"name":"a","host":"www.dev.outside-in.example.com"},{"name":"b","host":"www.dev.outside-in.example.com"}]`},
		Key: "apps[1].host", Value: "www.dev.outside-in.example.com", Want: "each hostname routes to one app"},
	{Name: "app host outside domain", Set: map[string]string{"apps": `[{"name":"web","host":"www.example.org"}]`}, Key: "apps[0].host", Value: "www.example.org", Want: "is outside the domain dev.outside-in.example.com"},
	{Name: "app host malformed", Set: map[string]string{"apps": `[{"name":"web","host":"web_1.dev.outside-in.example.com"}]`}, Key: "apps[0].host", Value: "web_1.dev.outside-in.example.com", Want: "lower-case DNS name"},
	{Name: "app no replicas", Set: map[string]string{"apps": `[{"name":"web","host":"web.dev.outside-in.example.com","replicas":0}]`}, Key: "apps[0].replicas", Value: "0", Want: "between 2 and 50"},
	{Name: "app one replica", Set: map[string]string{"apps": `[{"name":"web","host":"web.dev.outside-in.example.com","replicas":1}]`}, Key: "apps[0].replicas", Value: "1", Want: "between 2 and 50"},
	{Name: "app privileged port", Set: map[string]string{"apps": `[{"name":"web","host":"web.dev.outside-in.example.com","port":80}]`}, Key: "apps[0].port", Value: "80", Want: "unprivileged ports"},
	{Name: "app health path", Set: map[string]string{"apps": `[{"name":"web","host":"web.dev.outside-in.example.com","healthPath":"index.html"}]`}, Key: "apps[0].healthPath", Value: "index.html", Want: "starting with /"},
	{Name: "app image without tag", Set: map[string]string{"apps": `[{"name":"web","host":"web.dev.outside-in.example.com","image":"httpd"}]`}, Key: "apps[0].image", Value: "httpd", Want: "must pin a version"},
	{Name: "app image latest", Set: map[string]string{"apps": `[{"name":"web","host":"web.dev.outside-in.example.com","image":"httpd:latest"}]`}, Key: "apps[0].image", Value: "httpd:latest", Want: ":latest changes"},
	{Name: "app name upper case", Set: map[string]string{"apps": `[{"name":"Web","host":"web.dev.outside-in.example.com"}]`}, Key: "apps[0].name", Value: "Web", Want: "lower-case DNS label"},
	{Name: "app name reserved", Set: map[string]string{"apps": `[{"name":"kube-system","host":"web.dev.outside-in.example.com"}]`}, Key: "apps[0].name", Value: "kube-system", Want: "is reserved"},
	{Name: "app unknown field", Set: map[string]string{"apps": `[{"nmae":"web","host":"web.dev.outside-in.example.com"}]`}, Key: "apps", Value: `[{"nmae":"web","host":"web.dev.outside-in.example.com"}]`, Want: "with only those fields"},
	{Name: "app replicas as text", Set: map[string]string{"apps": `[{"name":"web","host":"web.dev.outside-in.example.com","replicas":"two"}]`}, Key: "apps", Value: `[{"name":"web","host":"web.dev.outside-in.example.com","replicas":"two"}]`, Want: "field replicas must be a"},
	{Name: "no domain", Unset: []string{"domain"}, Key: "domain", Value: "", Want: "is required"},
	{Name: "domain upper case", Set: map[string]string{"domain": "Example.COM"}, Key: "domain", Value: "Example.COM", Want: "lower-case DNS name"},
	{Name: "zone mode", Set: map[string]string{"zoneMode": "import"}, Key: "zoneMode", Value: "import", Want: "must be one of create, existing, none"},
	{Name: "TLS without zone", Set: map[string]string{"zoneMode": "none"}, Key: "tls", Value: "true", Want: "needs a Route 53 zone"},
	{Name: "existing zone missing", Set: map[string]string{"zoneMode": "existing"}, NoZone: true, Key: "domain", Value: "dev.outside-in.example.com", Want: "has no public hosted zone"},
	{Name: "tag Name", Set: map[string]string{"tags": `{"Name":"x"}`}, Key: "tags.Name", Value: "x", Want: "set by the program"},
	{Name: "tag aws prefix", Set: map[string]string{"tags": `{"aws:owner":"x"}`}, Key: "tags.aws:owner", Value: "x", Want: "reserves"},
	{Name: "tags not a map", Set: map[string]string{"tags": `["a"]`}, Key: "tags", Value: `["a"]`, Want: "must be a map of strings"},
	{Name: "unknown key", Set: map[string]string{"natStrategyy": "Single"}, Key: "natStrategyy", Value: "Single", Want: "did you mean natStrategy?"},
}
