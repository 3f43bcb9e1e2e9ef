package network

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

func TestPlanSubnetsLayout(t *testing.T) {
	cases := []struct {
		vpc             string
		azs             int
		public, private int
		wantPublic      []string
		wantPrivate     []string
	}{
		{"10.0.0.0/16", 2, 24, 20, []string{"10.0.255.0/24", "10.0.254.0/24"}, []string{"10.0.0.0/20", "10.0.16.0/20"}},
		{"10.0.0.0/16", 3, 24, 20,
			[]string{"10.0.255.0/24", "10.0.254.0/24", "10.0.253.0/24"},
			[]string{"10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20"}},
		{"172.16.0.0/20", 2, 26, 22, []string{"172.16.15.192/26", "172.16.15.128/26"}, []string{"172.16.0.0/22", "172.16.4.0/22"}},
		{"192.168.0.0/24", 2, 28, 26, []string{"192.168.0.240/28", "192.168.0.224/28"}, []string{"192.168.0.0/26", "192.168.0.64/26"}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_%dazs", c.vpc, c.azs), func(t *testing.T) {
			azs := make([]string, c.azs)
			for i := range azs {
				azs[i] = fmt.Sprintf("az-%d", i)
			}
			pairs, err := PlanSubnets(netip.MustParsePrefix(c.vpc), azs, SubnetLayout{PublicPrefixLength: c.public, PrivatePrefixLength: c.private})
			require.NoError(t, err)
			require.Len(t, pairs, c.azs)
			for i, p := range pairs {
				assert.Equal(t, azs[i], p.AvailabilityZone)
				assert.Equal(t, c.wantPublic[i], p.Public.String(), "public subnet of AZ %d", i)
				assert.Equal(t, c.wantPrivate[i], p.Private.String(), "private subnet of AZ %d", i)
			}
		})
	}
}

