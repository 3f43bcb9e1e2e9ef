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
// the network is a SOCKS5 proxy: an ingress controller given its URL as HTTP_PROXY opens each
// connection to <pod address>:<port> through it, and it tunnels the connection to the loopback
// image, or refuses it when nothing listens there, as a gone pod's address does (the controller
// then answers 502). It carries bytes only: what the controller sends is what the pod gets. (An
// HTTP proxy would not do: Go writes the Host header, not the pod's address, into a proxied
// request line.)
type podNetwork struct {
	URL    string // the proxy (socks5://), for HTTP_PROXY
	client kubernetes.Interface

	mu       sync.Mutex
	servers  map[string]*podServer        // by pod UID
	starting map[netip.Addr]chan struct{} // loopback images of pods whose server is starting
	errs     []string                     // what went wrong off the test's goroutine, reported at the end
}

type podServer struct {
	pod      string // namespace/name
	addr     string // loopback host:port it listens on
	l        net.Listener
	srv      *http.Server
	stopping bool
}

// startPodNetwork starts the pod network of a control plane; it stops when the test ends, and
// the test fails if a pod's server could not start.
func startPodNetwork(t *testing.T, cp *kubeapi.ControlPlane) *podNetwork {
	t.Helper()
	n := &podNetwork{client: cp.Clientset(), servers: map[string]*podServer{}, starting: map[netip.Addr]chan struct{}{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	n.URL = "socks5://" + l.Addr().String()
	go n.serveSOCKS(l)

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
		_ = l.Close()
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

// serveSOCKS carries the connections made through the network: SOCKS5 without
// authentication (RFC 1928), CONNECT to an IPv4 pod address only, tunnelled to the address's
// loopback image; a connection nothing accepts is refused, as a gone pod's would be.
func (n *podNetwork) serveSOCKS(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go n.tunnel(c)
	}
}

func (n *podNetwork) tunnel(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	buf := make([]byte, 262)
	// Greeting: version 5, the methods offered; "no authentication" chosen.
	if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[0] != 5 {
		return
	}
	if _, err := io.ReadFull(c, buf[:buf[1]]); err != nil {
		return
	}
	if _, err := c.Write([]byte{5, 0}); err != nil {
		return
	}
	// Request: version, CONNECT, reserved, IPv4 address, port.
	reply := func(code byte) { _, _ = c.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0}) }
	if _, err := io.ReadFull(c, buf[:4]); err != nil {
		return
	}
	if buf[1] != 1 || buf[3] != 1 {
		reply(8) // address type not supported: pods have IPv4 addresses here
		return
	}
	if _, err := io.ReadFull(c, buf[:6]); err != nil {
		return
	}
	addr := netip.AddrFrom4([4]byte(buf[:4]))
	port := int(buf[4])<<8 | int(buf[5])
	lo, ok := kubeapi.PodAddressOnLoopback(addr)
	if !ok {
		reply(4) // host unreachable
		return
	}
	n.mu.Lock()
	started, isStarting := n.starting[lo]
	n.mu.Unlock()
	if isStarting {
		// KWOK marks a pod Ready the moment it has an address, before its server here listens;
		// a kubelet would mark it Ready only once its readiness probe is answered. So a
		// connection to a pod whose server is starting waits for it, as one would not have been
		// sent before. A gone pod's address is never starting: it is refused below.
		select {
		case <-started:
		case <-time.After(10 * time.Second):
		}
	}
	pod, err := net.DialTimeout("tcp", net.JoinHostPort(lo.String(), fmt.Sprint(port)), 2*time.Second)
	if err != nil {
		reply(5) // connection refused
		return
	}
	defer pod.Close()
	reply(0)
	_ = c.SetDeadline(time.Time{})
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(pod, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, pod); done <- struct{}{} }()
	<-done
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
	addr, err := netip.ParseAddr(p.Status.PodIP)
	lo, ok := kubeapi.PodAddressOnLoopback(addr)
	if err != nil || !ok {
		n.fail("pod %s/%s: address %q has no loopback image", p.Namespace, p.Name, p.Status.PodIP)
		return
	}
	n.mu.Lock()
	_, running := n.servers[string(p.UID)]
	started, isStarting := n.starting[lo]
	if !running && !isStarting {
		started = make(chan struct{})
		n.starting[lo] = started
	}
	n.mu.Unlock()
	if running || isStarting {
		return
	}
	defer func() {
		n.mu.Lock()
		delete(n.starting, lo)
		n.mu.Unlock()
		close(started)
	}()
	site, err := readPodSite(context.Background(), n.client, p)
	if err != nil {
		n.fail("pod %s/%s: %v", p.Namespace, p.Name, err)
		return
	}
	if site == nil {
		return // no httpd in this pod
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
			_ = s.l.Close() // closed here, not only by srv, whose Serve may not have begun
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
	n.servers[string(p.UID)] = &podServer{pod: p.Namespace + "/" + p.Name, addr: listen, l: l, srv: srv}
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
		// The address is free once the server leaves the map: the next pod KWOK gives it to
		// may listen there at once (seen), while this server still finishes its requests.
		n.mu.Lock()
		if n.servers[string(p.UID)] == s {
			delete(n.servers, string(p.UID))
			_ = s.l.Close()
		}
		n.mu.Unlock()
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
