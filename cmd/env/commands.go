package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/outside-in/outside-in/internal/envlife"
)

const usage = `usage:
  env up NAME [--ttl 72h] [--owner WHO] [--platform ORG/PROJECT/STACK] [--from Pulumi.x.yaml]
        create or update an environment stack in the platform's cluster (--platform, or
        $OUTSIDE_IN_PLATFORM_STACK), or with --from a full stack whose configuration is copied
        from that stack file; prints its URLs. Every up renews the expiry to now + ttl.
  env down NAME
        destroy an ephemeral stack's resources and remove the stack.
  env list
        list the ephemeral stacks: owner, age, expiry, URLs.
  env check NAME [--wait 5m] [--format text|json]
        walk the stack's request path hop by hop (for an environment: its platform's load
        balancer, certificate and controller, then its own Ingresses, Services and pods) and
        say where it breaks; exit status 1 when a path does not serve. --wait retries.
  env reap [--dry-run] [--platform ORG/PROJECT/STACK] [--scope pull-requests|trusted]
        destroy and remove every ephemeral stack whose expiry has passed; never a platform,
        never a stack env up did not make. --dry-run lists what it would remove.
        --scope pull-requests takes only the pr-* stacks, whose state pull requests can write:
        it deletes each environment's namespace through the platform's cluster and never
        destroys from that state; --scope trusted takes every other stack.

The backend is $PULUMI_BACKEND_URL; secrets use $PULUMI_CONFIG_PASSPHRASE (or its _FILE).
`

// defaultTTL is how long an environment lives unless --ttl says otherwise: a working week's
// worth of a few days, renewed by every env up.
const defaultTTL = 72 * time.Hour

var errHelp = errors.New("help requested")

// command is one parsed command line.
type command struct {
	name   string
	up     envlife.UpRequest
	stack  string
	dryRun bool
	// platform and scope are reap's --platform and --scope.
	platform string
	scope    string
	// wait and format are check's --wait and --format.
	wait   time.Duration
	format string
}

// parse reads a command line. Flags may come before or after NAME.
func parse(args []string, getenv func(string) string) (command, error) {
	if len(args) == 0 {
		return command{}, errors.New("no command given")
	}
	c := command{name: args[0]}
	fs := flag.NewFlagSet("env "+c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var names []string
	switch c.name {
	case "-h", "-help", "--help", "help":
		return command{}, errHelp
	case "up":
		fs.DurationVar(&c.up.TTL, "ttl", defaultTTL, "")
		fs.StringVar(&c.up.Owner, "owner", defaultOwner(getenv), "")
		fs.StringVar(&c.up.Platform, "platform", "", "")
		fs.StringVar(&c.up.From, "from", "", "")
	case "down", "list":
	case "check":
		fs.DurationVar(&c.wait, "wait", 0, "")
		fs.StringVar(&c.format, "format", "text", "")
	case "reap":
		fs.BoolVar(&c.dryRun, "dry-run", false, "")
		fs.StringVar(&c.platform, "platform", getenv(EnvPlatformStack), "")
		fs.StringVar(&c.scope, "scope", "", "")
	default:
		return command{}, fmt.Errorf("unknown command %q (want up, down, list, check or reap)", c.name)
	}
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return command{}, errHelp
			}
			return command{}, fmt.Errorf("%s: %w", c.name, err)
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		rest = fs.Args()[1:]
	}

	switch c.name {
	case "up", "down", "check":
		if len(names) != 1 {
			return command{}, fmt.Errorf("%s takes exactly one stack NAME, got %d", c.name, len(names))
		}
		c.stack = names[0]
	default:
		if len(names) != 0 {
			return command{}, fmt.Errorf("%s takes no arguments, got %q", c.name, strings.Join(names, " "))
		}
	}
	if c.name == "check" && c.format != "text" && c.format != "json" {
		return command{}, fmt.Errorf("check: --format %q: must be text or json", c.format)
	}
	if c.name == "check" && c.wait < 0 {
		return command{}, errors.New("check: --wait must not be negative")
	}
	if c.name == "reap" {
		switch envlife.Scope(c.scope) {
		case envlife.ScopeAll, envlife.ScopePullRequests, envlife.ScopeTrusted:
		default:
			return command{}, fmt.Errorf("reap: --scope %q: want %s or %s", c.scope, envlife.ScopePullRequests, envlife.ScopeTrusted)
		}
	}
	if c.name == "up" {
		c.up.Stack = c.stack
		if c.up.From == "" && c.up.Platform == "" {
			c.up.Platform = getenv(EnvPlatformStack)
		}
		if err := c.up.Validate(); err != nil {
			return command{}, fmt.Errorf("up: %w", err)
		}
	}
	return c, nil
}

