package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/offline/plan"
)

// Forwarded headers on the real Traefik: the program's entry points (its chart values, its
// trustedIPs) with the access log on, reached from the addresses the cluster gives a pod, a node
// and the load balancer. Those are the stack's own planned addresses moved onto loopback
// (onLoopback keeps every bit but the first octet), so what Traefik decides about 127.0.0.10 is
// what it decides about the pod at 10.0.0.10. A forged X-Forwarded-For from a pod or a node must
// be dropped (the access log's ClientHost is the connection's address, and the app behind sees
// that address); from the load balancer it is believed.
func TestTraefikTrustsForwardedHeadersOnlyFromTheLoadBalancer(t *testing.T) {
	platform := stack(t, "platform")
	cases := []struct {
		name  string
		stack plan.Stack
		// believed: a forwarded header from the load balancer's address is believed.
		believed bool
	}{
		// ALB on EKS: pods and nodes in the private subnets, the ALB's nodes in the public ones.
		{"alb on eks", platform, true},
		// Classic ELB on k3s: pods in flannel's network, nodes in the private subnets.
		{"classic on k3s", stack(t, "k3s"), true},
		// NLB: it writes no header; the pods see the client's own address, so nothing is trusted,
		// not even an address of the public subnets.
		{"nlb on eks", with(platform, map[string]string{"loadBalancer": "nlb"}), false},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			res := run(t, c.stack)
			public, private := subnetCidrs(t, res)
			require.NotEmpty(t, public)
			require.NotEmpty(t, private)
			lb := onLoopbackAddr(t, hostIn(t, public[0], 10))
			node := onLoopbackAddr(t, hostIn(t, private[0], 20))
			pod := onLoopbackAddr(t, hostIn(t, private[0], 10)) // EKS: the VPC CNI's address
			if c.stack.Name == "k3s" {
				pod = onLoopbackAddr(t, hostIn(t, cluster.K3sPodCidr, 2*256+10))
			}
			values := object(t, controllerRelease(t, res).In("values"))
			trusted := trustedIPs(t, values)
			// Checked, not required: Traefik's own verdict below is the test.
			if c.believed {
				assert.ElementsMatch(t, public, trusted["websecure"], "Traefik trusts the public subnets")
				assert.Equal(t, trusted["websecure"], trusted["web"])
			} else {
				assert.Empty(t, trusted["web"])
				assert.Empty(t, trusted["websecure"])
			}

			tr := startForwardingTraefik(t, values)
			forged := http.Header{
				"X-Forwarded-For":             {"203.0.113.66"},
				"X-Forwarded-Proto":           {"https"},
				"X-Forwarded-Host":            {"admin.example.com"},
				"X-Forwarded-Tls-Client-Cert": {"forged"},
			}
			for _, ep := range []string{"websecure", "web"} {
				for _, from := range []struct {
					who  string
					addr netip.Addr
				}{{"pod", pod}, {"node", node}} {
					path := fmt.Sprintf("/forged-from-%s-%s", from.who, ep)
					tr.send(t, ep, from.addr, path, forged)
					entry := tr.accessLog(t, path)
					t.Logf("%s, forged X-Forwarded-For from the %s at %s: %s", ep, from.who, from.addr, entry.raw)
					assert.Equal(t, from.addr.String(), entry.ClientHost, "the access log records the real source")
					assert.Empty(t, entry.ForwardedFor, "the forged X-Forwarded-For is dropped")
					if ep == "websecure" {
						seen := tr.app.seen(t, path)
						assert.Equal(t, from.addr.String(), seen.Get("X-Forwarded-For"), "the app sees the real source")
						assert.Equal(t, "http", seen.Get("X-Forwarded-Proto"), "the forged scheme is dropped")
						assert.NotEqual(t, "admin.example.com", seen.Get("X-Forwarded-Host"), "the forged host is dropped")
						assert.Empty(t, seen.Get("X-Forwarded-Tls-Client-Cert"), "the forged client certificate is dropped")
					}
				}
			}

			// The load balancer's own request: what an ALB or classic ELB writes is believed.
			path := "/from-the-load-balancer"
			tr.send(t, "websecure", lb, path, forged)
			entry := tr.accessLog(t, path)
			t.Logf("websecure, X-Forwarded-For from the load balancer at %s: %s", lb, entry.raw)
			seen := tr.app.seen(t, path)
			if c.believed {
				assert.Equal(t, "203.0.113.66", entry.ClientHost, "the client the load balancer names")
				assert.Equal(t, "203.0.113.66", entry.ForwardedFor)
				assert.Equal(t, "203.0.113.66, "+lb.String(), seen.Get("X-Forwarded-For"))
				assert.Equal(t, "https", seen.Get("X-Forwarded-Proto"), "the scheme the load balancer saw")
			} else {
				assert.Equal(t, lb.String(), entry.ClientHost, "nothing is believed behind an NLB")
				assert.Equal(t, lb.String(), seen.Get("X-Forwarded-For"))
			}
		})
	}
}

