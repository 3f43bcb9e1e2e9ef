// Package fakeaws is a fake AWS for the offline plan and the tests: a recording
// pulumi.MockResourceMonitor that answers like AWS. Resources get ids and ARNs in AWS formats,
// deterministic for a given type and name, and the computed outputs the program reads (load
// balancer DNS names and canonical zone ids, cluster endpoints, zone name servers, …). An
// unknown resource type or invoke fails loudly instead of returning nothing.
package fakeaws

import (
	"fmt"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"google.golang.org/protobuf/types/known/emptypb"
)

// Resource is one registration the fake received, components included.
type Resource struct {
	URN                  string
	Type                 string
	Name                 string
	ID                   string
	Custom               bool
	Parent               string
	Provider             string
	Inputs               resource.PropertyMap
	Outputs              resource.PropertyMap
	Dependencies         []string
	PropertyDependencies map[string][]string
	// Protect, RetainOnDelete and IgnoreChanges are the resource options of those names.
	Protect        bool
	RetainOnDelete bool
	IgnoreChanges  []string
	// Read marks a resource the program read (resource.Get) rather than registered.
	Read bool

	plainOnce         sync.Once
	plainIn, plainOut map[string]any
}

// Invoke is one data-source call the fake answered.
type Invoke struct {
	Token string
	Args  resource.PropertyMap
}

// Options shape the fake account.
type Options struct {
	Region    string // default eu-central-1
	AccountID string // default 123456789012
	// Zones are existing public hosted zones, by name, for zoneMode "existing".
	Zones map[string]string
	// Preview runs the program as `pulumi preview` does (DryRun) and answers with unknown ids, as
	// for resources not yet created. Computed outputs stay known: Pulumi's mock monitor cannot
	// carry an unknown value inside a secret, which a real preview of the kubeconfig has.
	Preview bool
	// CallerRole is the name of the IAM role whose session runs Pulumi; default
	// platform-engineer.
	CallerRole string
}

// Fake is the fake AWS. It is safe for the concurrent calls the Pulumi SDK makes.
type Fake struct {
	project, stack string
	opts           Options

	mu                sync.Mutex
	resources         []*Resource
	invokes           []Invoke
	outputsRegistered int
	// generated maps key material the fake made up (random each run) to a stable placeholder.
	generated map[string]string
}

var _ pulumi.MockResourceMonitor = (*Fake)(nil)

// New returns a fake account for the project and stack.
func New(project, stack string, opts Options) *Fake {
	if opts.Region == "" {
		opts.Region = "eu-central-1"
	}
	if opts.AccountID == "" {
		opts.AccountID = "123456789012"
	}
	return &Fake{project: project, stack: stack, opts: opts, generated: map[string]string{}}
}

// Region is the fake account's region.
func (f *Fake) Region() string { return f.opts.Region }

// AccountID is the fake account's id.
func (f *Fake) AccountID() string { return f.opts.AccountID }

// NewResource answers a resource registration with an id and outputs, and records it.
func (f *Fake) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rec := &Resource{
		Type:                 args.TypeToken,
		Name:                 args.Name,
		Custom:               args.Custom,
		Provider:             args.Provider,
		Inputs:               args.Inputs,
		PropertyDependencies: map[string][]string{},
	}
	if rpc := args.RegisterRPC; rpc != nil {
		rec.Parent = rpc.GetParent()
		rec.Dependencies = sortedUnique(rpc.GetDependencies())
		for k, v := range rpc.GetPropertyDependencies() {
			rec.PropertyDependencies[k] = sortedUnique(v.GetUrns())
		}
		rec.Protect = rpc.GetProtect()
		rec.RetainOnDelete = rpc.GetRetainOnDelete()
		rec.IgnoreChanges = rpc.GetIgnoreChanges()
	}
	if rpc := args.ReadRPC; rpc != nil {
		rec.Parent, rec.Read, rec.Custom = rpc.GetParent(), true, true
		rec.Dependencies = sortedUnique(rpc.GetDependencies())
	}
	rec.URN = f.urn(rec.Parent, rec.Type, rec.Name)

	id, outputs := "", resource.PropertyMap{}
	if args.Custom || args.ReadRPC != nil {
		answer, ok := answers[args.TypeToken]
		if !ok {
			return "", nil, fmt.Errorf("fake AWS: no answer for resource type %s (%s); add it to offline/fakeaws", args.TypeToken, args.Name)
		}
		r := &request{fake: f, name: args.Name, typ: args.TypeToken, inputs: args.Inputs, outputs: args.Inputs.Copy()}
		if err := answer(r); err != nil {
			return "", nil, fmt.Errorf("fake AWS: %s %s: %w", args.TypeToken, args.Name, err)
		}
		id, outputs = r.id, r.outputs
		if f.opts.Preview && args.ReadRPC == nil {
			id = "" // ids of resources not yet created are unknown in a preview
		}
	}
	rec.ID, rec.Outputs = id, outputs

	f.mu.Lock()
	f.resources = append(f.resources, rec)
	f.mu.Unlock()
	return id, outputs, nil
}

// Call answers an invoke (a data source).
func (f *Fake) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	answer, ok := invokes[args.Token]
	if !ok {
		return nil, fmt.Errorf("fake AWS: no answer for invoke %s; add it to offline/fakeaws", args.Token)
	}
	out, err := answer(f, args.Args)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.invokes = append(f.invokes, Invoke{Token: args.Token, Args: args.Args})
	f.mu.Unlock()
	return resource.NewPropertyMapFromMap(out), nil
}

// RegisterResourceOutputs counts the components' (and the stack's) output registrations.
func (f *Fake) RegisterResourceOutputs() (*emptypb.Empty, error) {
	f.mu.Lock()
	f.outputsRegistered++
	f.mu.Unlock()
	return &emptypb.Empty{}, nil
}

// remember records a value the fake generated at random, with the placeholder golden files show
// instead of it.
func (f *Fake) remember(value, placeholder string) {
	f.mu.Lock()
	f.generated[value] = placeholder
	f.mu.Unlock()
}

// Generated maps each value the fake generated at random (keys, certificates, and the encodings
// and hashes of them that the program passes on) to a stable placeholder.
func (f *Fake) Generated() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for k, v := range f.generated {
		out[k] = v
	}
	return out
}

// Resources returns the registrations in URN order.
func (f *Fake) Resources() []*Resource {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := append([]*Resource(nil), f.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// OfType returns the recorded resources of one type token, in the order they were registered.
func (f *Fake) OfType(typ string) []*Resource {
	var out []*Resource
	for _, r := range f.Resources() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// Invokes returns the invokes answered, in the order they came.
func (f *Fake) Invokes() []Invoke {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Invoke(nil), f.invokes...)
}

// OutputRegistrations is how many times RegisterResourceOutputs was called.
func (f *Fake) OutputRegistrations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.outputsRegistered
}

// StackURN is the URN of the root pulumi:pulumi:Stack resource.
func (f *Fake) StackURN() string {
	return string(resource.NewURN(tokens.QName(f.stack), tokens.PackageName(f.project), "", resource.RootStackType,
		f.project+"-"+f.stack))
}

// urn computes a URN the way the Pulumi engine does: the parent's type qualifies the child's.
func (f *Fake) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(f.stack), tokens.PackageName(f.project), parentType, tokens.Type(typ), name))
}

func sortedUnique(xs []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}
