// Package dns builds the outermost hop of the request path: the Route 53 hosted zone (created by
// the stack or an existing one), ACM certificates for every hostname with their DNS validation,
// and an alias record per hostname to the load balancer. On a platform stack it also covers
// *.<envDomain>, where environment stacks' hosts live.
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
	// Certificate asks for ACM certificates covering every hostname.
	Certificate bool
	// EnvDomain, when set, adds a certificate and an alias for *.<EnvDomain>.
	EnvDomain string

	NamePrefix string
	Tags       map[string]string
}

// Dns is the DNS component. The zone and the certificate depend on nothing but the
// configuration, so they are built while the cluster is.
type Dns struct {
	pulumi.ResourceState

	ZoneID      pulumi.StringOutput
	NameServers pulumi.StringArrayOutput
	// CertificateArns are the ARNs of the validated certificates, the first one the listener's
	// default (empty without certificates).
	CertificateArns pulumi.StringArrayOutput

	name      string
	domain    string
	hosts     []string
	envDomain string
	// retain keeps records on delete: in a zone the stack does not own, another stack may rely
	// on them.
	retain bool
}

// NamesPerCertificate is ACM's default quota of names in one certificate. Hostnames are split
// into certificates of at most this many names, in order, so adding an app never changes the
// certificates of the apps before it.
const NamesPerCertificate = 10

// CertificateGroups splits the hostnames into the certificates that cover them.
func CertificateGroups(hosts []string) [][]string {
	var out [][]string
	for start := 0; start < len(hosts); start += NamesPerCertificate {
		out = append(out, hosts[start:min(start+NamesPerCertificate, len(hosts))])
	}
	return out
}

// NewDns builds the zone and, when asked, the validated certificate.
func NewDns(ctx *pulumi.Context, name string, args DnsArgs, opts ...pulumi.ResourceOption) (*Dns, error) {
	if len(args.Hostnames) == 0 {
		return nil, fmt.Errorf("dns: no hostnames")
	}
	c := &Dns{name: name, domain: args.Domain, hosts: args.Hostnames, envDomain: args.EnvDomain, retain: args.Existing != nil}
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

	var arns pulumi.StringArray
	if args.Certificate {
		for i, group := range CertificateGroups(args.Hostnames) {
			arn, err := c.certificate(ctx, certificateSpec{index: i, hosts: group, firstHost: i * NamesPerCertificate}, parent, tags)
			if err != nil {
				return nil, err
			}
			arns = append(arns, arn)
		}
		if args.EnvDomain != "" {
			arn, err := c.certificate(ctx, certificateSpec{role: "env-", hosts: []string{"*." + args.EnvDomain}}, parent, tags)
			if err != nil {
				return nil, err
			}
			arns = append(arns, arn)
		}
	}
	c.CertificateArns = arns.ToStringArrayOutput()

	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"zoneId":          c.ZoneID,
		"nameServers":     c.NameServers,
		"certificateArns": c.CertificateArns,
	}); err != nil {
		return nil, fmt.Errorf("dns: registering outputs: %w", err)
	}
	return c, nil
}

// certificateSpec is one certificate: its hostnames and how its resources are named.
type certificateSpec struct {
	role      string // "" for the apps' certificates, "env-" for the environments' wildcard
	index     int    // the certificate's place among the apps' certificates
	hosts     []string
	firstHost int // the index of hosts[0] among all hostnames: validation records keep it
}

// role names one of the certificate's resources: "certificate", "certificate-1",
// "env-certificate-validation", … The first certificate keeps the names a single one had.
func (s certificateSpec) roleOf(what string) string {
	if s.index == 0 {
		return s.role + what
	}
	return fmt.Sprintf("%s%s-%d", s.role, what, s.index)
}

// certificate requests one certificate for its hostnames, writes each validation record into
// the zone and waits for ACM to issue it. Listeners take the validated ARN, so no listener is
// ever given a certificate that is still pending.
func (c *Dns) certificate(ctx *pulumi.Context, spec certificateSpec, parent pulumi.ResourceOption, tags func(string) pulumi.StringMap) (pulumi.StringOutput, error) {
	cert, err := acm.NewCertificate(ctx, naming.Child(c.name, spec.roleOf("certificate")), &acm.CertificateArgs{
		DomainName:              pulumi.String(spec.hosts[0]),
		SubjectAlternativeNames: pulumi.ToStringArray(spec.hosts[1:]),
		ValidationMethod:        pulumi.String("DNS"),
		Tags:                    tags(spec.roleOf("certificate")),
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("dns: certificate for %s: %w", spec.hosts[0], err)
	}
	var fqdns pulumi.StringArray
	for i, host := range spec.hosts {
		option := validationOption(cert, host)
		name := naming.Child(c.name, "validation", spec.firstHost+i)
		if spec.role != "" {
			name = naming.Child(c.name, spec.role+"validation")
		}
		opts := []pulumi.ResourceOption{parent}
		if c.retain {
			// Another stack validating the same name in this shared zone uses the same record
			// (ACM's record is the same for a name in one account); deleting it would break
			// that certificate's renewal.
			opts = append(opts, pulumi.RetainOnDelete(true))
		}
		record, err := route53.NewRecord(ctx, name, &route53.RecordArgs{
			ZoneId:  c.ZoneID,
			Name:    option.ResourceRecordName().Elem(),
			Type:    option.ResourceRecordType().Elem(),
			Records: pulumi.StringArray{option.ResourceRecordValue().Elem()},
			Ttl:     pulumi.Int(60),
			// ACM gives names in one account the same record; a second write is then a no-op.
			AllowOverwrite: pulumi.Bool(true),
		}, opts...)
		if err != nil {
			return pulumi.StringOutput{}, fmt.Errorf("dns: validation record for %s: %w", host, err)
		}
		fqdns = append(fqdns, record.Fqdn)
	}
	validation, err := acm.NewCertificateValidation(ctx, naming.Child(c.name, spec.roleOf("certificate-validation")), &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: fqdns,
	}, parent)
	if err != nil {
		return pulumi.StringOutput{}, fmt.Errorf("dns: certificate validation for %s: %w", spec.hosts[0], err)
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

// AliasTo points every hostname (and *.<envDomain>) at the load balancer with an alias A record
// that evaluates the target's health, and returns the hostnames' FQDNs. The records are children
// of the Dns component; they come after it because the load balancer does.
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
	if c.envDomain != "" {
		// Every environment's hosts are one label under envDomain: one wildcard record serves
		// them all, so an environment stack writes no record of its own.
		if _, err := route53.NewRecord(ctx, naming.Child(c.name, "env-alias"), &route53.RecordArgs{
			ZoneId: c.ZoneID,
			Name:   pulumi.String("*." + c.envDomain),
			Type:   pulumi.String("A"),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name:                 target.DNSName,
				ZoneId:               target.ZoneID,
				EvaluateTargetHealth: pulumi.Bool(true),
			}},
		}, pulumi.Parent(c)); err != nil {
			return pulumi.StringArrayOutput{}, fmt.Errorf("dns: alias record for *.%s: %w", c.envDomain, err)
		}
	}
	return fqdns.ToStringArrayOutput(), nil
}
