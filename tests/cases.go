// Package tests holds outside-in's whole-program tests: bad configurations, the request-path
// invariants over every shipped stack and generated ones, golden plans, and the Kubernetes
// objects checked by a real kube-apiserver. cases.go is shared with cmd/plan's tests.
package tests

import "fmt"

// BadConfig is a change to the dev stack that the program must refuse before it registers
// anything, with a message that names the key, the value and what is allowed.
type BadConfig struct {
	Name string
	// Set overrides keys of the dev stack (without the outside-in: namespace); Unset removes some.
	Set   map[string]string
	Unset []string
	// SetOther overrides keys of other namespaces, with their namespace ("aws:region").
	SetOther map[string]string
	// Key and Value must appear in the message as <Namespace>:<Key> = "<Value>"; Want too.
	Key, Value, Want string
	// Namespace of Key; empty means outside-in.
	Namespace string
	// NoZone: the fake account has no hosted zone (for zoneMode existing).
	NoZone bool
	// PulumiType is the declared type the value does not have: Pulumi's own loader refuses a
	// stack file holding it before the program runs ("must be of type '<PulumiType>'").
	PulumiType string
}

// Message is how the problem reads in the error.
func (c BadConfig) Message() string {
	ns := c.Namespace
	if ns == "" {
		ns = "outside-in"
	}
	return ns + ":" + c.Key + " = " + quote(c.Value)
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

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
	{Name: "AZ count as text", Set: map[string]string{"azCount": "two"}, Key: "azCount", Value: "two", Want: "must be a whole number", PulumiType: "integer"},
	{Name: "more AZs than the region", Set: map[string]string{"azCount": "4"}, Key: "azCount", Value: "4", Want: "more than the 3 AZs of eu-central-1"},
	{Name: "one AZ name", Set: map[string]string{"azNames": `["eu-central-1a"]`}, Key: "azNames", Value: `["eu-central-1a"]`, Want: "must name 2 to 6"},
	{Name: "AZ count and names disagree", Set: map[string]string{"azCount": "3", "azNames": `["eu-central-1a","eu-central-1b"]`}, Key: "azCount", Value: "3", Want: "but azNames lists 2"},
	{Name: "AZ named twice", Set: map[string]string{"azNames": `["eu-central-1a","eu-central-1a"]`}, Key: "azNames[1]", Value: "eu-central-1a", Want: "listed twice"},
	{Name: "AZ of another region", Set: map[string]string{"azNames": `["eu-central-1a","us-east-1b"]`}, Key: "azNames[1]", Value: "us-east-1b", Want: "is not an available AZ of eu-central-1"},
	{Name: "AZ names not a list", Set: map[string]string{"azNames": "eu-central-1a"}, Key: "azNames", Value: "eu-central-1a", Want: "must be a list of strings", PulumiType: "array<string>"},
	{Name: "public subnet /29", Set: map[string]string{"publicSubnetPrefixLength": "29"}, Key: "publicSubnetPrefixLength", Value: "29", Want: "between 17 and 28"},
	{Name: "unknown NAT strategy", Set: map[string]string{"natStrategy": "Sometimes"}, Key: "natStrategy", Value: "Sometimes", Want: "must be one of Instance, Single, OnePerAz"},
	{Name: "NAT strategy lower case", Set: map[string]string{"natStrategy": "single"}, Key: "natStrategy", Value: "single", Want: "must be one of Instance, Single, OnePerAz"},
	{Name: "no NAT", Set: map[string]string{"natStrategy": "None"}, Key: "natStrategy", Value: "None", Want: "without egress"},
	{Name: "unknown flow logs", Set: map[string]string{"flowLogs": "Some"}, Key: "flowLogs", Value: "Some", Want: "must be one of None, Rejected, All"},
	{Name: "flow log retention", Set: map[string]string{"flowLogsRetentionDays": "10"}, Key: "flowLogsRetentionDays", Value: "10", Want: "CloudWatch Logs retention period"},
	{Name: "cluster mode", Set: map[string]string{"clusterMode": "k8s"}, Key: "clusterMode", Value: "k8s", Want: "must be one of eks, k3s, existing"},
	{Name: "cluster name", Set: map[string]string{"clusterName": "-bad name"}, Key: "clusterName", Value: "-bad name", Want: "letters, digits"},
	{Name: "kubernetes version malformed", Set: map[string]string{"kubernetesVersion": "v1.35"}, Key: "kubernetesVersion", Value: "v1.35", Want: "must be a Kubernetes minor version"},
	{Name: "kubernetes version unsupported", Set: map[string]string{"kubernetesVersion": "1.20"}, Key: "kubernetesVersion", Value: "1.20", Want: "is not offered by EKS"},
	{Name: "unknown add-on", Set: map[string]string{"addonVersions": `{"cilium":"v1.16.0-eksbuild.1"}`}, Key: "addonVersions.cilium", Value: "cilium", Want: "not a managed add-on"},
	{Name: "add-on version", Set: map[string]string{"addonVersions": `{"coredns":"1.11"}`}, Key: "addonVersions.coredns", Value: "1.11", Want: "EKS add-on version"},
	{Name: "instance type malformed", Set: map[string]string{"nodeInstanceTypes": `["t3.huge"]`}, Key: "nodeInstanceTypes[0]", Value: "t3.huge", Want: "is not an EC2 instance type in current use"},
	{Name: "instance type unknown", Set: map[string]string{"nodeInstanceTypes": `["m9z.large"]`}, Key: "nodeInstanceTypes[0]", Value: "m9z.large", Want: "is not an EC2 instance type in current use"},
	{Name: "instance type misspelt", Set: map[string]string{"nodeInstanceTypes": `["m7h.large"]`}, Key: "nodeInstanceTypes[0]", Value: "m7h.large", Want: "did you mean m7a.large?"},
	{Name: "instance types mixed", Set: map[string]string{"nodeInstanceTypes": `["m7g.large","m6i.large"]`}, Key: "nodeInstanceTypes", Value: `["m7g.large","m6i.large"]`, Want: "mixes Graviton"},
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
	{Name: "admin CIDRs with private endpoint", Set: map[string]string{"clusterEndpointAccess": "PrivateOnly"}, Key: "adminCidrs", Value: `["203.0.113.10/32"]`, Want: "has no effect with clusterEndpointAccess PrivateOnly"},
	{Name: "boolean as text", Set: map[string]string{"allowWorldOpenClusterEndpoint": "yes"}, Key: "allowWorldOpenClusterEndpoint", Value: "yes", Want: "must be true or false", PulumiType: "boolean"},
	{Name: "view role not a role", Set: map[string]string{"viewRoleArns": `["readonly"]`}, Key: "viewRoleArns[0]", Value: "readonly", Want: "must be an IAM role ARN"},
	{Name: "view role also admin", Set: map[string]string{"adminRoleArns": `["arn:aws:iam::123456789012:role/ci"]`, "viewRoleArns": `["arn:aws:iam::123456789012:role/ci"]`},
		Key: "viewRoleArns[0]", Value: "arn:aws:iam::123456789012:role/ci", Want: "is in adminRoleArns too"},
	{Name: "view role a pull request can assume", Set: map[string]string{"viewRoleArns": `["arn:aws:iam::123456789012:role/outside-in-platform-ci-environments"]`},
		Key: "viewRoleArns[0]", Value: "arn:aws:iam::123456789012:role/outside-in-platform-ci-environments", Want: "which a pull request's jobs can assume"},
	{Name: "admin role a pull request can assume", Set: map[string]string{"adminRoleArns": `["arn:aws:iam::123456789012:role/outside-in-platform-ci-environments"]`},
		Key: "adminRoleArns[0]", Value: "arn:aws:iam::123456789012:role/outside-in-platform-ci-environments", Want: "which a pull request's jobs can assume"},
	{Name: "admin role not a role", Set: map[string]string{"adminRoleArns": `["arn:aws:iam::123456789012:user/bob"]`}, Key: "adminRoleArns[0]", Value: "arn:aws:iam::123456789012:user/bob", Want: "must be an IAM role ARN"},
	{Name: "kubeconfig role", Set: map[string]string{"kubeconfigRoleArn": "admin"}, Key: "kubeconfigRoleArn", Value: "admin", Want: "must be an IAM role ARN"},
	{Name: "load balancer kind", Set: map[string]string{"loadBalancer": "gclb"}, Key: "loadBalancer", Value: "gclb", Want: "must be one of alb, nlb, classic"},
	{Name: "deletion protection as text", Set: map[string]string{"loadBalancerDeletionProtection": "maybe"}, Key: "loadBalancerDeletionProtection", Value: "maybe", Want: "must be true or false", PulumiType: "boolean"},
	{Name: "no allowed CIDRs", Set: map[string]string{"allowedCidrs": `[]`}, Key: "allowedCidrs", Value: "[]", Want: "must list the client CIDRs"},
	{Name: "allowed CIDR malformed", Set: map[string]string{"allowedCidrs": `["10.0.0.0/33"]`}, Key: "allowedCidrs[0]", Value: "10.0.0.0/33", Want: "must be an IPv4 CIDR block"},
	{Name: "node port outside range", Set: map[string]string{"httpNodePort": "80"}, Key: "httpNodePort", Value: "80", Want: "between 30000 and 32767"},
	{Name: "node ports collide", Set: map[string]string{"httpsNodePort": "30080"}, Key: "httpsNodePort", Value: "30080", Want: "collides with httpNodePort"},
	{Name: "health check port collides", Set: map[string]string{"healthCheckNodePort": "30443"}, Key: "healthCheckNodePort", Value: "30443", Want: "collides with httpsNodePort"},
	{Name: "node port as text", Set: map[string]string{"healthCheckNodePort": "abc"}, Key: "healthCheckNodePort", Value: "abc", Want: "must be a whole number", PulumiType: "integer"},
	{Name: "one ingress replica", Set: map[string]string{"ingressReplicas": "1"}, Key: "ingressReplicas", Value: "1", Want: "between 2 and 20"},
	{Name: "routing unknown", Set: map[string]string{"routing": "nginx"}, Key: "routing", Value: "nginx", Want: "must be one of ingress, gateway"},
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
	{Name: "app unknown field", Set: map[string]string{"apps": `[{"host":"web.dev.outside-in.example.com","nmae":"web"}]`}, Key: "apps", Value: `[{"host":"web.dev.outside-in.example.com","nmae":"web"}]`, Want: "with only those fields"},
	{Name: "app replicas as text", Set: map[string]string{"apps": `[{"host":"web.dev.outside-in.example.com","name":"web","replicas":"two"}]`}, Key: "apps", Value: `[{"host":"web.dev.outside-in.example.com","name":"web","replicas":"two"}]`, Want: "field replicas must be a whole number"},
	{Name: "app replicas a fraction", Set: map[string]string{"apps": `[{"name":"web","replicas":2.5}]`}, Key: "apps", Value: `[{"name":"web","replicas":2.5}]`, Want: "field replicas must be a whole number"},
	{Name: "app field misspelt", Set: map[string]string{"apps": `[{"nmae":"web"}]`}, Key: "apps", Value: `[{"nmae":"web"}]`, Want: "(unknown field nmae)"},
	{Name: "no domain", Unset: []string{"domain"}, Key: "domain", Value: "", Want: "is required"},
	{Name: "domain upper case", Set: map[string]string{"domain": "Example.COM"}, Key: "domain", Value: "Example.COM", Want: "lower-case DNS name"},
	{Name: "zone mode", Set: map[string]string{"zoneMode": "import"}, Key: "zoneMode", Value: "import", Want: "must be one of create, existing, none"},
	{Name: "TLS without zone", Set: map[string]string{"zoneMode": "none"}, Key: "tls", Value: "true", Want: "needs a Route 53 zone"},
	{Name: "existing zone missing", Set: map[string]string{"zoneMode": "existing"}, NoZone: true, Key: "domain", Value: "dev.outside-in.example.com", Want: "has no public hosted zone"},
	{Name: "tag Name", Set: map[string]string{"tags": `{"Name":"x"}`}, Key: "tags.Name", Value: "x", Want: "set by the program"},
	{Name: "tag aws prefix", Set: map[string]string{"tags": `{"aws:owner":"x"}`}, Key: "tags.aws:owner", Value: "x", Want: "reserves"},
	{Name: "tags not a map", Set: map[string]string{"tags": `["a"]`}, Key: "tags", Value: `["a"]`, Want: "must be a map of strings", PulumiType: "object"},
	{Name: "unknown key", Set: map[string]string{"natStrategyy": "Single"}, Key: "natStrategyy", Value: "Single", Want: "did you mean natStrategy?"},
	{Name: "no apps", Set: map[string]string{"apps": `[]`}, Key: "apps", Value: "[]", Want: "must list at least one app"},
	{Name: "aws key misspelt", SetOther: map[string]string{"aws:regoin": "eu-west-1"}, Namespace: "aws", Key: "regoin", Value: "eu-west-1", Want: "did you mean aws:region?"},
	{Name: "aws region unknown", SetOther: map[string]string{"aws:region": "eu-centrel-1"}, Namespace: "aws", Key: "region", Value: "eu-centrel-1", Want: "did you mean eu-central-1?"},

	// k3s mode
	{Name: "k3s servers even", Set: map[string]string{"clusterMode": "k3s", "k3sServers": "2"}, Key: "k3sServers", Value: "2", Want: "must be 1 (one server, sqlite) or 3"},
	{Name: "k3s version unknown", Set: map[string]string{"clusterMode": "k3s", "k3sVersion": "v1.99.0+k3s1"}, Key: "k3sVersion", Value: "v1.99.0+k3s1", Want: "is not a k3s release the program has checksums for"},
	{Name: "k3s kubernetes version", Set: map[string]string{"clusterMode": "k3s", "kubernetesVersion": "1.35"}, Key: "kubernetesVersion", Value: "1.35", Want: "does not match k3sVersion v1.34.3+k3s1"},
	{Name: "k3s server too small", Set: map[string]string{"clusterMode": "k3s", "k3sServerInstanceType": "t4g.micro"}, Key: "k3sServerInstanceType", Value: "t4g.micro", Want: "a k3s server needs at least 2 GiB"},
	{Name: "eks key in k3s mode", Set: map[string]string{"clusterMode": "k3s", "adminRoleArns": `["arn:aws:iam::123456789012:role/admin"]`}, Key: "adminRoleArns", Value: `["arn:aws:iam::123456789012:role/admin"]`, Want: "applies only to clusterMode eks"},
	{Name: "k3s key in eks mode", Set: map[string]string{"k3sVersion": "v1.34.3+k3s1"}, Key: "k3sVersion", Value: "v1.34.3+k3s1", Want: "applies only to clusterMode k3s"},

	// existing mode, platforms and environments
	{Name: "existing without a cluster", Set: map[string]string{"clusterMode": "existing"}, Unset: []string{"adminCidrs", "natStrategy", "nodeInstanceTypes", "nodeCapacityType", "nodeMinSize", "nodeDesiredSize", "nodeMaxSize", "azCount", "loadBalancerDeletionProtection"}, Key: "clusterMode", Value: "existing", Want: "needs platformStack"},
	{Name: "platform stack malformed", Set: map[string]string{"clusterMode": "existing", "platformStack": "platform"}, Unset: []string{"adminCidrs", "natStrategy", "nodeInstanceTypes", "nodeCapacityType", "nodeMinSize", "nodeDesiredSize", "nodeMaxSize", "azCount", "loadBalancerDeletionProtection", "domain"}, Key: "platformStack", Value: "platform", Want: "<organization>/<project>/<stack>"},
	{Name: "hyphenated app in an environment", Set: map[string]string{"clusterMode": "existing", "platformStack": "organization/outside-in/platform", "apps": `[{"name":"web-pr"}]`},
		Unset: []string{"adminCidrs", "natStrategy", "nodeInstanceTypes", "nodeCapacityType", "nodeMinSize", "nodeDesiredSize", "nodeMaxSize", "azCount", "loadBalancerDeletionProtection", "domain"},
		Key:   "apps[0].name", Value: "web-pr", Want: "has a '-', which an app of an environment may not"},
	{Name: "routing in an environment", Set: map[string]string{"clusterMode": "existing", "platformStack": "organization/outside-in/platform", "routing": "gateway"},
		Unset: []string{"adminCidrs", "natStrategy", "nodeInstanceTypes", "nodeCapacityType", "nodeMinSize", "nodeDesiredSize", "nodeMaxSize", "azCount", "loadBalancerDeletionProtection", "domain"},
		Key:   "routing", Value: "gateway", Want: "is the platform's: an environment routes its apps the way its platform publishes"},
	{Name: "Gateway API in an environment", Set: map[string]string{"clusterMode": "existing", "platformStack": "organization/outside-in/platform", "gatewayApi": "true"},
		Unset: []string{"adminCidrs", "natStrategy", "nodeInstanceTypes", "nodeCapacityType", "nodeMinSize", "nodeDesiredSize", "nodeMaxSize", "azCount", "loadBalancerDeletionProtection", "domain"},
		Key:   "gatewayApi", Value: "true", Want: "is the platform's"},
	{Name: "AWS key in an environment", Set: map[string]string{"clusterMode": "existing", "platformStack": "organization/outside-in/platform"}, Unset: []string{"natStrategy", "nodeInstanceTypes", "nodeCapacityType", "nodeMinSize", "nodeDesiredSize", "nodeMaxSize", "azCount", "loadBalancerDeletionProtection", "domain"}, Key: "adminCidrs", Value: `["203.0.113.10/32"]`, Want: "applies only to clusterMode eks or k3s"},
	{Name: "kubeconfig not a kubeconfig", Set: map[string]string{"clusterMode": "existing", "kubeconfig": "hello", "zoneMode": "create"}, Unset: []string{"adminCidrs", "natStrategy", "nodeInstanceTypes", "nodeCapacityType", "nodeMinSize", "nodeDesiredSize", "nodeMaxSize", "azCount", "loadBalancerDeletionProtection"}, Key: "kubeconfig", Value: "(secret)", Want: "is not a kubeconfig"},
	{Name: "env domain outside the zone", Set: map[string]string{"envDomain": "env.example.org"}, Key: "envDomain", Value: "env.example.org", Want: "is outside the domain dev.outside-in.example.com"},
	{Name: "env domain on classic", Set: map[string]string{"envDomain": "env.dev.outside-in.example.com", "loadBalancer": "classic"}, Key: "envDomain", Value: "env.dev.outside-in.example.com", Want: "classic ELB cannot carry"},
	{Name: "github repository malformed", Set: map[string]string{"envDomain": "env.dev.outside-in.example.com", "githubOidc": `{"repository":"outside-in"}`}, Key: "githubOidc.repository", Value: "outside-in", Want: "owner/name"},
	{Name: "expiry not a time", Set: map[string]string{"expiresAt": "tomorrow"}, Key: "expiresAt", Value: "tomorrow", Want: "RFC 3339"},
	{Name: "owner not a label", Set: map[string]string{"owner": "alice smith"}, Key: "owner", Value: "alice smith", Want: "at most 63 letters"},
	{Name: "classic with more than ten TLS hosts", Set: map[string]string{"loadBalancer": "classic", "apps": elevenApps}, Key: "apps", Value: "11", Want: "one ACM certificate holds"},
}

// elevenApps are one more than one certificate holds.
var elevenApps = func() string {
	out := "["
	for i := 0; i < 11; i++ {
		if i > 0 {
			out += ","
		}
		out += fmt.Sprintf(`{"name":"app%d"}`, i)
	}
	return out + "]"
}()
