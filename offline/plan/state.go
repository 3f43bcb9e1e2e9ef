package plan

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/outside-in/outside-in/offline/fakeaws"
)

const (
	secretSig     = fakeaws.SecretSig
	secretValue   = fakeaws.SecretValue
	unknownMarker = fakeaws.Unknown
	stackType     = "pulumi:pulumi:Stack"
)

func propertyMap(m resource.PropertyMap) map[string]any { return fakeaws.Plain(m) }

// Deployment is the resource set in the shape of `pulumi stack export`.
type Deployment struct {
	Version    int `json:"version"`
	Deployment struct {
		Resources []StateResource `json:"resources"`
	} `json:"deployment"`
}

// StateResource is one resource of a Deployment.
type StateResource struct {
	URN                  string              `json:"urn"`
	ID                   string              `json:"id,omitempty"`
	Custom               bool                `json:"custom"`
	Type                 string              `json:"type"`
	Inputs               map[string]any      `json:"inputs"`
	Outputs              map[string]any      `json:"outputs"`
	Parent               string              `json:"parent,omitempty"`
	Dependencies         []string            `json:"dependencies"`
	PropertyDependencies map[string][]string `json:"propertyDependencies"`
	Provider             string              `json:"provider,omitempty"`
	// Protect and RetainOnDelete are written as `pulumi stack export` writes them: only when set.
	Protect        bool `json:"protect,omitempty"`
	RetainOnDelete bool `json:"retainOnDelete,omitempty"`
	// External marks a resource read rather than managed.
	External bool `json:"external,omitempty"`
}

// State builds the Deployment: the stack resource with the stack outputs first, then every
// resource after its parent and its dependencies.
func (r *Result) State() Deployment {
	var d Deployment
	d.Version = 3
	stackOutputs := map[string]any{}
	for name, e := range r.Exports {
		v := e.Value
		if e.Unknown {
			v = unknownMarker
		}
		if e.Secret {
			b, _ := json.Marshal(v)
			v = map[string]any{secretSig: secretValue, "plaintext": string(b)}
		}
		stackOutputs[name] = v
	}
	d.Deployment.Resources = append(d.Deployment.Resources, StateResource{
		URN: r.Fake.StackURN(), Type: stackType, Inputs: map[string]any{}, Outputs: stackOutputs,
		Dependencies: []string{}, PropertyDependencies: map[string][]string{},
	})
	for _, res := range Ordered(r.Resources) {
		parent := res.Parent
		if parent == "" {
			parent = r.Fake.StackURN()
		}
		deps := res.Dependencies
		if deps == nil {
			deps = []string{}
		}
		d.Deployment.Resources = append(d.Deployment.Resources, StateResource{
			URN: res.URN, ID: res.ID, Custom: res.Custom, Type: res.Type,
			Inputs: res.PlainInputs(), Outputs: res.PlainOutputs(),
			Parent: parent, Dependencies: deps, PropertyDependencies: res.PropertyDependencies,
			Provider: res.Provider, Protect: res.Protect, RetainOnDelete: res.RetainOnDelete, External: res.Read,
		})
	}
	return d
}

// Ordered sorts resources so each comes after its parent, its provider and its dependencies,
// and otherwise by URN: a stable order for reviews and golden files.
func Ordered(resources []*fakeaws.Resource) []*fakeaws.Resource {
	byURN := map[string]*fakeaws.Resource{}
	for _, r := range resources {
		byURN[r.URN] = r
	}
	sorted := append([]*fakeaws.Resource(nil), resources...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].URN < sorted[j].URN })
	done := map[string]bool{}
	var out []*fakeaws.Resource
	var visit func(r *fakeaws.Resource)
	visit = func(r *fakeaws.Resource) {
		if done[r.URN] {
			return
		}
		done[r.URN] = true
		before := append([]string{r.Parent, providerURN(r.Provider)}, r.Dependencies...)
		for _, u := range before {
			if p, ok := byURN[u]; ok {
				visit(p)
			}
		}
		out = append(out, r)
	}
	for _, r := range sorted {
		visit(r)
	}
	return out
}

// providerURN strips the id from a provider reference "urn::id".
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		return ref[:i]
	}
	return ref
}

// Normalize replaces, in rendered output, every value the fake generated at random (keys,
// certificates, and the encodings and hashes of them the program passes on) with a stable
// placeholder, so golden files of stacks with generated credentials do not change from run to run.
func (r *Result) Normalize(b []byte) []byte {
	generated := r.Fake.Generated()
	values := make([]string, 0, len(generated))
	for v := range generated {
		values = append(values, v)
	}
	// Longer values first: a PEM contains no other generated value, but its base64 form is
	// longer still and must be replaced whole.
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	out := string(b)
	for _, v := range values {
		for _, form := range []string{v, jsonEscaped(v), jsonEscaped(jsonEscaped(v))} {
			out = strings.ReplaceAll(out, form, generated[v])
		}
	}
	return []byte(out)
}

// jsonEscaped is a string as it appears inside a JSON string.
func jsonEscaped(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}
