package estimate

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// The data ships inside the binary so that the offline plan needs no file beside it; a refresh
// is an edit of the JSON with its source and date, and `go test ./offline/estimate` checks it.
var (
	//go:embed prices.json
	pricesJSON []byte
	//go:embed durations.json
	durationsJSON []byte
)

// Rate keys of RegionPrices.Rates, as prices.json names them.
const (
	RateEKSCluster         = "eksClusterHour"         // USD per cluster-hour, standard support
	RateEKSExtendedCluster = "eksExtendedClusterHour" // USD per cluster-hour, extended support
	RateNATGatewayHour     = "natGatewayHour"         // USD per NAT gateway-hour
	RateNATGatewayGB       = "natGatewayGB"           // USD per GB a NAT gateway processes
	RatePublicIPv4Hour     = "publicIPv4Hour"         // USD per public IPv4 address-hour
	RateALBHour            = "albHour"                // USD per ALB-hour
	RateALBLCUHour         = "albLCUHour"             // USD per ALB LCU-hour
	RateNLBHour            = "nlbHour"                // USD per NLB-hour
	RateNLBLCUHour         = "nlbLCUHour"             // USD per NLB NLCU-hour
	RateClassicELBHour     = "classicELBHour"         // USD per classic ELB-hour
	RateClassicELBGB       = "classicELBGB"           // USD per GB a classic ELB processes
	RateEBSGp3GBMonth      = "ebsGp3GBMonth"          // USD per gp3 GB-month
	RateRoute53ZoneMonth   = "route53ZoneMonth"       // USD per hosted zone-month
	RateKMSKeyMonth        = "kmsKeyMonth"            // USD per customer managed key-month
	RateLogsIngestGB       = "cloudwatchLogsIngestGB" // USD per GB ingested into CloudWatch Logs
)

// Source is where a value came from and when it was read.
type Source struct {
	ID   string `json:"id"`
	What string `json:"what"`
	Date string `json:"date"`
}

// Prices are list prices per region, each with its source, and the assumptions that turn them
// into an hourly cost.
type Prices struct {
	Currency      string `json:"currency"`
	PriceDate     string `json:"priceDate"`
	PriceDateNote string `json:"priceDateNote"`
	// HoursPerMonth converts monthly prices to hourly ones and back: 720, a 30-day month.
	HoursPerMonth     float64                 `json:"hoursPerMonth"`
	HoursPerMonthNote string                  `json:"hoursPerMonthNote"`
	Sources           []Source                `json:"sources"`
	Regions           map[string]RegionPrices `json:"regions"`
	SpotDiscount      SpotDiscount            `json:"spotDiscount"`
	Traffic           Traffic                 `json:"traffic"`
	EKSSupport        EKSSupport              `json:"eksSupport"`
	// FreeTypes are resource types that cost nothing themselves, with why.
	FreeTypes map[string]string `json:"freeTypes"`
	// FreeTypePrefixes are type prefixes ("kubernetes:") whose types all cost nothing.
	FreeTypePrefixes map[string]string `json:"freeTypePrefixes"`
}

// RegionPrices are one region's prices: EC2 on-demand Linux per instance type, and the other
// rates by key (Rate* constants), each key with the id of its source.
type RegionPrices struct {
	EC2     map[string]float64
	Rates   map[string]float64
	Sources map[string]string
}

// UnmarshalJSON reads the region object: "ec2" and "sources" are maps, every other key a rate.
func (rp *RegionPrices) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	rp.Rates = map[string]float64{}
	for k, v := range raw {
		var err error
		switch k {
		case "ec2":
			err = json.Unmarshal(v, &rp.EC2)
		case "sources":
			err = json.Unmarshal(v, &rp.Sources)
		default:
			var f float64
			err = json.Unmarshal(v, &f)
			rp.Rates[k] = f
		}
		if err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	return nil
}

// MarshalJSON writes the region object back in the shape UnmarshalJSON reads.
func (rp RegionPrices) MarshalJSON() ([]byte, error) {
	out := map[string]any{"ec2": rp.EC2, "sources": rp.Sources}
	for k, v := range rp.Rates {
		out[k] = v
	}
	return json.Marshal(out)
}

// SpotDiscount is the fraction spot capacity costs less than on-demand.
type SpotDiscount struct {
	Value     float64            `json:"value"`
	PerRegion map[string]float64 `json:"perRegion"`
	Source    string             `json:"source"`
	Note      string             `json:"note"`
}

