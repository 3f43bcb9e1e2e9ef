package plan

import (
	"strings"
)

// Which input changes make Pulumi replace a resource rather than update it. Pulumi asks the
// resource's provider (its Diff); the offline plan has no provider, so this file holds what
// can be known without one:
//
//   - Kubernetes objects: the pulumi-kubernetes provider's own rules (provider/pkg/provider/
//     diff.go, forceNewProperties, and helm_release.go's Diff): every object is replaced when
//     metadata.name or metadata.namespace changes, and some kinds on a few more fields; a Helm
//     Release when its name or namespace changes.
//   - AWS resources: the properties the Terraform AWS provider, which pulumi-aws wraps, marks
//     ForceNew (RequiresReplace), for the resource types this program declares, as its resource
//     documentation states them ("Changing this forces a new resource") and its schemas in
//     internal/service/*/ declare them. Only the types and properties listed are known: a change
//     to anything else is reported as a change in place, even where the real provider would
//     replace.
//   - The tls and random providers' resources have no update: any change replaces them.

// forceNewAWS lists, per pulumi-aws type token, the input paths whose change replaces the
// resource. A path covers everything under it (vpcConfig covers vpcConfig.subnetIds[0]).
var forceNewAWS = map[string][]string{
	"aws:acm/certificate:Certificate":                         {"domainName", "subjectAlternativeNames", "validationMethod", "keyAlgorithm", "certificateAuthorityArn"},
	"aws:acm/certificateValidation:CertificateValidation":     {"certificateArn", "validationRecordFqdns"},
	"aws:autoscaling/attachment:Attachment":                   {"autoscalingGroupName", "elb", "lbTargetGroupArn"},
	"aws:autoscaling/group:Group":                             {"name", "namePrefix"},
	"aws:cloudwatch/logGroup:LogGroup":                        {"name", "namePrefix", "logGroupClass"},
	"aws:ebs/volume:Volume":                                   {"availabilityZone", "encrypted", "kmsKeyId", "snapshotId", "outpostArn"},
	"aws:ec2/eip:Eip":                                         {"domain", "vpc", "address", "networkBorderGroup", "publicIpv4Pool"},
	"aws:ec2/flowLog:FlowLog":                                 {"iamRoleArn", "logDestination", "logDestinationType", "logFormat", "maxAggregationInterval", "trafficType", "vpcId", "subnetId", "eniId", "destinationOptions"},
	"aws:ec2/instance:Instance":                               {"ami", "availabilityZone", "subnetId", "privateIp", "associatePublicIpAddress", "keyName", "placementGroup", "tenancy", "hostId", "ebsBlockDevices", "ephemeralBlockDevices", "networkInterfaces", "rootBlockDevice.encrypted", "rootBlockDevice.kmsKeyId"},
	"aws:ec2/internetGateway:InternetGateway":                 {},
	"aws:ec2/launchTemplate:LaunchTemplate":                   {"name", "namePrefix"},
	"aws:ec2/natGateway:NatGateway":                           {"allocationId", "subnetId", "connectivityType", "privateIp"},
	"aws:ec2/route:Route":                                     {"routeTableId", "destinationCidrBlock", "destinationIpv6CidrBlock", "destinationPrefixListId"},
	"aws:ec2/routeTable:RouteTable":                           {"vpcId"},
	"aws:ec2/routeTableAssociation:RouteTableAssociation":     {"subnetId", "gatewayId"},
	"aws:ec2/securityGroup:SecurityGroup":                     {"name", "namePrefix", "description", "vpcId"},
	"aws:ec2/subnet:Subnet":                                   {"vpcId", "cidrBlock", "availabilityZone", "availabilityZoneId"},
	"aws:ec2/subnetCidrReservation:SubnetCidrReservation":     {"cidrBlock", "description", "reservationType", "subnetId"},
	"aws:ec2/volumeAttachment:VolumeAttachment":               {"deviceName", "instanceId", "volumeId"},
	"aws:ec2/vpc:Vpc":                                         {"cidrBlock", "ipv4IpamPoolId", "ipv4NetmaskLength"},
	"aws:eks/accessEntry:AccessEntry":                         {"clusterName", "principalArn", "type"},
	"aws:eks/accessPolicyAssociation:AccessPolicyAssociation": {"clusterName", "policyArn", "principalArn", "accessScope"},
	"aws:eks/addon:Addon":                                     {"addonName", "clusterName"},
	"aws:eks/cluster:Cluster":                                 {"name", "roleArn", "encryptionConfig", "kubernetesNetworkConfig", "outpostConfig", "bootstrapSelfManagedAddons", "accessConfig.bootstrapClusterCreatorAdminPermissions"},
	"aws:eks/nodeGroup:NodeGroup":                             {"clusterName", "nodeGroupName", "nodeGroupNamePrefix", "nodeRoleArn", "subnetIds", "amiType", "capacityType", "diskSize", "instanceTypes", "remoteAccess", "launchTemplate.id", "launchTemplate.name"},
	"aws:eks/podIdentityAssociation:PodIdentityAssociation":   {"clusterName", "namespace", "serviceAccount"},
	"aws:elb/listenerPolicy:ListenerPolicy":                   {"loadBalancerName", "loadBalancerPort"},
	"aws:elb/loadBalancer:LoadBalancer":                       {"name", "namePrefix", "internal"},
	"aws:elb/loadBalancerPolicy:LoadBalancerPolicy":           {"loadBalancerName", "policyName", "policyTypeName"},
	"aws:iam/instanceProfile:InstanceProfile":                 {"name", "namePrefix", "path"},
	"aws:iam/openIdConnectProvider:OpenIdConnectProvider":     {"url"},
	"aws:iam/role:Role":                                       {"name", "namePrefix", "path"},
	"aws:iam/rolePolicy:RolePolicy":                           {"name", "namePrefix", "role"},
	"aws:iam/rolePolicyAttachment:RolePolicyAttachment":       {"role", "policyArn"},
	"aws:kms/key:Key":                                         {"customerMasterKeySpec", "keyUsage", "multiRegion", "customKeyStoreId", "xksKeyId"},
	"aws:lb/listener:Listener":                                {"loadBalancerArn"},
	"aws:lb/listenerCertificate:ListenerCertificate":          {"certificateArn", "listenerArn"},
	"aws:lb/loadBalancer:LoadBalancer":                        {"name", "namePrefix", "internal", "loadBalancerType"},
	"aws:lb/targetGroup:TargetGroup":                          {"name", "namePrefix", "port", "protocol", "protocolVersion", "vpcId", "targetType", "ipAddressType"},
	"aws:lb/targetGroupAttachment:TargetGroupAttachment":      {"targetGroupArn", "targetId", "port", "availabilityZone"},
	"aws:route53/record:Record":                               {"zoneId", "name"},
	"aws:route53/zone:Zone":                                   {"name", "delegationSetId"},
	"aws:ssm/parameter:Parameter":                             {"name", "dataType"},
}

