package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// httpHop GETs the host's URL through the load balancer (the connection goes to its DNS name,
// the request and TLS name are the host's), and wants 200 with the app's page.
func (w *walk) httpHop(ctx context.Context, h host) Hop {
	dial := w.opts.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
	}
	lb := w.t.loadBalancerDNS
	if w.lb != nil {
		lb = w.lb.dnsName
	}
	client := &http.Client{
		Timeout: w.opts.HTTPTimeout,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
				if _, port, err := net.SplitHostPort(address); err == nil && lb != "" {
					address = net.JoinHostPort(lb, port)
				}
				return dial(ctx, network, address)
			},
			TLSClientConfig:   &tls.Config{ServerName: h.host, RootCAs: w.opts.RootCAs, MinVersion: tls.VersionTLS12},
			DisableKeepAlives: true,
		},
		// A redirect is an answer to report, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return failed(HopHTTP, []string{err.Error()}, "the URL output is not a request", "check the urls output")
	}
	via := "through " + orUnknown(lb)
	start := time.Now()
	resp, err := client.Do(req)
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		return failed(HopHTTP, []string{fmt.Sprintf("GET %s %s: %v after %s", h.url, via, err, took)}, connectionCause(err), connectionFix(err))
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	ev := []string{fmt.Sprintf("GET %s %s: %s in %s", h.url, via, resp.Status, took)}
	switch {
	case resp.StatusCode == http.StatusOK && strings.Contains(string(body), pageMarker+h.app):
		return ok(HopHTTP, append(ev, fmt.Sprintf("the page of app %s", h.app))...)
	case resp.StatusCode == http.StatusOK:
		return failed(HopHTTP, append(ev, fmt.Sprintf("the page does not name app %s: %q", h.app, firstLine(string(body)))),
			"another backend answered for the host: two Ingresses claim it, or the Ingress routes to another app's Service",
			"`kubectl get ingress -A` and look for the host twice")
	}
	r, ok := statusCauses[resp.StatusCode]
	if !ok {
		r = reason{fmt.Sprintf("the path answered %s", resp.Status), "the controller's logs (`kubectl -n traefik logs deploy/traefik`) say why"}
	}
	return failed(HopHTTP, ev, r.cause, r.fix)
}

var statusCauses = map[int]reason{
	http.StatusMovedPermanently: {"the request was redirected (HTTP to HTTPS): the URL's scheme is not the one the stack serves", "use the https URL of the urls output"},
	http.StatusNotFound:         {"the controller has no route for the host: no Ingress of its class for it", "`kubectl get ingress -A`; the Ingress must have the host and class traefik"},
	http.StatusBadGateway:       {"the controller could not talk to the app's pods: a NetworkPolicy, or the app's port", "`kubectl -n traefik logs deploy/traefik`; the app's NetworkPolicy must admit the controller's pods"},
	http.StatusServiceUnavailable: {"a 503 from the controller: it has no ready server for the route (the Service's endpoints), or the app itself answered 503",
		"`kubectl get endpointslices -A` for the app's Service, and the controller's logs (`kubectl -n traefik logs deploy/traefik`)"},
	http.StatusGatewayTimeout: {"the app's pods did not answer the controller in time", "the app's logs and readiness; NetworkPolicy between the controller and the app"},
}

func connectionCause(err error) string {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &hostErr):
		return "the load balancer serves a certificate that does not cover the host"
	case errors.As(err, &unknownCA):
		return "the load balancer serves a certificate no trusted authority signed"
	case errors.As(err, &dnsErr):
		return "the load balancer's DNS name does not resolve"
	case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "timeout"):
		return "no answer in time: the load balancer's security group does not admit this client, or nothing listens"
	}
	return "the connection to the load balancer failed"
}

func connectionFix(err error) string {
	var hostErr x509.HostnameError
	if errors.As(err, &hostErr) {
		return "see the tls hop: the listener must hold a certificate for the host"
	}
	return "check the load-balancer hop (listeners, security group) and run from an address in allowedCidrs"
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return s
}
