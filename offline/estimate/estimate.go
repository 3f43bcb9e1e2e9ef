// Package estimate says, from an offline plan, what the stack would cost per hour and per 30-day
// month at list prices, and how long its first deploy would take along its longest chain of
// creates. Prices (prices.json) and create durations (durations.json) are data with their date
// and source, embedded in the binary; a resource type that costs money but has no price is
// listed as unpriced, never counted as zero.
//
// The estimate is of a running, idle stack: traffic charges (load balancer capacity units, data
// processed, data transfer) follow the stated traffic assumptions in prices.json, zero by
// default. The deploy time assumes Pulumi creates everything in parallel that the dependency
// graph allows.
package estimate

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/outside-in/outside-in/offline/plan"
)

// Options tune an estimate.
type Options struct {
	// Prices and Durations replace the shipped data (a what-if, a test); nil uses it.
	Prices    *Prices
	Durations *Durations
	// Now decides which EKS versions are past standard support; zero means the current time.
	Now time.Time
}

// Report is the estimate of one plan. Its JSON is `cmd/plan --format estimate`.
type Report struct {
	Currency      string  `json:"currency"`
	PriceDate     string  `json:"priceDate"`
	Region        string  `json:"region"`
	HoursPerMonth float64 `json:"hoursPerMonth"`
	HourlyUSD     float64 `json:"hourlyUSD"`
	MonthlyUSD    float64 `json:"monthlyUSD"`
	Items         []Item  `json:"items"`
	// Unpriced resources cost money the totals leave out.
	Unpriced     []Unpriced   `json:"unpriced"`
	CriticalPath CriticalPath `json:"criticalPath"`
	// Assumptions are the stated quantities behind traffic-dependent charges.
	Assumptions []string `json:"assumptions"`
	Warnings    []string `json:"warnings"`

	// hourly and monthly are the totals before rounding, which the summary rounds once.
	hourly, monthly float64
}

// Estimate prices the plan's resources and finds its first-deploy critical path.
func Estimate(res *plan.Result, opts Options) (*Report, error) {
	prices, durations := opts.Prices, opts.Durations
	if prices == nil {
		prices = DefaultPrices()
	}
	if durations == nil {
		durations = DefaultDurations()
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	region := res.Stack.Region()
	if res.Fake != nil {
		region = res.Fake.Region() // the region the program ran in, the fake's default included
	}
	c := &costing{prices: prices, region: region, now: now.UTC(), resources: res.Resources}
	c.price()
	rep := &Report{
		Currency: prices.Currency, PriceDate: prices.PriceDate, Region: region, HoursPerMonth: prices.HoursPerMonth,
		Items: c.items, Unpriced: c.unpriced, Warnings: c.warnings,
	}
	if rep.Items == nil {
		rep.Items = []Item{}
	}
	if rep.Unpriced == nil {
		rep.Unpriced = []Unpriced{}
	}
	if _, ok := prices.Regions[region]; !ok {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("prices.json has no prices for %s", region))
	}
	for _, it := range rep.Items {
		rep.HourlyUSD += it.HourlyUSD
	}
	rep.MonthlyUSD = rep.HourlyUSD * prices.HoursPerMonth
	rep.hourly, rep.monthly = rep.HourlyUSD, rep.MonthlyUSD
	rep.HourlyUSD, rep.MonthlyUSD = round(rep.HourlyUSD, 4), round(rep.MonthlyUSD, 2)
	t := prices.Traffic
	rep.Assumptions = []string{
		fmt.Sprintf("load balancer capacity units: %g per hour (%s)", t.LCUPerHour.Value, t.LCUPerHour.Note),
		fmt.Sprintf("classic ELB data: %g GB per hour (%s)", t.ClassicELBGBPerHour.Value, t.ClassicELBGBPerHour.Note),
		fmt.Sprintf("NAT gateway data: %g GB per hour (%s)", t.NATGBPerHour.Value, t.NATGBPerHour.Note),
		fmt.Sprintf("log ingestion: %g GB per log group per month (%s)", t.LogIngestGBPerMonth.Value, t.LogIngestGBPerMonth.Note),
		fmt.Sprintf("spot: %s", prices.SpotDiscount.Note),
		fmt.Sprintf("month: %g hours (%s)", prices.HoursPerMonth, prices.HoursPerMonthNote),
	}
	cp, err := newGraph(res.Resources, durations).criticalPath(durations)
	if err != nil {
		return nil, fmt.Errorf("estimate: %w", err)
	}
	cp.Minutes = round(cp.Minutes, 2)
	rep.CriticalPath = cp
	if rep.CriticalPath.Steps == nil {
		rep.CriticalPath.Steps = []Step{}
	}
	if rep.CriticalPath.Avoidable == nil {
		rep.CriticalPath.Avoidable = []Wait{}
	}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	return rep, nil
}

// Summary is the two lines the default plan view ends with: the cost and the first deploy.
func (r *Report) Summary() []string {
	cost := fmt.Sprintf("cost: $%.2f/h ($%.0f per 30-day month) in %s at list prices (EC2 of %s), idle, before traffic",
		r.hourly, r.monthly, r.Region, r.PriceDate)
	if len(r.Items) == 0 && len(r.Unpriced) == 0 {
		// A stack on a cluster it is given (an environment, bare metal) has no region to price.
		cost = "cost: $0/h: the stack creates nothing AWS charges for"
	}
	if n := len(r.Unpriced); n > 0 {
		var names []string
		for _, u := range r.Unpriced {
			names = append(names, lastName(u.URN))
		}
		cost += fmt.Sprintf("; %d unpriced, not counted (%s)", n, strings.Join(names, ", "))
	}
	if n := len(r.Warnings); n > 0 {
		cost += fmt.Sprintf("; %d warning(s)", n)
	}
	// The steps worth naming; the few-second ones are summed into the total only.
	var named []string
	hidden := 0
	for _, s := range r.CriticalPath.Steps {
		if s.Minutes < 0.25 {
			hidden++
			continue
		}
		named = append(named, fmt.Sprintf("%s %s", s.Label, trimFloat(round(s.Minutes, 1))))
	}
	deploy := fmt.Sprintf("first deploy: ~%.0f min: %s", r.CriticalPath.Minutes, strings.Join(named, " → "))
	if hidden > 0 {
		deploy += fmt.Sprintf(" (+%d quick steps)", hidden)
	}
	if n := len(r.CriticalPath.Avoidable); n > 0 {
		w := r.CriticalPath.Avoidable[0]
		deploy += fmt.Sprintf("; %d avoidable wait(s), e.g. %s waits on %s (−%s min)", n, lastName(w.URN), lastName(w.WaitsOn),
			trimFloat(round(w.SavedMinutes, 1)))
	}
	return []string{cost, deploy}
}

// lastName is the resource name at the end of a URN.
func lastName(urn string) string { return urn[strings.LastIndex(urn, "::")+2:] }

func round(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