// replaceAll lists the providers whose resources have no update at all.
var replaceAll = []string{"tls:", "random:"}

// forceNewKubernetes is pulumi-kubernetes' table of fields, past metadata.name and namespace,
// whose change replaces an object, by group, version and kind ("core" for the core group).
var forceNewKubernetes = map[string][]string{
	"apps/v1/DaemonSet":             append([]string{"spec.selector"}, labelSelector("spec.selector")...),
	"apps/v1/Deployment":            append([]string{"spec.selector"}, labelSelector("spec.selector")...),
	"apps/v1/StatefulSet":           append([]string{"spec.podManagementPolicy", "spec.revisionHistoryLimit", "spec.selector", "spec.serviceName", "spec.volumeClaimTemplates"}, labelSelector("spec.selector")...),
	"batch/v1/Job":                  append([]string{"spec.completions", "spec.parallelism", "spec.selector", "spec.template"}, labelSelector("spec.selector")...),
	"core/v1/PersistentVolumeClaim": append([]string{"spec.accessModes", "spec.selector", "spec.storageClassName", "spec.volumeName"}, labelSelector("spec.selector")...),
	"core/v1/Pod": append([]string{
		"spec.affinity", "spec.automountServiceAccountToken", "spec.dnsConfig", "spec.dnsPolicy",
		"spec.enableServiceLinks", "spec.hostAliases", "spec.hostIPC", "spec.hostNetwork", "spec.hostPID",
		"spec.hostname", "spec.imagePullSecrets", "spec.nodeName", "spec.nodeSelector", "spec.overhead",
		"spec.preemptionPolicy", "spec.priority", "spec.priorityClassName", "spec.readinessGates",
		"spec.restartPolicy", "spec.runtimeClassName", "spec.schedulerName", "spec.securityContext",
		"spec.serviceAccount", "spec.serviceAccountName", "spec.shareProcessNamespace", "spec.subdomain",
		"spec.terminationGracePeriodSeconds", "spec.volumes",
	}, append(podContainer("spec.containers[*]"), podContainer("spec.initContainers[*]")...)...),
	"core/v1/ResourceQuota": {"spec.scopes"},
	"core/v1/Secret":        {"type"},
	"core/v1/Service":       {"spec.clusterIP"},
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding": {"roleRef"},
	"rbac.authorization.k8s.io/v1/RoleBinding":        {"roleRef"},
	"storage.k8s.io/v1/StorageClass":                  {"parameters", "provisioner"},
}

