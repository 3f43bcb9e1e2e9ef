package kubeapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// GatewayAPIObjects are the standard-channel objects of a Gateway API release (its CRDs, and the
// admission policy that keeps experimental CRDs off them), read from the sigs.k8s.io/gateway-api
// module at that version, whose config/crd/standard holds what the release's
// standard-install.yaml concatenates. The module comes from the Go module cache or proxy, outside
// the project's go.mod: the version is the program's (ingress.GatewayAPIVersion).
func GatewayAPIObjects(version string) ([]map[string]any, error) {
	cmd := exec.Command("go", "mod", "download", "-json", "sigs.k8s.io/gateway-api@"+version)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			err = errors.New(string(exit.Stderr))
		}
		return nil, fmt.Errorf("the Gateway API module at %s: %w", version, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(mod.Dir, "config", "crd", "standard", "*.yaml"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no standard-channel CRDs in %s", mod.Dir)
	}
	sort.Strings(files)
	var objs []map[string]any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var o map[string]any
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(o) > 0 {
				objs = append(objs, o)
			}
		}
	}
	return objs, nil
}
