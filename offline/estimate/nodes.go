package estimate

import (
	"fmt"
	"math"
	"strings"

	"github.com/outside-in/outside-in/offline/fakeaws"
)

// capacity is a number of instances bought one way, on one or more instance types.
type capacity struct {
	count int
	spot  bool
	types []string
}

// hourly prices the capacity: on demand at the first type's price (EKS and Auto Scaling launch
// on-demand capacity in the order the types are listed); on spot at the mean of the listed
// types' on-demand prices less the region's spot discount, since spot capacity lands on
// whichever pool is cheapest and available at launch.
func (c *costing) hourly(r *fakeaws.Resource, cp capacity) (float64, string, bool) {
	if cp.count == 0 {
		return 0, "", true
	}
	if len(cp.types) == 0 {
		c.unpriceable(r, "no instance type in the plan")
		return 0, "", false
	}
	var prices []float64
	for _, t := range cp.types {
		p, ok := c.prices.OnDemand(c.region, t)
		if !ok {
			c.unpriceable(r, "prices.json has no on-demand price for %s in %s", t, c.region)
			return 0, "", false
		}
		prices = append(prices, p)
	}
	if !cp.spot {
		return float64(cp.count) * prices[0], fmt.Sprintf("%d × on-demand %s %s/h", cp.count, cp.types[0], usd(prices[0])), true
	}
	mean := 0.0
	for _, p := range prices {
		mean += p
	}
	mean /= float64(len(prices))
	discount, where := c.prices.Spot(c.region)
	each := mean * (1 - discount)
	return float64(cp.count) * each, fmt.Sprintf("%d × spot %s: mean on-demand %s/h less %.1f%% (%s) = %s/h",
		cp.count, strings.Join(cp.types, "/"), usd(mean), discount*100, where, usd(each)), true
}

// volumes prices count gp3 volumes of size GiB; other volume types are not in the price data.
func (c *costing) volumes(r *fakeaws.Resource, what string, count int, sizeGiB float64, volumeType string) {
	if count == 0 {
		return
	}
	if volumeType != "gp3" {
		c.unpriceable(r, "%s: volume type %q has no price in prices.json (gp3 only)", what, volumeType)
		return
	}
	if sizeGiB <= 0 {
		c.unpriceable(r, "%s: no volume size in the plan", what)
		return
	}
	if v, ok := c.rates(r, what, RateEBSGp3GBMonth); ok {
		c.add(r, c.monthly(float64(count)*sizeGiB*v[0]), "%s: %d × %g GiB gp3 × %s/GB-month", what, count, sizeGiB, usd(v[0]))
	}
}

// nodeGroup prices an EKS managed node group at its desired size, and the root volumes its
// launch template gives each node.
func (c *costing) nodeGroup(r *fakeaws.Resource) {
	desired, ok := number(r.In("scalingConfig", "desiredSize"))
	if !ok {
		c.unpriceable(r, "no scalingConfig.desiredSize in the plan")
		return
	}
	cp := capacity{count: int(desired), spot: str(r.In("capacityType")) == "SPOT", types: strs(r.In("instanceTypes"))}
	hourly, basis, ok := c.hourly(r, cp)
	if !ok {
		return
	}
	c.add(r, hourly, "node group at desired size: %s", basis)
	lt := c.launchTemplate(r, "launchTemplate", str(r.In("launchTemplate", "id")))
	if lt == nil {
		c.unpriceable(r, "root volumes: no launch template in the plan, so no volume size and type")
		return
	}
	size, typ := launchTemplateVolume(lt)
	c.volumes(r, "root volumes", cp.count, size, typ)
}

