package estimate

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Durations are how long creates take, per resource type, and which waits between types are
// real needs rather than ordering the program chose.
type Durations struct {
	Note    string         `json:"note"`
	Sources []Source       `json:"sources"`
	Types   []TypeDuration `json:"types"`
	// Defaults apply to types without an entry, by kind: "aws", "kubernetes", "other".
	Defaults map[string]TypeDuration `json:"defaults"`
	Needs    []Need                  `json:"needs"`
}

// TypeDuration is the range of minutes a type takes to create.
type TypeDuration struct {
	Type string `json:"type"`
	// After narrows the entry to resources that depend directly on a resource of this type
	// (the k3s Kubernetes provider waits for servers; the EKS one does not).
	After  string  `json:"after,omitempty"`
	Label  string  `json:"label"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Source string  `json:"source"`
	Note   string  `json:"note,omitempty"`
}

// Minutes is the midpoint of the range: the figure the critical path adds up.
func (d TypeDuration) Minutes() float64 { return (d.Min + d.Max) / 2 }

// Range is the range as text, "8.5–11.5".
func (d TypeDuration) Range() string { return fmt.Sprintf("%g–%g", d.Min, d.Max) }

// Need says that a resource of type From really waits for one of type To even when none of its
// inputs uses it. Both are type prefixes ("aws:iam/" matches every IAM type).
type Need struct {
	From string `json:"from"`
	To   string `json:"to"`
	Why  string `json:"why"`
}

// DefaultDurations returns the shipped duration data (a fresh copy each call).
func DefaultDurations() *Durations {
	d, err := ParseDurations(durationsJSON)
	if err != nil {
		panic(fmt.Sprintf("estimate: the embedded durations.json is invalid: %v", err))
	}
	return d
}

// ParseDurations reads and checks duration data in the shape of durations.json.
func ParseDurations(b []byte) (*Durations, error) {
	var d Durations
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("durations: %w", err)
	}
	return &d, d.Check()
}

// Check reports entries without a known source, or with a range that is not a range.
func (d *Durations) Check() error {
	known := map[string]bool{}
	for _, s := range d.Sources {
		known[s.ID] = s.What != "" && s.Date != ""
	}
	var problems []string
	check := func(name string, t TypeDuration) {
		if !known[t.Source] {
			problems = append(problems, fmt.Sprintf("%s: source %q is not listed with a date", name, t.Source))
		}
		if t.Min < 0 || t.Max < t.Min {
			problems = append(problems, fmt.Sprintf("%s: range %s", name, t.Range()))
		}
	}
	for _, t := range d.Types {
		check(t.Type, t)
	}
	for _, kind := range []string{"aws", "kubernetes", "other"} {
		t, ok := d.Defaults[kind]
		if !ok {
			problems = append(problems, "no default for "+kind)
			continue
		}
		check("default "+kind, t)
	}
	for _, n := range d.Needs {
		if n.From == "" || n.To == "" || n.Why == "" {
			problems = append(problems, fmt.Sprintf("need %+v is incomplete", n))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("durations: %s", strings.Join(problems, "; "))
	}
	return nil
}

// forType picks the entry for a resource type, given the types it depends on directly.
func (d *Durations) forType(typ string, dependsOn map[string]bool) TypeDuration {
	var plain *TypeDuration
	for i, t := range d.Types {
		if t.Type != typ {
			continue
		}
		if t.After == "" {
			if plain == nil {
				plain = &d.Types[i]
			}
		} else if dependsOn[t.After] {
			return t
		}
	}
	if plain != nil {
		return *plain
	}
	kind := "other"
	switch {
	case strings.HasPrefix(typ, "aws:"):
		kind = "aws"
	case strings.HasPrefix(typ, "kubernetes:"):
		kind = "kubernetes"
	}
	t := d.Defaults[kind]
	t.Type = typ
	return t
}

// need is the reason a from-type resource waits for a to-type one, if the data knows one.
func (d *Durations) need(from, to string) (string, bool) {
	for _, n := range d.Needs {
		if strings.HasPrefix(from, n.From) && strings.HasPrefix(to, n.To) {
			return n.Why, true
		}
	}
	return "", false
}
