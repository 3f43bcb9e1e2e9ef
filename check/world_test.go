package check_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/outside-in/outside-in/apps"
	"github.com/outside-in/outside-in/check"
	"github.com/outside-in/outside-in/offline/kubeapi"
	"github.com/outside-in/outside-in/offline/plan"
)

// The addresses the test DNS answers for the load balancer and, through the alias, each host.
var lbAddrs = []string{"198.51.100.7", "198.51.100.8"}

// world is a deployed stack made of real servers: its AWS resources in moto, its Kubernetes
// objects in a real kube-apiserver (with the status controllers would write), a DNS server that
// answers for the zone, and an HTTPS server standing in for the load balancer and what is
// behind it.
type world struct {
	t       *testing.T
	aws     aws.Config
	seeded  *seeded
	kube    kubernetes.Interface
	dyn     dynamic.Interface
	dns     *dnsServer
	ca      *testCA
	web     *webServer
	opts    check.Options
	outputs map[string]any
	// controllerNS is the controller's namespace in this world; nodes are this world's Nodes.
	controllerNS string
	nodes        []string
	// objects are the plan's Kubernetes objects as applied, by namespace/name of kind.
	objects map[string]*unstructured.Unstructured
}

// repoRoot is the repository's root, one above this package.
func repoRoot() string { p, _ := filepath.Abs(".."); return p }

func runPlan(t *testing.T, stack string, platform *plan.Result) *plan.Result {
	t.Helper()
	return runPlanAs(t, stack, stack, platform, nil)
}

// runPlanAs plans the stack file of stack under another stack name (the names of what the
// seeder makes in moto derive from it), with keys of config set over the file's.
func runPlanAs(t *testing.T, stack, name string, platform *plan.Result, config map[string]string) *plan.Result {
	t.Helper()
	s, err := plan.LoadStackNamed(filepath.Join(repoRoot(), "Pulumi.yaml"), filepath.Join(repoRoot(), "Pulumi."+stack+".yaml"), name)
	if err != nil {
		t.Fatalf("loading stack %s: %v", stack, err)
	}
	for k, v := range config {
		s.Config[k] = v
	}
	res, err := plan.Run(s, plan.Options{Platform: platform})
	if err != nil {
		t.Fatalf("offline plan of %s: %v", stack, err)
	}
	return res
}

// newWorld deploys the planned stack: AWS into moto, Kubernetes objects into the API server.
// prefix renames the controller's namespace and the nodes, so that two worlds share one API
// server without seeing each other's controller.
func newWorld(t *testing.T, res *plan.Result, prefix string) *world {
	t.Helper()
	ctx := t.Context()
	region := res.Stack.Region()
	w := &world{t: t, aws: startMoto(t, region), ca: newCA(t), dns: startDNS(t), controllerNS: prefix + "traefik"}
	w.seeded = seed(t, ctx, w.aws, res, w.ca)
	srv := kubeapi.Start(t)
	w.kube = srv.Clientset()
	w.dyn = dynamic.NewForConfigOrDie(srv.Config())
	w.outputs = w.seeded.outputs(res)
	w.outputs["kubeconfig"] = kubeconfigOf(t, srv)
	if prefix != "" {
		w.outputs["controllerNamespace"] = w.controllerNS
	}
	for _, n := range w.seeded.nodes {
		w.nodes = append(w.nodes, prefix+n.dns)
		w.createNode(ctx, prefix+n.dns, n)
	}
	w.deployObjects(ctx, res)
	// The entry Service's fixed node ports are the API server's to allocate once: free them for
	// the next world of this test binary.
	t.Cleanup(func() {
		err := w.kube.CoreV1().Services(w.controllerNS).Delete(context.Background(), "traefik-entry", metav1.DeleteOptions{})
		if err != nil {
			t.Errorf("deleting the entry Service of this world: %v", err)
		}
	})
	// The controller runs one pod per node.
	w.setEndpoints(ctx, w.controllerNS, "traefik-entry", w.nodes, true)

	w.dns.setNS(w.seeded.zone, strList(w.outputs, "nameServers")...)
	w.dns.setA(w.seeded.lbDNS, lbAddrs...)
	w.web = startWeb(t, w.ca)
	w.opts = check.Options{AWS: &w.aws, Resolver: w.dns.Resolver(), Dial: w.web.dial, RootCAs: w.ca.pool}
	return w
}

