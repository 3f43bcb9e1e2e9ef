package tests

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1sdk "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/outside-in/outside-in/guardrails"
	"github.com/outside-in/outside-in/internal/envlife"
	"github.com/outside-in/outside-in/program"
)

// What takes environments down when nobody is there to watch, on the real engine: a refused
// credential fails env down with the namespace intact (nothing is dropped from the state
// unreached); the reaper removes an expired pull request's environment through the platform's
// cluster; a forged pull-request state naming a platform object makes the reaper delete
// nothing of the platform (while a destroy from that state, as a reaper that trusts it would
// run, deletes it: the attack is real); and an environment whose platform's cluster is gone is
// removed all the same.
func TestEnvironmentTeardownOnTheEngine(t *testing.T) {
	t.Parallel()
	w := newEngineWorld(t)
	ctx := context.Background()
	c := w.cp.Clientset()
	now := time.Now().UTC()
	upEnv := func(stack, platform string, at time.Time) {
		t.Helper()
		w.apps(stack, `[{"name": "web"}]`)
		_, err := w.manager(at).Up(ctx, envlife.UpRequest{Stack: stack, Owner: "ci", TTL: time.Hour, Platform: platform})
		require.NoError(t, err, "env up %s", stack)
	}

	// A refused credential: the platform drops the environments group's binding (403 for every
	// request of the identity in the state). env down fails and keeps everything.
	upEnv("pr-43", enginePlatform, now)
	binding, err := c.RbacV1().ClusterRoleBindings().Get(ctx, guardrails.EnvironmentsRoleName, metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, c.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{}))
	begin := time.Now()
	err = w.manager(now).Down(ctx, "pr-43")
	t.Logf("env down with a refused credential failed after %s", time.Since(begin).Round(10*time.Millisecond))
	require.Error(t, err, "env down with refused credentials")
	assert.Contains(t, err.Error(), "nothing was dropped from the state unreached")
	t.Logf("refused  env down with a refused credential: %s", firstLines(err.Error(), 3))
	assert.False(t, w.namespaceGone("env-pr-43"), "the namespace keeps running")
	assert.Contains(t, w.pulumi("stack", "ls", "--json"), "pr-43", "the stack stays, to be taken down later")
	binding.ResourceVersion = ""
	_, err = c.RbacV1().ClusterRoleBindings().Create(ctx, binding, create)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return w.manager(now).Down(ctx, "pr-43") == nil }, time.Minute, 2*time.Second, "env down once the credential is back")
	require.Eventually(t, func() bool { return w.namespaceGone("env-pr-43") }, time.Minute, 200*time.Millisecond)

	// The reaper takes an expired pull request's environment through the platform's cluster.
	upEnv("pr-44", enginePlatform, now.Add(-48*time.Hour))
	// A forged pull-request state that names a platform object, with the administrator's
	// credentials in its provider: what a pull request's job could write to the backend.
	_, err = c.CoreV1().ConfigMaps("traefik").Create(ctx, configMap("traefik", "platform-config"), create)
	require.NoError(t, err)
	admin, err := w.cp.AdminKubeconfig()
	require.NoError(t, err)
	w.forge("pr-45", string(admin), "environment", now.Add(-48*time.Hour))
	w.forge("pr-46", string(admin), "full-stack", now.Add(-48*time.Hour))
	begin = time.Now()
	report, err := w.manager(now).Reap(ctx, envlife.ReapOptions{Scope: envlife.ScopePullRequests, Platform: enginePlatform})
	t.Logf("the sweep took %s", time.Since(begin).Round(10*time.Millisecond))
	require.Error(t, err, "the forged full stack fails the sweep")
	got := map[string]envlife.Verdict{}
	for _, v := range report.Verdicts {
		got[v.Stack[strings.LastIndex(v.Stack, "/")+1:]] = v
		t.Logf("%-8s %s: %s", v.Outcome, v.Stack, v.Reason)
	}
	assert.Equal(t, envlife.Removed, got["pr-44"].Outcome)
	assert.True(t, w.namespaceGone("env-pr-44"), "the expired environment's namespace is gone")
	assert.Equal(t, envlife.Removed, got["pr-45"].Outcome, "the forged environment's stack is removed")
	assert.Equal(t, envlife.Failed, got["pr-46"].Outcome)
	_, err = c.CoreV1().ConfigMaps("traefik").Get(ctx, "platform-config", metav1.GetOptions{})
	assert.NoError(t, err, "the platform's object named by the forged states is still there")
	stacks := w.pulumi("stack", "ls", "--json")
	assert.NotContains(t, stacks, `"pr-44"`)
	assert.NotContains(t, stacks, `"pr-45"`)
	assert.Contains(t, stacks, `"pr-46"`)
	// The control: a destroy from the forged state, as a reaper that trusts it runs, deletes
	// the platform's object.
	ws := w.workspace(nil)
	forged, err := auto.SelectStack(ctx, "pr-46", ws)
	require.NoError(t, err)
	_, err = forged.Destroy(ctx, optdestroy.ShowSecrets(false))
	require.NoError(t, err)
	_, err = c.CoreV1().ConfigMaps("traefik").Get(ctx, "platform-config", metav1.GetOptions{})
	assert.True(t, err != nil, "a destroy from the forged state deletes the platform's object")

	// A platform whose cluster is gone: its environments are removed all the same. The second
	// platform reaches the API through a forwarder that then goes away, and its published
	// document with it.
	proxy := forward(t, strings.TrimPrefix(w.cp.Config().Host, "https://"))
	gone := map[string]string{}
	for k, v := range w.platform {
		gone[k] = v
	}
	gone[program.OutputEnvironmentKubeconfig] = rehost(t, w.platform[program.OutputEnvironmentKubeconfig], "https://"+proxy.addr)
	w.upPlatform("platform-b", gone)
	upEnv("pr-47", "organization/outside-in/platform-b", now)
	proxy.close()
	delete(w.published, "organization/outside-in/platform-b") // destroyed: its parameter is gone
	begin = time.Now()
	require.NoError(t, w.manager(now).Down(ctx, "pr-47"), "env down of an environment whose platform is gone")
	t.Logf("env down of an environment whose platform is gone took %s", time.Since(begin).Round(10*time.Millisecond))
	assert.NotContains(t, w.pulumi("stack", "ls", "--json"), `"pr-47"`)
}

