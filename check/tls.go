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
	// failureReason says why a FAILED request failed, revocationReason why a REVOKED
	// certificate was revoked.
	failureReason, revocationReason string
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
		expires := "expires"
		if w.opts.Now().After(c.notAfter) {
			expires = "expired"
		}
		ev = append(ev, fmt.Sprintf("%s on listener %d covers %s: %s, %s %s", shortARN(arn), portOf[arn], h.host, c.status, expires, c.notAfter.Format(time.DateOnly)))
		return certificateHop(ev, c, w.opts.Now())
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
		return certificateHop(ev, pending, w.opts.Now())
	}
	return failed(HopTLS, ev, "no certificate in ACM covers the host",
		"run `pulumi up`: the stack requests one for every host (and *.<envDomain> on a platform)")
}

// certificateHop judges a certificate that covers the host by its ACM status and its
// expiry: each status other than ISSUED has its own cause and fix (ACM's troubleshooting
// guide: a request that failed or timed out cannot be retried, only replaced).
func certificateHop(ev []string, c *certificate, now time.Time) Hop {
	id := shortARN(c.arn)
	describe := "`aws acm describe-certificate --certificate-arn " + c.arn + "`"
	replace := "have the stack request a new one: `pulumi up --replace <its URN>` (`pulumi stack --show-urns | grep acm/certificate` names it)"
	if c.imported {
		replace = "import a valid certificate in its place and put it on the listener"
	}
	expired := now.After(c.notAfter) && !c.notAfter.IsZero()
	switch acmtypes.CertificateStatus(c.status) {
	case acmtypes.CertificateStatusIssued:
	case acmtypes.CertificateStatusPendingValidation:
		return failed(HopTLS, append(ev, fmt.Sprintf("%s is %s", id, c.status)),
			"the certificate is pending validation: ACM has not seen its validation CNAME (the zone is not delegated yet, or the record is missing)",
			"check the dns hop's delegation first; "+describe+" shows the record ACM waits for")
	case acmtypes.CertificateStatusValidationTimedOut:
		return failed(HopTLS, append(ev, fmt.Sprintf("%s is %s", id, c.status)),
			"the certificate's validation timed out: ACM saw no validation CNAME within 72 hours of the request and stopped trying; it will never be issued",
			"fix what kept the record from answering (the dns hop's delegation, the validation record in the zone), then "+replace)
	case acmtypes.CertificateStatusFailed:
		why := "ACM refused to issue it"
		if c.failureReason != "" {
			why += " (" + c.failureReason + failureReasons[c.failureReason] + ")"
		}
		return failed(HopTLS, append(ev, fmt.Sprintf("%s is %s: %s", id, c.status, orUnknown(c.failureReason))),
			"the certificate request failed: "+why+"; a failed request is never retried",
			"fix the reason ("+describe+" shows it), then "+replace)
	case acmtypes.CertificateStatusRevoked:
		why := ""
		if c.revocationReason != "" {
			why = " (" + c.revocationReason + ")"
		}
		return failed(HopTLS, append(ev, fmt.Sprintf("%s is %s%s", id, c.status, why)),
			"the certificate was revoked"+why+": clients that check revocation refuse it, and a revoked certificate cannot be used again",
			replace)
	case acmtypes.CertificateStatusExpired:
		return expiredHop(ev, c, now)
	case acmtypes.CertificateStatusInactive:
		return failed(HopTLS, append(ev, fmt.Sprintf("%s is %s", id, c.status)),
			"ACM reports the certificate INACTIVE: it is not a certificate ACM will serve as valid, whatever its dates",
			describe+" shows its details; "+replace)
	default:
		return failed(HopTLS, append(ev, fmt.Sprintf("%s is %s", id, orUnknown(c.status))),
			"the certificate is not ISSUED", describe+" shows why")
	}
	if expired {
		return expiredHop(ev, c, now)
	}
	left := c.notAfter.Sub(now)
	if left < ExpiryWarning {
		fix := "check that its validation CNAME is still in the zone: ACM renews a DNS-validated certificate only while the record answers"
		if c.imported {
			fix = "import a renewed certificate and put it on the listener"
		}
		return failed(HopTLS, append(ev, fmt.Sprintf("expires in %s", days(left))),
			"the certificate is within 30 days of expiry and has not been renewed", fix)
	}
	return ok(HopTLS, ev...)
}

// expiredHop is a certificate past its NotAfter: clients refuse it.
func expiredHop(ev []string, c *certificate, now time.Time) Hop {
	when := "is " + c.status
	if now.After(c.notAfter) && !c.notAfter.IsZero() {
		when = fmt.Sprintf("expired %s ago, on %s", days(now.Sub(c.notAfter)), c.notAfter.Format(time.DateOnly))
	}
	cause := "the certificate has expired: every client refuses the TLS handshake; ACM did not renew it (it renews a DNS-validated certificate only while its validation CNAME answers and the certificate is in use)"
	fix := "restore the validation CNAME in the zone (`pulumi up --refresh`), then have the stack request a new certificate: `pulumi up --replace <its URN>` (`pulumi stack --show-urns | grep acm/certificate` names it)"
	if c.imported {
		cause = "the certificate has expired: every client refuses the TLS handshake; ACM never renews an imported certificate"
		fix = "import a renewed certificate and put it on the listener"
	}
	return failed(HopTLS, append(ev, fmt.Sprintf("%s %s", shortARN(c.arn), when)), cause, fix)
}

// days is a duration in whole days, "1 day" or "n days".
func days(d time.Duration) string {
	n := int(d.Hours() / 24)
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

// failureReasons explain ACM's FailureReason codes that a stack's own request can meet.
var failureReasons = map[string]string{
	string(acmtypes.FailureReasonCaaError):                       ": a CAA record of the domain does not allow Amazon to issue (amazon.com, amazontrust.com, awstrust.com or amazonaws.com)",
	string(acmtypes.FailureReasonAdditionalVerificationRequired): ": Amazon needs more information before issuing for this domain; ask AWS support",
	string(acmtypes.FailureReasonDomainNotAllowed):               ": the domain is not one ACM issues for",
	string(acmtypes.FailureReasonInvalidPublicDomain):            ": the name is not a valid public domain",
	string(acmtypes.FailureReasonDomainValidationDenied):         ": the domain's owner denied the validation",
	string(acmtypes.FailureReasonNoAvailableContacts):            ": ACM found no contact to validate the domain by email",
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
	cert := &certificate{arn: arn, status: string(d.Status), imported: d.Type == acmtypes.CertificateTypeImported,
		failureReason: string(d.FailureReason), revocationReason: string(d.RevocationReason)}
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
