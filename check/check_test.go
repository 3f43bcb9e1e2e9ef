package check_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbv2types "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/outside-in/outside-in/check"
	"github.com/outside-in/outside-in/offline/kubeapi"
	"github.com/outside-in/outside-in/offline/plan"
)

func TestMain(m *testing.M) {
	code := kubeapi.Run(m)
	stopMoto()
	os.Exit(code)
}

// devWorld is the dev stack (ALB, EKS, one app) deployed into moto and the API server.
func devWorld(t *testing.T) *world {
	res := runPlan(t, "dev", nil)
	w := newWorld(t, res, "")
	w.addHosts(w.outputs)
	return w
}

func checkStack(t *testing.T, w *world) *check.Report {
	t.Helper()
	rep, err := check.Stack(t.Context(), w.outputs, w.opts)
	require.NoError(t, err)
	require.Len(t, rep.Hosts, 1, "the dev stack has one app")
	return rep
}

func text(t *testing.T, rep *check.Report) string {
	var b bytes.Buffer
	require.NoError(t, rep.WriteText(&b))
	return b.String()
}

// TestDevStackServesAndEachFaultIsNamedAtItsHop deploys the dev stack, checks that it serves,
// then injects one fault at a time: each must fail at its hop, first, with its cause, and the
// stack must serve again once the fault is repaired.
//
// How moto reports target health (moto 5.2.1): a registered running instance is "healthy"; a
// stopped one is "unused" with reason Target.InvalidState ("Target is in the stopped state");
// a deregistered one drops out of the listing (asked for by id: "unused",
// Target.NotRegistered); a terminated one is "draining", Target.DeregistrationInProgress.
// moto never answers "unhealthy": it runs no health checks. So "every target unhealthy" is
// every node stopped, and the failing-health-check codes are covered by TestReasonCodes.
func TestDevStackServesAndEachFaultIsNamedAtItsHop(t *testing.T) {
	w := devWorld(t)
	ctx := t.Context()
	host := w.seeded.zone
	for _, u := range w.outputs["urls"].(map[string]any) {
		host = strings.TrimSuffix(strings.TrimPrefix(u.(string), "https://"), "/")
	}

	rep := checkStack(t, w)
	out := text(t, rep)
	t.Logf("a stack that serves:\n%s", out)
	require.True(t, rep.Serves, out)
	for _, hop := range rep.Hosts[0].Hops {
		assert.Equal(t, check.OK, hop.Status, "hop %s: %v", hop.Name, hop.Evidence)
	}
	httpHop, _ := rep.Hosts[0].Hop(check.HopHTTP)
	assert.Contains(t, strings.Join(httpHop.Evidence, "\n"), "200 OK")

	lb, e2, cm := elbv2.NewFromConfig(w.aws), ec2.NewFromConfig(w.aws), acm.NewFromConfig(w.aws)
	setListenerCert := func(arn string) {
		_, err := lb.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(w.seeded.listener443),
			Certificates: []elbv2types.Certificate{{CertificateArn: aws.String(arn)}}})
		require.NoError(t, err)
	}
	var nodeIDs []string
	for _, n := range w.seeded.nodes {
		nodeIDs = append(nodeIDs, n.id)
	}
	require.Len(t, nodeIDs, 2, "the dev stack has two nodes")

	faults := []struct {
		name     string
		hop      string
		cause    string // in the failed hop's cause
		evidence string // in its evidence
		inject   func() (repair func())
	}{
		{"record aliasing another load balancer", check.HopDNS, "another load balancer", "alias other-alb", func() func() {
			other, err := lb.CreateLoadBalancer(ctx, &elbv2.CreateLoadBalancerInput{Name: aws.String("other-alb"),
				Subnets: strList(w.outputs, "publicSubnetIds"), Type: elbv2types.LoadBalancerTypeEnumApplication})
			require.NoError(t, err)
			w.upsertAlias(ctx, host, aws.ToString(other.LoadBalancers[0].DNSName), aws.ToString(other.LoadBalancers[0].CanonicalHostedZoneId))
			return func() {
				w.upsertAlias(ctx, host, w.seeded.lbDNS, w.seeded.lbZone)
				_, err := lb.DeleteLoadBalancer(ctx, &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: other.LoadBalancers[0].LoadBalancerArn})
				require.NoError(t, err)
			}
		}},
		{"certificate pending validation", check.HopTLS, "pending validation", "PENDING_VALIDATION", func() func() {
			req, err := cm.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String(host), ValidationMethod: acmtypes.ValidationMethodDns})
			require.NoError(t, err)
			setListenerCert(aws.ToString(req.CertificateArn))
			return func() {
				setListenerCert(w.seeded.certArn)
				_, err := cm.DeleteCertificate(ctx, &acm.DeleteCertificateInput{CertificateArn: req.CertificateArn})
				require.NoError(t, err)
			}
		}},
		{"a listener without the certificate", check.HopTLS, "a listener without the certificate", "is on no listener", func() func() {
			certPEM, keyPEM := w.ca.leaf(t, "other.example.org")
			imp, err := cm.ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: certPEM, PrivateKey: keyPEM, CertificateChain: w.ca.pem})
			require.NoError(t, err)
			setListenerCert(aws.ToString(imp.CertificateArn))
			return func() { setListenerCert(w.seeded.certArn) }
		}},
		{"every target unhealthy", check.HopTargets, "every target is unhealthy", "0 of 2 targets healthy", func() func() {
			_, err := e2.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: nodeIDs})
			require.NoError(t, err)
			return func() {
				_, err := e2.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: nodeIDs})
				require.NoError(t, err)
			}
		}},
		{"targets healthy on nodes without a controller pod", check.HopController, "nodes without a ready controller endpoint",
			"healthy targets on nodes without a ready controller pod: " + nodeIDs[1], func() func() {
				w.setEndpoints(ctx, w.controllerNS, "traefik-entry", w.nodes[:1], true)
				return func() { w.setEndpoints(ctx, w.controllerNS, "traefik-entry", w.nodes, true) }
			}},
		{"no Ingress for the host", check.HopIngress, "no Ingress for the host", "no Ingress in any namespace has a rule for host " + host, func() func() {
			require.NoError(t, w.kube.NetworkingV1().Ingresses("web").Delete(ctx, "web", metav1.DeleteOptions{}))
			return func() {
				require.NoError(t, kubeapi.Start(t).Apply(ctx, w.objects["Ingress web/web"].DeepCopy()))
				w.admitIngress(ctx, "web", "web")
			}
		}},
		{"zero ready endpoints", check.HopIngress, "zero ready endpoints", "0 of 2 endpoints ready", func() func() {
			w.setEndpoints(ctx, "web", "web", w.nodes, false)
			return func() { w.setEndpoints(ctx, "web", "web", w.nodes, true) }
		}},
		{"a 503 from the controller", check.HopHTTP, "a 503 from the controller", "503 Service Unavailable", func() func() {
			w.web.answer(http.StatusServiceUnavailable)
			return func() { w.web.answer(0) }
		}},
		{"DNS not delegated", check.HopDNS, "does not delegate", "ns1.parked.example.net", func() func() {
			was := w.dns.getNS(w.seeded.zone)
			w.dns.setNS(w.seeded.zone, "ns1.parked.example.net", "ns2.parked.example.net")
			return func() { w.dns.setNS(w.seeded.zone, was...) }
		}},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			repair := f.inject()
			rep := checkStack(t, w)
			out := text(t, rep)
			repair()
			if f.name == "every target unhealthy" {
				t.Logf("a stack that does not serve:\n%s", out)
			}
			require.False(t, rep.Serves, "the check passed with the fault in place:\n%s", out)
			h := rep.Hosts[0]
			require.Equal(t, f.hop, h.FirstBroken, out)
			hop, found := h.Hop(f.hop)
			require.True(t, found)
			assert.Contains(t, hop.Cause, f.cause, out)
			assert.Contains(t, strings.Join(hop.Evidence, "\n"), f.evidence, out)
			assert.NotEmpty(t, hop.Fix)
			assert.Contains(t, out, "▶ "+f.hop, "the first broken hop is marked")

			again := checkStack(t, w)
			require.True(t, again.Serves, "the repaired stack does not serve:\n%s", text(t, again))
		})
	}
	// Faults whose symptom points away from their cause (causes_test.go).
	t.Run("node security group rule dropped", func(t *testing.T) { nodeSecurityGroupRuleDropped(t, w) })
	t.Run("certificate not ISSUED or past its NotAfter", func(t *testing.T) { certificateStatuses(t, w) })
	t.Run("Deployment scaled to 0", func(t *testing.T) { deploymentScaledToZero(t, w) })
}

