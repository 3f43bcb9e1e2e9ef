// Package iamsim runs the IAM evaluator the tests judge the program's policies with:
// cloud-copilot's IAM simulator and AWS's action catalogue (tools/iamsim, installed by
// `make tools` and linked as .tools/bin/iamsim). The project wrote neither, so a refusal or an
// allowance it reports is not a restatement of the program's own idea of IAM.
package iamsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Decisions as the simulator names them.
const (
	Allowed          = "Allowed"
	ImplicitlyDenied = "ImplicitlyDenied"
	ExplicitlyDenied = "ExplicitlyDenied"
	// Error: the simulator refused the request itself (an action or resource it does not know,
	// a malformed policy); Result.Error says why.
	Error = "Error"
)

// Policy is a named policy document (any value that marshals to the policy's JSON).
type Policy struct {
	Name   string `json:"name"`
	Policy any    `json:"policy"`
}

// Request is one call to judge: who, what, on which resource, with which context keys, under
// the principal's identity policies and the resource's own policy (a bucket, key or trust
// policy), if it has one.
type Request struct {
	Name             string         `json:"name"`
	IdentityPolicies []Policy       `json:"identityPolicies"`
	ResourcePolicy   any            `json:"resourcePolicy,omitempty"`
	Principal        string         `json:"principal"`
	Action           string         `json:"action"`
	Resource         string         `json:"resource"`
	ResourceAccount  string         `json:"resourceAccount"`
	Context          map[string]any `json:"context,omitempty"`
}

// Result is the simulator's decision on one request.
type Result struct {
	Name     string `json:"name"`
	Decision string `json:"decision"`
	Error    string `json:"error,omitempty"`
	// IgnoredContextKeys are context keys the catalogue does not list for the action; the
	// simulator drops them before deciding, as if the request lacked them.
	IgnoredContextKeys []string `json:"ignoredContextKeys,omitempty"`
	// WithAllContext is, when keys were dropped, the same engine's decision with every key kept.
	WithAllContext string `json:"withAllContext,omitempty"`
}

// Action is what the catalogue holds for an action name or pattern.
type Action struct {
	Action string `json:"action"`
	Exists bool   `json:"exists"`
	// Matches is how many of the catalogue's actions the name or pattern matches (-1 for *).
	Matches int    `json:"matches"`
	Error   string `json:"error,omitempty"`
}

// Output is everything one run of the evaluator answered.
type Output struct {
	Versions  map[string]string `json:"versions"`
	Actions   []Action          `json:"actions"`
	Decisions []Result          `json:"decisions"`
}

// Evaluator is the installed evaluator.
type Evaluator struct {
	// Path is the iamsim launcher.
	Path string
}

// ErrNotInstalled says the evaluator is missing or not the checkout's; its message says what
// to run.
var ErrNotInstalled = errors.New("the IAM evaluator is not installed: run make tools")

// Find locates the evaluator of the checkout that holds dir (the project's .tools/bin/iamsim)
// and checks that it was installed from the checkout's tools/iamsim: the same lock file and
// evaluate.mjs. Anything else is ErrNotInstalled, with what is wrong.
func Find(dir string) (*Evaluator, error) {
	root, err := projectRoot(dir)
	if err != nil {
		return nil, err
	}
	launcher := filepath.Join(root, ".tools", "bin", "iamsim")
	target, err := filepath.EvalSymlinks(launcher)
	if err != nil {
		return nil, fmt.Errorf("%w (no %s)", ErrNotInstalled, launcher)
	}
	installed := filepath.Dir(target)
	for _, f := range []string{"package-lock.json", "evaluate.mjs"} {
		want, err := os.ReadFile(filepath.Join(root, "tools", "iamsim", f))
		if err != nil {
			return nil, fmt.Errorf("iamsim: %w", err)
		}
		got, err := os.ReadFile(filepath.Join(installed, f))
		if err != nil || !bytes.Equal(got, want) {
			return nil, fmt.Errorf("%w (the installed %s in %s is not tools/iamsim/%s)", ErrNotInstalled, f, installed, f)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("%w (node is not on PATH: the evaluator needs Node.js 20 or newer)", ErrNotInstalled)
	}
	return &Evaluator{Path: launcher}, nil
}

// projectRoot is the nearest folder at or above dir with the project's go.mod.
func projectRoot(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("iamsim: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		mod, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && strings.HasPrefix(string(mod), "module github.com/outside-in/outside-in\n") {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("iamsim: no outside-in checkout at or above %s", abs)
		}
	}
}

// Run asks the evaluator whether each action is in the catalogue and decides each request.
func (e *Evaluator) Run(ctx context.Context, actions []string, requests []Request) (Output, error) {
	in, err := json.Marshal(map[string]any{"actions": actions, "requests": requests})
	if err != nil {
		return Output{}, fmt.Errorf("iamsim: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.Path)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Output{}, fmt.Errorf("iamsim: %s: %w: %s", e.Path, err, strings.TrimSpace(stderr.String()))
	}
	var out Output
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return Output{}, fmt.Errorf("iamsim: reading the evaluator's answer: %w: %s", err, stdout.String())
	}
	if len(out.Actions) != len(actions) || len(out.Decisions) != len(requests) {
		return Output{}, fmt.Errorf("iamsim: asked about %d actions and %d requests, answered %d and %d",
			len(actions), len(requests), len(out.Actions), len(out.Decisions))
	}
	return out, nil
}