// autoscalingGroup prices a group at its desired capacity, split into on-demand and spot as
// its mixed instances policy says.
func (c *costing) autoscalingGroup(r *fakeaws.Resource) {
	desired, ok := number(r.In("desiredCapacity"))
	if !ok {
		c.unpriceable(r, "no desiredCapacity in the plan")
		return
	}
	n := int(desired)
	mip := r.In("mixedInstancesPolicy")
	ltID := str(fakeaws.Get(mip, "launchTemplate", "launchTemplateSpecification", "launchTemplateId"))
	if ltID == "" {
		ltID = str(r.In("launchTemplate", "id"))
	}
	lt := c.launchTemplate(r, "mixedInstancesPolicy", ltID)
	if lt == nil {
		lt = c.launchTemplate(r, "launchTemplate", ltID)
	}
	var types []string
	for _, o := range list(fakeaws.Get(mip, "launchTemplate", "overrides")) {
		if t := str(fakeaws.Get(o, "instanceType")); t != "" {
			types = append(types, t)
		}
	}
	if len(types) == 0 && lt != nil && str(lt.In("instanceType")) != "" {
		types = []string{str(lt.In("instanceType"))}
	}
	onDemand := n
	if mip != nil {
		base, _ := number(fakeaws.Get(mip, "instancesDistribution", "onDemandBaseCapacity"))
		pct, set := number(fakeaws.Get(mip, "instancesDistribution", "onDemandPercentageAboveBaseCapacity"))
		if !set {
			pct = 100 // the Auto Scaling default
		}
		above := math.Max(0, desired-base)
		// Auto Scaling rounds a fractional on-demand share up, in favour of on-demand.
		onDemand = int(math.Min(desired, base)) + int(math.Ceil(above*pct/100))
	}
	var total float64
	var bases []string
	for _, cp := range []capacity{{count: onDemand, types: types}, {count: n - onDemand, spot: true, types: types}} {
		h, basis, ok := c.hourly(r, cp)
		if !ok {
			return
		}
		if basis != "" {
			total += h
			bases = append(bases, basis)
		}
	}
	c.add(r, total, "autoscaling group at desired capacity: %s", strings.Join(bases, " + "))
	if lt == nil {
		c.unpriceable(r, "root volumes: no launch template in the plan, so no volume size and type")
		return
	}
	size, typ := launchTemplateVolume(lt)
	c.volumes(r, "root volumes", n, size, typ)
}

// instance prices a single instance, its root volume and its public address, if any.
func (c *costing) instance(r *fakeaws.Resource) {
	spot := str(r.In("instanceMarketOptions", "marketType")) == "spot"
	hourly, basis, ok := c.hourly(r, capacity{count: 1, spot: spot, types: strs([]any{r.In("instanceType")})})
	if !ok {
		return
	}
	c.add(r, hourly, "instance: %s", basis)
	if r.In("rootBlockDevice") == nil {
		c.unpriceable(r, "root volume: the plan leaves its size and type to the image")
	} else {
		size, _ := number(r.In("rootBlockDevice", "volumeSize"))
		c.volumes(r, "root volume", 1, size, str(r.In("rootBlockDevice", "volumeType")))
	}
	if b, _ := r.In("associatePublicIpAddress").(bool); b {
		if v, ok := c.rates(r, "public IPv4 address", RatePublicIPv4Hour); ok {
			c.add(r, v[0], "1 public IPv4 address × %s/h", usd(v[0]))
		}
	}
}

// volume prices an EBS volume; CreateVolume makes gp2 when no type is given.
func (c *costing) volume(r *fakeaws.Resource) {
	size, _ := number(r.In("size"))
	typ := str(r.In("type"))
	if typ == "" {
		typ = "gp2"
	}
	c.volumes(r, "volume", 1, size, typ)
}

// launchTemplate finds the launch template a resource uses: by the id the fake gave it, or, in
// a preview where ids are unknown, by the template the property depends on.
func (c *costing) launchTemplate(user *fakeaws.Resource, property, id string) *fakeaws.Resource {
	const typ = "aws:ec2/launchTemplate:LaunchTemplate"
	for _, r := range c.resources {
		if r.Type == typ && id != "" && (r.ID == id || str(r.Out("id")) == id) {
			return r
		}
	}
	return c.dependency(user, property, typ)
}

// launchTemplateVolume is the size and type of a launch template's first EBS mapping, the
// root device the templates of this program declare.
func launchTemplateVolume(lt *fakeaws.Resource) (float64, string) {
	for _, m := range list(lt.In("blockDeviceMappings")) {
		if ebs := fakeaws.Get(m, "ebs"); ebs != nil {
			size, _ := number(fakeaws.Get(ebs, "volumeSize"))
			return size, str(fakeaws.Get(ebs, "volumeType"))
		}
	}
	return 0, ""
}

func strs(v any) []string {
	var out []string
	for _, x := range list(v) {
		if s := str(x); s != "" {
			out = append(out, s)
		}
	}
	return out
}
