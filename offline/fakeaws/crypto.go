package fakeaws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The tls provider's resources, answered as the provider does: real keys and certificates, so
// that tests can check the chain the program builds from them. Keys are generated afresh on each
// run; the fake remembers each generated value (and its base64 and sha256 forms, which the
// program passes on in kubeconfigs and join tokens) so golden files can show a placeholder.

func init() {
	answers["tls:index/privateKey:PrivateKey"] = tlsPrivateKey
	answers["tls:index/selfSignedCert:SelfSignedCert"] = tlsSelfSignedCert
	answers["tls:index/certRequest:CertRequest"] = tlsCertRequest
	answers["tls:index/locallySignedCert:LocallySignedCert"] = tlsLocallySignedCert
	answers["random:index/randomPassword:RandomPassword"] = randomPassword
}

// rememberPEM registers a generated PEM and the forms of it the program derives.
func (r *request) rememberPEM(pemText, what string) {
	placeholder := fmt.Sprintf("<generated %s of %s>", what, r.name)
	r.fake.remember(pemText, placeholder)
	r.fake.remember(base64.StdEncoding.EncodeToString([]byte(pemText)), "<base64 "+placeholder[1:])
	sum := sha256.Sum256([]byte(pemText))
	r.fake.remember(hex.EncodeToString(sum[:]), "<sha256 "+placeholder[1:])
}

func tlsPrivateKey(r *request) error {
	var key crypto.Signer
	var err error
	switch r.str("algorithm") {
	case "ECDSA":
		if curve := r.str("ecdsaCurve"); curve != "P256" {
			return fmt.Errorf("the fake generates ECDSA keys on P256 only, not %q", curve)
		}
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "RSA":
		bits := 2048
		if v, ok := r.inputs["rsaBits"]; ok && v.IsNumber() {
			bits = int(v.NumberValue())
		}
		key, err = rsa.GenerateKey(rand.Reader, bits)
	default:
		return fmt.Errorf("unsupported key algorithm %q", r.str("algorithm"))
	}
	if err != nil {
		return err
	}
	// The provider's private_key_pem is SEC 1 for ECDSA and PKCS #1 for RSA.
	var block *pem.Block
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return err
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return err
	}
	privatePEM := string(pem.EncodeToMemory(block))
	pkcs8PEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	publicPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	r.rememberPEM(privatePEM, "private key")
	r.rememberPEM(pkcs8PEM, "PKCS #8 private key")
	r.rememberPEM(publicPEM, "public key")
	r.id = r.hex(40, "id") // the provider's id is the key's fingerprint; a stable stand-in here
	r.setSecret("privateKeyPem", privatePEM)
	r.setSecret("privateKeyPemPkcs8", pkcs8PEM)
	r.set("publicKeyPem", publicPEM)
	return nil
}

// signer parses a private key PEM as the provider accepts it.
func signer(pemText string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return nil, errors.New("private key is not PEM")
	}
	switch block.Type {
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, errors.New("private key cannot sign")
		}
		return s, nil
	}
}

func (r *request) subject() pkix.Name {
	s := r.object("subject")
	name := pkix.Name{}
	if v, ok := s["commonName"].(string); ok {
		name.CommonName = v
	}
	if v, ok := s["organization"].(string); ok && v != "" {
		name.Organization = []string{v}
	}
	return name
}

func (r *request) strings(key string) []string {
	var out []string
	if v, ok := r.inputs[resource.PropertyKey(key)]; ok && v.IsArray() {
		for _, e := range v.ArrayValue() {
			if e.IsString() {
				out = append(out, e.StringValue())
			}
		}
	}
	return out
}

// usages maps the provider's allowed_uses to x509 key and extended key usages.
func usages(uses []string) (x509.KeyUsage, []x509.ExtKeyUsage, error) {
	var ku x509.KeyUsage
	var eku []x509.ExtKeyUsage
	for _, u := range uses {
		switch u {
		case "cert_signing":
			ku |= x509.KeyUsageCertSign
		case "crl_signing":
			ku |= x509.KeyUsageCRLSign
		case "digital_signature":
			ku |= x509.KeyUsageDigitalSignature
		case "key_encipherment":
			ku |= x509.KeyUsageKeyEncipherment
		case "client_auth":
			eku = append(eku, x509.ExtKeyUsageClientAuth)
		case "server_auth":
			eku = append(eku, x509.ExtKeyUsageServerAuth)
		default:
			return 0, nil, fmt.Errorf("the fake does not know allowed use %q", u)
		}
	}
	return ku, eku, nil
}

