package program

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/dns"
	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/envname"
	"github.com/outside-in/outside-in/internal/naming"
	"github.com/outside-in/outside-in/network"
)

// Limits the validation enforces, with the reason for each.
const (
	// minAZs: an ALB or NLB needs subnets in two AZs, and so does an EKS control plane.
	minAZs = 2
	// maxAZs: no AWS region has more than six AZs.
	maxAZs = 6

	minNodePort = 30000
	maxNodePort = 32767

	// minReplicas: each workload on the request path runs in two zones so one can fail.
	minReplicas = 2
	maxReplicas = 50
	maxApps     = 20
)

var (
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	appName      = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$`)
	clusterName  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)
	roleArn      = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::\d{12}:role/[\w+=,.@/-]{1,512}$`)
	imageRef     = regexp.MustCompile(`^[a-z0-9]+([._/:-][a-z0-9]+)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)
	profileName  = regexp.MustCompile(`^[\w.+@-]{1,64}$`)
	healthPath   = regexp.MustCompile(`^/[\w./~%-]*$`)
	azName       = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d[a-z]$`)
	addonVersion = regexp.MustCompile(`^v\d+\.\d+\.\d+-eksbuild\.\d+$`)
	k8sVersion   = regexp.MustCompile(`^1\.\d{1,2}$`)
	// githubRepo is a repository as the sub claim of its tokens names it: owner/name, or with
	// immutable subject claims owner@<owner id>/name@<repository id> (`@` is in no GitHub
	// account or repository name, so the two cannot be confused).
	githubRepo          = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)
	githubImmutableRepo = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})@[1-9][0-9]{0,19}/[A-Za-z0-9._-]{1,100}@[1-9][0-9]{0,19}$`)
	// githubEnvironment: GitHub allows most characters; the program puts the name in an IAM
	// condition, so it takes the safe ones.
	githubEnvironment = regexp.MustCompile(`^[A-Za-z0-9 ._-]{1,255}$`)
	stackReference    = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	ownerName         = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._@-]{0,61}[A-Za-z0-9])?(\[bot\])?$`)
	oidcProviderArn   = regexp.MustCompile(`^arn:aws(-cn|-us-gov)?:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$`)
	bucketName        = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

// Retention periods CloudWatch Logs accepts, in days.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// Namespaces an app may not take: Kubernetes' own and the ingress controller's.
var reservedNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease", IngressNamespace}

// validate checks the whole configuration and returns every problem, each naming the key, the
// value and what is allowed. It is pure: it registers nothing and calls nothing remote.
func (c Config) validate() []Problem {
	v := &validator{}
	v.oneOf(KeyClusterMode, c.ClusterMode, ClusterModeEKS, ClusterModeK3s, ClusterModeExisting)
	switch c.ClusterMode {
	case ClusterModeEKS, ClusterModeK3s:
		c.validateNetwork(v)
		c.validateCluster(v)
		c.validateIngress(v)
		c.validateDNS(v)
		c.validatePlatform(v)
		c.validateTags(v)
	case ClusterModeExisting:
		c.validateExisting(v)
	}
	c.validateApps(v)
	c.validateLifecycle(v)
	c.validatePullRequestName(v)
	return v.problems
}

// validatePullRequestName keeps stacks named like a pull request's (pr-*) to environments:
// pull requests' jobs may read and write those stacks' state (guardrails.EnvironmentStatePolicy),
// so a full stack there would hand them its keys and let them forge what its next update
// deletes.
func (c Config) validatePullRequestName(v *validator) {
	leaf := c.Stack[strings.LastIndex(c.Stack, "/")+1:]
	if strings.HasPrefix(leaf, envname.PullRequestPrefix) && !c.Environment() {
		v.add(KeyClusterMode, c.ClusterMode, "cannot be used by stack %q: a stack named %s* is a pull request's environment, whose state pull requests may read and write; "+
			"name this stack otherwise, or make it an environment (clusterMode existing with platformStack)", c.Stack, envname.PullRequestPrefix)
	}
}

type validator struct{ problems []Problem }

func (v *validator) add(key string, value any, want string, args ...any) {
	v.problems = append(v.problems, Problem{Key: key, Value: asWritten(value), Want: fmt.Sprintf(want, args...)})
}

