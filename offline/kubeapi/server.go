package kubeapi

import (
	"context"
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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
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
	dir  string // temporary directory: certificates, etcd data, logs
	pki  *pki
	host string

	etcd, apiserver *process

	cfg     *rest.Config // for callers: default warning handling
	client  kubernetes.Interface
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper

	stopOnce sync.Once
}

// startServer starts etcd and kube-apiserver, retrying when a port picked as
// free was taken by someone else before the process could bind it.
func startServer(bins binaries, given *Credentials) (*Server, error) {
	var err error
	for attempt := 1; attempt <= startAttempts; attempt++ {
		var s *Server
		var portClash bool
		s, portClash, err = tryStart(bins, given)
		if err == nil {
			return s, nil
		}
		if !portClash {
			break
		}
	}
	return nil, err
}

func tryStart(bins binaries, given *Credentials) (s *Server, portClash bool, err error) {
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

	var creds *pki
	if given != nil {
		creds, err = given.write(dir)
	} else {
		creds, err = generatePKI(dir)
	}
	if err != nil {
		return s, false, fmt.Errorf("certificates: %w", err)
	}
	s.pki = creds
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

	s.host = "https://127.0.0.1:" + apiPort
	s.cfg = &rest.Config{
		Host: s.host,
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
