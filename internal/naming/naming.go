// Package naming holds the conventions every layer shares for AWS Name tags and common tags.
package naming

import (
	"fmt"
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Tags returns the shared tags plus a Name tag, as the map a taggable AWS resource takes.
func Tags(shared map[string]string, name string, extra ...map[string]string) pulumi.StringMap {
	out := pulumi.StringMap{}
	for k, v := range shared {
		out[k] = pulumi.String(v)
	}
	for _, m := range extra {
		for k, v := range m {
			out[k] = pulumi.String(v)
		}
	}
	out["Name"] = pulumi.String(name)
	return out
}

// Child names a child resource `<component>-<role>` or `<component>-<role>-<index>`. Indexes
// follow the AZ order, so a child keeps its identity when later AZs are added.
func Child(component, role string, index ...int) string {
	if len(index) == 0 {
		return component + "-" + role
	}
	return fmt.Sprintf("%s-%s-%d", component, role, index[0])
}

// SortedKeys returns the keys of m in order, for deterministic iteration.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
