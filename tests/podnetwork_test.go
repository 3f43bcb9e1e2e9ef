package tests

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/outside-in/outside-in/offline/kubeapi"
)

// podNetwork plays, for every pod KWOK runs on a control plane, what the node would: the
// container and the network that reaches it. When a pod gets its address, the pod's httpd is
// started (a small server, podSite, that serves what the pod's own httpd.conf and ConfigMap
// volumes say), bound to the loopback image of the pod's address (kubeapi.PodAddressOnLoopback)
// and the port its config listens on. When the pod is deleted, its server keeps serving for the
// pod's preStop pause, as the kubelet runs the hook before it stops the container, and then
// stops. A pod whose container runs no httpd config (the controller's stand-in) gets no server.
//
// The pod addresses themselves are not local (the API server refuses loopback endpoints), so
// the network is a forward proxy: an ingress controller given its URL as HTTP_PROXY sends each
// request for http://<pod address>:<port>/ to it, and it carries the request to the loopback
// image, or answers 502 when nothing listens there — what a controller answers when the pod it
// picked is gone.
type podNetwork struct {
	URL    string // the proxy, for HTTP_PROXY
	client kubernetes.Interface

	mu      sync.Mutex
	servers map[string]*podServer // by pod UID
	errs    []string              // what went wrong off the test's goroutine, reported at the end
	forward *http.Transport
}

type podServer struct {
	pod      string // namespace/name
	addr     string // loopback host:port it listens on
	srv      *http.Server
	stopping bool
}

// startPodNetwork starts the pod network of a control plane; it stops when the test ends, and
// the test fails if a pod's server could not start.
func startPodNetwork(t *testing.T, cp *kubeapi.ControlPlane) *podNetwork {
	t.Helper()
	n := &podNetwork{client: cp.Clientset(), servers: map[string]*podServer{},
		forward: &http.Transport{DialContext: (&net.Dialer{Timeout: 2 * time.Second}).DialContext}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	n.URL = "http://" + l.Addr().String()
	proxy := &http.Server{Handler: http.HandlerFunc(n.carry), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = proxy.Serve(l) }()

	factory := informers.NewSharedInformerFactory(n.client, 0)
	pods := factory.Core().V1().Pods().Informer()
	_, err = pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { n.seen(o) },
		UpdateFunc: func(_, o any) { n.seen(o) },
		DeleteFunc: func(o any) {
			if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = d.Obj
			}
			if p, ok := o.(*corev1.Pod); ok {
				n.going(p)
			}
		},
	})
	require.NoError(t, err)
	stop := make(chan struct{})
	factory.Start(stop)
	require.True(t, cache.WaitForCacheSync(stop, pods.HasSynced))
	t.Cleanup(func() {
		close(stop)
		factory.Shutdown()
		_ = proxy.Close()
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, s := range n.servers {
			_ = s.srv.Close()
		}
		for _, e := range n.errs {
			t.Errorf("pod network: %s", e)
		}
	})
	return n
}

// carry forwards a proxied request to the loopback image of the pod address it is for.
func (n *podNetwork) carry(w http.ResponseWriter, r *http.Request) {
	host, port, err := net.SplitHostPort(r.URL.Host)
	addr, perr := netip.ParseAddr(host)
	lo, ok := kubeapi.PodAddressOnLoopback(addr)
	if err != nil || perr != nil || !ok {
		http.Error(w, fmt.Sprintf("pod network: %q is no pod address", r.URL.Host), http.StatusBadGateway)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Host = net.JoinHostPort(lo.String(), port)
	out.Header.Del("Proxy-Connection")
	resp, err := n.forward.RoundTrip(out)
	if err != nil {
		http.Error(w, fmt.Sprintf("pod network: nothing answers at %s: %v", r.URL.Host, err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// seen starts the pod's server once it has an address, and stops it once it is going.
func (n *podNetwork) seen(o any) {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return
	}
	if p.DeletionTimestamp != nil {
		n.going(p)
		return
	}
	if p.Status.PodIP == "" {
		return
	}
	n.mu.Lock()
	_, running := n.servers[string(p.UID)]
	n.mu.Unlock()
	if running {
		return
	}
	site, err := readPodSite(context.Background(), n.client, p)
	if err != nil {
		n.fail("pod %s/%s: %v", p.Namespace, p.Name, err)
		return
	}
	if site == nil {
		return // no httpd in this pod
	}
	addr, err := netip.ParseAddr(p.Status.PodIP)
	lo, ok := kubeapi.PodAddressOnLoopback(addr)
	if err != nil || !ok {
		n.fail("pod %s/%s: address %q has no loopback image", p.Namespace, p.Name, p.Status.PodIP)
		return
	}
	listen := net.JoinHostPort(lo.String(), fmt.Sprint(site.port))
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, running := n.servers[string(p.UID)]; running {
		return
	}
	// KWOK hands a deleted pod's address to the next pod on the node at once; the old pod's
	// server may still be in its preStop pause there. The new pod has the address now.
	for uid, s := range n.servers {
		if s.addr == listen {
			_ = s.srv.Close()
			delete(n.servers, uid)
		}
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		n.errs = append(n.errs, fmt.Sprintf("pod %s/%s: listening at %s: %v", p.Namespace, p.Name, listen, err))
		return
	}
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	n.servers[string(p.UID)] = &podServer{pod: p.Namespace + "/" + p.Name, addr: listen, srv: srv}
}

// going stops the pod's server after its preStop pause.
func (n *podNetwork) going(p *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	s, ok := n.servers[string(p.UID)]
	if !ok || s.stopping {
		return
	}
	s.stopping = true
	time.AfterFunc(preStopPause(p), func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.servers[string(p.UID)] == s {
			delete(n.servers, string(p.UID))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
	})
}

func (n *podNetwork) fail(format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.errs = append(n.errs, fmt.Sprintf(format, args...))
}

// preStopPause is the longest preStop sleep of the pod's containers.
func preStopPause(p *corev1.Pod) time.Duration {
	var d time.Duration
	for _, c := range p.Spec.Containers {
		if c.Lifecycle != nil && c.Lifecycle.PreStop != nil && c.Lifecycle.PreStop.Sleep != nil {
			d = max(d, time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second)
		}
	}
	return d
}
