package estimate

import (
	"fmt"
	"sort"
	"strings"

	"github.com/outside-in/outside-in/offline/fakeaws"
)

// Step is one resource on the critical path and the minutes its create adds.
type Step struct {
	URN     string  `json:"urn"`
	Type    string  `json:"type"`
	Label   string  `json:"label"`
	Minutes float64 `json:"minutes"`
	// Range is the measured or assumed range the minutes are the midpoint of.
	Range  string `json:"range"`
	Source string `json:"source"`
}

// Wait is an ordering the program chose that nothing in the waiting resources' inputs or the
// duration data's needs explains, and that lengthens the first deploy: a resource's own
// dependsOn, or a component's, which every resource it creates inherits.
type Wait struct {
	// URN is the resource whose dependsOn it is, or the component's.
	URN       string `json:"urn"`
	Type      string `json:"type"`
	WaitsOn   string `json:"waitsOn"`
	WaitsType string `json:"waitsOnType"`
	// Waiting counts the resources held back: 1 for a resource's own dependsOn, the children
	// concerned for a component's.
	Waiting      int     `json:"waiting"`
	SavedMinutes float64 `json:"savedMinutes"`
}

// CriticalPath is the longest chain of creates through the dependency graph, assuming Pulumi
// runs everything else in parallel.
type CriticalPath struct {
	Minutes float64 `json:"minutes"`
	Steps   []Step  `json:"steps"`
	// Avoidable are the waits whose removal alone would shorten the path.
	Avoidable []Wait `json:"avoidable"`
}

// edge is one "waits for" relation; data edges carry a value (an input refers to the other
// resource, or it is the resource's provider), the others are ordering only.
type edge struct {
	to        string
	data      bool
	inherited string
}

// graph is the plan's resources as nodes weighted with their create minutes.
type graph struct {
	nodes map[string]*fakeaws.Resource
	order []string // URNs in registration order, for determinism
	edges map[string][]edge
	dur   map[string]TypeDuration
}

// newGraph builds the graph. A resource waits for its Dependencies (Pulumi's union of its
// dependsOn and the resources its inputs refer to), for its ancestors' Dependencies (a
// component's dependsOn holds for what it creates), and for its provider (a Kubernetes object
// waits for the provider, which waits for the cluster). A component completes when its children
// do, so waiting on a component waits on all of them.
func newGraph(resources []*fakeaws.Resource, d *Durations) *graph {
	g := &graph{nodes: map[string]*fakeaws.Resource{}, edges: map[string][]edge{}, dur: map[string]TypeDuration{}}
	for _, r := range resources {
		if _, dup := g.nodes[r.URN]; !dup {
			g.order = append(g.order, r.URN)
		}
		g.nodes[r.URN] = r
	}
	for _, urn := range g.order {
		r := g.nodes[urn]
		seen := map[string]bool{}
		addEdge := func(e edge) {
			if _, ok := g.nodes[e.to]; !ok || e.to == urn || seen[e.to] {
				return
			}
			seen[e.to] = true
			g.edges[urn] = append(g.edges[urn], e)
		}
		viaInput := map[string]bool{}
		var inputs []string
		for _, deps := range r.PropertyDependencies {
			for _, dep := range deps {
				if !viaInput[dep] {
					viaInput[dep] = true
					inputs = append(inputs, dep)
				}
			}
		}
		sort.Strings(inputs) // a fixed edge order makes ties on the path resolve the same way
		if p := providerURN(r.Provider); p != "" {
			addEdge(edge{to: p, data: true})
		}
		for _, dep := range inputs {
			addEdge(edge{to: dep, data: true})
		}
		for _, dep := range r.Dependencies {
			addEdge(edge{to: dep, data: viaInput[dep]})
		}
		for p := g.nodes[r.Parent]; p != nil; p = g.nodes[p.Parent] {
			for _, dep := range p.Dependencies {
				addEdge(edge{to: dep, inherited: p.URN})
			}
		}
		if parent := g.nodes[r.Parent]; parent != nil && !parent.Custom {
			g.edges[parent.URN] = append(g.edges[parent.URN], edge{to: urn, data: true})
		}
	}
	for _, urn := range g.order {
		r := g.nodes[urn]
		direct := map[string]bool{}
		for _, e := range g.edges[urn] {
			direct[g.nodes[e.to].Type] = true
		}
		switch {
		case !r.Custom:
			g.dur[urn] = TypeDuration{Type: r.Type, Source: "component"}
		default:
			g.dur[urn] = d.forType(r.Type, direct)
		}
	}
	return g
}

