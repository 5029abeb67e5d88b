package webhooks_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/webhooks"
)

func TestPublic(t *testing.T) {
	t.Parallel()
	for addr, public := range map[string]bool{
		"93.184.215.14": true, "2606:2800:21f:cb07:6820:80da:af6b:8b2c": true, "1.1.1.1": true,
		"127.0.0.1": false, "127.1.2.3": false, "::1": false, "0.0.0.0": false, "::": false,
		"10.0.0.1": false, "172.16.5.4": false, "192.168.1.1": false, "169.254.169.254": false,
		"100.64.0.1": false, "224.0.0.1": false, "255.255.255.255": false, "fe80::1": false,
		"fc00::1": false, "fd12:3456::1": false, "::ffff:127.0.0.1": false, "::ffff:10.1.1.1": false,
		"64:ff9b::a00:1": false, "198.18.0.1": false, "192.0.2.1": false, "ff02::1": false,
	} {
		assert.Equal(t, public, webhooks.Public(netip.MustParseAddr(addr)), addr)
	}
}

// fakeResolver answers from its map, and NXDOMAIN (from a resolver at
// 127.0.0.53:53, as systemd-resolved's would say) for any other name: no
// test needs the network.
type fakeResolver map[string][]string

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ss, ok := f[strings.ToLower(host)]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, Server: "127.0.0.53:53", IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

var resolver = fakeResolver{
	"partner.example.com":  {"93.184.215.14"},
	"loopback.example.com": {"127.0.0.1"},
	"mixed.example.com":    {"93.184.215.14", "10.0.0.1"},
	"internal.example.com": {"10.1.2.3"},
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for raw, ok := range map[string]bool{
		"https://partner.example.com/hooks":    true,
		"https://93.184.215.14:8443/h":         true,
		"https://unknown.example.com/h":        true, // not resolvable yet: every delivery checks it
		"https://xn--bcher-kva.example/h":      true,
		"http://partner.example.com/hooks":     false, // https only
		"https://127.0.0.1/h":                  false,
		"https://[::1]/h":                      false,
		"https://localhost/h":                  false,
		"https://169.254.169.254/latest":       false,
		"https://10.0.0.8/h":                   false,
		"ftp://partner.example.com/":           false,
		"https://user:pw@partner.example.com/": false,
		"https://partner.example.com:0/h":      false,
		"https://partner.example.com:99999/h":  false,
		"/relative":                            false,
		"":                                     false,
	} {
		err := webhooks.CheckURL(ctx, resolver, raw, false)
		assert.Equal(t, ok, err == nil, "%q: %v", raw, err)
	}
	for _, raw := range []string{"http://127.0.0.1:8080/h", "https://localhost/h", "http://10.0.0.8/h", "http://loopback.example.com/h"} {
		assert.NoError(t, webhooks.CheckURL(ctx, resolver, raw, true), raw)
	}
	assert.Error(t, webhooks.CheckURL(ctx, resolver, "ftp://127.0.0.1/", true))
	assert.ErrorIs(t, webhooks.CheckURL(ctx, resolver, "http://127.1:8080/", true), webhooks.ErrBadHost,
		"WEBHOOK_ALLOW_PRIVATE allows private addresses, not odd spellings")
}

// loopbackSpellings are hosts that reach the server itself (or its
// network) however a resolver or inet_aton reads them.
var loopbackSpellings = map[string]error{
	"0x7f000001":           webhooks.ErrBadHost,
	"2130706433":           webhooks.ErrBadHost,
	"127.1":                webhooks.ErrBadHost,
	"0177.0.0.1":           webhooks.ErrBadHost,
	"127.000.000.001":      webhooks.ErrBadHost,
	"0x7f.1":               webhooks.ErrBadHost,
	"0":                    webhooks.ErrBadHost,
	"127.0.0.1.":           webhooks.ErrBadHost,
	"localhost.":           webhooks.ErrBadHost,
	"foo.localhost.":       webhooks.ErrBadHost,
	"１２７.０.０.１":            webhooks.ErrBadHost, // full-width digits
	"ｌｏｃａｌｈｏｓｔ":            webhooks.ErrBadHost, // full-width letters
	"fe80::1%eth0":         webhooks.ErrBadHost,
	"localhost":            webhooks.ErrForbiddenAddress,
	"LocalHost":            webhooks.ErrForbiddenAddress,
	"foo.localhost":        webhooks.ErrForbiddenAddress,
	"127.0.0.1":            webhooks.ErrForbiddenAddress,
	"::ffff:127.0.0.1":     webhooks.ErrForbiddenAddress,
	"loopback.example.com": webhooks.ErrForbiddenAddress, // resolves to 127.0.0.1
	"mixed.example.com":    webhooks.ErrForbiddenAddress, // one of its addresses is private
}

