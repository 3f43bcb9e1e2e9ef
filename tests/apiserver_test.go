package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/kubeapi"
)

// Every Kubernetes object of every shipped stack, taken from the same source as
// `cmd/plan --format yaml`, is accepted by a real kube-apiserver (server-side dry run) with Pod
// Security "restricted" enforced on the namespaces the program labels so. Deployments are also
// submitted as bare Pods, because Pod Security only warns on workload templates.
func TestKubernetesObjectsAcceptedByAPIServer(t *testing.T) {
	srv := kubeapi.Start(t)
	// The pods' PriorityClasses exist for real: a pod naming a missing class is refused, and a
	// dry run of a class creates nothing.
	applyPriorityClasses(t, srv)
	// Behind an NLB the controller's entry policy admits the clients less the cluster's own
	// ranges (ipBlock except), a shape no shipped stack has.
	nlb := with(stack(t, "platform"), map[string]string{"loadBalancer": "nlb"})
	nlb.Name = "platform-nlb"
	for _, s := range append(shippedStacks(t), nlb) {
		t.Run(s.Name, func(t *testing.T) {
			res := run(t, s)
			objs, err := res.KubernetesObjects()
			require.NoError(t, err)
			require.NotEmpty(t, objs)
			ctx := t.Context()
			prefix := "st-" + s.Name + "-"

			accepted, rejected := 0, 0
			submit := func(obj map[string]any, what string) {
				u := &unstructured.Unstructured{Object: obj}
				warnings, err := srv.DryRunApplyWarnings(ctx, u)
				if err != nil {
					rejected++
					dump, _ := yaml.Marshal(obj)
					t.Errorf("%s rejected: %v\n%s", what, err, dump)
					return
				}
				for _, w := range warnings {
					if strings.Contains(w, "PodSecurity") || strings.Contains(w, "violate") {
						rejected++
						t.Errorf("%s accepted with a Pod Security warning: %s", what, w)
						return
					}
				}
				accepted++
			}
			for _, o := range objs {
				o = isolate(t, o, prefix)
				name := fmt.Sprintf("%s %s/%s", o["kind"], ns(o), nameOf(o))
				if o["kind"] == "Namespace" {
					labels := map[string]string{}
					for k, v := range asStringMap(get(o, "metadata", "labels")) {
						labels[k] = v
					}
					require.Equal(t, "restricted", labels["pod-security.kubernetes.io/enforce"], "%s enforces restricted", name)
					require.NoError(t, srv.EnsureNamespace(ctx, nameOf(o), labels))
				}
				submit(o, name)
				if o["kind"] == "Deployment" {
					submit(podOf(t, o), "Pod of "+name)
				}
			}
			fmt.Printf("kube-apiserver: stack %s: %d objects accepted, %d rejected\n", s.Name, accepted, rejected)
			assert.Zero(t, rejected)
			assert.Greater(t, accepted, 8)
		})
	}
}

// Controls: the same server refuses the program's own objects once they are broken the way
// DESIGN.md warns about, so the acceptance above means something.
func TestAPIServerRejectsBrokenProgramObjects(t *testing.T) {
	srv := kubeapi.Start(t)
	ctx := t.Context()
	// The pods' PriorityClasses exist, as in the cluster, so that only the breakage is refused.
	applyPriorityClasses(t, srv)
	objs, err := run(t, stack(t, "dev")).KubernetesObjects()
	require.NoError(t, err)
	const prefix = "neg-"
	for _, o := range objs {
		if o["kind"] == "Namespace" {
			o = isolate(t, o, prefix)
			labels := asStringMap(get(o, "metadata", "labels"))
			require.NoError(t, srv.EnsureNamespace(ctx, nameOf(o), labels))
		}
	}
	find := func(kind, name string) map[string]any {
		for _, o := range objs {
			if o["kind"] == kind && nameOf(o) == name {
				return isolate(t, deepCopy(o), prefix)
			}
		}
		t.Fatalf("no %s %s", kind, name)
		return nil
	}

	entry := find("Service", "traefik-entry")
	object(t, get(entry, "spec"))["externalTrafficPolicy"] = "Cluster"
	err = srv.DryRunApply(ctx, &unstructured.Unstructured{Object: entry})
	require.Error(t, err, "healthCheckNodePort with externalTrafficPolicy Cluster must be refused")
	assert.Contains(t, err.Error(), "healthCheckNodePort")

	pod := podOf(t, find("Deployment", "web"))
	containers := list(t, get(pod, "spec", "containers"))
	object(t, containers[0])["securityContext"] = map[string]any{"privileged": true}
	err = srv.DryRunApply(ctx, &unstructured.Unstructured{Object: pod})
	require.Error(t, err, "a privileged pod in a restricted namespace must be refused")
	assert.Contains(t, err.Error(), "PodSecurity")

	ing := find("Ingress", "web")
	delete(object(t, get(ing, "spec", "rules", 0, "http", "paths", 0)), "pathType")
	err = srv.DryRunApply(ctx, &unstructured.Unstructured{Object: ing})
	require.Error(t, err, "an Ingress path without pathType must be refused")
	assert.Contains(t, err.Error(), "pathType")
}

// isolate renames the namespaces of an object so that stacks sharing the server do not meet.
func isolate(t tb, o map[string]any, prefix string) map[string]any {
	t.Helper()
	o = deepCopy(o)
	meta := object(t, o["metadata"])
	if o["kind"] == "Namespace" {
		meta["name"] = prefix + text(t, meta["name"])
	} else if n, ok := meta["namespace"].(string); ok {
		meta["namespace"] = prefix + n
	}
	// A route's Gateway is in a namespace of the stack's too.
	if o["kind"] == "HTTPRoute" {
		refs, _ := get(o, "spec", "parentRefs").([]any)
		for _, r := range refs {
			if ref, ok := r.(map[string]any); ok {
				if n, ok := ref["namespace"].(string); ok {
					ref["namespace"] = prefix + n
				}
			}
		}
	}
	return o
}

// podOf turns a Deployment into the Pod its template makes.
func podOf(t tb, d map[string]any) map[string]any {
	t.Helper()
	tmpl := deepCopy(object(t, get(d, "spec", "template")))
	meta, _ := tmpl["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["name"] = nameOf(d) + "-pod"
	meta["namespace"] = ns(d)
	return map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": tmpl["spec"]}
}

func deepCopy(o map[string]any) map[string]any { return runtime.DeepCopyJSON(o) }

func get(v any, path ...any) any { return fakeaws.Get(v, path...) }

func nameOf(o map[string]any) string { s, _ := get(o, "metadata", "name").(string); return s }
func ns(o map[string]any) string     { s, _ := get(o, "metadata", "namespace").(string); return s }

func asStringMap(v any) map[string]string {
	out := map[string]string{}
	m, _ := v.(map[string]any)
	for k, e := range m {
		out[k] = fmt.Sprint(e)
	}
	return out
}
