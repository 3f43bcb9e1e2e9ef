package plan

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
)

// What a pull request changes, read from the offline plan of a stack at the base and at the
// head (`--format json` of each): which resources are added, removed, replaced and changed, and
// which of their inputs. No credential is needed, since neither side reads a real stack.
//
// Resources are matched by URN, as Pulumi matches them: a resource renamed or moved under
// another parent has another URN and shows as one removed and one added. A matched resource
// whose inputs differ is replaced when one of the changed inputs is one its provider cannot
// change in place (replace.go), and changed otherwise.

// ChangeKind says what Pulumi would do to a resource.
type ChangeKind string

// The kinds of change, in the order a review reads them.
const (
	Added    ChangeKind = "added"
	Replaced ChangeKind = "replaced"
	Changed  ChangeKind = "changed"
	Removed  ChangeKind = "removed"
)

// StackDiff is the difference between two plans of one stack.
type StackDiff struct {
	Stack string
	// NoBase says the stack had no plan at the base (a new stack file, or one the base could not
	// plan): every resource shows as added.
	NoBase bool
	// NoHead says the stack file is gone at the head: every resource shows as removed.
	NoHead    bool
	Resources []ResourceChange
	// Outputs are the stack outputs whose values differ.
	Outputs []PropertyChange
}

// Empty reports whether the two plans declare the same resources with the same inputs and the
// same stack outputs.
func (d StackDiff) Empty() bool { return len(d.Resources) == 0 && len(d.Outputs) == 0 }

// Count is the number of resources of one kind of change.
func (d StackDiff) Count(k ChangeKind) int {
	n := 0
	for _, r := range d.Resources {
		if r.Kind == k {
			n++
		}
	}
	return n
}

// ResourceChange is one resource added, removed, replaced or changed.
type ResourceChange struct {
	Kind ChangeKind
	URN  string
	Type string
	Name string
	// Properties are the inputs that differ (replaced and changed resources only).
	Properties []PropertyChange
}

// PropertyChange is one input (or stack output) whose value differs.
type PropertyChange struct {
	// Path is the property's path as Pulumi writes it: spec.template.spec.containers[0].image,
	// metadata.labels["app.kubernetes.io/name"]; inside a JSON document held in a string (an IAM
	// policy) the document's own path follows the property's after a colon.
	Path string
	// Old and New are the values, absent when the property is added or removed.
	Old, New    any
	HasOld      bool
	HasNew      bool
	Secret      bool
	Replaces    bool
	ReplaceNote string
}

// ReadDeployment reads a `--format json` plan.
func ReadDeployment(path string) (*Deployment, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d Deployment
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: not a plan in --format json: %w", path, err)
	}
	if d.Version != 3 {
		return nil, fmt.Errorf("%s: deployment version %d, want 3 (the shape of `pulumi stack export`)", path, d.Version)
	}
	return &d, nil
}

// StackName is the stack a plan is of, read from its pulumi:pulumi:Stack resource's URN
// (urn:pulumi:<stack>::<project>::...), or "" when it has none.
func (d *Deployment) StackName() string {
	for _, r := range d.Deployment.Resources {
		if r.Type == stackType {
			rest := strings.TrimPrefix(r.URN, "urn:pulumi:")
			if i := strings.Index(rest, "::"); i > 0 {
				return rest[:i]
			}
		}
	}
	return ""
}

// DiffPlans compares the plan of a stack at the base with its plan at the head. Either may be
// nil: a stack without a plan at the base has every resource added, one without a plan at the
// head every resource removed.
func DiffPlans(stack string, base, head *Deployment) StackDiff {
	d := StackDiff{Stack: stack, NoBase: base == nil, NoHead: head == nil}
	if base == nil {
		base = &Deployment{}
	}
	if head == nil {
		head = &Deployment{}
	}
	olds, news := byURN(base), byURN(head)
	carryOver(olds, news)

	for _, urn := range unionKeys(olds, news) {
		o, inOld := olds[urn]
		n, inNew := news[urn]
		switch {
		case inOld && !inNew:
			if o.Type != stackType {
				d.Resources = append(d.Resources, change(Removed, o))
			}
		case !inOld && inNew:
			if n.Type != stackType {
				d.Resources = append(d.Resources, change(Added, n))
			}
		case n.Type == stackType:
			d.Outputs = diffValues("", decodeSecrets(o.Outputs), decodeSecrets(n.Outputs), false, nil)
		default:
			props := diffValues("", decodeSecrets(o.Inputs), decodeSecrets(n.Inputs), false, nil)
			if len(props) == 0 {
				continue
			}
			kind := Changed
			rules := replaceRules(n, news)
			for i := range props {
				if note, ok := rules.replaces(props[i].Path); ok {
					props[i].Replaces, props[i].ReplaceNote = true, note
					kind = Replaced
				}
			}
			rc := change(kind, n)
			rc.Properties = props
			d.Resources = append(d.Resources, rc)
		}
	}
	order := map[ChangeKind]int{Added: 0, Replaced: 1, Changed: 2, Removed: 3}
	sort.SliceStable(d.Resources, func(i, j int) bool {
		a, b := d.Resources[i], d.Resources[j]
		if order[a.Kind] != order[b.Kind] {
			return order[a.Kind] < order[b.Kind]
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.URN < b.URN
	})
	return d
}

func change(k ChangeKind, r StateResource) ResourceChange {
	return ResourceChange{Kind: k, URN: r.URN, Type: r.Type, Name: urnName(r.URN)}
}

// urnName is a URN's last part, the resource's name.
func urnName(urn string) string {
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		return urn[i+2:]
	}
	return urn
}

