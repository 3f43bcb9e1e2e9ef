package estimate

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
	"github.com/outside-in/outside-in/program"
)

// devExpectation is the dev stack's hourly cost worked out by hand from Pulumi.dev.yaml (with
// Pulumi.yaml's defaults) and the price data: the counts come from the stack file, the prices
// from p, so a change to either moves the expectation the same way the estimate must move.
func devExpectation(t *testing.T, p *Prices, cfg map[string]string) (hourly float64, counts map[string]int) {
	t.Helper()
	key := func(k string) string { return cfg[program.Namespace+":"+k] }
	integer := func(k string) int {
		n, err := strconv.Atoi(key(k))
		require.NoError(t, err, k)
		return n
	}
	region := cfg["aws:region"]
	rate := func(k string) float64 {
		v, _, ok := p.Rate(region, k)
		require.True(t, ok, "the data must price %s in %s", k, region)
		return v
	}
	require.Contains(t, []string{"", "alb"}, key(program.KeyLoadBalancer), "the computation below is for an ALB")
	require.Contains(t, []string{"", "eks"}, key(program.KeyClusterMode), "the computation below is for EKS")

	nodes := integer(program.KeyNodeDesiredSize)
	azs := integer(program.KeyAzCount)
	nats, natInstances := azs, 0
	switch key(program.KeyNatStrategy) {
	case "Single":
		nats = 1
	case "Instance":
		// One NAT instance with a public address and its 8 GiB root volume.
		nats, natInstances = 0, 1
	}
	logGroups := 1 // the control plane's
	if key(program.KeyFlowLogs) != "None" {
		logGroups++
	}
	zones := 0
	if key(program.KeyZoneMode) == "create" {
		zones = 1
	}
	var types []string
	require.NoError(t, json.Unmarshal([]byte(key(program.KeyNodeInstanceTypes)), &types))
	require.NotEmpty(t, types)

	perNode, ok := p.OnDemand(region, types[0])
	require.True(t, ok)
	if key(program.KeyNodeCapacityType) == "SPOT" {
		mean := 0.0
		for _, typ := range types {
			v, ok := p.OnDemand(region, typ)
			require.True(t, ok)
			mean += v / float64(len(types))
		}
		discount, _ := p.Spot(region)
		perNode = mean * (1 - discount)
	}
	natInstance := 0.0
	if natInstances > 0 {
		natInstance, ok = p.OnDemand(region, program.NatInstanceType)
		require.True(t, ok)
	}
	month := p.HoursPerMonth
	hourly = rate(RateEKSCluster) +
		float64(nodes)*perNode +
		float64(nodes*integer(program.KeyNodeDiskSizeGib))*rate(RateEBSGp3GBMonth)/month +
		float64(nats)*(rate(RateNATGatewayHour)+rate(RatePublicIPv4Hour)) +
		float64(natInstances)*(natInstance+rate(RatePublicIPv4Hour)+8*rate(RateEBSGp3GBMonth)/month) +
		rate(RateALBHour) + float64(azs)*rate(RatePublicIPv4Hour) +
		float64(zones)*rate(RateRoute53ZoneMonth)/month +
		rate(RateKMSKeyMonth)/month +
		float64(logGroups)*p.Traffic.LogIngestGBPerMonth.Value*rate(RateLogsIngestGB)/month
	return hourly, map[string]int{
		"aws:ec2/natGateway:NatGateway": nats, "aws:ec2/eip:Eip": nats, "aws:route53/zone:Zone": zones,
		"aws:cloudwatch/logGroup:LogGroup": logGroups,
		"aws:ec2/instance:Instance":        3 * natInstances, // its hours, its public address, its root volume
	}
}

