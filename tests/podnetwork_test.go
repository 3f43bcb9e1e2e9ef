package tests

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
// then answers 502). A connection to a live pod whose server has not started yet waits for it
// (tunnel). Each start, stop and refusal is kept, and a failed request is told with them
// (story). It carries bytes only: what the controller sends is what the pod gets. (An
// HTTP proxy would not do: Go writes the Host header, not the pod's address, into a proxied
// request line.)
type podNetwork struct {
	URL       string // the proxy (socks5://), for HTTP_PROXY
	client    kubernetes.Interface
	startWait time.Duration // how long a connection waits for a live pod's server to start

	mu      sync.Mutex
	servers map[string]*podServer // by pod UID
	begun   map[string]bool       // the pods whose server has been started (or found none to start)
	noSite  map[string]bool       // pods that run no httpd, or whose server could not start
	pods    cache.Indexer         // the informer's pods, indexed by address
	errs    []string              // what went wrong off the test's goroutine, reported at the end
	// What happened, for the story a failed request is told with: each server's start and
	// stop, and each connection refused. lastAt is the pod last served at each loopback
	// host:port.
	journal []happening
	lastAt  map[string]string
}

type happening struct {
	at   time.Time
	pod  string // namespace/name, or "" when no pod is known
	text string
}

type podServer struct {
	pod      string // namespace/name
	addr     string // loopback host:port it listens on
	l        net.Listener
	srv      *http.Server
	stopping bool
}

func newPodNetwork(c kubernetes.Interface) *podNetwork {
	return &podNetwork{client: c, startWait: 10 * time.Second, servers: map[string]*podServer{},
		begun: map[string]bool{}, noSite: map[string]bool{}, lastAt: map[string]string{}}
}

// byPodIP indexes the live pods by their address.
func byPodIP(o any) ([]string, error) {
	if p, ok := o.(*corev1.Pod); ok && p.Status.PodIP != "" && p.DeletionTimestamp == nil {
		return []string{p.Status.PodIP}, nil
	}
	return nil, nil
}

