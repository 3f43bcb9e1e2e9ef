package estimate

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// Every shipped stack is fully priced: an unpriced resource in a stack we ship means the data
// or the rules lag behind the program.
func TestShippedStacksArePriced(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "Pulumi.*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			res := runStack(t, f)
			rep, err := Estimate(res, Options{})
			require.NoError(t, err)
			fullyPriced(t, filepath.Base(f), rep)
			assert.NotEmpty(t, rep.CriticalPath.Steps)
			if res.Stack.Config[program.Namespace+":"+program.KeyClusterMode] != program.ClusterModeExisting {
				assert.Greater(t, rep.HourlyUSD, 0.0, "a stack on AWS costs something")
			}
			sum := 0.0
			for _, it := range rep.Items {
				assert.NotEmpty(t, it.Basis)
				assert.NotNil(t, res.ByURN(it.URN), "items name resources of the plan")
				sum += it.HourlyUSD
			}
			assert.InDelta(t, sum, rep.HourlyUSD, 0.00006)

			b, err := json.Marshal(rep)
			require.NoError(t, err)
			var shape map[string]any
			require.NoError(t, json.Unmarshal(b, &shape))
			for _, k := range []string{"currency", "priceDate", "region", "hourlyUSD", "monthlyUSD", "items", "unpriced", "criticalPath", "warnings"} {
				assert.Contains(t, shape, k)
			}
		})
	}
}

// The dev stack's first deploy waits for the control plane, then the nodes, then the ingress
// controller: the steps no change to apps or DNS can shorten.
func TestDevCriticalPathRunsClusterNodesController(t *testing.T) {
	res := runConfig(t, loadDev(t))
	rep, err := Estimate(res, Options{})
	require.NoError(t, err)
	paths, err := res.Trace()
	require.NoError(t, err)
	require.NotEmpty(t, paths)

	// The controller is the Helm release in the namespace of the entry Service the load
	// balancer's health check reaches.
	controller := ""
	for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
		if str(r.In("namespace")) == paths[0].Entry.Namespace {
			controller = r.URN
		}
	}
	require.NotEmpty(t, controller)
	at := map[string]int{}
	for i, s := range rep.CriticalPath.Steps {
		at[s.URN] = i + 1
	}
	cluster := at[only(t, res, "aws:eks/cluster:Cluster").URN]
	nodes := at[only(t, res, "aws:eks/nodeGroup:NodeGroup").URN]
	require.NotZero(t, cluster, "the cluster is on the path: %v", stepTypes(rep.CriticalPath))
	require.NotZero(t, nodes, "the node group is on the path: %v", stepTypes(rep.CriticalPath))
	require.NotZero(t, at[controller], "the controller is on the path: %v", stepTypes(rep.CriticalPath))
	assert.Less(t, cluster, nodes)
	assert.Less(t, nodes, at[controller])

	sum := 0.0
	for _, s := range rep.CriticalPath.Steps {
		sum += s.Minutes
	}
	assert.InDelta(t, sum, rep.CriticalPath.Minutes, 0.01, "the path's minutes are its steps'")
	assert.Empty(t, rep.CriticalPath.Avoidable, "the shipped dev stack has no avoidable wait")

	lines := rep.Summary()
	require.Len(t, lines, 2)
	total := 0.0
	for _, it := range rep.Items {
		total += it.HourlyUSD
	}
	// Rounded once, from the items' sum: $0.194957 is $0.19, not $0.195 rounded again to $0.20.
	assert.True(t, strings.HasPrefix(lines[0], fmt.Sprintf("cost: $%.2f/h", total)), lines[0])
	assert.True(t, strings.HasPrefix(lines[1], fmt.Sprintf("first deploy: ~%.0f min: ", rep.CriticalPath.Minutes)), lines[1])
	assert.Less(t, strings.Index(lines[1], rep.CriticalPath.Steps[cluster-1].Label), strings.Index(lines[1], "node group"))
}

// More apps add Kubernetes objects beside the controller, not after it: neither the first
// deploy nor the AWS bill grows.
func TestAddingAppsDoesNotLengthenFirstDeploy(t *testing.T) {
	stack := loadDev(t)
	one := runConfig(t, stack)
	more := withSetting(stack, program.KeyApps, `[{"name":"web"},{"name":"api"},{"name":"docs","replicas":3}]`)
	three := runConfig(t, more)
	require.Len(t, three.OfType("kubernetes:apps/v1:Deployment"), len(one.OfType("kubernetes:apps/v1:Deployment"))+2)

	a, err := Estimate(one, Options{})
	require.NoError(t, err)
	b, err := Estimate(three, Options{})
	require.NoError(t, err)
	assert.InDelta(t, a.CriticalPath.Minutes, b.CriticalPath.Minutes, 1e-9)
	assert.InDelta(t, a.HourlyUSD, b.HourlyUSD, 1e-9)
}

// A preview knows no ids; the estimate follows the property dependencies instead and comes to
// the same figures.
func TestPreviewEstimatesLikeTheRun(t *testing.T) {
	stack := loadDev(t)
	run, err := Estimate(runConfig(t, stack), Options{})
	require.NoError(t, err)
	res, err := plan.Run(stack, plan.Options{Preview: true})
	require.NoError(t, err)
	preview, err := Estimate(res, Options{})
	require.NoError(t, err)
	assert.Equal(t, run.Unpriced, preview.Unpriced)
	assert.InDelta(t, run.HourlyUSD, preview.HourlyUSD, 1e-9)
	assert.InDelta(t, run.CriticalPath.Minutes, preview.CriticalPath.Minutes, 1e-9)
}
