package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/outside-in/outside-in/internal/envlife"
	"github.com/outside-in/outside-in/program"
)

// envlife spells out the program's config keys and outputs rather than importing the program;
// this is where the two must agree, or env up would configure keys the program never reads.
func TestLifecycleNamesAreTheProgramsNames(t *testing.T) {
	key := func(name string) string { return program.Namespace + ":" + name }
	assert.Equal(t, key(program.KeyClusterMode), envlife.KeyClusterMode)
	assert.Equal(t, key(program.KeyPlatformStack), envlife.KeyPlatformStack)
	assert.Equal(t, key(program.KeyOwner), envlife.KeyOwner)
	assert.Equal(t, key(program.KeyExpiresAt), envlife.KeyExpiresAt)
	assert.Equal(t, key(program.KeyLoadBalancerDeletionProtection), envlife.KeyLoadBalancerDeletionProtection)
	assert.Equal(t, program.ClusterModeExisting, envlife.ClusterModeExisting)
	assert.Equal(t, program.OutputEnvDomain, envlife.OutputEnvDomain)
}
