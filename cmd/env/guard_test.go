package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/envlife/clitest"
	"github.com/outside-in/outside-in/program"
)

// These tests run program.GuardDeletion on the real engine (the CLI from .tools/bin, a file
// backend), because what they prove is the engine's deletion order and its handling of
// protect, which no mock models. Stack.Destroy is what the reaper and env down call; the
// Automation API passes --skip-preview, so protect is only checked when the engine reaches a
// protected resource.
//
// A and B are components, like the program's layers, each holding one custom resource: a
// StackReference, the one custom resource the engine serves without a provider plugin. The
// children matter. The Go SDK records a dependency on a local component as dependencies on its
// custom descendants (sdk/go/pulumi/rpc.go, addDependency), so a guard over components without
// custom children records no dependency at all and guards nothing: measured with this test's
// first version, whose destroy deleted A and B and stopped only at the guard.

type part struct{ pulumi.ResourceState }

// register makes component A and component B, each with a custom child; B's child depends on
// A (as a listener depends on its load balancer).
func register(ctx *pulumi.Context, protectA bool) (a, b *part, err error) {
	source := pulumi.String("organization/guard-test/source")
	a, b = &part{}, &part{}
	if err = ctx.RegisterComponentResource("test:guard:Part", "a", a, pulumi.Protect(protectA)); err != nil {
		return nil, nil, err
	}
	if _, err = pulumi.NewStackReference(ctx, "a-ref", &pulumi.StackReferenceArgs{Name: source}, pulumi.Parent(a)); err != nil {
		return nil, nil, err
	}
	if err = ctx.RegisterComponentResource("test:guard:Part", "b", b); err != nil {
		return nil, nil, err
	}
	if _, err = pulumi.NewStackReference(ctx, "b-ref", &pulumi.StackReferenceArgs{Name: source},
		pulumi.Parent(b), pulumi.DependsOn([]pulumi.Resource{a})); err != nil {
		return nil, nil, err
	}
	return a, b, nil
}

// guardStack makes the stack under test, after the source stack its references read.
func guardStack(t *testing.T, name string, program pulumi.RunFunc) auto.Stack {
	t.Helper()
	env, _ := clitest.Backend(t)
	ctx := context.Background()
	ws, err := auto.NewLocalWorkspace(ctx, auto.WorkDir(clitest.Project(t, "guard-test")),
		auto.Program(program), auto.Pulumi(clitest.CLI(t)), auto.EnvVars(env))
	require.NoError(t, err)
	source, err := auto.NewStack(ctx, "source", ws)
	require.NoError(t, err)
	ws.SetProgram(func(ctx *pulumi.Context) error { ctx.Export("x", pulumi.Int(1)); return nil })
	_, err = source.Up(ctx, optup.ShowSecrets(false))
	require.NoError(t, err)
	ws.SetProgram(program)
	stack, err := auto.NewStack(ctx, name, ws)
	require.NoError(t, err)
	return stack
}

// every resource type the tests look for in the state.
var partTypes = []string{"test:guard:Part", "pulumi:pulumi:StackReference", program.DeletionGuardType}

// names returns the names of the stack's resources of the given types, from its state.
func names(t *testing.T, stack auto.Stack, types ...string) []string {
	t.Helper()
	state, err := stack.Export(context.Background())
	require.NoError(t, err)
	var d struct {
		Resources []struct {
			URN  string `json:"urn"`
			Type string `json:"type"`
		} `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(state.Deployment, &d))
	var out []string
	for _, r := range d.Resources {
		for _, ty := range types {
			if r.Type == ty {
				out = append(out, r.URN[strings.LastIndex(r.URN, "::")+2:]) // urn:pulumi:<stack>::<project>::<type>::<name>
			}
		}
	}
	return out
}

func TestDeletionGuardStopsDestroyOnTheRealEngine(t *testing.T) {
	t.Parallel()
	protect := true
	stack := guardStack(t, "guarded", func(ctx *pulumi.Context) error {
		a, b, err := register(ctx, false)
		if err != nil {
			return err
		}
		return program.GuardDeletion(ctx, protect, []pulumi.Resource{a, b})
	})
	ctx := context.Background()
	_, err := stack.Up(ctx, optup.ShowSecrets(false))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"a", "a-ref", "b", "b-ref", "deletion-guard"}, names(t, stack, partTypes...))

	_, err = stack.Destroy(ctx, optdestroy.ShowSecrets(false))
	require.Error(t, err, "destroy of a guarded stack must fail")
	assert.Contains(t, err.Error(), "protected")
	assert.ElementsMatch(t, []string{"a", "a-ref", "b", "b-ref", "deletion-guard"}, names(t, stack, partTypes...),
		"nothing was deleted: the guard is deleted first, and its deletion failed")

	// Turning protection off is an update; then destroy goes through.
	protect = false
	_, err = stack.Up(ctx, optup.ShowSecrets(false))
	require.NoError(t, err)
	_, err = stack.Destroy(ctx, optdestroy.ShowSecrets(false))
	require.NoError(t, err)
	assert.Empty(t, names(t, stack, partTypes...))
}

// TestWithoutTheGuardDestroyHalfDeletes is the control: the behaviour the guard exists for.
// A is protected (as the load balancer is), B's child depends on A; the engine deletes B, then
// fails on A, leaving a stack that lost B. (A's child is a read resource, whose state carries
// no protect flag: the engine deletes it too, which shows the same thing once more.)
func TestWithoutTheGuardDestroyHalfDeletes(t *testing.T) {
	t.Parallel()
	stack := guardStack(t, "unguarded", func(ctx *pulumi.Context) error {
		_, _, err := register(ctx, true)
		return err
	})
	ctx := context.Background()
	_, err := stack.Up(ctx, optup.ShowSecrets(false))
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"a", "a-ref", "b", "b-ref"}, names(t, stack, partTypes...))

	_, err = stack.Destroy(ctx, optdestroy.ShowSecrets(false))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "protected")
	assert.Equal(t, []string{"a"}, names(t, stack, partTypes...),
		"B (and A's unprotectable child) were deleted; the engine stopped only at protected A")
}
