package plan

import (
	"bytes"
	"fmt"
	"io"
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/offline/fakeaws"
)

// HelmNote says what the YAML leaves out.
const HelmNote = "# The Traefik chart's objects are rendered by Helm at deploy time and are not listed here;\n" +
	"# the values the program passes to the chart are unit-tested instead (ingress.ControllerValues).\n"

// kindOrder applies namespaces first, then configuration, then workloads and their routing.
var kindOrder = map[string]int{"Namespace": 0, "ConfigMap": 1, "Service": 2, "Deployment": 3, "PodDisruptionBudget": 4, "Ingress": 5}

// KubernetesObjects returns every Kubernetes object the program declares, as the API server
// receives it, in apply order. Objects inside the Helm release are not among them.
func (r *Result) KubernetesObjects() ([]map[string]any, error) {
	var out []map[string]any
	for _, res := range r.Resources {
		if !res.Custom || !isKubernetesObject(res.Type) {
			continue
		}
		obj := runtime.DeepCopyJSON(res.PlainInputs()) // callers may change their copy
		if hasUnknown(obj) {
			return nil, fmt.Errorf("%s %s has values unknown until deploy time", res.Type, res.Name)
		}
		if obj["apiVersion"] == nil || obj["kind"] == nil {
			return nil, fmt.Errorf("%s %s has no apiVersion or kind", res.Type, res.Name)
		}
		out = append(out, obj)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ki, kj := kindOrder[str(out[i], "kind")], kindOrder[str(out[j], "kind")]
		if ki != kj {
			return ki < kj
		}
		return objectKey(out[i]) < objectKey(out[j])
	})
	return out, nil
}

// WriteYAML prints the Kubernetes objects as a multi-document YAML stream.
func (r *Result) WriteYAML(w io.Writer) error {
	objs, err := r.KubernetesObjects()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString(HelmNote)
	for _, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return err
		}
		buf.WriteString("---\n")
		buf.Write(b)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

func objectKey(o map[string]any) string {
	return str(o, "metadata", "namespace") + "/" + str(o, "metadata", "name")
}

func hasUnknown(v any) bool {
	switch t := v.(type) {
	case string:
		return t == unknownMarker
	case map[string]any:
		for _, e := range t {
			if hasUnknown(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if hasUnknown(e) {
				return true
			}
		}
	}
	return false
}

func get(v any, path ...any) any { return fakeaws.Get(v, path...) }

func str(v any, path ...any) string {
	s, _ := get(v, path...).(string)
	return s
}

func num(v any, path ...any) int {
	switch n := get(v, path...).(type) {
	case float64:
		return int(n)
	case int:
		return n
	case int64:
		return int(n)
	}
	return 0
}

func list(v any, path ...any) []any {
	a, _ := get(v, path...).([]any)
	return a
}
