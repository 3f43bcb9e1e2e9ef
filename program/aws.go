package program

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/apps"
	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/dns"
	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/network"
)

// buildOnAWS registers a full stack, from the inside out: network, DNS (which waits on nothing,
// so the certificates validate while the cluster builds), cluster, ingress, apps, the alias
// records, and the guard that makes a protected stack's destroy refuse up front.
func buildOnAWS(ctx *pulumi.Context, cfg Config, facts Facts, opts Options) error {
	registered, err := track(ctx)
	if err != nil {
		return err
	}
	tags := cfg.SharedTags()
	nat, err := natArch()
	if err != nil {
		return err
	}
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
		Partition:             facts.Partition,
		Region:                facts.Region,
		AccountID:             facts.AccountID,
		NatInstance:           network.NatInstanceArgs{AMI: facts.AMIs[nat], InstanceType: NatInstanceType},
	})
	if err != nil {
		return err
	}

	hosts := make([]string, len(cfg.Apps))
	hostInputs := map[string]pulumi.StringInput{}
	for i, a := range cfg.Apps {
		hosts[i] = a.Host
		hostInputs[a.Name] = pulumi.String(a.Host)
	}
	var zone *dns.Dns
	if cfg.ZoneMode != ZoneNone {
		zone, err = dns.NewDns(ctx, "dns", dns.DnsArgs{
			Domain:      cfg.Domain,
			Existing:    facts.Zone,
			Hostnames:   hosts,
			Certificate: cfg.TLS,
			EnvDomain:   cfg.EnvDomain,
			NamePrefix:  cfg.NamePrefix(),
			Tags:        tags,
		})
		if err != nil {
			return err
		}
	}

	var ci ciRoles
	if cfg.GithubOidc.Repository != "" {
		if ci, err = newCIRoles(ctx, cfg, facts); err != nil {
			return err
		}
		ctx.Export("ciEnvironmentsRoleArn", ci.environments)
		if ci.deploy != nil {
			ctx.Export("ciDeployRoleArn", ci.deploy)
		}
	}
	k8s, err := newAWSCluster(ctx, cfg, facts, vpc, ci, opts)
	if err != nil {
		return err
	}
	if k8s, err = withPriorities(ctx, cfg, k8s); err != nil {
		return err
	}

	args := ingress.IngressArgs{
		Kind:                      ingress.LoadBalancerKind(cfg.LoadBalancer),
		TLS:                       cfg.TLS,
		VpcID:                     vpc.VpcID,
		PublicSubnetIDs:           vpc.PublicSubnetIDs,
		PublicSubnetCidrs:         publicSubnetCidrs(vpc.Subnets),
		ClusterCidrs:              clusterCidrs(cfg),
		NodeSecurityGroupID:       k8s.NodeSecurityGroupID,
		NodeAutoscalingGroupNames: k8s.NodeAutoscalingGroupNames,
		AllowedCidrs:              cfg.AllowedCidrs,
		DeletionProtection:        cfg.LoadBalancerDeletionProtection,
		Ports:                     nodePorts(cfg),
		ControllerReplicas:        cfg.IngressReplicas,
		GatewayAPI:                cfg.GatewayAPI,
		Gateway:                   gatewayArgs(cfg),
		Provider:                  k8s.Provider,
		Ready:                     k8s.Ready,
		NamePrefix:                cfg.NamePrefix(),
		Tags:                      tags,
	}
	if zone != nil && cfg.TLS {
		args.CertificateArns = zone.CertificateArns
		args.Certificates = len(dns.CertificateGroups(hosts))
		if cfg.EnvDomain != "" {
			args.Certificates++
		}
	}
	edge, err := ingress.NewIngress(ctx, "ingress", args)
	if err != nil {
		return err
	}
	_, err = buildApps(ctx, cfg, hostInputs, k8s, platformController(edge), nil,
		// Apps were children of the ingress component before they became a layer of their own;
		// the alias keeps the objects of stacks deployed then (children follow their parent).
		pulumi.Aliases([]pulumi.Alias{{Type: pulumi.String("outside-in:ingress:App"), Parent: edge}}))
	if err != nil {
		return err
	}

	ctx.Export("urls", urls(cfg, hostInputs))
	exportRouting(ctx, cfg.Routing)
	// What check compares the deployed path with: the load balancer, the region to read, the
	// clients it must admit, its subnets, the nodes' group that must admit the load balancer.
	// A platform publishes those an environment's check needs too (published.Keys).
	shared := pulumi.Map{
		"loadBalancerDnsName": edge.LoadBalancerDNSName,
		"region":              pulumi.String(facts.Region),
		"allowedCidrs":        pulumi.ToStringArray(cfg.AllowedCidrs),
		"publicSubnetIds":     vpc.PublicSubnetIDs,
		"nodeSecurityGroupId": k8s.NodeSecurityGroupID,
	}
	ctx.Export("vpcId", vpc.VpcID)
	ctx.Export("privateSubnetIds", vpc.PrivateSubnetIDs)
	ctx.Export("clusterName", k8s.Name)
	ctx.Export("kubeconfig", k8s.Kubeconfig)
	if zone != nil {
		fqdns, err := zone.AliasTo(ctx, dns.AliasTarget{DNSName: edge.LoadBalancerDNSName, ZoneID: edge.LoadBalancerZoneID})
		if err != nil {
			return err
		}
		shared["zoneId"] = zone.ZoneID
		shared["nameServers"] = zone.NameServers
		ctx.Export("fqdns", fqdns)
	}
	for k, v := range shared {
		ctx.Export(k, v)
	}
	if cfg.EnvDomain != "" {
		if err := exportPlatform(ctx, cfg, facts, k8s, shared, ci); err != nil {
			return err
		}
	}
	return GuardDeletion(ctx, cfg.LoadBalancerDeletionProtection, registered.all())
}

