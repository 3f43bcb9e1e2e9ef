package main

import (
	"fmt"
	"io"
	"strings"
)

// Status is how one setting stands, from harmless to dangerous.
type Status int

const (
	// OK: the setting is as the CI's safety needs it.
	OK Status = iota
	// Unknown: the setting could not be read (a token without the scope, an organization
	// endpoint on a user's repository); it is not known to be safe.
	Unknown
	// Broken: something the workflows need is missing or different (a secret, the OIDC
	// subject template); the jobs that need it fail, and nothing is exposed.
	Broken
	// Unsafe: a pull request's code could reach something it must not.
	Unsafe
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Unknown:
		return "unknown"
	case Broken:
		return "BROKEN"
	default:
		return "UNSAFE"
	}
}

// finding is one thing a check found: what and why, and for anything but OK where to fix it.
type finding struct {
	status   Status
	why, fix string
}

// Row is one named check and what it found; its status is the worst of its findings.
type Row struct {
	Name     string
	findings []finding
}

// Status is the worst status among the row's findings; a row that found nothing is unknown,
// never ok.
func (r Row) Status() Status {
	if len(r.findings) == 0 {
		return Unknown
	}
	worst := OK
	for _, f := range r.findings {
		worst = max(worst, f.status)
	}
	return worst
}

func (r *Row) ok(why string)                 { r.add(OK, why, "") }
func (r *Row) unsafe(why, fix string)        { r.add(Unsafe, why, fix) }
func (r *Row) broken(why, fix string)        { r.add(Broken, why, fix) }
func (r *Row) add(s Status, why, fix string) { r.findings = append(r.findings, finding{s, why, fix}) }

// unknown records that a read failed: the request and GitHub's answer, and what reading it
// takes, so that a 403 or 404 says which scope or permission is missing.
func (r *Row) unknown(err error, needs string) {
	why := err.Error()
	if s := statusOf(err); s == 403 || s == 404 {
		why += " (reading it needs " + needs + ")"
	}
	r.add(Unknown, why, "")
}

// printRows writes one block per row: status, name and every finding, each non-OK finding
// followed by its fix; then a summary line.
func printRows(out io.Writer, rows []Row) {
	counts := map[Status]int{}
	for _, r := range rows {
		s := r.Status()
		counts[s]++
		if len(r.findings) == 0 {
			fmt.Fprintf(out, "%-8s %-24s nothing was checked\n", s, r.Name)
		}
		first := true
		for _, f := range r.findings {
			if s != OK && f.status == OK {
				continue // a failing row shows what fails
			}
			head := fmt.Sprintf("%-8s %-24s", s, r.Name)
			if !first {
				head = strings.Repeat(" ", len(head))
			}
			first = false
			fmt.Fprintf(out, "%s %s\n", head, f.why)
			if f.fix != "" {
				fmt.Fprintf(out, "%s fix: %s\n", strings.Repeat(" ", len(head)), f.fix)
			}
		}
	}
	fmt.Fprintf(out, "\n%d checks: %d ok, %d UNSAFE, %d BROKEN, %d unknown\n",
		len(rows), counts[OK], counts[Unsafe], counts[Broken], counts[Unknown])
}

// exitStatus is 1 when a row is UNSAFE or BROKEN, 3 when nothing is but a row is unknown,
// 0 when every row is ok.
func exitStatus(rows []Row) int {
	worst := OK
	for _, r := range rows {
		worst = max(worst, r.Status())
	}
	switch worst {
	case OK:
		return 0
	case Unknown:
		return 3
	default:
		return 1
	}
}
