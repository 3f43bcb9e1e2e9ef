package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Status is a hop's verdict.
type Status string

// Hop verdicts. A hop is skipped when it does not apply (TLS on a plain-HTTP stack) or when
// what it needs could not be found (an earlier hop's load balancer is missing).
const (
	OK      Status = "ok"
	Failed  Status = "failed"
	Skipped Status = "skipped"
)

// Hop names, in the order a request travels.
const (
	HopDNS          = "dns"
	HopTLS          = "tls"
	HopLoadBalancer = "load-balancer"
	HopTargets      = "targets"
	HopController   = "controller"
	HopIngress      = "ingress"
	HopHTTP         = "http"
)

// Hop is one hop's verdict with what it saw; a failed hop says the likely cause and the fix.
type Hop struct {
	Name     string   `json:"hop"`
	Status   Status   `json:"status"`
	Evidence []string `json:"evidence"`
	Cause    string   `json:"cause,omitempty"`
	Fix      string   `json:"fix,omitempty"`
}

// HostReport is one host's path.
type HostReport struct {
	Host string `json:"host"`
	URL  string `json:"url"`
	App  string `json:"app"`
	// Serves is true when no hop failed.
	Serves bool `json:"serves"`
	// FirstBroken names the first failed hop, "" when the path serves.
	FirstBroken string `json:"firstBroken,omitempty"`
	Hops        []Hop  `json:"hops"`
}

// Report is a check of every host of a stack.
type Report struct {
	Stack     string       `json:"stack,omitempty"`
	CheckedAt time.Time    `json:"checkedAt"`
	Serves    bool         `json:"serves"`
	Hosts     []HostReport `json:"hosts"`
}

// Hop returns the host's hop of that name.
func (h HostReport) Hop(name string) (Hop, bool) {
	for _, hop := range h.Hops {
		if hop.Name == name {
			return hop, true
		}
	}
	return Hop{}, false
}

func (r *Report) finish() {
	r.Serves = len(r.Hosts) > 0
	for i := range r.Hosts {
		h := &r.Hosts[i]
		h.Serves = true
		for _, hop := range h.Hops {
			if hop.Status == Failed {
				h.Serves = false
				h.FirstBroken = hop.Name
				break
			}
		}
		r.Serves = r.Serves && h.Serves
	}
}

// Write writes the report in format: "json", or the text tables otherwise.
func (r *Report) Write(w io.Writer, format string) error {
	if format == "json" {
		return r.WriteJSON(w)
	}
	return r.WriteText(w)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes a table per host: each hop's verdict and evidence, the first broken hop
// marked with ▶ and followed by its likely cause and fix.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for i, h := range r.Hosts {
		if i > 0 {
			b.WriteString("\n")
		}
		verdict := "serves"
		if !h.Serves {
			verdict = "does not serve: first broken hop " + h.FirstBroken
		}
		fmt.Fprintf(&b, "%s (%s): %s\n", h.Host, h.URL, verdict)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, hop := range h.Hops {
			mark := " "
			if hop.Name == h.FirstBroken {
				mark = "▶"
			}
			evidence := hop.Evidence
			if len(evidence) == 0 {
				evidence = []string{""}
			}
			fmt.Fprintf(tw, "%s %s\t%s\t%s\n", mark, hop.Name, hop.Status, evidence[0])
			for _, e := range evidence[1:] {
				fmt.Fprintf(tw, " \t\t%s\n", e)
			}
			if hop.Name == h.FirstBroken {
				fmt.Fprintf(tw, " \t\tcause: %s\n", hop.Cause)
				fmt.Fprintf(tw, " \t\tfix: %s\n", hop.Fix)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	served := 0
	for _, h := range r.Hosts {
		if h.Serves {
			served++
		}
	}
	fmt.Fprintf(&b, "\ncheck: %d of %d hosts serve\n", served, len(r.Hosts))
	_, err := io.WriteString(w, b.String())
	return err
}

// ok, failed and skipped build hops.
func ok(name string, evidence ...string) Hop {
	return Hop{Name: name, Status: OK, Evidence: evidence}
}

func skipped(name, why string) Hop {
	return Hop{Name: name, Status: Skipped, Evidence: []string{why}}
}

func failed(name string, evidence []string, cause, fix string) Hop {
	return Hop{Name: name, Status: Failed, Evidence: evidence, Cause: cause, Fix: fix}
}