func TestPlanSubnetsRejects(t *testing.T) {
	layout := SubnetLayout{PublicPrefixLength: 24, PrivatePrefixLength: 20}
	cases := map[string]struct {
		vpc    string
		azs    int
		layout SubnetLayout
		want   string
	}{
		"host bits":      {"10.0.0.1/16", 2, layout, "host bits set; the network address is 10.0.0.0/16"},
		"too large":      {"10.0.0.0/8", 2, layout, "between /16 and /24"},
		"too small":      {"10.0.0.0/25", 2, layout, "between /16 and /24"},
		"ipv6":           {"2001:db8::/56", 2, layout, "not an IPv4 CIDR block"},
		"no AZs":         {"10.0.0.0/16", 0, layout, "no availability zones"},
		"subnet too big": {"10.0.0.0/20", 2, SubnetLayout{PublicPrefixLength: 24, PrivatePrefixLength: 20}, "longer than the VPC's /20"},
		"subnet /29":     {"10.0.0.0/16", 2, SubnetLayout{PublicPrefixLength: 29, PrivatePrefixLength: 20}, "at most /28"},
		"does not fit":   {"10.0.0.0/18", 4, layout, "10.0.0.0/18 holds 16384 addresses, but 4 AZs × (a private /20 + a public /24) need 17408"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := PlanSubnets(netip.MustParsePrefix(c.vpc), make([]string, c.azs), c.layout)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	var capErr *CapacityError
	_, err := PlanSubnets(netip.MustParsePrefix("10.0.0.0/18"), make([]string, 4), layout)
	require.True(t, errors.As(err, &capErr), "a VPC that is too small reports a CapacityError")
	assert.Equal(t, uint64(17408), capErr.Need)
}

// Adding an AZ must never move an existing subnet: that would replace it, and everything in it.
func TestPlanSubnetsStableWhenAZsAreAdded(t *testing.T) {
	vpc := netip.MustParsePrefix("10.0.0.0/16")
	layout := SubnetLayout{PublicPrefixLength: 24, PrivatePrefixLength: 20}
	azs := []string{"a", "b", "c", "d", "e", "f"}
	before, err := PlanSubnets(vpc, azs[:2], layout)
	require.NoError(t, err)
	after, err := PlanSubnets(vpc, azs, layout)
	require.NoError(t, err)
	require.Len(t, after, 6)
	assert.Equal(t, before, after[:2])
}

// For any valid VPC, layout and AZ count the planner accepts, the subnets are disjoint, inside
// the VPC, of the requested sizes, one public and one private per AZ.
func TestPlanSubnetsProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		vpcBits := rapid.IntRange(MinVpcPrefixLength, MaxVpcPrefixLength).Draw(t, "vpcBits")
		base := rapid.Uint32().Draw(t, "base")
		vpc := prefixAt(uint64(base), vpcBits).Masked()
		publicBits := rapid.IntRange(vpcBits+1, MaxSubnetPrefixLength).Draw(t, "publicBits")
		privateBits := rapid.IntRange(vpcBits+1, MaxSubnetPrefixLength).Draw(t, "privateBits")
		n := rapid.IntRange(1, 6).Draw(t, "azs")
		strategy := rapid.SampledFrom(NatStrategies).Draw(t, "nat")
		checkRouteTargets(t, strategy, n)
		azs := make([]string, n)
		for i := range azs {
			azs[i] = fmt.Sprintf("zone-%d", i)
		}
		layout := SubnetLayout{PublicPrefixLength: publicBits, PrivatePrefixLength: privateBits}

		pairs, err := PlanSubnets(vpc, azs, layout)
		fits := uint64(n)*(blockSize(publicBits)+blockSize(privateBits)) <= blockSize(vpcBits)
		if !fits {
			var capErr *CapacityError
			if !errors.As(err, &capErr) {
				t.Fatalf("%s with %d AZs of /%d + /%d does not fit, but got %v", vpc, n, privateBits, publicBits, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("planning %s %d AZs /%d /%d: %v", vpc, n, publicBits, privateBits, err)
		}
		if len(pairs) != n {
			t.Fatalf("got %d pairs for %d AZs", len(pairs), n)
		}
		var all []netip.Prefix
		for i, p := range pairs {
			if p.AvailabilityZone != azs[i] {
				t.Fatalf("pair %d is in %s, want %s", i, p.AvailabilityZone, azs[i])
			}
			if p.Public.Bits() != publicBits || p.Private.Bits() != privateBits {
				t.Fatalf("pair %d sizes /%d and /%d, want /%d and /%d", i, p.Public.Bits(), p.Private.Bits(), publicBits, privateBits)
			}
			all = append(all, p.Public, p.Private)
		}
		for i, a := range all {
			if a.Masked() != a {
				t.Fatalf("%s is not aligned", a)
			}
			if !vpc.Contains(a.Addr()) || !vpc.Contains(lastAddr(a)) {
				t.Fatalf("%s is not inside %s", a, vpc)
			}
			for _, b := range all[i+1:] {
				if a.Overlaps(b) {
					t.Fatalf("%s overlaps %s", a, b)
				}
			}
		}
	})
}

// checkRouteTargets: every private subnet's default route goes where the strategy says.
func checkRouteTargets(t *rapid.T, s NatStrategy, n int) {
	nats := NatGatewayAZs(s, n)
	targets := PrivateRouteTargets(s, n)
	if len(targets) != n {
		t.Fatalf("%d route targets for %d AZs", len(targets), n)
	}
	for az, nat := range targets {
		switch s {
		case NatNone:
			if nat != -1 || len(nats) != 0 {
				t.Fatalf("None: AZ %d routes to NAT %d, NATs %v", az, nat, nats)
			}
		case NatSingle:
			if nat != 0 || len(nats) != 1 || nats[0] != 0 {
				t.Fatalf("Single: AZ %d routes to NAT %d, NATs %v", az, nat, nats)
			}
		case NatOnePerAz:
			if nat < 0 || nat >= len(nats) || nats[nat] != az {
				t.Fatalf("OnePerAz: AZ %d routes to NAT %d in AZ %v", az, nat, nats)
			}
		}
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	return prefixAt(uint64(ipv4ToUint(p.Addr()))+blockSize(p.Bits())-1, 32).Addr()
}
