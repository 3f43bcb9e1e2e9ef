package program

import "github.com/outside-in/outside-in/network"

// Configuration keys, in the outside-in namespace.
const (
	KeyVpcCidr                        = "vpcCidr"
	KeyAzCount                        = "azCount"
	KeyAzNames                        = "azNames"
	KeyPublicSubnetPrefixLength       = "publicSubnetPrefixLength"
	KeyPrivateSubnetPrefixLength      = "privateSubnetPrefixLength"
	KeyNatStrategy                    = "natStrategy"
	KeyFlowLogs                       = "flowLogs"
	KeyFlowLogsRetentionDays          = "flowLogsRetentionDays"
	KeyClusterMode                    = "clusterMode"
	KeyClusterName                    = "clusterName"
	KeyKubernetesVersion              = "kubernetesVersion"
	KeyAddonVersions                  = "addonVersions"
	KeyNodeInstanceTypes              = "nodeInstanceTypes"
	KeyNodeCapacityType               = "nodeCapacityType"
	KeyNodeMinSize                    = "nodeMinSize"
	KeyNodeDesiredSize                = "nodeDesiredSize"
	KeyNodeMaxSize                    = "nodeMaxSize"
	KeyNodeDiskSizeGib                = "nodeDiskSizeGib"
	KeyClusterEndpointAccess          = "clusterEndpointAccess"
	KeyAdminCidrs                     = "adminCidrs"
	KeyAllowWorldOpenClusterEndpoint  = "allowWorldOpenClusterEndpoint"
	KeyAdminRoleArns                  = "adminRoleArns"
	KeyKubeconfigRoleArn              = "kubeconfigRoleArn"
	KeyKubeconfigProfile              = "kubeconfigProfile"
	KeyLoadBalancer                   = "loadBalancer"
	KeyLoadBalancerDeletionProtection = "loadBalancerDeletionProtection"
	KeyAllowedCidrs                   = "allowedCidrs"
	KeyHTTPNodePort                   = "httpNodePort"
	KeyHTTPSNodePort                  = "httpsNodePort"
	KeyHealthCheckNodePort            = "healthCheckNodePort"
	KeyIngressReplicas                = "ingressReplicas"
	KeyApps                           = "apps"
	KeyDomain                         = "domain"
	KeyZoneMode                       = "zoneMode"
	KeyTLS                            = "tls"
	KeyTags                           = "tags"
)

// KeySpec describes one configuration key: its Pulumi.yaml type and how its raw value is read.
type KeySpec struct {
	Name string
	// Type is the Pulumi.yaml schema type: string, integer, boolean, array or object.
	Type  string
	parse func(c *Config, raw string) error
}

// Keys lists every configuration key the program reads.
var Keys = []KeySpec{
	{KeyVpcCidr, "string", func(c *Config, r string) error { return parseString(r, &c.VpcCidr) }},
	{KeyAzCount, "integer", func(c *Config, r string) error { return parseInt(r, &c.AzCount) }},
	{KeyAzNames, "array", func(c *Config, r string) error { return parseStrings(r, &c.AzNames) }},
	{KeyPublicSubnetPrefixLength, "integer", func(c *Config, r string) error { return parseInt(r, &c.PublicSubnetPrefixLength) }},
	{KeyPrivateSubnetPrefixLength, "integer", func(c *Config, r string) error { return parseInt(r, &c.PrivateSubnetPrefixLength) }},
	{KeyNatStrategy, "string", func(c *Config, r string) error { c.NatStrategy = network.NatStrategy(r); return nil }},
	{KeyFlowLogs, "string", func(c *Config, r string) error { c.FlowLogs = network.FlowLogs(r); return nil }},
	{KeyFlowLogsRetentionDays, "integer", func(c *Config, r string) error { return parseInt(r, &c.FlowLogsRetentionDays) }},
	{KeyClusterMode, "string", func(c *Config, r string) error { return parseString(r, &c.ClusterMode) }},
	{KeyClusterName, "string", func(c *Config, r string) error { return parseString(r, &c.ClusterName) }},
	{KeyKubernetesVersion, "string", func(c *Config, r string) error { return parseString(r, &c.KubernetesVersion) }},
	{KeyAddonVersions, "object", func(c *Config, r string) error { return parseStringMap(r, &c.AddonVersions) }},
	{KeyNodeInstanceTypes, "array", func(c *Config, r string) error { return parseStrings(r, &c.NodeInstanceTypes) }},
	{KeyNodeCapacityType, "string", func(c *Config, r string) error { return parseString(r, &c.NodeCapacityType) }},
	{KeyNodeMinSize, "integer", func(c *Config, r string) error { return parseInt(r, &c.NodeMinSize) }},
	{KeyNodeDesiredSize, "integer", func(c *Config, r string) error { return parseInt(r, &c.NodeDesiredSize) }},
	{KeyNodeMaxSize, "integer", func(c *Config, r string) error { return parseInt(r, &c.NodeMaxSize) }},
	{KeyNodeDiskSizeGib, "integer", func(c *Config, r string) error { return parseInt(r, &c.NodeDiskSizeGib) }},
	{KeyClusterEndpointAccess, "string", func(c *Config, r string) error { return parseString(r, &c.ClusterEndpointAccess) }},
	{KeyAdminCidrs, "array", func(c *Config, r string) error { return parseStrings(r, &c.AdminCidrs) }},
	{KeyAllowWorldOpenClusterEndpoint, "boolean", func(c *Config, r string) error { return parseBool(r, &c.AllowWorldOpenClusterEndpoint) }},
	{KeyAdminRoleArns, "array", func(c *Config, r string) error { return parseStrings(r, &c.AdminRoleArns) }},
	{KeyKubeconfigRoleArn, "string", func(c *Config, r string) error { return parseString(r, &c.KubeconfigRoleArn) }},
	{KeyKubeconfigProfile, "string", func(c *Config, r string) error { return parseString(r, &c.KubeconfigProfile) }},
	{KeyLoadBalancer, "string", func(c *Config, r string) error { return parseString(r, &c.LoadBalancer) }},
	{KeyLoadBalancerDeletionProtection, "boolean", func(c *Config, r string) error { return parseBool(r, &c.LoadBalancerDeletionProtection) }},
	{KeyAllowedCidrs, "array", func(c *Config, r string) error { return parseStrings(r, &c.AllowedCidrs) }},
	{KeyHTTPNodePort, "integer", func(c *Config, r string) error { return parseInt(r, &c.HTTPNodePort) }},
	{KeyHTTPSNodePort, "integer", func(c *Config, r string) error { return parseInt(r, &c.HTTPSNodePort) }},
	{KeyHealthCheckNodePort, "integer", func(c *Config, r string) error { return parseInt(r, &c.HealthCheckNodePort) }},
	{KeyIngressReplicas, "integer", func(c *Config, r string) error { return parseInt(r, &c.IngressReplicas) }},
	{KeyApps, "array", func(c *Config, r string) error { return parseApps(r, &c.Apps) }},
	{KeyDomain, "string", func(c *Config, r string) error { return parseString(r, &c.Domain) }},
	{KeyZoneMode, "string", func(c *Config, r string) error { return parseString(r, &c.ZoneMode) }},
	{KeyTLS, "boolean", func(c *Config, r string) error { return parseBool(r, &c.TLS) }},
	{KeyTags, "object", func(c *Config, r string) error { return parseStringMap(r, &c.Tags) }},
}
