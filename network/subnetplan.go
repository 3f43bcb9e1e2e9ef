package network

import (
	"fmt"
	"net/netip"
)

// SubnetPair is the planned public and private subnet of one availability zone.
type SubnetPair struct {
	AvailabilityZone string
	Public           netip.Prefix
	Private          netip.Prefix
}

// SubnetLayout sizes the subnets carved out of the VPC.
type SubnetLayout struct {
	// PublicPrefixLength is the prefix length of each public subnet (default 24: 251 usable
	// addresses, plenty for load balancer and NAT interfaces).
	PublicPrefixLength int
	// PrivatePrefixLength is the prefix length of each private subnet (default 20: the nodes and,
	// with the VPC CNI, every pod take an address here).
	PrivatePrefixLength int
}

// Limits on the sizes the planner accepts. AWS allows VPCs from /16 to /28 and subnets down to
// /28; a Kubernetes VPC smaller than /24 cannot hold two AZs of nodes and pods.
const (
	MinVpcPrefixLength    = 16
	MaxVpcPrefixLength    = 24
	MaxSubnetPrefixLength = 28
)

// PlanSubnets assigns one public and one private subnet to each availability zone.
//
// Private subnets are taken from the bottom of the VPC range upwards and public subnets from the
// top downwards, each in AZ order. The i-th AZ therefore always gets the same two CIDRs whatever
// the number of AZs, so adding an AZ later never replaces an existing subnet. Blocks are aligned
// to their own size, so no two subnets overlap while the two regions do not meet.
func PlanSubnets(vpc netip.Prefix, azs []string, layout SubnetLayout) ([]SubnetPair, error) {
	if err := checkVpcPrefix(vpc); err != nil {
		return nil, err
	}
	if len(azs) == 0 {
		return nil, fmt.Errorf("no availability zones to place subnets in")
	}
	for _, bits := range []int{layout.PublicPrefixLength, layout.PrivatePrefixLength} {
		if bits <= vpc.Bits() || bits > MaxSubnetPrefixLength {
			return nil, fmt.Errorf("subnet prefix length /%d must be longer than the VPC's /%d and at most /%d",
				bits, vpc.Bits(), MaxSubnetPrefixLength)
		}
	}

	vpcSize := blockSize(vpc.Bits())
	publicSize, privateSize := blockSize(layout.PublicPrefixLength), blockSize(layout.PrivatePrefixLength)
	need := uint64(len(azs)) * (publicSize + privateSize)
	if need > vpcSize {
		return nil, &CapacityError{Vpc: vpc, AZs: len(azs), Layout: layout, Need: need, Have: vpcSize}
	}

	base := uint64(ipv4ToUint(vpc.Addr()))
	top := base + vpcSize
	pairs := make([]SubnetPair, len(azs))
	for i, az := range azs {
		n := uint64(i)
		pairs[i] = SubnetPair{
			AvailabilityZone: az,
			Private:          prefixAt(base+n*privateSize, layout.PrivatePrefixLength),
			Public:           prefixAt(top-(n+1)*publicSize, layout.PublicPrefixLength),
		}
	}
	return pairs, nil
}

// CapacityError says that the VPC is too small for the requested subnets.
type CapacityError struct {
	Vpc    netip.Prefix
	AZs    int
	Layout SubnetLayout
	Need   uint64
	Have   uint64
}

func (e *CapacityError) Error() string {
	return fmt.Sprintf("%s holds %d addresses, but %d AZs × (a private /%d + a public /%d) need %d",
		e.Vpc, e.Have, e.AZs, e.Layout.PrivatePrefixLength, e.Layout.PublicPrefixLength, e.Need)
}

func checkVpcPrefix(vpc netip.Prefix) error {
	if !vpc.IsValid() || !vpc.Addr().Is4() {
		return fmt.Errorf("%s is not an IPv4 CIDR block", vpc)
	}
	if vpc.Masked() != vpc {
		return fmt.Errorf("%s has host bits set; the network address is %s", vpc, vpc.Masked())
	}
	if vpc.Bits() < MinVpcPrefixLength || vpc.Bits() > MaxVpcPrefixLength {
		return fmt.Errorf("%s is a /%d; a VPC must be between /%d and /%d",
			vpc, vpc.Bits(), MinVpcPrefixLength, MaxVpcPrefixLength)
	}
	return nil
}

func blockSize(bits int) uint64 { return 1 << (32 - bits) }

func ipv4ToUint(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func prefixAt(start uint64, bits int) netip.Prefix {
	v := uint32(start)
	addr := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	return netip.PrefixFrom(addr, bits)
}
