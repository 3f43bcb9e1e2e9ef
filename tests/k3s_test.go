package tests

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/outside-in/outside-in/cluster"
	"github.com/outside-in/outside-in/internal/kubewait"
	"github.com/outside-in/outside-in/offline/fakeaws"
	"github.com/outside-in/outside-in/offline/kubeapi"
	"github.com/outside-in/outside-in/offline/plan"
)

// k3sCluster is what a k3s stack's plan holds of its generated credentials, read back from the
// resources as the nodes would read them (the Parameter Store values) and as an admin would use
// them (the exported kubeconfig).
type k3sCluster struct {
	params     map[string]string // parameter name under the stack's prefix → value
	kubeconfig *clientcmdapi.Config
	apiHost    string // the API load balancer's DNS name
}

func readK3s(t *testing.T, res *plan.Result) k3sCluster {
	t.Helper()
	c := k3sCluster{params: map[string]string{}}
	for _, p := range res.OfType("aws:ssm/parameter:Parameter") {
		name := text(t, p.In("name"))
		assert.Equal(t, "SecureString", p.In("type"), name)
		if p.Name == "published-parameter" {
			continue // a platform's document for its environments (TestPlatformPublishes...)
		}
		_, rest, found := strings.Cut(name, "/k3s/")
		require.True(t, found, "parameter %s is under the stack's k3s path", name)
		c.params[rest] = secretText(t, p.In("value"))
	}
	raw, ok := res.Exports["kubeconfig"]
	require.True(t, ok)
	require.True(t, raw.Secret, "the kubeconfig is a secret output")
	cfg, err := clientcmd.Load([]byte(text(t, raw.Value)))
	require.NoError(t, err)
	c.kubeconfig = cfg
	api := res.Named("aws:lb/loadBalancer:LoadBalancer", "cluster-api")
	require.NotNil(t, api)
	c.apiHost = text(t, api.Out("dnsName"))
	return c
}

// text is a string value, failing the test (not panicking) when it is something else.
func text(t tb, v any) string {
	t.Helper()
	s, ok := v.(string)
	require.True(t, ok, "want a string, got %T %v", v, v)
	return s
}

// secretText is the plaintext of a secret value as the state shows it.
func secretText(t tb, v any) string {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "want a secret, got %T", v)
	require.Equal(t, fakeaws.SecretValue, m[fakeaws.SecretSig], "want a secret")
	var s string
	require.NoError(t, json.Unmarshal([]byte(text(t, m["plaintext"])), &s))
	return s
}

func parseCert(t *testing.T, pemText string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(pemText))
	require.NotNil(t, block, "not PEM: %.40q", pemText)
	cert, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	return cert
}

func parseKey(t *testing.T, pemText string) crypto.Signer {
	t.Helper()
	block, _ := pem.Decode([]byte(pemText))
	require.NotNil(t, block)
	switch block.Type {
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		require.NoError(t, err)
		return k
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		require.NoError(t, err)
		return k
	}
	t.Fatalf("unexpected key type %s", block.Type)
	return nil
}

func pool(t *testing.T, pemText string) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(parseCert(t, pemText))
	return p
}