// asWritten renders a value as a stack file holds it: lists and maps as JSON, never in Go syntax.
func asWritten(value any) string {
	switch value.(type) {
	case []string, map[string]string, []App, GithubOidc:
		b, err := json.Marshal(value)
		if err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(value)
}

func (v *validator) oneOf(key, value string, allowed ...string) {
	if !slices.Contains(allowed, value) {
		v.add(key, value, "must be one of %s", strings.Join(allowed, ", "))
	}
}

func (v *validator) intRange(key string, value, lo, hi int, why string) {
	if value < lo || value > hi {
		v.add(key, value, "must be between %d and %d%s", lo, hi, why)
	}
}

func (c Config) validateNetwork(v *validator) {
	vpc, err := netip.ParsePrefix(c.VpcCidr)
	switch {
	case err != nil || !vpc.Addr().Is4():
		v.add(KeyVpcCidr, c.VpcCidr, "must be an IPv4 CIDR block such as 10.0.0.0/16")
	case vpc.Masked() != vpc:
		v.add(KeyVpcCidr, c.VpcCidr, "has host bits set; use the network address %s", vpc.Masked())
	case vpc.Bits() < network.MinVpcPrefixLength || vpc.Bits() > network.MaxVpcPrefixLength:
		v.add(KeyVpcCidr, c.VpcCidr, "must be a /%d to /%d block (AWS VPC limits; smaller cannot hold the nodes and pods of two AZs)",
			network.MinVpcPrefixLength, network.MaxVpcPrefixLength)
	}

	v.intRange(KeyAzCount, c.AzCount, minAZs, maxAZs, " (the load balancer and EKS need subnets in at least 2 AZs)")
	if len(c.AzNames) > 0 {
		if len(c.AzNames) < minAZs || len(c.AzNames) > maxAZs {
			v.add(KeyAzNames, c.AzNames, "must name %d to %d availability zones", minAZs, maxAZs)
		}
		for i, az := range c.AzNames {
			if !azName.MatchString(az) {
				v.add(fmt.Sprintf("%s[%d]", KeyAzNames, i), az, "must be an availability zone name such as eu-central-1a")
			} else if slices.Index(c.AzNames, az) != i {
				v.add(fmt.Sprintf("%s[%d]", KeyAzNames, i), az, "is listed twice; each AZ may appear once")
			}
		}
	}

	for _, k := range []struct {
		key  string
		bits int
	}{{KeyPublicSubnetPrefixLength, c.PublicSubnetPrefixLength}, {KeyPrivateSubnetPrefixLength, c.PrivateSubnetPrefixLength}} {
		lo := network.MinVpcPrefixLength + 1
		if err == nil {
			lo = vpc.Bits() + 1
		}
		v.intRange(k.key, k.bits, lo, network.MaxSubnetPrefixLength, " (longer than the VPC's prefix, and AWS's smallest subnet is a /28)")
	}
	if len(v.problems) == 0 {
		layout := network.SubnetLayout{PublicPrefixLength: c.PublicSubnetPrefixLength, PrivatePrefixLength: c.PrivateSubnetPrefixLength}
		var capErr *network.CapacityError
		if _, err := network.PlanSubnets(vpc, make([]string, c.AzCount), layout); errors.As(err, &capErr) {
			v.add(KeyVpcCidr, c.VpcCidr, "is too small: %s; use a larger block or longer %s/%s",
				capErr, KeyPrivateSubnetPrefixLength, KeyPublicSubnetPrefixLength)
		}
	}

	if !c.NatStrategy.Valid() {
		v.add(KeyNatStrategy, c.NatStrategy, "must be one of Instance, Single, OnePerAz")
	} else if c.NatStrategy == network.NatNone {
		v.add(KeyNatStrategy, c.NatStrategy, "leaves the private nodes without egress to pull images and join the cluster; use Instance (cheapest), Single or OnePerAz (zone-redundant)")
	}
	if !c.FlowLogs.Valid() {
		v.add(KeyFlowLogs, c.FlowLogs, "must be one of None, Rejected, All")
	}
	if !slices.Contains(logRetentionDays, c.FlowLogsRetentionDays) {
		v.add(KeyFlowLogsRetentionDays, c.FlowLogsRetentionDays, "must be a CloudWatch Logs retention period: %s", joinInts(logRetentionDays))
	}
}

func (c Config) validateCluster(v *validator) {
	if !clusterName.MatchString(c.ClusterName) {
		v.add(KeyClusterName, c.ClusterName, "must be 1-100 letters, digits, - or _, starting with a letter or digit")
	}
	if c.ClusterMode == ClusterModeEKS {
		c.validateEKS(v)
	} else {
		c.validateK3s(v)
	}

	if len(c.NodeInstanceTypes) == 0 {
		v.add(KeyNodeInstanceTypes, "[]", "must list at least one instance type, e.g. [\"t3.large\"]")
	}
	arch := map[cluster.Arch]bool{}
	for i, t := range c.NodeInstanceTypes {
		a, err := cluster.InstanceArch(t)
		if err != nil {
			v.add(fmt.Sprintf("%s[%d]", KeyNodeInstanceTypes, i), t, "%v", err)
			continue
		}
		arch[a] = true
		if slices.Index(c.NodeInstanceTypes, t) != i {
			v.add(fmt.Sprintf("%s[%d]", KeyNodeInstanceTypes, i), t, "is listed twice")
		}
	}
	if len(arch) > 1 {
		v.add(KeyNodeInstanceTypes, c.NodeInstanceTypes, "mixes Graviton (arm64) and x86_64 types; one node group runs one AMI architecture")
	}
	v.oneOf(KeyNodeCapacityType, c.NodeCapacityType, CapacityOnDemand, CapacitySpot)
	v.intRange(KeyNodeMinSize, c.NodeMinSize, 1, 450, "")
	v.intRange(KeyNodeMaxSize, c.NodeMaxSize, 1, 450, "")
	if c.NodeMinSize > c.NodeMaxSize {
		v.add(KeyNodeMinSize, c.NodeMinSize, "must not exceed nodeMaxSize (%d)", c.NodeMaxSize)
	}
	if c.NodeDesiredSize < c.NodeMinSize || c.NodeDesiredSize > c.NodeMaxSize {
		v.add(KeyNodeDesiredSize, c.NodeDesiredSize, "must be between nodeMinSize (%d) and nodeMaxSize (%d)", c.NodeMinSize, c.NodeMaxSize)
	} else if c.NodeDesiredSize < minReplicas {
		v.add(KeyNodeDesiredSize, c.NodeDesiredSize, "must be at least %d so the ingress controller and each app run on two nodes", minReplicas)
	}
	v.intRange(KeyNodeDiskSizeGib, c.NodeDiskSizeGib, 20, 16384, " GiB (the node image needs 20)")

	v.oneOf(KeyClusterEndpointAccess, c.ClusterEndpointAccess, EndpointPublicAndPrivate, EndpointPrivateOnly)
	switch {
	case c.ClusterEndpointAccess == EndpointPublicAndPrivate && len(c.AdminCidrs) == 0:
		v.add(KeyAdminCidrs, "[]", "must list the CIDRs that may reach the public API endpoint (your egress IP as a /32, CI runners); "+
			"or set clusterEndpointAccess to PrivateOnly and run pulumi from inside the VPC")
	case c.ClusterEndpointAccess == EndpointPrivateOnly && len(c.AdminCidrs) > 0:
		v.add(KeyAdminCidrs, c.AdminCidrs, "has no effect with clusterEndpointAccess PrivateOnly; remove it or use PublicAndPrivate")
	}
	for i, cidr := range c.AdminCidrs {
		key := fmt.Sprintf("%s[%d]", KeyAdminCidrs, i)
		p, ok := v.cidr(key, cidr)
		if ok && p.Bits() == 0 && !c.AllowWorldOpenClusterEndpoint {
			v.add(key, cidr, "opens the Kubernetes API to the whole internet; list specific CIDRs, or set %s to true to accept that",
				KeyAllowWorldOpenClusterEndpoint)
		}
	}
	for i, arn := range c.AdminRoleArns {
		if !roleArn.MatchString(arn) {
			v.add(fmt.Sprintf("%s[%d]", KeyAdminRoleArns, i), arn, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/platform-admin")
		} else if slices.Index(c.AdminRoleArns, arn) != i {
			v.add(fmt.Sprintf("%s[%d]", KeyAdminRoleArns, i), arn, "is listed twice")
		} else if pullRequestReachable(arn) {
			v.add(fmt.Sprintf("%s[%d]", KeyAdminRoleArns, i), arn, pullRequestReachableWhy)
		}
	}
	for i, arn := range c.ViewRoleArns {
		key := fmt.Sprintf("%s[%d]", KeyViewRoleArns, i)
		switch {
		case !roleArn.MatchString(arn):
			v.add(key, arn, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/outside-in-platform-ci-readonly")
		case slices.Index(c.ViewRoleArns, arn) != i:
			v.add(key, arn, "is listed twice")
		case slices.Contains(c.AdminRoleArns, arn):
			v.add(key, arn, "is in %s too; a role has one access entry, so list it in one of them", KeyAdminRoleArns)
		case pullRequestReachable(arn):
			v.add(key, arn, pullRequestReachableWhy)
		}
	}
	if c.KubeconfigRoleArn != "" && !roleArn.MatchString(c.KubeconfigRoleArn) {
		v.add(KeyKubeconfigRoleArn, c.KubeconfigRoleArn, "must be an IAM role ARN such as arn:aws:iam::123456789012:role/platform-admin")
	}
	if c.KubeconfigProfile != "" && !profileName.MatchString(c.KubeconfigProfile) {
		v.add(KeyKubeconfigProfile, c.KubeconfigProfile, "must be an AWS CLI profile name (letters, digits, . _ + @ -)")
	}
}

// pullRequestReachable says whether a role ARN names a CI environments role, the role a pull
// request's jobs can assume (guardrails.GitHubOIDC.PullRequestsAndMain).
func pullRequestReachable(arn string) bool {
	return strings.HasSuffix(arn, "-"+guardrails.CIEnvironments)
}

const pullRequestReachableWhy = "is a CI environments role, which a pull request's jobs can assume: it may not read the cluster " +
	"(the view policy reads every Secret); environments reach the cluster through the platform's environments group"

func (c Config) validateEKS(v *validator) {
	if !k8sVersion.MatchString(c.KubernetesVersion) {
		v.add(KeyKubernetesVersion, c.KubernetesVersion, "must be a Kubernetes minor version such as %s", DefaultKubernetesVersion)
	} else if !slices.Contains(KubernetesVersions, c.KubernetesVersion) {
		v.add(KeyKubernetesVersion, c.KubernetesVersion, "is not offered by EKS; use one of %s", strings.Join(KubernetesVersions, ", "))
	}
	for _, name := range naming.SortedKeys(c.AddonVersions) {
		key := KeyAddonVersions + "." + name
		if !slices.Contains(cluster.Addons, name) {
			v.add(key, name, "is not a managed add-on of this program; use %s", strings.Join(cluster.Addons, ", "))
		} else if !addonVersion.MatchString(c.AddonVersions[name]) {
			v.add(key, c.AddonVersions[name], "must be an EKS add-on version such as v1.14.3-eksbuild.3")
		}
	}
}

func (c Config) validateK3s(v *validator) {
	release, ok := cluster.K3sReleaseOf(c.K3sVersion)
	if !ok {
		v.add(KeyK3sVersion, c.K3sVersion, "is not a k3s release the program has checksums for; use one of %s",
			strings.Join(cluster.K3sVersions(), ", "))
	} else if c.KubernetesVersion != release.KubernetesMinor() {
		v.add(KeyKubernetesVersion, c.KubernetesVersion, "does not match k3sVersion %s, which runs Kubernetes %s; "+
			"in k3s mode leave kubernetesVersion empty or set it to %s", c.K3sVersion, release.KubernetesMinor(), release.KubernetesMinor())
	}
	if c.K3sServers != 1 && c.K3sServers != 3 {
		v.add(KeyK3sServers, c.K3sServers, "must be 1 (one server, sqlite) or 3 (embedded etcd, which needs an odd number to keep quorum)")
	}
	if c.K3sServerInstanceType != "" {
		if _, err := cluster.InstanceArch(c.K3sServerInstanceType); err != nil {
			v.add(KeyK3sServerInstanceType, c.K3sServerInstanceType, "%v", err)
		} else if mem := cluster.InstanceMemoryGiB(c.K3sServerInstanceType); mem < 2 {
			v.add(KeyK3sServerInstanceType, c.K3sServerInstanceType, "has %g GiB of memory; a k3s server needs at least 2 GiB", mem)
		}
	}
}

func (c Config) validateIngress(v *validator) {
	switch c.LoadBalancer {
	case LoadBalancerALB, LoadBalancerNLB, LoadBalancerClassic:
	case LoadBalancerNone:
		v.add(KeyLoadBalancer, c.LoadBalancer, "is for clusterMode existing with a kubeconfig; a %s stack owns its load balancer: use alb, nlb or classic", c.ClusterMode)
	default:
		v.oneOf(KeyLoadBalancer, c.LoadBalancer, LoadBalancerALB, LoadBalancerNLB, LoadBalancerClassic)
	}
	if len(c.AllowedCidrs) == 0 {
		v.add(KeyAllowedCidrs, "[]", "must list the client CIDRs the load balancer admits, e.g. [\"0.0.0.0/0\"] for a public site")
	}
	for i, cidr := range c.AllowedCidrs {
		key := fmt.Sprintf("%s[%d]", KeyAllowedCidrs, i)
		if _, ok := v.cidr(key, cidr); ok && slices.Index(c.AllowedCidrs, cidr) != i {
			v.add(key, cidr, "is listed twice")
		}
	}
	c.validateNodePorts(v)
}

// validateNodePorts checks the ingress controller's entry Service.
func (c Config) validateNodePorts(v *validator) {
	ports := map[int]string{}
	for _, p := range []struct {
		key  string
		port int
	}{{KeyHTTPNodePort, c.HTTPNodePort}, {KeyHTTPSNodePort, c.HTTPSNodePort}, {KeyHealthCheckNodePort, c.HealthCheckNodePort}} {
		v.intRange(p.key, p.port, minNodePort, maxNodePort, " (the Kubernetes node port range)")
		if other, dup := ports[p.port]; dup {
			v.add(p.key, p.port, "collides with %s; each node port must be distinct", other)
		}
		ports[p.port] = p.key
	}
	v.intRange(KeyIngressReplicas, c.IngressReplicas, minReplicas, 20, " (two zones, so one can fail)")
	v.oneOf(KeyRouting, c.Routing, string(ingress.RoutingIngress), string(ingress.RoutingGateway))
}

func (c Config) validateDNS(v *validator) {
	v.oneOf(KeyZoneMode, c.ZoneMode, ZoneCreate, ZoneExisting, ZoneNone)
	if c.Domain == "" {
		v.add(KeyDomain, "", "is required: the apps' hostnames live under it, e.g. dev.example.com")
	} else if !validDNSName(c.Domain) {
		v.add(KeyDomain, c.Domain, "must be a lower-case DNS name with at least two labels, e.g. dev.example.com")
	}
	if c.TLS && c.ZoneMode == ZoneNone {
		v.add(KeyTLS, c.TLS, "needs a Route 53 zone to validate the ACM certificate in; set zoneMode to create or existing, or tls to false")
	}
	// A classic ELB listener takes one certificate (no SNI), and ACM puts at most 10 names in one.
	if c.TLS && c.LoadBalancer == LoadBalancerClassic && len(c.Apps) > dns.NamesPerCertificate {
		v.add(KeyApps, len(c.Apps), "is more than the %d hostnames one ACM certificate holds, and a classic ELB listener takes only one certificate; "+
			"use loadBalancer alb or nlb (several certificates by SNI), or at most %d apps", dns.NamesPerCertificate, dns.NamesPerCertificate)
	}
}

// validatePlatform checks what a platform stack adds for environment stacks.
func (c Config) validatePlatform(v *validator) {
	if c.EnvDomain != "" {
		switch {
		case !validDNSName(c.EnvDomain):
			v.add(KeyEnvDomain, c.EnvDomain, "must be a lower-case DNS name such as env.%s", orExample(c.Domain))
		case c.Domain != "" && c.EnvDomain != c.Domain && !strings.HasSuffix(c.EnvDomain, "."+c.Domain):
			v.add(KeyEnvDomain, c.EnvDomain, "is outside the domain %s, whose zone gets the wildcard record; use a name under it, e.g. env.%s", c.Domain, c.Domain)
		case c.ZoneMode == ZoneNone || !c.TLS:
			v.add(KeyEnvDomain, c.EnvDomain, "needs zoneMode create or existing and tls true: environments are served at https://<app>-<env>.%s with a wildcard certificate", c.EnvDomain)
		case c.LoadBalancer == LoadBalancerClassic:
			v.add(KeyEnvDomain, c.EnvDomain, "needs a second certificate on the listener for *.%s, which a classic ELB cannot carry (no SNI); use loadBalancer alb or nlb", c.EnvDomain)
		}
		for i, a := range c.Apps {
			if strings.HasSuffix(a.Host, "."+c.EnvDomain) && strings.Count(strings.TrimSuffix(a.Host, "."+c.EnvDomain), ".") == 0 {
				v.add(fmt.Sprintf("%s[%d].host", KeyApps, i), a.Host, "is a name under envDomain %s, which belongs to environment stacks; use another host", c.EnvDomain)
			}
		}
	}
	if c.GithubOidc.Repository != "" || len(c.GithubOidc.Environments) > 0 {
		c.validateGithubRepository(v)
		if t := guardrails.SubjectTemplate(c.GithubOidc.SubjectTemplate); !slices.Contains(guardrails.SubjectTemplates, t) {
			v.add(KeyGithubOidc+".subjectTemplate", c.GithubOidc.SubjectTemplate,
				"must be %s (the repository's OIDC subject template is include_claim_keys [repo, context, ref]; the default) or %s (GitHub's default template, include_claim_keys [repo, context])",
				guardrails.SubjectRepoContextRef, guardrails.SubjectRepoContext)
		}
		for i, e := range c.GithubOidc.Environments {
			if !githubEnvironment.MatchString(e) {
				v.add(fmt.Sprintf("%s.environments[%d]", KeyGithubOidc, i), e, "must be a GitHub environment name (letters, digits, - _ . and spaces, at most 255)")
			}
		}
		if c.GithubOidc.ProviderArn != "" && !oidcProviderArn.MatchString(c.GithubOidc.ProviderArn) {
			v.add(KeyGithubOidc+".providerArn", c.GithubOidc.ProviderArn, "must be the ARN of the account's GitHub OIDC provider, arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com")
		}
		if c.GithubOidc.StateBucket != "" && !bucketName.MatchString(c.GithubOidc.StateBucket) {
			v.add(KeyGithubOidc+".stateBucket", c.GithubOidc.StateBucket, "must be an S3 bucket name (3-63 lower-case letters, digits, dots and dashes)")
		}
		if c.ClusterMode == ClusterModeEKS && c.EnvDomain == "" {
			v.add(KeyGithubOidc, c.GithubOidc.Repository, "gives CI a role to create environment stacks in the platform; set envDomain too")
		}
	}
}

// validateGithubRepository checks githubOidc.repository in either of the forms a token's subject
// names a repository by.
func (c Config) validateGithubRepository(v *validator) {
	repo := c.GithubOidc.Repository
	if githubRepo.MatchString(repo) || githubImmutableRepo.MatchString(repo) {
		return
	}
	owner, name, _ := strings.Cut(repo, "/")
	if strings.Contains(owner, "@") != strings.Contains(name, "@") {
		v.add(KeyGithubOidc+".repository", repo, "names one id: with immutable subject claims both carry theirs, owner@<owner id>/name@<repository id>, e.g. example@123456/outside-in@456789; without, neither does (owner/name)")
		return
	}
	v.add(KeyGithubOidc+".repository", repo, "must be the repository as its tokens' subject names it: owner/name, e.g. example/outside-in, or with immutable subject claims owner@<owner id>/name@<repository id>, e.g. example@123456/outside-in@456789")
}

// validateExisting checks a stack that deploys onto a cluster it does not build.
func (c Config) validateExisting(v *validator) {
	switch {
	case c.PlatformStack == "" && c.Kubeconfig == "":
		v.add(KeyClusterMode, c.ClusterMode, "needs platformStack (an environment in a platform stack's cluster) or kubeconfig (any cluster)")
	case c.PlatformStack != "" && c.Kubeconfig != "":
		v.add(KeyKubeconfig, "(set)", "cannot be combined with platformStack: an environment takes the platform's kubeconfig; remove one")
	case c.PlatformStack != "":
		if !stackReference.MatchString(c.PlatformStack) {
			v.add(KeyPlatformStack, c.PlatformStack, "must be a fully qualified stack name <organization>/<project>/<stack>, e.g. organization/outside-in/platform")
		}
		if _, err := EnvName(c.Stack); err != nil {
			v.add(KeyPlatformStack, c.PlatformStack, "makes stack %q an environment, but %v", c.Stack, err)
		}
		if c.Domain != "" {
			v.add(KeyDomain, c.Domain, "is not used by an environment: its hosts are <app>-<env> under the platform's envDomain; remove domain")
		}
		d := Defaults(c.Project, c.Stack)
		for _, p := range []struct {
			key       string
			got, want any
		}{
			{KeyLoadBalancer, c.LoadBalancer, d.LoadBalancer},
			{KeyHTTPNodePort, c.HTTPNodePort, d.HTTPNodePort},
			{KeyHTTPSNodePort, c.HTTPSNodePort, d.HTTPSNodePort},
			{KeyHealthCheckNodePort, c.HealthCheckNodePort, d.HealthCheckNodePort},
			{KeyIngressReplicas, c.IngressReplicas, d.IngressReplicas},
		} {
			if p.got != p.want {
				v.add(p.key, p.got, "is the platform's: an environment's apps are served by the platform's ingress controller and load balancer; remove it")
			}
		}
		if c.Routing != d.Routing || c.GatewayAPI != d.GatewayAPI {
			key, got := KeyRouting, any(c.Routing)
			if c.Routing == d.Routing {
				key, got = KeyGatewayAPI, c.GatewayAPI
			}
			v.add(key, got, "is the platform's: an environment routes its apps the way its platform publishes (Ingress or HTTPRoute); remove it")
		}
	default:
		if err := checkKubeconfig(c.Kubeconfig); err != nil {
			v.add(KeyKubeconfig, "(secret)", "%v", err)
		}
		if c.LoadBalancer != LoadBalancerNone && c.LoadBalancer != "" {
			v.add(KeyLoadBalancer, c.LoadBalancer, "must be none with a kubeconfig: the stack builds no AWS resource; put your own balancer in front of the node ports the plan prints")
		}
		if c.Domain == "" {
			v.add(KeyDomain, "", "is required: the apps' hostnames live under it, e.g. lab.example.com")
		} else if !validDNSName(c.Domain) {
			v.add(KeyDomain, c.Domain, "must be a lower-case DNS name with at least two labels, e.g. lab.example.com")
		}
		c.validateNodePorts(v)
	}
}

// validateLifecycle checks the owner and expiry cmd/env gives an ephemeral stack.
func (c Config) validateLifecycle(v *validator) {
	if c.Owner != "" && !ownerName.MatchString(c.Owner) {
		v.add(KeyOwner, c.Owner, "must be at most 63 letters, digits, - _ . or @, starting and ending with a letter or digit, optionally followed by [bot] (it becomes a label, the brackets made _)")
	}
	if c.ExpiresAt != "" {
		if _, err := time.Parse(time.RFC3339, c.ExpiresAt); err != nil {
			v.add(KeyExpiresAt, c.ExpiresAt, "must be an RFC 3339 time such as 2026-12-01T12:00:00Z")
		}
	}
}

func (c Config) validateApps(v *validator) {
	if len(c.Apps) > maxApps {
		v.add(KeyApps, len(c.Apps), "must hold at most %d apps", maxApps)
	}
	if len(c.Apps) == 0 && c.EnvDomain == "" {
		v.add(KeyApps, "[]", "must list at least one app, e.g. [{\"name\": \"web\"}] (only a platform stack, with envDomain, may serve none of its own)")
	}
	names, hosts := map[string]int{}, map[string]int{}
	for i, a := range c.Apps {
		key := func(field string) string { return fmt.Sprintf("%s[%d].%s", KeyApps, i, field) }
		switch {
		case !appName.MatchString(a.Name):
			v.add(key("name"), a.Name, "must be a lower-case DNS label of at most 40 characters, starting with a letter")
		case slices.Contains(reservedNamespaces, a.Name):
			v.add(key("name"), a.Name, "is reserved (the app's namespace takes its name); avoid %s", strings.Join(reservedNamespaces, ", "))
		default:
			if j, dup := names[a.Name]; dup {
				v.add(key("name"), a.Name, "is also the name of apps[%d]; app names must be unique", j)
			}
			names[a.Name] = i
		}
		switch {
		case c.Environment():
			if a.Host != "" {
				v.add(key("host"), a.Host, "is derived in an environment (<app>-<env> under the platform's envDomain); remove host")
			} else if strings.Contains(a.Name, "-") {
				// Environment names have hyphens (pr-17): with one in the app's name too, app
				// web-pr of environment 17 and app web of environment pr-17 would share a host.
				v.add(key("name"), a.Name, "has a '-', which an app of an environment may not: its host is <app>-<env>, so the "+
					"app's name must end where the environment's begins (e.g. %s)", strings.ReplaceAll(a.Name, "-", ""))
			} else if _, err := EnvHostLabel(a.Name, c.Stack); err != nil {
				v.add(key("name"), a.Name, "%v", err)
			}
		case !validDNSName(a.Host):
			v.add(key("host"), a.Host, "must be a lower-case DNS name such as web.%s", orExample(c.Domain))
		case c.Domain != "" && a.Host != c.Domain && !strings.HasSuffix(a.Host, "."+c.Domain):
			v.add(key("host"), a.Host, "is outside the domain %s; use a name under it, e.g. %s.%s", c.Domain, a.Name, c.Domain)
		default:
			if j, dup := hosts[a.Host]; dup {
				v.add(key("host"), a.Host, "is also the host of apps[%d]; each hostname routes to one app", j)
			}
			hosts[a.Host] = i
		}
		switch {
		case !imageRef.MatchString(a.Image):
			v.add(key("image"), a.Image, "must be an image reference such as %s", DefaultAppImage)
		case !strings.Contains(a.Image, "@") && !hasTag(a.Image):
			v.add(key("image"), a.Image, "must pin a version with a tag or digest, e.g. %s", DefaultAppImage)
		case strings.HasSuffix(a.Image, ":latest"):
			v.add(key("image"), a.Image, "must pin a version; :latest changes under a running stack")
		}
		v.intRange(key("replicas"), a.Replicas, minReplicas, maxReplicas, " (two pods in two zones, so one can fail)")
		v.intRange(key("port"), a.Port, 1024, 65535, " (the pods run as non-root, so only unprivileged ports)")
		if !healthPath.MatchString(a.HealthPath) {
			v.add(key("healthPath"), a.HealthPath, "must be a URL path starting with /, e.g. /index.html")
		}
	}
}

func (c Config) validateTags(v *validator) {
	if len(c.Tags) > 40 {
		v.add(KeyTags, len(c.Tags), "must hold at most 40 tags (AWS allows 50 per resource; the program adds its own)")
	}
	for _, k := range naming.SortedKeys(c.Tags) {
		switch {
		case k == "Name" || strings.HasPrefix(k, "outside-in:"):
			v.add(KeyTags+"."+k, c.Tags[k], "is set by the program; choose another key")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			v.add(KeyTags+"."+k, c.Tags[k], "uses the aws: prefix, which AWS reserves")
		case len(k) == 0 || len(k) > 128 || len(c.Tags[k]) > 256:
			v.add(KeyTags+"."+k, c.Tags[k], "must have a key of 1-128 and a value of at most 256 characters")
		}
	}
}

// cidr checks an IPv4 CIDR and reports whether it parsed.
func (v *validator) cidr(key, s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil || !p.Addr().Is4():
		v.add(key, s, "must be an IPv4 CIDR block such as 203.0.113.7/32")
		return p, false
	case p.Masked() != p:
		v.add(key, s, "has host bits set; use %s", p.Masked())
		return p, false
	}
	return p, true
}

func validDNSName(s string) bool {
	if len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !dnsLabel.MatchString(l) {
			return false
		}
	}
	return true
}

func hasTag(image string) bool {
	last := image[strings.LastIndex(image, "/")+1:]
	return strings.Contains(last, ":")
}

func orExample(domain string) string {
	if domain == "" {
		return "example.com"
	}
	return domain
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, ", ")
}