// subnetCidrs are the recorded subnets' CIDRs: public (mapPublicIpOnLaunch) and private.
func subnetCidrs(t *testing.T, res *plan.Result) (public, private []string) {
	t.Helper()
	for _, s := range res.OfType("aws:ec2/subnet:Subnet") {
		if s.In("mapPublicIpOnLaunch") == true {
			public = append(public, text(t, s.In("cidrBlock")))
		} else {
			private = append(private, text(t, s.In("cidrBlock")))
		}
	}
	return public, private
}

// trustedIPs are each entry point's forwardedHeaders.trustedIPs in the chart values.
func trustedIPs(t *testing.T, values map[string]any) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, ep := range object(t, values["ports"]) {
		ips, _ := get(ep, "forwardedHeaders", "trustedIPs").([]any)
		for _, ip := range ips {
			out[name] = append(out[name], text(t, ip))
		}
	}
	return out
}

// hostIn is the n-th address of a CIDR.
func hostIn(t *testing.T, cidr string, n int) netip.Addr {
	t.Helper()
	p := netip.MustParsePrefix(cidr)
	a := p.Addr()
	for range n {
		a = a.Next()
	}
	require.True(t, p.Contains(a), "%s is in %s", a, cidr)
	return a
}

// tenNet is where every stack's VPC and k3s's pod network lie.
var tenNet = netip.MustParsePrefix("10.0.0.0/8")

// onLoopback moves a prefix of 10.0.0.0/8 onto 127.0.0.0/8, keeping every other bit, so that
// which address lies in which range is unchanged and every address is one a test may use. A
// prefix that is not inside 10.0.0.0/8 is kept: 0.0.0.0/0, trusting everyone, still covers
// every loopback address, as it would every pod.
func onLoopback(t *testing.T, p netip.Prefix) netip.Prefix {
	t.Helper()
	if p.Bits() < tenNet.Bits() || !tenNet.Contains(p.Addr()) {
		return p
	}
	return netip.PrefixFrom(onLoopbackAddr(t, p.Addr()), p.Bits())
}

func onLoopbackAddr(t *testing.T, a netip.Addr) netip.Addr {
	t.Helper()
	require.True(t, tenNet.Contains(a), "%s is in 10.0.0.0/8", a)
	b := a.As4()
	b[0] = 127
	return netip.AddrFrom4(b)
}

// forwardingTraefik is the real Traefik with the program's entry points (trustedIPs moved onto
// loopback), a JSON access log, and a file-provider route from any host to a small app.
type forwardingTraefik struct {
	ports map[string]int
	log   string
	app   *headerApp
}

