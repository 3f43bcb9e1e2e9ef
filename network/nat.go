package network

import "slices"

// NatStrategy says how the private subnets reach the internet.
type NatStrategy string

const (
	// NatNone builds no NAT gateway: private subnets have no default route.
	NatNone NatStrategy = "None"
	// NatSingle builds one NAT gateway in the first AZ; every private subnet routes through it.
	// Cheapest, but an outage of that AZ cuts egress for all of them.
	NatSingle NatStrategy = "Single"
	// NatOnePerAz builds a NAT gateway in every AZ; each private subnet routes through its own.
	NatOnePerAz NatStrategy = "OnePerAz"
	// NatInstance runs one small NAT instance in the first AZ instead of a managed gateway: about
	// a tenth of the cost, and a single point of failure for egress — for developer and CI
	// stacks, not production.
	NatInstance NatStrategy = "Instance"
)

// NatStrategies lists the accepted strategies, in the order the docs give them.
var NatStrategies = []NatStrategy{NatNone, NatSingle, NatOnePerAz, NatInstance}

// Valid reports whether s is a known strategy.
func (s NatStrategy) Valid() bool { return slices.Contains(NatStrategies, s) }

// NatGatewayAZs returns the indexes of the AZs that host a NAT gateway.
func NatGatewayAZs(s NatStrategy, azCount int) []int {
	switch s {
	case NatSingle, NatInstance:
		return []int{0}
	case NatOnePerAz:
		out := make([]int, azCount)
		for i := range out {
			out[i] = i
		}
		return out
	default:
		return nil
	}
}

// PrivateRouteTargets returns, for each AZ, the index of the NAT gateway its private subnet's
// default route points at, or -1 when it has no default route.
func PrivateRouteTargets(s NatStrategy, azCount int) []int {
	out := make([]int, azCount)
	for i := range out {
		switch s {
		case NatSingle, NatInstance:
			out[i] = 0
		case NatOnePerAz:
			out[i] = i
		default:
			out[i] = -1
		}
	}
	return out
}

// FlowLogs says which VPC traffic is logged to CloudWatch Logs.
type FlowLogs string

const (
	FlowLogsNone     FlowLogs = "None"
	FlowLogsRejected FlowLogs = "Rejected"
	FlowLogsAll      FlowLogs = "All"
)

// FlowLogOptions lists the accepted flow-log settings.
var FlowLogOptions = []FlowLogs{FlowLogsNone, FlowLogsRejected, FlowLogsAll}

// Valid reports whether f is a known setting.
func (f FlowLogs) Valid() bool { return slices.Contains(FlowLogOptions, f) }

// trafficType is the EC2 flow log traffic type for f, empty when nothing is logged.
func (f FlowLogs) trafficType() string {
	switch f {
	case FlowLogsRejected:
		return "REJECT"
	case FlowLogsAll:
		return "ALL"
	default:
		return ""
	}
}
