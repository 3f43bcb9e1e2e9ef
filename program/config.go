// Package program is outside-in's wiring: it loads and validates the configuration, then builds
// the layers in order — network, DNS, cluster, ingress, apps — and returns the stack outputs.
// main.go, the offline plan and the tests all run this same code.
package program

import (
	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/network"
)

// Namespace is the configuration namespace of the project.
const Namespace = "outside-in"

// Config is the validated configuration of a stack.
type Config struct {
	Project string
	Stack   string
	// Region is aws:region as configured ("" when the region comes from the environment).
	Region string

	// Network.
	VpcCidr                   string
	AzCount                   int
	AzNames                   []string
	PublicSubnetPrefixLength  int
	PrivateSubnetPrefixLength int
	NatStrategy               network.NatStrategy
	FlowLogs                  network.FlowLogs
	FlowLogsRetentionDays     int

	// Cluster.
	ClusterMode       string
	ClusterName       string
	KubernetesVersion string
	AddonVersions     map[string]string
	// k3s mode.
	K3sVersion            string
	K3sServers            int
	K3sServerInstanceType string
	// existing mode: a platform stack's cluster (an environment) or any cluster's kubeconfig.
	PlatformStack string
	Kubeconfig    string

	NodeInstanceTypes             []string
	NodeCapacityType              string
	NodeMinSize                   int
	NodeDesiredSize               int
	NodeMaxSize                   int
	NodeDiskSizeGib               int
	ClusterEndpointAccess         string
	AdminCidrs                    []string
	AllowWorldOpenClusterEndpoint bool
	AdminRoleArns                 []string
	ViewRoleArns                  []string
	KubeconfigRoleArn             string
	KubeconfigProfile             string

	// Ingress and apps.
	LoadBalancer                   string
	LoadBalancerDeletionProtection bool
	AllowedCidrs                   []string
	HTTPNodePort                   int
	HTTPSNodePort                  int
	HealthCheckNodePort            int
	IngressReplicas                int
	// Routing is how Traefik reaches the apps: ingress (Ingress objects) or gateway (HTTPRoutes
	// on the platform's Gateway). GatewayAPI installs the Gateway API (its CRDs, Traefik's
	// provider, the GatewayClass and the Gateway); routing gateway needs it, and with routing
	// ingress it gives every app both routes: the state in between of a switch (README, "Routing").
	Routing    string
	GatewayAPI bool
	Apps       []App

	// DNS and TLS.
	Domain   string
	ZoneMode string
	TLS      bool

	// Platform: EnvDomain makes the stack a platform for environment stacks; GithubOidc gives a
	// GitHub repository's workflows a deploy role.
	EnvDomain  string
	GithubOidc GithubOidc
	// Owner and ExpiresAt describe an ephemeral stack; cmd/env sets them with the stack tags.
	Owner     string
	ExpiresAt string

	// Tags are added to every taggable AWS resource, after the project and stack tags.
	Tags map[string]string
}

// GithubOidc names the GitHub repository whose workflows may assume the platform's CI roles.
type GithubOidc struct {
	// Repository is owner/name, or owner@<owner id>/name@<repository id> for a repository whose
	// tokens carry immutable subject claims (created or renamed on or after 2026-07-15, or
	// opted in): exactly as the sub claim of its tokens spells it.
	Repository string `json:"repository"`
	// Environments are the GitHub environments whose jobs on main may deploy the platform (the
	// deploy role); pull requests and main get only the environments and read-only roles.
	Environments []string `json:"environments"`
	// SubjectTemplate is the repository's OIDC subject template: repo-context-ref (default;
	// include_claim_keys [repo, context, ref], which the repository must set) or repo-context
	// (GitHub's default; the deploy role then checks STS's ref claim key).
	SubjectTemplate string `json:"subjectTemplate"`
	// ProviderArn names an existing GitHub OIDC provider of the account (there can be one);
	// empty creates it.
	ProviderArn string `json:"providerArn"`
	// StateBucket is the S3 bucket of the Pulumi backend, if it is one: every CI role may read
	// and write the stacks' state there.
	StateBucket string `json:"stateBucket"`
}

// DefaultGithubOidc is githubOidc's value before the stack's fields are read over it.
func DefaultGithubOidc() GithubOidc {
	return GithubOidc{Environments: []string{}, SubjectTemplate: string(guardrails.SubjectRepoContextRef)}
}

// App is one Apache httpd service reached at its own hostname.
type App struct {
	Name       string `json:"name"`
	Host       string `json:"host"`
	Image      string `json:"image"`
	Replicas   int    `json:"replicas"`
	Port       int    `json:"port"`
	HealthPath string `json:"healthPath"`
}

// Enum values accepted by the configuration.
const (
	ClusterModeEKS      = "eks"
	ClusterModeK3s      = "k3s"
	ClusterModeExisting = "existing"

	CapacityOnDemand = "ON_DEMAND"
	CapacitySpot     = "SPOT"

	EndpointPublicAndPrivate = "PublicAndPrivate"
	EndpointPrivateOnly      = "PrivateOnly"

	LoadBalancerALB     = "alb"
	LoadBalancerNLB     = "nlb"
	LoadBalancerClassic = "classic"
	// LoadBalancerNone builds no load balancer: the entry Service's node ports are for one
	// outside the stack (seed 002's HAProxy), on a cluster given by kubeconfig.
	LoadBalancerNone = "none"

	ZoneCreate   = "create"
	ZoneExisting = "existing"
	ZoneNone     = "none"
)