// TestLoopbackSpellingsRefused: every spelling is refused by CheckHost,
// the one check that creation (CheckURL) and every delivery (the Client's
// dialer) make, so what creation accepts delivery does not refuse, and
// the other way round.
func TestLoopbackSpellingsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := webhooks.ClientWith(2*time.Second, false, resolver)
	for host, want := range loopbackSpellings {
		_, err := webhooks.CheckHost(ctx, resolver, host, false)
		assert.ErrorIs(t, err, want, host)

		u := "https://" + host + "/h"
		if strings.Contains(host, ":") {
			u = "https://[" + strings.ReplaceAll(host, "%", "%25") + "]/h"
		}
		assert.Error(t, webhooks.CheckURL(ctx, resolver, u, false), u)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		if err != nil {
			continue // not even a URL net/http sends
		}
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		require.Error(t, err, u)
		assert.True(t, errors.Is(err, webhooks.ErrBadHost) || errors.Is(err, webhooks.ErrForbiddenAddress), "%s: %v", u, err)
	}
}

// TestDescribeErrorHidesAddresses: a delivery's error as lastError shows
// admins neither the server's resolver (127.0.0.53:53) nor what a name
// resolved to inside its network.
func TestDescribeErrorHidesAddresses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := webhooks.ClientWith(2*time.Second, false, resolver)
	ipPort := regexp.MustCompile(`\d{1,3}(\.\d{1,3}){3}|\[?[0-9a-f]*:[0-9a-f:]+\]?:\d+`)
	for u, want := range map[string]string{
		"https://gone.example.com/h":     "could not resolve host: no such host",
		"https://internal.example.com/h": "refused: the host is, or resolves to, an address that is not public",
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		require.Error(t, err)
		if strings.Contains(u, "gone") {
			assert.Contains(t, err.Error(), "127.0.0.53:53", "what lastError showed before")
		}
		msg := webhooks.DescribeError(err)
		assert.Equal(t, want, msg, u)
		assert.NotRegexp(t, ipPort, msg)
	}
	// Connection errors name the partner's address: left out too.
	err := &url.Error{Op: "Post", URL: "https://partner.example.com/h", Err: &net.OpError{
		Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(93, 184, 215, 14), Port: 443},
		Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED},
	}}
	assert.Equal(t, "connection refused", webhooks.DescribeError(err))
}

// TestClientRefusesPrivateAddresses: without WEBHOOK_ALLOW_PRIVATE the
// delivery client connects to no loopback address, whether named by IP or
// by a host name that resolves to it, and nothing reaches the server.
func TestClientRefusesPrivateAddresses(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	c := webhooks.Client(30*time.Second, false)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, u := range []string{srv.URL, "http://localhost:" + port + "/", "http://[::ffff:127.0.0.1]:" + port + "/"} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		require.Error(t, err, u)
		assert.ErrorIs(t, err, webhooks.ErrForbiddenAddress, u)
	}
	assert.Zero(t, hits.Load())

	// With the flag, the same URL is reached.
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, nil)
	require.NoError(t, err)
	resp, err := webhooks.Client(30*time.Second, true).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.EqualValues(t, 1, hits.Load())
}

// TestClientFollowsNoRedirect: a 3xx is the answer (a failed one), never
// followed to where it points.
func TestClientFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Store(true)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(srv.Close)
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+"/hook", strings.NewReader("{}"))
	require.NoError(t, err)
	resp, err := webhooks.Client(30*time.Second, true).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
	assert.False(t, followed.Load())
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	base, max := time.Second, time.Minute
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 10: time.Minute, 40: time.Minute} {
		for range 20 {
			d := webhooks.Backoff(attempt, base, max)
			assert.GreaterOrEqual(t, d, want/2)
			assert.LessOrEqual(t, d, want)
		}
	}
}

// TestDescribeErrorTLS: an endpoint whose certificate the client does not
// trust, or that answers https with http, says so.
func TestDescribeErrorTLS(t *testing.T) {
	t.Parallel()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshake it refuses is the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(plain.Close)
	c := webhooks.ClientWith(2*time.Second, true, resolver)
	for u, want := range map[string]string{
		tlsSrv.URL: "TLS: the certificate could not be verified for the host",
		"https://" + strings.TrimPrefix(plain.URL, "http://"): "TLS: the endpoint does not serve https",
	} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		require.Error(t, err, u)
		assert.Equal(t, want, webhooks.DescribeError(err), "%s: %v", u, err)
	}
}
