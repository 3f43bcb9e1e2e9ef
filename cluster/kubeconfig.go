package cluster

import (
	"encoding/json"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/eks"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// KubeconfigArgs says how the kubeconfig authenticates: `aws eks get-token`, optionally as a
// role or with a named profile.
type KubeconfigArgs struct {
	RoleArn string
	Profile string
}

// Kubeconfig renders a kubeconfig for the cluster. It holds no credential: kubectl runs
// `aws eks get-token` for a short-lived token on each use.
func Kubeconfig(cp *eks.Cluster, region string, args KubeconfigArgs) pulumi.StringOutput {
	return pulumi.All(cp.Name, cp.Endpoint, cp.CertificateAuthority.Data().Elem()).ApplyT(func(v []any) (string, error) {
		return RenderKubeconfig(v[0].(string), v[1].(string), v[2].(string), region, args)
	}).(pulumi.StringOutput)
}

// RenderKubeconfig is the pure part of Kubeconfig.
func RenderKubeconfig(name, endpoint, caData, region string, args KubeconfigArgs) (string, error) {
	execArgs := []string{"--region", region, "eks", "get-token", "--cluster-name", name, "--output", "json"}
	if args.RoleArn != "" {
		execArgs = append(execArgs, "--role-arn", args.RoleArn)
	}
	var env []map[string]string
	if args.Profile != "" {
		env = append(env, map[string]string{"name": "AWS_PROFILE", "value": args.Profile})
	}
	exec := map[string]any{
		"apiVersion":      "client.authentication.k8s.io/v1beta1",
		"command":         "aws",
		"args":            execArgs,
		"interactiveMode": "Never",
	}
	if env != nil {
		exec["env"] = env
	}
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": name,
		"clusters": []any{map[string]any{
			"name":    name,
			"cluster": map[string]any{"server": endpoint, "certificate-authority-data": caData},
		}},
		"contexts": []any{map[string]any{
			"name":    name,
			"context": map[string]any{"cluster": name, "user": name},
		}},
		"users": []any{map[string]any{
			"name": name,
			"user": map[string]any{"exec": exec},
		}},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	return string(b), err
}
