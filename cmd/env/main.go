// Command env manages ephemeral stacks of the outside-in project: per-developer and per-pull-
// request environments in a platform stack's cluster, and full stacks copied from a stack
// file. It runs the project's program through Pulumi's Automation API against the backend in
// PULUMI_BACKEND_URL, and tags each stack with its owner and expiry so that `env reap` (run on
// a schedule in CI) removes the forgotten ones.
//
//	env up NAME [--ttl 72h] [--owner WHO] [--platform ORG/PROJECT/STACK] [--from Pulumi.x.yaml]
//	env down NAME
//	env list
//	env check NAME [--wait 5m] [--format text|json]
//	env reap [--dry-run] [--platform ORG/PROJECT/STACK] [--scope pull-requests|trusted]
//
// Exit status: 0 on success, 1 when an operation failed, 2 for a usage or setup error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/outside-in/outside-in/internal/envlife"
	"github.com/outside-in/outside-in/internal/pulumicli"
	"github.com/outside-in/outside-in/program"
)

// Environment variables env reads.
const (
	// EnvPlatformStack is the default of --platform.
	EnvPlatformStack = "OUTSIDE_IN_PLATFORM_STACK"
	// EnvOwner is the default of --owner, before GITHUB_ACTOR and USER.
	EnvOwner = "OUTSIDE_IN_OWNER"
	// EnvPulumi is the Pulumi CLI to run; without it, <project>/.tools/bin/pulumi when built
	// (scripts/install-tools.sh), else pulumi on PATH.
	EnvPulumi = pulumicli.EnvPulumi
	// EnvBackend is Pulumi's own variable; env refuses to run without it, so that it never
	// falls back to whatever backend the CLI happens to be logged in to.
	EnvBackend = "PULUMI_BACKEND_URL"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, newManager)
	stop()
	os.Exit(code)
}

// lifecycle is what the commands need of envlife.Manager; tests substitute a recorder.
type lifecycle interface {
	Up(ctx context.Context, req envlife.UpRequest) (envlife.Info, error)
	Down(ctx context.Context, name string) error
	List(ctx context.Context) ([]envlife.Info, error)
	Reap(ctx context.Context, opts envlife.ReapOptions) (envlife.Report, error)
	Outputs(ctx context.Context, stack string) (map[string]any, error)
	Published(ctx context.Context, platform string) (map[string]any, error)
}

// setupError is a problem with the environment env runs in (no backend, no project, no CLI):
// reported like a usage error, with status 2.
type setupError struct{ error }

// newManager builds the real lifecycle: the project directory found upward from the working
// directory, the project's program, and the Pulumi CLI.
func newManager(getenv func(string) string, progress io.Writer) (lifecycle, error) {
	if getenv(EnvBackend) == "" {
		return nil, setupError{fmt.Errorf("%s is not set: point it at the backend that holds the stacks, e.g. s3://<bucket> or file://$HOME/.pulumi-state", EnvBackend)}
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, setupError{fmt.Errorf("finding the working directory: %w", err)}
	}
	dir, err := pulumicli.ProjectDir(wd, "env")
	if err != nil {
		return nil, setupError{err}
	}
	cli, err := pulumicli.Command(getenv, dir)
	if err != nil {
		return nil, setupError{err}
	}
	return &envlife.Manager{
		WorkDir:  dir,
		Program:  program.Run,
		Pulumi:   cli,
		EnvVars:  map[string]string{"PULUMI_SKIP_UPDATE_CHECK": "true"},
		Progress: progress,
	}, nil
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string,
	manager func(func(string) string, io.Writer) (lifecycle, error)) int {
	cmd, err := parse(args, getenv)
	if errors.Is(err, errHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "env: %v\n\n%s", err, usage)
		return 2
	}
	m, err := manager(getenv, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "env: %v\n", err)
		var se setupError
		if errors.As(err, &se) {
			return 2
		}
		return 1
	}
	if err := cmd.exec(ctx, m, stdout); err != nil {
		fmt.Fprintf(stderr, "env: %v\n", err)
		return 1
	}
	return 0
}
