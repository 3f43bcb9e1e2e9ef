package envname

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestFromStack(t *testing.T) {
	for stack, want := range map[string]string{
		"pr-17":                          "pr-17",
		"dev-alice":                      "dev-alice",
		"organization/outside-in/pr-123": "pr-123",
	} {
		got, err := FromStack(stack)
		require.NoError(t, err, stack)
		assert.Equal(t, want, got)
	}
	// Names that had to change carry a hash of the original, so they cannot collide.
	a, err := FromStack("dev_alice")
	require.NoError(t, err)
	b, err := FromStack("dev-alice")
	require.NoError(t, err)
	assert.NotEqual(t, a, b)
	assert.True(t, strings.HasPrefix(a, "dev-alice-"), a)
	long, err := FromStack("feature-with-a-very-long-branch-name-indeed")
	require.NoError(t, err)
	assert.LessOrEqual(t, len(long), MaxLen)
	assert.True(t, strings.HasPrefix(long, "feature-with-"), long)
	_, err = FromStack("___")
	assert.Error(t, err)
	assert.Equal(t, "pr-42", PullRequestStack(42))
	assert.Equal(t, "env-pr-42", Namespace("pr-42"))
}

func TestHostLabel(t *testing.T) {
	got, err := HostLabel("web", "pr-17")
	require.NoError(t, err)
	assert.Equal(t, "web-pr-17", got)
	long := strings.Repeat("a", 40)
	got, err = HostLabel(long, "feature-branch-x-0123456")
	require.NoError(t, err)
	assert.Len(t, got, 63)
	other, err := HostLabel(long, "feature-branch-x-0123457")
	require.NoError(t, err)
	assert.NotEqual(t, got, other, "cut labels stay distinct")
}

// Any two different stack names give two different, valid environment names.
func TestFromStackNeverCollides(t *testing.T) {
	seen := map[string]string{}
	rapid.Check(t, func(t *rapid.T) {
		stack := rapid.StringMatching(`[A-Za-z0-9_.-]{1,60}`).Draw(t, "stack")
		env, err := FromStack(stack)
		if err != nil {
			return // nothing to name it after
		}
		if !label.MatchString(env) || len(env) > MaxLen {
			t.Fatalf("%q gives %q, not a short DNS label", stack, env)
		}
		if other, dup := seen[env]; dup && other != stack {
			t.Fatalf("%q and %q both give %q", stack, other, env)
		}
		seen[env] = stack
		host, err := HostLabel(strings.Repeat("w", 40), env)
		if err != nil || len(host) > 63 {
			t.Fatalf("host label %q: %v", host, fmt.Sprint(err))
		}
	})
}
