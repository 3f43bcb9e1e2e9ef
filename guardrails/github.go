package guardrails

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/outside-in/outside-in/internal/envname"
	"github.com/outside-in/outside-in/internal/iampolicy"
)

// GitHubTokenIssuer is GitHub Actions' OIDC issuer; IAM names the token's claims after it
// (token.actions.githubusercontent.com:sub, :aud, :ref).
const GitHubTokenIssuer = "token.actions.githubusercontent.com"

// MainRef is the one ref whose workflows may assume a privileged CI role.
const MainRef = "refs/heads/main"

// SubjectTemplate says how GitHub builds the sub claim of the repository's tokens: which
// include_claim_keys its OIDC subject customization names.
type SubjectTemplate string

const (
	// SubjectRepoContextRef is include_claim_keys [repo, context, ref]: the default subject
	// followed by :ref:<ref>, so a job in a GitHub environment carries its ref in the subject
	// too (repo:o/r:environment:reaper:ref:refs/heads/main). The repository sets it once
	// (PUT /repos/{owner}/{repo}/actions/oidc/customization/sub).
	SubjectRepoContextRef SubjectTemplate = "repo-context-ref"
	// SubjectRepoContext is GitHub's default, repo:<repository>:<context>: a job in an
	// environment shows only the environment (repo:o/r:environment:reaper), whatever its ref,
	// so the trust checks the ref in STS's token.actions.githubusercontent.com:ref key instead.
	SubjectRepoContext SubjectTemplate = "repo-context"
)

// SubjectTemplates are the templates the trust can be built for, the default first.
var SubjectTemplates = []SubjectTemplate{SubjectRepoContextRef, SubjectRepoContext}

// ClaimKeys is the template's include_claim_keys.
func (s SubjectTemplate) ClaimKeys() []string {
	if s == SubjectRepoContext {
		return []string{"repo", "context"}
	}
	return []string{"repo", "context", "ref"}
}

// Customization is the body of GitHub's PUT /repos/{owner}/{repo}/actions/oidc/customization/sub
// that makes the repository's tokens carry this template's subject.
func (s SubjectTemplate) Customization() string {
	body := map[string]any{"use_default": true}
	if s != SubjectRepoContext {
		body = map[string]any{"use_default": false, "include_claim_keys": s.ClaimKeys()}
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // a map of a bool and strings always marshals
	}
	return string(b)
}

// GitHubOIDC is what the CI roles' trust is built from: the account's provider for GitHub's
// issuer, the repository as its tokens name it (owner/name, or owner@<id>/name@<id> with
// immutable subject claims) and the subject template the repository uses.
type GitHubOIDC struct {
	ProviderArn string
	Repository  string
	Template    SubjectTemplate
}

// PullRequestsAndMain is the trust of the environments role, the one CI role a pull request
// can obtain: jobs of the repository's pull requests (pull_request events, from a branch of the
// repository) and of main that name no GitHub environment. What it may read is therefore only
// what a pull request may read (EnvironmentStatePolicy, PublishedReadPolicy, CheckReadPolicy).
func (g GitHubOIDC) PullRequestsAndMain() iampolicy.Document {
	prefix := "repo:" + g.Repository + ":"
	subjects := []string{prefix + "pull_request", prefix + "ref:" + MainRef}
	if g.Template != SubjectRepoContext {
		subjects = []string{prefix + "pull_request:ref:refs/pull/*/merge", prefix + "ref:" + MainRef + ":ref:" + MainRef}
	}
	return g.trust(map[string]map[string]any{
		"StringEquals": {GitHubTokenIssuer + ":aud": "sts.amazonaws.com"},
		"StringLike":   {GitHubTokenIssuer + ":sub": subjects},
	})
}

