package kubeapi

import (
	"math/rand/v2"
	"net/netip"
	"sync"
)

// Pod addresses that a test can serve. KWOK gives a pod an address from its node's
// spec.podCIDR (as a CNI plugin would), so AddNodes gives every node a /24 of its own in
// 10.128.0.0/9. Those addresses are not local here, and cannot be: the API server refuses a
// loopback address in an EndpointSlice or Endpoints ("may not be in the loopback range"), so the
// endpoints an ingress controller reads must be ordinary addresses. What stands for the pod
// network is the address's loopback image (PodAddressOnLoopback: every bit but the first
// octet kept, 10.a.b.c is 127.a.b.c): a test listens there for the pod, and whatever reaches
// the pod's address is carried there (tests/podnetwork_test.go).
//
// The first /24 is picked at random per process, so that test binaries running side by side on
// one machine (other packages, other checkouts) are unlikely to serve the same loopback
// addresses; within a process they never repeat.
var podCIDRs struct {
	sync.Mutex
	next, first uint32
}

// podCIDRSpace is the /24s 10.128.0.0 to 10.223.255.0: clear of the service range
// (ServiceClusterIPRange), KWOK's node address (10.0.0.1) and its default pod range.
const podCIDRFirst, podCIDRCount = 128 << 8, 96 << 8

// NodePodCIDR hands out the next /24 for a node's pods.
func NodePodCIDR() netip.Prefix {
	podCIDRs.Lock()
	defer podCIDRs.Unlock()
	if podCIDRs.next == 0 {
		podCIDRs.next = rand.Uint32N(podCIDRCount)
	}
	i := podCIDRFirst + podCIDRs.next
	podCIDRs.next = (podCIDRs.next + 1) % podCIDRCount
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24)
}

// PodAddressOnLoopback is where a test serves the pod at addr (an address of a node's pod
// CIDR): its loopback image, 127 in place of 10. ok is false for an address outside 10.0.0.0/8.
func PodAddressOnLoopback(addr netip.Addr) (netip.Addr, bool) {
	if !addr.Is4() || addr.As4()[0] != 10 {
		return netip.Addr{}, false
	}
	b := addr.As4()
	b[0] = 127
	return netip.AddrFrom4(b), true
}
