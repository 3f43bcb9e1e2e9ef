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
	ports map[string]int // loopback port of each entry point (web, websecure, traefik)
	log   string
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
	role := "traefik-controller"
	if o.name != "" {
		role += "-" + o.name
	}
	_, err = admin.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "traefik"}}, create)
	require.NoError(t, err)
	_, err = admin.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services", "endpoints", "secrets", "nodes", "configmaps"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"networking.k8s.io", "extensions"}, Resources: []string{"ingresses", "ingressclasses"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"networking.k8s.io", "extensions"}, Resources: []string{"ingresses/status"}, Verbs: []string{"update"}},
		},
	}, create)
	require.NoError(t, err)
	_, err = admin.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "traefik", Namespace: ns}},
	}, create)
	require.NoError(t, err)
	_, err = admin.NetworkingV1().IngressClasses().Create(ctx, &networkingv1.IngressClass{
		ObjectMeta: metav1.ObjectMeta{Name: ingress.IngressClass},
		Spec:       networkingv1.IngressClassSpec{Controller: "traefik.io/ingress-controller"},
	}, create)
	if o.name == "" || !apierrors.IsAlreadyExists(err) { // the class is the cluster's, one for all platforms
		require.NoError(t, err)
	}
	token, err := admin.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "traefik", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](7200)},
	}, create)
	require.NoError(t, err)

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.crt")
	require.NoError(t, os.WriteFile(caFile, cp.Config().CAData, 0o600))
	ports := map[string]int{"web": freePort(t), "websecure": freePort(t), "traefik": freePort(t)}
	args := chartArgs(t, values, ports)
	args = append(args,
		"--providers.kubernetesingress.endpoint="+cp.Config().Host,
		"--providers.kubernetesingress.token="+token.Status.Token,
		"--providers.kubernetesingress.certauthfilepath="+caFile,
		"--api.insecure=true", "--api.dashboard=false",
		"--log.level=INFO",
	)
	if len(o.namespaces) > 0 {
		args = append(args, "--providers.kubernetesingress.namespaces="+strings.Join(o.namespaces, ","))
	}
	var env []string
	if o.podNetwork != "" {
		// Traefik's backend transport takes its proxy from the environment (Go's
		// ProxyFromEnvironment): every request to a pod address goes through the pod network.
		// The API server, on loopback and over HTTPS, is never proxied.
		env = []string{"HTTP_PROXY=" + o.podNetwork, "NO_PROXY=127.0.0.1,localhost"}
	}
	logPath := runTraefikWith(t, bin, dir, args, env)
	tr := &traefik{api: fmt.Sprintf("http://127.0.0.1:%d", ports["traefik"]), ports: ports, log: logPath}
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
func chartArgs(t *testing.T, values map[string]any, ports map[string]int) []string {
	t.Helper()
	args := entryPointArgs(t, values, ports)
	if get(values, "providers", "kubernetesIngress", "enabled") == true {
		args = append(args, "--providers.kubernetesingress=true")
		if h, ok := get(values, "providers", "kubernetesIngress", "ingressEndpoint", "hostname").(string); ok && h != "" {
			args = append(args, "--providers.kubernetesingress.ingressendpoint.hostname="+h)
		}
	}
	require.NotEqual(t, true, get(values, "providers", "kubernetesCRD", "enabled"), "the program enables no CRD provider")
	return args
}

// entryPointArgs are the chart's flags for the entry points (chartArgs without the providers).
func entryPointArgs(t *testing.T, values map[string]any, ports map[string]int) []string {
	t.Helper()
	args := []string{fmt.Sprintf("--entryPoints.traefik.address=127.0.0.1:%d/tcp", ports["traefik"]), "--ping=true"}
	entryPoints := object(t, values["ports"])
	names := make([]string, 0, len(entryPoints))
	for name := range entryPoints {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		ep := object(t, entryPoints[name])
		args = append(args, fmt.Sprintf("--entryPoints.%s.address=127.0.0.1:%d/tcp", name, ports[name]))
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

// routers are the HTTP routers Traefik built, by rule, with their status.
func (tr *traefik) routers(t *testing.T) map[string]string {
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
		if r.Provider == "kubernetes" {
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
	return runTraefikWith(t, bin, dir, args, nil)
}

// runTraefikWith is runTraefik with variables added to the process's environment.
func runTraefikWith(t *testing.T, bin, dir string, args, env []string) string {
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
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			data, _ := os.ReadFile(logPath)
			t.Logf("traefik log:\n%s", tail(string(data), 40))
		}
	})
	return logPath
}
