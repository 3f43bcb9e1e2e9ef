package fakeaws

import (
	"fmt"

	"github.com/outside-in/outside-in/internal/awsdata"
)

// canonicalZone is the canonical hosted zone id of a load balancer kind in a region (AWS general
// reference, via internal/awsdata). ALB and classic ELB share one; NLB has its own.
func canonicalZone(region, kind string) (string, error) {
	r, ok := awsdata.RegionNamed(region)
	if !ok {
		return "", fmt.Errorf("no load balancer hosted zone id known for region %s", region)
	}
	if kind == "nlb" {
		return r.NLBZoneID, nil
	}
	return r.ALBZoneID, nil
}

// azs are a region's availability zones as the fake account sees them: the region's AZ ids in
// order, named <region>a, <region>b, … (an account maps names to ids its own way; this account
// maps them in order).
func azs(region string) ([][2]string, bool) {
	r, ok := awsdata.RegionNamed(region)
	if !ok {
		return nil, false
	}
	out := make([][2]string, len(r.AZIDs))
	for i, id := range r.AZIDs {
		out[i] = [2]string{fmt.Sprintf("%s%c", region, 'a'+i), id}
	}
	return out, true
}
