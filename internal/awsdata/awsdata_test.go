package awsdata

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegions(t *testing.T) {
	require.GreaterOrEqual(t, len(Regions), 30, "every commercial region where EKS runs")
	names := RegionNames()
	assert.True(t, sort.StringsAreSorted(names))
	seenZone := map[string]string{}
	regionName := regexp.MustCompile(`^[a-z]{2}-[a-z]+-\d$`)
	for _, r := range Regions {
		assert.Regexp(t, regionName, r.Name)
		assert.GreaterOrEqual(t, len(r.AZIDs), 2, "%s has at least two AZs, as an ALB needs", r.Name)
		prefix := strings.SplitN(r.AZIDs[0], "-", 2)[0]
		for _, id := range r.AZIDs {
			assert.True(t, strings.HasPrefix(id, prefix+"-az"), "%s: %s", r.Name, id)
			if other, dup := seenZone[id]; dup {
				t.Errorf("AZ id %s in %s and %s", id, other, r.Name)
			}
			seenZone[id] = r.Name
		}
		assert.Regexp(t, `^Z[0-9A-Z]{8,}$`, r.ALBZoneID, r.Name)
		assert.Regexp(t, `^Z[0-9A-Z]{8,}$`, r.NLBZoneID, r.Name)
		assert.NotEqual(t, r.ALBZoneID, r.NLBZoneID, r.Name)
	}
	for _, id := range EKSUnsupportedAZIDs {
		assert.Regexp(t, `^[a-z0-9]+-az\d$`, id)
	}
	eu, ok := RegionNamed("eu-central-1")
	require.True(t, ok)
	assert.Equal(t, "Z215JYRZR1TBD5", eu.ALBZoneID, "the AWS documented ALB zone of eu-central-1")
	_, ok = RegionNamed("eu-centrel-1")
	assert.False(t, ok)
}

func TestInstanceTypes(t *testing.T) {
	require.GreaterOrEqual(t, len(InstanceTypes), 250)
	m7g, ok := InstanceTypes["m7g.large"]
	require.True(t, ok)
	assert.Equal(t, InstanceType{Name: "m7g.large", Family: "m7g", Size: "large", Arch: "arm64", VCPU: 2, MemoryGiB: 8}, m7g)
	t3 := InstanceTypes["t3.medium"]
	assert.Equal(t, "x86_64", t3.Arch)
	assert.Equal(t, 4.0, t3.MemoryGiB)
	_, ok = InstanceTypes["m9z.large"]
	assert.False(t, ok)
	for name, it := range InstanceTypes {
		// Graviton families carry a g after the generation digit; the data must agree.
		graviton := regexp.MustCompile(`^[a-z]+\d+[a-z]*g[a-z]*$`).MatchString(strings.TrimSuffix(it.Family, "-flex"))
		assert.Equal(t, graviton, it.Arch == "arm64", name)
		assert.Positive(t, it.VCPU, name)
		assert.Positive(t, it.MemoryGiB, name)
	}
	assert.Contains(t, Families(), "c7g")
}

func TestParseInstanceTypesRefusesBadRows(t *testing.T) {
	header := "type,family,size,arch,vcpu,memory_gib\n"
	for name, body := range map[string]string{
		"no header":       "t3.large,t3,large,x86_64,2,8\n",
		"bad vcpu":        header + "t3.large,t3,large,x86_64,two,8\n",
		"bad arch":        header + "t3.large,t3,large,sparc,2,8\n",
		"name mismatch":   header + "t3.large,t3a,large,x86_64,2,8\n",
		"listed twice":    header + "t3.large,t3,large,x86_64,2,8\nt3.large,t3,large,x86_64,2,8\n",
		"bad memory":      header + "t3.large,t3,large,x86_64,2,lots\n",
		"too few columns": header + "t3.large,t3,large\n",
	} {
		_, err := parseInstanceTypes(body)
		assert.Error(t, err, name)
	}
}
