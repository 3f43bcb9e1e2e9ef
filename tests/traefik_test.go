package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/outside-in/outside-in/ingress"
	"github.com/outside-in/outside-in/offline/kubeapi"
)

// traefik is the ingress controller of a test platform: the real Traefik binary (built by
// scripts/install-traefik.sh at the chart's version) as a process, reading the control plane's
// Ingresses with its kubernetesIngress provider and publishing their status, as the platform's
// pods do.
type traefik struct {
	api   string         // base URL of its API (routers)
	host  string         // its loopback address, its own among the tests' Traefiks
	ports map[string]int // port of each entry point (web, websecure, traefik) at host
	log   string
	stop  func() // ends the process before the test does (a rollout's old pod)
}

// traefikOptions place a Traefik on a control plane that other platforms share.
type traefikOptions struct {
	// name tells this controller's service account and ClusterRole from another's ("" is the
	// platform's only controller).
	name string
	// namespace holds the service account (default: the controller's namespace).
	namespace string
	// namespaces limits the Ingresses it reads to a platform's own (default: all).
	namespaces []string
	// podNetwork is the URL of the pod network (tests/podnetwork_test.go) through which it
	// reaches the endpoints it routes to; "": none, as on a control plane without pods that
	// answer.
	podNetwork string
}

// startTraefik runs Traefik with the flags the chart renders from the program's values
// (chartArgs), connected to the control plane with a service account token instead of the
// pod's in-cluster credentials, its entry points on free loopback ports instead of the pod's,
// and its API on the traefik entry point so that the test can read the routers it built.
// The service account has what the chart's ClusterRole gives the controller.
func startTraefik(t *testing.T, cp *kubeapi.ControlPlane, values map[string]any) *traefik {
	return startTraefikWith(t, cp, values, traefikOptions{})
}

// startTraefikWith is startTraefik with the options of a shared control plane.
func startTraefikWith(t *testing.T, cp *kubeapi.ControlPlane, values map[string]any, o traefikOptions) *traefik {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join(root, ".tools", "bin", "traefik"))
	require.NoError(t, err)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no Traefik at %s: run scripts/install-traefik.sh", bin)
	}
	ctx := t.Context()
	admin := cp.Clientset()
	ns := ingress.ControllerNamespace
	if o.namespace != "" {
		ns = o.namespace
	}
	role, account := "traefik-controller", "traefik"
	if o.name != "" {
		role += "-" + o.name
		account += "-" + o.name
	}
	_, err = admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: account}}, create)
	require.NoError(t, err)
	_, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		Rules: append([]rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services", "endpoints", "secrets", "nodes", "configmaps"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"networking.k8s.io", "extensions"}, Resources: []string{"ingresses", "ingressclasses"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"networking.k8s.io", "extensions"}, Resources: []string{"ingresses/status"}, Verbs: []string{"update"}},
		}, gatewayRules(values)...),
	}, create)
	require.NoError(t, err)
	_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: account, Namespace: ns}},
	}, create)
	require.NoError(t, err)
	_, err = admin.NetworkingV1().IngressClasses().Create(ctx, &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: ingress.IngressClass},
		Spec:       networkingv1.IngressClassSpec{Controller: "traefik.io/ingress-controller"},
	}, create)
	if o.name == "" || !apierrors.IsAlreadyExists(err) { // the class is the cluster's, one for all platforms
		require.NoError(t, err)
	}
	token, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, account, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](7200)},
	}, create)
	require.NoError(t, err)

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(caFile, cp.Config().CAData, 0o600))
	// The entry points listen at the container ports the chart gives them, as in the pod:
	// Traefik's Gateway provider maps a listener to the entry point whose address ends in the
	// listener's port. Each Traefik has a loopback address of its own, so that they can share
	// those ports.
	host := nextTraefikHost()
	ports := map[string]int{"traefik": 9000}
	for name, ep := range object(t, values["ports"]) {
		ports[name] = int(number(t, object(t, ep)["port"]))
	}
	args := chartArgs(t, values, host, ports)
	providers := []string{"kubernetesingress"}
	if gatewayEnabled(values) {
		providers = append(providers, "kubernetesgateway")
	}
	for _, p := range providers {
		args = append(args,
			"--providers."+p+".endpoint="+cp.Config().Host,
			"--providers."+p+".token="+token.Status.Token,
			"--providers."+p+".certauthfilepath="+caFile)
		if len(o.namespaces) > 0 {
			args = append(args, "--providers."+p+".namespaces="+strings.Join(o.namespaces, ","))
		}
	}
	args = append(args, "--api.insecure=true", "--api.dashboard=false", "--log.level=INFO")
	// OUTSIDE_IN_TRAEFIK_DEBUG=<dir>: Traefik logs at debug level with an access log, and a
	// failed test leaves its whole log in <dir>, named after the test.
	if os.Getenv("OUTSIDE_IN_TRAEFIK_DEBUG") != "" {
		args = append(args, "--log.level=DEBUG", "--accesslog=true", "--accesslog.format=json")
	}
	var env []string
	if o.podNetwork != "" {
		// Traefik's backend transport takes its proxy from the environment (Go's
		// ProxyFromEnvironment): every request to a pod address goes through the pod network.
		// The API server, on loopback and over HTTPS, is never proxied.
		env = []string{"HTTP_PROXY=" + o.podNetwork, "NO_PROXY=127.0.0.1,localhost"}
	}
	logPath, stop := runTraefikWith(t, bin, dir, args, env)
	tr := &traefik{api: fmt.Sprintf("http://%s:%d", host, ports["traefik"]), host: host, ports: ports, log: logPath, stop: stop}
	require.Eventually(t, func() bool {
		resp, err := http.Get(tr.api + "/ping")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "Traefik never answered /ping")
	return tr
}