func startForwardingTraefik(t *testing.T, values map[string]any) *forwardingTraefik {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join(root, ".tools", "bin", "traefik"))
	require.NoError(t, err)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no Traefik at %s: run scripts/install-traefik.sh", bin)
	}
	app := startHeaderApp(t)
	dir := t.TempDir()
	dynamic := filepath.Join(dir, "dynamic.yaml")
	require.NoError(t, os.WriteFile(dynamic, fmt.Appendf(nil, `http:
  routers:
    app:
      rule: PathPrefix("/")
      service: app
  services:
    app:
      loadBalancer:
        servers:
          - url: http://%s
`, app.addr), 0o600))

	// The program's values with each trusted CIDR moved onto loopback as the addresses are.
	moved := map[string]any{}
	for k, v := range values {
		moved[k] = v
	}
	entryPoints := map[string]any{}
	for name, ep := range object(t, values["ports"]) {
		copied := map[string]any{}
		for k, v := range object(t, ep) {
			copied[k] = v
		}
		if ips, ok := get(ep, "forwardedHeaders", "trustedIPs").([]any); ok {
			var onLo []any
			for _, ip := range ips {
				onLo = append(onLo, onLoopback(t, netip.MustParsePrefix(text(t, ip))).String())
			}
			copied["forwardedHeaders"] = map[string]any{"trustedIPs": onLo}
		}
		entryPoints[name] = copied
	}
	moved["ports"] = entryPoints

	ports := map[string]int{"web": freePort(t), "websecure": freePort(t), "traefik": freePort(t)}
	logPath := filepath.Join(dir, "access.log")
	args := append(entryPointArgs(t, moved, "127.0.0.1", ports),
		"--providers.file.filename="+dynamic,
		"--accesslog=true", "--accesslog.format=json", "--accesslog.filepath="+logPath,
		// The web entry point's redirection to HTTPS is an internal router, logged only so.
		"--accesslog.addInternals=true",
		"--accesslog.fields.headers.defaultmode=drop",
		"--accesslog.fields.headers.names.X-Forwarded-For=keep",
		"--log.level=INFO",
	)
	t.Logf("traefik %s", strings.Join(args, " "))
	runTraefik(t, bin, dir, args)
	tr := &forwardingTraefik{ports: ports, log: logPath, app: app}
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ready", ports["websecure"]))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 200*time.Millisecond, "Traefik never routed to the app")
	return tr
}

// send makes one request to an entry point from a loopback source address.
func (tr *forwardingTraefik) send(t *testing.T, entryPoint string, from netip.Addr, path string, header http.Header) {
	t.Helper()
	require.True(t, from.IsLoopback(), "only loopback addresses carry test traffic: %s", from)
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: from.AsSlice()}, Timeout: 5 * time.Second}
	client := &http.Client{
		Transport:     &http.Transport{DialContext: dialer.DialContext, DisableKeepAlives: true},
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", tr.ports[entryPoint], path), nil)
	require.NoError(t, err)
	req.Host = "app.platform.example.com"
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
}

// accessEntry is one line of Traefik's JSON access log.
type accessEntry struct {
	ClientHost   string `json:"ClientHost"`
	ClientAddr   string `json:"ClientAddr"`
	RequestPath  string `json:"RequestPath"`
	ForwardedFor string `json:"request_X-Forwarded-For"`
	raw          string
}

// accessLog waits for the access log's line of a request path.
func (tr *forwardingTraefik) accessLog(t *testing.T, path string) accessEntry {
	t.Helper()
	var found *accessEntry
	require.Eventually(t, func() bool {
		f, err := os.Open(tr.log)
		if err != nil {
			return false
		}
		defer f.Close()
		scanner := bufio.NewScanner(f)
		for scanner.Scan() {
			var e accessEntry
			if json.Unmarshal(scanner.Bytes(), &e) == nil && e.RequestPath == path {
				e.raw = scanner.Text()
				found = &e
				return true
			}
		}
		return false
	}, 10*time.Second, 100*time.Millisecond, "no access log line for %s", path)
	return *found
}

// headerApp stands for an app behind Traefik: it records the headers of each request by path.
type headerApp struct {
	addr string
	mu   sync.Mutex
	got  map[string]http.Header
}

func startHeaderApp(t *testing.T) *headerApp {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	app := &headerApp{addr: l.Addr().String(), got: map[string]http.Header{}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app.mu.Lock()
		app.got[r.URL.Path] = r.Header.Clone()
		app.mu.Unlock()
		fmt.Fprintln(w, "ok")
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return app
}

func (a *headerApp) seen(t *testing.T, path string) http.Header {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	h, ok := a.got[path]
	require.True(t, ok, "the app got no request for %s", path)
	return h
}
