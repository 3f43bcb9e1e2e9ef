package fakeaws

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The identity the fake account reports: an engineer working through an assumed role.
const (
	defaultCallerRole = "platform-engineer"
	callerSession     = "outside-in-plan"
)

// Add-on versions the fake reports as AWS's defaults. The Kubernetes 1.35 ones are the versions
// AWS documents for that release.
var addonDefaults = map[string]map[string]string{
	"vpc-cni":    {"*": "v1.20.1-eksbuild.3"},
	"coredns":    {"*": "v1.14.3-eksbuild.3"},
	"kube-proxy": {"1.35": "v1.35.3-eksbuild.13", "1.36": "v1.36.0-eksbuild.14"},
	// Seen as the default for Kubernetes 1.30-1.34 in `aws eks describe-addon-versions` output
	// quoted in public repositories (2025-2026).
	"eks-pod-identity-agent": {"*": "v1.3.8-eksbuild.2"},
}

var invokes = map[string]func(*Fake, resource.PropertyMap) (map[string]any, error){
	"aws:index/getRegion:getRegion": func(f *Fake, _ resource.PropertyMap) (map[string]any, error) {
		r := f.opts.Region
		return map[string]any{"id": r, "name": r, "region": r, "endpoint": "ec2." + r + ".amazonaws.com", "description": r}, nil
	},
	"aws:index/getPartition:getPartition": func(*Fake, resource.PropertyMap) (map[string]any, error) {
		return map[string]any{"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}, nil
	},
	"aws:index/getCallerIdentity:getCallerIdentity": func(f *Fake, _ resource.PropertyMap) (map[string]any, error) {
		a := f.opts.AccountID
		return map[string]any{
			"id": a, "accountId": a, "userId": "AROAFAKEROLEID:" + callerSession,
			"arn": fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", a, f.callerRole(), callerSession),
		}, nil
	},
	"aws:iam/getSessionContext:getSessionContext": func(f *Fake, args resource.PropertyMap) (map[string]any, error) {
		arn := args["arn"].StringValue()
		issuer := fmt.Sprintf("arn:aws:iam::%s:role/%s", f.opts.AccountID, f.callerRole())
		return map[string]any{"id": arn, "arn": arn, "issuerArn": issuer, "issuerId": "AROAFAKEROLEID",
			"issuerName": f.callerRole(), "sessionName": callerSession}, nil
	},
	"aws:index/getAvailabilityZones:getAvailabilityZones": func(f *Fake, _ resource.PropertyMap) (map[string]any, error) {
		zones, ok := azs(f.opts.Region)
		if !ok {
			return nil, fmt.Errorf("fake AWS: no availability zones known for region %s", f.opts.Region)
		}
		var names, ids []any
		for _, z := range zones {
			names = append(names, z[0])
			ids = append(ids, z[1])
		}
		return map[string]any{"id": f.opts.Region, "names": names, "zoneIds": ids, "groupNames": names}, nil
	},
	"aws:route53/getZone:getZone": func(f *Fake, args resource.PropertyMap) (map[string]any, error) {
		name := strings.TrimSuffix(args["name"].StringValue(), ".")
		id, ok := f.opts.Zones[name]
		if !ok {
			return nil, fmt.Errorf("no matching Route 53 Hosted Zone found for %s", name)
		}
		r := &request{fake: f, name: name, typ: "zone"}
		return map[string]any{"id": id, "zoneId": id, "name": name, "privateZone": false,
			"nameServers": nameServers(r.digits(4, "ns")), "arn": "arn:aws:route53:::hostedzone/" + id}, nil
	},
	"aws:eks/getAddonVersion:getAddonVersion": func(f *Fake, args resource.PropertyMap) (map[string]any, error) {
		addon, version := args["addonName"].StringValue(), args["kubernetesVersion"].StringValue()
		byVersion, ok := addonDefaults[addon]
		if !ok {
			return nil, fmt.Errorf("fake AWS: unknown add-on %s", addon)
		}
		v, ok := byVersion[version]
		if !ok {
			v, ok = byVersion["*"]
		}
		if !ok {
			v = fmt.Sprintf("v%s.0-eksbuild.1", version)
		}
		return map[string]any{"id": addon, "addonName": addon, "kubernetesVersion": version, "version": v}, nil
	},
}

// callerRole is the role whose session runs Pulumi.
func (f *Fake) callerRole() string {
	if f.opts.CallerRole != "" {
		return f.opts.CallerRole
	}
	return defaultCallerRole
}
