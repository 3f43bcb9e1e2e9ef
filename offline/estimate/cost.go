package estimate

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/outside-in/outside-in/offline/fakeaws"
)

// Item is one priced charge of one resource. A resource can have several (a load balancer's
// hours and its public addresses).
type Item struct {
	URN       string  `json:"urn"`
	Type      string  `json:"type"`
	HourlyUSD float64 `json:"hourlyUSD"`
	// Basis says how the figure was reached: quantities, rates, assumptions.
	Basis string `json:"basis"`
}

// Unpriced is a resource that costs money but that the price data cannot price.
type Unpriced struct {
	URN    string `json:"urn"`
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// costing prices the resources of one plan in one region.
type costing struct {
	prices    *Prices
	region    string
	now       time.Time
	resources []*fakeaws.Resource
	byURN     map[string]*fakeaws.Resource
	items     []Item
	unpriced  []Unpriced
	warnings  []string
}

// pricers price the types that cost money. A type neither here nor free in the price data is
// listed as unpriced: a new resource type never slips into the estimate as zero.
var pricers = map[string]func(*costing, *fakeaws.Resource){
	"aws:eks/cluster:Cluster":           (*costing).eksCluster,
	"aws:eks/nodeGroup:NodeGroup":       (*costing).nodeGroup,
	"aws:autoscaling/group:Group":       (*costing).autoscalingGroup,
	"aws:ec2/instance:Instance":         (*costing).instance,
	"aws:ebs/volume:Volume":             (*costing).volume,
	"aws:ec2/natGateway:NatGateway":     (*costing).natGateway,
	"aws:ec2/eip:Eip":                   (*costing).eip,
	"aws:lb/loadBalancer:LoadBalancer":  (*costing).elbv2,
	"aws:elb/loadBalancer:LoadBalancer": (*costing).classicELB,
	"aws:route53/zone:Zone":             (*costing).zone,
	"aws:kms/key:Key":                   (*costing).kmsKey,
	"aws:cloudwatch/logGroup:LogGroup":  (*costing).logGroup,
}

// price walks the resources the stack owns: custom resources it registered, not components
// (which are only groupings) and not resources it merely reads.
func (c *costing) price() {
	c.byURN = map[string]*fakeaws.Resource{}
	for _, r := range c.resources {
		c.byURN[r.URN] = r
	}
	for _, r := range c.resources {
		if !r.Custom || r.Read {
			continue
		}
		if p, ok := pricers[r.Type]; ok {
			p(c, r)
			continue
		}
		if _, free := c.prices.Free(r.Type); free {
			continue
		}
		c.unpriceable(r, "no price rule for this type: add it to offline/estimate (priced) or to freeTypes in prices.json")
	}
	sort.SliceStable(c.items, func(i, j int) bool { return c.items[i].HourlyUSD > c.items[j].HourlyUSD })
}

func (c *costing) add(r *fakeaws.Resource, hourly float64, format string, a ...any) {
	c.items = append(c.items, Item{URN: r.URN, Type: r.Type, HourlyUSD: hourly, Basis: fmt.Sprintf(format, a...)})
}

func (c *costing) unpriceable(r *fakeaws.Resource, format string, a ...any) {
	c.unpriced = append(c.unpriced, Unpriced{URN: r.URN, Type: r.Type, Reason: fmt.Sprintf(format, a...)})
}

// rates looks up every key for the region; a missing one lists the resource as unpriced (what,
// e.g. "load balancer hours", names the charge) and returns false.
func (c *costing) rates(r *fakeaws.Resource, what string, keys ...string) ([]float64, bool) {
	out := make([]float64, len(keys))
	var missing []string
	for i, k := range keys {
		v, _, ok := c.prices.Rate(c.region, k)
		if !ok {
			missing = append(missing, k)
		}
		out[i] = v
	}
	if len(missing) > 0 {
		c.unpriceable(r, "%s: prices.json has no %s for %s", what, strings.Join(missing, ", "), c.region)
		return nil, false
	}
	return out, true
}

// monthly turns a per-month price into an hourly one.
func (c *costing) monthly(perMonth float64) float64 { return perMonth / c.prices.HoursPerMonth }

func (c *costing) eksCluster(r *fakeaws.Resource) {
	version := str(r.In("version"))
	key, note := RateEKSCluster, "standard support"
	support, known := c.prices.EKSSupport.Versions[version]
	switch {
	case !known:
		c.warnings = append(c.warnings, fmt.Sprintf(
			"EKS %s is not in the support calendar of prices.json (eksSupport): priced at the standard rate; add its dates", version))
	case !c.now.Before(day(support.EndOfExtendedSupport)):
		c.warnings = append(c.warnings, fmt.Sprintf(
			"EKS %s left extended support on %s: EKS no longer creates it and upgrades existing control planes", version, support.EndOfExtendedSupport))
		key, note = RateEKSExtendedCluster, "extended support (ended "+support.EndOfExtendedSupport+")"
	case !c.now.Before(day(support.EndOfStandardSupport)):
		key, note = RateEKSExtendedCluster, "extended support since "+support.EndOfStandardSupport
	}
	v, ok := c.rates(r, "EKS control plane", RateEKSCluster, key)
	if !ok {
		return
	}
	if key == RateEKSExtendedCluster {
		c.warnings = append(c.warnings, fmt.Sprintf(
			"EKS %s is past standard support (ended %s): its control plane costs %.2f/h instead of %.2f/h, %.0f× as much; upgrade the cluster",
			version, support.EndOfStandardSupport, v[1], v[0], v[1]/v[0]))
	} else if known && c.now.Add(90*24*time.Hour).After(day(support.EndOfStandardSupport)) {
		c.warnings = append(c.warnings, fmt.Sprintf(
			"EKS %s leaves standard support on %s; after that its control plane costs the extended rate", version, support.EndOfStandardSupport))
	}
	c.add(r, v[1], "EKS %s control plane, %s: %s/h", version, note, usd(v[1]))
}

func (c *costing) natGateway(r *fakeaws.Resource) {
	c.hoursAndUsage(r, "NAT gateway", RateNATGatewayHour, RateNATGatewayGB, c.prices.Traffic.NATGBPerHour.Value, "GB/h × per GB")
}

// hoursAndUsage prices an hourly charge plus a usage charge at the stated traffic (none when
// the usage is 0, and then no usage rate is needed). A missing rate lists the resource as
// unpriced and adds nothing for it.
func (c *costing) hoursAndUsage(r *fakeaws.Resource, kind, hourKey, usageKey string, usage float64, unit string) {
	keys := []string{hourKey}
	if usage > 0 {
		keys = append(keys, usageKey)
	}
	v, ok := c.rates(r, kind+" hours", keys...)
	if !ok {
		return
	}
	hourly, basis := v[0], fmt.Sprintf("%s %s/h", kind, usd(v[0]))
	if usage > 0 {
		hourly += usage * v[1]
		basis += fmt.Sprintf(" + %g %s %s", usage, unit, usd(v[1]))
	} else {
		basis += " + no traffic (idle stack assumed)"
	}
	c.add(r, hourly, "%s", basis)
}

func (c *costing) eip(r *fakeaws.Resource) {
	if v, ok := c.rates(r, "public IPv4 address", RatePublicIPv4Hour); ok {
		c.add(r, v[0], "1 public IPv4 address × %s/h", usd(v[0]))
	}
}

// elbv2 prices an ALB or NLB: its hours, the assumed capacity units, and, when it faces the
// internet, one public IPv4 address in each of its subnets (AWS charges for each). The
// addresses are priced even when the hours are not.
func (c *costing) elbv2(r *fakeaws.Resource) {
	kind, hourKey, lcuKey := "ALB", RateALBHour, RateALBLCUHour
	if str(r.In("loadBalancerType")) == "network" {
		kind, hourKey, lcuKey = "NLB", RateNLBHour, RateNLBLCUHour
	}
	c.hoursAndUsage(r, kind, hourKey, lcuKey, c.prices.Traffic.LCUPerHour.Value, "LCU ×")
	if b, _ := r.In("internal").(bool); !b {
		c.publicAddresses(r, kind, c.countSubnets(r))
	}
}

// classicELB prices a classic ELB like elbv2; its charge for traffic is per GB processed.
func (c *costing) classicELB(r *fakeaws.Resource) {
	c.hoursAndUsage(r, "classic ELB", RateClassicELBHour, RateClassicELBGB, c.prices.Traffic.ClassicELBGBPerHour.Value, "GB/h × per GB")
	if b, _ := r.In("internal").(bool); !b {
		n := c.countSubnets(r)
		if n == 0 {
			n = len(list(r.In("availabilityZones")))
		}
		c.publicAddresses(r, "classic ELB", n)
	}
}

func (c *costing) publicAddresses(r *fakeaws.Resource, kind string, n int) {
	if n == 0 {
		c.unpriceable(r, "internet-facing %s with no subnets in the plan: its public addresses cannot be counted", kind)
		return
	}
	if v, ok := c.rates(r, kind+" public addresses", RatePublicIPv4Hour); ok {
		c.add(r, float64(n)*v[0], "%d public IPv4 addresses of the internet-facing %s (one per subnet) × %s/h", n, kind, usd(v[0]))
	}
}

func (c *costing) zone(r *fakeaws.Resource) {
	if v, ok := c.rates(r, "hosted zone", RateRoute53ZoneMonth); ok {
		c.add(r, c.monthly(v[0]), "hosted zone %s/month", usd(v[0]))
	}
}

func (c *costing) kmsKey(r *fakeaws.Resource) {
	if v, ok := c.rates(r, "KMS key", RateKMSKeyMonth); ok {
		c.add(r, c.monthly(v[0]), "customer managed KMS key %s/month (requests within the free tier)", usd(v[0]))
	}
}

func (c *costing) logGroup(r *fakeaws.Resource) {
	gb := c.prices.Traffic.LogIngestGBPerMonth.Value
	if v, ok := c.rates(r, "log ingestion", RateLogsIngestGB); ok {
		c.add(r, c.monthly(gb*v[0]), "%g GB/month ingested (assumed) × %s/GB", gb, usd(v[0]))
	}
}

// countSubnets counts a load balancer's subnets, from subnets or subnetMappings; a mapping
// with its own Elastic IP is left out, as that address is priced with its EIP. In a preview,
// where the ids are unknown, the subnets the property depends on are counted instead.
func (c *costing) countSubnets(r *fakeaws.Resource) int {
	n := 0
	for _, s := range list(r.In("subnets")) {
		if str(s) != fakeaws.Unknown {
			n++
		}
	}
	for _, m := range list(r.In("subnetMappings")) {
		if str(fakeaws.Get(m, "allocationId")) == "" {
			n++
		}
	}
	if n == 0 {
		for _, urn := range r.PropertyDependencies["subnets"] {
			if dep := c.byURN[urn]; dep != nil && dep.Type == "aws:ec2/subnet:Subnet" {
				n++
			}
		}
	}
	return n
}

// dependency is the resource of a type that a property of r depends on, if any.
func (c *costing) dependency(r *fakeaws.Resource, property, typ string) *fakeaws.Resource {
	for _, urn := range r.PropertyDependencies[property] {
		if dep := c.byURN[urn]; dep != nil && dep.Type == typ {
			return dep
		}
	}
	return nil
}

func day(s string) time.Time {
	t, _ := time.Parse(time.DateOnly, s) // checked by Prices.Check
	return t
}

func usd(v float64) string { return "$" + trimFloat(v) }

func trimFloat(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.5f", v), "0"), ".")
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// number reads a plain number; Pulumi's property values carry numbers as float64, and the
// fake's launch template settings sometimes as strings.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case string:
		var f float64
		_, err := fmt.Sscan(n, &f)
		return f, err == nil
	}
	return 0, false
}
