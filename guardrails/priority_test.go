package guardrails

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/resource"
)

// The ranks hold what their comments say: the platform above every environment, both below
// the system classes and within what a user class may be; environments never preempt, stay
// above the autoscaler's expendable cutoff, and are the cluster's one default.
func TestPlatformOutranksEnvironments(t *testing.T) {
	const (
		userClassMax        = 1_000_000_000 // scheduling.k8s.io: HighestUserDefinablePriority
		systemClusterCrit   = 2_000_000_000
		expendableCutoff    = -10 // cluster-autoscaler --expendable-pods-priority-cutoff default
		defaultPodPriority  = 0
		preemptLowerDefault = "PreemptLowerPriority"
	)
	classes := PriorityClasses(true)
	require.Len(t, classes, 2)
	require.Len(t, PriorityClasses(false), 1, "a stack without environments declares only the platform's")
	assert.Greater(t, PlatformPriority.Value, EnvironmentsPriority.Value)
	assert.LessOrEqual(t, PlatformPriority.Value, int32(userClassMax))
	assert.Less(t, PlatformPriority.Value, int32(systemClusterCrit))
	assert.Equal(t, preemptLowerDefault, PlatformPriority.PreemptionPolicy, "the controller may evict environment pods to get a node")
	assert.Equal(t, "Never", EnvironmentsPriority.PreemptionPolicy)
	assert.Equal(t, int32(defaultPodPriority), EnvironmentsPriority.Value, "being the default changes no pod's rank")
	assert.Greater(t, EnvironmentsPriority.Value, int32(expendableCutoff), "pending environment pods still scale the nodes up")
	defaults := 0
	for _, c := range classes {
		if c.GlobalDefault {
			defaults++
			assert.Equal(t, EnvironmentsPriority.Name, c.Name)
		}
	}
	assert.Equal(t, 1, defaults, "a cluster has one default class")
}

// The figures behind the limits: each holds the reason its comment gives.
func TestEnvironmentLimitsHoldTheirFigures(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	memory, defaultMemory := q(EnvironmentQuota["limits.memory"]), q(EnvironmentDefaultLimits["memory"])
	containers := memory.Value() / defaultMemory.Value()
	assert.Equal(t, int64(32), containers)
	disk, defaultDisk := q(EnvironmentQuota["limits.ephemeral-storage"]), q(EnvironmentDefaultLimits["ephemeral-storage"])
	assert.Equal(t, containers*defaultDisk.Value(), disk.Value(), "as many containers at the default disk limit as limits.memory allows")
	maxDisk := q(EnvironmentMaxLimits["ephemeral-storage"])
	assert.Equal(t, q("20Gi").Value()/20, maxDisk.Value(), "a twentieth of the smallest node disk")
	assert.LessOrEqual(t, defaultDisk.Cmp(*maxDisk), 0, "the default limit is within the maximum")
	assert.Equal(t, q(EnvironmentQuota["requests.memory"]).Value(), q(EnvironmentQuota["requests.ephemeral-storage"]).Value())

	apps := q(EnvironmentQuota["services"]).Value()
	for _, perApp := range []string{"count/deployments.apps", "count/ingresses.networking.k8s.io", "count/httproutes.gateway.networking.k8s.io", "count/poddisruptionbudgets.policy"} {
		assert.Equal(t, apps, q(EnvironmentQuota[perApp]).Value(), "%s: one per app", perApp)
	}
	for _, withNamespaceOwn := range []string{"count/configmaps", "count/networkpolicies.networking.k8s.io"} {
		assert.Greater(t, q(EnvironmentQuota[withNamespaceOwn]).Value(), apps, "%s: one per app and the namespace's own", withNamespaceOwn)
	}
	assert.Equal(t, int64(320), apps*EnvironmentIngressRules*EnvironmentIngressPaths, "routers one environment can give the controller")
	assert.Equal(t, int64(320), apps*EnvironmentRouteRules*EnvironmentRouteMatches, "routers one environment's HTTPRoutes can give the controller")
}