// EnvironmentsOnMain is the trust of the deploy role: jobs in one of the GitHub environments,
// and only when they run on main. The environment alone would not do: any branch's workflow,
// a pull request's included, may name an environment, and unless that environment has a
// deployment branch policy GitHub issues it the environment's subject. So the ref is part of
// what is matched: in the subject (SubjectRepoContextRef) or in STS's ref claim key.
func (g GitHubOIDC) EnvironmentsOnMain(environments []string) iampolicy.Document {
	var subjects []string
	for _, e := range environments {
		sub := "repo:" + g.Repository + ":environment:" + e
		if g.Template != SubjectRepoContext {
			sub += ":ref:" + MainRef
		}
		subjects = append(subjects, sub)
	}
	equals := map[string]any{
		GitHubTokenIssuer + ":aud": "sts.amazonaws.com",
		GitHubTokenIssuer + ":sub": subjects,
	}
	if g.Template == SubjectRepoContext {
		equals[GitHubTokenIssuer+":ref"] = MainRef
	}
	return g.trust(map[string]map[string]any{"StringEquals": equals})
}

// DriftEnvironment is the GitHub environment of the scheduled drift check: its secrets hold
// the passphrase of the stacks it previews, and its deployment branch policy admits main only.
const DriftEnvironment = "drift"

// DriftOnMain is the trust of the read-only role: the drift check's job on main, in the drift
// GitHub environment. Pull requests cannot obtain it (their subjects carry pull_request or
// their branch), so what it reads (the whole account, every stack's state, every Secret of the
// platform's cluster) stays on main.
func (g GitHubOIDC) DriftOnMain() iampolicy.Document {
	return g.EnvironmentsOnMain([]string{DriftEnvironment})
}