func byURN(d *Deployment) map[string]StateResource {
	out := map[string]StateResource{}
	for _, r := range d.Deployment.Resources {
		out[r.URN] = r
	}
	return out
}

func unionKeys(a, b map[string]StateResource) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]StateResource{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// carryOver gives the head's resources the base's outputs where Pulumi would keep them. A
// resource whose inputs do not change is not touched by an update, so its outputs stay what the
// state holds; the offline plan, though, generates keys and certificates afresh on every run
// (a tls PrivateKey, a RandomPassword). Each such output of the head, and the forms of it the
// program passes on (base64, sha256, JSON-escaped), is replaced by the base's value everywhere
// in the head, and the resources whose inputs then match keep their outputs in turn, until
// nothing more matches. Without it every stack with a generated key would differ on every run.
func carryOver(olds, news map[string]StateResource) {
	subst := map[string]string{}
	for {
		added := false
		for _, urn := range unionKeys(olds, news) {
			o, inOld := olds[urn]
			n, inNew := news[urn]
			if !inOld || !inNew || o.Type != n.Type || o.Type == stackType {
				continue
			}
			if !reflect.DeepEqual(normalized(o.Inputs), normalized(substitute(n.Inputs, subst))) {
				continue
			}
			pairs := map[string]string{}
			sameShapeStrings(decodeSecrets(substitute(n.Outputs, subst)), decodeSecrets(o.Outputs), pairs)
			for h, b := range pairs {
				if len(h) < 8 || subst[h] != "" {
					continue
				}
				for hf, bf := range derivedForms(h, b) {
					if _, ok := subst[hf]; !ok {
						subst[hf] = bf
					}
				}
				added = true
			}
		}
		if !added {
			break
		}
	}
	if len(subst) == 0 {
		return
	}
	for urn, n := range news {
		n.Inputs = substitute(n.Inputs, subst).(map[string]any)
		n.Outputs = substitute(n.Outputs, subst).(map[string]any)
		news[urn] = n
	}
}

// derivedForms are a generated value and the forms of it a program passes on, each paired with
// the same form of the value it stands for.
func derivedForms(h, b string) map[string]string {
	sum := func(s string) string { x := sha256.Sum256([]byte(s)); return hex.EncodeToString(x[:]) }
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	out := map[string]string{h: b, b64(h): b64(b), sum(h): sum(b)}
	if jh, jb := jsonEscaped(h), jsonEscaped(b); jh != h {
		out[jh] = jb
		out[jsonEscaped(jh)] = jsonEscaped(jb)
	}
	return out
}

// sameShapeStrings pairs the strings found at the same place in two values that differ.
func sameShapeStrings(head, base any, pairs map[string]string) {
	if s, ok := head.(secret); ok {
		head = s.value
	}
	if s, ok := base.(secret); ok {
		base = s.value
	}
	switch h := head.(type) {
	case string:
		if b, ok := base.(string); ok && b != h {
			pairs[h] = b
		}
	case map[string]any:
		if b, ok := base.(map[string]any); ok {
			for k, v := range h {
				sameShapeStrings(v, b[k], pairs)
			}
		}
	case []any:
		if b, ok := base.([]any); ok && len(b) == len(h) {
			for i := range h {
				sameShapeStrings(h[i], b[i], pairs)
			}
		}
	}
}

// substitute replaces, in every string of a value, each key of subst by its value, longest
// keys first (a PEM's base64 form contains no PEM, but a JSON document may hold both).
func substitute(v any, subst map[string]string) any {
	if len(subst) == 0 {
		return v
	}
	keys := make([]string, 0, len(subst))
	for k := range subst {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if len(keys[i]) != len(keys[j]) {
			return len(keys[i]) > len(keys[j])
		}
		return keys[i] < keys[j]
	})
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			for _, k := range keys {
				if strings.Contains(x, k) {
					x = strings.ReplaceAll(x, k, subst[k])
				}
			}
			return x
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = walk(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = walk(e)
			}
			return out
		}
		return v
	}
	return walk(v)
}

