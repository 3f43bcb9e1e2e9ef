package fakeaws

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// request is one resource registration being answered.
type request struct {
	fake    *Fake
	name    string
	typ     string
	inputs  resource.PropertyMap
	outputs resource.PropertyMap
	id      string
}

// hex returns n deterministic hex digits for this resource; salt tells apart several values.
func (r *request) hex(n int, salt string) string {
	var out string
	for i := 0; len(out) < n; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%s|%s|%d", r.fake.stack, r.typ, r.name, salt, i)))
		out += hex.EncodeToString(sum[:])
	}
	return out[:n]
}

// digits returns n deterministic decimal digits.
func (r *request) digits(n int, salt string) string {
	h := r.hex(n, salt)
	b := []byte(h)
	for i, c := range b {
		b[i] = '0' + byte(strings.IndexByte("0123456789abcdef", c)%10)
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

func (r *request) set(key string, v any) {
	r.outputs[resource.PropertyKey(key)] = resource.NewPropertyValue(v)
}

// str is a string input, or "" when absent or not a known string. A secret is read through, as
// the provider reads it.
func (r *request) str(key string) string {
	v, ok := r.inputs[resource.PropertyKey(key)]
	if !ok {
		return ""
	}
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
			continue
		case v.IsOutput() && v.OutputValue().Known:
			v = v.OutputValue().Element
			continue
		case v.IsString():
			return v.StringValue()
		}
		return ""
	}
}

// physicalName is the "name" input, or the auto-name Pulumi would give: the logical name and
// seven random characters, cut to AWS's limit for the type.
func (r *request) physicalName(max int) string {
	if n := r.str("name"); n != "" {
		return n
	}
	suffix := "-" + r.hex(7, "name")
	base := r.name
	if len(base)+len(suffix) > max {
		base = base[:max-len(suffix)]
	}
	name := base + suffix
	r.set("name", name)
	return name
}

func (r *request) arn(service, res string) string {
	region := r.fake.opts.Region
	if service == "iam" || service == "route53" {
		region = ""
	}
	account := r.fake.opts.AccountID
	if service == "route53" {
		account = ""
	}
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, region, account, res)
}

// ec2ID is an EC2-style id: prefix and 17 hex digits.
func (r *request) ec2ID(prefix string) string { return prefix + "-" + r.hex(17, "id") }