// DefaultAppImage is the Apache httpd image apps run unless they name another: the official
// image's 2.4.68 release, pinned by the digest of its multi-architecture index
// (docker-library/repo-info repos/httpd/remote/2.4.68.md, built 2026-09-19), so the bytes a node
// runs never change under a stack and IfNotPresent is the right pull policy.
const DefaultAppImage = "httpd:2.4.68@sha256:454942557d44332cd7e4ae415e7ec9b4dbbf01b4a042491f423fcaf10a32ce9f"

// DefaultKubernetesVersion is in EKS standard support until 2027-03-27.
const DefaultKubernetesVersion = "1.35"

// KubernetesVersions are the EKS versions the program accepts (standard or extended support on
// 2026-11-22).
var KubernetesVersions = []string{"1.32", "1.33", "1.34", "1.35", "1.36"}

// Defaults returns the configuration of a stack that sets nothing. Values that depend on other
// keys (the cluster name, the default app's hostname) are filled in by derive after parsing.
func Defaults(project, stack string) Config {
	return Config{
		Project:                        project,
		Stack:                          stack,
		VpcCidr:                        "10.0.0.0/16",
		AzCount:                        2,
		AzNames:                        []string{},
		PublicSubnetPrefixLength:       24,
		PrivateSubnetPrefixLength:      20,
		NatStrategy:                    network.NatOnePerAz,
		FlowLogs:                       network.FlowLogsNone,
		FlowLogsRetentionDays:          30,
		ClusterMode:                    ClusterModeEKS,
		AddonVersions:                  map[string]string{},
		K3sServers:                     1,
		NodeInstanceTypes:              []string{"t3.large"},
		NodeCapacityType:               CapacityOnDemand,
		NodeMinSize:                    2,
		NodeDesiredSize:                2,
		NodeMaxSize:                    4,
		NodeDiskSizeGib:                20,
		ClusterEndpointAccess:          EndpointPublicAndPrivate,
		AdminCidrs:                     []string{},
		AdminRoleArns:                  []string{},
		ViewRoleArns:                   []string{},
		LoadBalancer:                   "",
		LoadBalancerDeletionProtection: true,
		AllowedCidrs:                   []string{"0.0.0.0/0"},
		HTTPNodePort:                   30080,
		HTTPSNodePort:                  30443,
		HealthCheckNodePort:            32080,
		IngressReplicas:                2,
		Routing:                        string(ingress.RoutingIngress),
		Apps:                           []App{DefaultApp("")},
		ZoneMode:                       ZoneCreate,
		TLS:                            true,
		GithubOidc:                     DefaultGithubOidc(),
		Tags:                           map[string]string{},
	}
}

// DefaultApp is the app a stack gets when it configures none: Apache httpd named web, at
// web.<domain> (host is left empty here and derived from the domain).
func DefaultApp(host string) App {
	return App{Name: "web", Host: host, Image: DefaultAppImage, Replicas: 2, Port: 8080, HealthPath: "/index.html"}
}

// Environment reports whether the stack is an environment in a platform stack's cluster.
func (c Config) Environment() bool {
	return c.ClusterMode == ClusterModeExisting && c.PlatformStack != ""
}

// OnAWS reports whether the stack builds AWS infrastructure (network, cluster, load balancer).
func (c Config) OnAWS() bool {
	return c.ClusterMode == ClusterModeEKS || c.ClusterMode == ClusterModeK3s
}

// derive fills the values that default from other keys.
func (c *Config) derive() {
	if c.ClusterName == "" {
		c.ClusterName = sanitizeName(c.Project + "-" + c.Stack)
	}
	for i := range c.Apps {
		// An environment's hosts come from the platform's envDomain, known once it is read.
		if c.Apps[i].Host == "" && c.Domain != "" && !c.Environment() {
			c.Apps[i].Host = c.Apps[i].Name + "." + c.Domain
		}
	}
	if len(c.AzNames) > 0 {
		c.AzCount = len(c.AzNames)
	}
	// HTTPRoutes need the Gateway API; an environment's routes use its platform's.
	if c.Routing == string(ingress.RoutingGateway) && !c.Environment() {
		c.GatewayAPI = true
	}
	if c.LoadBalancer == "" {
		switch {
		case c.OnAWS():
			c.LoadBalancer = LoadBalancerALB
		case c.ClusterMode == ClusterModeExisting && c.Kubeconfig != "":
			c.LoadBalancer = LoadBalancerNone
		}
	}
	switch c.ClusterMode {
	case ClusterModeEKS:
		if c.KubernetesVersion == "" {
			c.KubernetesVersion = DefaultKubernetesVersion
		}
	case ClusterModeK3s:
		if c.K3sVersion == "" {
			c.K3sVersion = cluster.DefaultK3sVersion
		}
		if release, ok := cluster.K3sReleaseOf(c.K3sVersion); ok && c.KubernetesVersion == "" {
			c.KubernetesVersion = release.KubernetesMinor()
		}
	}
}

// NamePrefix starts every AWS Name tag of the stack.
func (c Config) NamePrefix() string { return sanitizeName(c.Project + "-" + c.Stack) }

// SharedTags are the tags on every taggable AWS resource.
func (c Config) SharedTags() map[string]string {
	tags := map[string]string{
		"outside-in:project": c.Project,
		"outside-in:stack":   c.Stack,
		"managed-by":         "pulumi",
	}
	if c.Owner != "" {
		tags["outside-in:owner"] = c.Owner
	}
	if c.ExpiresAt != "" {
		tags["outside-in:expires-at"] = c.ExpiresAt
	}
	for k, v := range c.Tags {
		tags[k] = v
	}
	return tags
}

// sanitizeName maps a stack name (which may hold dots) to a name AWS accepts everywhere.
func sanitizeName(s string) string {
	out := []byte(s)
	for i, ch := range out {
		ok := ch == '-' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9'
		if !ok {
			out[i] = '-'
		}
	}
	return string(out)
}
