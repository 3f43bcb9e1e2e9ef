package envlife

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/outside-in/outside-in/internal/envname"
)

// StaleLockAfter is the age past which a stack's lock cannot belong to a running job: every
// workflow job sets a timeout-minutes below it (the workflow tests check), the longest
// (deploy.yml's) 90 minutes, and GitHub cuts a job off at its timeout.
const StaleLockAfter = 2 * time.Hour

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

// Down destroys the stack's resources and removes the stack, its backups and its history. A
// stack that does not exist is already down (so a pull request closed before its environment
// was made is no error); a stack without the TagKind marker, or a platform, is refused with
// ErrNotEphemeral. An environment's Kubernetes objects leave the state unreached only when its
// platform's cluster verifiably no longer exists; otherwise a cluster that refuses fails the
// destroy and nothing is lost.
func (m *Manager) Down(ctx context.Context, name string) error {
	ws, err := m.workspace(ctx, nil)
	if err != nil {
		return err
	}
	summaries, err := m.stackNames(ctx, ws)
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
		if err := m.destroyAndRemove(ctx, ws, s.Name, info.Kind, ""); err != nil {
			return fmt.Errorf("env down %s: %w", name, err)
		}
		return nil
	}
	return nil
}

// destroyAndRemove destroys a stack from its state and removes it. An environment's cluster is
// looked up through the platform its configuration names, else through platform.
func (m *Manager) destroyAndRemove(ctx context.Context, ws auto.Workspace, name string, kind Kind, platform string) error {
	gone := ""
	if kind == KindEnvironment {
		if v, err := ws.GetConfig(ctx, name, KeyPlatformStack); err == nil && v.Value != "" {
			platform = v.Value
		}
		cluster, err := m.clusterOf(ctx, ws, platform)
		if err != nil {
			return err
		}
		gone = cluster.gone
	}
	if err := m.destroy(ctx, name, gone); err != nil {
		return err
	}
	return m.removeStack(ctx, ws, name, false)
}

// ErrLocked is the error for a stack another update holds (see LockedError).
var ErrLocked = errors.New("locked by a running update")

// Outcome is what the reaper did with one stack.
type Outcome string