// addHosts makes the DNS answer for the urls of outputs and the HTTPS server serve their apps.
func (w *world) addHosts(outputs map[string]any) {
	urls, _ := outputs["urls"].(map[string]any)
	for app, u := range urls {
		h := strings.TrimSuffix(strings.SplitN(u.(string), "://", 2)[1], "/")
		w.dns.setA(h, lbAddrs...)
		w.web.serve(h, app)
	}
}

// deployObjects applies every Kubernetes object of the plan, then writes what the controllers
// of a real cluster would: Ingress, Gateway and HTTPRoute status, ready endpoints, available
// Deployments, PDB status.
func (w *world) deployObjects(ctx context.Context, res *plan.Result) {
	t := w.t
	objs, err := res.KubernetesObjects()
	if err != nil {
		t.Fatalf("the plan's Kubernetes objects: %v", err)
	}
	srv := kubeapi.Start(t)
	for _, obj := range objs {
		u := &unstructured.Unstructured{Object: obj}
		if u.GetKind() == "Namespace" && u.GetName() == "traefik" {
			u.SetName(w.controllerNS)
		}
		if u.GetNamespace() == "traefik" {
			u.SetNamespace(w.controllerNS)
		}
		if u.GetKind() == "HTTPRoute" {
			w.renameParents(u)
		}
		if err := srv.Apply(ctx, u); err != nil {
			t.Fatalf("applying the plan's objects: %v", err)
		}
		if w.objects == nil {
			w.objects = map[string]*unstructured.Unstructured{}
		}
		w.objects[u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName()] = u.DeepCopy()
		switch u.GetKind() {
		case "Ingress":
			w.admitIngress(ctx, u.GetNamespace(), u.GetName())
		case "Gateway":
			w.programGateway(ctx, u.GetNamespace(), u.GetName())
		case "HTTPRoute":
			w.acceptRoute(ctx, u.GetNamespace(), u.GetName())
		case "Deployment":
			w.setAvailable(ctx, u.GetNamespace(), u.GetName(), true)
		case "PodDisruptionBudget":
			w.setDisruptions(ctx, u.GetNamespace(), u.GetName(), 1)
		case "Service":
			if u.GetName() != "traefik-entry" {
				w.setEndpoints(ctx, u.GetNamespace(), u.GetName(), w.nodes, true)
			}
		}
	}
}

func (w *world) createNode(ctx context.Context, name string, n node) {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"topology.kubernetes.io/zone": n.az}},
		Spec: corev1.NodeSpec{ProviderID: fmt.Sprintf("aws:///%s/%s", n.az, n.id)}}
	got, err := w.kube.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if err != nil {
		w.t.Fatalf("creating node %s: %v", name, err)
	}
	got.Status = corev1.NodeStatus{
		Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.ip}},
		Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "KubeletReady"}},
	}
	if _, err := w.kube.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		w.t.Fatalf("node %s status: %v", name, err)
	}
}

// setEndpoints writes the Service's EndpointSlice: one endpoint on each of nodes, ready or not.
func (w *world) setEndpoints(ctx context.Context, ns, service string, nodes []string, ready bool) {
	slices := w.kube.DiscoveryV1().EndpointSlices(ns)
	_ = slices.Delete(ctx, service+"-test", metav1.DeleteOptions{})
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: service + "-test", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i, n := range nodes {
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{fmt.Sprintf("10.0.%d.%d", 100+len(ns)%50, 10+i)}, NodeName: aws.String(n),
			Conditions: discoveryv1.EndpointConditions{Ready: aws.Bool(ready)},
		})
	}
	if _, err := slices.Create(ctx, sl, metav1.CreateOptions{}); err != nil {
		w.t.Fatalf("EndpointSlice of %s/%s: %v", ns, service, err)
	}
}