// Traffic holds the usage the estimate assumes for charges that follow traffic.
type Traffic struct {
	LCUPerHour          Assumption `json:"lcuPerHour"`
	ClassicELBGBPerHour Assumption `json:"classicELBGBPerHour"`
	NATGBPerHour        Assumption `json:"natGBPerHour"`
	LogIngestGBPerMonth Assumption `json:"logIngestGBPerMonth"`
}

// Assumption is a stated quantity and why it was chosen.
type Assumption struct {
	Value float64 `json:"value"`
	Note  string  `json:"note"`
}

// EKSSupport is the EKS release calendar: when each Kubernetes version leaves standard support
// (and the control plane costs the extended rate) and when it leaves extended support.
type EKSSupport struct {
	Source   string                `json:"source"`
	Versions map[string]EKSVersion `json:"versions"`
}

// EKSVersion is one version's support dates, YYYY-MM-DD in UTC.
type EKSVersion struct {
	EndOfStandardSupport string `json:"endOfStandardSupport"`
	EndOfExtendedSupport string `json:"endOfExtendedSupport"`
}

// DefaultPrices returns the shipped price data (a fresh copy each call).
func DefaultPrices() *Prices {
	p, err := ParsePrices(pricesJSON)
	if err != nil {
		panic(fmt.Sprintf("estimate: the embedded prices.json is invalid: %v", err))
	}
	return p
}

// ParsePrices reads and checks price data in the shape of prices.json.
func ParsePrices(b []byte) (*Prices, error) {
	var p Prices
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	return &p, p.Check()
}

// Clone is a deep copy, for a caller that changes prices (a test, a what-if).
func (p *Prices) Clone() *Prices {
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	c, err := ParsePrices(b)
	if err != nil {
		panic(err)
	}
	return c
}

// Check reports data that cannot be trusted: a value without a known source, an undated
// source, a negative price, a support date that does not parse.
func (p *Prices) Check() error {
	var problems []string
	add := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	known := map[string]bool{}
	for _, s := range p.Sources {
		known[s.ID] = true
		if s.Date == "" || s.What == "" {
			add("source %s has no date or description", s.ID)
		}
	}
	if _, err := time.Parse(time.DateOnly, p.PriceDate); err != nil {
		add("priceDate %q: %v", p.PriceDate, err)
	}
	if p.HoursPerMonth <= 0 || p.Currency == "" {
		add("hoursPerMonth and currency are required")
	}
	for region, rp := range p.Regions {
		for key, v := range rp.Rates {
			if v < 0 {
				add("%s %s is negative", region, key)
			}
			if !known[rp.Sources[key]] {
				add("%s %s has no known source (%q)", region, key, rp.Sources[key])
			}
		}
		if len(rp.EC2) > 0 && !known[rp.Sources["ec2"]] {
			add("%s ec2 has no known source", region)
		}
	}
	for _, id := range []string{p.SpotDiscount.Source, p.EKSSupport.Source} {
		if !known[id] {
			add("source %q is referenced but not listed", id)
		}
	}
	for v, dates := range p.EKSSupport.Versions {
		for _, d := range []string{dates.EndOfStandardSupport, dates.EndOfExtendedSupport} {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				add("eksSupport %s: %v", v, err)
			}
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("prices: %s", strings.Join(problems, "; "))
	}
	return nil
}

// Rate is a region's rate for key with its source id; ok is false when the data has none.
func (p *Prices) Rate(region, key string) (value float64, source string, ok bool) {
	rp, found := p.Regions[region]
	if !found {
		return 0, "", false
	}
	v, found := rp.Rates[key]
	return v, rp.Sources[key], found
}

// OnDemand is the on-demand Linux price of an instance type in a region.
func (p *Prices) OnDemand(region, instanceType string) (float64, bool) {
	v, ok := p.Regions[region].EC2[instanceType]
	return v, ok
}

// Spot is the region's spot discount (a fraction off on-demand) and where it comes from: the
// region's own median when the data has one, else the median over all regions.
func (p *Prices) Spot(region string) (discount float64, basis string) {
	if d, ok := p.SpotDiscount.PerRegion[region]; ok {
		return d, "the " + region + " spot median"
	}
	return p.SpotDiscount.Value, "the all-region spot median"
}

// Free says whether a resource type costs nothing itself, and why.
func (p *Prices) Free(typ string) (string, bool) {
	if why, ok := p.FreeTypes[typ]; ok {
		return why, true
	}
	for prefix, why := range p.FreeTypePrefixes {
		if strings.HasPrefix(typ, prefix) {
			return why, true
		}
	}
	return "", false
}
