package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/httpapi"
	"holdfast/reqstate"
)

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	p, err := httpapi.ParseTrustedProxies([]string{" 10.0.0.0/8", "192.0.2.7", "", "2001:db8::/32", "::1", "198.51.100.9/24", "::ffff:172.16.0.0/108", "::ffff:192.0.2.8"})
	require.NoError(t, err)
	require.Len(t, p, 7)
	assert.Equal(t, "172.16.0.0/12", p[5].String(), "an IPv4-mapped prefix is its IPv4 prefix")
	assert.Equal(t, "192.0.2.8/32", p[6].String(), "an IPv4-mapped address is its IPv4 address")
	assert.Equal(t, "192.0.2.7/32", p[1].String(), "a bare IPv4 address is a /32")
	assert.Equal(t, "::1/128", p[3].String(), "a bare IPv6 address is a /128")
	assert.Equal(t, "198.51.100.0/24", p[4].String(), "host bits are masked off")

	for _, bad := range []string{"10.0.0.0/33", "nginx", "10.0.0", "fe80::1%eth0", "10.0.0.0/8/8"} {
		_, err := httpapi.ParseTrustedProxies([]string{bad})
		assert.Error(t, err, bad)
	}
	none, err := httpapi.ParseTrustedProxies(nil)
	require.NoError(t, err)
	assert.Empty(t, none)
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted, err := httpapi.ParseTrustedProxies([]string{"127.0.0.1", "10.0.0.0/8", "fd00::/8"})
	require.NoError(t, err)
	for _, tc := range []struct {
		name    string
		proxies httpapi.TrustedProxies
		peer    string
		xff     []string // X-Forwarded-For lines
		want    string
	}{
		{"no trusted proxies: the peer, whatever it forwards", nil, "127.0.0.1:5000", []string{"203.0.113.9"}, "127.0.0.1"},
		{"untrusted peer: spoofed header ignored", trusted, "198.51.100.4:5000", []string{"203.0.113.9"}, "198.51.100.4"},
		{"untrusted peer: spoofed trusted address ignored", trusted, "198.51.100.4:5000", []string{"10.0.0.1, 127.0.0.1"}, "198.51.100.4"},
		{"trusted peer without header: the peer", trusted, "127.0.0.1:5000", nil, "127.0.0.1"},
		{"trusted peer: the forwarded client", trusted, "127.0.0.1:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"trusted peer: right-most untrusted, never the left-most the client wrote", trusted, "127.0.0.1:5000",
			[]string{"192.0.2.66, 203.0.113.9"}, "203.0.113.9"},
		{"a chain of trusted proxies is skipped", trusted, "127.0.0.1:5000",
			[]string{"192.0.2.66, 203.0.113.9, 10.1.2.3, 10.4.5.6"}, "203.0.113.9"},
		{"several header lines are one list, in order", trusted, "10.9.9.9:80",
			[]string{"192.0.2.66", "203.0.113.9, 10.1.2.3"}, "203.0.113.9"},
		{"every entry trusted: the left-most", trusted, "127.0.0.1:5000", []string{"10.0.0.5, 10.0.0.6"}, "10.0.0.5"},
		{"IPv6 client behind an IPv6 proxy", trusted, "[fd00::1]:443", []string{"2001:db8::7"}, "2001:db8::7"},
		{"entries with ports and brackets", trusted, "127.0.0.1:5000",
			[]string{"[2001:db8::9]:1234, 203.0.113.9:443, [fd00::2]"}, "203.0.113.9"},
		{"an IPv4-mapped peer is its IPv4 address", trusted, "[::ffff:127.0.0.1]:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"an IPv4-mapped entry is its IPv4 address", trusted, "127.0.0.1:5000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"a loopback client forwarded by a trusted proxy", trusted, "127.0.0.1:5000", []string{"127.0.0.5"}, "127.0.0.5"},

		// Malformed entries stop the walk: the last address walked over.
		{"malformed right-most entry: the peer", trusted, "127.0.0.1:5000", []string{"unknown"}, "127.0.0.1"},
		{"malformed behind a trusted hop: that hop", trusted, "127.0.0.1:5000", []string{"203.0.113.9, garbage, 10.0.0.7"}, "10.0.0.7"},
		{"malformed left of the client: not reached", trusted, "127.0.0.1:5000", []string{"garbage, 203.0.113.9"}, "203.0.113.9"},
		{"an empty entry is malformed", trusted, "127.0.0.1:5000", []string{"203.0.113.9, "}, "127.0.0.1"},
		{"an empty header line is malformed", trusted, "127.0.0.1:5000", []string{"203.0.113.9", ""}, "127.0.0.1"},
		{"an entry with a zone is malformed", trusted, "127.0.0.1:5000", []string{"203.0.113.9, fe80::1%eth0"}, "127.0.0.1"},
		{"a hostname is malformed", trusted, "127.0.0.1:5000", []string{"shop.example"}, "127.0.0.1"},
		{"an obfuscated RFC 7239 node is malformed", trusted, "127.0.0.1:5000", []string{"_hidden"}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/graphql", nil)
			req.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			assert.Equal(t, tc.want, tc.proxies.ClientAddr(req))
		})
	}
	t.Run("a RemoteAddr that is not ip:port is kept", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/graphql", nil)
		req.RemoteAddr = "@"
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		assert.Equal(t, "@", trusted.ClientAddr(req))
	})
}

