package program

import (
	"fmt"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// DeletionGuard is a resource with nothing of its own that depends on every other resource of
// the stack. It is protected exactly when the load balancer is (loadBalancerDeletionProtection).
//
// Why: Pulumi checks protection only when it is about to delete a protected resource, and since
// v3.150 it carries on with the other deletions. A `pulumi destroy --skip-preview` (or the
// Automation API's destroy) of a stack whose only protected resource is the load balancer would
// delete the records, listeners, controller and apps first, then stop at the load balancer,
// leaving a stack that serves nothing. The guard depends on everything, so it is the first
// resource a destroy deletes; being protected, that first deletion fails, and nothing it
// depends on (everything) is deleted after it. Turning protection off and running `pulumi up`
// unprotects the guard with the load balancer.
type DeletionGuard struct {
	pulumi.ResourceState
}

// DeletionGuardType is the guard's type token.
const DeletionGuardType = "outside-in:stack:DeletionGuard"

// GuardDeletion registers the guard after everything else, depending on every resource given.
// Give it custom resources: the Go SDK records no dependency on a component (it expands one to
// the children registered so far, which may not be all of them yet).
func GuardDeletion(ctx *pulumi.Context, protect bool, everything []pulumi.Resource) error {
	g := &DeletionGuard{}
	if err := ctx.RegisterComponentResource(DeletionGuardType, "deletion-guard", g,
		pulumi.Protect(protect), pulumi.DependsOn(everything)); err != nil {
		return fmt.Errorf("deletion guard: %w", err)
	}
	if err := ctx.RegisterResourceOutputs(g, pulumi.Map{"protected": pulumi.Bool(protect)}); err != nil {
		return fmt.Errorf("deletion guard: registering outputs: %w", err)
	}
	return nil
}

// registry records every custom resource the program registers, through a stack transformation
// (which runs as each resource is registered, before it is sent), so the guard can name each one.
type registry struct {
	mu        sync.Mutex
	resources []pulumi.Resource
}

// track starts recording; it must be called before anything is registered.
func track(ctx *pulumi.Context) (*registry, error) {
	r := &registry{}
	err := ctx.RegisterStackTransformation(func(a *pulumi.ResourceTransformationArgs) *pulumi.ResourceTransformationResult {
		if _, custom := a.Resource.(pulumi.CustomResource); custom {
			r.mu.Lock()
			r.resources = append(r.resources, a.Resource)
			r.mu.Unlock()
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("deletion guard: recording resources: %w", err)
	}
	return r, nil
}

// all returns what was recorded so far.
func (r *registry) all() []pulumi.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]pulumi.Resource(nil), r.resources...)
}