const (
	// Removed: expired, destroyed and removed (or, in a dry run, would be).
	Removed Outcome = "removed"
	// Kept: not expired, not ephemeral, a platform, or outside the sweep's scope.
	Kept Outcome = "kept"
	// Locked: expired but held by a running update; the next sweep takes it.
	Locked Outcome = "locked"
	// Failed: expired, but its destroy or removal failed, or refused (a stale lock, a stack
	// without a readable date, a full stack whose state pull requests can write).
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

// Scope is which stacks a sweep takes, by who can write their state.
type Scope string

const (
	// ScopeAll takes every expired ephemeral stack, each the way its scope says.
	ScopeAll Scope = ""
	// ScopePullRequests takes only the stacks whose state pull requests can write (names
	// beginning with envname.PullRequestPrefix). It never destroys from their state: an
	// environment is removed by deleting its namespace, named after the stack, through the
	// platform's environments kubeconfig (read from the platform's state, which pull requests
	// cannot write), and then its stack; a full stack there is refused. It needs no more rights
	// than an environment.
	ScopePullRequests Scope = "pull-requests"
	// ScopeTrusted takes every other stack, destroying from its state, which only people and
	// jobs allowed to deploy can write.
	ScopeTrusted Scope = "trusted"
)

// ReapOptions tune a sweep.
type ReapOptions struct {
	// DryRun decides as a sweep would and destroys nothing; Removed then means "would remove".
	DryRun bool
	// Platform names the platform stack (any form: stack, org/project/stack). It is kept even
	// if it carried the tags, on top of every stack exporting envDomain; pull requests'
	// environments are removed through its cluster.
	Platform string
	// Scope limits the sweep (ScopeAll by default).
	Scope Scope
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

// pullRequestWritable says whether pull requests' jobs can write the stack's state (see
// program's environment state policy, envname.StateKeys).
func pullRequestWritable(stack string) bool {
	return strings.HasPrefix(stackLeaf(stack), envname.PullRequestPrefix)
}

// Reap destroys and removes every ephemeral stack of its scope whose expiry has passed. It never
// touches a stack without the TagKind marker or a platform (one exporting envDomain, or
// opts.Platform). A stack with the marker but no readable expires-at (its tags are written one
// by one, so a crash can leave it so) is taken once its created-at is MaxTTL past; without
// either date it fails the sweep. A stack locked by a running update is reported Locked and
// the sweep goes on; a lock older than StaleLockAfter cannot be a running job's, and fails the
// sweep until someone removes it.
//
// The error is non-nil when the sweep could not run (listing the stacks failed) or when some
// stack Failed.
func (m *Manager) Reap(ctx context.Context, opts ReapOptions) (Report, error) {
	report := Report{DryRun: opts.DryRun}
	switch opts.Scope {
	case ScopeAll, ScopePullRequests, ScopeTrusted:
	default:
		return report, fmt.Errorf("env reap: scope %q: want %s or %s (or none for both)", opts.Scope, ScopePullRequests, ScopeTrusted)
	}
	ws, err := m.workspace(ctx, nil)
	if err != nil {
		return report, err
	}
	summaries, err := m.stackNames(ctx, ws)
	if err != nil {
		return report, fmt.Errorf("env reap: listing stacks: %w", err)
	}
	sort.Slice(summaries, func(i, j int) bool { return summaries[i].Name < summaries[j].Name })
	var failed []error
	for _, s := range summaries {
		v := m.judge(ctx, ws, s, opts)
		if v.Outcome == Removed && !opts.DryRun {
			err := m.take(ctx, ws, v, opts)
			var locked *LockedError
			switch {
			case errors.As(err, &locked) && !locked.Since.IsZero() && m.now().Sub(locked.Since) > StaleLockAfter:
				v.Outcome = Failed
				v.Reason = fmt.Sprintf("expired, but locked since %s (%s ago, longer than any job runs): a cancelled job left the lock; once no job runs on it, remove it with `pulumi cancel --stack %s`",
					locked.Since.Format(time.RFC3339), m.now().Sub(locked.Since).Round(time.Minute), stackLeaf(s.Name))
			case errors.Is(err, ErrLocked):
				v.Outcome, v.Reason = Locked, "expired, but locked by a running update; the next sweep retries it"
			case err != nil:
				v.Outcome, v.Reason = Failed, err.Error()
			}
		}
		if v.Outcome == Failed {
			failed = append(failed, fmt.Errorf("%s: %s", stackLeaf(v.Stack), v.Reason))
		}
		report.Verdicts = append(report.Verdicts, v)
	}
	if len(failed) > 0 {
		return report, fmt.Errorf("env reap: %d stack(s) could not be removed: %w", len(failed), errors.Join(failed...))
	}
	return report, nil
}

// take removes one expired stack the way its scope says.
func (m *Manager) take(ctx context.Context, ws auto.Workspace, v Verdict, opts ReapOptions) error {
	if !pullRequestWritable(v.Stack) {
		return m.destroyAndRemove(ctx, ws, v.Stack, v.Info.Kind, opts.Platform)
	}
	// The state, tags and configuration of this stack may be a pull request's forgery: what
	// the reaper acts on comes from the stack's name and the platform's state alone.
	if v.Info.Kind != KindEnvironment {
		return fmt.Errorf("a %s named %s*: pull requests can write its state, so it is never destroyed from it; destroy it by hand after reading the state", v.Info.Kind, envname.PullRequestPrefix)
	}
	if opts.Platform == "" {
		return errors.New("removing a pull request's environment needs the platform (--platform, or $OUTSIDE_IN_PLATFORM_STACK), whose cluster it runs in")
	}
	env, err := envname.FromStack(v.Stack)
	if err != nil {
		return err
	}
	cluster, err := m.clusterOf(ctx, ws, opts.Platform)
	if err != nil {
		return err
	}
	if cluster.gone == "" {
		remove := m.RemoveNamespace
		if remove == nil {
			remove = deleteNamespace
		}
		if err := remove(ctx, cluster.kubeconfig, envname.Namespace(env)); err != nil {
			return fmt.Errorf("removing environment %s from the platform's cluster: %w", env, err)
		}
	}
	return m.removeStack(ctx, ws, v.Stack, true)
}

// judge decides what a sweep does with one stack; Removed means "expired, take it". What the
// stack's name decides (the platform, a stack outside the sweep's scope) is decided first,
// before anything of the stack is read: the trusted sweep never opens a checkpoint that pull
// requests can write, nor the pull requests' sweep one it cannot read.
func (m *Manager) judge(ctx context.Context, ws auto.Workspace, s auto.StackSummary, opts ReapOptions) Verdict {
	v := Verdict{Stack: s.Name, Info: Info{Stack: s.Name}}
	switch {
	case opts.Platform != "" && stackLeaf(s.Name) == stackLeaf(opts.Platform):
		v.Outcome, v.Reason = Kept, "the platform stack named by --platform"
		return v
	case opts.Scope == ScopePullRequests && !pullRequestWritable(s.Name):
		v.Outcome, v.Reason = Kept, "not a pull request's stack (--scope "+string(ScopeTrusted)+" takes it)"
		return v
	case opts.Scope == ScopeTrusted && pullRequestWritable(s.Name):
		v.Outcome, v.Reason = Kept, "a pull request's stack (--scope "+string(ScopePullRequests)+" takes it)"
		return v
	}
	info, ok, err := readInfo(ctx, ws, s)
	v.Info = info
	now := m.now()
	switch {
	case !ok && err == nil:
		v.Outcome, v.Reason = Kept, "no "+TagKind+" tag: not made by env up"
	case err != nil:
		// Without the outputs the reaper cannot tell a platform apart; keep it.
		v.Outcome, v.Reason = Kept, "unreadable, kept to be safe: "+err.Error()
	case info.Platform:
		v.Outcome, v.Reason = Kept, "a platform (exports "+OutputEnvDomain+")"
	case info.BadExpiry != "" && info.CreatedAt.IsZero():
		v.Outcome, v.Reason = Failed, info.BadExpiry+", and no readable "+TagCreatedAt+" tag: set "+TagExpiresAt+" (env up renews it) or take it down with env down"
	case info.BadExpiry != "" && now.Before(info.CreatedAt.Add(MaxTTL)):
		v.Outcome, v.Reason = Kept, info.BadExpiry+"; taken at "+TagCreatedAt+" + "+MaxTTL.String()+", "+info.CreatedAt.Add(MaxTTL).Format(time.RFC3339)
	case info.BadExpiry != "":
		v.Outcome, v.Reason = Removed, info.BadExpiry+"; created "+now.Sub(info.CreatedAt).Round(time.Second).String()+" ago, longer than any stack may live"
	case !info.Expired(now):
		v.Outcome, v.Reason = Kept, "expires in "+info.ExpiresAt.Sub(now).Round(time.Second).String()
	default:
		v.Outcome, v.Reason = Removed, "expired "+now.Sub(info.ExpiresAt).Round(time.Second).String()+" ago"
	}
	return v
}
