package envlife

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/envlife/clitest"
	"github.com/outside-in/outside-in/internal/published"
)

// testPlatform is the platform stack every test environment names.
const testPlatform = "organization/envlife-test/platform"

// world is one test's project, backend and program. The program registers only a component
// (no provider, so no plugin is needed) and exports what the real program's stacks export:
// urls on every stack, envDomain on a platform (a stack configured with envDomain).
type world struct {
	t          *testing.T
	dir        string
	backendDir string
	env        map[string]string
	cli        auto.PulumiCommand

	mu sync.Mutex
	// gates hold a stack's program (so its update holds the lock) until the channel closes;
	// started is signalled once the gated program runs.
	gates   map[string]chan struct{}
	started chan string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	env, backendDir := clitest.Backend(t)
	return &world{
		t: t, dir: clitest.Project(t, "envlife-test"), backendDir: backendDir, env: env,
		cli: clitest.CLI(t), gates: map[string]chan struct{}{}, started: make(chan string, 1),
	}
}

func (w *world) program(ctx *pulumi.Context) error {
	comp := &struct{ pulumi.ResourceState }{}
	if err := ctx.RegisterComponentResource("test:env:Environment", "env", comp); err != nil {
		return err
	}
	cfg := func(key string) string { v, _ := ctx.GetConfig("outside-in:" + key); return v }
	ctx.Export(OutputURLs, pulumi.StringMap{"web": pulumi.Sprintf("https://web-%s.env.test/", ctx.Stack())})
	ctx.Export("sawClusterMode", pulumi.String(cfg("clusterMode")))
	ctx.Export("sawOwner", pulumi.String(cfg("owner")))
	ctx.Export("secret", pulumi.ToSecret(pulumi.String("hush")))
	if d := cfg("envDomain"); d != "" {
		ctx.Export(OutputEnvDomain, pulumi.String(d))
	}
	w.mu.Lock()
	gate := w.gates[ctx.Stack()]
	w.mu.Unlock()
	if gate != nil {
		w.started <- ctx.Stack()
		<-gate
	}
	return nil
}

// manager is a Manager whose clock reads now.
func (w *world) manager(now time.Time) *Manager {
	return &Manager{
		WorkDir: w.dir, Program: w.program, Pulumi: w.cli, EnvVars: w.env,
		Now: func() time.Time { return now },
		// The tests' platform publishes a document without a cluster: as far as the
		// lifecycle can tell, its cluster is gone.
		Platforms: published.Fixed{testPlatform: {OutputEnvDomain: "env.test"}},
	}
}

// up makes an environment stack through Manager.Up with the clock at now.
func (w *world) up(name string, now time.Time, ttl time.Duration) Info {
	w.t.Helper()
	info, err := w.manager(now).Up(context.Background(), UpRequest{Stack: name, Owner: "alice", TTL: ttl, Platform: testPlatform})
	require.NoError(w.t, err, "env up %s", name)
	return info
}

// plainStack makes a stack without Manager.Up: with the given config and tags, then updated.
func (w *world) plainStack(name string, cfg map[string]string, tags map[string]string) {
	w.t.Helper()
	ctx := context.Background()
	stack, err := auto.UpsertStack(ctx, name, w.workspace())
	require.NoError(w.t, err)
	for k, v := range cfg {
		require.NoError(w.t, stack.SetConfig(ctx, k, auto.ConfigValue{Value: v}))
	}
	for k, v := range tags {
		require.NoError(w.t, stack.SetTag(ctx, k, v))
	}
	_, err = stack.Up(ctx, optup.ShowSecrets(false))
	require.NoError(w.t, err, "up %s", name)
}

// recordingCLI is the CLI, recording each command's arguments.
type recordingCLI struct {
	auto.PulumiCommand
	mu       sync.Mutex
	commands []string
}

func (r *recordingCLI) Run(ctx context.Context, workdir string, stdin io.Reader, out, errOut []io.Writer,
	env []string, args ...string) (string, string, int, error) {
	r.mu.Lock()
	r.commands = append(r.commands, strings.Join(args, " "))
	r.mu.Unlock()
	return r.PulumiCommand.Run(ctx, workdir, stdin, out, errOut, env, args...)
}

// record makes the world's CLI a recordingCLI, for the Managers made after it.
func (w *world) record() *recordingCLI {
	r := &recordingCLI{PulumiCommand: w.cli}
	w.cli = r
	return r
}

// runsOf are the recorded commands that have word among their arguments.
func (r *recordingCLI) runsOf(word string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.commands {
		if slices.Contains(strings.Fields(c), word) {
			out = append(out, c)
		}
	}
	return out
}

func (w *world) workspace() auto.Workspace {
	w.t.Helper()
	ws, err := auto.NewLocalWorkspace(context.Background(),
		auto.WorkDir(w.dir), auto.Program(w.program), auto.Pulumi(w.cli), auto.EnvVars(w.env))
	require.NoError(w.t, err)
	return ws
}

// stacks lists the names of the backend's stacks of the project.
func (w *world) stacks() []string {
	w.t.Helper()
	list, err := w.workspace().ListStacks(context.Background())
	require.NoError(w.t, err)
	var names []string
	for _, s := range list {
		names = append(names, s.Name)
	}
	return names
}

// lockFiles lists the lock files of the file backend: how it marks a running update.
func (w *world) lockFiles() []string {
	w.t.Helper()
	var out []string
	root := filepath.Join(w.backendDir, ".pulumi", "locks")
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		// The file backend (gocloud's fileblob) keeps a .attrs file beside each blob.
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}