func labelSelector(prefix string) []string {
	return []string{prefix + ".matchExpressions", prefix + ".matchLabels"}
}

func podContainer(prefix string) []string {
	var out []string
	for _, f := range []string{"args", "command", "env", "image", "imagePullPolicy", "lifecycle", "livenessProbe",
		"ports", "readinessProbe", "resources", "securityContext", "stdin", "stdinOnce", "terminationMessagePath",
		"terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts", "workingDir"} {
		out = append(out, prefix+"."+f)
	}
	return out
}

// rules are the replace-on-change paths of one resource, with why.
type rules struct {
	all   string // every change replaces, for this reason
	paths []string
	why   string
}

// replaceRules are the rules for a resource of the head plan; news is the head plan, for the
// resource's provider (pulumi-kubernetes' enableConfigMapMutable and enableSecretMutable).
func replaceRules(r StateResource, news map[string]StateResource) rules {
	for _, p := range replaceAll {
		if strings.HasPrefix(r.Type, p) {
			return rules{all: "the " + strings.TrimSuffix(p, ":") + " provider replaces on any change"}
		}
	}
	if r.Type == "kubernetes:helm.sh/v3:Release" || r.Type == "kubernetes:helm.sh/v4:Release" {
		return rules{paths: []string{"name", "namespace"}, why: "pulumi-kubernetes replaces a Helm release on"}
	}
	if strings.HasPrefix(r.Type, "kubernetes:") {
		return kubernetesRules(r, news)
	}
	if paths, ok := forceNewAWS[r.Type]; ok {
		// An instance's user data is updated in place (stop, modify, start) unless the
		// resource asks for a replacement.
		if r.Type == "aws:ec2/instance:Instance" && r.Inputs["userDataReplaceOnChange"] == true {
			paths = append(append([]string(nil), paths...), "userData", "userDataBase64")
		}
		return rules{paths: paths, why: "ForceNew in the AWS provider:"}
	}
	return rules{}
}

func kubernetesRules(r StateResource, news map[string]StateResource) rules {
	gvk := strings.TrimPrefix(r.Type, "kubernetes:") // core/v1:Service
	gv, kind, _ := strings.Cut(gvk, ":")
	paths := []string{"metadata.name", "metadata.namespace"}
	paths = append(paths, forceNewKubernetes[gv+"/"+kind]...)
	immutable, _ := r.Inputs["immutable"].(bool)
	provider := news[providerURN(r.Provider)].Inputs
	mutable := func(key string) bool {
		v := provider[key]
		return v == true || v == "true"
	}
	switch gv + "/" + kind {
	case "core/v1/Secret":
		if immutable || !mutable("enableSecretMutable") {
			paths = append(paths, "data", "stringData")
		}
	case "core/v1/ConfigMap":
		if immutable || !mutable("enableConfigMapMutable") {
			paths = append(paths, "data", "binaryData")
		}
	}
	return rules{paths: paths, why: "pulumi-kubernetes replaces " + kind + " on"}
}

// replaces reports whether a change at path replaces the resource, and why.
func (r rules) replaces(path string) (string, bool) {
	if r.all != "" {
		return r.all, true
	}
	for _, p := range r.paths {
		if pathCovers(p, path) {
			return r.why + " " + p, true
		}
	}
	return "", false
}

// pathCovers reports whether a change at path touches the property rule names: the path is
// the rule's property or under it, or the rule's property is under the path (a whole object
// added or removed). A [*] in the rule matches any list index; a JSON document's path inside
// a string (after ":") belongs to the string's property.
func pathCovers(rule, path string) bool {
	path, _, _ = strings.Cut(path, ":")
	rs, ps := splitPath(rule), splitPath(path)
	n := len(rs)
	if len(ps) < n {
		n = len(ps)
	}
	for i := 0; i < n; i++ {
		if rs[i] == ps[i] || rs[i] == "[*]" && strings.HasPrefix(ps[i], "[") && !strings.HasPrefix(ps[i], "[\"") {
			continue
		}
		return false
	}
	return true
}

// splitPath splits a property path into its keys and [index] parts.
func splitPath(p string) []string {
	var out []string
	for p != "" {
		switch {
		case strings.HasPrefix(p, "."):
			p = p[1:]
		case strings.HasPrefix(p, "[\""):
			end := strings.Index(p, "\"]")
			if end < 0 {
				return append(out, p)
			}
			out = append(out, p[:end+2])
			p = p[end+2:]
		case strings.HasPrefix(p, "["):
			end := strings.Index(p, "]")
			if end < 0 {
				return append(out, p)
			}
			out = append(out, p[:end+1])
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			out = append(out, p[:end])
			p = p[end:]
		}
	}
	return out
}
