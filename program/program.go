package program

import (
	"encoding/json"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/dns"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/network"
)

// IngressNamespace is the ingress controller's namespace; no app may take it.
const IngressNamespace = ingress.ControllerNamespace

// Run is the Pulumi program: main.go hands it to pulumi.Run.
func Run(ctx *pulumi.Context) error {
	return RunWith(ctx, EngineConfig(ctx))
}

// RunWith runs the program on raw configuration values (keys without the namespace). The
// offline plan and the tests call it with the values of a stack file.
func RunWith(ctx *pulumi.Context, raw map[string]string) error {
	cfg, err := Parse(ctx.Project(), ctx.Stack(), raw)
	if err != nil {
		return err
	}
	facts, err := LookUp(ctx, cfg)
	if err != nil {
		return err
	}
	return build(ctx, cfg, facts)
}

// EngineConfig collects the project's configuration from the Pulumi engine. The engine passes
// every key of the stack in PULUMI_CONFIG, so keys the program does not know (typos) are seen too.
func EngineConfig(ctx *pulumi.Context) map[string]string {
	raw := map[string]string{}
	var all map[string]string
	if err := json.Unmarshal([]byte(os.Getenv(pulumi.EnvConfig)), &all); err == nil {
		for k, v := range all {
			if name, ok := strings.CutPrefix(k, Namespace+":"); ok {
				raw[name] = v
			}
		}
	}
	for _, k := range Keys {
		if v, ok := ctx.GetConfig(Namespace + ":" + k.Name); ok {
			raw[k.Name] = v
		}
	}
	return raw
}

