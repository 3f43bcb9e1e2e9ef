package program

import (
	"fmt"
	"net/url"
	"strings"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/outside-in/outside-in/internal/envname"
)

// EnvName is the environment name of an environment stack.
func EnvName(stack string) (string, error) { return envname.FromStack(stack) }

// EnvHostLabel is the host label of an app in the environment of a stack.
func EnvHostLabel(app, stack string) (string, error) {
	env, err := envname.FromStack(stack)
	if err != nil {
		return "", err
	}
	return envname.HostLabel(app, env)
}

// checkKubeconfig checks that a kubeconfig parses and its current context names a cluster with an
// https server, without printing any of it (it holds credentials).
func checkKubeconfig(kubeconfig string) error {
	cfg, err := clientcmd.Load([]byte(kubeconfig))
	if err != nil {
		why := firstLineOf(err.Error())
		if strings.Contains(why, "Go value") || strings.Contains(why, "json:") {
			// client-go's decoder speaks of Go types; say what a kubeconfig is instead.
			why = "want a YAML document of apiVersion v1, kind Config, with clusters, users and contexts"
		}
		return fmt.Errorf("is not a kubeconfig Kubernetes clients can read (%s)", why)
	}
	ctx, ok := cfg.Contexts[cfg.CurrentContext]
	if !ok {
		return fmt.Errorf("has no current-context naming one of its contexts")
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok {
		return fmt.Errorf("has a current context whose cluster %q is not defined", ctx.Cluster)
	}
	u, err := url.Parse(cluster.Server)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("has cluster %q with server %q; an https URL is required", ctx.Cluster, cluster.Server)
	}
	return nil
}

func firstLineOf(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
