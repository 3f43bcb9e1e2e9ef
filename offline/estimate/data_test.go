package estimate

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShippedDataIsSourcedAndDated(t *testing.T) {
	p := DefaultPrices()
	require.NoError(t, p.Check())
	require.NoError(t, DefaultDurations().Check())
	assert.NotEmpty(t, p.Regions)
	for region, rp := range p.Regions {
		assert.NotEmpty(t, rp.EC2, "%s has EC2 prices", region)
		for _, k := range []string{RateEKSCluster, RateEKSExtendedCluster, RatePublicIPv4Hour} {
			_, _, ok := p.Rate(region, k)
			assert.True(t, ok, "%s: %s is region-independent in the sources and must be everywhere", region, k)
		}
	}
	// Every rate a pricer reads is priced somewhere, so no rule reads a key the data never has.
	for _, k := range []string{RateNATGatewayHour, RateNATGatewayGB, RateALBHour, RateALBLCUHour, RateNLBHour, RateNLBLCUHour,
		RateClassicELBHour, RateClassicELBGB, RateEBSGp3GBMonth, RateRoute53ZoneMonth, RateKMSKeyMonth, RateLogsIngestGB} {
		found := false
		for region := range p.Regions {
			if _, _, ok := p.Rate(region, k); ok {
				found = true
			}
		}
		assert.True(t, found, "no region prices %s", k)
	}
}

// Check refuses what cannot be traced or makes no sense.
func TestCheckRefusesUntraceableData(t *testing.T) {
	p := DefaultPrices()
	rp := p.Regions["us-east-1"]
	rp.Sources[RateALBHour] = "a blog I once read"
	rp.Rates[RateKMSKeyMonth] = -1
	err := p.Check()
	require.Error(t, err)
	assert.Contains(t, err.Error(), RateALBHour)
	assert.Contains(t, err.Error(), "negative")

	d := DefaultDurations()
	d.Types[0].Max = d.Types[0].Min - 1
	assert.ErrorContains(t, d.Check(), d.Types[0].Type)
}

// A priced type is never also listed as free, and the free list holds no type a rule prices.
func TestFreeAndPricedTypesAreDisjoint(t *testing.T) {
	p := DefaultPrices()
	for typ := range pricers {
		_, free := p.Free(typ)
		assert.False(t, free, "%s is priced and free", typ)
	}
	why, free := p.Free("kubernetes:apps/v1:Deployment")
	assert.True(t, free)
	assert.NotEmpty(t, why)
	_, free = p.Free("aws:rds/instance:Instance")
	assert.False(t, free)
	for typ, why := range p.FreeTypes {
		assert.NotEmpty(t, strings.TrimSpace(why), "%s needs a reason to be free", typ)
	}
}

// The EKS control plane's range is the one its dated source measured: the fastest and slowest
// creation times it lists, in minutes.
func TestEKSClusterRangeIsTheMeasuredOne(t *testing.T) {
	d := DefaultDurations()
	var cluster *TypeDuration
	for i := range d.Types {
		if d.Types[i].Type == "aws:eks/cluster:Cluster" {
			cluster = &d.Types[i]
		}
	}
	require.NotNil(t, cluster)
	var what string
	for _, s := range d.Sources {
		if s.ID == cluster.Source {
			what = s.What
		}
	}
	require.Contains(t, what, "https://", "the source says where it was read")
	var seconds []float64
	for _, m := range regexp.MustCompile(`(\d{3}\.\d{2})`).FindAllString(what, -1) {
		v, err := strconv.ParseFloat(m, 64)
		require.NoError(t, err)
		seconds = append(seconds, v)
	}
	require.GreaterOrEqual(t, len(seconds), 10, "the source lists its measurements: %s", what)
	assert.InDelta(t, slices.Min(seconds)/60, cluster.Min, 0.05, "the fastest measured create")
	assert.InDelta(t, slices.Max(seconds)/60, cluster.Max, 0.05, "the slowest measured create")
}
