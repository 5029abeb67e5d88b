package webhooks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
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

func TestCheckURL(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		"https://partner.example.com/hooks":    true,
		"https://93.184.215.14:8443/h":         true,
		"http://partner.example.com/hooks":     false, // https only
		"https://127.0.0.1/h":                  false,
		"https://[::1]/h":                      false,
		"https://localhost/h":                  false,
		"https://169.254.169.254/latest":       false,
		"https://10.0.0.8/h":                   false,
		"ftp://partner.example.com/":           false,
		"https://user:pw@partner.example.com/": false,
		"/relative":                            false,
		"":                                     false,
	} {
		err := webhooks.CheckURL(raw, false)
		assert.Equal(t, ok, err == nil, "%q: %v", raw, err)
	}
	for _, raw := range []string{"http://127.0.0.1:8080/h", "https://localhost/h", "http://10.0.0.8/h"} {
		assert.NoError(t, webhooks.CheckURL(raw, true), raw)
	}
	assert.Error(t, webhooks.CheckURL("ftp://127.0.0.1/", true))
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
