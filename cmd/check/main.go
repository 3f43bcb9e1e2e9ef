// Command check walks a deployed outside-in stack's request path hop by hop (DNS, TLS, load
// balancer, targets, controller, Ingress and app, HTTP) and says where it breaks. It reads the
// stack's outputs through the Automation API, or from a file, and reads AWS and the cluster;
// it changes nothing.
//
//	check --stack NAME [--outputs FILE] [--platform-outputs FILE] [--wait DURATION] [--format text|json]
//
// An environment stack (one that exports platformStack) is checked through its platform's
// outputs: read through the Automation API, or from --platform-outputs.
//
// Exit status: 0 when every host's path serves, 1 when one does not, 2 for a usage or setup
// error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/outside-in/outside-in/check"
	"github.com/outside-in/outside-in/internal/published"
	"github.com/outside-in/outside-in/internal/pulumicli"
)

// EnvPulumi names the Pulumi CLI to run, as for cmd/env; without it, <project>/.tools/bin/pulumi
// when built, else pulumi on PATH.
const EnvPulumi = pulumicli.EnvPulumi

// retryInterval is the pause between tries under --wait.
const retryInterval = 15 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, deps{
		getenv: os.Getenv, outputs: stackOutputs, published: readPublished, interval: retryInterval,
		stack: func(ctx context.Context, out map[string]any) (*check.Report, error) {
			return check.Stack(ctx, out, check.Options{})
		},
		environment: func(ctx context.Context, env, platform map[string]any) (*check.Report, error) {
			return check.Environment(ctx, env, platform, check.Options{})
		},
	})
	stop()
	os.Exit(code)
}

// deps are what run reaches outside itself; tests substitute them.
type deps struct {
	getenv      func(string) string
	outputs     func(ctx context.Context, getenv func(string) string, stack string) (map[string]any, error)
	published   func(ctx context.Context, platform string) (map[string]any, error)
	stack       func(ctx context.Context, outputs map[string]any) (*check.Report, error)
	environment func(ctx context.Context, env, platform map[string]any) (*check.Report, error)
	interval    time.Duration
}

const usage = `usage: check --stack NAME [--outputs FILE] [--platform-outputs FILE] [--wait DURATION] [--format text|json]

  --stack NAME              the stack to check; its outputs are read through the Automation API
  --outputs FILE            read the outputs from FILE instead (pulumi stack output --json --show-secrets)
  --platform-outputs FILE   for an environment stack with --outputs: its platform's outputs
  --wait DURATION           retry until the path serves or DURATION has passed (e.g. 5m)
  --format text|json        the report's format (default text)

exit status: 0 every path serves, 1 one does not, 2 usage or setup error
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer, d deps) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	stack := fs.String("stack", "", "")
	outputsFile := fs.String("outputs", "", "")
	platformFile := fs.String("platform-outputs", "", "")
	wait := fs.Duration("wait", 0, "")
	format := fs.String("format", "text", "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		return usageError(stderr, err.Error())
	}
	switch {
	case fs.NArg() > 0:
		return usageError(stderr, fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	case *stack == "" && *outputsFile == "":
		return usageError(stderr, "--stack is required")
	case *format != "text" && *format != "json":
		return usageError(stderr, fmt.Sprintf("--format %q: must be text or json", *format))
	case *wait < 0:
		return usageError(stderr, "--wait must not be negative")
	}

	outputs, err := readOutputs(ctx, d, *stack, *outputsFile)
	if err != nil {
		fmt.Fprintf(stderr, "check: %v\n", err)
		return 2
	}
	var platform map[string]any
	if ref, _ := outputs["platformStack"].(string); ref != "" {
		if *platformFile != "" {
			platform, err = check.ReadOutputsFile(*platformFile)
		} else if *outputsFile != "" {
			err = fmt.Errorf("%s is an environment of platform %s: give the platform's outputs with --platform-outputs, or use --stack", *outputsFile, ref)
		} else {
			platform, err = d.published(ctx, ref)
		}
		if err != nil {
			fmt.Fprintf(stderr, "check: platform: %v\n", err)
			return 2
		}
	}
	try := func(ctx context.Context) (*check.Report, error) {
		if platform != nil {
			return d.environment(ctx, outputs, platform)
		}
		return d.stack(ctx, outputs)
	}
	rep, err := check.Until(ctx, *wait, d.interval, try, check.Retrying(stderr, "check"))
	if err != nil {
		fmt.Fprintf(stderr, "check: %v\n", err)
		return 2
	}
	if err := rep.Write(stdout, *format); err != nil {
		fmt.Fprintf(stderr, "check: writing the report: %v\n", err)
		return 2
	}
	if !rep.Serves {
		return 1
	}
	return 0
}

func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "check: %s\n\n%s", msg, usage)
	return 2
}

func readOutputs(ctx context.Context, d deps, stack, file string) (map[string]any, error) {
	if file != "" {
		return check.ReadOutputsFile(file)
	}
	return d.outputs(ctx, d.getenv, stack)
}

// stackOutputs reads a stack's outputs, secrets in plain, through the Automation API in the
// project directory.
// readPublished reads what an environment's platform publishes for its environments
// (internal/published): its state is not opened, so the environments role can check.
func readPublished(ctx context.Context, platform string) (map[string]any, error) {
	return published.SSM{}.Read(ctx, platform)
}

func stackOutputs(ctx context.Context, getenv func(string) string, stack string) (map[string]any, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("finding the working directory: %w", err)
	}
	dir, err := pulumicli.ProjectDir(wd, "check")
	if err != nil {
		return nil, err
	}
	cli, err := pulumicli.Command(getenv, dir)
	if err != nil {
		return nil, err
	}
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(dir), auto.Pulumi(cli),
		auto.EnvVars(map[string]string{"PULUMI_SKIP_UPDATE_CHECK": "true"}))
	if err != nil {
		return nil, fmt.Errorf("opening the project in %s: %w", dir, err)
	}
	out, err := ws.StackOutputs(ctx, stack)
	if err != nil {
		return nil, fmt.Errorf("reading the outputs of stack %s (is the CLI logged in to its backend, and PULUMI_CONFIG_PASSPHRASE set?): %w", stack, err)
	}
	return check.OutputValues(out), nil
}
