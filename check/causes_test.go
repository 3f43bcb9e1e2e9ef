package check_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/outside-in/outside-in/check"
)

// The faults of this file are ones where the symptom points elsewhere: the check must name
// the cause. Each is injected into the dev stack of TestDevStackServesAndEachFaultIsNamedAtItsHop
// (moto holds one dev stack per test binary) as a user would break it, checked, then repaired,
// and the stack must serve again.

// nodeSecurityGroupRuleDropped drops, one at a time, the node security group's
// rule admitting the load balancer's group on the traffic node port and on the health-check
// port. moto runs no health checks and the test's HTTP server stands in for the load
// balancer, so every target stays healthy and the page answers: only reading the rules sees
// that the load balancer can no longer reach the nodes.
func nodeSecurityGroupRuleDropped(t *testing.T, w *world) {
	ctx := t.Context()
	e2, lb := ec2.NewFromConfig(w.aws), elbv2.NewFromConfig(w.aws)
	nodeSG, _ := w.outputs["nodeSecurityGroupId"].(string)
	require.True(t, strings.HasPrefix(nodeSG, "sg-"), "the stack exports its node security group, as moto named it: %q", nodeSG)
	lbs, err := lb.DescribeLoadBalancers(ctx, &elbv2.DescribeLoadBalancersInput{LoadBalancerArns: []string{w.seeded.lbArn}})
	require.NoError(t, err)
	require.Len(t, lbs.LoadBalancers, 1)
	require.Len(t, lbs.LoadBalancers[0].SecurityGroups, 1, "the ALB has its own security group")
	lbSG := lbs.LoadBalancers[0].SecurityGroups[0]
	tgs, err := lb.DescribeTargetGroups(ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(w.seeded.lbArn)})
	require.NoError(t, err)
	require.Len(t, tgs.TargetGroups, 1, "the dev stack sends to one node port")
	traffic := aws.ToInt32(tgs.TargetGroups[0].Port)
	health, err := strconv.Atoi(aws.ToString(tgs.TargetGroups[0].HealthCheckPort))
	require.NoError(t, err)
	require.NotEqual(t, int(traffic), health)

	rep := checkStack(t, w)
	require.True(t, rep.Serves, text(t, rep))
	targets, _ := rep.Hosts[0].Hop(check.HopTargets)
	assert.Contains(t, targets.Evidence, "node security group "+nodeSG+" admits the load balancer's group "+lbSG+" on the traffic node port "+strconv.Itoa(int(traffic)))
	assert.Contains(t, targets.Evidence, "node security group "+nodeSG+" admits the load balancer's group "+lbSG+" on the health-check port "+strconv.Itoa(health))

	for _, c := range []struct {
		role string
		port int32
	}{{"traffic node port", traffic}, {"health-check port", int32(health)}} {
		t.Run(c.role, func(t *testing.T) {
			perm := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(c.port), ToPort: aws.Int32(c.port),
				UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(lbSG)}}}}
			_, err := e2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(nodeSG), IpPermissions: perm})
			require.NoError(t, err)
			rep := checkStack(t, w)
			out := text(t, rep)
			_, err = e2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(nodeSG), IpPermissions: perm})
			require.NoError(t, err)
			t.Logf("the node security group without its %s rule:\n%s", c.role, out)

			require.False(t, rep.Serves, "the check passed with the fault in place:\n%s", out)
			h := rep.Hosts[0]
			require.Equal(t, check.HopTargets, h.FirstBroken, out)
			hop, _ := h.Hop(check.HopTargets)
			port := strconv.Itoa(int(c.port))
			assert.Contains(t, hop.Cause, "the node security group does not admit the load balancer on the "+c.role+" "+port, out)
			assert.Contains(t, strings.Join(hop.Evidence, "\n"),
				"node security group "+nodeSG+" does not admit the load balancer's security group "+lbSG+" on the "+c.role+" "+port, out)
			assert.Contains(t, hop.Fix, "--group-id "+nodeSG+" --protocol tcp --port "+port+" --source-group "+lbSG, out)

			again := checkStack(t, w)
			require.True(t, again.Serves, "the repaired stack does not serve:\n%s", text(t, again))
		})
	}
}