// providerURN strips the id from a provider reference ("<urn>::<id>").
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		return ref[:i]
	}
	return ref
}

// longest finds each resource's earliest finish and the predecessor that decides it, leaving
// out the edges in skip. A cycle is an error: Pulumi would refuse the program.
func (g *graph) longest(skip map[[2]string]bool) (map[string]float64, map[string]string, error) {
	finish := map[string]float64{}
	pred := map[string]string{}
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(urn string) error {
		switch state[urn] {
		case 1:
			return fmt.Errorf("dependency cycle through %s", urn)
		case 2:
			return nil
		}
		state[urn] = 1
		start := 0.0
		for _, e := range g.edges[urn] {
			if skip[[2]string{urn, e.to}] {
				continue
			}
			if err := visit(e.to); err != nil {
				return err
			}
			if f := finish[e.to]; f > start || (f == start && pred[urn] == "") {
				start, pred[urn] = f, e.to
			}
		}
		finish[urn] = start + g.dur[urn].Minutes()
		state[urn] = 2
		return nil
	}
	for _, urn := range g.order {
		if err := visit(urn); err != nil {
			return nil, nil, err
		}
	}
	return finish, pred, nil
}

// end is the resource that finishes last.
func (g *graph) end(finish map[string]float64) string {
	last := ""
	for _, urn := range g.order {
		if last == "" || finish[urn] > finish[last] {
			last = urn
		}
	}
	return last
}

// criticalPath is the longest chain, from the first create to the last, with the ordering-only
// waits whose removal would shorten it.
func (g *graph) criticalPath(d *Durations) (CriticalPath, error) {
	finish, pred, err := g.longest(nil)
	if err != nil {
		return CriticalPath{}, err
	}
	last := g.end(finish)
	cp := CriticalPath{Minutes: finish[last]}
	for urn := last; urn != ""; urn = pred[urn] {
		r, t := g.nodes[urn], g.dur[urn]
		if !r.Custom {
			continue // components take no time of their own
		}
		cp.Steps = append([]Step{{URN: urn, Type: r.Type, Label: label(r, t), Minutes: round(t.Minutes(), 3), Range: t.Range(), Source: t.Source}}, cp.Steps...)
	}
	waits, groups := g.orderingOnly(d)
	for _, w := range waits {
		skip := map[[2]string]bool{}
		for _, e := range groups[w] {
			skip[e] = true
		}
		without, _, err := g.longest(skip)
		if err != nil {
			return CriticalPath{}, err
		}
		if saved := cp.Minutes - without[g.end(without)]; saved > 0.005 {
			cp.Avoidable = append(cp.Avoidable, Wait{URN: w[0], Type: g.nodes[w[0]].Type, WaitsOn: w[1],
				WaitsType: g.nodes[w[1]].Type, Waiting: len(groups[w]), SavedMinutes: saved})
		}
	}
	sort.SliceStable(cp.Avoidable, func(i, j int) bool { return cp.Avoidable[i].SavedMinutes > cp.Avoidable[j].SavedMinutes })
	return cp, nil
}

// orderingOnly groups the edges no input and no need explains by whose dependsOn they come
// from (the resource, or the ancestor component it inherits them from) and what they wait on,
// so that a component's dependsOn is judged as a whole: removing it frees all its children.
func (g *graph) orderingOnly(d *Durations) ([][2]string, map[[2]string][][2]string) {
	var keys [][2]string
	groups := map[[2]string][][2]string{}
	for _, urn := range g.order {
		r := g.nodes[urn]
		if !r.Custom {
			continue // a component's own edges only gather its children
		}
		for _, e := range g.edges[urn] {
			if e.data {
				continue
			}
			if _, needed := d.need(r.Type, g.nodes[e.to].Type); needed {
				continue
			}
			owner := urn
			if e.inherited != "" {
				owner = e.inherited
			}
			k := [2]string{owner, e.to}
			if len(groups[k]) == 0 {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], [2]string{urn, e.to})
		}
	}
	return keys, groups
}

// label names a step for people: the duration data's label and the resource's name.
func label(r *fakeaws.Resource, t TypeDuration) string {
	l := t.Label
	if l == "" {
		l = r.Type[strings.LastIndex(r.Type, ":")+1:]
	}
	return l + " " + r.Name
}