// TestCheckRefusesOutputsWithoutURLs: outputs without urls are refused with a message, not a panic.
func TestCheckRefusesOutputsWithoutURLs(t *testing.T) {
	_, err := check.Stack(context.Background(), map[string]any{"loadBalancerDnsName": "x"}, check.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no urls output")
	_, err = check.Environment(context.Background(), map[string]any{"urls": map[string]any{"web": "https://web-pr-1.env.example.com/"}}, map[string]any{}, check.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "platform stack's outputs are empty")
}

// TestEnvironmentServesThroughItsPlatform deploys the platform stack and the pr-17 environment
// in it: each of the environment's hosts is checked through the platform's wildcard record and
// certificate, load balancer, targets and controller, then the environment's own namespace.
func TestEnvironmentServesThroughItsPlatform(t *testing.T) {
	platformPlan := runPlan(t, "platform", nil)
	envPlan := runPlan(t, "pr-17", platformPlan)
	w := newWorld(t, platformPlan, "platform-")
	w.deployObjects(t.Context(), envPlan)
	env := w.seeded.replace(outputsOf(envPlan)).(map[string]any)
	w.addHosts(env)

	rep, err := check.Environment(t.Context(), env, w.outputs, w.opts)
	require.NoError(t, err)
	out := text(t, rep)
	t.Logf("an environment that serves:\n%s", out)
	require.Len(t, rep.Hosts, 2, "pr-17 has two apps")
	require.True(t, rep.Serves, out)
	for _, h := range rep.Hosts {
		dns, _ := h.Hop(check.HopDNS)
		assert.Contains(t, dns.Evidence[0], "A *.env.platform.example.com → alias "+w.seeded.lbDNS, "the platform's wildcard record answers")
		tls, _ := h.Hop(check.HopTLS)
		assert.Contains(t, tls.Evidence[0], "covers "+h.Host)
		ing, _ := h.Hop(check.HopIngress)
		assert.Contains(t, ing.Evidence[0], "Ingress env-pr-17/", "the environment's own namespace")
	}

	// The environment's app not ready: only that host fails, at the ingress hop.
	w.setEndpoints(t.Context(), "env-pr-17", "api", w.nodes, false)
	rep, err = check.Environment(t.Context(), env, w.outputs, w.opts)
	require.NoError(t, err)
	require.False(t, rep.Serves)
	for _, h := range rep.Hosts {
		if h.App == "api" {
			assert.Equal(t, check.HopIngress, h.FirstBroken, text(t, rep))
		} else {
			assert.True(t, h.Serves, text(t, rep))
		}
	}
}

func outputsOf(res *plan.Result) map[string]any {
	out := map[string]any{}
	for k, e := range res.Exports {
		out[k] = e.Value
	}
	return out
}
