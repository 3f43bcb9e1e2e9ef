// Package published is what a platform hands its environments without opening its state: a
// document of the platform's outputs that environments use, written by the platform's deploy
// to one SSM SecureString parameter under a KMS key of its own, which the environments role may
// read and decrypt and nothing else of the platform's may. An environment stack, `env` and
// `check` read it instead of the platform stack's state, which holds secrets (its admin
// kubeconfig, the k3s keys) that a pull request's job must never open.
package published

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// Keys are the platform outputs the document carries: what an environment's program needs
// (its domain, the controller it routes through, the environments kubeconfig) and what `check`
// needs to walk an environment's path from the outside (the load balancer, zone, region and the
// clients it must admit). The platform's admin kubeconfig is not among them, nor what only the
// platform's own check compares (its subnets, its nodes' security group): ids a preview cannot
// know would leave the whole document unknown until the resources exist.
var Keys = []string{
	"envDomain", "environmentKubeconfig", "ingressClass", "controllerNamespace", "controllerPodLabels", "routing", "gatewayApi",
	"loadBalancerDnsName", "zoneId", "nameServers", "region", "allowedCidrs",
}

// ErrNotPublished is a platform that has published nothing: gone, or never a platform.
var ErrNotPublished = errors.New("the platform has published nothing for environments")

// Reader reads a platform's published document by the platform stack's name.
type Reader interface {
	Read(ctx context.Context, platformStack string) (map[string]any, error)
}

// ParameterName is the SSM parameter a platform stack publishes to: /<project>-<stack>/environments,
// the project and stack taken from a fully qualified name (<organization>/<project>/<stack>), or
// the project given for a bare stack name. Characters SSM does not allow become dashes, as the
// stack's resource names do.
func ParameterName(project, platformStack string) string {
	parts := strings.Split(platformStack, "/")
	stack := parts[len(parts)-1]
	if len(parts) == 3 {
		project = parts[1]
	}
	return "/" + sanitize(project+"-"+stack) + "/environments"
}

var unsafe = regexp.MustCompile(`[^a-zA-Z0-9-]+`)

func sanitize(s string) string {
	return strings.Trim(unsafe.ReplaceAllString(strings.ToLower(s), "-"), "-")
}

// Document is the JSON a platform publishes for the outputs given: the Keys among them.
func Document(outputs map[string]any) (string, error) {
	doc := map[string]any{}
	for _, k := range Keys {
		if v, ok := outputs[k]; ok {
			doc[k] = v
		}
	}
	b, err := json.Marshal(doc)
	return string(b), err
}

// Parse reads a published document.
func Parse(value string) (map[string]any, error) {
	doc := map[string]any{}
	if err := json.Unmarshal([]byte(value), &doc); err != nil {
		return nil, fmt.Errorf("the published document is not a JSON object: %w", err)
	}
	return doc, nil
}

// SSM reads published documents from Parameter Store.
type SSM struct {
	// Project names a bare platform stack's project.
	Project string
	// AWS is the configuration to read with; nil loads the default one (environment,
	// profile, the role a CI job assumed).
	AWS *aws.Config
}

// Read returns the platform's document, ErrNotPublished when its parameter does not exist.
func (s SSM) Read(ctx context.Context, platformStack string) (map[string]any, error) {
	var cfg aws.Config
	if s.AWS != nil {
		cfg = s.AWS.Copy()
	} else {
		var err error
		if cfg, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, fmt.Errorf("loading the AWS configuration: %w", err)
		}
	}
	name := ParameterName(s.Project, platformStack)
	if cfg.Region == "" {
		return nil, fmt.Errorf("reading %s: no AWS region; set AWS_REGION to the platform's region", name)
	}
	out, err := ssm.NewFromConfig(cfg).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name), WithDecryption: aws.Bool(true)})
	var missing *ssmtypes.ParameterNotFound
	if errors.As(err, &missing) {
		return nil, fmt.Errorf("%w (no parameter %s in %s)", ErrNotPublished, name, cfg.Region)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return Parse(aws.ToString(out.Parameter.Value))
}

// Fixed is a reader of documents held in memory, by platform stack name: the offline plan's,
// whose platform is planned beside its environment.
type Fixed map[string]map[string]any

// Read returns the document held for the platform, ErrNotPublished when none is.
func (f Fixed) Read(_ context.Context, platformStack string) (map[string]any, error) {
	doc, ok := f[platformStack]
	if !ok {
		return nil, fmt.Errorf("%w (%s)", ErrNotPublished, platformStack)
	}
	return doc, nil
}
