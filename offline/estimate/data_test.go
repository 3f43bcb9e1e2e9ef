package estimate

import (
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
