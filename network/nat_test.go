package network

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestNatStrategyPlans(t *testing.T) {
	cases := []struct {
		strategy NatStrategy
		azs      int
		natAZs   []int
		targets  []int
	}{
		{NatNone, 2, nil, []int{-1, -1}},
		{NatNone, 3, nil, []int{-1, -1, -1}},
		{NatSingle, 2, []int{0}, []int{0, 0}},
		{NatSingle, 4, []int{0}, []int{0, 0, 0, 0}},
		{NatOnePerAz, 2, []int{0, 1}, []int{0, 1}},
		{NatOnePerAz, 3, []int{0, 1, 2}, []int{0, 1, 2}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_%d", c.strategy, c.azs), func(t *testing.T) {
			assert.Equal(t, c.natAZs, NatGatewayAZs(c.strategy, c.azs))
			assert.Equal(t, c.targets, PrivateRouteTargets(c.strategy, c.azs))
		})
	}
}

func TestEnums(t *testing.T) {
	for _, s := range []NatStrategy{"None", "Single", "OnePerAz"} {
		assert.True(t, s.Valid(), s)
	}
	for _, s := range []NatStrategy{"", "none", "PerAz", "single"} {
		assert.False(t, s.Valid(), s)
	}
	assert.Equal(t, "REJECT", FlowLogsRejected.trafficType())
	assert.Equal(t, "ALL", FlowLogsAll.trafficType())
	assert.False(t, FlowLogs("Some").Valid())
}