// startPodNetwork starts the pod network of a control plane; it stops when the test ends, and
// the test fails if a pod's server could not start.
func startPodNetwork(t *testing.T, cp *kubeapi.ControlPlane) *podNetwork {
	t.Helper()
	n := newPodNetwork(cp.Clientset())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	n.URL = "socks5://" + l.Addr().String()
	go n.serveSOCKS(l)

	factory := informers.NewSharedInformerFactory(n.client, 0)
	pods := factory.Core().V1().Pods().Informer()
	require.NoError(t, pods.AddIndexers(cache.Indexers{podIPIndex: byPodIP}))
	n.pods = pods.GetIndexer()
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
	target := net.JoinHostPort(lo.String(), fmt.Sprint(port))
	// KWOK marks a pod Ready the moment it has an address, before its server here listens; a
	// kubelet would mark it Ready only once its readiness probe is answered. So a connection
	// to a live pod whose server has not started (its start under way, or its event not yet
	// handled) waits for it, at most 10 s, as one would not have been sent before. A gone
	// pod's address has no live pod: it is refused below.
	waited, pending := n.awaitServer(addr, n.startWait)
	if pending != "" {
		n.note(pending, "%s: pod address %s: the pod's server had not started after %s", target, addr, waited.Round(time.Millisecond))
	}
	pod, err := net.DialTimeout("tcp", target, 2*time.Second)
	if err != nil {
		last := n.lastPod(target)
		owner := last
		if pending != "" {
			owner = pending
		}
		if last == "" {
			last = "no pod ever"
		}
		n.note(owner, "%s refused (%s:%d; last served there: %s): %v", target, addr, port, last, err)
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
	begun := n.begun[string(p.UID)]
	n.begun[string(p.UID)] = true
	n.mu.Unlock()
	if begun {
		return
	}
	// The informer hands events to its handler one at a time: the server starts on a
	// goroutine of its own, so that one slow start (its ConfigMaps read from a loaded API
	// server) holds up no other pod's.
	go n.start(p, lo)
}

// start reads the pod's site and listens at its loopback address.
func (n *podNetwork) start(p *corev1.Pod, lo netip.Addr) {
	site, err := readPodSite(context.Background(), n.client, p)
	if err != nil || site == nil { // an error, or no httpd in this pod
		n.mu.Lock()
		n.noSite[string(p.UID)] = true
		n.mu.Unlock()
		if err != nil {
			n.fail("pod %s/%s: %v", p.Namespace, p.Name, err)
		}
		return
	}
	n.serve(p, lo, site)
}

// serve listens at the pod's loopback address with its site.
func (n *podNetwork) serve(p *corev1.Pod, lo netip.Addr, site *podSite) {
	listen := net.JoinHostPort(lo.String(), fmt.Sprint(site.port))
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, running := n.servers[string(p.UID)]; running {
		return
	}
	// KWOK hands a deleted pod's address to the next pod on the node at once; the old pod's
	// server may still be in its preStop pause there. The new pod has the address now.
	pod := p.Namespace + "/" + p.Name
	for uid, s := range n.servers {
		if s.addr == listen {
			_ = s.l.Close() // closed here, not only by srv, whose Serve may not have begun
			_ = s.srv.Close()
			delete(n.servers, uid)
			n.noteLocked(s.pod, "%s: server closed, its address taken by %s", listen, pod)
		}
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		n.noSite[string(p.UID)] = true
		n.errs = append(n.errs, fmt.Sprintf("pod %s: listening at %s: %v", pod, listen, err))
		return
	}
	srv := &http.Server{Handler: site, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	n.servers[string(p.UID)] = &podServer{pod: pod, addr: listen, l: l, srv: srv}
	n.lastAt[listen] = pod
	n.noteLocked(pod, "%s: listening (pod address %s)", listen, p.Status.PodIP)
	if !n.live(p) {
		n.goingLocked(p) // deleted while its server was starting
	}
}

// awaitServer waits until every live pod at addr has its server, at most limit; it says how
// long it waited, and names the pod still without one when the wait ran out.
func (n *podNetwork) awaitServer(addr netip.Addr, limit time.Duration) (time.Duration, string) {
	begin := time.Now()
	for {
		pending := n.unstarted(addr)
		if pending == "" || time.Since(begin) >= limit {
			return time.Since(begin), pending
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// live says whether the informer's store holds the pod, not being deleted. The store is
// updated before the handlers hear of a change.
func (n *podNetwork) live(p *corev1.Pod) bool {
	o, ok, err := n.pods.GetByKey(p.Namespace + "/" + p.Name)
	if err != nil || !ok {
		return false
	}
	cur := o.(*corev1.Pod)
	return cur.UID == p.UID && cur.DeletionTimestamp == nil
}

// unstarted names a live pod at addr that has no server yet (its start under way, or its
// event not handled yet), or says "".
func (n *podNetwork) unstarted(addr netip.Addr) string {
	objs, err := n.pods.ByIndex(podIPIndex, addr.String())
	if err != nil {
		return ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, o := range objs {
		p := o.(*corev1.Pod)
		if _, running := n.servers[string(p.UID)]; !running && !n.noSite[string(p.UID)] {
			return p.Namespace + "/" + p.Name
		}
	}
	return ""
}

const podIPIndex = "podIP"

// going stops the pod's server after its preStop pause.
func (n *podNetwork) going(p *corev1.Pod) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.goingLocked(p)
}

func (n *podNetwork) goingLocked(p *corev1.Pod) {
	s, ok := n.servers[string(p.UID)]
	if !ok || s.stopping {
		return
	}
	s.stopping = true
	pause := preStopPause(p)
	n.noteLocked(s.pod, "%s: pod going, server stops after its preStop pause of %s", s.addr, pause)
	time.AfterFunc(pause, func() {
		// The address is free once the server leaves the map: the next pod KWOK gives it to
		// may listen there at once (seen), while this server still finishes its requests.
		n.mu.Lock()
		if n.servers[string(p.UID)] == s {
			delete(n.servers, string(p.UID))
			_ = s.l.Close()
			n.noteLocked(s.pod, "%s: server stopped, preStop pause over", s.addr)
		}
		n.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
	})
}

func (n *podNetwork) note(pod, format string, args ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.noteLocked(pod, format, args...)
}

func (n *podNetwork) noteLocked(pod, format string, args ...any) {
	n.journal = append(n.journal, happening{at: time.Now(), pod: pod, text: fmt.Sprintf(format, args...)})
}

func (n *podNetwork) lastPod(hostPort string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lastAt[hostPort]
}

// story tells what happened from `from` to `to` to the pods of the namespaces starting with
// prefix, and every connection to an address no pod was ever known at; each line timed from
// `from`.
func (n *podNetwork) story(prefix string, from, to time.Time) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []string
	for _, h := range n.journal {
		if h.at.Before(from) || h.at.After(to) || (h.pod != "" && !strings.HasPrefix(h.pod, prefix)) {
			continue
		}
		pod := h.pod
		if pod == "" {
			pod = "(no pod)"
		}
		out = append(out, fmt.Sprintf("+%s %s %s", h.at.Sub(from).Round(time.Millisecond), pod, h.text))
	}
	return out
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

// The pod network a drain is judged through: a request to a pod whose server listens is
// carried to it; one to an address no live pod has is refused at once (Traefik's 502, which
// fails a drain); one to a live pod whose server has not started yet waits for it, and is
// refused if it never starts; and each refusal is in the story a failed request is told with.
func TestPodNetworkCarriesWaitsAndRefuses(t *testing.T) {
	n := newPodNetwork(nil)
	n.startWait = time.Second
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{podIPIndex: byPodIP})
	n.pods = indexer
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go n.serveSOCKS(l)
	proxy, err := url.Parse("socks5://" + l.Addr().String())
	require.NoError(t, err)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxy), DisableKeepAlives: true}}
	t.Cleanup(func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, s := range n.servers {
			_ = s.srv.Close()
		}
	})

	pod := func(name, ip string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "cp-unit-web", Name: name, UID: types.UID(name + "-uid")},
			Status: corev1.PodStatus{PodIP: ip}}
	}
	site := func(app string) *podSite {
		return &podSite{port: 8080, root: "/srv", index: "index.html", headers: map[string]string{},
			files: map[string]string{"/srv/index.html": app}}
	}
	get := func(ip string) (string, time.Duration, error) {
		begin := time.Now()
		resp, err := client.Get("http://" + ip + ":8080/")
		if err != nil {
			return "", time.Since(begin), err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return string(body), time.Since(begin), err
	}
	loopback := func(ip string) netip.Addr {
		lo, ok := kubeapi.PodAddressOnLoopback(netip.MustParseAddr(ip))
		require.True(t, ok)
		return lo
	}
	begin := time.Now()

	// Served.
	a := pod("a", "10.255.250.9")
	require.NoError(t, indexer.Add(a))
	n.serve(a, loopback(a.Status.PodIP), site("page a"))
	body, _, err := get(a.Status.PodIP)
	require.NoError(t, err)
	assert.Equal(t, "page a", body)

	// No live pod at the address: refused at once.
	_, took, err := get("10.255.250.10")
	require.Error(t, err, "a connection to an address no pod has is refused")
	assert.Less(t, took, n.startWait, "and at once, not after waiting for a server")

	// A live pod whose event the network has not handled yet: the connection waits for it.
	b := pod("b", "10.255.250.11")
	require.NoError(t, indexer.Add(b))
	time.AfterFunc(300*time.Millisecond, func() { n.serve(b, loopback(b.Status.PodIP), site("page b")) })
	body, took, err = get(b.Status.PodIP)
	require.NoError(t, err, "a connection to a live pod waits for its server")
	assert.Equal(t, "page b", body)
	assert.GreaterOrEqual(t, took, 300*time.Millisecond)

	// A live pod whose server never starts: refused once the wait is over.
	c := pod("c", "10.255.250.12")
	require.NoError(t, indexer.Add(c))
	_, took, err = get(c.Status.PodIP)
	require.Error(t, err)
	assert.GreaterOrEqual(t, took, n.startWait)

	// A pod gone (deleted, its server stopped): refused at once, though it was served before.
	require.NoError(t, indexer.Delete(a))
	n.mu.Lock()
	s := n.servers[string(a.UID)]
	delete(n.servers, string(a.UID))
	_ = s.l.Close()
	_ = s.srv.Close()
	n.mu.Unlock()
	_, took, err = get(a.Status.PodIP)
	require.Error(t, err)
	assert.Less(t, took, n.startWait)

	story := strings.Join(n.story("cp-unit-", begin, time.Now()), "\n")
	t.Log(story)
	assert.Regexp(t, `\(no pod\) 127\.255\.250\.10:8080 refused \(10\.255\.250\.10:8080; last served there: no pod ever\)`, story)
	assert.Contains(t, story, "cp-unit-web/c 127.255.250.12:8080: pod address 10.255.250.12: the pod's server had not started after")
	assert.Contains(t, story, "cp-unit-web/a 127.255.250.9:8080 refused (10.255.250.9:8080; last served there: cp-unit-web/a)")
	assert.Contains(t, story, "cp-unit-web/b 127.255.250.11:8080: listening")
	for _, line := range n.story("cp-other-", begin, time.Now()) {
		assert.Contains(t, line, "(no pod)", "another stack's story holds only what no pod is known for")
	}
}
