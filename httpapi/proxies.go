package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// TrustedProxies are the peers whose X-Forwarded-For the server believes
// (TRUSTED_PROXIES): the load balancers and proxies in front of it. Empty,
// every client is its peer address.
type TrustedProxies []netip.Prefix

// ParseTrustedProxies reads CIDR prefixes ("10.0.0.0/8", "fd00::/8"); a
// bare address is a /32 or /128, and IPv4-mapped IPv6 ones are taken as
// IPv4. Blank entries are skipped.
func ParseTrustedProxies(list []string) (TrustedProxies, error) {
	var out TrustedProxies
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "%") {
			return nil, fmt.Errorf("%q: an address with a zone cannot be trusted", s)
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not a CIDR prefix (e.g. 10.0.0.0/8)", s)
			}
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				// Addresses are compared unmapped: so is this prefix.
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Trusts reports whether a is one of the trusted proxies (an IPv4-mapped
// IPv6 address counts as its IPv4 address).
func (t TrustedProxies) Trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the address the request is from, for the access log and
// every per-address limit.
//
// A peer (RemoteAddr) that is not a trusted proxy is the client; its
// X-Forwarded-For is ignored. From a trusted peer, X-Forwarded-For (all its
// lines, in order, as one comma-separated list) is walked from the right,
// where each trusted hop appended the address it received the request
// from, skipping trusted addresses: the first untrusted one is the client.
// The left-most entries are whatever the client sent and are never
// believed for that reason alone. If every entry is trusted, the left-most
// is the client. A malformed entry (not an IP address, optionally with a
// port, nor empty) stops the walk: a trusted hop did not write it, so
// nothing left of it is believed, and the client is the last address
// walked over (the peer, if the right-most entry is malformed).
func (t TrustedProxies) ClientAddr(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return remoteHost(r.RemoteAddr)
	}
	client := peer.Addr().Unmap()
	if len(t) == 0 || !t.Trusts(client) {
		return client.String()
	}
	xff := strings.Join(r.Header.Values("X-Forwarded-For"), ",")
	if xff == "" {
		return client.String()
	}
	for rest := xff; ; {
		var entry string
		if i := strings.LastIndexByte(rest, ','); i >= 0 {
			entry, rest = rest[i+1:], rest[:i]
		} else {
			entry, rest = rest, ""
		}
		a, ok := forwardedAddr(entry)
		if !ok {
			return client.String()
		}
		client = a
		if !t.Trusts(a) || rest == "" {
			return client.String()
		}
	}
}

// forwardedAddr parses one X-Forwarded-For entry: an IPv4 or IPv6 address,
// optionally bracketed or with a port (some proxies add it). Zones are
// refused: they mean nothing on another host.
func forwardedAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), a.Zone() == ""
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		if a, err := netip.ParseAddr(s[1 : len(s)-1]); err == nil && a.Is6() && a.Zone() == "" {
			return a.Unmap(), true
		}
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil && ap.Addr().Zone() == "" {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// remoteHost is the host of a RemoteAddr that is not ip:port (the server
// sets it; tests may not), or the whole of it.
func remoteHost(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return strings.TrimSpace(host)
}