func (w *world) admitIngress(ctx context.Context, ns, name string) {
	ing, err := w.kube.NetworkingV1().Ingresses(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatalf("Ingress %s/%s: %v", ns, name, err)
	}
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: w.seeded.lbDNS}}
	if _, err := w.kube.NetworkingV1().Ingresses(ns).UpdateStatus(ctx, ing, metav1.UpdateOptions{}); err != nil {
		w.t.Fatalf("Ingress %s/%s status: %v", ns, name, err)
	}
}

func (w *world) setAvailable(ctx context.Context, ns, name string, available bool) {
	d, err := w.kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatalf("Deployment %s/%s: %v", ns, name, err)
	}
	n := *d.Spec.Replicas
	status := corev1.ConditionTrue
	if !available {
		n, status = 0, corev1.ConditionFalse
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: *d.Spec.Replicas, UpdatedReplicas: *d.Spec.Replicas,
		ReadyReplicas: n, AvailableReplicas: n, UnavailableReplicas: *d.Spec.Replicas - n,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: status, Reason: "MinimumReplicasAvailable"}}}
	if _, err := w.kube.AppsV1().Deployments(ns).UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		w.t.Fatalf("Deployment %s/%s status: %v", ns, name, err)
	}
}

func (w *world) setDisruptions(ctx context.Context, ns, name string, allowed int32) {
	p, err := w.kube.PolicyV1().PodDisruptionBudgets(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		w.t.Fatalf("PodDisruptionBudget %s/%s: %v", ns, name, err)
	}
	p.Status.ObservedGeneration, p.Status.DisruptionsAllowed = p.Generation, allowed
	p.Status.CurrentHealthy, p.Status.DesiredHealthy, p.Status.ExpectedPods = 2, 1, 2
	if _, err := w.kube.PolicyV1().PodDisruptionBudgets(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		w.t.Fatalf("PodDisruptionBudget %s/%s status: %v", ns, name, err)
	}
}

// upsertAlias points the zone's A record name at an alias target.
func (w *world) upsertAlias(ctx context.Context, name, dnsName, zoneID string) {
	r53 := route53.NewFromConfig(w.aws)
	_, err := r53.ChangeResourceRecordSets(ctx, &route53.ChangeResourceRecordSetsInput{HostedZoneId: aws.String(w.seeded.zoneID),
		ChangeBatch: &r53types.ChangeBatch{Changes: []r53types.Change{{Action: r53types.ChangeActionUpsert, ResourceRecordSet: &r53types.ResourceRecordSet{
			Name: aws.String(name), Type: r53types.RRTypeA,
			AliasTarget: &r53types.AliasTarget{DNSName: aws.String(dnsName), HostedZoneId: aws.String(zoneID), EvaluateTargetHealth: true}}}}}})
	if err != nil {
		w.t.Fatalf("alias %s → %s: %v", name, dnsName, err)
	}
}

// kubeconfigOf is a kubeconfig of the test API server, as the kubeconfig output would be.
func kubeconfigOf(t *testing.T, srv *kubeapi.Server) string {
	cfg := srv.Config()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["test"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "test"}
	kc.CurrentContext = "test"
	b, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// webServer stands in for the load balancer and everything behind it: it serves each host's app
// page over TLS with the test CA's certificates, or a status code of a fault.
type webServer struct {
	addr string
	mu   sync.Mutex
	apps map[string]string // host → app
	code int               // non-zero: answer this instead of the page
}

func startWeb(t *testing.T, ca *testCA) *webServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ws := &webServer{addr: l.Addr().String(), apps: map[string]string{}}
	srv := &http.Server{Handler: ws, TLSConfig: ca.serverConfig()}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	return ws
}

func (ws *webServer) serve(host, app string) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.apps[host] = app
}

func (ws *webServer) answer(code int) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.code = code
}

func (ws *webServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	ws.mu.Lock()
	app, ok := ws.apps[strings.ToLower(r.Host)]
	code := ws.code
	ws.mu.Unlock()
	switch {
	case code != 0:
		http.Error(rw, "no available server", code) // what Traefik answers without a ready server
	case !ok:
		http.NotFound(rw, r)
	default:
		_, _ = fmt.Fprint(rw, apps.IndexPage(app))
	}
}

// dial connects every address (the load balancer's name) to the server.
func (ws *webServer) dial(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, ws.addr)
}
