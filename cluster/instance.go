package cluster

import (
	"fmt"
	"strings"

	"github.com/outside-in/outside-in/internal/awsdata"
)

// Arch is the CPU architecture of a node instance type.
type Arch string

const (
	ArchX86   Arch = "x86_64"
	ArchArm64 Arch = "arm64"
)

// InstanceArch returns the architecture of an EC2 instance type the program knows
// (awsdata.InstanceTypes), or an error naming the nearest known type.
func InstanceArch(name string) (Arch, error) {
	t, ok := awsdata.InstanceTypes[name]
	if !ok {
		return "", fmt.Errorf("is not an EC2 instance type in current use%s (the program knows %d types of the families %s)",
			nearestType(name), len(awsdata.InstanceTypes), strings.Join(awsdata.Families(), ", "))
	}
	return Arch(t.Arch), nil
}

// InstanceMemoryGiB is the memory of a known instance type (0 for an unknown one).
func InstanceMemoryGiB(name string) float64 { return awsdata.InstanceTypes[name].MemoryGiB }

// nearestType suggests the known type with the same size whose family is closest in spelling.
func nearestType(name string) string {
	family, size, ok := strings.Cut(name, ".")
	if !ok {
		return "; an instance type is <family>.<size>, e.g. t3.large"
	}
	best, bestDist := "", 3
	for _, f := range awsdata.Families() {
		if _, known := awsdata.InstanceTypes[f+"."+size]; !known {
			continue
		}
		if d := distance(family, f); d < bestDist {
			best, bestDist = f+"."+size, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// distance is the Levenshtein distance of two short strings.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// amiType is the EKS-optimised Amazon Linux 2023 image for an architecture.
func amiType(a Arch) string {
	if a == ArchArm64 {
		return "AL2023_ARM_64_STANDARD"
	}
	return "AL2023_x86_64_STANDARD"
}