// chartArgs are the command-line flags the Traefik chart (41.3.0) renders into the controller's
// container from the program's values (ControllerValues): an entry point per port, with its
// redirection and trusted forwarding addresses; ping on the traefik entry point; the
// kubernetesIngress provider publishing the load balancer's name. Addresses are the given
// loopback ports instead of the pod's.
func chartArgs(t *testing.T, values map[string]any, host string, ports map[string]int) []string {
	t.Helper()
	args := entryPointArgs(t, values, host, ports)
	if get(values, "providers", "kubernetesIngress", "enabled") == true {
		args = append(args, "--providers.kubernetesingress=true")
		if h, ok := get(values, "providers", "kubernetesIngress", "ingressEndpoint", "hostname").(string); ok && h != "" {
			args = append(args, "--providers.kubernetesingress.ingressendpoint.hostname="+h)
		}
	}
	if gatewayEnabled(values) {
		args = append(args, "--providers.kubernetesgateway=true")
		if h, ok := get(values, "providers", "kubernetesGateway", "statusAddress", "hostname").(string); ok && h != "" {
			args = append(args, "--providers.kubernetesgateway.statusaddress.hostname="+h)
		}
		// The chart renders the status address of its own Service only with that Service,
		// which the program disables.
		require.NotEqual(t, true, get(values, "service", "enabled"), "the program declares the entry Service itself")
	}
	require.NotEqual(t, true, get(values, "providers", "kubernetesCRD", "enabled"), "the program enables no CRD provider")
	return args
}

// entryPointArgs are the chart's flags for the entry points (chartArgs without the providers).
func entryPointArgs(t *testing.T, values map[string]any, host string, ports map[string]int) []string {
	t.Helper()
	args := []string{fmt.Sprintf("--entryPoints.traefik.address=%s:%d/tcp", host, ports["traefik"]), "--ping=true"}
	entryPoints := object(t, values["ports"])
	names := make([]string, 0, len(entryPoints))
	for name := range entryPoints {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ep := object(t, entryPoints[name])
		args = append(args, fmt.Sprintf("--entryPoints.%s.address=%s:%d/tcp", name, host, ports[name]))
		if r, ok := get(ep, "http", "redirections", "entryPoint").(map[string]any); ok {
			to := object(t, entryPoints[fmt.Sprint(r["to"])])
			args = append(args,
				fmt.Sprintf("--entryPoints.%s.http.redirections.entryPoint.to=:%v", name, to["exposedPort"]),
				fmt.Sprintf("--entryPoints.%s.http.redirections.entryPoint.scheme=%v", name, r["scheme"]),
				fmt.Sprintf("--entryPoints.%s.http.redirections.entryPoint.permanent=%v", name, r["permanent"]))
		}
		if ips, ok := get(ep, "forwardedHeaders", "trustedIPs").([]any); ok {
			var s []string
			for _, ip := range ips {
				s = append(s, fmt.Sprint(ip))
			}
			args = append(args, fmt.Sprintf("--entryPoints.%s.forwardedHeaders.trustedIPs=%s", name, strings.Join(s, ",")))
		}
	}
	return args
}

