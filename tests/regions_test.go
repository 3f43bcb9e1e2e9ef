package tests

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/internal/awsdata"
)

// The plan works in every commercial region where EKS runs: the fake answers with the region's
// AZs and load balancer zone, the program skips AZs where EKS cannot place its control plane,
// and an opt-in region is named in a warning, since AWS refuses it until it is enabled.
func TestEveryRegion(t *testing.T) {
	dev := stack(t, "dev")
	for _, region := range awsdata.Regions {
		t.Run(region.Name, func(t *testing.T) {
			s := with(dev, nil)
			s.Config["aws:region"] = region.Name
			res := run(t, s)
			subnets := res.OfType("aws:ec2/subnet:Subnet")
			require.Len(t, subnets, 4)
			for _, sn := range subnets {
				az := text(t, sn.In("availabilityZone"))
				assert.Regexp(t, "^"+region.Name+"[a-z]$", az)
				id := region.AZIDs[az[len(az)-1]-'a']
				assert.False(t, slices.Contains(awsdata.EKSUnsupportedAZIDs, id), "%s (%s) cannot hold the EKS control plane", az, id)
			}
			lb := res.OfType("aws:lb/loadBalancer:LoadBalancer")
			require.Len(t, lb, 1)
			assert.Equal(t, region.ALBZoneID, lb[0].Out("zoneId"))
			optIn := slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "is an opt-in region") })
			assert.Equal(t, region.OptIn, optIn, "warning about an opt-in region")
		})
	}
}