// defaultOwner is who runs env: $OUTSIDE_IN_OWNER, the GitHub actor in CI, or the user.
func defaultOwner(getenv func(string) string) string {
	for _, k := range []string{EnvOwner, "GITHUB_ACTOR", "USER"} {
		if v := getenv(k); v != "" {
			return v
		}
	}
	return ""
}

func (c command) exec(ctx context.Context, m lifecycle, out io.Writer) error {
	switch c.name {
	case "up":
		info, err := m.Up(ctx, c.up)
		if err != nil {
			return err
		}
		printUp(out, info)
	case "down":
		if err := m.Down(ctx, c.stack); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s: destroyed and removed (or already gone)\n", c.stack)
	case "list":
		infos, err := m.List(ctx)
		if err != nil {
			return err
		}
		printList(out, infos, time.Now().UTC())
	case "check":
		return checkStack(ctx, m, c, out)
	case "reap":
		report, err := m.Reap(ctx, envlife.ReapOptions{DryRun: c.dryRun, Platform: c.platform, Scope: envlife.Scope(c.scope)})
		printReport(out, report)
		return err
	}
	return nil
}

func printUp(out io.Writer, info envlife.Info) {
	fmt.Fprintf(out, "%s (%s, owner %s) expires %s\n", info.Stack, info.Kind, info.Owner, info.ExpiresAt.Format(time.RFC3339))
	for _, app := range sortedApps(info.URLs) {
		fmt.Fprintf(out, "  %s  %s\n", app, info.URLs[app])
	}
}

func printList(out io.Writer, infos []envlife.Info, now time.Time) {
	if len(infos) == 0 {
		fmt.Fprintln(out, "no ephemeral stacks")
		return
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tKIND\tOWNER\tAGE\tUPDATED\tEXPIRES\tURLS")
	for _, i := range infos {
		var urls []string
		for _, app := range sortedApps(i.URLs) {
			urls = append(urls, i.URLs[app])
		}
		expires := i.BadExpiry
		if expires == "" {
			expires = i.ExpiresAt.Format(time.RFC3339)
			if i.Expired(now) {
				expires += " (expired)"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", i.Stack, i.Kind, i.Owner,
			since(now, i.CreatedAt), since(now, i.LastUpdate), expires, strings.Join(urls, " "))
	}
	tw.Flush()
}

func printReport(out io.Writer, r envlife.Report) {
	for _, v := range r.Verdicts {
		what := string(v.Outcome)
		if r.DryRun && v.Outcome == envlife.Removed {
			what = "would remove"
		}
		fmt.Fprintf(out, "%-12s %s: %s\n", what, v.Stack, v.Reason)
	}
	verb := "removed"
	if r.DryRun {
		verb = "would remove"
	}
	fmt.Fprintf(out, "reap: %s %d, kept %d, locked %d, failed %d\n", verb,
		r.Count(envlife.Removed), r.Count(envlife.Kept), r.Count(envlife.Locked), r.Count(envlife.Failed))
}

// since is an age: "3h12m" or "-" when unknown.
func since(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return now.Sub(t).Round(time.Minute).String()
}

func sortedApps(urls map[string]string) []string {
	apps := make([]string, 0, len(urls))
	for a := range urls {
		apps = append(apps, a)
	}
	sort.Strings(apps)
	return apps
}
