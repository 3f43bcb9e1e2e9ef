package tests

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/offline/kubeapi"
)

// The Gateway API on the test control planes: the standard-channel CRDs of the release the
// program installs (ingress.GatewayAPIVersion), taken from the sigs.k8s.io/gateway-api module
// at that version, whose config/crd/standard holds what the release's standard-install.yaml
// concatenates.

var gatewayAPI struct {
	once sync.Once
	objs []map[string]any
	err  error
}

// gatewayAPIObjects are the release's standard-channel objects: its CRDs, and the admission
// policy that keeps experimental CRDs off them.
func gatewayAPIObjects(t tb) []map[string]any {
	t.Helper()
	gatewayAPI.once.Do(func() { gatewayAPI.objs, gatewayAPI.err = kubeapi.GatewayAPIObjects(ingress.GatewayAPIVersion) })
	require.NoError(t, gatewayAPI.err)
	return gatewayAPI.objs
}

// startControlPlaneWithGatewayAPI starts a control plane with the Gateway API's CRDs installed
// before its controllers start, so that its quota controller counts HTTPRoutes from the first.
func startControlPlaneWithGatewayAPI(t *testing.T) *kubeapi.ControlPlane {
	t.Helper()
	objs := gatewayAPIObjects(t)
	cp := kubeapi.StartControlPlaneWith(t, func(srv *kubeapi.Server) error {
		for _, o := range objs {
			if err := srv.Apply(t.Context(), &unstructured.Unstructured{Object: deepCopy(o)}); err != nil {
				return err
			}
		}
		return nil
	})
	installed.Lock()
	installed.on[cp.Server] = true
	installed.Unlock()
	return cp
}

// installGatewayAPI applies the release's standard-channel objects to srv, as the program's
// ConfigFile does at deploy time, and waits for its CRDs to serve; once per server.
func installGatewayAPI(t *testing.T, srv *kubeapi.Server) {
	t.Helper()
	installed.Lock()
	defer installed.Unlock()
	if installed.on[srv] {
		return
	}
	for _, o := range gatewayAPIObjects(t) {
		u := &unstructured.Unstructured{Object: deepCopy(o)}
		require.NoError(t, srv.Apply(t.Context(), u), "Gateway API %s %s", u.GetKind(), u.GetName())
	}
	installed.on[srv] = true
}

var installed = struct {
	sync.Mutex
	on map[*kubeapi.Server]bool
}{on: map[*kubeapi.Server]bool{}}

// quotaCountsRoutes waits, once per control plane, until its quota controller counts HTTPRoutes
// (waitQuotaCounts): a quota made before then would not count them until its next resync (five
// minutes), and the API server refuses every HTTPRoute in its namespace meanwhile. On a real
// platform the CRDs are there long before an environment's quota.
func quotaCountsRoutes(t *testing.T, cp *kubeapi.ControlPlane) {
	t.Helper()
	counting.Lock()
	defer counting.Unlock()
	if counting.on[cp] {
		return
	}
	waitQuotaCounts(t, cp.Clientset(), "count/httproutes."+ingress.GatewayAPIGroup)
	counting.on[cp] = true
}

var counting = struct {
	sync.Mutex
	on map[*kubeapi.ControlPlane]bool
}{on: map[*kubeapi.ControlPlane]bool{}}
