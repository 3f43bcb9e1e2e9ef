package envlife

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
)

// destroyEnv is added to the environment of every destroy.
var destroyEnv = map[string]string{deleteUnreachable: "true"}

// List returns every ephemeral stack of the project, ordered by name. Stacks without the
// TagKind marker are left out.
func (m *Manager) List(ctx context.Context) ([]Info, error) {
	ws, err := m.workspace(ctx, nil)
	if err != nil {
		return nil, err
	}
	summaries, err := ws.ListStacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("env list: listing stacks: %w", err)
	}
	var out []Info
	for _, s := range summaries {
		info, ok, err := readInfo(ctx, ws, s)
		if err != nil {
			return nil, fmt.Errorf("env list: %w", err)
		}
		if ok {
			out = append(out, info)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Stack < out[j].Stack })
	return out, nil
}

// ErrNotEphemeral is returned by Down for a stack that env up did not make, or a platform.
var ErrNotEphemeral = errors.New("not an ephemeral stack")

// Down destroys the stack's resources and removes the stack. A stack that does not exist is
// already down (so a pull request closed before its environment was made is no error); a
// stack without the TagKind marker, or a platform, is refused with ErrNotEphemeral.
func (m *Manager) Down(ctx context.Context, name string) error {
	ws, err := m.workspace(ctx, destroyEnv)
	if err != nil {
		return err
	}
	summaries, err := ws.ListStacks(ctx)
	if err != nil {
		return fmt.Errorf("env down %s: listing stacks: %w", name, err)
	}
	for _, s := range summaries {
		if stackLeaf(s.Name) != stackLeaf(name) {
			continue
		}
		info, ok, err := readInfo(ctx, ws, s)
		switch {
		case err != nil:
			return fmt.Errorf("env down %s: %w", name, err)
		case !ok:
			return fmt.Errorf("env down %s: %w: it has no %s tag; destroy it with pulumi destroy if you mean to", name, ErrNotEphemeral, TagKind)
		case info.Platform:
			return fmt.Errorf("env down %s: %w: it exports %s, so it is a platform that environments run in", name, ErrNotEphemeral, OutputEnvDomain)
		}
		if err := m.destroyAndRemove(ctx, ws, s.Name); err != nil {
			return fmt.Errorf("env down %s: %w", name, err)
		}
		return nil
	}
	return nil
}

// destroyAndRemove destroys the stack's resources and removes it from the backend (and its
// Pulumi.<stack>.yaml from the project directory, as `pulumi stack rm` does).
func (m *Manager) destroyAndRemove(ctx context.Context, ws auto.Workspace, name string) error {
	stack, err := auto.SelectStack(ctx, name, ws)
	if err != nil {
		return fmt.Errorf("selecting stack %s: %w", name, err)
	}
	if _, err := stack.Destroy(ctx, optdestroy.Remove(),
		optdestroy.ProgressStreams(m.progress()), optdestroy.ErrorProgressStreams(m.progress())); err != nil {
		if auto.IsConcurrentUpdateError(err) {
			return fmt.Errorf("stack %s: %w", name, ErrLocked)
		}
		return fmt.Errorf("destroying stack %s: %w", name, err)
	}
	return nil
}

// ErrLocked is the error for a stack another update holds.
var ErrLocked = errors.New("locked by a running update")

// Outcome is what the reaper did with one stack.
type Outcome string

const (
	// Removed: expired, destroyed and removed (or, in a dry run, would be).
	Removed Outcome = "removed"
	// Kept: not expired, not ephemeral, a platform, or without a readable expiry.
	Kept Outcome = "kept"
	// Locked: expired but held by a running update; the next sweep takes it.
	Locked Outcome = "locked"
	// Failed: expired, but its destroy or removal failed.
	Failed Outcome = "failed"
)

// Verdict is the reaper's decision on one stack and why.
type Verdict struct {
	Stack   string
	Outcome Outcome
	Reason  string
	// Info is the stack's tags and outputs; only Stack is set for a stack without the marker.
	Info Info
}

