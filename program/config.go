// Package program is outside-in's wiring: it loads and validates the configuration, then builds
// the layers in order — network, DNS, cluster, ingress — and returns the stack outputs. main.go,
// the offline plan and the tests all run this same code.
package program

import (
	"github.com/outside-in/outside-in/network"
)

// Namespace is the configuration namespace of the project.
const Namespace = "outside-in"

// Config is the validated configuration of a stack.
type Config struct {
	Project string
	Stack   string

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
	ClusterMode                   string
	ClusterName                   string
	KubernetesVersion             string
	AddonVersions                 map[string]string
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
	Apps                           []App

	// DNS and TLS.
	Domain   string
	ZoneMode string
	TLS      bool

	// Tags are added to every taggable AWS resource, after the project and stack tags.
	Tags map[string]string
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
	ClusterModeEKS = "eks"

	CapacityOnDemand = "ON_DEMAND"
	CapacitySpot     = "SPOT"

	EndpointPublicAndPrivate = "PublicAndPrivate"
	EndpointPrivateOnly      = "PrivateOnly"

	LoadBalancerALB     = "alb"
	LoadBalancerNLB     = "nlb"
	LoadBalancerClassic = "classic"

	ZoneCreate   = "create"
	ZoneExisting = "existing"
	ZoneNone     = "none"
)

// DefaultAppImage is the Apache httpd image apps run unless they name another: the official
// image, pinned to a 2.4 release.
const DefaultAppImage = "httpd:2.4.65"

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
		KubernetesVersion:              DefaultKubernetesVersion,
		AddonVersions:                  map[string]string{},
		NodeInstanceTypes:              []string{"t3.large"},
		NodeCapacityType:               CapacityOnDemand,
		NodeMinSize:                    2,
		NodeDesiredSize:                2,
		NodeMaxSize:                    4,
		NodeDiskSizeGib:                20,
		ClusterEndpointAccess:          EndpointPublicAndPrivate,
		AdminCidrs:                     []string{},
		AdminRoleArns:                  []string{},
		LoadBalancer:                   LoadBalancerALB,
		LoadBalancerDeletionProtection: true,
		AllowedCidrs:                   []string{"0.0.0.0/0"},
		HTTPNodePort:                   30080,
		HTTPSNodePort:                  30443,
		HealthCheckNodePort:            32080,
		IngressReplicas:                2,
		ZoneMode:                       ZoneCreate,
		TLS:                            true,
		Tags:                           map[string]string{},
	}
}

// DefaultApp is the app a stack gets when it configures none: Apache httpd at web.<domain>.
func DefaultApp(domain string) App {
	return App{Name: "web", Host: "web." + domain, Image: DefaultAppImage, Replicas: 2, Port: 8080, HealthPath: "/index.html"}
}

// derive fills the values that default from other keys.
func (c *Config) derive() {
	if c.ClusterName == "" {
		c.ClusterName = sanitizeName(c.Project + "-" + c.Stack)
	}
	if len(c.Apps) == 0 {
		c.Apps = []App{DefaultApp(c.Domain)}
	}
	if len(c.AzNames) > 0 {
		c.AzCount = len(c.AzNames)
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
