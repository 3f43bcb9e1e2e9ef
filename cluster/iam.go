package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/iampolicy"
	"github.com/outside-in/outside-in/internal/naming"
)

// ClusterRolePolicies are the AWS managed policies of the control plane's role.
var ClusterRolePolicies = []string{"AmazonEKSClusterPolicy"}

// NodeRolePolicies are the AWS managed policies of the EKS nodes' role: what the kubelet, the
// VPC CNI and image pulls need. Not AmazonSSMManagedInstanceCore: it allows ssm:GetParameter(s)
// on every parameter of the account; SessionManagerPolicy gives the shell without it.
var NodeRolePolicies = []string{
	"AmazonEKSWorkerNodePolicy",
	"AmazonEKS_CNI_Policy",
	"AmazonEC2ContainerRegistryReadOnly",
}

// SessionManagerActions are what the SSM Agent on a node needs for Session Manager, and nothing
// else of Systems Manager: AWS's minimal policy in "Create a custom IAM role for Session
// Manager" (https://docs.aws.amazon.com/systems-manager/latest/userguide/getting-started-create-iam-instance-profile.html),
// without its optional kms:Decrypt, which is for sessions encrypted with a KMS key (not used here).
// SSM replaces SSH: nodes have no key pair and no port 22 open, and are reached with
// `aws ssm start-session`.
var SessionManagerActions = []string{
	"ssm:UpdateInstanceInformation",
	"ssmmessages:CreateControlChannel",
	"ssmmessages:CreateDataChannel",
	"ssmmessages:OpenControlChannel",
	"ssmmessages:OpenDataChannel",
}

// SessionManagerPolicy is the node roles' inline policy for Session Manager. The actions take
// no resource narrower than "*" (the policy AWS documents says so); none of them reads a
// parameter or a secret.
func SessionManagerPolicy() iampolicy.Document {
	return iampolicy.New(iampolicy.Statement{
		Sid:      "SessionManager",
		Effect:   "Allow",
		Action:   SessionManagerActions,
		Resource: []string{"*"},
	})
}

// sessionManager gives a node role SessionManagerPolicy; logical is the policy's logical name.
func sessionManager(ctx *pulumi.Context, logical string, role *iam.Role, parent pulumi.ResourceOption) (*iam.RolePolicy, error) {
	p, err := iam.NewRolePolicy(ctx, logical, &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: pulumi.String(SessionManagerPolicy().JSON()),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", logical, err)
	}
	return p, nil
}

// trustPolicy lets an AWS service assume a role. EKS also tags the sessions it starts.
func trustPolicy(service string) iampolicy.Document {
	doc := iampolicy.AssumeRole(service)
	if service == "eks.amazonaws.com" {
		doc.Statement[0].Action = append(doc.Statement[0].Action, "sts:TagSession")
	}
	return doc
}

// role builds a role assumed by service with the given AWS managed policies, and returns it with
// its attachments so that users of the role can wait for them.
func (b *builder) role(role, service string, policies []string) (*iam.Role, []pulumi.Resource, error) {
	r, err := iam.NewRole(b.ctx, naming.Child(b.name, role), &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(trustPolicy(service).JSON()),
		Description:      pulumi.Sprintf("outside-in %s role of EKS cluster %s", role, b.args.Name),
		Tags:             b.tags(role),
	}, b.parent)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: %s role: %w", role, err)
	}
	var attachments []pulumi.Resource
	for i, policy := range policies {
		a, err := iam.NewRolePolicyAttachment(b.ctx, naming.Child(b.name, role+"-policy", i), &iam.RolePolicyAttachmentArgs{
			Role:      r.Name,
			PolicyArn: pulumi.Sprintf("arn:%s:iam::aws:policy/%s", b.args.Partition, policy),
		}, b.parent)
		if err != nil {
			return nil, nil, fmt.Errorf("cluster: attaching %s to the %s role: %w", policy, role, err)
		}
		attachments = append(attachments, a)
	}
	return r, attachments, nil
}