// routers are the HTTP routers Traefik built from Ingresses, by rule, with their status.
func (tr *traefik) routers(t *testing.T) map[string]string {
	t.Helper()
	return tr.routersOf(t, "kubernetes")
}

// routersOf are the HTTP routers Traefik built from a provider's objects (kubernetes: the
// Ingresses; kubernetesgateway: the HTTPRoutes), by rule, with their status.
func (tr *traefik) routersOf(t *testing.T, provider string) map[string]string {
	t.Helper()
	resp, err := http.Get(tr.api + "/api/http/routers")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var routers []struct {
		Rule, Status, Provider string
	}
	require.NoError(t, json.Unmarshal(body, &routers), "%s", body)
	out := map[string]string{}
	for _, r := range routers {
		if r.Provider == provider {
			out[r.Rule] = r.Status
		}
	}
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// runTraefik runs Traefik with args, its output in dir/traefik.log (whose path it returns);
// the process ends with the test, and a failed test shows the log's last lines.
func runTraefik(t *testing.T, bin, dir string, args []string) string {
	t.Helper()
	logPath, _ := runTraefikWith(t, bin, dir, args, nil)
	return logPath
}

// runTraefikWith is runTraefik with variables added to the process's environment; it also
// returns what ends the process early.
func runTraefikWith(t *testing.T, bin, dir string, args, env []string) (string, func()) {
	t.Helper()
	logPath := filepath.Join(dir, "traefik.log")
	logFile, err := os.Create(logPath)
	require.NoError(t, err)
	cmd := exec.Command(bin, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(func() {
		stop()
		logFile.Close()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("traefik log:\n%s", tail(string(data), 40))
			if d := os.Getenv("OUTSIDE_IN_TRAEFIK_DEBUG"); d != "" {
				name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
				_ = os.WriteFile(filepath.Join(d, name+"-"+filepath.Base(dir)+".log"), data, 0o644)
			}
		}
	})
	return logPath, stop
}

// traefikHosts hands each Traefik a loopback address of its own: in 127.<100 + pid mod 100>.0.0/16,
// so that test binaries running side by side (make test runs two) mostly draw from different
// ranges, and only one whose entry and API ports are free, so that they never share one.
var traefikHosts atomic.Int32

func nextTraefikHost() string {
	for {
		n := traefikHosts.Add(1)
		host := fmt.Sprintf("127.%d.%d.%d", 100+os.Getpid()%100, n/250%250, 1+n%250)
		if portsFree(host, 8000, 8443, 9000) {
			return host
		}
	}
}

func portsFree(host string, ports ...int) bool {
	for _, p := range ports {
		l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", host, p))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// gatewayEnabled: the values run Traefik's kubernetesGateway provider.
func gatewayEnabled(values map[string]any) bool {
	return get(values, "providers", "kubernetesGateway", "enabled") == true
}

// gatewayRules are what the chart's ClusterRole adds for the kubernetesGateway provider
// (templates/rbac/clusterrole.yaml of chart 41.3.0), none without it.
func gatewayRules(values map[string]any) []rbacv1.PolicyRule {
	if !gatewayEnabled(values) {
		return nil
	}
	return []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"list", "watch"}},
		{APIGroups: []string{ingress.GatewayAPIGroup}, Resources: []string{"backendtlspolicies", "gatewayclasses", "gateways", "grpcroutes", "httproutes", "referencegrants", "tcproutes", "tlsroutes"},
			Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{ingress.GatewayAPIGroup}, Resources: []string{"backendtlspolicies/status", "gatewayclasses/status", "gateways/status", "grpcroutes/status", "httproutes/status", "tcproutes/status", "tlsroutes/status"},
			Verbs: []string{"update"}},
	}
}
