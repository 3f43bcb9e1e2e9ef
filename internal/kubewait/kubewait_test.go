package kubewait

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server is a local HTTPS API that refuses the first refusals requests, then answers; it counts
// what it was asked and checks the bearer token on every request.
type server struct {
	*httptest.Server
	readyz, nodes atomic.Int32
}

const token = "outside-in-test-token"

func newServer(t *testing.T, refusals int32, readyNodesAt func(call int32) int) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "no credentials", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/readyz":
			if n := s.readyz.Add(1); n <= refusals {
				// What a fresh EKS access entry gets: the credentials are valid but not yet mapped.
				http.Error(w, `{"kind":"Status","message":"Unauthorized"}`, http.StatusUnauthorized)
				return
			}
			fmt.Fprint(w, "ok")
		case "/api/v1/nodes":
			assert.Equal(t, "!node-role.kubernetes.io/control-plane", r.URL.Query().Get("labelSelector"))
			ready := readyNodesAt(s.nodes.Add(1))
			items := ""
			for i := 0; i < 3; i++ {
				status := "False"
				if i < ready {
					status = "True"
				}
				if i > 0 {
					items += ","
				}
				items += fmt.Sprintf(`{"metadata":{"name":"n%d"},"status":{"conditions":[{"type":"MemoryPressure","status":"False"},{"type":"Ready","status":%q}]}}`, i, status)
			}
			fmt.Fprintf(w, `{"kind":"NodeList","items":[%s]}`, items)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// kubeconfig trusts the server's certificate and sends the test token, as the program's
// kubeconfigs trust the cluster CA and authenticate.
func (s *server) kubeconfig() string {
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
	return fmt.Sprintf(`apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: test
  context: {cluster: test, user: test}
users:
- name: test
  user: {token: %s}
`, s.URL, base64.StdEncoding.EncodeToString(ca), token)
}

var fast = Options{Timeout: 5 * time.Second, Interval: 10 * time.Millisecond}

func TestWaitSurvivesRefusalsThenSucceeds(t *testing.T) {
	s := newServer(t, 3, nil)
	require.NoError(t, Wait(context.Background(), s.kubeconfig(), fast))
	assert.Equal(t, int32(4), s.readyz.Load(), "three 401s, then the 200 it waited for")
	assert.Zero(t, s.nodes.Load(), "nodes are not listed unless asked for")
}

func TestWaitForReadyWorkers(t *testing.T) {
	s := newServer(t, 1, func(call int32) int { return int(call) - 1 }) // 0, 1, 2 Ready nodes
	opts := fast
	opts.MinReadyNodes = 2
	require.NoError(t, Wait(context.Background(), s.kubeconfig(), opts))
	assert.Equal(t, int32(3), s.nodes.Load(), "listed until two workers were Ready")
}

func TestWaitGivesUpWithTheLastAnswer(t *testing.T) {
	s := newServer(t, 1<<30, nil)
	opts := Options{Timeout: 300 * time.Millisecond, Interval: 20 * time.Millisecond}
	start := time.Now()
	err := Wait(context.Background(), s.kubeconfig(), opts)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 3*time.Second, "the wait is bounded")
	assert.Contains(t, err.Error(), s.URL)
	assert.Contains(t, err.Error(), "did not answer GET /readyz with 200 within 300ms")
	assert.Contains(t, err.Error(), "401 Unauthorized")
	assert.Greater(t, s.readyz.Load(), int32(2))
}

func TestWaitGivesUpOnWorkersThatNeverBecomeReady(t *testing.T) {
	s := newServer(t, 0, func(int32) int { return 1 })
	opts := Options{Timeout: time.Second, Interval: 20 * time.Millisecond, MinReadyNodes: 2}
	err := Wait(context.Background(), s.kubeconfig(), opts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "report 2 Ready worker nodes")
	assert.Contains(t, err.Error(), "1 of 2 worker nodes Ready")
}

// A server whose certificate the kubeconfig's CA did not sign is never trusted: the wait fails
// on the TLS error instead of talking to it.
func TestWaitRefusesAnUntrustedServer(t *testing.T) {
	trusted := newServer(t, 0, nil)
	other := &server{}
	other.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.readyz.Add(1)
		fmt.Fprint(w, "ok")
	}))
	other.TLS = &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}}
	other.StartTLS()
	t.Cleanup(other.Close)
	cfg := strings.Replace(trusted.kubeconfig(), trusted.URL, other.URL, 1)
	err := Wait(context.Background(), cfg, Options{Timeout: 200 * time.Millisecond, Interval: 20 * time.Millisecond})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
	assert.Zero(t, other.readyz.Load(), "no request reached the untrusted server's handler")
}

// selfSigned is a certificate for 127.0.0.1 that no kubeconfig here trusts.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "impostor"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestWaitRejectsAMalformedKubeconfig(t *testing.T) {
	err := Wait(context.Background(), "clusters: [", fast)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reading the kubeconfig")
}