func (r *request) template(subject pkix.Name) (*x509.Certificate, error) {
	hours := 0
	if v, ok := r.inputs["validityPeriodHours"]; ok && v.IsNumber() {
		hours = int(v.NumberValue())
	}
	if hours <= 0 {
		return nil, errors.New("validityPeriodHours must be positive")
	}
	ku, eku, err := usages(r.strings("allowedUses"))
	if err != nil {
		return nil, err
	}
	serial, ok := new(big.Int).SetString(r.hex(30, "serial"), 16)
	if !ok {
		return nil, errors.New("serial number")
	}
	isCA := false
	if v, ok := r.inputs["isCaCertificate"]; ok && v.IsBool() {
		isCA = v.BoolValue()
	}
	now := time.Now().UTC().Truncate(time.Second)
	return &x509.Certificate{
		SerialNumber: serial, Subject: subject,
		NotBefore: now, NotAfter: now.Add(time.Duration(hours) * time.Hour),
		KeyUsage: ku, ExtKeyUsage: eku, IsCA: isCA, BasicConstraintsValid: true,
		DNSNames: r.strings("dnsNames"),
	}, nil
}

func (r *request) issue(tmpl, parent *x509.Certificate, pub any, key crypto.Signer) error {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return err
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	r.rememberPEM(certPEM, "certificate")
	r.id = tmpl.SerialNumber.String()
	r.set("certPem", certPEM)
	start, end := tmpl.NotBefore.Format(time.RFC3339), tmpl.NotAfter.Format(time.RFC3339)
	r.fake.remember(start, "<time of the run>")
	r.fake.remember(end, "<time of the run + validity>")
	r.set("validityStartTime", start)
	r.set("validityEndTime", end)
	r.set("readyForRenewal", false)
	return nil
}

func tlsSelfSignedCert(r *request) error {
	key, err := signer(r.str("privateKeyPem"))
	if err != nil {
		return err
	}
	tmpl, err := r.template(r.subject())
	if err != nil {
		return err
	}
	return r.issue(tmpl, tmpl, key.Public(), key)
}

func tlsCertRequest(r *request) error {
	key, err := signer(r.str("privateKeyPem"))
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: r.subject(), DNSNames: r.strings("dnsNames")}, key)
	if err != nil {
		return err
	}
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	r.rememberPEM(csrPEM, "certificate request")
	r.id = r.hex(40, "id")
	r.set("certRequestPem", csrPEM)
	return nil
}

func tlsLocallySignedCert(r *request) error {
	block, _ := pem.Decode([]byte(r.str("certRequestPem")))
	if block == nil {
		return errors.New("certRequestPem is not PEM")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return err
	}
	if err := csr.CheckSignature(); err != nil {
		return fmt.Errorf("certificate request: %w", err)
	}
	caBlock, _ := pem.Decode([]byte(r.str("caCertPem")))
	if caBlock == nil {
		return errors.New("caCertPem is not PEM")
	}
	ca, err := x509.ParseCertificate(caBlock.Bytes)
	if err != nil {
		return err
	}
	caKey, err := signer(r.str("caPrivateKeyPem"))
	if err != nil {
		return err
	}
	tmpl, err := r.template(csr.Subject)
	if err != nil {
		return err
	}
	tmpl.DNSNames = csr.DNSNames
	return r.issue(tmpl, ca, csr.PublicKey, caKey)
}

// randomPassword answers with a password derived from the stack and the resource's name: as
// random as a password needs to look, and the same on every run.
func randomPassword(r *request) error {
	length := 16
	if v, ok := r.inputs["length"]; ok && v.IsNumber() {
		length = int(v.NumberValue())
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	h := r.hex(2*length, "password")
	out := make([]byte, length)
	for i := range out {
		b, _ := hex.DecodeString(h[2*i : 2*i+2])
		out[i] = alphabet[int(b[0])%len(alphabet)]
	}
	r.id = "none"
	r.setSecret("result", string(out))
	return nil
}