// The generated credentials form the chain k3s needs: five self-signed CAs for the files k3s
// reads on its first start, a kubeconfig trusting the server CA whose client certificate the
// client CA signed for system:masters, and join tokens that pin the server CA's exact bytes.
func TestK3sCredentialChain(t *testing.T) {
	c := readK3s(t, run(t, stack(t, "k3s")))

	for _, f := range cluster.K3sServerFiles() {
		require.Contains(t, c.params, "server/tls/"+f, "the first server gets %s", f)
	}
	for _, ca := range cluster.K3sCAs {
		cert := parseCert(t, c.params["server/tls/"+ca.File+".crt"])
		assert.True(t, cert.IsCA, ca.Name)
		assert.NoError(t, cert.CheckSignatureFrom(cert), "%s is self-signed", ca.Name)
		key := parseKey(t, c.params["server/tls/"+ca.File+".key"])
		assert.True(t, key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey), "%s key matches its certificate", ca.Name)
	}
	serverCA := c.params["server/tls/server-ca.crt"]
	clientCA := c.params["server/tls/client-ca.crt"]
	assert.NotEqual(t, serverCA, clientCA, "separate CAs for serving and clients")

	cluster := c.kubeconfig.Clusters[c.kubeconfig.Contexts[c.kubeconfig.CurrentContext].Cluster]
	assert.Equal(t, "https://"+c.apiHost+":6443", cluster.Server, "the kubeconfig names the API load balancer")
	assert.Equal(t, serverCA, string(cluster.CertificateAuthorityData), "the kubeconfig trusts the server CA")
	user := c.kubeconfig.AuthInfos[c.kubeconfig.Contexts[c.kubeconfig.CurrentContext].AuthInfo]
	admin := parseCert(t, string(user.ClientCertificateData))
	_, err := admin.Verify(x509.VerifyOptions{Roots: pool(t, clientCA), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	require.NoError(t, err, "the client CA signed the admin certificate for client authentication")
	assert.Equal(t, []string{"system:masters"}, admin.Subject.Organization)
	_, err = admin.Verify(x509.VerifyOptions{Roots: pool(t, serverCA), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.Error(t, err, "the server CA did not sign it")

	sum := sha256.Sum256([]byte(serverCA))
	hash := hex.EncodeToString(sum[:])
	assert.Regexp(t, `^K10`+hash+`::server:[A-Za-z0-9]{48}$`, c.params["server/token"])
	assert.Regexp(t, `^K10`+hash+`::node:[A-Za-z0-9]{48}$`, c.params["agent/token"])
	assert.Equal(t, c.params["agent/token"], c.params["server/agent-token"], "servers accept the token agents hold")
	assert.NotEqual(t, strings.Split(c.params["server/token"], ":")[3], strings.Split(c.params["agent/token"], ":")[3],
		"an agent's token is not the server token")
	assert.NotContains(t, c.params, "agent/tls/server-ca.key", "agents get no CA key")
}

// The generated kubeconfig, as it is, reaches a real kube-apiserver serving a certificate of the
// generated server CA for the load balancer's name (what k3s does with --tls-san), and is
// cluster-admin there; the environments group's certificate is not. The wait the program runs
// before it uses the cluster passes against it.
func TestK3sKubeconfigReachesARealAPIServer(t *testing.T) {
	res := run(t, stack(t, "k3s"))
	c := readK3s(t, res)
	srv := k3sAPIServer(t, c)
	ctxName := c.kubeconfig.CurrentContext
	// The kubeconfig as generated, pointed at the local server, still checking the certificate
	// against the load balancer's name.
	local := c.kubeconfig.DeepCopy()
	cl := local.Clusters[local.Contexts[ctxName].Cluster]
	cl.Server = srv.Config().Host
	cl.TLSServerName = c.apiHost
	kubeconfig, err := clientcmd.Write(*local)
	require.NoError(t, err)

	require.NoError(t, kubewait.Wait(context.Background(), string(kubeconfig), kubewait.Options{Timeout: 30 * time.Second, Interval: 200 * time.Millisecond}))
	restCfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	require.NoError(t, err)
	admin, err := kubernetes.NewForConfig(restCfg)
	require.NoError(t, err)
	_, err = admin.CoreV1().Secrets("kube-system").List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err, "the admin certificate is cluster-admin")

	// The environments group's certificate is known to the API but has no rights until a
	// platform binds it.
	envCert := res.Named("tls:index/locallySignedCert:LocallySignedCert", "cluster-environments-cert")
	require.NotNil(t, envCert)
	envKey := res.Named("tls:index/privateKey:PrivateKey", "cluster-environments-key")
	require.NotNil(t, envKey)
	assert.Equal(t, []string{cluster.EnvironmentsGroup}, parseCert(t, text(t, envCert.Out("certPem"))).Subject.Organization)
	envCfg := *restCfg
	envCfg.TLSClientConfig.CertData = []byte(text(t, envCert.Out("certPem")))
	envCfg.TLSClientConfig.KeyData = []byte(secretText(t, envKey.Out("privateKeyPem")))
	envClient, err := kubernetes.NewForConfig(&envCfg)
	require.NoError(t, err)
	_, err = envClient.CoreV1().Secrets("kube-system").List(context.Background(), metav1.ListOptions{})
	assert.True(t, errors.IsForbidden(err), "want 403 for the environments group, got %v", err)

	// A kubeconfig whose CA is another one is refused by the same wait.
	other := local.DeepCopy()
	other.Clusters[other.Contexts[ctxName].Cluster].CertificateAuthorityData = []byte(c.params["server/tls/client-ca.crt"])
	bad, err := clientcmd.Write(*other)
	require.NoError(t, err)
	err = kubewait.Wait(context.Background(), string(bad), kubewait.Options{Timeout: time.Second, Interval: 200 * time.Millisecond})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
}

// k3sAPIServer starts a real API server with the credentials a k3s stack generates: serving a
// certificate of the generated server CA for the API's name, trusting the generated client CA.
func k3sAPIServer(t *testing.T, c k3sCluster) *kubeapi.Server {
	t.Helper()
	serverCA := parseCert(t, c.params["server/tls/server-ca.crt"])
	serverCAKey := parseKey(t, c.params["server/tls/server-ca.key"])
	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serving := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "k3s"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{c.apiHost}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, serving, serverCA, &servingKey.PublicKey, serverCAKey)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(servingKey)
	require.NoError(t, err)

	ctxName := c.kubeconfig.CurrentContext
	user := c.kubeconfig.AuthInfos[c.kubeconfig.Contexts[ctxName].AuthInfo]
	srv := kubeapi.StartWith(t, kubeapi.Credentials{
		ServerCA:          []byte(c.params["server/tls/server-ca.crt"]),
		ServingCert:       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		ServingKey:        pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		ClientCA:          []byte(c.params["server/tls/client-ca.crt"]),
		ClientCert:        user.ClientCertificateData,
		ClientKey:         user.ClientKeyData,
		ServiceAccountKey: []byte(c.params["server/tls/service.key"]),
	})
	return srv
}

// Before it uses the cluster, the program waits for the API to answer the kubeconfig it exports,
// and for the agents to be Ready; a preview waits for nothing.
func TestK3sWaitsForTheAPIAndAgents(t *testing.T) {
	s := stack(t, "k3s")
	res := run(t, s)
	require.Len(t, res.APIWaits, 1)
	wait := res.APIWaits[0]
	assert.Equal(t, text(t, res.Exports["kubeconfig"].Value), wait.Kubeconfig)
	assert.Equal(t, 2, wait.Options.MinReadyNodes, "the stack's nodeDesiredSize agents")
	assert.Equal(t, kubewait.DefaultOptions.Timeout, wait.Options.Timeout)

	preview, err := plan.Run(s, plan.Options{Preview: true})
	require.NoError(t, err)
	assert.Empty(t, preview.APIWaits, "nothing waits on preview")
}

// list is a list value, failing the test (not panicking) when it is something else.
func list(t tb, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	require.True(t, ok, "want a list, got %T %v", v, v)
	return l
}

// number is a number value, failing the test when it is something else.
func number(t tb, v any) float64 {
	t.Helper()
	n, ok := v.(float64)
	require.True(t, ok, "want a number, got %T %v", v, v)
	return n
}

// object is a map value, failing the test when it is something else.
func object(t tb, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	require.True(t, ok, "want an object, got %T %v", v, v)
	return m
}
