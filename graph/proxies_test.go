package graph_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage/storagetest"
)

// The test server's peer, 127.0.0.1, stands for the proxy in front.
func trustLoopbackProxy(t *testing.T) httpapi.TrustedProxies {
	t.Helper()
	p, err := httpapi.ParseTrustedProxies([]string{"127.0.0.1/32"})
	require.NoError(t, err)
	return p
}

// Issue 20 (trusted proxies): behind one proxy, shoppers are told apart by
// the address it forwards, so each has its own per-address mutation
// budget; a forwarded loopback client is exempt (RATE_LIMIT_LOOPBACK=false)
// as a direct one is, and what a client writes itself into
// X-Forwarded-For changes nothing.
func TestPerAddressLimitsBehindATrustedProxy(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	logs := &lockedBuffer{}
	h := newAPI(graph.HandlerConfig{
		Store: store, AdminToken: adminToken,
		Limits: graph.LimitConfig{PerAddress: httpapi.NewKeyedLimiter(0.001, 2)},
	}, httpapi.APIConfig{
		Guard: httpapi.GuardConfig{TrustedProxies: trustLoopbackProxy(t)},
		Log:   slog.New(slog.NewJSONHandler(logs, nil)),
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	p := storagetest.MustProduct(t, store, "PROXY", 1000)
	c := storagetest.MustCart(t, store)
	body := gqlBody(addToCartMutation, map[string]any{"in": map[string]any{"cartId": c.ID, "productId": pid(p), "quantity": 1}})
	from := func(xff string) (int, string) {
		t.Helper()
		status, _, r := raw(t, srv.URL, "application/json", body, http.Header{"X-Forwarded-For": {xff}})
		return status, r.code()
	}

	for i := 0; i < 2; i++ {
		status, code := from("203.0.113.1")
		require.Equal(t, 200, status, code)
	}
	status, code := from("203.0.113.1")
	assert.Equal(t, 429, status)
	assert.Equal(t, "RATE_LIMITED", code, "shopper A spent its burst")
	status, code = from("203.0.113.2, 203.0.113.1")
	assert.Equal(t, 429, status, "a left-most entry A wrote itself does not give it B's bucket (%s)", code)

	for i := 0; i < 2; i++ {
		status, code := from("203.0.113.2")
		assert.Equal(t, 200, status, "shopper B behind the same proxy has its own budget (%s)", code)
	}
	for i := 0; i < 3; i++ {
		status, code := from("127.0.0.7")
		assert.Equal(t, 200, status, "a forwarded loopback client is exempt, as a direct one is (%s)", code)
	}
	assert.Contains(t, logs.String(), `"client":"203.0.113.2"`, "the access log names the forwarded client")
}

// The websocket cap counts sockets per forwarded client, not per proxy.
func TestWebsocketCapBehindATrustedProxy(t *testing.T) {
	t.Parallel()
	srv, _, _ := wsServer(t, graph.HandlerConfig{}, httpapi.APIConfig{
		MaxWebsocketsPerAddress: 1,
		Guard:                   httpapi.GuardConfig{TrustedProxies: trustLoopbackProxy(t)},
	})
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	dial := func(xff string) (*websocket.Conn, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"},
			HTTPHeader:   http.Header{"X-Forwarded-For": {xff}},
		})
		require.NotNil(t, resp, "dial: %v", err)
		if resp.Body != nil {
			resp.Body.Close()
		}
		if c != nil {
			t.Cleanup(func() { c.Close(websocket.StatusNormalClosure, "") })
		}
		return c, resp.StatusCode
	}
	_, status := dial("203.0.113.1")
	require.Equal(t, http.StatusSwitchingProtocols, status)
	_, status = dial("203.0.113.1")
	assert.Equal(t, http.StatusTooManyRequests, status, "the same client's second socket")
	_, status = dial("192.0.2.9, 203.0.113.1")
	assert.Equal(t, http.StatusTooManyRequests, status, "a spoofed left-most entry changes nothing")
	_, status = dial("203.0.113.2")
	assert.Equal(t, http.StatusSwitchingProtocols, status, "another client behind the same proxy")
}
