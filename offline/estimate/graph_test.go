package estimate

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/plan"
)

// A zone that waits on the cluster for no reason shows up as the wait it is, with the minutes
// it costs; the same wait carried by an input is a need and is not flagged.
func TestAvoidableWaitIsReported(t *testing.T) {
	res := runConfig(t, loadDev(t))
	base, err := Estimate(res, Options{})
	require.NoError(t, err)
	eks := only(t, res, "aws:eks/cluster:Cluster")
	zone := only(t, res, "aws:route53/zone:Zone")

	slow := withResources(res)
	slow.ByURN(zone.URN).Dependencies = append(slow.ByURN(zone.URN).Dependencies, eks.URN)
	rep, err := Estimate(slow, Options{})
	require.NoError(t, err)
	require.Greater(t, rep.CriticalPath.Minutes, base.CriticalPath.Minutes, "the certificate chain now starts after the cluster")
	require.Len(t, rep.CriticalPath.Avoidable, 1, "%+v", rep.CriticalPath.Avoidable)
	w := rep.CriticalPath.Avoidable[0]
	assert.Equal(t, zone.URN, w.URN)
	assert.Equal(t, eks.URN, w.WaitsOn)
	assert.Equal(t, 1, w.Waiting)
	assert.InDelta(t, rep.CriticalPath.Minutes-base.CriticalPath.Minutes, w.SavedMinutes, 0.01)
	assert.Contains(t, rep.Summary()[1], "avoidable")

	fed := withResources(res)
	z := fed.ByURN(zone.URN)
	z.Dependencies = append(z.Dependencies, eks.URN)
	z.PropertyDependencies["comment"] = []string{eks.URN}
	rep, err = Estimate(fed, Options{})
	require.NoError(t, err)
	assert.Greater(t, rep.CriticalPath.Minutes, base.CriticalPath.Minutes)
	assert.Empty(t, rep.CriticalPath.Avoidable, "an input's wait is a need")
}

// A component's dependsOn holds for everything it creates; judged as one wait, it is reported
// against the component.
func TestInheritedWaitIsReportedAgainstTheComponent(t *testing.T) {
	res := runConfig(t, loadDev(t))
	eks := only(t, res, "aws:eks/cluster:Cluster")
	zone := only(t, res, "aws:route53/zone:Zone")
	slow := withResources(res)
	dns := slow.ByURN(zone.Parent)
	require.NotNil(t, dns)
	require.False(t, dns.Custom, "the zone's parent is the DNS component")
	dns.Dependencies = append(dns.Dependencies, eks.URN)

	rep, err := Estimate(slow, Options{})
	require.NoError(t, err)
	require.Len(t, rep.CriticalPath.Avoidable, 1, "%+v", rep.CriticalPath.Avoidable)
	w := rep.CriticalPath.Avoidable[0]
	assert.Equal(t, dns.URN, w.URN)
	assert.Equal(t, eks.URN, w.WaitsOn)
	children := 0
	for _, r := range slow.Resources {
		if r.Parent == dns.URN && r.Custom {
			children++
		}
	}
	assert.Equal(t, children, w.Waiting, "every resource of the component waits")
}

func TestDependencyCycleIsAnError(t *testing.T) {
	a := &fakeaws.Resource{URN: "urn:a", Type: "aws:ec2/vpc:Vpc", Custom: true, Dependencies: []string{"urn:b"}}
	b := &fakeaws.Resource{URN: "urn:b", Type: "aws:ec2/vpc:Vpc", Custom: true, Dependencies: []string{"urn:a"}}
	_, err := Estimate(&plan.Result{Resources: []*fakeaws.Resource{a, b}}, Options{})
	assert.ErrorContains(t, err, "cycle")
}

// The k3s provider waits for servers and agents; the EKS one takes the default.
func TestDurationDependsOnWhatTheProviderWaitsFor(t *testing.T) {
	d := DefaultDurations()
	k3s := d.forType("pulumi:providers:kubernetes", map[string]bool{"aws:ec2/instance:Instance": true})
	eks := d.forType("pulumi:providers:kubernetes", map[string]bool{"aws:eks/cluster:Cluster": true})
	assert.Greater(t, k3s.Minutes(), eks.Minutes())
	assert.Equal(t, d.Defaults["other"].Minutes(), eks.Minutes())
}

// An autoscaling group splits its capacity into on-demand and spot as its policy says, and
// prices the root volumes its launch template gives each instance.
func TestAutoscalingGroupMixedCapacity(t *testing.T) {
	p := DefaultPrices()
	region := "us-east-1"
	props := func(m map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(m) }
	lt := &fakeaws.Resource{URN: "urn:lt", Type: "aws:ec2/launchTemplate:LaunchTemplate", Custom: true, ID: "lt-1",
		Inputs: props(map[string]any{"blockDeviceMappings": []any{map[string]any{"ebs": map[string]any{"volumeSize": 30, "volumeType": "gp3"}}}})}
	group := &fakeaws.Resource{URN: "urn:agents", Type: "aws:autoscaling/group:Group", Custom: true, Inputs: props(map[string]any{
		"desiredCapacity": 5,
		"mixedInstancesPolicy": map[string]any{
			"launchTemplate": map[string]any{
				"launchTemplateSpecification": map[string]any{"launchTemplateId": "lt-1"},
				"overrides":                   []any{map[string]any{"instanceType": "t3.medium"}, map[string]any{"instanceType": "t3a.medium"}},
			},
			"instancesDistribution": map[string]any{"onDemandBaseCapacity": 1, "onDemandPercentageAboveBaseCapacity": 50},
		},
	})}
	server := &fakeaws.Resource{URN: "urn:server", Type: "aws:ec2/instance:Instance", Custom: true, Inputs: props(map[string]any{
		"instanceType": "t3.small", "rootBlockDevice": map[string]any{"volumeSize": 20, "volumeType": "gp3"}})}
	data := &fakeaws.Resource{URN: "urn:data", Type: "aws:ebs/volume:Volume", Custom: true, Inputs: props(map[string]any{"size": 10, "type": "gp3"})}
	api := &fakeaws.Resource{URN: "urn:api", Type: "aws:lb/loadBalancer:LoadBalancer", Custom: true, Inputs: props(map[string]any{
		"loadBalancerType": "network", "internal": true, "subnets": []any{"subnet-a", "subnet-b"}})}
	res := &plan.Result{Stack: plan.Stack{Config: map[string]string{"aws:region": region}},
		Resources: []*fakeaws.Resource{lt, group, server, data, api}}
	rep, err := Estimate(res, Options{Prices: p})
	require.NoError(t, err)
	require.Empty(t, rep.Unpriced)

	od := func(typ string) float64 { v, ok := p.OnDemand(region, typ); require.True(t, ok); return v }
	rate := func(k string) float64 { v, _, ok := p.Rate(region, k); require.True(t, ok); return v }
	discount, _ := p.Spot(region)
	// 1 base + half of the 4 above it on demand (the first type), 2 on spot.
	agents := 3*od("t3.medium") + 2*(od("t3.medium")+od("t3a.medium"))/2*(1-discount)
	gp3 := rate(RateEBSGp3GBMonth) / p.HoursPerMonth
	want := agents + 5*30*gp3 + od("t3.small") + 20*gp3 + 10*gp3 + rate(RateNLBHour)
	assert.InDelta(t, want, rep.HourlyUSD, 0.00006)
	assert.Len(t, itemsOf(rep, "aws:lb/loadBalancer:LoadBalancer"), 1, "an internal NLB has no public addresses")
}
