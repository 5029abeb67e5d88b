package httpapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"holdfast/httpapi"
	"holdfast/reqstate"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ok() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("secret")) })
}

func TestRequireAdmin(t *testing.T) {
	t.Parallel()
	h := httpapi.RequireAdmin("tok", ok())
	for token, want := range map[string]int{"": 401, "wrong": 401, "tok": 200} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		assert.Equal(t, want, rec.Code, "token %q", token)
		if want == 401 {
			assert.Contains(t, rec.Body.String(), `"UNAUTHENTICATED"`)
			assert.NotContains(t, rec.Body.String(), "secret")
		}
	}
	t.Run("an empty admin token opens nothing", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Authorization", "Bearer ")
		rec := httptest.NewRecorder()
		httpapi.RequireAdmin("", ok()).ServeHTTP(rec, req)
		assert.Equal(t, 401, rec.Code)
	})
}

func TestCORSPolicy(t *testing.T) {
	t.Parallel()
	preflight := func(c http.Handler, origin string) string {
		req := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key") // sorted, as browsers send it
		rec := httptest.NewRecorder()
		c.ServeHTTP(rec, req)
		return rec.Header().Get("Access-Control-Allow-Origin")
	}
	t.Run("no origins configured: localhost only", func(t *testing.T) {
		c, allowed := httpapi.CORSPolicy(nil, false)
		h := c.Handler(ok())
		for origin, want := range map[string]bool{
			"http://localhost:5173": true, "http://127.0.0.1:3000": true, "https://localhost": true,
			"https://shop.example": false, "http://localhost.evil.example": false, "file://x": false, "null": false,
		} {
			assert.Equal(t, want, allowed(origin), origin)
			assert.Equal(t, want, preflight(h, origin) == origin, "preflight from %s", origin)
		}
	})
	t.Run("configured origins only", func(t *testing.T) {
		_, allowed := httpapi.CORSPolicy([]string{"https://shop.example/", " https://b.example"}, true)
		assert.True(t, allowed("https://shop.example"))
		assert.True(t, allowed("https://b.example"))
		assert.False(t, allowed("http://localhost:5173"))
		assert.False(t, allowed("https://shop.example.evil"))
	})
	t.Run("credentials never with *", func(t *testing.T) {
		c, _ := httpapi.CORSPolicy([]string{"*"}, true)
		req := httptest.NewRequest(http.MethodOptions, "/graphql", nil)
		req.Header.Set("Origin", "https://x.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		c.Handler(ok()).ServeHTTP(rec, req)
		assert.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"))
	})
}

func TestWebsocketGate(t *testing.T) {
	t.Parallel()
	upgrade := func(origin, host string) *http.Request {
		req := httptest.NewRequest(http.MethodGet, "http://"+host+"/graphql", nil)
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		return req
	}
	_, allowed := httpapi.CORSPolicy([]string{"https://shop.example"}, false)
	gate := httpapi.NewWebsocketGate(allowed, 1).Wrap(ok())
	for _, tc := range []struct {
		name, origin, host string
		want               int
	}{
		{"allowed origin", "https://shop.example", "api.example", 200},
		{"the server's own origin (GraphiQL)", "http://api.example", "api.example", 200},
		{"another origin", "https://evil.example", "api.example", 403},
		{"no origin (not a browser)", "", "api.example", 200},
	} {
		rec := httptest.NewRecorder()
		gate.ServeHTTP(rec, upgrade(tc.origin, tc.host))
		assert.Equal(t, tc.want, rec.Code, tc.name)
	}
	t.Run("a malformed handshake is a coded JSON error", func(t *testing.T) {
		req := upgrade("", "api.example")
		req.Header.Set("Sec-WebSocket-Version", "8")
		rec := httptest.NewRecorder()
		gate.ServeHTTP(rec, req)
		assert.Equal(t, 400, rec.Code)
		assert.Contains(t, rec.Body.String(), `"code":"BAD_REQUEST"`)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	})
}

func TestReadyzAndDrain(t *testing.T) {
	t.Parallel()
	d := &httpapi.Drain{}
	var fail error
	h := httpapi.NewRouter(httpapi.Routes{API: ok(), Drain: d, Ready: func(context.Context) error { return fail }})
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	assert.Equal(t, 200, get("/readyz").Code)
	fail = errors.New("database unreachable")
	assert.Equal(t, 503, get("/readyz").Code)
	assert.Contains(t, get("/readyz").Body.String(), "database unreachable")
	fail = nil
	d.Start()
	assert.Equal(t, 503, get("/readyz").Code)
	assert.Equal(t, 200, get("/healthz").Code, "alive while draining")
	assert.Equal(t, "close", get("/graphql").Header().Get("Connection"))
	assert.Equal(t, 404, get("/nothing").Code)
}

func TestStorefrontRoute(t *testing.T) {
	t.Parallel()
	shop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "shop "+r.URL.Path) })
	get := func(h http.Handler, method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	none := httpapi.NewRouter(httpapi.Routes{API: ok(), Drain: &httpapi.Drain{}})
	assert.Equal(t, 404, get(none, "GET", "/shop/").Code, "no storefront unless configured")

	h := httpapi.NewRouter(httpapi.Routes{API: ok(), Drain: &httpapi.Drain{}, Storefront: shop})
	for _, p := range []string{"/shop/", "/shop/products/tee", "/shop/assets/index-1.js"} {
		rec := get(h, "GET", p)
		assert.Equal(t, 200, rec.Code, p)
		assert.Equal(t, "shop "+p, rec.Body.String(), p)
	}
	rec := get(h, "GET", "/shop")
	assert.Equal(t, http.StatusTemporaryRedirect, rec.Code)
	assert.Equal(t, "/shop/", rec.Header().Get("Location"))
	assert.Equal(t, http.StatusMethodNotAllowed, get(h, "POST", "/shop/").Code)
	assert.Equal(t, 404, get(h, "GET", "/shopping").Code)
}

func TestKeyedLimiter(t *testing.T) {
	t.Parallel()
	l := httpapi.NewKeyedLimiter(0.001, 2)
	for i := 0; i < 2; i++ {
		allowed, _ := l.Allow("a")
		require.True(t, allowed)
	}
	allowed, wait := l.Allow("a")
	assert.False(t, allowed)
	assert.Greater(t, wait, time.Second)
	allowed, _ = l.Allow("b")
	assert.True(t, allowed, "keys have their own buckets")
	none := httpapi.NewKeyedLimiter(-1, 0)
	allowed, _ = none.Allow("a")
	assert.True(t, allowed, "a disabled limit allows everything")
}

func TestGuardGivesEveryRequestState(t *testing.T) {
	t.Parallel()
	var seen *reqstate.State
	h := httpapi.API(httpapi.APIConfig{AdminToken: "tok"}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = reqstate.From(r.Context())
		assert.True(t, reqstate.IsAdmin(r.Context()))
		assert.Equal(t, "k1", reqstate.IdempotencyHeader(r.Context()))
		_, deadline := r.Context().Deadline()
		assert.True(t, deadline, "the request timeout applies")
	}))
	req := httptest.NewRequest(http.MethodGet, "/graphql?query=%7B__typename%7D", nil)
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Idempotency-Key", "k1")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.NotNil(t, seen)
	assert.Equal(t, seen.ID, rec.Header().Get("X-Request-Id"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
}
