package kubeapi_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/outside-in/outside-in/offline/kubeapi"
)

// One API server for the whole test binary.
func TestMain(m *testing.M) { kubeapi.Main(m) }

const enforceLabel = "pod-security.kubernetes.io/enforce"

// object parses a YAML manifest.
func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	require.NoError(t, yaml.Unmarshal([]byte(manifest), &obj.Object))
	return obj
}

// Positive control: an LB Service whose class no controller claims, with
// externalTrafficPolicy Local and a fixed health-check node port, is valid.
func TestDryRunApply_LoadBalancerServiceWithClassAndHealthCheckNodePort(t *testing.T) {
	srv := kubeapi.Start(t)
	ctx := t.Context()
	require.NoError(t, srv.EnsureNamespace(ctx, "lb-accept", nil))

	err := srv.DryRunApply(ctx, object(t, `
apiVersion: v1
kind: Service
metadata:
  name: edge
  namespace: lb-accept
spec:
  type: LoadBalancer
  loadBalancerClass: example.com/unclaimed
  externalTrafficPolicy: Local
  healthCheckNodePort: 32123
  selector:
    app: edge
  ports:
  - name: https
    port: 443
    targetPort: 8443
`))
	require.NoError(t, err)
}

// Negative control: healthCheckNodePort is only valid with
// externalTrafficPolicy Local.
func TestDryRunApply_HealthCheckNodePortWithClusterTrafficPolicyRejected(t *testing.T) {
	srv := kubeapi.Start(t)
	ctx := t.Context()
	require.NoError(t, srv.EnsureNamespace(ctx, "lb-reject", nil))

	err := srv.DryRunApply(ctx, object(t, `
apiVersion: v1
kind: Service
metadata:
  name: edge
  namespace: lb-reject
spec:
  type: LoadBalancer
  loadBalancerClass: example.com/unclaimed
  externalTrafficPolicy: Cluster
  healthCheckNodePort: 32124
  ports:
  - port: 443
`))
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "want an Invalid status error, got %v", err)
	assert.Contains(t, err.Error(), "spec.healthCheckNodePort")
	assert.Contains(t, err.Error(), `v1 Service "edge" in namespace "lb-reject"`)
}

// Negative control: Pod Security admission rejects a privileged Pod in a
// namespace enforcing the restricted level; a compliant Pod is admitted, so
// the rejection is the policy's and not a missing service account's.
func TestDryRunApply_PodSecurityRestricted(t *testing.T) {
	srv := kubeapi.Start(t)
	ctx := t.Context()
	require.NoError(t, srv.EnsureNamespace(ctx, "psa-restricted", map[string]string{enforceLabel: "restricted"}))

	err := srv.DryRunApply(ctx, object(t, `
apiVersion: v1
kind: Pod
metadata:
  name: privileged
  namespace: psa-restricted
spec:
  containers:
  - name: app
    image: registry.example/app:1
    securityContext:
      privileged: true
`))
	require.Error(t, err)
	assert.True(t, apierrors.IsForbidden(err), "want a Forbidden status error, got %v", err)
	assert.Contains(t, err.Error(), `violates PodSecurity "restricted:latest"`)
	assert.Contains(t, err.Error(), "securityContext.privileged")
	assert.Contains(t, err.Error(), `v1 Pod "privileged" in namespace "psa-restricted"`)

	require.NoError(t, srv.DryRunApply(ctx, object(t, `
apiVersion: v1
kind: Pod
metadata:
  name: compliant
  namespace: psa-restricted
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
  containers:
  - name: app
    image: registry.example/app:1
    securityContext:
      allowPrivilegeEscalation: false
      capabilities:
        drop: [ALL]
`)))
}

