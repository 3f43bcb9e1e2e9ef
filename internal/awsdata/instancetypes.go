package awsdata

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// InstanceTypesSource says where instancetypes.csv came from.
const InstanceTypesSource = "aws/karpenter-provider-aws website/content/en/docs/reference/instance-types.md " +
	"(generated from the EC2 DescribeInstanceTypes API, 2026-07-11): vCPU, memory and architecture of each type; " +
	"cross-checked row by row against a second machine-generated list and 22 rows of the AWS instance-type pages. " +
	"Read 2026-11-29."

// InstanceType is one EC2 instance type the program accepts for nodes.
type InstanceType struct {
	Name      string // "m7g.large"
	Family    string // "m7g"
	Size      string // "large"
	Arch      string // "x86_64" or "arm64"
	VCPU      int
	MemoryGiB float64
}

//go:embed instancetypes.csv
var instanceTypesCSV string

// InstanceTypes are the general purpose, compute and memory optimised types in current use for
// Kubernetes nodes, by name. A type not listed is refused: a typo such as m9z.large fails here,
// before anything is built, instead of at the node group's creation.
var InstanceTypes = mustParseInstanceTypes(instanceTypesCSV)

func mustParseInstanceTypes(data string) map[string]InstanceType {
	types, err := parseInstanceTypes(data)
	if err != nil {
		panic(fmt.Sprintf("awsdata: instancetypes.csv: %v", err)) // embedded data, checked by the tests
	}
	return types
}

func parseInstanceTypes(data string) (map[string]InstanceType, error) {
	rows, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "type,family,size,arch,vcpu,memory_gib" {
		return nil, fmt.Errorf("want the header type,family,size,arch,vcpu,memory_gib and rows")
	}
	out := map[string]InstanceType{}
	for i, r := range rows[1:] {
		vcpu, err := strconv.Atoi(r[4])
		if err != nil {
			return nil, fmt.Errorf("row %d: vcpu %q: %w", i+2, r[4], err)
		}
		mem, err := strconv.ParseFloat(r[5], 64)
		if err != nil {
			return nil, fmt.Errorf("row %d: memory %q: %w", i+2, r[5], err)
		}
		if r[3] != "x86_64" && r[3] != "arm64" {
			return nil, fmt.Errorf("row %d: architecture %q", i+2, r[3])
		}
		if r[0] != r[1]+"."+r[2] {
			return nil, fmt.Errorf("row %d: %s is not %s.%s", i+2, r[0], r[1], r[2])
		}
		if _, dup := out[r[0]]; dup {
			return nil, fmt.Errorf("row %d: %s listed twice", i+2, r[0])
		}
		out[r[0]] = InstanceType{Name: r[0], Family: r[1], Size: r[2], Arch: r[3], VCPU: vcpu, MemoryGiB: mem}
	}
	return out, nil
}

// Families are the instance families of InstanceTypes, sorted.
func Families() []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range InstanceTypes {
		if !seen[t.Family] {
			seen[t.Family] = true
			out = append(out, t.Family)
		}
	}
	sort.Strings(out)
	return out
}
