// Package webhooks delivers Holdfast's events to partners' endpoints: a
// dispatcher that claims due deliveries from the outbox (package storage)
// and POSTs them, signed, to URLs that cannot reach into the network the
// server runs in.
package webhooks

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is a webhook URL whose host is, or resolves to, an
// address the server must not call (loopback, private, link-local...).
var ErrForbiddenAddress = errors.New("webhooks: the address is not public")

// ErrBadHost is a webhook URL whose host is neither a plain DNS name nor
// an IP address in its canonical spelling.
var ErrBadHost = errors.New("webhooks: the host must be a DNS name (ASCII letters, digits, '-', '_' and dots) or an IP address in its usual spelling")

// ErrUnresolvable is a host name the resolver could not look up.
var ErrUnresolvable = errors.New("webhooks: could not resolve host")

// MaxURLLen bounds an endpoint's URL.
const MaxURLLen = 2048

// Resolver looks host names up: net.DefaultResolver, or one a test
// injects.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// lookupTimeout bounds CheckURL's look-up.
const lookupTimeout = 3 * time.Second

// CheckURL validates an endpoint URL at creation and update: https with a
// host (and no credentials), or, with allowPrivate, http too; the host
// goes through CheckHost, the check every delivery makes again (Client's
// dialer), where it matters most: DNS can change after creation. A name
// that does not resolve now is accepted (the delivery will check it); one
// that resolves to any address not public is refused. r nil is
// net.DefaultResolver.
func CheckURL(ctx context.Context, r Resolver, raw string, allowPrivate bool) error {
	if len(raw) > MaxURLLen {
		return errors.New("the URL is longer than 2048 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return errors.New("not an absolute URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	default:
		return errors.New("the URL must be https://")
	}
	if u.User != nil {
		return errors.New("the URL must not carry credentials")
	}
	if u.Fragment != "" {
		return errors.New("the URL must not have a fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != p {
			return errors.New("the port must be a number from 1 to 65535")
		}
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	if _, err := CheckHost(ctx, r, u.Hostname(), allowPrivate); err != nil && !errors.Is(err, ErrUnresolvable) {
		return err
	}
	return nil
}

// CheckHost is the one check of a webhook's host, made at creation, at
// update and by every delivery's dialer: it returns the addresses to
// connect to. The host must be an IP address in its canonical spelling, or
// a plain DNS name: ASCII (an international name in its xn-- spelling),
// labels of letters, digits, '-' and '_', no trailing dot, and not
// numeric-looking (a last label of digits, or 0x and hex digits: what
// inet_aton would read as an address, as 127.1, 0x7f000001 or 2130706433
// do). Unless allowPrivate, localhost and *.localhost are refused, and a
// name is resolved (with r; nil is net.DefaultResolver) and refused if any
// of its addresses is not Public.
func CheckHost(ctx context.Context, r Resolver, host string, allowPrivate bool) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" || a.Is4() && a.String() != host {
			return nil, ErrBadHost
		}
		if !allowPrivate && !Public(a) {
			return nil, ErrForbiddenAddress
		}
		return []netip.Addr{a}, nil
	}
	if !plainDNSName(host) {
		return nil, ErrBadHost
	}
	lower := strings.ToLower(host)
	if !allowPrivate && (lower == "localhost" || strings.HasSuffix(lower, ".localhost")) {
		return nil, ErrForbiddenAddress
	}
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnresolvable, err)
	}
	if len(addrs) == 0 {
		return nil, ErrUnresolvable
	}
	if !allowPrivate {
		for _, a := range addrs {
			if !Public(a) {
				return nil, ErrForbiddenAddress
			}
		}
	}
	return addrs, nil
}

// plainDNSName: 1-253 bytes of dot-separated labels of 1-63 ASCII letters,
// digits, '-' and '_' (not starting or ending with '-'), the last label not
// numeric-looking.
func plainDNSName(host string) bool {
	if host == "" || len(host) > 253 {
		return false
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return !numericLabel(labels[len(labels)-1])
}

// numericLabel: all decimal digits, or 0x and hex digits (the WHATWG URL
// standard's "ends in a number").
func numericLabel(l string) bool {
	digits := l
	hex := false
	if len(l) >= 2 && l[0] == '0' && (l[1] == 'x' || l[1] == 'X') {
		digits, hex = l[2:], true
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !(c >= '0' && c <= '9' || hex && (c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')) {
			return false
		}
	}
	return true
}

// DescribeError says why a delivery's request failed, for lastError: no
// address of the server's own network (its resolver's, or what a name
// resolved to) is shown.
func DescribeError(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.Is(err, ErrForbiddenAddress):
		return "refused: the host is, or resolves to, an address that is not public"
	case errors.Is(err, ErrBadHost):
		return "refused: " + strings.TrimPrefix(ErrBadHost.Error(), "webhooks: ")
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "could not resolve host: no such host"
		}
		if dnsErr.IsTimeout {
			return "could not resolve host: timed out"
		}
		return "could not resolve host"
	case errors.Is(err, ErrUnresolvable):
		return "could not resolve host"
	case errors.As(err, &certErr):
		return "TLS: the certificate could not be verified for the host"
	case errors.As(err, &recordErr) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "TLS: the endpoint does not serve https"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	}
	return "request failed"
}

// forbidden are the ranges no webhook may reach besides what netip's
// predicates name (loopback, private, link-local, multicast, unspecified).
var forbidden = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",         // "this network"
		"100.64.0.0/10",     // carrier-grade NAT
		"192.0.0.0/24",      // IETF protocol assignments
		"192.0.2.0/24",      // documentation
		"198.18.0.0/15",     // benchmarking
		"198.51.100.0/24",   // documentation
		"203.0.113.0/24",    // documentation
		"240.0.0.0/4",       // reserved, and the broadcast address
		"64:ff9b::/96",      // NAT64: could reach any IPv4 address, private ones included
		"64:ff9b:1::/48",    // local-use NAT64
		"100::/64",          // discard-only
		"2001::/23",         // IETF protocol assignments (Teredo...)
		"2001:db8::/32",     // documentation
		"2002::/16",         // 6to4: embeds an IPv4 address
		"fc00::/7",          // unique local
		"fec0::/10",         // site-local (deprecated)
		"::/128", "::1/128", // unspecified, loopback
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Public reports whether a is an address a webhook may be delivered to: a
// global unicast address outside every special-purpose range.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range forbidden {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Client is the HTTP client deliveries go out with: timeout per attempt,
// no proxy, no redirects (a 3xx is an answer, and a failed one), and a
// dialer that resolves the host itself, refuses it unless every address is
// public (or allowPrivate), and dials the address it checked, so DNS cannot
// answer one thing to the check and another to the connection. The socket's
// final address is checked once more just before connecting.
func Client(timeout time.Duration, allowPrivate bool) *http.Client {
	return ClientWith(timeout, allowPrivate, nil)
}

// ClientWith is Client looking names up with r (nil: net.DefaultResolver).
func ClientWith(timeout time.Duration, allowPrivate bool, r Resolver) *http.Client {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !Public(ap.Addr()) {
				return ErrForbiddenAddress
			}
			return nil
		}
	}
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		addrs, err := CheckHost(ctx, r, host, allowPrivate)
		if err != nil {
			return nil, err
		}
		var last error
		for _, a := range addrs {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			last = err
		}
		return nil, last
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dial,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
