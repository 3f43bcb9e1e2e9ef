package tests

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/opthistory"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/internal/envlife"
	"github.com/outside-in/outside-in/internal/envlife/clitest"
	"github.com/outside-in/outside-in/internal/published"
	"github.com/outside-in/outside-in/offline/kubeapi"
	"github.com/outside-in/outside-in/program"
)

// engineWorld is a platform for environment stacks on the real engine: a control plane with
// the platform's nodes, guardrails and controller (real Traefik), a file backend, the real
// Pulumi CLI with the real pulumi-kubernetes provider installed, the project's Pulumi.yaml in
// a directory of the test's own, and what the platform publishes for its environments (the
// document of internal/published, held in memory where the real one is an SSM parameter; the
// Parameter Store read itself is tested against moto), its environments kubeconfig a client
// certificate of the environments group.
type engineWorld struct {
	t        *testing.T
	cp       *kubeapi.ControlPlane
	traefik  *traefik
	dir      string
	env      map[string]string
	cli      auto.PulumiCommand
	lbName   string
	platform map[string]string // what the platform publishes, by key
	// published are the platforms' documents, by platform stack: environments and the
	// lifecycle read them, never a platform's state.
	published published.Fixed
	// network is the pod network through which Traefik reaches the pods; nil where the world's
	// Traefik only builds routers.
	network *podNetwork
	entry   string // Traefik's entry point at which the load balancer's requests arrive
}

const enginePlatform = "organization/outside-in/platform"

func newEngineWorld(t *testing.T) *engineWorld {
	t.Helper()
	return newEngineWorldRouted(t, ingress.RoutingIngress)
}

// newEngineWorldRouted is an engine world whose platform routes as routing says. On routing
// gateway the platform is planned with it, Traefik runs with the Gateway provider and reaches
// the pods through a pod network, the platform's GatewayClass and Gateway are applied (the
// Gateway until Traefik accepted and programmed it, its pulumi.com/waitFor), and the platform
// publishes its routing; the world is ready once the quota controller counts HTTPRoutes,
// without which the API server refuses every HTTPRoute of a namespace with a quota.
func newEngineWorldRouted(t *testing.T, routing ingress.Routing) *engineWorld {
	t.Helper()
	cli := clitest.CLI(t)
	vars, _ := clitest.Backend(t)
	provider, err := filepath.Abs(filepath.Join(root, ".tools", "bin", "pulumi-resource-kubernetes"))
	require.NoError(t, err)
	if _, err := os.Stat(provider); err != nil {
		t.Fatalf("no pulumi-kubernetes provider at %s: run scripts/install-provider.sh", provider)
	}
	// The provider is the one installed below, at the version the SDK asks for, not whatever
	// pulumi-resource-kubernetes is on PATH (the CLI puts .tools/bin there).
	vars["PULUMI_IGNORE_AMBIENT_PLUGINS"] = "true"
	w := &engineWorld{t: t, cli: cli, env: vars, dir: t.TempDir(), published: published.Fixed{}}
	// The plugin version the program's SDK asks the engine for.
	w.pulumi("plugin", "install", "resource", "kubernetes", kubernetesPluginVersion(t), "--file", provider)
	pulumiYAML, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "Pulumi.yaml"), pulumiYAML, 0o644))

	w.cp = startControlPlaneWithGatewayAPI(t)
	ctx := t.Context()
	platform := with(stack(t, "platform"), map[string]string{program.KeyRouting: string(routing)})
	require.NoError(t, w.cp.AddNodes(ctx, nodeSet(t, platform, nil)))
	res := run(t, platform)
	objs, err := res.KubernetesObjects()
	require.NoError(t, err)
	for _, o := range objs {
		if o["kind"] == "Namespace" {
			require.NoError(t, w.cp.Apply(ctx, &unstructured.Unstructured{Object: o}))
		}
	}
	envKubeconfig, err := w.cp.Kubeconfig("ci-environments", guardrails.EnvironmentsGroup)
	require.NoError(t, err)
	applyGuardrails(t, w.cp.Server, objs, clientOf(t, envKubeconfig))
	values := object(t, controllerRelease(t, res).In("values"))
	w.lbName = text(t, get(values, "providers", "kubernetesIngress", "ingressEndpoint", "hostname"))
	w.entry = servingEntry(values)
	w.platform = map[string]string{
		program.OutputEnvDomain:             envDomain,
		program.OutputEnvironmentKubeconfig: string(envKubeconfig),
		program.OutputIngressClass:          ingress.IngressClass,
		program.OutputControllerNamespace:   ingress.ControllerNamespace,
	}
	if routing != ingress.RoutingGateway {
		w.traefik = startTraefik(t, w.cp, values)
	} else {
		require.True(t, gatewayEnabled(values), "routing gateway runs Traefik's Gateway provider")
		w.network = startPodNetwork(t, w.cp)
		w.traefik = startTraefikWith(t, w.cp, values, traefikOptions{podNetwork: w.network.URL})
		// applyGuardrails installed the Gateway API's CRDs; the platform's GatewayClass and
		// Gateway are what the platform's own update applies, here applied and awaited as the
		// switch test does (switcher's apply and waitFor need only these fields).
		sw := &switcher{t: t, cp: w.cp, tr: w.traefik}
		sw.dyn, err = dynamic.NewForConfig(w.cp.Config())
		require.NoError(t, err)
		var gateways int
		for _, kind := range []string{"GatewayClass", "Gateway"} {
			for _, o := range objs {
				if o["kind"] == kind {
					sw.apply([]map[string]any{o})
				}
			}
		}
		for _, o := range objs {
			if o["kind"] == "Gateway" {
				sw.waitFor(gatewayGVR, o)
				gateways++
			}
		}
		require.Equal(t, 1, gateways, "the platform's one Gateway")
		// The most of this world's start: the quota controller looks for new kinds every 30 s.
		waitQuotaCounts(t, w.cp.Clientset(), "count/httproutes."+ingress.GatewayAPIGroup)
		w.platform[program.OutputRouting] = string(routing)
	}
	w.upPlatform("platform", w.platform)
	return w
}

