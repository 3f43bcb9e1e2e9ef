package guardrails

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/outside-in/outside-in/internal/envname"
	"github.com/outside-in/outside-in/internal/iampolicy"
)

// GitHubTokenIssuer is GitHub Actions' OIDC issuer.
const GitHubTokenIssuer = "token.actions.githubusercontent.com"

// GitHubTrust lets GitHub Actions workflows of one repository assume a role, from the given
// subjects only (repo:<owner/name>:pull_request, …:environment:<name>, …).
func GitHubTrust(providerArn, repository string, subjects []string) iampolicy.Document {
	subs := make([]string, len(subjects))
	for i, s := range subjects {
		subs[i] = "repo:" + repository + ":" + s
	}
	return iampolicy.New(iampolicy.Statement{
		Effect:    "Allow",
		Principal: map[string][]string{"Federated": {providerArn}},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: map[string]map[string]any{
			"StringEquals": {GitHubTokenIssuer + ":aud": "sts.amazonaws.com"},
			"StringLike":   {GitHubTokenIssuer + ":sub": subs},
		},
	})
}

// The CI roles a platform with githubOidc makes; the deploy role only with GitHub environments.
const (
	CIEnvironments = "ci-environments"
	CIReadOnly     = "ci-readonly"
	CIDeploy       = "ci-deploy"
)

// CIRoleName is the IAM name of one of the stack's CI roles, <project>-<stack>-<kind>: fixed,
// so that the program knows the roles' ARNs before they exist and can tell when one of them is
// running it. IAM role names are unique in the account and at most 64 characters; a longer
// name keeps its start and ends with a hash of the whole.
func CIRoleName(namePrefix, kind string) string {
	name := namePrefix + "-" + kind
	if len(name) <= 64 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:64-9] + "-" + hex.EncodeToString(sum[:])[:8]
}

// StateBucketPolicy lets the deploy role read and write every stack's state in the backend's
// bucket, and nothing else of S3.
func StateBucketPolicy(partition, bucket string) iampolicy.Document {
	arn := fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
	return iampolicy.New(
		listState(arn),
		iampolicy.Statement{Sid: "ReadWriteState", Effect: "Allow", Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Resource: []string{arn + "/*"}},
	)
}

// StateReadPolicy lets the read-only role read the stacks' state: a preview, even with
// --refresh, takes no lock and writes nothing.
func StateReadPolicy(partition, bucket string) iampolicy.Document {
	arn := fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
	return iampolicy.New(listState(arn), readState(arn))
}

// EnvironmentStatePolicy lets the environments role read every stack's state (an environment
// reads its platform's outputs) and write only the pull requests' environment stacks
// (pr-<number>), so a pull request's job cannot rewrite the state of the platform or of any
// other long-lived stack.
func EnvironmentStatePolicy(partition, bucket, project string) iampolicy.Document {
	arn := fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
	var keys []string
	for _, k := range envname.StateKeys(project, envname.PullRequestPrefix) {
		keys = append(keys, arn+"/"+k)
	}
	return iampolicy.New(listState(arn), readState(arn),
		iampolicy.Statement{Sid: "WritePullRequestStacks", Effect: "Allow", Action: []string{"s3:PutObject", "s3:DeleteObject"}, Resource: keys})
}

func listState(bucketArn string) iampolicy.Statement {
	return iampolicy.Statement{Sid: "ListState", Effect: "Allow", Action: []string{"s3:ListBucket", "s3:GetBucketLocation"}, Resource: []string{bucketArn}}
}

func readState(bucketArn string) iampolicy.Statement {
	return iampolicy.Statement{Sid: "ReadState", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{bucketArn + "/*"}}
}

// DeployManagedPolicies and DeployInlinePolicy are what `pulumi up` of a full stack needs (the
// README's prerequisites list the same). AWS has no managed policy for EKS, KMS key
// administration or SSM parameters, hence the inline part.
var DeployManagedPolicies = []string{
	"AmazonEC2FullAccess", "IAMFullAccess", "AmazonRoute53FullAccess",
	"AWSCertificateManagerFullAccess", "CloudWatchLogsFullAccess",
}

// DeployInlinePolicy covers EKS, KMS keys, SSM parameters and the caller identity.
func DeployInlinePolicy() iampolicy.Document {
	return iampolicy.New(iampolicy.Statement{
		Sid:      "ClusterKeysParameters",
		Effect:   "Allow",
		Action:   []string{"eks:*", "kms:*", "ssm:GetParameter", "ssm:GetParameters", "ssm:PutParameter", "ssm:DeleteParameter", "ssm:AddTagsToResource", "ssm:RemoveTagsFromResource", "ssm:ListTagsForResource", "ssm:DescribeParameters", "sts:GetCallerIdentity"},
		Resource: []string{"*"},
	})
}
