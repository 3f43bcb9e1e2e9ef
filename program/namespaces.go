package program

import (
	"fmt"
	"slices"
	"strings"

	"github.com/outside-in/outside-in/internal/awsdata"
	"github.com/outside-in/outside-in/internal/naming"
)

// AWSProviderKeys are the configuration keys of the aws provider (namespace aws), as the
// provider's SDK reads them: github.com/pulumi/pulumi-aws/sdk/v6 go/aws/config/config.go, one
// getter each (v6.83.2). TestAWSProviderKeysAreTheProvidersKeys reads that file and keeps this
// list equal to it.
var AWSProviderKeys = []string{
	"accessKey", "allowedAccountIds", "assumeRole", "assumeRoleWithWebIdentity", "customCaBundle",
	"defaultTags", "ec2MetadataServiceEndpoint", "ec2MetadataServiceEndpointMode", "endpoints",
	"forbiddenAccountIds", "httpProxy", "httpsProxy", "ignoreTags", "insecure", "maxRetries", "noProxy",
	"profile", "region", "retryMode", "s3UsEast1RegionalEndpoint", "s3UsePathStyle", "secretKey",
	"sharedConfigFiles", "sharedCredentialsFiles", "skipCredentialsValidation", "skipMetadataApiCheck",
	"skipRegionValidation", "skipRequestingAccountId", "stsRegion", "token", "tokenBucketRateLimiterCapacity",
	"useDualstackEndpoint", "useFipsEndpoint",
}

// splitNamespaces separates the outside-in keys (returned without their namespace) from the
// rest (returned as they are).
func splitNamespaces(config map[string]string) (ours, others map[string]string) {
	ours, others = map[string]string{}, map[string]string{}
	for k, v := range config {
		if name, ok := strings.CutPrefix(k, Namespace+":"); ok {
			ours[name] = v
		} else {
			others[k] = v
		}
	}
	return ours, others
}

// checkOtherNamespaces checks the aws provider's keys against the provider's own list and
// aws:region against the regions where the program runs; keys of other namespaces are not
// errors (Pulumi accepts them, and pulumi: keys are the engine's own) but nothing here reads
// them, so each gets a warning, with the namespace outside-in meant when it looks like a typo.
func checkOtherNamespaces(others map[string]string) ([]Problem, []string) {
	var problems []Problem
	var warnings []string
	for _, full := range naming.SortedKeys(others) {
		ns, key, found := strings.Cut(full, ":")
		if !found {
			problems = append(problems, Problem{Namespace: "(none)", Key: full, Value: others[full],
				Want: "has no namespace; write " + Namespace + ":" + full})
			continue
		}
		switch {
		case ns == "aws":
			if !slices.Contains(AWSProviderKeys, key) {
				problems = append(problems, Problem{Namespace: "aws", Key: key, Value: others[full], Want: awsKeyHint(key)})
			} else if key == "region" {
				region, ok := awsdata.RegionNamed(others[full])
				switch {
				case !ok:
					problems = append(problems, Problem{Namespace: "aws", Key: key, Value: others[full],
						Want: "is not a commercial AWS region where EKS runs" + closest(others[full], awsdata.RegionNames(), "; did you mean %s?")})
				case region.OptIn:
					// AWS refuses every call to a region the account has not enabled.
					warnings = append(warnings, fmt.Sprintf("aws:region %s is an opt-in region: enable it for the account first "+
						"(aws account enable-region --region-name %s), or every call to it is refused", region.Name, region.Name))
				}
			}
		case ns == "pulumi":
			// The engine's own settings (pulumi:disable-default-providers, …).
		case editDistance(ns, Namespace) <= 2:
			warnings = append(warnings, fmt.Sprintf("%s is in namespace %q, which outside-in does not read; did you mean %s:%s?", full, ns, Namespace, key))
		case ns == "kubernetes":
			warnings = append(warnings, fmt.Sprintf("%s configures the default Kubernetes provider, which outside-in never uses: every object goes through the cluster's own provider", full))
		default:
			warnings = append(warnings, fmt.Sprintf("%s is in namespace %q, which outside-in does not read", full, ns))
		}
	}
	return problems, warnings
}

func awsKeyHint(key string) string {
	return "is not a configuration key of the aws provider" + closest(key, AWSProviderKeys, "; did you mean aws:%s?")
}

// closest formats the nearest candidate (within a few edits) with format, or returns "".
func closest(s string, candidates []string, format string) string {
	best, bestDist := "", 4
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(format, best)
}
