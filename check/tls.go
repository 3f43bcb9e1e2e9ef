package check

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
)

// certificate is what the TLS hop reads of an ACM certificate.
type certificate struct {
	arn      string
	names    []string // domain name and subject alternative names
	status   string
	notAfter time.Time
	imported bool
}

// covers is whether the certificate is valid for host: the name itself, or a wildcard one label
// above it.
func (c *certificate) covers(host string) bool {
	for _, n := range c.names {
		n = strings.ToLower(n)
		if n == host {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if _, parent, found := strings.Cut(host, "."); found && parent == rest {
				return true
			}
		}
	}
	return false
}

// tlsHop checks that the listener ending TLS holds an ISSUED certificate covering the host that
// is not about to expire. When it does not, it looks through the region's certificates to say
// why: one pending validation, or one issued but not on the listener.
func (w *walk) tlsHop(ctx context.Context, h host) Hop {
	if strings.HasPrefix(h.url, "http://") {
		return skipped(HopTLS, "the stack serves plain HTTP (tls: false)")
	}
	if w.awsErr != nil {
		return awsFailure(HopTLS, w.awsErr)
	}
	if w.lb == nil {
		return skipped(HopTLS, "no load balancer to read listeners from (see load-balancer)")
	}
	var tlsListeners []listener
	var attached []string
	portOf := map[string]int32{}
	for _, l := range w.lb.listeners {
		if l.tls() {
			tlsListeners = append(tlsListeners, l)
			attached = append(attached, l.certificates...)
			for _, c := range l.certificates {
				portOf[c] = l.port
			}
		}
	}
	if len(tlsListeners) == 0 {
		return failed(HopTLS, []string{fmt.Sprintf("%s has no HTTPS or TLS listener", w.lb.name)},
			"the URL is https, but no listener ends TLS", "run `pulumi up` (the stack declares the 443 listener with its certificates)")
	}
	var ev []string
	for _, arn := range attached {
		c, err := w.aws.certificate(ctx, arn)
		if err != nil {
			return awsFailure(HopTLS, err)
		}
		if !c.covers(h.host) {
			continue
		}
		ev = append(ev, fmt.Sprintf("%s on listener %d covers %s: %s, expires %s", shortARN(arn), portOf[arn], h.host, c.status, c.notAfter.Format(time.DateOnly)))
		if c.status != string(acmtypes.CertificateStatusIssued) {
			return pendingHop(ev, c)
		}
		left := c.notAfter.Sub(w.opts.Now())
		if left < ExpiryWarning {
			fix := "check that its validation CNAME is still in the zone: ACM renews a DNS-validated certificate only while the record answers"
			if c.imported {
				fix = "import a renewed certificate and put it on the listener"
			}
			return failed(HopTLS, append(ev, fmt.Sprintf("expires in %d days", int(left.Hours()/24))),
				"the certificate is within 30 days of expiry and has not been renewed", fix)
		}
		return ok(HopTLS, ev...)
	}
	// No certificate on the listener covers the host: find out whether one exists.
	all, err := w.aws.allCertificates(ctx)
	if err != nil {
		return awsFailure(HopTLS, err)
	}
	ev = append(ev, fmt.Sprintf("the TLS listeners hold %s; none covers %s", strings.Join(shortARNs(attached), ", "), h.host))
	var pending, issued *certificate
	for _, c := range all {
		if !c.covers(h.host) || slices.Contains(attached, c.arn) {
			continue
		}
		switch c.status {
		case string(acmtypes.CertificateStatusPendingValidation):
			pending = c
		case string(acmtypes.CertificateStatusIssued):
			issued = c
		}
	}
	switch {
	case issued != nil:
		return failed(HopTLS, append(ev, fmt.Sprintf("%s covers %s and is ISSUED, but is on no listener", shortARN(issued.arn), h.host)),
			"a listener without the certificate: the listener was changed outside the stack, or an update stopped half-way",
			"run `pulumi up --refresh`, which puts the stack's certificates back on the listener")
	case pending != nil:
		return pendingHop(ev, pending)
	}
	return failed(HopTLS, ev, "no certificate in ACM covers the host",
		"run `pulumi up`: the stack requests one for every host (and *.<envDomain> on a platform)")
}

func pendingHop(ev []string, c *certificate) Hop {
	return failed(HopTLS, append(ev, fmt.Sprintf("%s is %s", shortARN(c.arn), c.status)),
		"the certificate is pending validation: ACM has not seen its validation CNAME (the zone is not delegated yet, or the record is missing)",
		"check the dns hop's delegation first; `aws acm describe-certificate --certificate-arn "+c.arn+"` shows the record ACM waits for")
}

func (c *awsClients) certificate(ctx context.Context, arn string) (*certificate, error) {
	if got, ok := c.certs[arn]; ok {
		return got, nil
	}
	out, err := c.acm.DescribeCertificate(ctx, &acm.DescribeCertificateInput{CertificateArn: &arn})
	if err != nil {
		return nil, fmt.Errorf("acm:DescribeCertificate %s: %w", arn, err)
	}
	d := out.Certificate
	cert := &certificate{arn: arn, status: string(d.Status), imported: d.Type == acmtypes.CertificateTypeImported}
	cert.names = append(cert.names, aws.ToString(d.DomainName))
	cert.names = append(cert.names, d.SubjectAlternativeNames...)
	if d.NotAfter != nil {
		cert.notAfter = *d.NotAfter
	}
	c.certs[arn] = cert
	return cert, nil
}

// allCertificates are the region's certificates of every status and key type.
func (c *awsClients) allCertificates(ctx context.Context) ([]*certificate, error) {
	if c.all == nil {
		pages := acm.NewListCertificatesPaginator(c.acm, &acm.ListCertificatesInput{
			// Without Includes, ACM lists only RSA 2048 certificates.
			Includes: &acmtypes.Filters{KeyTypes: acmtypes.KeyAlgorithm("").Values()},
		})
		c.all = []string{}
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("acm:ListCertificates in %s: %w", c.region, err)
			}
			for _, s := range page.CertificateSummaryList {
				c.all = append(c.all, aws.ToString(s.CertificateArn))
			}
		}
	}
	var out []*certificate
	for _, arn := range c.all {
		cert, err := c.certificate(ctx, arn)
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	return out, nil
}

// shortARN is an ARN's resource part, e.g. certificate/0df1d426-….
func shortARN(arn string) string {
	if i := strings.LastIndex(arn, ":"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func shortARNs(arns []string) []string {
	out := make([]string, 0, len(arns))
	for _, a := range arns {
		out = append(out, shortARN(a))
	}
	if len(out) == 0 {
		return []string{"no certificate"}
	}
	return out
}
