// Package webhooks delivers Holdfast's events to partners' endpoints: a
// dispatcher that claims due deliveries from the outbox (package storage)
// and POSTs them, signed, to URLs that cannot reach into the network the
// server runs in.
package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress is a webhook URL whose host is, or resolves to, an
// address the server must not call (loopback, private, link-local...).
var ErrForbiddenAddress = errors.New("webhooks: the address is not public")

// MaxURLLen bounds an endpoint's URL.
const MaxURLLen = 2048

// CheckURL validates an endpoint URL at creation: https with a host (and
// no credentials), or, with allowPrivate, http too. A host that is an IP
// literal (or localhost) is refused unless public or allowPrivate. Host
// names are resolved and checked again on every delivery (Client's dialer),
// where it matters: DNS can change after creation.
func CheckURL(raw string, allowPrivate bool) error {
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
	host := u.Hostname()
	if allowPrivate {
		return nil
	}
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return ErrForbiddenAddress
	}
	if a, err := netip.ParseAddr(host); err == nil && !Public(a) {
		return ErrForbiddenAddress
	}
	return nil
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
		var addrs []netip.Addr
		if a, err := netip.ParseAddr(host); err == nil {
			addrs = []netip.Addr{a}
		} else {
			if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
				return nil, err
			}
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("webhooks: %s has no address", host)
		}
		if !allowPrivate {
			for _, a := range addrs {
				if !Public(a) {
					return nil, fmt.Errorf("%w: %s resolves to %s", ErrForbiddenAddress, host, a)
				}
			}
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
