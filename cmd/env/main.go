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
	"path/filepath"
	"syscall"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/outside-in/outside-in/internal/envlife"
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
	EnvPulumi = "OUTSIDE_IN_PULUMI"
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
	dir, err := projectDir(wd)
	if err != nil {
		return nil, setupError{err}
	}
	cli, err := pulumiCommand(getenv, dir)
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

// projectDir walks up from dir to the directory holding Pulumi.yaml.
func projectDir(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "Pulumi.yaml")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no Pulumi.yaml in %s or above it: run env inside the outside-in repository", dir)
		}
	}
}

// pulumiCommand finds the CLI: $OUTSIDE_IN_PULUMI, the project's .tools/bin/pulumi, or PATH.
func pulumiCommand(getenv func(string) string, projectDir string) (auto.PulumiCommand, error) {
	// auto.NewPulumiCommand runs <Root>/bin/pulumi, or pulumi on PATH when Root is empty.
	root := ""
	if p := getenv(EnvPulumi); p != "" {
		if filepath.Base(p) != "pulumi" || filepath.Base(filepath.Dir(p)) != "bin" {
			return nil, fmt.Errorf("%s=%s: must be the path of a pulumi binary in a bin directory, e.g. /opt/pulumi/bin/pulumi", EnvPulumi, p)
		}
		root = filepath.Dir(filepath.Dir(p))
	} else if _, err := os.Stat(filepath.Join(projectDir, ".tools", "bin", "pulumi")); err == nil {
		root = filepath.Join(projectDir, ".tools")
	}
	cli, err := auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: root})
	if err != nil {
		return nil, fmt.Errorf("no usable Pulumi CLI (run scripts/install-tools.sh, or set %s): %w", EnvPulumi, err)
	}
	return cli, nil
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
