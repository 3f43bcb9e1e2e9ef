package kubeapi

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// testUser is the identity of the client certificate; system:masters is
// bound to cluster-admin by the default RBAC policy.
const (
	testUser  = "outside-in-test"
	testGroup = "system:masters"
)

// pki holds the credentials generated for one server, as PEM, and the paths
// of the files handed to kube-apiserver.
type pki struct {
	caPEM, clientCertPEM, clientKeyPEM []byte
	// caCert and caKey sign further client certificates (Server.Kubeconfig); nil when the
	// credentials were made elsewhere.
	caCert *x509.Certificate
	caKey  crypto.Signer

	caFile, servingCertFile, servingKeyFile, saKeyFile string
}

// generatePKI creates, in dir, a throw-away CA, a serving certificate for
// the loopback addresses, a client certificate for testUser in testGroup, and
// an RSA service-account signing key.
func generatePKI(dir string) (*pki, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "outside-in-kubeapi-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, caCert, err := sign(caTmpl, caKey, nil, nil)
	if err != nil {
		return nil, err
	}

	servingKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	servingDER, _, err := sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(7 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default",
			"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(10, 96, 0, 1)},
	}, servingKey, caCert, caKey)
	if err != nil {
		return nil, err
	}

	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	clientDER, _, err := sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: testUser, Organization: []string{testGroup}},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(7 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, clientKey, caCert, caKey)
	if err != nil {
		return nil, err
	}

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}

	p := &pki{
		caCert:          caCert,
		caKey:           caKey,
		caPEM:           certPEM(caDER),
		clientCertPEM:   certPEM(clientDER),
		caFile:          filepath.Join(dir, "ca.crt"),
		servingCertFile: filepath.Join(dir, "apiserver.crt"),
		servingKeyFile:  filepath.Join(dir, "apiserver.key"),
		saKeyFile:       filepath.Join(dir, "service-account.key"),
	}
	if p.clientKeyPEM, err = keyPEM(clientKey); err != nil {
		return nil, err
	}
	servingKeyPEM, err := keyPEM(servingKey)
	if err != nil {
		return nil, err
	}
	saKeyPEM, err := keyPEM(saKey)
	if err != nil {
		return nil, err
	}
	for path, data := range map[string][]byte{
		p.caFile:          p.caPEM,
		p.servingCertFile: certPEM(servingDER),
		p.servingKeyFile:  servingKeyPEM,
		p.saKeyFile:       saKeyPEM,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Credentials are a server's PKI made elsewhere, as PEM.
type Credentials struct {
	// ServerCA signs ServingCert; the package's own client trusts it.
	ServerCA, ServingCert, ServingKey []byte
	// ClientCA is the CA the server accepts client certificates from; ClientCert and ClientKey
	// are the package's own client's (a member of system:masters, to create namespaces).
	ClientCA, ClientCert, ClientKey []byte
	// ServiceAccountKey signs service account tokens.
	ServiceAccountKey []byte
}

// write puts the credentials into dir as the files kube-apiserver reads.
func (c Credentials) write(dir string) (*pki, error) {
	p := &pki{
		caPEM:           c.ServerCA,
		clientCertPEM:   c.ClientCert,
		clientKeyPEM:    c.ClientKey,
		caFile:          filepath.Join(dir, "client-ca.crt"),
		servingCertFile: filepath.Join(dir, "apiserver.crt"),
		servingKeyFile:  filepath.Join(dir, "apiserver.key"),
		saKeyFile:       filepath.Join(dir, "service-account.key"),
	}
	for path, data := range map[string][]byte{
		p.caFile: c.ClientCA, p.servingCertFile: c.ServingCert, p.servingKeyFile: c.ServingKey, p.saKeyFile: c.ServiceAccountKey,
	} {
		if len(data) == 0 {
			return nil, fmt.Errorf("no content for %s", filepath.Base(path))
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// sign creates tmpl signed by parentKey (self-signed when parent is nil).
func sign(tmpl *x509.Certificate, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) ([]byte, *x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return der, cert, nil
}

func certPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// clientCert signs a client certificate for user in groups (the certificate's CommonName and
// Organizations, which is how the API server reads them).
func (p *pki) clientCert(user string, groups []string) (certPEMBytes, keyPEMBytes []byte, err error) {
	if p.caKey == nil {
		return nil, nil, fmt.Errorf("this server's CA key was made elsewhere: it cannot sign client certificates")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	der, _, err := sign(&x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(7 * 24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, key, p.caCert, p.caKey)
	if err != nil {
		return nil, nil, err
	}
	keyBytes, err := keyPEM(key)
	if err != nil {
		return nil, nil, err
	}
	return certPEM(der), keyBytes, nil
}
