package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// How a plan diff reads on a pull request: one section per stack whose plan differs, its
// resources by kind of change, and under each replaced or changed resource the inputs that
// differ, old → new. Values are shortened (secrets never shown), and a resource lists at most
// maxPropertyLines properties, so a comment stays readable when a change reaches far.

const (
	maxValueChars    = 80
	maxPropertyLines = 15
)

// WriteDiffMarkdown writes the diffs of several stacks as markdown: the stacks whose plan
// differs, then one line naming the stacks without changes.
func WriteDiffMarkdown(w io.Writer, diffs []StackDiff) error {
	sorted := append([]StackDiff(nil), diffs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Stack < sorted[j].Stack })
	var b strings.Builder
	var same []string
	changed := 0
	for _, d := range sorted {
		if d.Empty() && !d.NoBase && !d.NoHead {
			same = append(same, "`"+d.Stack+"`")
			continue
		}
		changed++
		writeStack(&b, d)
	}
	switch {
	case changed == 0 && len(same) == 0:
		b.WriteString("No stacks planned.\n")
	case changed == 0:
		fmt.Fprintf(&b, "No changes: the offline plan of every stack is the same at the base and at the head (%s).\n", strings.Join(same, ", "))
	case len(same) > 0:
		fmt.Fprintf(&b, "No changes: %s.\n", strings.Join(same, ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeStack(b *strings.Builder, d StackDiff) {
	var counts []string
	for _, k := range []ChangeKind{Added, Replaced, Changed, Removed} {
		if n := d.Count(k); n > 0 {
			counts = append(counts, fmt.Sprintf("%d %s", n, k))
		}
	}
	if len(d.Outputs) > 0 {
		counts = append(counts, fmt.Sprintf("%d stack outputs changed", len(d.Outputs)))
	}
	if len(counts) == 0 {
		counts = append(counts, "no resources")
	}
	fmt.Fprintf(b, "#### `%s`: %s\n\n", d.Stack, strings.Join(counts, ", "))
	switch {
	case d.NoBase:
		b.WriteString("No plan at the base (a new stack file, or one the base could not plan): everything is added.\n\n")
	case d.NoHead:
		b.WriteString("The stack file is gone at the head: everything is removed.\n\n")
	}
	titles := map[ChangeKind]string{
		Added:    "Added",
		Replaced: "Replaced (deleted and created again; ⚠ marks the inputs that force it)",
		Changed:  "Changed in place",
		Removed:  "Removed",
	}
	for _, k := range []ChangeKind{Added, Replaced, Changed, Removed} {
		if d.Count(k) == 0 {
			continue
		}
		fmt.Fprintf(b, "%s:\n", titles[k])
		for _, r := range d.Resources {
			if r.Kind != k {
				continue
			}
			fmt.Fprintf(b, "- `%s` `%s`\n", r.Type, r.Name)
			writeProperties(b, r.Properties, "  ")
		}
		b.WriteString("\n")
	}
	if len(d.Outputs) > 0 {
		b.WriteString("Stack outputs:\n")
		writeProperties(b, d.Outputs, "")
		b.WriteString("\n")
	}
}

func writeProperties(b *strings.Builder, props []PropertyChange, indent string) {
	// Those that force a replacement first: they are why the resource is replaced.
	ordered := append([]PropertyChange(nil), props...)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].Replaces && !ordered[j].Replaces })
	for i, p := range ordered {
		if i == maxPropertyLines {
			fmt.Fprintf(b, "%s- … and %d more\n", indent, len(ordered)-i)
			return
		}
		mark := ""
		if p.Replaces {
			mark = " ⚠"
		}
		fmt.Fprintf(b, "%s- `%s`%s: %s\n", indent, p.Path, mark, describe(p))
	}
}

// describe is a property's change as old → new.
func describe(p PropertyChange) string {
	show := func(has bool, v any) string {
		switch {
		case !has:
			return "(none)"
		case p.Secret || isSecret(v):
			return "[secret]"
		}
		return "`" + shorten(render(v)) + "`"
	}
	switch {
	case !p.HasOld:
		return "added " + show(true, p.New)
	case !p.HasNew:
		return "removed (was " + show(true, p.Old) + ")"
	case p.Secret:
		return "[secret] changed"
	}
	return show(true, p.Old) + " → " + show(true, p.New)
}

// render is a value as one line: strings bare, anything else as JSON.
func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// shorten keeps a value on one line and within maxValueChars, saying how much it left out.
func shorten(s string) string {
	lines := strings.Count(s, "\n") + 1
	first, _, multi := strings.Cut(s, "\n")
	r := []rune(first)
	cut := len(r) > maxValueChars
	if cut {
		r = r[:maxValueChars]
	}
	out := strings.ReplaceAll(string(r), "`", "'")
	switch {
	case multi:
		return fmt.Sprintf("%s… (%d lines, %d characters)", out, lines, len(s))
	case cut:
		return fmt.Sprintf("%s… (%d characters)", out, len(s))
	}
	return out
}
