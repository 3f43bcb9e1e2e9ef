// Command ghsettings checks the GitHub settings that the workflows' safety rests on and that no
// file in the repository shows: whether GitHub Actions may approve pull requests, what a
// workflow's token gets by default, whether fork pull requests wait for a maintainer, whether
// the deploy runners take only main's deploy workflows, whether main takes only reviewed pull
// requests with no one able to bypass that, whether the GitHub environments that hold the
// stacks' passphrase admit main alone (production behind reviewers), where the two passphrases
// live, and the OIDC subject template the platform's trust expects. A pull request's author
// can probe each of them; the repository's files cannot enforce any.
//
//	ghsettings --repo OWNER/NAME [--deploy-runner-group NAME] [--subject-template repo-context-ref|repo-context]
//
// It reads them with `gh api` (the GitHub CLI's own login: `gh auth login`, or GH_TOKEN), as
// a repository admin with read access to the organization's runner groups. Every check is
// a row: ok, UNSAFE (a pull request's code could reach what it must not), BROKEN (something
// the workflows need is missing or different; the jobs fail and nothing is exposed) or
// unknown (it could not be read; the row says what the token lacks).
//
// Exit status: 0 when every row is ok; 1 when a row is UNSAFE or BROKEN; 3 when none is but a
// row is unknown, since a setting not read is not known to be safe; 2 for a usage error or a
// repository that cannot be read at all.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/outside-in/outside-in/guardrails"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, newGH)
	stop()
	os.Exit(code)
}

// newGH finds the GitHub CLI on PATH.
func newGH() (API, error) {
	bin, err := exec.LookPath("gh")
	if err != nil {
		return nil, errors.New("the GitHub CLI (gh) is not on PATH: install it and run gh auth login, https://cli.github.com")
	}
	return ghCLI{bin: bin}, nil
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, newAPI func() (API, error)) int {
	t, err := parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ghsettings: %v\n\n%s", err, usage)
		return 2
	}
	api, err := newAPI()
	if err != nil {
		fmt.Fprintf(stderr, "ghsettings: %v\n", err)
		return 2
	}
	t, err = readTarget(ctx, api, t)
	if err != nil {
		fmt.Fprintf(stderr, "ghsettings: reading the repository %s: %v\n", t.repo(), err)
		return 2
	}
	rows := check(ctx, api, t)
	printRows(stdout, rows)
	return exitStatus(rows)
}

const usage = `usage: ghsettings --repo OWNER/NAME [--deploy-runner-group NAME] [--subject-template T]
  --repo                 the repository whose settings to check
  --deploy-runner-group  the organization runner group of the deploy runners, checked even
                         before a runner in it carries $OUTSIDE_IN_DEPLOY_RUNNER's label
  --subject-template     the platform's githubOidc.subjectTemplate (default repo-context-ref)
Reads through gh api; exit status 0 all ok, 1 UNSAFE or BROKEN, 3 unknown, 2 usage.
`

func parse(args []string) (target, error) {
	var t target
	var repo, template string
	fs := flag.NewFlagSet("ghsettings", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&repo, "repo", "", "")
	fs.StringVar(&t.deployRunnerGroup, "deploy-runner-group", "", "")
	fs.StringVar(&template, "subject-template", string(guardrails.SubjectTemplates[0]), "")
	if err := fs.Parse(args); err != nil {
		return t, err
	}
	if fs.NArg() != 0 {
		return t, fmt.Errorf("unexpected arguments %q", strings.Join(fs.Args(), " "))
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return t, fmt.Errorf("--repo %q: want OWNER/NAME, e.g. example/outside-in", repo)
	}
	t.owner, t.name = owner, name
	t.template = guardrails.SubjectTemplate(template)
	if !slices.Contains(guardrails.SubjectTemplates, t.template) {
		return t, fmt.Errorf("--subject-template %q: want %s or %s", template, guardrails.SubjectTemplates[0], guardrails.SubjectTemplates[1])
	}
	return t, nil
}