// build registers the layers, from the inside out, and exports the stack outputs.
func build(ctx *pulumi.Context, cfg Config, facts Facts) error {
	tags := cfg.SharedTags()
	vpc, err := network.NewVpc(ctx, "network", network.VpcArgs{
		CidrBlock:         netip.MustParsePrefix(cfg.VpcCidr),
		AvailabilityZones: facts.AZs,
		Layout: network.SubnetLayout{
			PublicPrefixLength:  cfg.PublicSubnetPrefixLength,
			PrivatePrefixLength: cfg.PrivateSubnetPrefixLength,
		},
		NatStrategy:           cfg.NatStrategy,
		FlowLogs:              cfg.FlowLogs,
		FlowLogsRetentionDays: cfg.FlowLogsRetentionDays,
		ClusterName:           cfg.ClusterName,
		NamePrefix:            cfg.NamePrefix(),
		Tags:                  tags,
	})
	if err != nil {
		return err
	}

	hosts := make([]string, len(cfg.Apps))
	for i, a := range cfg.Apps {
		hosts[i] = a.Host
	}
	// The zone and certificate wait on nothing, so they are ready by the time the cluster is.
	var zone *dns.Dns
	if cfg.ZoneMode != ZoneNone {
		zone, err = dns.NewDns(ctx, "dns", dns.DnsArgs{
			Domain:      cfg.Domain,
			Existing:    facts.Zone,
			Hostnames:   hosts,
			Certificate: cfg.TLS,
			NamePrefix:  cfg.NamePrefix(),
			Tags:        tags,
		})
		if err != nil {
			return err
		}
	}

	arch, _ := cluster.InstanceArch(cfg.NodeInstanceTypes[0]) // validated: one architecture
	var publicCidrs []string
	if cfg.ClusterEndpointAccess == EndpointPublicAndPrivate {
		publicCidrs = cfg.AdminCidrs
	}
	k8s, err := cluster.NewCluster(ctx, "cluster", cluster.ClusterArgs{
		Name:              cfg.ClusterName,
		KubernetesVersion: cfg.KubernetesVersion,
		AddonVersions:     facts.AddonVersions,
		VpcID:             vpc.VpcID,
		PrivateSubnetIDs:  vpc.PrivateSubnetIDs,
		PublicAccessCidrs: publicCidrs,
		Admins:            admins(facts.Caller, cfg.AdminRoleArns),
		Nodes: cluster.NodeGroupArgs{
			InstanceTypes: cfg.NodeInstanceTypes,
			Arch:          arch,
			CapacityType:  cfg.NodeCapacityType,
			MinSize:       cfg.NodeMinSize,
			DesiredSize:   cfg.NodeDesiredSize,
			MaxSize:       cfg.NodeMaxSize,
			DiskSizeGib:   cfg.NodeDiskSizeGib,
		},
		Region:     facts.Region,
		Partition:  facts.Partition,
		Kubeconfig: cluster.KubeconfigArgs{RoleArn: cfg.KubeconfigRoleArn, Profile: cfg.KubeconfigProfile},
		NamePrefix: cfg.NamePrefix(),
		Tags:       tags,
	})
	if err != nil {
		return err
	}

	apps := make([]ingress.AppArgs, len(cfg.Apps))
	for i, a := range cfg.Apps {
		apps[i] = ingress.AppArgs{Name: a.Name, Host: a.Host, Image: a.Image, Replicas: a.Replicas, Port: a.Port,
			HealthPath: a.HealthPath, Provider: k8s.Provider}
	}
	var certificateArn pulumi.StringInput
	if zone != nil && cfg.TLS {
		certificateArn = zone.CertificateArn
	}
	edge, err := ingress.NewIngress(ctx, "ingress", ingress.IngressArgs{
		Kind:                      ingress.LoadBalancerKind(cfg.LoadBalancer),
		TLS:                       cfg.TLS,
		CertificateArn:            certificateArn,
		VpcID:                     vpc.VpcID,
		VpcCidr:                   cfg.VpcCidr,
		PublicSubnetIDs:           vpc.PublicSubnetIDs,
		NodeSecurityGroupID:       k8s.NodeSecurityGroupID,
		NodeAutoscalingGroupNames: k8s.NodeAutoscalingGroupNames,
		AllowedCidrs:              cfg.AllowedCidrs,
		DeletionProtection:        cfg.LoadBalancerDeletionProtection,
		Ports:                     ingress.NodePorts{HTTP: cfg.HTTPNodePort, HTTPS: cfg.HTTPSNodePort, HealthCheck: cfg.HealthCheckNodePort},
		ControllerReplicas:        cfg.IngressReplicas,
		Apps:                      apps,
		Provider:                  k8s.Provider,
		NamePrefix:                cfg.NamePrefix(),
		Tags:                      tags,
	})
	if err != nil {
		return err
	}

	urls := pulumi.StringMap{}
	scheme := "http"
	if cfg.TLS {
		scheme = "https"
	}
	for _, a := range cfg.Apps {
		urls[a.Name] = pulumi.Sprintf("%s://%s/", scheme, a.Host)
	}
	ctx.Export("urls", urls)
	ctx.Export("loadBalancerDnsName", edge.LoadBalancerDNSName)
	ctx.Export("vpcId", vpc.VpcID)
	ctx.Export("publicSubnetIds", vpc.PublicSubnetIDs)
	ctx.Export("privateSubnetIds", vpc.PrivateSubnetIDs)
	ctx.Export("clusterName", k8s.Name)
	ctx.Export("kubeconfig", k8s.Kubeconfig)
	if zone != nil {
		fqdns, err := zone.AliasTo(ctx, dns.AliasTarget{DNSName: edge.LoadBalancerDNSName, ZoneID: edge.LoadBalancerZoneID})
		if err != nil {
			return err
		}
		ctx.Export("zoneId", zone.ZoneID)
		ctx.Export("nameServers", zone.NameServers)
		ctx.Export("fqdns", fqdns)
	}
	return nil
}

// admins are the principals given cluster-admin: the caller, then the configured roles.
func admins(caller string, roles []string) []string {
	out := []string{caller}
	for _, r := range roles {
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}
