package program

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/outside-in/outside-in/network"
)

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
	KeyK3sVersion                     = "k3sVersion"
	KeyK3sServers                     = "k3sServers"
	KeyK3sServerInstanceType          = "k3sServerInstanceType"
	KeyPlatformStack                  = "platformStack"
	KeyKubeconfig                     = "kubeconfig"
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
	KeyViewRoleArns                   = "viewRoleArns"
	KeyKubeconfigRoleArn              = "kubeconfigRoleArn"
	KeyKubeconfigProfile              = "kubeconfigProfile"
	KeyLoadBalancer                   = "loadBalancer"
	KeyLoadBalancerDeletionProtection = "loadBalancerDeletionProtection"
	KeyAllowedCidrs                   = "allowedCidrs"
	KeyHTTPNodePort                   = "httpNodePort"
	KeyHTTPSNodePort                  = "httpsNodePort"
	KeyHealthCheckNodePort            = "healthCheckNodePort"
	KeyIngressReplicas                = "ingressReplicas"
	KeyRouting                        = "routing"
	KeyGatewayAPI                     = "gatewayApi"
	KeyApps                           = "apps"
	KeyDomain                         = "domain"
	KeyZoneMode                       = "zoneMode"
	KeyTLS                            = "tls"
	KeyEnvDomain                      = "envDomain"
	KeyGithubOidc                     = "githubOidc"
	KeyOwner                          = "owner"
	KeyExpiresAt                      = "expiresAt"
	KeyTags                           = "tags"
)

// Where a key means something. A key set to anything but its default in a mode it does not
// apply to is refused, so a stack file never carries settings that silently do nothing.
var (
	onAWS      = []string{ClusterModeEKS, ClusterModeK3s}
	onEKS      = []string{ClusterModeEKS}
	onK3s      = []string{ClusterModeK3s}
	onExisting = []string{ClusterModeExisting}
)

// KeySpec describes one configuration key: its Pulumi.yaml type, the modes it applies to, and
// the Config field it fills.
type KeySpec struct {
	Name string
	// Type is the Pulumi.yaml schema type: string, integer, boolean, array or object.
	Type string
	// Modes are the cluster modes the key applies to; nil means every mode.
	Modes []string
	// field returns a pointer to the Config field the key fills.
	field func(c *Config) any
	// parse, when set, reads the raw value instead of the generic reader for Type.
	parse func(c *Config, raw string) error
}