// ReapOptions tune a sweep.
type ReapOptions struct {
	// DryRun decides as a sweep would and destroys nothing; Removed then means "would remove".
	DryRun bool
	// Platform names the platform stack (any form: stack, org/project/stack). It is kept even
	// if it carried the tags, on top of every stack exporting envDomain.
	Platform string
}

// Report is the outcome of a sweep: a verdict per stack of the project, ordered by name.
type Report struct {
	DryRun   bool
	Verdicts []Verdict
}

// Count returns how many verdicts had the outcome.
func (r Report) Count(o Outcome) int {
	n := 0
	for _, v := range r.Verdicts {
		if v.Outcome == o {
			n++
		}
	}
	return n
}

// Reap destroys and removes every ephemeral stack whose expiry has passed. It never touches
// a stack without the TagKind marker, a platform (one exporting envDomain, or
// opts.Platform), or one whose expiry is missing or unreadable. A stack locked by a running
// update is reported Locked and the sweep goes on: the file backend never reports
// updateInProgress in its stack list, so a lock only shows when the destroy is refused.
//
// The error is non-nil only when the sweep could not run (listing the stacks failed) or when
// some stack Failed; Locked stacks are not errors, the next sweep retries them.
func (m *Manager) Reap(ctx context.Context, opts ReapOptions) (Report, error) {
	report := Report{DryRun: opts.DryRun}
	ws, err := m.workspace(ctx, destroyEnv)
	if err != nil {
		return report, err
	}
	summaries, err := ws.ListStacks(ctx)
	if err != nil {
		return report, fmt.Errorf("env reap: listing stacks: %w", err)
	}
	sort.Slice(summaries, func(i, j int) bool { return summaries[i].Name < summaries[j].Name })
	var failed []error
	for _, s := range summaries {
		v := m.judge(ctx, ws, s, opts)
		if v.Outcome == Removed && !opts.DryRun {
			if err := m.destroyAndRemove(ctx, ws, s.Name); errors.Is(err, ErrLocked) {
				v.Outcome, v.Reason = Locked, "expired, but locked by a running update; the next sweep retries it"
			} else if err != nil {
				v.Outcome, v.Reason = Failed, err.Error()
				failed = append(failed, err)
			}
		}
		report.Verdicts = append(report.Verdicts, v)
	}
	if len(failed) > 0 {
		return report, fmt.Errorf("env reap: %d expired stack(s) could not be removed: %w", len(failed), errors.Join(failed...))
	}
	return report, nil
}

// judge decides what a sweep does with one stack; Removed means "expired, take it".
func (m *Manager) judge(ctx context.Context, ws auto.Workspace, s auto.StackSummary, opts ReapOptions) Verdict {
	info, ok, err := readInfo(ctx, ws, s)
	v := Verdict{Stack: s.Name, Info: info}
	now := m.now()
	switch {
	case opts.Platform != "" && stackLeaf(s.Name) == stackLeaf(opts.Platform):
		v.Outcome, v.Reason = Kept, "the platform stack named by --platform"
	case !ok && err == nil:
		v.Outcome, v.Reason = Kept, "no "+TagKind+" tag: not made by env up"
	case err != nil:
		// Without the outputs the reaper cannot tell a platform apart; keep it.
		v.Outcome, v.Reason = Kept, "unreadable, kept to be safe: "+err.Error()
	case info.Platform:
		v.Outcome, v.Reason = Kept, "a platform (exports "+OutputEnvDomain+")"
	case info.BadExpiry != "":
		v.Outcome, v.Reason = Kept, info.BadExpiry
	case !info.Expired(now):
		v.Outcome, v.Reason = Kept, "expires in "+info.ExpiresAt.Sub(now).Round(time.Second).String()
	default:
		v.Outcome, v.Reason = Removed, "expired "+now.Sub(info.ExpiresAt).Round(time.Second).String()+" ago"
	}
	return v
}
