package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	appspkg "github.com/outside-in/outside-in/apps"
	"github.com/outside-in/outside-in/offline/kubeapi"
	"github.com/outside-in/outside-in/offline/plan"
)

// Real requests through the real Traefik to pods that answer (DESIGN.md, verification layer
// 11): a stack's Traefik (its chart values; an environment's platform's), reading only the
// stack's namespaces, reaches the stack's pods through the pod network (podnetwork_test.go),
// where each app pod's httpd serves what its ConfigMap holds.

// route is one host a stack serves and the app behind it.
type route struct {
	host, app, healthPath string
}

// servedRoutes are the stack's hosts, from its Ingresses (already isolated), each with the app
// its rule's backend Service names and the health path of that app's readiness probe.
func servedRoutes(t *testing.T, objs []map[string]any) []route {
	t.Helper()
	health := map[string]string{} // namespace/deployment
	for _, o := range objs {
		if o["kind"] == "Deployment" {
			if p, ok := get(o, "spec", "template", "spec", "containers", 0, "readinessProbe", "httpGet", "path").(string); ok {
				health[ns(o)+"/"+nameOf(o)] = p
			}
		}
	}
	var routes []route
	add := func(o map[string]any, host, app string) {
		hp, ok := health[ns(o)+"/"+app]
		require.True(t, ok, "%s %s/%s: no Deployment %s with a readiness probe", o["kind"], ns(o), nameOf(o), app)
		routes = append(routes, route{host: host, app: app, healthPath: hp})
	}
	for _, o := range objs {
		switch o["kind"] {
		case "Ingress":
			for _, r := range list(t, get(o, "spec", "rules")) {
				add(o, text(t, get(r, "host")), text(t, get(r, "http", "paths", 0, "backend", "service", "name")))
			}
		case "HTTPRoute":
			for _, h := range list(t, get(o, "spec", "hostnames")) {
				add(o, text(t, h), text(t, get(o, "spec", "rules", 0, "backendRefs", 0, "name")))
			}
		}
	}
	sort.Slice(routes, func(i, j int) bool { return routes[i].host < routes[j].host })
	return routes
}

// stackTraefik starts the Traefik that serves a stack on the shared control plane: the stack's
// controller values, or its platform's for an environment; none when neither has a controller.
// It also says at which entry point the load balancer's requests arrive (servingEntry).
func stackTraefik(t *testing.T, cp *kubeapi.ControlPlane, network *podNetwork, res *plan.Result, s plan.Stack, namespaces []string, name string) (*traefik, string) {
	t.Helper()
	values := controllerValuesOf(t, res)
	if values == nil {
		if p := platformOf(t, s); p != nil {
			values = controllerValuesOf(t, p)
		}
	}
	if values == nil {
		return nil, ""
	}
	tr := startTraefikWith(t, cp, values, traefikOptions{name: name, namespace: namespaces[0], namespaces: namespaces, podNetwork: network.URL})
	return tr, servingEntry(values)
}

// servingEntry is the entry point of the controller's values at which the load balancer's
// requests arrive: websecure (decrypted) when web only redirects to HTTPS, web otherwise.
func servingEntry(values map[string]any) string {
	if get(values, "ports", "web", "http", "redirections", "entryPoint", "to") != nil {
		return "websecure"
	}
	return "web"
}

func controllerValuesOf(t *testing.T, res *plan.Result) map[string]any {
	for _, r := range res.OfType("kubernetes:helm.sh/v3:Release") {
		if strings.Contains(r.Name, "ingress-controller") {
			return object(t, r.In("values"))
		}
	}
	return nil
}

// answer is one request sent to Traefik and what came back.
type answer struct {
	at           time.Time
	host, path   string
	status       int
	body         string
	err          error
	took         time.Duration
	wantApp      string // "" for a host no app serves
	servedByPage bool   // the body is the app's own page
}