func TestDevCostMatchesHandComputation(t *testing.T) {
	stack := loadDev(t)
	res := runConfig(t, stack)
	p := DefaultPrices()
	version := stack.Config[program.Namespace+":"+program.KeyKubernetesVersion]
	if version == "" {
		version = program.DefaultKubernetesVersion
	}
	rep, err := Estimate(res, Options{Now: standardSupport(t, p, version)})
	require.NoError(t, err)

	want, counts := devExpectation(t, p, stack.Config)
	fullyPriced(t, "Pulumi.dev.yaml", rep)
	for typ, n := range counts {
		assert.Len(t, itemsOf(rep, typ), n, "priced items of %s", typ)
	}
	assert.Len(t, itemsOf(rep, "aws:eks/nodeGroup:NodeGroup"), 2, "instances and root volumes")
	assert.Len(t, itemsOf(rep, "aws:lb/loadBalancer:LoadBalancer"), 2, "hours and public addresses")
	assert.InDelta(t, want, rep.HourlyUSD, 0.00006)
	assert.InDelta(t, want*p.HoursPerMonth, rep.MonthlyUSD, 0.05)
	assert.Equal(t, stack.Config["aws:region"], rep.Region)
	assert.Equal(t, p.PriceDate, rep.PriceDate)
	assert.Empty(t, rep.Warnings)
}

// A changed price moves the totals by exactly the change, with the same stack.
func TestPriceDataDrivesTotals(t *testing.T) {
	stack := loadDev(t)
	res := runConfig(t, stack)
	region := stack.Config["aws:region"]
	base := DefaultPrices()
	now := standardSupport(t, base, program.DefaultKubernetesVersion)
	before, err := Estimate(res, Options{Prices: base, Now: now})
	require.NoError(t, err)

	doubled := base.Clone()
	rp := doubled.Regions[region]
	for k := range rp.Rates {
		rp.Rates[k] *= 2
	}
	for k := range rp.EC2 {
		rp.EC2[k] *= 2
	}
	after, err := Estimate(res, Options{Prices: doubled, Now: now})
	require.NoError(t, err)
	assert.InDelta(t, 2*before.HourlyUSD, after.HourlyUSD, 0.0002, "every price doubled doubles the total")
	want, _ := devExpectation(t, doubled, stack.Config)
	assert.InDelta(t, want, after.HourlyUSD, 0.00006)
	assert.NotEqual(t, base.Regions[region].Rates[RateNATGatewayHour], doubled.Regions[region].Rates[RateNATGatewayHour],
		"the clone is a copy, not the shipped data")
}

// A price the data lacks lists the resource as unpriced and leaves it out; it never counts 0.
func TestMissingPriceListsUnpriced(t *testing.T) {
	stack := loadDev(t)
	res := runConfig(t, stack)
	region := stack.Config["aws:region"]
	p := DefaultPrices()
	now := standardSupport(t, p, program.DefaultKubernetesVersion)
	full, err := Estimate(res, Options{Prices: p, Now: now})
	require.NoError(t, err)

	gap := p.Clone()
	delete(gap.Regions[region].Rates, RateALBHour)
	rep, err := Estimate(res, Options{Prices: gap, Now: now})
	require.NoError(t, err)
	alb := only(t, res, "aws:lb/loadBalancer:LoadBalancer")
	require.Len(t, rep.Unpriced, len(full.Unpriced)+1)
	var added Unpriced
	for _, u := range rep.Unpriced {
		if u.URN == alb.URN {
			added = u
		}
	}
	assert.Contains(t, added.Reason, RateALBHour)
	assert.Contains(t, added.Reason, region)
	assert.InDelta(t, full.HourlyUSD-p.Regions[region].Rates[RateALBHour], rep.HourlyUSD, 0.0002)
	assert.Len(t, itemsOf(rep, alb.Type), 1, "its public addresses are still priced")
	assert.Contains(t, rep.Summary()[0], fmt.Sprintf("%d unpriced", len(rep.Unpriced)))

	// A type with no rule at all is unpriced too, while free types stay out of the list.
	odd := withResources(res)
	extra := clone(alb)
	extra.Type, extra.URN = "aws:rds/instance:Instance", alb.URN+"-rds"
	odd.Resources = append(odd.Resources, extra)
	rep, err = Estimate(odd, Options{Prices: p, Now: now})
	require.NoError(t, err)
	require.Len(t, rep.Unpriced, len(full.Unpriced)+1)
	types := map[string]bool{}
	for _, u := range rep.Unpriced {
		types[u.Type] = true
	}
	assert.True(t, types["aws:rds/instance:Instance"], "%+v", rep.Unpriced)
}

