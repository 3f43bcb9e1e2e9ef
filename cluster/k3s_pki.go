package cluster

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi-tls/sdk/v5/go/tls"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// K3sCAs are the certificate authorities k3s reads from server/tls/ on its first start instead of
// generating its own (k3s docs, "Using Custom CA Certificates"): the file each is written to, and
// the role it has. All five are required, the etcd ones even with a single server.
var K3sCAs = []struct {
	Name string // role in resource names
	File string // under /var/lib/rancher/k3s/server/tls/
}{
	{"server-ca", "server-ca"},
	{"client-ca", "client-ca"},
	{"request-header-ca", "request-header-ca"},
	{"etcd-server-ca", "etcd/server-ca"},
	{"etcd-peer-ca", "etcd/peer-ca"},
}

// Certificate lifetimes: the CAs outlive any stack; client certificates are renewed by a
// `pulumi up` in their last 30 days.
const (
	caValidityHours     = 10 * 365 * 24
	clientValidityHours = 365 * 24
	clientRenewalHours  = 30 * 24
)

// k3sPKI is what the program generates for a k3s cluster: files for the first server, the join
// tokens, and the client certificates its kubeconfigs carry.
type k3sPKI struct {
	// files maps a path under server/tls/ to its PEM content (secret for keys).
	files map[string]pulumi.StringOutput
	// serverCA is the certificate kubeconfigs trust.
	serverCA pulumi.StringOutput
	// serverToken joins servers (and could join agents); agentToken joins agents only.
	serverToken, agentToken pulumi.StringOutput
	admin, environments     clientCert
}

type clientCert struct {
	cert, key pulumi.StringOutput
}

// pki generates the cluster's certificate authorities, the service-account signing key, the two
// join tokens and two client certificates: an administrator (group system:masters) for the
// program's own Kubernetes provider, and one of the environments group for environment stacks.
func (k *k3sBuilder) pki() (*k3sPKI, error) {
	out := &k3sPKI{files: map[string]pulumi.StringOutput{}}
	cas := map[string]struct{ cert, key pulumi.StringOutput }{}
	for _, ca := range K3sCAs {
		key, err := tls.NewPrivateKey(k.ctx, naming.Child(k.name, ca.Name+"-key"), &tls.PrivateKeyArgs{
			Algorithm: pulumi.String("ECDSA"), EcdsaCurve: pulumi.String("P256"),
		}, k.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: %s key: %w", ca.Name, err)
		}
		cert, err := tls.NewSelfSignedCert(k.ctx, naming.Child(k.name, ca.Name), &tls.SelfSignedCertArgs{
			PrivateKeyPem:       key.PrivateKeyPem,
			IsCaCertificate:     pulumi.Bool(true),
			ValidityPeriodHours: pulumi.Int(caValidityHours),
			AllowedUses:         pulumi.ToStringArray([]string{"cert_signing", "crl_signing", "digital_signature", "key_encipherment"}),
			Subject: &tls.SelfSignedCertSubjectArgs{
				CommonName:   pulumi.Sprintf("%s-%s", k.args.Name, ca.Name),
				Organization: pulumi.String("outside-in"),
			},
		}, k.parent)
		if err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", ca.Name, err)
		}
		cas[ca.Name] = struct{ cert, key pulumi.StringOutput }{cert.CertPem, key.PrivateKeyPem}
		out.files[ca.File+".crt"] = cert.CertPem
		out.files[ca.File+".key"] = pulumi.ToSecret(key.PrivateKeyPem).(pulumi.StringOutput)
	}
	// The service-account signing key: ECDSA, which kube-apiserver and k3s take as they take RSA.
	sa, err := tls.NewPrivateKey(k.ctx, naming.Child(k.name, "service-account-key"), &tls.PrivateKeyArgs{
		Algorithm: pulumi.String("ECDSA"), EcdsaCurve: pulumi.String("P256"),
	}, k.parent)
	if err != nil {
		return nil, fmt.Errorf("cluster: service account key: %w", err)
	}
	out.files["service.key"] = pulumi.ToSecret(sa.PrivateKeyPem).(pulumi.StringOutput)
	out.serverCA = cas["server-ca"].cert

	password := func(role string) (pulumi.StringOutput, error) {
		p, err := random.NewRandomPassword(k.ctx, naming.Child(k.name, role), &random.RandomPasswordArgs{
			Length: pulumi.Int(48), Special: pulumi.Bool(false),
		}, k.parent)
		if err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("cluster: %s: %w", role, err)
		}
		return p.Result, nil
	}
	serverPassword, err := password("server-token")
	if err != nil {
		return nil, err
	}
	agentPassword, err := password("agent-token")
	if err != nil {
		return nil, err
	}
	out.serverToken = secureToken(out.serverCA, "server", serverPassword)
	out.agentToken = secureToken(out.serverCA, "node", agentPassword)

	client := cas["client-ca"]
	if out.admin, err = k.clientCert("admin", "outside-in-admin", "system:masters", client.cert, client.key); err != nil {
		return nil, err
	}
	if out.environments, err = k.clientCert("environments", "outside-in-environments", EnvironmentsGroup, client.cert, client.key); err != nil {
		return nil, err
	}
	return out, nil
}

