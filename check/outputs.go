package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
)

// OutputValues are an auto.OutputMap's values, as Stack and Environment take them. Secrets come
// as their plain values: the Automation API reads outputs with --show-secrets.
func OutputValues(out auto.OutputMap) map[string]any {
	m := make(map[string]any, len(out))
	for k, v := range out {
		m[k] = v.Value
	}
	return m
}

// ReadOutputsFile reads the JSON of `pulumi stack output --json --show-secrets`.
func ReadOutputsFile(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s is not the JSON object `pulumi stack output --json --show-secrets` writes: %w", path, err)
	}
	if s, ok := m[outKubeconfig].(string); ok && s == "[secret]" {
		return nil, fmt.Errorf("%s holds [secret] for %s: write it with `pulumi stack output --json --show-secrets`", path, outKubeconfig)
	}
	return m, nil
}
