package program

import (
	"encoding/json"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/kubewait"
	"github.com/outside-in/outside-in/internal/published"
)

// IngressNamespace is the ingress controller's namespace; no app may take it.
const IngressNamespace = ingress.ControllerNamespace

// Options are what differs between `pulumi up` and the offline plan.
type Options struct {
	// WaitForAPI asks a new cluster's API before the Kubernetes provider is used; nil means
	// kubewait.Wait.
	WaitForAPI cluster.APIWaiter
	// Platform reads an environment's platform's published document; nil reads it from
	// Parameter Store (published.SSM).
	Platform published.Reader
}

// Run is the Pulumi program: main.go hands it to pulumi.Run.
func Run(ctx *pulumi.Context) error {
	return RunWith(ctx, EngineConfig(ctx), Options{})
}

// RunWith runs the program on a stack's configuration: every key with its namespace, values as
// the engine hands them to a program. The offline plan and the tests call it with the
// configuration Pulumi's own loaders read from a stack file.
func RunWith(ctx *pulumi.Context, config map[string]string, opts Options) error {
	cfg, warnings, err := Parse(ctx.Project(), ctx.Stack(), config)
	for _, w := range warnings {
		// Logged before any error, so a typo'd namespace is seen beside what it caused.
		_ = ctx.Log.Warn(w, nil)
	}
	if err != nil {
		return err
	}
	if opts.WaitForAPI == nil {
		opts.WaitForAPI = kubewait.Wait
	}
	if cfg.ClusterMode == ClusterModeExisting {
		return buildOnExisting(ctx, cfg, opts)
	}
	facts, err := LookUp(ctx, cfg)
	if err != nil {
		return err
	}
	return buildOnAWS(ctx, cfg, facts, opts)
}

// EngineConfig collects the stack's configuration from the Pulumi engine. The engine passes every
// key of the stack in PULUMI_CONFIG, so keys the program does not read (typos, other
// namespaces) are seen too.
func EngineConfig(ctx *pulumi.Context) map[string]string {
	all := map[string]string{}
	if err := json.Unmarshal([]byte(os.Getenv(pulumi.EnvConfig)), &all); err != nil || len(all) == 0 {
		all = map[string]string{}
	}
	for _, k := range Keys {
		if v, ok := ctx.GetConfig(Namespace + ":" + k.Name); ok {
			all[Namespace+":"+k.Name] = v
		}
	}
	if v, ok := ctx.GetConfig("aws:region"); ok {
		all["aws:region"] = v
	}
	return all
}

// urls are the apps' URLs by name.
func urls(cfg Config, hosts map[string]pulumi.StringInput) pulumi.StringMap {
	out := pulumi.StringMap{}
	scheme := "http"
	if cfg.OnAWS() && cfg.TLS || cfg.Environment() {
		scheme = "https"
	}
	for _, a := range cfg.Apps {
		out[a.Name] = pulumi.Sprintf("%s://%s/", scheme, hosts[a.Name])
	}
	return out
}