// The guard puts the resolved address in the request state, which the
// access log, the rate limits and the websocket gate read.
func TestGuardResolvesTheClientAddress(t *testing.T) {
	t.Parallel()
	trusted, err := httpapi.ParseTrustedProxies([]string{"127.0.0.1/32"})
	require.NoError(t, err)
	var seen string
	h := httpapi.API(httpapi.APIConfig{Guard: httpapi.GuardConfig{TrustedProxies: trusted}},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = reqstate.From(r.Context()).ClientIP }))
	get := func(peer, xff string) string {
		req := httptest.NewRequest(http.MethodGet, "/graphql?query=%7B__typename%7D", nil)
		req.RemoteAddr = peer
		req.Header.Set("X-Forwarded-For", xff)
		h.ServeHTTP(httptest.NewRecorder(), req)
		return seen
	}
	assert.Equal(t, "203.0.113.9", get("127.0.0.1:4000", "192.0.2.1, 203.0.113.9"))
	assert.Equal(t, "198.51.100.4", get("198.51.100.4:4000", "203.0.113.9"))
}

// The gate counts sockets per resolved client address.
func TestWebsocketGateCountsForwardedAddresses(t *testing.T) {
	t.Parallel()
	trusted, err := httpapi.ParseTrustedProxies([]string{"127.0.0.1/32"})
	require.NoError(t, err)
	release := make(chan struct{})
	held := make(chan struct{}, 4)
	h := httpapi.API(httpapi.APIConfig{Guard: httpapi.GuardConfig{TrustedProxies: trusted}, MaxWebsocketsPerAddress: 1},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { held <- struct{}{}; <-release }))
	upgrade := func(xff string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, "/graphql", nil)
		req.RemoteAddr = "127.0.0.1:4000"
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		req.Header.Set("X-Forwarded-For", xff)
		return req
	}
	var wg sync.WaitGroup
	hold := func(xff string) {
		wg.Add(1)
		go func() { defer wg.Done(); h.ServeHTTP(httptest.NewRecorder(), upgrade(xff)) }()
	}
	hold("203.0.113.1")
	<-held // 203.0.113.1 holds its one socket

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, upgrade("203.0.113.1"))
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "the same forwarded client: over its cap")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, upgrade("192.0.2.50, 203.0.113.1"))
	assert.Equal(t, http.StatusTooManyRequests, rec.Code, "a spoofed left-most entry changes nothing")

	hold("203.0.113.2")
	<-held // another client behind the same proxy has a place of its own
	close(release)
	wg.Wait()
}
