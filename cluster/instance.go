package cluster

import (
	"fmt"
	"regexp"
)

// Arch is the CPU architecture of a node instance type.
type Arch string

const (
	ArchX86   Arch = "x86_64"
	ArchArm64 Arch = "arm64"
)

// instanceType matches EC2 instance type names: a family (letters, a generation digit, optional
// attribute letters), a dot and a size — t3.large, m7g.xlarge, c6in.2xlarge, u-6tb1.metal.
var instanceType = regexp.MustCompile(`^([a-z]+)(\d+)([a-z-]*)(?:-[a-z0-9]+)?\.(nano|micro|small|medium|large|metal|\d*xlarge|metal-\d+xl)$`)

// InstanceArch returns the architecture of an EC2 instance type, or an error if the name is not
// shaped like an instance type. Graviton families carry a "g" among their attribute letters
// (m7g, c6gn, r8gd, t4g); GPU families such as g5 carry it before the generation digit.
func InstanceArch(name string) (Arch, error) {
	m := instanceType.FindStringSubmatch(name)
	if m == nil {
		return "", fmt.Errorf("must be an EC2 instance type such as t3.large or m7g.xlarge")
	}
	for _, ch := range m[3] {
		if ch == 'g' {
			return ArchArm64, nil
		}
	}
	return ArchX86, nil
}

// amiType is the EKS-optimised Amazon Linux 2023 image for an architecture.
func amiType(a Arch) string {
	if a == ArchArm64 {
		return "AL2023_ARM_64_STANDARD"
	}
	return "AL2023_x86_64_STANDARD"
}
