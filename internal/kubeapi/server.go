package kubeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

const (
	// readyTimeout bounds how long Start waits for etcd and for /readyz.
	readyTimeout = 60 * time.Second
	// logTailLines is how much of each log a start failure shows.
	logTailLines = 40
	// stopGrace is how long a process gets to exit after SIGTERM.
	stopGrace = 5 * time.Second
	// startAttempts bounds retries after losing a race for a free port.
	startAttempts = 3
)

// Server is a running etcd + kube-apiserver pair. Its methods are safe for
// concurrent use.
type Server struct {
	dir string // temporary directory: certificates, etcd data, logs

	etcd, apiserver *process

	cfg     *rest.Config // for callers: default warning handling
	client  kubernetes.Interface
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper

	stopOnce sync.Once
}

// startServer starts etcd and kube-apiserver, retrying when a port picked as
// free was taken by someone else before the process could bind it.
func startServer(bins binaries) (*Server, error) {
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var s *Server
		var portClash bool
		s, portClash, err = tryStart(bins)
		if err == nil {
			return s, nil
		}
		if !portClash {
			break
		}
	}
	return nil, err
}

func tryStart(bins binaries) (s *Server, portClash bool, err error) {
	removeStaleDirs()
	dir, err := os.MkdirTemp("", tempDirPrefix)
	if err != nil {
		return nil, false, err
	}
	s = &Server{dir: dir}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return s, false, err
	}
	defer func() {
		if err != nil {
			portClash = s.etcd != nil && s.etcd.logContains("address already in use") ||
				s.apiserver != nil && s.apiserver.logContains("address already in use")
			err = fmt.Errorf("%w\n%s", err, s.logTails())
			s.stop()
		}
	}()

	creds, err := generatePKI(dir)
	if err != nil {
		return s, false, fmt.Errorf("generate certificates: %w", err)
	}
	ports, err := freePorts(3)
	if err != nil {
		return s, false, err
	}
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(ports[0])
	peerURL := "http://127.0.0.1:" + strconv.Itoa(ports[1])
	apiPort := strconv.Itoa(ports[2])

	s.etcd, err = startProcess("etcd", bins.etcd, []string{
		"--name=default",
		"--data-dir=" + filepath.Join(dir, "etcd-data"),
		"--listen-client-urls=" + etcdURL,
		"--advertise-client-urls=" + etcdURL,
		"--listen-peer-urls=" + peerURL,
		"--initial-advertise-peer-urls=" + peerURL,
		"--initial-cluster=default=" + peerURL,
		"--initial-cluster-state=new",
		// The data is thrown away after the test: skip fsync, which
		// dominates etcd's latency on a slow disk.
		"--unsafe-no-fsync",
		"--log-level=warn",
	}, filepath.Join(dir, "etcd.log"))
	if err != nil {
		return s, false, err
	}
	if err := waitEtcd(etcdURL, s.etcd); err != nil {
		return s, false, err
	}

	s.apiserver, err = startProcess("kube-apiserver", bins.apiserver, []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + apiPort,
		"--tls-cert-file=" + creds.servingCertFile,
		"--tls-private-key-file=" + creds.servingKeyFile,
		"--client-ca-file=" + creds.caFile,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=" + ServiceClusterIPRange,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + creds.saKeyFile,
		"--service-account-signing-key-file=" + creds.saKeyFile,
		// On by default; named so that nobody drops it by accident.
		"--enable-admission-plugins=PodSecurity",
		// As on kubeadm clusters. Without it every privileged container is
		// rejected by validation, which would hide what Pod Security
		// admission decides.
		"--allow-privileged=true",
		// No node runs here: do not write the advertise address into the
		// default/kubernetes Endpoints.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}, filepath.Join(dir, "kube-apiserver.log"))
	if err != nil {
		return s, false, err
	}

	s.cfg = &rest.Config{
		Host: "https://127.0.0.1:" + apiPort,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   creds.caPEM,
			CertData: creds.clientCertPEM,
			KeyData:  creds.clientKeyPEM,
		},
		UserAgent: "outside-in-kubeapi",
		QPS:       500,
		Burst:     1000,
	}
	// The package's own clients hand warnings to the request context's
	// collector (DryRunApplyWarnings) instead of logging them, and never wait
	// long for an answer.
	own := rest.CopyConfig(s.cfg)
	own.WarningHandlerWithContext = collectWarnings{}
	own.Timeout = 30 * time.Second
	if s.client, err = kubernetes.NewForConfig(own); err != nil {
		return s, false, err
	}
	if s.dynamic, err = dynamic.NewForConfig(own); err != nil {
		return s, false, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(own)
	if err != nil {
		return s, false, err
	}
	s.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))

	if err := s.waitReady(); err != nil {
		return s, false, err
	}
	// Pods need their service account to exist (ServiceAccount admission);
	// without a controller manager nobody creates "default" in "default".
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := s.EnsureNamespace(ctx, metav1.NamespaceDefault, nil); err != nil {
		return s, false, err
	}
	return s, false, nil
}

