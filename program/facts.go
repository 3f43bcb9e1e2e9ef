package program

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/dns"
	"github.com/outside-in/outside-in/internal/awsdata"
	"github.com/outside-in/outside-in/network"
)

// Facts are what the program reads from the account before it registers anything: a lookup that
// fails stops the program with nothing created.
type Facts struct {
	Region    string
	Partition string
	AccountID string
	// AZs are the availability zones the stack uses, in order.
	AZs []string
	// Caller is the IAM principal running Pulumi (the role behind an assumed-role session).
	Caller        string
	Zone          *dns.ExistingZone
	AddonVersions map[string]string
	// AMIs are the current Amazon Linux 2023 images of the architectures the stack's own EC2
	// instances run: k3s nodes, the NAT instance.
	AMIs map[cluster.Arch]string
}

// NatInstanceType is the NAT instance's type: Graviton, 1 GiB, ample for forwarding a developer
// stack's egress.
const NatInstanceType = "t4g.micro"

// AMIParameter is AWS's public SSM parameter naming the current Amazon Linux 2023 image of an
// architecture.
func AMIParameter(a cluster.Arch) string {
	return "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-" + string(a)
}

// LookUp reads the facts the configuration needs from the account and region.
func LookUp(ctx *pulumi.Context, cfg Config) (Facts, error) {
	var f Facts
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return f, fmt.Errorf("looking up the region: %w", err)
	}
	partition, err := aws.GetPartition(ctx, nil)
	if err != nil {
		return f, fmt.Errorf("looking up the partition: %w", err)
	}
	caller, err := aws.GetCallerIdentity(ctx, nil)
	if err != nil {
		return f, fmt.Errorf("looking up the caller identity: %w", err)
	}
	session, err := iam.GetSessionContext(ctx, &iam.GetSessionContextArgs{Arn: caller.Arn})
	if err != nil {
		return f, fmt.Errorf("looking up the IAM principal behind %s: %w", caller.Arn, err)
	}
	f.Region, f.Partition, f.AccountID, f.Caller = region.Name, partition.Partition, caller.AccountId, session.IssuerArn
	if _, ok := awsdata.RegionNamed(f.Region); !ok {
		// The region came from the environment (AWS_REGION), not aws:region, which Parse checks.
		return f, &ConfigError{Stack: cfg.Stack, Problems: []Problem{{Namespace: "aws", Key: "region", Value: f.Region,
			Want: "is not a commercial AWS region where EKS runs; set aws:region to one of " + strings.Join(awsdata.RegionNames(), ", ")}}}
	}

	if f.AZs, err = chooseAZs(ctx, cfg, f.Region); err != nil {
		return f, err
	}
	if cfg.ZoneMode == ZoneExisting {
		zone, err := route53.LookupZone(ctx, &route53.LookupZoneArgs{Name: pulumi.StringRef(cfg.Domain), PrivateZone: pulumi.BoolRef(false)})
		if err != nil {
			return f, &ConfigError{Stack: cfg.Stack, Problems: []Problem{{Key: KeyDomain, Value: cfg.Domain,
				Want: fmt.Sprintf("has no public hosted zone in account %s (zoneMode existing); create one or set zoneMode to create", f.AccountID)}}}
		}
		f.Zone = &dns.ExistingZone{ID: zone.ZoneId, NameServers: zone.NameServers}
	}
	if cfg.ClusterMode == ClusterModeEKS {
		if f.AddonVersions, err = cluster.ResolveAddonVersions(ctx, cfg.KubernetesVersion, cfg.AddonVersions); err != nil {
			return f, err
		}
	}
	if f.AMIs, err = lookUpAMIs(ctx, cfg); err != nil {
		return f, err
	}
	return f, nil
}

// lookUpAMIs reads the current Amazon Linux 2023 image of each architecture the stack's own
// instances run (none for EKS nodes, whose images EKS chooses).
func lookUpAMIs(ctx *pulumi.Context, cfg Config) (map[cluster.Arch]string, error) {
	out := map[cluster.Arch]string{}
	var arches []cluster.Arch
	if cfg.ClusterMode == ClusterModeK3s {
		agents, _ := cluster.InstanceArch(cfg.NodeInstanceTypes[0])
		servers, _ := cluster.InstanceArch(k3sServerType(cfg, agents))
		arches = append(arches, agents, servers)
	}
	if cfg.NatStrategy == network.NatInstance {
		nat, err := natArch()
		if err != nil {
			return nil, err
		}
		arches = append(arches, nat)
	}
	for _, arch := range arches {
		if out[arch] != "" {
			continue
		}
		p, err := ssm.LookupParameter(ctx, &ssm.LookupParameterArgs{Name: AMIParameter(arch)})
		if err != nil {
			return nil, fmt.Errorf("looking up the Amazon Linux 2023 image for %s (%s): %w", arch, AMIParameter(arch), err)
		}
		out[arch] = p.Value
	}
	return out, nil
}

// chooseAZs takes the configured AZ names, or the region's first azCount AZs where EKS runs.
func chooseAZs(ctx *pulumi.Context, cfg Config, region string) ([]string, error) {
	res, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{
		State: pulumi.StringRef("available"),
		// Local and Wavelength zones are opt-in; only regular AZs are used.
		Filters: []aws.GetAvailabilityZonesFilter{{Name: "opt-in-status", Values: []string{"opt-in-not-required"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("looking up the availability zones of %s: %w", region, err)
	}
	var usable []string
	for i, name := range res.Names {
		if i < len(res.ZoneIds) && slices.Contains(awsdata.EKSUnsupportedAZIDs, res.ZoneIds[i]) {
			continue
		}
		usable = append(usable, name)
	}
	if len(cfg.AzNames) > 0 {
		var problems []Problem
		for i, az := range cfg.AzNames {
			if !slices.Contains(usable, az) {
				problems = append(problems, Problem{Key: fmt.Sprintf("%s[%d]", KeyAzNames, i), Value: az,
					Want: fmt.Sprintf("is not an available AZ of %s that EKS supports; use one of %s", region, strings.Join(usable, ", "))})
			}
		}
		if problems != nil {
			return nil, &ConfigError{Stack: cfg.Stack, Problems: problems}
		}
		return cfg.AzNames, nil
	}
	if len(usable) < cfg.AzCount {
		return nil, &ConfigError{Stack: cfg.Stack, Problems: []Problem{{Key: KeyAzCount, Value: fmt.Sprint(cfg.AzCount),
			Want: fmt.Sprintf("is more than the %d AZs of %s that EKS supports (%s)", len(usable), region, strings.Join(usable, ", "))}}}
	}
	return usable[:cfg.AzCount], nil
}