// certificateStatuses puts the listener's certificate in each status ACM has
// besides ISSUED and PENDING_VALIDATION, and past its NotAfter. moto issues or leaves pending,
// and refuses to import an expired certificate, so ACM's answer for the listener's
// certificate is rewritten on its way back, as AWS would give it.
func certificateStatuses(t *testing.T, w *world) {
	ctx := t.Context()
	acmAnswers := &certificateAnswers{next: w.aws.HTTPClient, arn: w.seeded.certArn}
	cfg := w.aws.Copy()
	cfg.HTTPClient = acmAnswers
	opts := w.opts
	opts.AWS = &cfg

	desc, err := acm.NewFromConfig(w.aws).DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: aws.String(w.seeded.certArn)})
	require.NoError(t, err)
	notAfter := aws.ToTime(desc.Certificate.NotAfter)
	require.Equal(t, "ISSUED", string(desc.Certificate.Status))
	past := float64(time.Now().Add(-35 * 24 * time.Hour).Unix())

	// The stack requests its certificates (AMAZON_ISSUED); the test's is imported, so that the
	// HTTPS server serves what ACM holds. Requested ones are replaced through the stack.
	requested := func(fields map[string]any) map[string]any { fields["Type"] = "AMAZON_ISSUED"; return fields }
	cases := []struct {
		status   string
		fields   map[string]any // more of the certificate's fields to rewrite
		now      time.Time      // zero: the real clock
		cause    string
		evidence string
		fix      string
	}{
		{"EXPIRED", requested(map[string]any{"NotAfter": past}), time.Time{}, "the certificate has expired", "expired 35 days ago", "pulumi up --replace"},
		{"REVOKED", requested(map[string]any{"RevocationReason": "KEY_COMPROMISE"}), time.Time{}, "the certificate was revoked (KEY_COMPROMISE)", "is REVOKED (KEY_COMPROMISE)", "pulumi up --replace"},
		{"FAILED", requested(map[string]any{"FailureReason": "CAA_ERROR"}), time.Time{}, "the certificate request failed: ACM refused to issue it (CAA_ERROR: a CAA record", "is FAILED: CAA_ERROR", "pulumi up --replace"},
		{"INACTIVE", requested(map[string]any{}), time.Time{}, "INACTIVE", "is INACTIVE", "pulumi up --replace"},
		{"VALIDATION_TIMED_OUT", requested(map[string]any{}), time.Time{}, "validation timed out: ACM saw no validation CNAME within 72 hours", "is VALIDATION_TIMED_OUT", "pulumi up --replace"},
		// ISSUED and imported, but the clock is past its NotAfter.
		{"ISSUED", nil, notAfter.Add(35 * 24 * time.Hour), "the certificate has expired", "expired 35 days ago, on " + notAfter.Format(time.DateOnly), "import a renewed certificate"},
	}
	for _, c := range cases {
		t.Run(c.status, func(t *testing.T) {
			fields := map[string]any{"Status": c.status}
			for k, v := range c.fields {
				fields[k] = v
			}
			acmAnswers.set(fields)
			o := opts
			if !c.now.IsZero() {
				o.Now = func() time.Time { return c.now }
			}
			rep, err := check.Stack(ctx, w.outputs, o)
			acmAnswers.set(nil)
			require.NoError(t, err)
			out := text(t, rep)
			t.Logf("a listener certificate %s:\n%s", c.status, out)

			require.False(t, rep.Serves, "the check passed with the fault in place:\n%s", out)
			h := rep.Hosts[0]
			require.Equal(t, check.HopTLS, h.FirstBroken, out)
			hop, _ := h.Hop(check.HopTLS)
			assert.Contains(t, hop.Cause, c.cause, out)
			assert.NotContains(t, hop.Cause, "pending validation", "only PENDING_VALIDATION is pending")
			assert.Contains(t, strings.Join(hop.Evidence, "\n"), c.evidence, out)
			assert.NotContains(t, strings.Join(hop.Evidence, "\n"), "expires in -", out)
			assert.Contains(t, hop.Fix, c.fix, out)
		})
	}
	rep, err := check.Stack(ctx, w.outputs, opts)
	require.NoError(t, err)
	require.True(t, rep.Serves, "with moto's own answers the stack serves:\n%s", text(t, rep))
}

// certificateAnswers passes AWS requests on, and rewrites fields of one certificate in ACM's
// DescribeCertificate answers while set.
type certificateAnswers struct {
	next   aws.HTTPClient
	arn    string
	mu     sync.Mutex
	fields map[string]any
}

func (c *certificateAnswers) set(fields map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fields = fields
}

func (c *certificateAnswers) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.next.Do(req)
	c.mu.Lock()
	fields := c.fields
	c.mu.Unlock()
	if err != nil || fields == nil || req.Header.Get("X-Amz-Target") != "CertificateManager.DescribeCertificate" {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var answer map[string]map[string]any
	if json.Unmarshal(body, &answer) == nil && answer["Certificate"]["CertificateArn"] == c.arn {
		for k, v := range fields {
			answer["Certificate"][k] = v
		}
		body, _ = json.Marshal(answer)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	// The SDK checks ACM's answers against their CRC32; a rewritten answer has none.
	resp.Header.Del("X-Amz-Crc32")
	return resp, nil
}

// deploymentScaledToZero scales the app's Deployment to 0, as `kubectl scale`
// would: the Deployment controller calls it available (none of 0 pods is missing) and the
// Service has no endpoint. The cause is the replica count, not a readiness probe.
func deploymentScaledToZero(t *testing.T, w *world) {
	ctx := t.Context()
	deps := w.kube.AppsV1().Deployments("web")
	scale := func(n int32) {
		t.Helper()
		d, err := deps.Get(ctx, "web", metav1.GetOptions{})
		require.NoError(t, err)
		d.Spec.Replicas = aws.Int32(n)
		_, err = deps.Update(ctx, d, metav1.UpdateOptions{})
		require.NoError(t, err)
	}
	scale(0)
	w.setAvailable(ctx, "web", "web", true) // what the controller writes: 0 of 0 available
	w.setEndpoints(ctx, "web", "web", nil, true)
	rep := checkStack(t, w)
	out := text(t, rep)
	scale(2)
	w.setAvailable(ctx, "web", "web", true)
	w.setEndpoints(ctx, "web", "web", w.nodes, true)
	t.Logf("a Deployment scaled to 0:\n%s", out)

	require.False(t, rep.Serves, "the check passed with the fault in place:\n%s", out)
	h := rep.Hosts[0]
	require.Equal(t, check.HopIngress, h.FirstBroken, out)
	hop, _ := h.Hop(check.HopIngress)
	assert.Contains(t, hop.Cause, "scaled to 0 replicas", out)
	assert.NotContains(t, hop.Cause, "readiness probe", out)
	assert.Contains(t, strings.Join(hop.Evidence, "\n"), "Deployment web/web: scaled to 0 replicas", out)
	assert.Contains(t, hop.Fix, "kubectl -n web scale deploy web", out)

	again := checkStack(t, w)
	require.True(t, again.Serves, "the repaired stack does not serve:\n%s", text(t, again))
}
