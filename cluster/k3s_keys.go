package cluster

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/iampolicy"
	"github.com/outside-in/outside-in/internal/naming"
)

// KeyAdministrationActions are what the account (its IAM policies, through the key policy's
// root statement) may do with a k3s stack's parameters key: manage it, never use it. None of
// them encrypts, decrypts or creates a grant, which would hand out the use of the key.
// kms:PutKeyPolicy is among them: without it KMS refuses the policy as one that locks the key.
var KeyAdministrationActions = []string{
	"kms:DescribeKey",
	"kms:GetKeyPolicy",
	"kms:PutKeyPolicy",
	"kms:GetKeyRotationStatus",
	"kms:EnableKeyRotation",
	"kms:DisableKeyRotation",
	"kms:ListKeyRotations",
	"kms:ListResourceTags",
	"kms:TagResource",
	"kms:UntagResource",
	"kms:UpdateKeyDescription",
	"kms:EnableKey",
	"kms:DisableKey",
	"kms:ScheduleKeyDeletion",
	"kms:CancelKeyDeletion",
	"kms:CreateAlias",
	"kms:UpdateAlias",
	"kms:DeleteAlias",
	"kms:ListGrants",
	"kms:RevokeGrant",
}

// DeployerKeyActions are what the identity running Pulumi may do with the key: write the
// parameters (Parameter Store encrypts with the caller's rights) and read them back on refresh.
var DeployerKeyActions = []string{"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"}

// K3sKeyPolicyArgs names the principals and parameters of a k3s stack's key policy.
type K3sKeyPolicyArgs struct {
	Partition, Region, AccountID string
	// Deployer is the IAM principal running Pulumi (a role, not its session).
	Deployer string
	// ServerRoleArn and AgentRoleArn are the node roles.
	ServerRoleArn, AgentRoleArn string
	// ParameterPathPrefix is the stack's path in Parameter Store.
	ParameterPathPrefix string
}

// ParameterArn is the ARN of the parameter named name (a path starting with /).
func ParameterArn(partition, region, account, name string) string {
	return fmt.Sprintf("arn:%s:ssm:%s:%s:parameter%s", partition, region, account, name)
}

// K3sKeyPolicy is the key policy of a k3s stack's parameters key. Only the principals it names
// decrypt the parameters: not the account's other identities, which the aws/ssm key would let
// decrypt any SecureString they may get. A server decrypts only the server parameters, and only
// through Parameter Store (which puts the parameter's ARN in the encryption context); an agent,
// which runs the workloads, only the agent token.
func K3sKeyPolicy(a K3sKeyPolicyArgs) iampolicy.Document {
	viaSSM := fmt.Sprintf("ssm.%s.amazonaws.com", a.Region)
	return iampolicy.New(
		iampolicy.Statement{
			Sid:       "AccountAdministersTheKey",
			Effect:    "Allow",
			Principal: map[string][]string{"AWS": {fmt.Sprintf("arn:%s:iam::%s:root", a.Partition, a.AccountID)}},
			Action:    KeyAdministrationActions,
			Resource:  []string{"*"},
		},
		iampolicy.Statement{
			Sid:       "DeployerWritesTheParameters",
			Effect:    "Allow",
			Principal: map[string][]string{"AWS": {a.Deployer}},
			Action:    DeployerKeyActions,
			Resource:  []string{"*"},
		},
		iampolicy.Statement{
			Sid:       "ServersReadServerParameters",
			Effect:    "Allow",
			Principal: map[string][]string{"AWS": {a.ServerRoleArn}},
			Action:    []string{"kms:Decrypt"},
			Resource:  []string{"*"},
			Condition: map[string]map[string]any{
				"StringEquals": {"kms:ViaService": viaSSM},
				"StringLike": {"kms:EncryptionContext:PARAMETER_ARN": ParameterArn(a.Partition, a.Region, a.AccountID,
					a.ParameterPathPrefix+"/server/*")},
			},
		},
		iampolicy.Statement{
			Sid:       "AgentsReadTheAgentToken",
			Effect:    "Allow",
			Principal: map[string][]string{"AWS": {a.AgentRoleArn}},
			Action:    []string{"kms:Decrypt"},
			Resource:  []string{"*"},
			Condition: map[string]map[string]any{
				"StringEquals": {
					"kms:ViaService": viaSSM,
					"kms:EncryptionContext:PARAMETER_ARN": ParameterArn(a.Partition, a.Region, a.AccountID,
						a.ParameterPathPrefix+"/"+agentTokenParameter),
				},
			},
		},
	)
}

// agentTokenParameter is the one parameter agents read, under the stack's prefix.
const agentTokenParameter = "agent/token"

// parametersKey builds the stack's key for its parameters and its alias. The policy names the
// node roles, which must exist first: IAM refuses a key policy whose principal does not.
func (k *k3sBuilder) parametersKey(server, agent *iam.Role) (*kms.Key, error) {
	policy := pulumi.All(server.Arn, agent.Arn).ApplyT(func(arns []any) string {
		return K3sKeyPolicy(K3sKeyPolicyArgs{
			Partition: k.args.Partition, Region: k.args.Region, AccountID: k.args.AccountID,
			Deployer:      k.args.Deployer,
			ServerRoleArn: arns[0].(string), AgentRoleArn: arns[1].(string),
			ParameterPathPrefix: k.args.ParameterPathPrefix,
		}).JSON()
	}).(pulumi.StringOutput)
	key, err := kms.NewKey(k.ctx, naming.Child(k.name, "parameters-key"), &kms.KeyArgs{
		Description:          pulumi.Sprintf("outside-in k3s node secrets of %s in Parameter Store", k.args.Name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(7),
		Policy:               policy,
		Tags:                 k.tags("parameters-key"),
	}, k.parent, pulumi.DependsOn([]pulumi.Resource{server, agent}))
	if err != nil {
		return nil, fmt.Errorf("cluster: parameters key: %w", err)
	}
	if _, err := kms.NewAlias(k.ctx, naming.Child(k.name, "parameters-key-alias"), &kms.AliasArgs{
		Name:        pulumi.Sprintf("alias/%s-k3s-parameters", k.args.NamePrefix),
		TargetKeyId: key.KeyId,
	}, k.parent); err != nil {
		return nil, fmt.Errorf("cluster: parameters key alias: %w", err)
	}
	return key, nil
}
