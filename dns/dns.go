// Package dns builds the outermost hop of the request path: the Route 53 hosted zone (created by
// the stack or an existing one), the ACM certificate for every hostname with its DNS validation,
// and an alias record per hostname to the load balancer.
package dns

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/outside-in/outside-in/internal/naming"
)

// ExistingZone is a public hosted zone looked up before anything is built.
type ExistingZone struct {
	ID          string
	NameServers []string
}

// DnsArgs configures a Dns.
type DnsArgs struct {
	// Domain is the zone's name; every hostname is inside it.
	Domain string
	// Existing, when set, is used instead of creating a zone.
	Existing *ExistingZone
	// Hostnames are the apps' hostnames, in order.
	Hostnames []string
	// Certificate asks for an ACM certificate covering every hostname.
	Certificate bool

	NamePrefix string
	Tags       map[string]string
}

// Dns is the DNS component. The zone and the certificate depend on nothing but the
// configuration, so they are built while the cluster is.
type Dns struct {
	pulumi.ResourceState

	ZoneID      pulumi.StringOutput
	NameServers pulumi.StringArrayOutput
	// CertificateArn is the ARN of the certificate once validated (empty without a certificate).
	CertificateArn pulumi.StringOutput

	name   string
	domain string
	hosts  []string
}

// NewDns builds the zone and, when asked, the validated certificate.
func NewDns(ctx *pulumi.Context, name string, args DnsArgs, opts ...pulumi.ResourceOption) (*Dns, error) {
	if len(args.Hostnames) == 0 {
		return nil, fmt.Errorf("dns: no hostnames")
	}
	c := &Dns{name: name, domain: args.Domain, hosts: args.Hostnames}
	if err := ctx.RegisterComponentResource("outside-in:dns:Dns", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	tags := func(role string) pulumi.StringMap { return naming.Tags(args.Tags, args.NamePrefix+"-"+role) }

	if args.Existing != nil {
		c.ZoneID = pulumi.String(args.Existing.ID).ToStringOutput()
		c.NameServers = pulumi.ToStringArray(args.Existing.NameServers).ToStringArrayOutput()
	} else {
		zone, err := route53.NewZone(ctx, naming.Child(name, "zone"), &route53.ZoneArgs{
			Name:    pulumi.String(args.Domain),
			Comment: pulumi.Sprintf("outside-in %s", args.NamePrefix),
			Tags:    tags("zone"),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("dns: hosted zone %s: %w", args.Domain, err)
		}
		c.ZoneID = zone.ZoneId
		c.NameServers = zone.NameServers
	}

	c.CertificateArn = pulumi.String("").ToStringOutput()
	if args.Certificate {
		arn, err := c.certificate(ctx, args, parent, tags("certificate"))
		if err != nil {
			return nil, err
		}
		c.CertificateArn = arn
	}

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"zoneId":         c.ZoneID,
		"nameServers":    c.NameServers,
		"certificateArn": c.CertificateArn,
	}); err != nil {
		return nil, fmt.Errorf("dns: registering outputs: %w", err)
	}
	return c, nil
}

// certificate requests one certificate for all hostnames, writes each validation record into the
// zone and waits for ACM to issue it. Listeners take the validated ARN, so no listener is ever
// given a certificate that is still pending.
func (c *Dns) certificate(ctx *pulumi.Context, args DnsArgs, parent pulumi.ResourceOption, tags pulumi.StringMap) (pulumi.StringOutput, error) {
	cert, err := acm.NewCertificate(ctx, naming.Child(c.name, "certificate"), &acm.CertificateArgs{
		DomainName:              pulumi.String(args.Hostnames[0]),
		SubjectAlternativeNames: pulumi.ToStringArray(args.Hostnames[1:]),
		ValidationMethod:        pulumi.String("DNS"),
		Tags:                    tags,
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("dns: certificate: %w", err)
	}
	var fqdns pulumi.StringArray
	for i, host := range args.Hostnames {
		option := validationOption(cert, host)
		record, err := route53.NewRecord(ctx, naming.Child(c.name, "validation", i), &route53.RecordArgs{
			ZoneId:  c.ZoneID,
			Name:    option.ResourceRecordName().Elem(),
			Type:    option.ResourceRecordType().Elem(),
			Records: pulumi.StringArray{option.ResourceRecordValue().Elem()},
			Ttl:     pulumi.Int(60),
			// ACM may give two names the same record; the second write is then a no-op.
			AllowOverwrite: pulumi.Bool(true),
		}, parent)
		if err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("dns: validation record for %s: %w", host, err)
		}
		fqdns = append(fqdns, record.Fqdn)
	}
	validation, err := acm.NewCertificateValidation(ctx, naming.Child(c.name, "certificate-validation"), &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: fqdns,
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("dns: certificate validation: %w", err)
	}
	return validation.CertificateArn, nil
}

// validationOption picks the validation record ACM asks for the hostname.
func validationOption(cert *acm.Certificate, host string) acm.CertificateDomainValidationOptionOutput {
	return cert.DomainValidationOptions.ApplyT(func(options []acm.CertificateDomainValidationOption) (acm.CertificateDomainValidationOption, error) {
		for _, o := range options {
			if o.DomainName != nil && *o.DomainName == host {
				return o, nil
			}
		}
		return acm.CertificateDomainValidationOption{}, fmt.Errorf("dns: ACM gave no validation record for %s", host)
	}).(acm.CertificateDomainValidationOptionOutput)
}

// AliasTarget is a load balancer's DNS name and canonical hosted zone.
type AliasTarget struct {
	DNSName pulumi.StringInput
	ZoneID  pulumi.StringInput
}

// AliasTo points every hostname at the load balancer with an alias A record that evaluates the
// target's health, and returns the hostnames' FQDNs. The records are children of the Dns
// component; they come after it because the load balancer does.
func (c *Dns) AliasTo(ctx *pulumi.Context, target AliasTarget) (pulumi.StringArrayOutput, error) {
	var fqdns pulumi.StringArray
	for i, host := range c.hosts {
		record, err := route53.NewRecord(ctx, naming.Child(c.name, "alias", i), &route53.RecordArgs{
			ZoneId: c.ZoneID,
			Name:   pulumi.String(host),
			Type:   pulumi.String("A"),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name:                 target.DNSName,
				ZoneId:               target.ZoneID,
				EvaluateTargetHealth: pulumi.Bool(true),
			}},
		}, pulumi.Parent(c))
		if err != nil {
			return pulumi.StringArrayOutput{}, fmt.Errorf("dns: alias record for %s: %w", host, err)
		}
		fqdns = append(fqdns, record.Fqdn)
	}
	return fqdns.ToStringArrayOutput(), nil
}