func (g GitHubOIDC) trust(condition map[string]map[string]any) iampolicy.Document {
	return iampolicy.New(iampolicy.Statement{
		Effect:    "Allow",
		Principal: map[string][]string{"Federated": {g.ProviderArn}},
		Action:    []string{"sts:AssumeRoleWithWebIdentity"},
		Condition: condition,
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

// EnvironmentStatePolicy is the environments role's part of the backend's bucket: the stack
// names (the backend lists them), the backend's version file it reads at login, and the pull
// requests' environment stacks (pr-<number>): their state, history, backups and locks, read and
// written. No other stack's state: the platform's and prod's hold their secrets (encrypted
// with a passphrase pull-request jobs never get, but a checkpoint is more than its secrets),
// and the platform hands environments what they need through its published document.
func EnvironmentStatePolicy(partition, bucket, project string) iampolicy.Document {
	arn := fmt.Sprintf("arn:%s:s3:::%s", partition, bucket)
	var keys []string
	for _, k := range envname.StateKeys(project, envname.PullRequestPrefix) {
		keys = append(keys, arn+"/"+k)
	}
	return iampolicy.New(listState(arn),
		iampolicy.Statement{Sid: "ReadBackendVersion", Effect: "Allow", Action: []string{"s3:GetObject"}, Resource: []string{arn + "/" + BackendMetaKey}},
		iampolicy.Statement{Sid: "PullRequestStacks", Effect: "Allow", Action: []string{"s3:GetObject", "s3:PutObject", "s3:DeleteObject"}, Resource: keys})
}

// BackendMetaKey is the file a Pulumi DIY backend keeps its layout version in, read at login.
const BackendMetaKey = ".pulumi/meta.yaml"

// PublishedReadPolicy lets the environments role read its platform's published document: the
// one parameter, decrypted through Parameter Store with the document's key.
func PublishedReadPolicy(parameterArn, keyArn string) iampolicy.Document {
	return iampolicy.New(
		iampolicy.Statement{Sid: "ReadPublished", Effect: "Allow", Action: []string{"ssm:GetParameter"}, Resource: []string{parameterArn}},
		iampolicy.Statement{Sid: "DecryptPublished", Effect: "Allow", Action: []string{"kms:Decrypt"}, Resource: []string{keyArn},
			Condition: map[string]map[string]any{"StringEquals": {
				"kms:ViaService":                      "ssm." + regionOf(parameterArn) + ".amazonaws.com",
				"kms:EncryptionContext:PARAMETER_ARN": parameterArn,
			}}},
	)
}

// CheckReadPolicy is what `env check` reads of the platform's AWS path to say which hop of an
// environment's request fails: descriptions of the load balancer, its listeners, target groups
// and targets, the nodes and their security groups, the zone's records and the certificates. None of
// these calls returns a secret; the load balancing and EC2 describe calls take no resource.
func CheckReadPolicy(partition, region, account, zoneID string) iampolicy.Document {
	return iampolicy.New(
		iampolicy.Statement{Sid: "DescribeThePath", Effect: "Allow", Action: []string{
			"elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeListeners",
			"elasticloadbalancing:DescribeListenerCertificates", "elasticloadbalancing:DescribeTargetGroups",
			"elasticloadbalancing:DescribeTargetHealth", "elasticloadbalancing:DescribeInstanceHealth",
			"ec2:DescribeSecurityGroups", "ec2:DescribeInstances", "ec2:DescribeSubnets",
		}, Resource: []string{"*"}},
		iampolicy.Statement{Sid: "ReadTheZone", Effect: "Allow", Action: []string{"route53:GetHostedZone", "route53:ListResourceRecordSets"},
			Resource: []string{fmt.Sprintf("arn:%s:route53:::hostedzone/%s", partition, zoneID)}},
		iampolicy.Statement{Sid: "DescribeCertificates", Effect: "Allow", Action: []string{"acm:DescribeCertificate"},
			Resource: []string{fmt.Sprintf("arn:%s:acm:%s:%s:certificate/*", partition, region, account)}},
		// Finding the certificate that covers a host, when the listener's does not; this call
		// takes no resource.
		iampolicy.Statement{Sid: "ListCertificates", Effect: "Allow", Action: []string{"acm:ListCertificates"}, Resource: []string{"*"}},
	)
}

// PublishedKeyPolicy is the key policy of the platform's published document: the account
// administers the key (so it can never be locked out), and its principals may use it only
// through Parameter Store and only for the document's parameter; which of them may, IAM decides
// (the platform's deployer writes, the environments role reads). Nothing decrypts with it
// directly.
func PublishedKeyPolicy(partition, account, parameterArn string) iampolicy.Document {
	root := map[string][]string{"AWS": {fmt.Sprintf("arn:%s:iam::%s:root", partition, account)}}
	return iampolicy.New(
		iampolicy.Statement{Sid: "AccountAdministersTheKey", Effect: "Allow", Principal: root, Action: KeyAdministration, Resource: []string{"*"}},
		iampolicy.Statement{Sid: "UseThroughParameterStoreForTheDocument", Effect: "Allow", Principal: root,
			Action: []string{"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"}, Resource: []string{"*"},
			Condition: map[string]map[string]any{"StringEquals": {
				"kms:ViaService":                      "ssm." + regionOf(parameterArn) + ".amazonaws.com",
				"kms:EncryptionContext:PARAMETER_ARN": parameterArn,
			}}},
	)
}

// KeyAdministration are the actions that manage a KMS key without using it: AWS's "key
// administrators" set of the default key policy, spelled out, less kms:CreateGrant (a grant
// would hand out use of the key past the conditions above).
var KeyAdministration = []string{
	"kms:CreateAlias", "kms:DescribeKey", "kms:EnableKey", "kms:EnableKeyRotation", "kms:ListAliases",
	"kms:ListGrants", "kms:ListKeyPolicies", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:UpdateAlias",
	"kms:UpdateKeyDescription", "kms:RevokeGrant", "kms:DisableKey", "kms:DisableKeyRotation",
	"kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:DeleteAlias", "kms:TagResource",
	"kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
}

// regionOf is the region field of an ARN.
func regionOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[3]
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
