package plan

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/outside-in/outside-in/offline/fakeaws"
)

// WriteTree prints every resource under its parent, then the number of resources per type.
func (r *Result) WriteTree(w io.Writer) {
	children := map[string][]*fakeaws.Resource{}
	for _, res := range Ordered(r.Resources) {
		parent := res.Parent
		if parent == "" {
			parent = r.Fake.StackURN()
		}
		children[parent] = append(children[parent], res)
	}
	root := r.Fake.StackURN()
	fmt.Fprintf(w, "%s  %s-%s\n", stackType, Project, r.Stack.Name)
	var walk func(urn, indent string)
	walk = func(urn, indent string) {
		kids := children[urn]
		for i, c := range kids {
			branch, next := "├─ ", "│  "
			if i == len(kids)-1 {
				branch, next = "└─ ", "   "
			}
			line := fmt.Sprintf("%s%s%s  %s", indent, branch, c.Type, c.Name)
			if c.ID != "" {
				line += "  " + c.ID
			}
			fmt.Fprintln(w, line)
			walk(c.URN, indent+next)
		}
	}
	walk(root, "")

	counts := map[string]int{}
	for _, res := range r.Resources {
		counts[res.Type]++
	}
	types := make([]string, 0, len(counts))
	for t := range counts {
		types = append(types, t)
	}
	sort.Strings(types)
	fmt.Fprintf(w, "\n%d resources (components included) of %d types:\n", len(r.Resources), len(types))
	for _, t := range types {
		fmt.Fprintf(w, "  %4d  %s\n", counts[t], t)
	}
}

// OfType returns the resources of the type, in URN order.
func (r *Result) OfType(typ string) []*fakeaws.Resource {
	var out []*fakeaws.Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// ByURN finds a resource.
func (r *Result) ByURN(urn string) *fakeaws.Resource {
	for _, res := range r.Resources {
		if res.URN == urn {
			return res
		}
	}
	return nil
}

// Named finds the resource of a type with a logical name.
func (r *Result) Named(typ, name string) *fakeaws.Resource {
	for _, res := range r.Resources {
		if res.Type == typ && res.Name == name {
			return res
		}
	}
	return nil
}

func isKubernetesObject(typ string) bool {
	return strings.HasPrefix(typ, "kubernetes:") && typ != "kubernetes:helm.sh/v3:Release"
}
