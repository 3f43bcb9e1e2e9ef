package check

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	r53types "github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// dnsHop checks the host's alias record in the zone, the delegation of the zone, and that the
// host resolves publicly to the load balancer's addresses.
func (w *walk) dnsHop(ctx context.Context, h host) Hop {
	if w.t.zoneID == "" {
		return skipped(HopDNS, "the stack manages no hosted zone (no zoneId output): its DNS is not the stack's")
	}
	if w.awsErr != nil {
		return awsFailure(HopDNS, w.awsErr)
	}
	var ev []string
	rec, err := w.aws.aliasRecord(ctx, w.t.zoneID, h.record)
	if err != nil {
		return awsFailure(HopDNS, err)
	}
	if rec == nil {
		return failed(HopDNS, []string{fmt.Sprintf("no A record %s in zone %s", h.record, w.t.zoneID)},
			"the alias record of the host is missing from the stack's zone",
			"run `pulumi up` (it declares the record); `aws route53 list-resource-record-sets --hosted-zone-id "+w.t.zoneID+"` shows what the zone holds")
	}
	if rec.AliasTarget == nil {
		return failed(HopDNS, []string{fmt.Sprintf("A %s is a plain record, not an alias", h.record)},
			"the record was replaced by one that does not alias the load balancer",
			"delete the plain record and run `pulumi up`, which declares the alias")
	}
	aliased := strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(aws.ToString(rec.AliasTarget.DNSName)), "dualstack."), ".")
	zone := aws.ToString(rec.AliasTarget.HostedZoneId)
	wantName, wantZone := w.t.loadBalancerDNS, ""
	if w.lb != nil {
		wantName, wantZone = w.lb.dnsName, w.lb.zoneID
	}
	ev = append(ev, fmt.Sprintf("A %s → alias %s (zone %s, evaluateTargetHealth %t)", h.record, aliased, zone, rec.AliasTarget.EvaluateTargetHealth))
	if !sameName(aliased, wantName) || (wantZone != "" && zone != wantZone) {
		return failed(HopDNS, append(ev, fmt.Sprintf("the stack's load balancer is %s (zone %s)", wantName, orUnknown(wantZone))),
			"the record aliases another load balancer than the stack's (another stack's, or one since replaced)",
			"run `pulumi up --refresh` to put the stack's alias back; if another stack owns the name, give one of them another host")
	}

	zoneName, err := w.aws.zoneName(ctx, w.t.zoneID)
	if err != nil {
		return awsFailure(HopDNS, err)
	}
	want := normalNames(w.t.nameServers)
	ns, err := w.opts.Resolver.LookupNS(ctx, zoneName)
	var got []string
	for _, n := range ns {
		got = append(got, n.Host)
	}
	got = normalNames(got)
	if err != nil || !slices.Equal(got, want) {
		answer := strings.Join(got, ", ")
		if err != nil {
			answer = err.Error()
		}
		return failed(HopDNS, append(ev, fmt.Sprintf("NS %s: %s; the zone's name servers are %s", zoneName, answer, strings.Join(want, ", "))),
			fmt.Sprintf("the parent domain does not delegate %s to the zone's name servers (a zone made anew gets new ones)", zoneName),
			fmt.Sprintf("set the NS records of %s at its parent (registrar or parent zone) to the nameServers output: %s", zoneName, strings.Join(want, " ")))
	}
	ev = append(ev, fmt.Sprintf("%s delegated to %s", zoneName, strings.Join(got, ", ")))

	addrs, err := w.opts.Resolver.LookupHost(ctx, h.host)
	if err != nil || len(addrs) == 0 {
		return failed(HopDNS, append(ev, fmt.Sprintf("%s does not resolve: %v", h.host, err)),
			"the delegated zone does not answer for the host yet (a new record takes up to its TTL, and a negative answer is cached for the zone's SOA minimum)",
			"wait a minute and retry (`--wait 5m`); `dig +trace "+h.host+"` shows which server answers")
	}
	lbAddrs, lbErr := w.opts.Resolver.LookupHost(ctx, wantName)
	if lbErr == nil && !overlaps(addrs, lbAddrs) {
		return failed(HopDNS, append(ev, fmt.Sprintf("%s resolves to %s, the load balancer to %s", h.host, strings.Join(addrs, " "), strings.Join(lbAddrs, " "))),
			"the public answer is not the load balancer's: another DNS provider answers for the name, or an old answer is cached",
			"`dig +trace "+h.host+"` shows who answers; make the parent delegate to the stack's zone")
	}
	return ok(HopDNS, append(ev, fmt.Sprintf("%s resolves to %s", h.host, strings.Join(addrs, " ")))...)
}

// aliasRecord is the A record named name in the zone, or nil.
func (c *awsClients) aliasRecord(ctx context.Context, zoneID, name string) (*r53types.ResourceRecordSet, error) {
	out, err := c.route53.ListResourceRecordSets(ctx, &route53.ListResourceRecordSetsInput{
		HostedZoneId: &zoneID, StartRecordName: aws.String(name), StartRecordType: r53types.RRTypeA, MaxItems: aws.Int32(10),
	})
	if err != nil {
		return nil, fmt.Errorf("route53:ListResourceRecordSets of zone %s: %w", zoneID, err)
	}
	for _, rr := range out.ResourceRecordSets {
		// Route 53 writes a wildcard's * as \052.
		got := strings.ReplaceAll(aws.ToString(rr.Name), `\052`, "*")
		if sameName(got, name) && rr.Type == r53types.RRTypeA {
			return &rr, nil
		}
	}
	return nil, nil
}

func (c *awsClients) zoneName(ctx context.Context, zoneID string) (string, error) {
	out, err := c.route53.GetHostedZone(ctx, &route53.GetHostedZoneInput{Id: &zoneID})
	if err != nil {
		return "", fmt.Errorf("route53:GetHostedZone %s: %w", zoneID, err)
	}
	return strings.TrimSuffix(aws.ToString(out.HostedZone.Name), "."), nil
}

// normalNames are DNS names lowercased, without the final dot, sorted.
func normalNames(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.ToLower(strings.TrimSuffix(n, ".")))
	}
	sort.Strings(out)
	return out
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// awsFailure is a hop that could not read AWS: the path is not proven.
func awsFailure(hop string, err error) Hop {
	return failed(hop, []string{err.Error()},
		"the check could not read AWS (credentials, region, or a permission the read-only role lacks)",
		"run with credentials that have ReadOnlyAccess in the stack's account and region (the platform's ciReadOnlyRoleArn)")
}