// newAWSCluster builds the cluster of an eks or k3s stack.
func newAWSCluster(ctx *pulumi.Context, cfg Config, facts Facts, vpc *network.Vpc, ci ciRoles, opts Options) (*cluster.Result, error) {
	arch, _ := cluster.InstanceArch(cfg.NodeInstanceTypes[0]) // validated: one architecture
	var publicCidrs []string
	if cfg.ClusterEndpointAccess == EndpointPublicAndPrivate {
		publicCidrs = cfg.AdminCidrs
	}
	nodes := cluster.NodeGroupArgs{
		InstanceTypes: cfg.NodeInstanceTypes,
		Arch:          arch,
		CapacityType:  cfg.NodeCapacityType,
		MinSize:       cfg.NodeMinSize,
		DesiredSize:   cfg.NodeDesiredSize,
		MaxSize:       cfg.NodeMaxSize,
		DiskSizeGib:   cfg.NodeDiskSizeGib,
	}
	if cfg.ClusterMode == ClusterModeK3s {
		release, ok := cluster.K3sReleaseOf(cfg.K3sVersion)
		if !ok {
			return nil, fmt.Errorf("k3s release %s is unknown", cfg.K3sVersion) // validate refuses it first
		}
		return cluster.NewK3s(ctx, "cluster", cluster.K3sArgs{
			Name:                cfg.ClusterName,
			Release:             release,
			Servers:             cfg.K3sServers,
			ServerInstanceType:  k3sServerType(cfg, arch),
			AMIs:                facts.AMIs,
			Nodes:               nodes,
			VpcID:               vpc.VpcID,
			VpcCidr:             cfg.VpcCidr,
			PrivateSubnetIDs:    vpc.PrivateSubnetIDs,
			PublicSubnetIDs:     vpc.PublicSubnetIDs,
			Subnets:             vpc.Subnets,
			PublicAccessCidrs:   publicCidrs,
			ParameterPathPrefix: "/" + cfg.NamePrefix() + "/k3s",
			Deployer:            facts.Caller,
			Region:              facts.Region,
			Partition:           facts.Partition,
			AccountID:           facts.AccountID,
			WaitForAPI:          opts.WaitForAPI,
			NamePrefix:          cfg.NamePrefix(),
			Tags:                cfg.SharedTags(),
		})
	}
	ciRoleArns := CIRoleArns(cfg, facts.Partition, facts.AccountID)
	eksArgs := cluster.EKSArgs{
		Name:              cfg.ClusterName,
		KubernetesVersion: cfg.KubernetesVersion,
		AddonVersions:     facts.AddonVersions,
		VpcID:             vpc.VpcID,
		PrivateSubnetIDs:  vpc.PrivateSubnetIDs,
		PublicAccessCidrs: publicCidrs,
		Admins:            admins(facts.Caller, cfg.AdminRoleArns, slices.Concat(ciRoleArns, cfg.ViewRoleArns)),
		Viewers:           without(cfg.ViewRoleArns, ciRoleArns),
		Nodes:             nodes,
		Region:            facts.Region,
		Partition:         facts.Partition,
		Kubeconfig:        cluster.KubeconfigArgs{RoleArn: cfg.KubeconfigRoleArn, Profile: cfg.KubeconfigProfile},
		WaitForAPI:        opts.WaitForAPI,
		NamePrefix:        cfg.NamePrefix(),
		Tags:              cfg.SharedTags(),
	}
	if ci.environments != nil {
		eksArgs.ExtraAccess = append(eksArgs.ExtraAccess, cluster.AccessGrant{Name: guardrails.CIEnvironments, PrincipalArn: ci.environments, KubernetesGroups: []string{cluster.EnvironmentsGroup}})
	}
	if ci.readOnly != nil {
		// The drift check refreshes the Kubernetes objects too: read access, no more. Not
		// AmazonEKSViewPolicy: it cannot read RBAC objects (the environments' ClusterRole) nor
		// Secrets, where Helm keeps its releases, so refreshing the stack would fail.
		eksArgs.ExtraAccess = append(eksArgs.ExtraAccess, cluster.AccessGrant{Name: guardrails.CIReadOnly, PrincipalArn: ci.readOnly, Policy: cluster.AdminViewPolicy})
	}
	if ci.deploy != nil {
		eksArgs.ExtraAccess = append(eksArgs.ExtraAccess, cluster.AccessGrant{Name: guardrails.CIDeploy, PrincipalArn: ci.deploy, Policy: cluster.ClusterAdminPolicy})
	}
	return cluster.NewEKS(ctx, "cluster", eksArgs)
}

