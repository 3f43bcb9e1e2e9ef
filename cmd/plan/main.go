// Command plan is outside-in's offline plan: it runs the program against a fake AWS, with no
// account and no Pulumi CLI, and prints what the stack would build.
//
//	go run ./cmd/plan                     # the dev stack: resource tree, summary, request paths
//	go run ./cmd/plan --stack prod        # Pulumi.prod.yaml
//	go run ./cmd/plan --config FILE       # any stack file
//	go run ./cmd/plan --format json       # the resources, shaped like `pulumi stack export`
//	go run ./cmd/plan --format yaml       # the Kubernetes objects, for kubectl apply --dry-run=server
//	go run ./cmd/plan --format estimate   # cost per hour and month, first-deploy critical path, as JSON
//	go run ./cmd/plan --format mermaid    # the request path as a mermaid flowchart
//	go run ./cmd/plan --preview           # as `pulumi preview` sees an empty stack
//	go run ./cmd/plan --config Pulumi.pr-17.yaml --platform Pulumi.platform.yaml
//	                                      # an environment stack, its platform planned first
//	go run ./cmd/plan diff BASE HEAD      # what changes between two --format json plans (or two
//	                                      # directories of <stack>.json), as markdown
//
// Exit status: 0 on success, 2 for invalid configuration or usage, 1 for anything else.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/outside-in/outside-in/offline/estimate"
	"github.com/outside-in/outside-in/offline/picture"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "diff" {
		return runDiff(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("plan", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stack := fs.String("stack", "dev", "stack whose Pulumi.<stack>.yaml to read")
	config := fs.String("config", "", "stack file to read instead of Pulumi.<stack>.yaml")
	format := fs.String("format", "tree", "output: tree (resources, summary, request paths, cost and first deploy), json, yaml, estimate or mermaid")
	preview := fs.Bool("preview", false, "answer like a preview of an empty stack: computed values unknown")
	platformFile := fs.String("platform", "", "stack file of the platform an environment stack references; its plan answers the reference")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "plan: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch *format {
	case "tree", "json", "yaml", "estimate", "mermaid":
	default:
		fmt.Fprintf(stderr, "plan: --format %q: must be tree, json, yaml, estimate or mermaid\n", *format)
		return 2
	}

	dir := projectDir()
	var s plan.Stack
	var err error
	if *config == "" {
		s, err = plan.LoadStackNamed(filepath.Join(dir, "Pulumi.yaml"), filepath.Join(dir, "Pulumi."+*stack+".yaml"), *stack)
	} else {
		s, err = plan.LoadStack(filepath.Join(dir, "Pulumi.yaml"), *config)
	}
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return 2
	}
	for _, w := range s.Warnings {
		fmt.Fprintf(stderr, "plan: warning: %s\n", w)
	}
	opts := plan.Options{Preview: *preview}
	if *platformFile != "" {
		ps, err := plan.LoadStack(filepath.Join(dir, "Pulumi.yaml"), *platformFile)
		if err != nil {
			fmt.Fprintf(stderr, "plan: platform: %v\n", err)
			return 2
		}
		platform, err := plan.Run(ps, plan.Options{})
		if err != nil {
			fmt.Fprintf(stderr, "plan: platform %s: %v\n", ps.Name, err)
			if program.IsConfigError(err) {
				return 2
			}
			return 1
		}
		opts.Platform = platform
	}
	res, err := plan.Run(s, opts)
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		var ce *program.ConfigError
		if errors.As(err, &ce) {
			return 2
		}
		return 1
	}
	// What the program warned about (keys of other namespaces, an opt-in region), as
	// `pulumi preview` shows it.
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "plan: warning: %s\n", w)
	}

	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(res.State())
	case "yaml":
		err = res.WriteYAML(stdout)
	case "estimate":
		var rep *estimate.Report
		if rep, err = estimate.Estimate(res, estimate.Options{Now: now()}); err == nil {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			err = enc.Encode(rep)
		}
	case "mermaid":
		var chart string
		if chart, err = picture.Mermaid(res); err == nil {
			_, err = io.WriteString(stdout, chart)
		}
	default:
		fmt.Fprintf(stdout, "Offline plan of stack %q in %s (fake AWS account %s)\n\n", s.Name, res.Fake.Region(), res.Fake.AccountID())
		res.WriteTree(stdout)
		fmt.Fprintf(stdout, "\nRequest paths, from the outside in:\n")
		if !*preview {
			err = res.WritePaths(stdout)
		} else {
			fmt.Fprintln(stdout, "  (values are unknown in a preview; run without --preview to trace them)")
		}
		if err == nil {
			err = writeEstimate(stdout, stderr, res)
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "plan: %v\n", err)
		return 1
	}
	return 0
}

// writeEstimate ends the tree view with the cost and first-deploy lines; the estimate's warnings
// (an EKS version past standard support) go to stderr with the loader's.
func writeEstimate(stdout, stderr io.Writer, res *plan.Result) error {
	rep, err := estimate.Estimate(res, estimate.Options{Now: now()})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	for _, line := range rep.Summary() {
		fmt.Fprintln(stdout, line)
	}
	for _, w := range rep.Warnings {
		fmt.Fprintf(stderr, "plan: warning: %s\n", w)
	}
	return nil
}

// now is the time the estimate judges EKS support by; tests fix it.
var now = time.Now

// projectDir is the nearest directory upwards that holds Pulumi.yaml, or the working directory.
func projectDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			return wd
		}
	}
}
