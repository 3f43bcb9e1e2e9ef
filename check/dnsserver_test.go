package check_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// dnsServer is a small authoritative-looking DNS server on loopback UDP that the check's
// resolver asks, so the DNS hop runs Go's real resolver (its parsing, its trailing dots).
type dnsServer struct {
	conn net.PacketConn

	mu sync.Mutex
	a  map[string][]string // name (lowercase, no final dot) → IPv4 addresses
	ns map[string][]string // zone name → name servers
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dns server: %v", err)
	}
	s := &dnsServer{conn: conn, a: map[string][]string{}, ns: map[string][]string{}}
	t.Cleanup(func() { _ = conn.Close() })
	go s.serve()
	return s
}

// Resolver is a net.Resolver that asks only this server.
func (s *dnsServer) Resolver() *net.Resolver {
	addr := s.conn.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", addr)
	}}
}

func (s *dnsServer) setA(name string, addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.a[key(name)] = addrs
}

func (s *dnsServer) setNS(zone string, servers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ns[key(zone)] = servers
}

func (s *dnsServer) getNS(zone string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ns[key(zone)]
}

func key(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

func (s *dnsServer) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := s.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, err := s.answer(buf[:n]); err == nil {
			_, _ = s.conn.WriteTo(out, from)
		}
	}
}

// answer answers A, NS and (empty) AAAA questions from the maps; anything else is NXDOMAIN.
func (s *dnsServer) answer(query []byte) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	name := key(q.Name.String())
	s.mu.Lock()
	addrs, hasA := s.a[name]
	servers, hasNS := s.ns[name]
	s.mu.Unlock()
	rcode := dnsmessage.RCodeSuccess
	if !hasA && !hasNS {
		rcode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RCode: rcode})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	switch q.Type {
	case dnsmessage.TypeA:
		for _, a := range addrs {
			ip := netip.MustParseAddr(a).As4()
			if err := b.AResource(rh, dnsmessage.AResource{A: ip}); err != nil {
				return nil, err
			}
		}
	case dnsmessage.TypeNS:
		for _, ns := range servers {
			if err := b.NSResource(rh, dnsmessage.NSResource{NS: dnsmessage.MustNewName(key(ns) + ".")}); err != nil {
				return nil, err
			}
		}
	}
	return b.Finish()
}