// Past standard support the control plane costs the extended rate, and the report says so.
func TestExtendedSupportCostsMoreAndWarns(t *testing.T) {
	stack := loadDev(t)
	res := runConfig(t, stack)
	p := DefaultPrices()
	version := str(only(t, res, "aws:eks/cluster:Cluster").In("version"))
	end := day(p.EKSSupport.Versions[version].EndOfStandardSupport)
	std, err := Estimate(res, Options{Now: end.Add(-time.Hour)})
	require.NoError(t, err)
	ext, err := Estimate(res, Options{Now: end.Add(time.Hour)})
	require.NoError(t, err)

	region := stack.Config["aws:region"]
	standard, _, _ := p.Rate(region, RateEKSCluster)
	extended, _, _ := p.Rate(region, RateEKSExtendedCluster)
	require.Greater(t, extended, standard)
	assert.InDelta(t, extended-standard, ext.HourlyUSD-std.HourlyUSD, 0.0002)
	require.Len(t, ext.Warnings, 1)
	assert.Contains(t, ext.Warnings[0], version)
	assert.Contains(t, ext.Warnings[0], strconv.FormatFloat(extended/standard, 'f', 0, 64)+"×")
	assert.True(t, strings.Contains(std.Summary()[0], "warning") == (len(std.Warnings) > 0))
}

// The traffic assumption is live: capacity units are priced where the data has their rate, and
// where it has none the load balancer's hours are listed as unpriced rather than cut short.
func TestLCUAssumptionPricesCapacityUnits(t *testing.T) {
	p := DefaultPrices()
	p.Traffic.LCUPerHour.Value = 2
	alb := &fakeaws.Resource{URN: "urn:alb", Type: "aws:lb/loadBalancer:LoadBalancer", Custom: true,
		Inputs: resource.NewPropertyMapFromMap(map[string]any{"loadBalancerType": "application", "internal": true})}
	estimateIn := func(region string) *Report {
		rep, err := Estimate(&plan.Result{Stack: plan.Stack{Config: map[string]string{"aws:region": region}},
			Resources: []*fakeaws.Resource{alb}}, Options{Prices: p})
		require.NoError(t, err)
		return rep
	}
	priced, gap := "", ""
	for region, rp := range p.Regions {
		_, hours := rp.Rates[RateALBHour]
		_, lcu := rp.Rates[RateALBLCUHour]
		switch {
		case hours && lcu && priced == "":
			priced = region
		case hours && !lcu && gap == "":
			gap = region
		}
	}
	require.NotEmpty(t, priced, "some region prices ALB hours and LCUs")
	rep := estimateIn(priced)
	rp := p.Regions[priced]
	assert.InDelta(t, rp.Rates[RateALBHour]+2*rp.Rates[RateALBLCUHour], rep.HourlyUSD, 0.00006)
	if gap != "" {
		rep = estimateIn(gap)
		require.Len(t, rep.Unpriced, 1)
		assert.Contains(t, rep.Unpriced[0].Reason, RateALBLCUHour)
		assert.Zero(t, rep.HourlyUSD)
	}
}

// natStrategy Instance is the cheap egress it is for: the dev stack with one NAT gateway costs
// more by the gateway and its address, less the instance, its address and its 8 GiB disk.
func TestNatInstanceIsCheaperThanAGateway(t *testing.T) {
	p := DefaultPrices()
	dev := loadDev(t)
	require.Equal(t, "Instance", dev.Config[program.Namespace+":"+program.KeyNatStrategy])
	gateway := withSetting(dev, program.KeyNatStrategy, "Single")
	withInstance, err := Estimate(runConfig(t, dev), Options{})
	require.NoError(t, err)
	withGateway, err := Estimate(runConfig(t, gateway), Options{})
	require.NoError(t, err)
	require.Empty(t, withGateway.Unpriced)

	region := dev.Config["aws:region"]
	rate := func(k string) float64 {
		v, _, ok := p.Rate(region, k)
		require.True(t, ok, k)
		return v
	}
	instance, ok := p.OnDemand(region, program.NatInstanceType)
	require.True(t, ok)
	want := rate(RateNATGatewayHour) + rate(RatePublicIPv4Hour) -
		(instance + rate(RatePublicIPv4Hour) + 8*rate(RateEBSGp3GBMonth)/p.HoursPerMonth)
	assert.InDelta(t, want, withGateway.HourlyUSD-withInstance.HourlyUSD, 1e-3)
	assert.Greater(t, want, 0.03, "a NAT instance saves at least $0.03 an hour")
}