// Keys lists every configuration key the program reads.
var Keys = []KeySpec{
	{Name: KeyVpcCidr, Type: "string", Modes: onAWS, field: func(c *Config) any { return &c.VpcCidr }},
	{Name: KeyAzCount, Type: "integer", Modes: onAWS, field: func(c *Config) any { return &c.AzCount }},
	{Name: KeyAzNames, Type: "array", Modes: onAWS, field: func(c *Config) any { return &c.AzNames }},
	{Name: KeyPublicSubnetPrefixLength, Type: "integer", Modes: onAWS, field: func(c *Config) any { return &c.PublicSubnetPrefixLength }},
	{Name: KeyPrivateSubnetPrefixLength, Type: "integer", Modes: onAWS, field: func(c *Config) any { return &c.PrivateSubnetPrefixLength }},
	{Name: KeyNatStrategy, Type: "string", Modes: onAWS, field: func(c *Config) any { return &c.NatStrategy },
		parse: func(c *Config, r string) error { c.NatStrategy = network.NatStrategy(r); return nil }},
	{Name: KeyFlowLogs, Type: "string", Modes: onAWS, field: func(c *Config) any { return &c.FlowLogs },
		parse: func(c *Config, r string) error { c.FlowLogs = network.FlowLogs(r); return nil }},
	{Name: KeyFlowLogsRetentionDays, Type: "integer", Modes: onAWS, field: func(c *Config) any { return &c.FlowLogsRetentionDays }},
	{Name: KeyClusterMode, Type: "string", field: func(c *Config) any { return &c.ClusterMode }},
	{Name: KeyClusterName, Type: "string", Modes: onAWS, field: func(c *Config) any { return &c.ClusterName }},
	{Name: KeyKubernetesVersion, Type: "string", Modes: onAWS, field: func(c *Config) any { return &c.KubernetesVersion }},
	{Name: KeyAddonVersions, Type: "object", Modes: onEKS, field: func(c *Config) any { return &c.AddonVersions }},
	{Name: KeyK3sVersion, Type: "string", Modes: onK3s, field: func(c *Config) any { return &c.K3sVersion }},
	{Name: KeyK3sServers, Type: "integer", Modes: onK3s, field: func(c *Config) any { return &c.K3sServers }},
	{Name: KeyK3sServerInstanceType, Type: "string", Modes: onK3s, field: func(c *Config) any { return &c.K3sServerInstanceType }},
	{Name: KeyPlatformStack, Type: "string", Modes: onExisting, field: func(c *Config) any { return &c.PlatformStack }},
	{Name: KeyKubeconfig, Type: "string", Modes: onExisting, field: func(c *Config) any { return &c.Kubeconfig }},
	{Name: KeyNodeInstanceTypes, Type: "array", Modes: onAWS, field: func(c *Config) any { return &c.NodeInstanceTypes }},
	{Name: KeyNodeCapacityType, Type: "string", Modes: onAWS, field: func(c *Config) any { return &c.NodeCapacityType }},
	{Name: KeyNodeMinSize, Type: "integer", Modes: onAWS, field: func(c *Config) any { return &c.NodeMinSize }},
	{Name: KeyNodeDesiredSize, Type: "integer", Modes: onAWS, field: func(c *Config) any { return &c.NodeDesiredSize }},
	{Name: KeyNodeMaxSize, Type: "integer", Modes: onAWS, field: func(c *Config) any { return &c.NodeMaxSize }},
	{Name: KeyNodeDiskSizeGib, Type: "integer", Modes: onAWS, field: func(c *Config) any { return &c.NodeDiskSizeGib }},
	{Name: KeyClusterEndpointAccess, Type: "string", Modes: onAWS, field: func(c *Config) any { return &c.ClusterEndpointAccess }},
	{Name: KeyAdminCidrs, Type: "array", Modes: onAWS, field: func(c *Config) any { return &c.AdminCidrs }},
	{Name: KeyAllowWorldOpenClusterEndpoint, Type: "boolean", Modes: onAWS, field: func(c *Config) any { return &c.AllowWorldOpenClusterEndpoint }},
	{Name: KeyAdminRoleArns, Type: "array", Modes: onEKS, field: func(c *Config) any { return &c.AdminRoleArns }},
	{Name: KeyViewRoleArns, Type: "array", Modes: onEKS, field: func(c *Config) any { return &c.ViewRoleArns }},
	{Name: KeyKubeconfigRoleArn, Type: "string", Modes: onEKS, field: func(c *Config) any { return &c.KubeconfigRoleArn }},
	{Name: KeyKubeconfigProfile, Type: "string", Modes: onEKS, field: func(c *Config) any { return &c.KubeconfigProfile }},
	{Name: KeyLoadBalancer, Type: "string", field: func(c *Config) any { return &c.LoadBalancer }},
	{Name: KeyLoadBalancerDeletionProtection, Type: "boolean", Modes: onAWS, field: func(c *Config) any { return &c.LoadBalancerDeletionProtection }},
	{Name: KeyAllowedCidrs, Type: "array", Modes: onAWS, field: func(c *Config) any { return &c.AllowedCidrs }},
	{Name: KeyHTTPNodePort, Type: "integer", field: func(c *Config) any { return &c.HTTPNodePort }},
	{Name: KeyHTTPSNodePort, Type: "integer", field: func(c *Config) any { return &c.HTTPSNodePort }},
	{Name: KeyHealthCheckNodePort, Type: "integer", field: func(c *Config) any { return &c.HealthCheckNodePort }},
	{Name: KeyIngressReplicas, Type: "integer", field: func(c *Config) any { return &c.IngressReplicas }},
	{Name: KeyRouting, Type: "string", field: func(c *Config) any { return &c.Routing }},
	{Name: KeyGatewayAPI, Type: "boolean", field: func(c *Config) any { return &c.GatewayAPI }},
	{Name: KeyApps, Type: "array", field: func(c *Config) any { return &c.Apps },
		parse: func(c *Config, r string) error { return parseApps(r, &c.Apps) }},
	{Name: KeyDomain, Type: "string", field: func(c *Config) any { return &c.Domain }},
	{Name: KeyZoneMode, Type: "string", field: func(c *Config) any { return &c.ZoneMode }},
	{Name: KeyTLS, Type: "boolean", field: func(c *Config) any { return &c.TLS }},
	{Name: KeyEnvDomain, Type: "string", Modes: onAWS, field: func(c *Config) any { return &c.EnvDomain }},
	{Name: KeyGithubOidc, Type: "object", Modes: onAWS, field: func(c *Config) any { return &c.GithubOidc },
		parse: func(c *Config, r string) error { return parseGithubOidc(r, &c.GithubOidc) }},
	{Name: KeyOwner, Type: "string", field: func(c *Config) any { return &c.Owner }},
	{Name: KeyExpiresAt, Type: "string", field: func(c *Config) any { return &c.ExpiresAt }},
	{Name: KeyTags, Type: "object", Modes: onAWS, field: func(c *Config) any { return &c.Tags }},
}

// KeyNames are the names of Keys, in order.
func KeyNames() []string {
	out := make([]string, len(Keys))
	for i, k := range Keys {
		out[i] = k.Name
	}
	return out
}

// read fills the key's field from its raw value.
func (k KeySpec) read(c *Config, raw string) error {
	if k.parse != nil {
		return k.parse(c, raw)
	}
	switch p := k.field(c).(type) {
	case *string:
		*p = raw
		return nil
	case *int:
		return parseInt(raw, p)
	case *bool:
		return parseBool(raw, p)
	case *[]string:
		return parseStrings(raw, p)
	case *map[string]string:
		return parseStringMap(raw, p)
	default:
		return fmt.Errorf("outside-in: key %s has no reader for %T", k.Name, p)
	}
}

// isDefault reports whether the key's field of c holds the default value.
func (k KeySpec) isDefault(c, defaults *Config) bool {
	got := reflect.ValueOf(k.field(c)).Elem().Interface()
	want := reflect.ValueOf(k.field(defaults)).Elem().Interface()
	return reflect.DeepEqual(got, want) || isEmpty(got) && isEmpty(want)
}

func isEmpty(v any) bool {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	}
	return false
}

// appliesTo reports whether the key means something in the cluster mode.
func (k KeySpec) appliesTo(mode string) bool {
	return k.Modes == nil || slices.Contains(k.Modes, mode)
}

func modesText(modes []string) string {
	if len(modes) == 1 {
		return "clusterMode " + modes[0]
	}
	return "clusterMode " + strings.Join(modes[:len(modes)-1], ", ") + " or " + modes[len(modes)-1]
}