// kubernetesPluginVersion is the pulumi-kubernetes SDK version go.mod requires.
func kubernetesPluginVersion(t *testing.T) string {
	return requiredVersion(t, filepath.Join(root, "go.mod"), "github.com/pulumi/pulumi-kubernetes/sdk/v4")
}

// pulumi runs the CLI in the project directory with the world's environment.
func (w *engineWorld) pulumi(args ...string) string {
	w.t.Helper()
	var env []string
	for k, v := range w.env {
		env = append(env, k+"="+v)
	}
	stdout, stderr, _, err := w.cli.Run(context.Background(), w.dir, nil, nil, nil, env, args...)
	require.NoError(w.t, err, "pulumi %v: %s%s", args, stdout, stderr)
	return stdout
}

// upPlatform publishes (or publishes again) a platform's document for its environments, as
// the platform's deploy does.
func (w *engineWorld) upPlatform(name string, outputs map[string]string) {
	w.t.Helper()
	doc := map[string]any{program.OutputControllerPodLabels: map[string]any{}}
	for k, v := range ingress.ControllerSelector {
		doc[program.OutputControllerPodLabels].(map[string]any)[k] = v
	}
	for k, v := range outputs {
		doc[k] = v
	}
	// Through the document's own encoding, as the platform writes it and Parameter Store
	// hands it back.
	text, err := published.Document(doc)
	require.NoError(w.t, err)
	w.published["organization/outside-in/"+name], err = published.Parse(text)
	require.NoError(w.t, err)
}

// run is the project's program as env up runs it, reading the world's published documents.
func (w *engineWorld) run(ctx *pulumi.Context) error {
	return program.RunWith(ctx, program.EngineConfig(ctx), program.Options{Platform: w.published})
}

// manager runs the project's real program; its clock reads now.
func (w *engineWorld) manager(now time.Time) *envlife.Manager {
	return &envlife.Manager{WorkDir: w.dir, Program: w.run, Pulumi: w.cli, EnvVars: w.env, Platforms: w.published,
		Now: func() time.Time { return now }}
}

// apps writes the environment's apps into its stack file, where a developer adds them.
func (w *engineWorld) apps(stack, apps string) {
	w.t.Helper()
	path := filepath.Join(w.dir, "Pulumi."+stack+".yaml")
	body, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		body = []byte("config:\n")
	} else {
		require.NoError(w.t, err)
	}
	var kept []string
	skip := false
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "  outside-in:apps:") {
			skip = true
			continue
		}
		if skip && strings.HasPrefix(line, "    ") {
			continue
		}
		skip = false
		kept = append(kept, line)
	}
	out := strings.TrimRight(strings.Join(kept, "\n"), "\n") + "\n  outside-in:apps: " + apps + "\n"
	require.NoError(w.t, os.WriteFile(path, []byte(out), 0o644))
}

// lastUpdate is the resource changes of the stack's last update, as the engine counted them.
func (w *engineWorld) lastUpdate(stack string) map[string]int {
	w.t.Helper()
	ws, err := auto.NewLocalWorkspace(context.Background(), auto.WorkDir(w.dir), auto.Pulumi(w.cli), auto.EnvVars(w.env))
	require.NoError(w.t, err)
	s, err := auto.SelectStack(context.Background(), stack, ws)
	require.NoError(w.t, err)
	history, err := s.History(context.Background(), 1, 1, opthistory.ShowSecrets(false))
	require.NoError(w.t, err)
	require.Len(w.t, history, 1)
	require.NotNil(w.t, history[0].ResourceChanges)
	return *history[0].ResourceChanges
}

// resourceVersions are the resource versions of the namespace's objects, by kind/name.
func (w *engineWorld) resourceVersions(namespace string) map[string]string {
	w.t.Helper()
	ctx := w.t.Context()
	c := w.cp.Clientset()
	out := map[string]string{}
	add := func(kind string, items []metav1.Object) {
		for _, o := range items {
			out[kind+"/"+o.GetName()] = o.GetResourceVersion()
		}
	}
	deps, err := c.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	require.NoError(w.t, err)
	for i := range deps.Items {
		add("Deployment", []metav1.Object{&deps.Items[i]})
	}
	svcs, err := c.CoreV1().Services(namespace).List(ctx, metav1.ListOptions{})
	require.NoError(w.t, err)
	for i := range svcs.Items {
		add("Service", []metav1.Object{&svcs.Items[i]})
	}
	ings, err := c.NetworkingV1().Ingresses(namespace).List(ctx, metav1.ListOptions{})
	require.NoError(w.t, err)
	for i := range ings.Items {
		add("Ingress", []metav1.Object{&ings.Items[i]})
	}
	quotas, err := c.CoreV1().ResourceQuotas(namespace).List(ctx, metav1.ListOptions{})
	require.NoError(w.t, err)
	for i := range quotas.Items {
		add("ResourceQuota", []metav1.Object{&quotas.Items[i]})
	}
	return out
}

func (w *engineWorld) namespaceGone(name string) bool {
	_, err := w.cp.Clientset().CoreV1().Namespaces().Get(w.t.Context(), name, metav1.GetOptions{})
	return apierrors.IsNotFound(err)
}