// normalized is a value with nil maps as empty ones, so an absent property map equals an empty one.
func normalized(v any) any {
	if m, ok := v.(map[string]any); ok && m == nil {
		return map[string]any{}
	}
	return v
}

// secret is a secret value, decoded from the state's envelope so that two secrets compare by
// value; it is never printed.
type secret struct{ value any }

// decodeSecrets turns the state's secret envelopes ({<sig>: <secret>, "plaintext": JSON}) into
// secret values, recursively.
func decodeSecrets(v any) any {
	switch x := v.(type) {
	case map[string]any:
		if x[secretSig] == secretValue {
			var inner any
			if p, ok := x["plaintext"].(string); ok && json.Unmarshal([]byte(p), &inner) == nil {
				return secret{decodeSecrets(inner)}
			}
			return secret{x["plaintext"]}
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = decodeSecrets(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = decodeSecrets(e)
		}
		return out
	}
	return v
}

// diffValues lists the places where two values differ, leaves first: a changed scalar, an added
// or removed key or list element. A string holding a JSON object or list on both sides (an IAM
// policy, Helm values) is compared inside, so the review sees the statement that changed.
func diffValues(path string, old, new any, inSecret bool, out []PropertyChange) []PropertyChange {
	if os, ok := old.(secret); ok {
		if ns, ok := new.(secret); ok {
			return diffValues(path, os.value, ns.value, true, out)
		}
		old, inSecret = os.value, true
	}
	if ns, ok := new.(secret); ok {
		new, inSecret = ns.value, true
	}
	switch o := old.(type) {
	case map[string]any:
		if n, ok := new.(map[string]any); ok {
			keys := make([]string, 0, len(o)+len(n))
			for k := range o {
				keys = append(keys, k)
			}
			for k := range n {
				if _, ok := o[k]; !ok {
					keys = append(keys, k)
				}
			}
			sort.Strings(keys)
			for _, k := range keys {
				ov, inO := o[k]
				nv, inN := n[k]
				p := joinKey(path, k)
				switch {
				case !inO:
					out = append(out, PropertyChange{Path: p, New: nv, HasNew: true, Secret: inSecret || isSecret(nv)})
				case !inN:
					out = append(out, PropertyChange{Path: p, Old: ov, HasOld: true, Secret: inSecret || isSecret(ov)})
				default:
					out = diffValues(p, ov, nv, inSecret, out)
				}
			}
			return out
		}
	case []any:
		if n, ok := new.([]any); ok {
			for i := 0; i < len(o) || i < len(n); i++ {
				p := fmt.Sprintf("%s[%d]", path, i)
				switch {
				case i >= len(o):
					out = append(out, PropertyChange{Path: p, New: n[i], HasNew: true, Secret: inSecret || isSecret(n[i])})
				case i >= len(n):
					out = append(out, PropertyChange{Path: p, Old: o[i], HasOld: true, Secret: inSecret || isSecret(o[i])})
				default:
					out = diffValues(p, o[i], n[i], inSecret, out)
				}
			}
			return out
		}
	case string:
		if n, ok := new.(string); ok && o != n {
			if oj, nj, ok := jsonDocuments(o, n); ok {
				return diffValues(path+":", oj, nj, inSecret, out)
			}
		}
	}
	if reflect.DeepEqual(old, new) {
		return out
	}
	return append(out, PropertyChange{Path: path, Old: old, New: new, HasOld: true, HasNew: true, Secret: inSecret})
}

func isSecret(v any) bool { _, ok := v.(secret); return ok }

// jsonDocuments parses two strings that both hold a JSON object or list.
func jsonDocuments(a, b string) (any, any, bool) {
	parse := func(s string) (any, bool) {
		t := strings.TrimSpace(s)
		if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
			return nil, false
		}
		var v any
		if json.Unmarshal([]byte(t), &v) != nil {
			return nil, false
		}
		return v, true
	}
	av, ok := parse(a)
	if !ok {
		return nil, nil, false
	}
	bv, ok := parse(b)
	return av, bv, ok
}

// joinKey appends a key to a property path the way Pulumi writes paths: name.key for a plain
// key, name["a.b/c"] for one with other characters.
func joinKey(path, key string) string {
	plain := key != ""
	for i, c := range key {
		if !(c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			plain = false
			break
		}
	}
	if !plain {
		b, _ := json.Marshal(key)
		return path + "[" + string(b) + "]"
	}
	if path == "" || strings.HasSuffix(path, ":") {
		return path + key
	}
	return path + "." + key
}