// ciRoles are the CI roles of a platform with githubOidc (nil without).
type ciRoles struct {
	environments, readOnly, deploy pulumi.StringInput
	// envRole is the environments role, which the platform lets read its published document;
	// readRole the read-only role, whose drift check refreshes (so decrypts) the document.
	envRole, readRole *iam.Role
}

// buildApps declares each app behind the ingress controller, each in a namespace of its own, or
// all in the environment's.
func buildApps(ctx *pulumi.Context, cfg Config, hosts map[string]pulumi.StringInput, k8s *cluster.Result, controller apps.Controller,
	env *apps.Environment, opts ...pulumi.ResourceOption) ([]pulumi.Resource, error) {
	var out []pulumi.Resource
	for _, a := range cfg.Apps {
		app, err := apps.NewApp(ctx, a.Name, apps.AppArgs{
			Name: a.Name, Host: hosts[a.Name], Environment: env, Image: a.Image, Replicas: a.Replicas,
			Port: a.Port, HealthPath: a.HealthPath, Provider: k8s.Provider, Ready: k8s.Ready,
			Controller: controller, Routing: ingress.Routing(cfg.Routing),
			KeepHTTPRoute: cfg.Routing == string(ingress.RoutingIngress) && cfg.GatewayAPI,
		}, opts...)
		if err != nil {
			return nil, err
		}
		out = append(out, app)
	}
	return out, nil
}

// platformController is the stack's own controller, in front of its apps.
func platformController(edge *ingress.Ingress) apps.Controller {
	return apps.Controller{
		Release: edge.Controller, Gateway: edge.Gateway,
		Namespace: pulumi.String(ingress.ControllerNamespace), PodLabels: pulumi.ToStringMap(ingress.ControllerSelector),
	}
}

// gatewayArgs are the Gateway's listeners' inputs: the domain and, on a platform, the
// environments' domain.
func gatewayArgs(cfg Config) ingress.GatewayArgs {
	return ingress.GatewayArgs{Domain: cfg.Domain, EnvDomain: cfg.EnvDomain, EnvironmentLabel: guardrails.EnvironmentLabel}
}

// publicSubnetCidrs are the planned public subnets' CIDRs, in AZ order: where the load
// balancer's nodes take their addresses.
func publicSubnetCidrs(subnets []network.SubnetPair) []string {
	out := make([]string, len(subnets))
	for i, s := range subnets {
		out[i] = s.Public.String()
	}
	return out
}

// clusterCidrs are where the cluster's nodes and pods have their addresses: the VPC (nodes, and
// EKS pods through the VPC CNI) and, on k3s, flannel's pod network.
func clusterCidrs(cfg Config) []string {
	out := []string{cfg.VpcCidr}
	if cfg.ClusterMode == ClusterModeK3s {
		out = append(out, cluster.K3sPodCidr)
	}
	return out
}

func nodePorts(cfg Config) ingress.NodePorts {
	return ingress.NodePorts{HTTP: cfg.HTTPNodePort, HTTPS: cfg.HTTPSNodePort, HealthCheck: cfg.HealthCheckNodePort}
}

// k3sServerType is the configured server instance type, or a small one of the agents'
// architecture (Graviton when they are).
func k3sServerType(cfg Config, arch cluster.Arch) string {
	if cfg.K3sServerInstanceType != "" {
		return cfg.K3sServerInstanceType
	}
	if arch == cluster.ArchArm64 {
		return "t4g.small"
	}
	return "t3.small"
}

// natArch is the architecture of NatInstanceType, whose Amazon Linux image the NAT instance runs.
func natArch() (cluster.Arch, error) {
	arch, err := cluster.InstanceArch(NatInstanceType)
	if err != nil {
		return "", fmt.Errorf("the NAT instance type %s %v", NatInstanceType, err)
	}
	return arch, nil
}

// admins are the principals given cluster-admin: the identity running Pulumi, then the
// configured roles, each once. A CI role of the stack running it has its own grant: giving it
// the caller's as well would register its principal twice, which EKS refuses, and a preview by
// the read-only role would show the admin entry of whoever last deployed as a change.
//
// A role in viewRoleArns is left out the same way: it reads, whoever it runs as. So a stack that
// CI deploys (its deploy role in adminRoleArns) and previews and refreshes (its read-only role
// in viewRoleArns) declares the same entries whichever of them runs it.
func admins(caller string, roles, others []string) []string {
	return without(append([]string{caller}, roles...), others)
}

// without is list, each once, less the ARNs in drop.
func without(list, drop []string) []string {
	out := []string{}
	for _, r := range list {
		if !slices.Contains(out, r) && !slices.Contains(drop, r) {
			out = append(out, r)
		}
	}
	return out
}
