package fakeaws

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Answers for the resources of k3s clusters, platforms and environments.
func init() {
	for typ, answer := range map[string]func(*request) error{
		"aws:eks/podIdentityAssociation:PodIdentityAssociation": func(r *request) error {
			r.id = r.str("clusterName") + ",a-" + r.hex(17, "id")
			r.set("associationId", "a-"+r.hex(17, "id"))
			r.set("associationArn", r.arn("eks", "podidentityassociation/"+r.str("clusterName")+"/a-"+r.hex(17, "id")))
			return nil
		},
		"aws:lb/listenerCertificate:ListenerCertificate": func(r *request) error {
			r.id = r.str("listenerArn") + "_" + r.str("certificateArn")
			return nil
		},
		"aws:lb/targetGroupAttachment:TargetGroupAttachment": opaque("tg-attachment-"),
		"aws:ssm/parameter:Parameter": func(r *request) error {
			name := r.str("name")
			if !strings.HasPrefix(name, "/") || strings.Contains(name, "//") {
				return fmt.Errorf("parameter name %q: a hierarchy starts with / and has no empty level", name)
			}
			if r.str("type") != "String" && r.str("type") != "SecureString" && r.str("type") != "StringList" {
				return fmt.Errorf("parameter type %q", r.str("type"))
			}
			r.id = name
			r.set("arn", r.arn("ssm", "parameter"+name))
			r.set("tier", "Standard")
			r.set("version", 1)
			return nil
		},
		"aws:iam/instanceProfile:InstanceProfile": func(r *request) error {
			r.id = r.physicalName(128)
			r.set("arn", r.arn("iam", "instance-profile/"+r.id))
			r.set("uniqueId", "AIPA"+strings.ToUpper(r.hex(17, "unique")))
			return nil
		},
		"aws:ec2/instance:Instance": func(r *request) error {
			r.id = r.ec2ID("i")
			r.set("arn", r.arn("ec2", "instance/"+r.id))
			r.set("instanceState", "running")
			r.set("privateDns", "ip-"+strings.ReplaceAll(r.str("privateIp"), ".", "-")+"."+r.fake.opts.Region+".compute.internal")
			r.set("primaryNetworkInterfaceId", "eni-"+r.hex(17, "eni"))
			return nil
		},
		"aws:ebs/volume:Volume": func(r *request) error {
			r.id = r.ec2ID("vol")
			r.set("arn", r.arn("ec2", "volume/"+r.id))
			return nil
		},
		"aws:ec2/subnetCidrReservation:SubnetCidrReservation": func(r *request) error {
			r.id = "scr-" + r.hex(17, "id")
			r.set("ownerId", r.fake.opts.AccountID)
			return nil
		},
		"aws:ec2/volumeAttachment:VolumeAttachment": func(r *request) error {
			r.id = "vai-" + r.digits(10, "id")
			return nil
		},
		"aws:autoscaling/group:Group": func(r *request) error {
			r.id = r.physicalName(255)
			r.set("arn", r.arn("autoscaling", "autoScalingGroup:"+r.uuid("asg")+":autoScalingGroupName/"+r.id))
			return nil
		},
		"kubernetes:networking.k8s.io/v1:NetworkPolicy":                               kubernetesObject,
		"kubernetes:core/v1:ResourceQuota":                                            kubernetesObject,
		"kubernetes:core/v1:LimitRange":                                               kubernetesObject,
		"kubernetes:rbac.authorization.k8s.io/v1:ClusterRole":                         kubernetesObject,
		"kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding":                  kubernetesObject,
		"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy":        kubernetesObject,
		"kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding": kubernetesObject,
		"kubernetes:scheduling.k8s.io/v1:PriorityClass":                               kubernetesObject,
	} {
		answers[typ] = answer
	}
	// AWS's public parameters of the current Amazon Linux 2023 images; any other name is not
	// found, as in an account that has no such parameter.
	invokes["aws:ssm/getParameter:getParameter"] = func(f *Fake, args resource.PropertyMap) (map[string]any, error) {
		name := args["name"].StringValue()
		arch, ok := strings.CutPrefix(name, "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-")
		if !ok || (arch != "x86_64" && arch != "arm64") {
			return nil, fmt.Errorf("ParameterNotFound: %s", name)
		}
		r := &request{fake: f, name: name, typ: "ami"}
		return map[string]any{"id": name, "name": name, "type": "String", "value": "ami-" + r.hex(17, f.opts.Region),
			"arn": fmt.Sprintf("arn:aws:ssm:%s::parameter%s", f.opts.Region, name), "version": 1}, nil
	}
}