// Pod Security admission only warns about workload pod templates: the
// Deployment is admitted and the violation comes back as a warning.
func TestDryRunApplyWarnings_PodSecurityWarnsForDeployments(t *testing.T) {
	srv := kubeapi.Start(t)
	ctx := t.Context()
	require.NoError(t, srv.EnsureNamespace(ctx, "psa-deploy", map[string]string{enforceLabel: "restricted"}))

	warnings, err := srv.DryRunApplyWarnings(ctx, object(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: privileged
  namespace: psa-deploy
spec:
  selector:
    matchLabels: {app: privileged}
  template:
    metadata:
      labels: {app: privileged}
    spec:
      containers:
      - name: app
        image: registry.example/app:1
        securityContext:
          privileged: true
`))
	require.NoError(t, err)
	require.NotEmpty(t, warnings)
	assert.Contains(t, warnings[0], `would violate PodSecurity "restricted:latest"`)
}

// Negative control: every Ingress path needs a pathType.
func TestDryRunApply_IngressPathWithoutPathTypeRejected(t *testing.T) {
	srv := kubeapi.Start(t)
	ctx := t.Context()
	require.NoError(t, srv.EnsureNamespace(ctx, "ingress", nil))

	const ingress = `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: ingress
spec:
  rules:
  - host: app.example.com
    http:
      paths:
      - path: /
        %s
        backend:
          service:
            name: web
            port:
              number: 80
`
	err := srv.DryRunApply(ctx, object(t, fmt.Sprintf(ingress, "")))
	require.Error(t, err)
	assert.True(t, apierrors.IsInvalid(err), "want an Invalid status error, got %v", err)
	assert.Contains(t, err.Error(), "spec.rules[0].http.paths[0].pathType")
	assert.Contains(t, err.Error(), `networking.k8s.io/v1 Ingress "web" in namespace "ingress"`)

	require.NoError(t, srv.DryRunApply(ctx, object(t, fmt.Sprintf(ingress, "pathType: Prefix"))))
}

func TestDryRunApply_ClusterScopedAndDefaultNamespace(t *testing.T) {
	srv := kubeapi.Start(t)
	ctx := t.Context()

	require.NoError(t, srv.DryRunApply(ctx, object(t, `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: reader
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
`)))

	// No namespace: goes to "default", as with kubectl and Pulumi.
	require.NoError(t, srv.DryRunApply(ctx, object(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  key: value
`)))

	err := srv.DryRunApply(ctx, object(t, `
apiVersion: example.com/v1
kind: Gadget
metadata:
  name: nope
`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `example.com/v1 Gadget "nope"`)
	assert.Contains(t, err.Error(), "no matches for kind")

	err = srv.DryRunApply(ctx, object(t, `
apiVersion: v1
kind: ConfigMap
metadata:
  generateName: settings-
`))
	require.ErrorContains(t, err, "metadata.name must be set")
}

func TestEnsureNamespace_Idempotent(t *testing.T) {
	srv := kubeapi.Start(t)
	ctx := t.Context()
	labels := map[string]string{enforceLabel: "baseline"}
	require.NoError(t, srv.EnsureNamespace(ctx, "idempotent", labels))
	require.NoError(t, srv.EnsureNamespace(ctx, "idempotent", labels))

	ns, err := srv.Clientset().CoreV1().Namespaces().Get(ctx, "idempotent", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "baseline", ns.Labels[enforceLabel])
	_, err = srv.Clientset().CoreV1().ServiceAccounts("idempotent").Get(ctx, "default", metav1.GetOptions{})
	require.NoError(t, err)

	// A new client from Config works too.
	cfg := srv.Config()
	assert.Contains(t, cfg.Host, "https://127.0.0.1:")
}

// Apply really creates a CRD and waits for it, so custom resources can then
// be validated against its schema.
func TestApply_CustomResourceDefinition(t *testing.T) {
	srv := kubeapi.Start(t)
	ctx := t.Context()
	require.NoError(t, srv.EnsureNamespace(ctx, "crd", nil))

	require.NoError(t, srv.Apply(ctx, object(t, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
`)))

	const widget = `
apiVersion: example.com/v1
kind: Widget
metadata:
  name: w
  namespace: crd
spec:
  size: %s
`
	require.NoError(t, srv.DryRunApply(ctx, object(t, fmt.Sprintf(widget, "3"))))
	err := srv.DryRunApply(ctx, object(t, fmt.Sprintf(widget, "0")))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "spec.size")
}