func (r *request) uuid(salt string) string {
	h := r.hex(32, salt)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// object is an input that is an object, or an empty map.
func (r *request) object(key string) map[string]any {
	v, ok := r.inputs[resource.PropertyKey(key)]
	if !ok || !v.IsObject() {
		return map[string]any{}
	}
	return v.ObjectValue().Mappable()
}

// ec2 answers a plain EC2 resource: an id with a prefix and an ARN of the given kind.
func ec2(prefix, kind string) func(*request) error {
	return func(r *request) error {
		r.id = r.ec2ID(prefix)
		r.set("arn", r.arn("ec2", kind+"/"+r.id))
		r.set("ownerId", r.fake.opts.AccountID)
		return nil
	}
}

// opaque answers a resource AWS identifies by a composite or generated id.
func opaque(prefix string) func(*request) error {
	return func(r *request) error {
		r.id = prefix + r.hex(12, "id")
		return nil
	}
}

// answers are the fake's resource types. Each sets the id and the computed outputs.
var answers = map[string]func(*request) error{
	"aws:ec2/vpc:Vpc": func(r *request) error {
		r.id = r.ec2ID("vpc")
		r.set("arn", r.arn("ec2", "vpc/"+r.id))
		r.set("mainRouteTableId", "rtb-"+r.hex(17, "main"))
		r.set("defaultSecurityGroupId", "sg-"+r.hex(17, "default"))
		r.set("ownerId", r.fake.opts.AccountID)
		return nil
	},
	"aws:ec2/subnet:Subnet":                   ec2("subnet", "subnet"),
	"aws:ec2/internetGateway:InternetGateway": ec2("igw", "internet-gateway"),
	"aws:ec2/routeTable:RouteTable":           ec2("rtb", "route-table"),
	"aws:ec2/securityGroup:SecurityGroup":     ec2("sg", "security-group"),
	"aws:ec2/flowLog:FlowLog":                 ec2("fl", "vpc-flow-log"),
	"aws:ec2/eip:Eip": func(r *request) error {
		r.id = r.ec2ID("eipalloc")
		r.set("allocationId", r.id)
		r.set("publicIp", fmt.Sprintf("198.51.100.%d", 1+int(r.hex(2, "ip")[0])%250))
		return nil
	},
	"aws:ec2/natGateway:NatGateway": func(r *request) error {
		r.id = r.ec2ID("nat")
		r.set("publicIp", fmt.Sprintf("198.51.100.%d", 1+int(r.hex(2, "ip")[1])%250))
		return nil
	},
	"aws:ec2/route:Route": func(r *request) error {
		r.id = "r-" + r.str("routeTableId") + "1080289494"
		return nil
	},
	"aws:ec2/routeTableAssociation:RouteTableAssociation": func(r *request) error {
		r.id = r.ec2ID("rtbassoc")
		return nil
	},
	"aws:ec2/launchTemplate:LaunchTemplate": func(r *request) error {
		r.id = r.ec2ID("lt")
		r.physicalName(128)
		r.set("arn", r.arn("ec2", "launch-template/"+r.id))
		r.set("latestVersion", 1)
		r.set("defaultVersion", 1)
		return nil
	},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": func(r *request) error {
		r.id = r.ec2ID("sgr")
		r.set("securityGroupRuleId", r.id)
		return nil
	},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": func(r *request) error {
		r.id = r.ec2ID("sgr")
		r.set("securityGroupRuleId", r.id)
		return nil
	},
	"aws:cloudwatch/logGroup:LogGroup": func(r *request) error {
		r.id = r.physicalName(512)
		r.set("arn", r.arn("logs", "log-group:"+r.id))
		return nil
	},
	"aws:iam/role:Role": func(r *request) error {
		r.id = r.physicalName(64)
		r.set("arn", r.arn("iam", "role/"+r.id))
		r.set("uniqueId", "AROA"+strings.ToUpper(r.hex(17, "unique")))
		return nil
	},
	"aws:iam/rolePolicy:RolePolicy": func(r *request) error {
		r.id = r.str("role") + ":" + r.physicalName(128)
		return nil
	},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment": opaque("attachment-"),
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider": func(r *request) error {
		r.id = r.arn("iam", "oidc-provider/"+strings.TrimPrefix(r.str("url"), "https://"))
		r.set("arn", r.id)
		return nil
	},
	"aws:kms/key:Key": func(r *request) error {
		r.id = r.uuid("key")
		r.set("keyId", r.id)
		r.set("arn", r.arn("kms", "key/"+r.id))
		return nil
	},
	"aws:kms/alias:Alias": func(r *request) error {
		name := r.str("name")
		if !strings.HasPrefix(name, "alias/") || strings.HasPrefix(name, "alias/aws/") {
			return fmt.Errorf("alias name %q: it starts with alias/, and alias/aws/ is AWS's", name)
		}
		r.id = name
		r.set("arn", r.arn("kms", name))
		if key := r.str("targetKeyId"); key != "" {
			r.set("targetKeyArn", r.arn("kms", "key/"+key))
		}
		return nil
	},
	"aws:eks/cluster:Cluster": func(r *request) error {
		name := r.physicalName(100)
		r.id = name
		region := r.fake.opts.Region
		r.set("arn", r.arn("eks", "cluster/"+name))
		r.set("endpoint", fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com", strings.ToUpper(r.hex(32, "endpoint")), region))
		r.set("certificateAuthority", map[string]any{"data": base64.StdEncoding.EncodeToString([]byte("fake CA of " + name))})
		r.set("identities", []any{map[string]any{"oidcs": []any{map[string]any{
			"issuer": fmt.Sprintf("https://oidc.eks.%s.amazonaws.com/id/%s", region, strings.ToUpper(r.hex(32, "oidc"))),
		}}}})
		vpcConfig := r.object("vpcConfig")
		vpcConfig["clusterSecurityGroupId"] = "sg-" + r.hex(17, "cluster-sg")
		r.set("vpcConfig", vpcConfig)
		r.set("status", "ACTIVE")
		r.set("platformVersion", "eks.1")
		return nil
	},
	"aws:eks/accessEntry:AccessEntry": func(r *request) error {
		r.id = r.str("clusterName") + ":" + r.str("principalArn")
		r.set("accessEntryArn", r.arn("eks", "access-entry/"+r.str("clusterName")+"/"+r.hex(8, "entry")))
		return nil
	},
	"aws:eks/accessPolicyAssociation:AccessPolicyAssociation": func(r *request) error {
		r.id = r.str("clusterName") + "#" + r.str("principalArn") + "#" + r.str("policyArn")
		return nil
	},
	"aws:eks/addon:Addon": func(r *request) error {
		r.id = r.str("clusterName") + ":" + r.str("addonName")
		r.set("arn", r.arn("eks", "addon/"+r.str("clusterName")+"/"+r.str("addonName")+"/"+r.uuid("addon")))
		return nil
	},
	"aws:eks/nodeGroup:NodeGroup": func(r *request) error {
		name := r.str("nodeGroupName")
		if name == "" {
			name = r.name + "-" + r.hex(7, "name")
			r.set("nodeGroupName", name)
		}
		r.id = r.str("clusterName") + ":" + name
		r.set("arn", r.arn("eks", "nodegroup/"+r.str("clusterName")+"/"+name+"/"+r.uuid("ng")))
		r.set("status", "ACTIVE")
		r.set("resources", []any{map[string]any{"autoscalingGroups": []any{map[string]any{"name": "eks-" + name + "-" + r.uuid("asg")}}}})
		return nil
	},
	"aws:lb/loadBalancer:LoadBalancer": func(r *request) error {
		name := r.physicalName(32)
		kind, short := "app", "alb"
		if r.str("loadBalancerType") == "network" {
			kind, short = "net", "nlb"
		}
		r.id = r.arn("elasticloadbalancing", fmt.Sprintf("loadbalancer/%s/%s/%s", kind, name, r.hex(16, "arn")))
		r.set("arn", r.id)
		r.set("arnSuffix", strings.SplitN(r.id, "loadbalancer/", 2)[1])
		region := r.fake.opts.Region
		if short == "alb" {
			r.set("dnsName", fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", name, r.digits(10, "dns"), region))
		} else {
			r.set("dnsName", fmt.Sprintf("%s-%s.elb.%s.amazonaws.com", name, r.hex(16, "dns"), region))
		}
		zone, err := canonicalZone(region, short)
		if err != nil {
			return err
		}
		r.set("zoneId", zone)
		return nil
	},
	"aws:lb/targetGroup:TargetGroup": func(r *request) error {
		name := r.physicalName(32)
		r.id = r.arn("elasticloadbalancing", fmt.Sprintf("targetgroup/%s/%s", name, r.hex(16, "arn")))
		r.set("arn", r.id)
		r.set("arnSuffix", strings.SplitN(r.id, ":", 6)[5])
		return nil
	},
	"aws:lb/listener:Listener": func(r *request) error {
		r.id = strings.Replace(r.str("loadBalancerArn"), ":loadbalancer/", ":listener/", 1) + "/" + r.hex(16, "arn")
		r.set("arn", r.id)
		return nil
	},
	"aws:autoscaling/attachment:Attachment": opaque("asg-attachment-"),
	"aws:elb/loadBalancer:LoadBalancer": func(r *request) error {
		name := r.physicalName(32)
		r.id = name
		r.set("arn", r.arn("elasticloadbalancing", "loadbalancer/"+name))
		r.set("dnsName", fmt.Sprintf("%s-%s.%s.elb.amazonaws.com", name, r.digits(10, "dns"), r.fake.opts.Region))
		zone, err := canonicalZone(r.fake.opts.Region, "classic")
		if err != nil {
			return err
		}
		r.set("zoneId", zone)
		return nil
	},
	"aws:elb/loadBalancerPolicy:LoadBalancerPolicy": func(r *request) error {
		r.id = r.str("loadBalancerName") + ":" + r.str("policyName")
		return nil
	},
	"aws:elb/listenerPolicy:ListenerPolicy": func(r *request) error {
		r.id = fmt.Sprintf("%s:%v", r.str("loadBalancerName"), r.inputs["loadBalancerPort"].V)
		return nil
	},
	"aws:route53/zone:Zone": func(r *request) error {
		r.id = "Z" + strings.ToUpper(r.hex(20, "zone"))
		r.set("zoneId", r.id)
		r.set("arn", r.arn("route53", "hostedzone/"+r.id))
		r.set("nameServers", nameServers(r.digits(4, "ns")))
		return nil
	},
	"aws:route53/record:Record": func(r *request) error {
		name := strings.TrimSuffix(strings.ToLower(r.str("name")), ".")
		r.id = r.str("zoneId") + "_" + name + "_" + r.str("type")
		r.set("fqdn", name)
		return nil
	},
	"aws:acm/certificate:Certificate": func(r *request) error {
		r.id = r.arn("acm", "certificate/"+r.uuid("cert"))
		r.set("arn", r.id)
		r.set("status", "PENDING_VALIDATION")
		domains := []string{r.str("domainName")}
		if sans, ok := r.inputs["subjectAlternativeNames"]; ok && sans.IsArray() {
			for _, s := range sans.ArrayValue() {
				if s.IsString() {
					domains = append(domains, s.StringValue())
				}
			}
		}
		var options []any
		for _, d := range domains {
			token := sha256.Sum256([]byte(r.id + d))
			h := hex.EncodeToString(token[:])
			options = append(options, map[string]any{
				"domainName":          d,
				"resourceRecordName":  "_" + h[:32] + "." + d + ".",
				"resourceRecordType":  "CNAME",
				"resourceRecordValue": "_" + h[32:64] + ".jkddzztszm.acm-validations.aws.",
			})
		}
		r.set("domainValidationOptions", options)
		return nil
	},
	"aws:acm/certificateValidation:CertificateValidation": func(r *request) error {
		r.id = "2026-11-22 00:00:00 +0000 UTC"
		return nil
	},
	"pulumi:providers:kubernetes": func(r *request) error {
		r.id = r.uuid("provider")
		return nil
	},
	"kubernetes:core/v1:Namespace":             kubernetesObject,
	"kubernetes:core/v1:ConfigMap":             kubernetesObject,
	"kubernetes:apps/v1:Deployment":            kubernetesObject,
	"kubernetes:policy/v1:PodDisruptionBudget": kubernetesObject,
	"kubernetes:networking.k8s.io/v1:Ingress":  kubernetesObject,
	// The Gateway API's objects, and the CRDs' install file, which the provider fetches and
	// applies at deploy time.
	"kubernetes:gateway.networking.k8s.io/v1:GatewayClass": kubernetesObject,
	"kubernetes:gateway.networking.k8s.io/v1:Gateway":      kubernetesObject,
	"kubernetes:gateway.networking.k8s.io/v1:HTTPRoute":    kubernetesObject,
	"kubernetes:yaml/v2:ConfigFile": func(r *request) error {
		r.id = r.uuid("config-file")
		return nil
	},
	"kubernetes:core/v1:Service":    kubernetesService,
	"kubernetes:helm.sh/v3:Release": helmRelease,
}

// kubernetesObject echoes the object with the id Pulumi gives Kubernetes objects.
func kubernetesObject(r *request) error {
	meta := r.object("metadata")
	name, _ := meta["name"].(string)
	if name == "" {
		return fmt.Errorf("object has no metadata.name")
	}
	r.id = name
	if ns, _ := meta["namespace"].(string); ns != "" {
		r.id = ns + "/" + name
	}
	meta["uid"] = r.uuid("uid")
	r.set("metadata", meta)
	return nil
}

func kubernetesService(r *request) error {
	if err := kubernetesObject(r); err != nil {
		return err
	}
	spec := r.object("spec")
	spec["clusterIP"] = fmt.Sprintf("172.20.%d.%d", int(r.hex(2, "ip")[0]), 1+int(r.hex(2, "ip")[1])%250)
	r.set("spec", spec)
	return nil
}

func helmRelease(r *request) error {
	r.id = r.str("namespace") + "/" + r.str("name")
	r.set("status", map[string]any{
		"name": r.str("name"), "namespace": r.str("namespace"), "chart": r.str("chart"),
		"version": r.str("version"), "status": "deployed", "revision": 1,
	})
	return nil
}

func nameServers(n string) []any {
	return []any{
		"ns-" + n[:3] + ".awsdns-" + n[1:3] + ".com",
		"ns-" + n[1:4] + ".awsdns-" + n[2:4] + ".net",
		"ns-1" + n[:3] + ".awsdns-" + n[:2] + ".org",
		"ns-1" + n[1:4] + ".awsdns-" + n[:2] + ".co.uk",
	}
}

// setSecret sets an output the provider marks secret.
func (r *request) setSecret(key string, v any) {
	r.outputs[resource.PropertyKey(key)] = resource.MakeSecret(resource.NewPropertyValue(v))
}