// forge writes a pull-request stack whose state names the platform's ConfigMap
// traefik/platform-config through a provider holding kubeconfig, tagged as an expired stack of
// kind: a state that a pull request's job, which may write pr-* state, could write.
func (w *engineWorld) forge(stack, kubeconfig, kind string, expired time.Time) {
	w.t.Helper()
	ctx := context.Background()
	ws := w.workspace(func(ctx *pulumi.Context) error {
		p, err := kubernetes.NewProvider(ctx, "cluster", &kubernetes.ProviderArgs{Kubeconfig: pulumi.String(kubeconfig)})
		if err != nil {
			return err
		}
		_, err = corev1.NewConfigMap(ctx, "platform-config", &corev1.ConfigMapArgs{
			Metadata: &metav1sdk.ObjectMetaArgs{Name: pulumi.String("platform-config"), Namespace: pulumi.String("traefik")},
			Data:     pulumi.StringMap{"k": pulumi.String("v")},
		}, pulumi.Provider(p), pulumi.Import(pulumi.ID("traefik/platform-config")))
		return err
	})
	s, err := auto.UpsertStack(ctx, stack, ws)
	require.NoError(w.t, err)
	_, err = s.Up(ctx, optup.ShowSecrets(false))
	require.NoError(w.t, err, "forging %s", stack)
	for k, v := range map[string]string{
		envlife.TagKind: kind, envlife.TagOwner: "mallory",
		envlife.TagCreatedAt: expired.Format(time.RFC3339), envlife.TagExpiresAt: expired.Add(time.Hour).Format(time.RFC3339),
	} {
		require.NoError(w.t, s.SetTag(ctx, k, v))
	}
}

func (w *engineWorld) workspace(program pulumi.RunFunc) auto.Workspace {
	w.t.Helper()
	opts := []auto.LocalWorkspaceOption{auto.WorkDir(w.dir), auto.Pulumi(w.cli), auto.EnvVars(w.env)}
	if program != nil {
		opts = append(opts, auto.Program(program))
	}
	ws, err := auto.NewLocalWorkspace(context.Background(), opts...)
	require.NoError(w.t, err)
	return ws
}

// rehost points a kubeconfig's cluster at another address, checking the server's certificate
// against the original host.
func rehost(t *testing.T, kubeconfig, server string) string {
	cfg, err := clientcmd.Load([]byte(kubeconfig))
	require.NoError(t, err)
	for _, c := range cfg.Clusters {
		c.Server = server
	}
	out, err := clientcmd.Write(*cfg)
	require.NoError(t, err)
	return string(out)
}

// forwarder passes TCP connections on a loopback port to target, until closed.
type forwarder struct {
	addr  string
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func forward(t *testing.T, target string) *forwarder {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	f := &forwarder{addr: l.Addr().String(), l: l}
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			f.mu.Lock()
			f.conns = append(f.conns, in, out)
			f.mu.Unlock()
			go func() { _, _ = io.Copy(out, in); out.Close() }()
			go func() { _, _ = io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(f.close)
	return f
}

func (f *forwarder) close() {
	f.l.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.Close()
	}
	f.conns = nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " / ")
}