// clientCert issues a client certificate from the client CA: the API server takes the common
// name as the user and the organization as the group.
func (k *k3sBuilder) clientCert(role, user, group string, caCert, caKey pulumi.StringOutput) (clientCert, error) {
	key, err := tls.NewPrivateKey(k.ctx, naming.Child(k.name, role+"-key"), &tls.PrivateKeyArgs{
		Algorithm: pulumi.String("ECDSA"), EcdsaCurve: pulumi.String("P256"),
	}, k.parent)
	if err != nil {
		return clientCert{}, fmt.Errorf("cluster: %s key: %w", role, err)
	}
	csr, err := tls.NewCertRequest(k.ctx, naming.Child(k.name, role+"-csr"), &tls.CertRequestArgs{
		PrivateKeyPem: key.PrivateKeyPem,
		Subject:       &tls.CertRequestSubjectArgs{CommonName: pulumi.String(user), Organization: pulumi.String(group)},
	}, k.parent)
	if err != nil {
		return clientCert{}, fmt.Errorf("cluster: %s request: %w", role, err)
	}
	cert, err := tls.NewLocallySignedCert(k.ctx, naming.Child(k.name, role+"-cert"), &tls.LocallySignedCertArgs{
		CertRequestPem:      csr.CertRequestPem,
		CaCertPem:           caCert,
		CaPrivateKeyPem:     caKey,
		ValidityPeriodHours: pulumi.Int(clientValidityHours),
		EarlyRenewalHours:   pulumi.Int(clientRenewalHours),
		AllowedUses:         pulumi.ToStringArray([]string{"client_auth", "digital_signature", "key_encipherment"}),
	}, k.parent)
	if err != nil {
		return clientCert{}, fmt.Errorf("cluster: %s certificate: %w", role, err)
	}
	return clientCert{cert: cert.CertPem, key: pulumi.ToSecret(key.PrivateKeyPem).(pulumi.StringOutput)}, nil
}

// secureToken is k3s's full token, K10<sha256 of server-ca.crt>::<user>:<password>: a joining
// node checks that the CA the server presents hashes to it before it sends the password, so a
// node never hands its token to an impostor. The hash is of the file's exact bytes, which is
// why the bootstrap writes the certificate byte for byte.
func secureToken(serverCA pulumi.StringOutput, user string, password pulumi.StringOutput) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.All(serverCA, password).ApplyT(func(v []any) string {
		return SecureToken(v[0].(string), user, v[1].(string))
	})).(pulumi.StringOutput)
}

// SecureToken is the pure part of secureToken.
func SecureToken(serverCAPEM, user, password string) string {
	sum := sha256.Sum256([]byte(serverCAPEM))
	return fmt.Sprintf("K10%s::%s:%s", hex.EncodeToString(sum[:]), user, password)
}

// k3sKubeconfig renders a kubeconfig that trusts the server CA and authenticates with a client
// certificate: nothing is read back from the cluster, so it is known as soon as the certificates
// are.
func k3sKubeconfig(name string, endpoint pulumi.StringOutput, serverCA pulumi.StringOutput, client clientCert) pulumi.StringOutput {
	return pulumi.ToSecret(pulumi.All(endpoint, serverCA, client.cert, client.key).ApplyT(func(v []any) (string, error) {
		return RenderCertKubeconfig(name, v[0].(string), v[1].(string), v[2].(string), v[3].(string))
	})).(pulumi.StringOutput)
}

// RenderCertKubeconfig is the pure part of k3sKubeconfig.
func RenderCertKubeconfig(name, server, caPEM, certPEM, keyPEM string) (string, error) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": name,
		"clusters": []any{map[string]any{
			"name":    name,
			"cluster": map[string]any{"server": server, "certificate-authority-data": b64(caPEM)},
		}},
		"contexts": []any{map[string]any{
			"name":    name,
			"context": map[string]any{"cluster": name, "user": name},
		}},
		"users": []any{map[string]any{
			"name": name,
			"user": map[string]any{"client-certificate-data": b64(certPEM), "client-key-data": b64(keyPEM)},
		}},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	return string(b), err
}
