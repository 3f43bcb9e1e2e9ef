package main

import (
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/outside-in/outside-in/offline/plan"
)

// runDiff is `plan diff BASE HEAD`: what changes between two offline plans, as markdown for a
// pull request. BASE and HEAD are each a `--format json` plan, or a directory of them named
// <stack>.json; directories are paired by stack, and a stack found on one side only is all
// added (no plan at the base) or all removed (gone at the head).
func runDiff(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("plan diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: plan diff BASE HEAD   (each a --format json plan, or a directory of <stack>.json plans)")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	base, head := fs.Arg(0), fs.Arg(1)
	baseDir, err := isDir(base)
	if err != nil {
		fmt.Fprintf(stderr, "plan diff: %v\n", err)
		return 2
	}
	headDir, err := isDir(head)
	if err != nil {
		fmt.Fprintf(stderr, "plan diff: %v\n", err)
		return 2
	}
	if baseDir != headDir {
		fmt.Fprintln(stderr, "plan diff: BASE and HEAD must both be plans or both be directories")
		return 2
	}

	var diffs []plan.StackDiff
	if !baseDir {
		o, err := plan.ReadDeployment(base)
		if err != nil {
			fmt.Fprintf(stderr, "plan diff: %v\n", err)
			return 1
		}
		n, err := plan.ReadDeployment(head)
		if err != nil {
			fmt.Fprintf(stderr, "plan diff: %v\n", err)
			return 1
		}
		name := n.StackName()
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(head), ".json")
		}
		diffs = append(diffs, plan.DiffPlans(name, o, n))
	} else {
		stacks, err := stackPlans(base, head)
		if err != nil {
			fmt.Fprintf(stderr, "plan diff: %v\n", err)
			return 1
		}
		for _, s := range stacks {
			var o, n *plan.Deployment
			if s.base != "" {
				if o, err = plan.ReadDeployment(s.base); err != nil {
					fmt.Fprintf(stderr, "plan diff: %v\n", err)
					return 1
				}
			}
			if s.head != "" {
				if n, err = plan.ReadDeployment(s.head); err != nil {
					fmt.Fprintf(stderr, "plan diff: %v\n", err)
					return 1
				}
			}
			diffs = append(diffs, plan.DiffPlans(s.name, o, n))
		}
	}
	if err := plan.WriteDiffMarkdown(stdout, diffs); err != nil {
		fmt.Fprintf(stderr, "plan diff: %v\n", err)
		return 1
	}
	return 0
}

func isDir(path string) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return st.IsDir(), nil
}

type stackPlan struct{ name, base, head string }

// stackPlans pairs the <stack>.json plans of two directories by stack.
func stackPlans(baseDir, headDir string) ([]stackPlan, error) {
	byName := map[string]*stackPlan{}
	for i, dir := range []string{baseDir, headDir} {
		files, err := filepath.Glob(filepath.Join(dir, "*.json"))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".json")
			s := byName[name]
			if s == nil {
				s = &stackPlan{name: name}
				byName[name] = s
			}
			if i == 0 {
				s.base = f
			} else {
				s.head = f
			}
		}
	}
	if len(byName) == 0 {
		return nil, fmt.Errorf("no <stack>.json plans in %s or %s: %w", baseDir, headDir, fs.ErrNotExist)
	}
	out := make([]stackPlan, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}