const (
	tempDirPrefix = "outside-in-kubeapi-"
	ownerFile     = "owner.pid" // pid of the test binary that owns the directory
)

// removeStaleDirs removes the temporary directories left behind by test
// binaries that died without running their cleanups (their etcd and
// kube-apiserver died with them, see sysProcAttr).
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// freePorts returns n distinct TCP ports that were free on 127.0.0.1.
func freePorts(n int) ([]int, error) {
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitEtcd polls etcd's /health until it reports healthy.
func waitEtcd(url string, p *process) error {
	client := &http.Client{Timeout: 2 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	var last string
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if done, err := p.exited(); done {
			return false, fmt.Errorf("etcd exited during startup: %v", err)
		}
		resp, err := client.Get(url + "/health")
		if err != nil {
			last = err.Error()
			return false, nil
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = fmt.Sprintf("%s: %s", resp.Status, body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"health":"true"`), nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("etcd not healthy after %s (last: %s)", readyTimeout, last)
	}
	return err
}

// waitReady polls kube-apiserver's /readyz until it answers ok.
func (s *Server) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	rc := s.client.Discovery().RESTClient()
	var last string
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		if done, err := s.apiserver.exited(); done {
			return false, fmt.Errorf("kube-apiserver exited during startup: %v", err)
		}
		if done, err := s.etcd.exited(); done {
			return false, fmt.Errorf("etcd exited during kube-apiserver startup: %v", err)
		}
		reqCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		body, err := rc.Get().AbsPath("/readyz").DoRaw(reqCtx)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		return strings.TrimSpace(string(body)) == "ok", nil
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("kube-apiserver not ready after %s (last /readyz error: %s)", readyTimeout, last)
	}
	return err
}

// logTails returns the ends of both processes' logs, for error messages.
func (s *Server) logTails() string {
	var b strings.Builder
	for _, p := range []*process{s.etcd, s.apiserver} {
		if p != nil {
			b.WriteString(p.logTail(logTailLines))
		}
	}
	return b.String()
}

// stop stops kube-apiserver, then etcd, and removes the temporary directory.
func (s *Server) stop() {
	s.stopOnce.Do(func() {
		s.apiserver.stop(stopGrace)
		s.etcd.stop(stopGrace)
		_ = os.RemoveAll(s.dir)
	})
}

// Config returns a new client configuration for the server, authenticated
// as a member of system:masters (cluster-admin).
func (s *Server) Config() *rest.Config {
	return rest.CopyConfig(s.cfg)
}

// Clientset returns a typed client for the server, authenticated like Config.
func (s *Server) Clientset() kubernetes.Interface {
	return s.client
}

// EnsureNamespace creates the namespace name if it does not exist and sets
// its labels (for example pod-security.kubernetes.io/enforce), really, not
// as a dry run, so that later dry-run applies into it are admitted against
// it. It also creates the namespace's "default" service account, which Pods
// need and which no controller creates here. It is idempotent; labels set by
// an earlier EnsureNamespace call and absent from labels are removed.
//
// Pod Security admission reads namespaces from an informer cache: changing
// the labels of a namespace that already existed may take a moment to be
// enforced. Prefer a fresh namespace per test.
func (s *Server) EnsureNamespace(ctx context.Context, name string, labels map[string]string) error {
	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	ns := corev1ac.Namespace(name)
	if len(labels) > 0 {
		ns = ns.WithLabels(labels)
	}
	if _, err := s.client.CoreV1().Namespaces().Apply(ctx, ns, opts); err != nil {
		return fmt.Errorf("ensure namespace %q: %w", name, err)
	}
	sa := corev1ac.ServiceAccount("default", name)
	if _, err := s.client.CoreV1().ServiceAccounts(name).Apply(ctx, sa, opts); err != nil {
		return fmt.Errorf("ensure service account %q in namespace %q: %w", "default", name, err)
	}
	return nil
}

// DryRunApply validates obj with a server-side apply with dryRun=All, field
// manager "outside-in" and force, as `kubectl apply --server-side
// --dry-run=server --force-conflicts` would: the server decodes, defaults,
// validates and admits the object, then discards it. The resource is found
// through discovery; a namespaced object without a namespace goes to
// "default", as kubectl and Pulumi do. The namespace must exist (see
// EnsureNamespace).
//
// The error, if any, names the object's apiVersion, kind, namespace and name
// and wraps the API server's error, so apierrors.IsInvalid and friends work.
func (s *Server) DryRunApply(ctx context.Context, obj *unstructured.Unstructured) error {
	_, err := s.apply(ctx, obj, true)
	return err
}

// DryRunApplyWarnings is DryRunApply that also returns the warnings the API
// server sent with its answer. Some checks only warn: Pod Security admission
// rejects a Pod that violates its namespace's enforce level, but only warns
// about a Deployment (or other workload) whose pod template does.
func (s *Server) DryRunApplyWarnings(ctx context.Context, obj *unstructured.Unstructured) ([]string, error) {
	return s.apply(ctx, obj, true)
}

// Apply is DryRunApply without the dry run: it really creates or updates obj,
// for objects that later dry runs depend on, such as a CustomResourceDefinition
// (Apply waits until a CRD is established) or a ResourceQuota.
func (s *Server) Apply(ctx context.Context, obj *unstructured.Unstructured) error {
	if _, err := s.apply(ctx, obj, false); err != nil {
		return err
	}
	if obj.GroupVersionKind().GroupKind() == crdGroupKind {
		return s.waitCRDEstablished(ctx, obj.GetName())
	}
	return nil
}

var crdGroupKind = schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}

func (s *Server) apply(ctx context.Context, obj *unstructured.Unstructured, dryRun bool) ([]string, error) {
	if obj == nil {
		return nil, errors.New("kubeapi: apply of a nil object")
	}
	what := describe(obj)
	verb := "apply"
	if dryRun {
		verb = "dry-run apply"
	}
	gvk := obj.GroupVersionKind()
	if gvk.Kind == "" || gvk.Version == "" {
		return nil, fmt.Errorf("%s of %s: apiVersion and kind must be set", verb, what)
	}
	if obj.GetName() == "" {
		return nil, fmt.Errorf("%s of %s: metadata.name must be set (apply cannot use generateName)", verb, what)
	}

	mapping, err := s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// Maybe a CRD created since discovery was cached.
		s.mapper.Reset()
		mapping, err = s.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("%s of %s: %w", verb, what, err)
	}

	var ri dynamic.ResourceInterface
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		ns := obj.GetNamespace()
		if ns == "" {
			ns = metav1.NamespaceDefault
			obj = obj.DeepCopy()
			obj.SetNamespace(ns)
			what = describe(obj)
		}
		ri = s.dynamic.Resource(mapping.Resource).Namespace(ns)
	} else {
		ri = s.dynamic.Resource(mapping.Resource)
	}

	opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	warnings := &warningList{}
	_, err = ri.Apply(withWarnings(ctx, warnings), obj.GetName(), obj, opts)
	if err != nil {
		return warnings.get(), fmt.Errorf("%s of %s rejected: %w", verb, what, err)
	}
	return warnings.get(), nil
}

// describe names obj for messages: `apps/v1 Deployment "web" in namespace "prod"`.
func describe(obj *unstructured.Unstructured) string {
	s := fmt.Sprintf("%s %s %q", obj.GetAPIVersion(), obj.GetKind(), obj.GetName())
	if ns := obj.GetNamespace(); ns != "" {
		s += fmt.Sprintf(" in namespace %q", ns)
	}
	return s
}

// waitCRDEstablished waits until the CRD name is established and its
// resources are discoverable.
func (s *Server) waitCRDEstablished(ctx context.Context, name string) error {
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		crd, err := s.dynamic.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("wait for CustomResourceDefinition %q to be established: %w", name, err)
	}
	s.mapper.Reset()
	return nil
}