func (a answer) ok() bool {
	if a.wantApp == "" {
		return a.err == nil && a.status == http.StatusNotFound
	}
	return a.err == nil && a.status == http.StatusOK && a.servedByPage
}

func (a answer) String() string {
	if a.err != nil {
		return fmt.Sprintf("GET http://%s%s -> error %v (%s)", a.host, a.path, a.err, a.took.Round(time.Millisecond))
	}
	what := fmt.Sprintf("%q", firstLine(a.body))
	if a.servedByPage {
		what = "the page of app " + a.wantApp
	}
	return fmt.Sprintf("GET http://%s%s -> %d %s (%s)", a.host, a.path, a.status, what, a.took.Round(time.Millisecond))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

var plainClient = &http.Client{
	Timeout:       5 * time.Second,
	Transport:     &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// send makes one request to the entry point with the Host header of host.
func (tr *traefik) send(entry, host, path, wantApp string) answer {
	a := answer{at: time.Now(), host: host, path: path, wantApp: wantApp}
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s:%d%s", tr.host, tr.ports[entry], path), nil)
	if err != nil {
		a.err = err
		return a
	}
	req.Host = host
	resp, err := plainClient.Do(req)
	a.took = time.Since(a.at)
	if err != nil {
		a.err = err
		return a
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	a.status, a.body, a.err = resp.StatusCode, string(body), err
	a.servedByPage = wantApp != "" && a.body == appspkg.IndexPage(wantApp)
	return a
}

// assertServed: each host answers 200 with its app's page at / and at the app's health path,
// and a host no app has answers 404. Traefik routes a host moments after the pods are Ready
// (it reads the endpoints, then applies its configuration); a host is retried until then, and
// the retries are counted in the log.
func assertServed(t *testing.T, stack string, tr *traefik, entry string, routes []route, unknown string) {
	t.Helper()
	for _, r := range routes {
		for _, p := range dedupe("/", r.healthPath) {
			var last answer
			tries := 0
			ok := assert.Eventually(t, func() bool {
				tries++
				last = tr.send(entry, r.host, p, r.app)
				return last.ok()
			}, 30*time.Second, 100*time.Millisecond, "%s: %s", entry, last)
			t.Logf("request %s %s: %s%s", stack, entry, last, retried(tries))
			if !ok {
				t.Errorf("%s%s never answered with app %s's page: %s\n%s", r.host, p, r.app, last.body, traefikLogTail(tr))
			}
		}
	}
	a := tr.send(entry, unknown, "/", "")
	t.Logf("request %s %s: %s", stack, entry, a)
	assert.True(t, a.ok(), "a host no app serves gets 404: %s", a)
}

func retried(tries int) string {
	if tries > 1 {
		return fmt.Sprintf(" [after %d earlier tries while Traefik picked up the route]", tries-1)
	}
	return ""
}

func dedupe(paths ...string) []string {
	var out []string
	for _, p := range paths {
		if len(out) == 0 || out[len(out)-1] != p {
			out = append(out, p)
		}
	}
	return out
}

// balancer plays the load balancer in front of a stack's Traefik pods: it sends each request to
// the next of the pods it has registered. A rollout registers the new pod once it is Ready and
// deregisters the old one before the old one stops.
type balancer struct {
	mu      sync.Mutex
	entry   string
	targets []*traefik
	next    int
	// story, when set, tells what the pod network saw of the stack's pods between two
	// moments: a failed request is told with it.
	story func(from, to time.Time) []string
}

func newBalancer(entry string, targets ...*traefik) *balancer {
	return &balancer{entry: entry, targets: targets}
}

func (b *balancer) send(host, path, wantApp string) answer {
	b.mu.Lock()
	tr := b.targets[b.next%len(b.targets)]
	b.next++
	b.mu.Unlock()
	return tr.send(b.entry, host, path, wantApp)
}

// register and deregister change the pods the balancer sends to.
func (b *balancer) register(tr *traefik) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.targets = append(b.targets, tr)
}

func (b *balancer) deregister(tr *traefik) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.targets = slices.DeleteFunc(b.targets, func(x *traefik) bool { return x == tr })
}

// prober sends a request every 100 ms, to each host of the stack in turn, until stopped.
type prober struct {
	lb      *balancer
	stop    chan struct{}
	done    sync.WaitGroup
	answers []answer
}

func startProber(lb *balancer, routes []route) *prober {
	p := &prober{lb: lb, stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			r := routes[i%len(routes)]
			p.answers = append(p.answers, lb.send(r.host, "/", r.app))
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// finish stops the prober and logs every request it sent; it returns how many there were and
// how many failed.
func (p *prober) finish(t *testing.T, stack, entry, during string) (sent, failed int) {
	t.Helper()
	close(p.stop)
	p.done.Wait()
	begin := p.answers[0].at
	for _, a := range p.answers {
		mark := ""
		if !a.ok() {
			failed++
			mark = " FAILED"
		}
		t.Logf("request %s %s during %s at +%s: %s%s", stack, entry, during, a.at.Sub(begin).Round(time.Millisecond), a, mark)
	}
	if failed > 0 && p.lb.story != nil {
		// What the pods did meanwhile, for why (a refused connection is Traefik's 502).
		last := p.answers[len(p.answers)-1]
		for _, line := range p.lb.story(begin, last.at.Add(last.took+time.Second)) {
			t.Logf("pod network, %s %s: %s", stack, during, line)
		}
	}
	return len(p.answers), failed
}

func traefikLogTail(tr *traefik) string {
	data, err := os.ReadFile(tr.log)
	if err != nil {
		return err.Error()
	}
	return "traefik log:\n" + tail(string(data), 20)
}

// waitCaughtUp waits until Traefik sends to exactly the ready endpoints of the routes' Services. KWOK hands a deleted pod's address to the next pod on its node at once, where a
// real node keeps it until the pod's containers have stopped (after the preStop pause), by
// when every controller has let go of it; so right after a rollout, an address Traefik still
// has for one app may already be another app's new pod. The drain's requests start once
// Traefik has caught up, so that they judge the drain, not that shortcut of KWOK's.
func waitCaughtUp(t *testing.T, tr *traefik, c kubernetes.Interface, namespaces []string, routes []route) {
	t.Helper()
	routed := map[string]bool{}
	for _, r := range routes {
		routed[r.app] = true
	}
	var want, got []string
	caughtUp := func() bool {
		want, got = nil, nil
		for _, n := range namespaces {
			eps, err := c.DiscoveryV1().EndpointSlices(n).List(t.Context(), metav1.ListOptions{})
			if err != nil {
				return false
			}
			for _, s := range eps.Items {
				if !routed[s.Labels["kubernetes.io/service-name"]] {
					continue
				}
				for _, e := range s.Endpoints {
					for _, p := range s.Ports {
						if p.Port != nil && (e.Conditions.Ready == nil || *e.Conditions.Ready) {
							want = append(want, fmt.Sprintf("http://%s:%d", e.Addresses[0], *p.Port))
						}
					}
				}
			}
		}
		resp, err := http.Get(tr.api + "/api/http/services")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var services []struct {
			Provider     string
			LoadBalancer struct{ Servers []struct{ URL string } }
		}
		if json.NewDecoder(resp.Body).Decode(&services) != nil {
			return false
		}
		for _, s := range services {
			for _, srv := range s.LoadBalancer.Servers {
				if s.Provider == "kubernetes" || s.Provider == "kubernetesgateway" {
					got = append(got, srv.URL)
				}
			}
		}
		sort.Strings(want)
		sort.Strings(got)
		return len(want) > 0 && slices.Equal(want, got)
	}
	if !assert.Eventually(t, caughtUp, 30*time.Second, 100*time.Millisecond, "Traefik catches up with the endpoints") {
		t.Fatalf("Traefik sends to %v, the endpoints are %v", got, want)
	}
}
