package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"holdfast/config"
	"holdfast/payments/paymentstest"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// The wiring, end to end: serve on a real listener with the default
// configuration, then check each endpoint and a graceful stop.
func TestServeWiring(t *testing.T) {
	store, dbURL := storagetest.NewStore(t, storagetest.Options())
	cfg := config.Defaults()
	cfg.DatabaseURL, cfg.AdminToken, cfg.ShutdownDrainDelay = dbURL, "wiring-token", 10*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, store, ln, slog.New(slog.DiscardHandler)) }()
	base := "http://" + ln.Addr().String()

	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	require.Eventually(t, func() bool { s, _ := get("/readyz", ""); return s == 200 }, 30*time.Second, 20*time.Millisecond)

	status, body := get("/healthz", "")
	assert.Equal(t, 200, status)
	assert.Equal(t, "ok\n", body)
	status, body = get("/graphql?query=%7B__typename%7D", "")
	assert.Equal(t, 200, status)
	assert.JSONEq(t, `{"data":{"__typename":"Query"}}`, body)
	status, _ = get("/", "")
	assert.Equal(t, 200, status, "GraphiQL")
	resp, err := http.Post(base+"/webhooks/stripe", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.NotEqual(t, 200, resp.StatusCode, "no Stripe webhook with the manual provider")
	status, body = get("/metrics", "")
	assert.Equal(t, 401, status, "metrics are not public")
	assert.NotContains(t, body, "holdfast_")
	status, body = get("/metrics", "wiring-token")
	assert.Equal(t, 200, status)
	for _, m := range []string{"holdfast_graphql_requests_total", "go_sql_max_open_connections", "holdfast_subscriptions", "holdfast_checkouts_total"} {
		assert.Contains(t, body, m)
	}

	stop()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestWithParam(t *testing.T) {
	assert.Equal(t, "postgres://h/db?connect_timeout=3&sslmode=disable", withConnectTimeout("postgres://h/db?sslmode=disable"))
	assert.Equal(t, "postgres://h/db?connect_timeout=9", withConnectTimeout("postgres://h/db?connect_timeout=9"))
	assert.Equal(t, "host=h connect_timeout=3", withConnectTimeout("host=h"))
	assert.True(t, strings.HasSuffix(listenerURL("host=h"), "application_name=holdfast-listener"))
	assert.Equal(t, "postgres://h/db?application_name=holdfast-listener", listenerURL("postgres://h/db?application_name=x"))
}

// The Stripe wiring, end to end: beginCheckout through /graphql creates an
// intent at stripe-mock, and a signed event posted to /webhooks/stripe
// places the order.
func TestServeWiringStripe(t *testing.T) {
	mock, err := paymentstest.StartStripeMock()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("stripe-mock: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	defer mock.Stop()
	store, dbURL := storagetest.NewStore(t, storagetest.Options())
	cfg := config.Defaults()
	cfg.DatabaseURL, cfg.AdminToken, cfg.ShutdownDrainDelay = dbURL, "wiring-token", 10*time.Millisecond
	cfg.PaymentProvider, cfg.StripeAPIBase = "stripe", mock.URL
	cfg.StripeSecretKey, cfg.StripeWebhookSecret = "sk_test_123", "whsec_wiring"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, store, ln, slog.New(slog.DiscardHandler)) }()
	base := "http://" + ln.Addr().String()
	post := func(path, ctype string, body []byte, header map[string]string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 30*time.Second, 20*time.Millisecond)

	p := storagetest.MustProduct(t, store, "WIRE", 3)
	c := storagetest.MustCart(t, store)
	_, err = store.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)

	// A shop that takes payments sells nothing unpaid.
	unpaid, _ := json.Marshal(map[string]any{
		"query":     `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id } userErrors { code } } }`,
		"variables": map[string]any{"in": map[string]any{"cartId": c.ID, "email": "ada@example.com"}},
	})
	status, body := post("/graphql", "application/json", unpaid, nil)
	require.Equal(t, 200, status, body)
	assert.JSONEq(t, `{"data":{"checkout":{"order":null,"userErrors":[{"code":"PAYMENT_REQUIRED"}]}}}`, body)

	q, _ := json.Marshal(map[string]any{
		"query":     `mutation($in: BeginCheckoutInput!) { beginCheckout(input: $in) { order { id status payment { provider status clientSecret reference } } userErrors { code } } }`,
		"variables": map[string]any{"in": map[string]any{"cartId": c.ID, "email": "ada@example.com"}},
	})
	status, body = post("/graphql", "application/json", q, nil)
	require.Equal(t, 200, status, body)
	var out struct {
		Data struct {
			BeginCheckout struct {
				Order struct {
					ID, Status string
					Payment    struct{ Provider, Status, ClientSecret, Reference string }
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out), body)
	o := out.Data.BeginCheckout.Order
	require.Equal(t, "PENDING_PAYMENT", o.Status, body)
	assert.Equal(t, "stripe", o.Payment.Provider)
	assert.NotEmpty(t, o.Payment.ClientSecret)

	ev := paymentstest.Event{ID: "evt_wiring", Type: "payment_intent.succeeded", IntentID: o.Payment.Reference, OrderID: o.ID}
	payload, sig := ev.Sign(t, "whsec_wiring")
	status, _ = post("/webhooks/stripe", "application/json", payload, map[string]string{"Stripe-Signature": "t=1,v1=00"})
	assert.Equal(t, 400, status, "a bad signature")
	status, _ = post("/webhooks/stripe", "application/json", payload, map[string]string{"Stripe-Signature": sig})
	assert.Equal(t, 200, status)
	placed, err := store.OrderByID(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, "PLACED", placed.Status)

	stop()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestPaymentProviderConfig(t *testing.T) {
	cfg := config.Defaults()
	p, _, err := paymentProvider(cfg)
	require.NoError(t, err)
	assert.Equal(t, "manual", p.Name(), "the default needs no Stripe settings")
	cfg.PaymentProvider = "stripe"
	_, _, err = paymentProvider(cfg)
	require.ErrorContains(t, err, "STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET")
	cfg.StripeSecretKey, cfg.StripeWebhookSecret = "sk", "whsec"
	p, secret, err := paymentProvider(cfg)
	require.NoError(t, err)
	assert.Equal(t, "stripe", p.Name())
	assert.Equal(t, "whsec", secret)
	cfg.PaymentProvider = "paypal"
	_, _, err = paymentProvider(cfg)
	require.Error(t, err)
}

// Behind PgBouncer in transaction mode (DB_PREPARE=false) the pool sends
// each statement in one round trip; LISTEN and the migrations use
// DATABASE_DIRECT_URL, DATABASE_URL when it is unset.
func TestPoolAndDirectURLs(t *testing.T) {
	cfg := config.Defaults()
	cfg.DatabaseURL = "postgres://u@pgbouncer:6432/db?sslmode=disable"
	assert.NotContains(t, poolURL(cfg), "binary_parameters")
	assert.Equal(t, cfg.DatabaseURL, cfg.DirectURL())

	cfg.DBPrepare = false
	cfg.DatabaseDirectURL = "postgres://u@postgres:5432/db?sslmode=disable"
	assert.Equal(t, "postgres://u@pgbouncer:6432/db?binary_parameters=yes&connect_timeout=3&sslmode=disable", poolURL(cfg))
	assert.Equal(t, cfg.DatabaseDirectURL, cfg.DirectURL())
	assert.Contains(t, statementMode(false), "DB_PREPARE=false")
}

// The drain may close the listener early (SHUTDOWN_REFUSE_NEW_CONNECTIONS);
// Shutdown closing it again must not turn a clean stop into an error.
func TestListenerClosesOnce(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := &onceCloseListener{Listener: raw}
	require.NoError(t, ln.Close())
	require.NoError(t, ln.Close())
	_, err = net.Dial("tcp", raw.Addr().String())
	require.Error(t, err, "a closed listener refuses connections")
}

// WS_QUEUE_BYTES and WS_WRITE_TIMEOUT reach the websocket writer: with a
// queue smaller than a connection_ack, the socket is dropped (queue_full)
// instead of acknowledged.
func TestServeWiresWebsocketSettings(t *testing.T) {
	t.Setenv("WS_QUEUE_BYTES", "16")
	t.Setenv("WS_WRITE_TIMEOUT", "7s")
	cfg, err := config.Load()
	require.NoError(t, err)
	assert.Equal(t, 16, cfg.WSQueueBytes)
	assert.Equal(t, 7*time.Second, cfg.WSWriteTimeout)
	assert.Equal(t, 262144, config.Defaults().WSQueueBytes)
	assert.Equal(t, 10*time.Second, config.Defaults().WSWriteTimeout)

	store, dbURL := storagetest.NewStore(t, storagetest.Options())
	cfg.DatabaseURL, cfg.AdminToken, cfg.ShutdownDrainDelay = dbURL, "wiring-token", 10*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, store, ln, slog.New(slog.DiscardHandler)) }()
	defer func() {
		stop()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop")
		}
	}()

	wctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var conn *websocket.Conn
	require.Eventually(t, func() bool {
		c, resp, err := websocket.Dial(wctx, "ws://"+ln.Addr().String()+"/graphql", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		conn = c
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	defer func() { _ = conn.CloseNow() }()
	require.NoError(t, conn.Write(wctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{}}`)))
	_, b, err := conn.Read(wctx)
	require.Error(t, err, "no connection_ack fits in 16 bytes: %s", b)
	require.NoError(t, wctx.Err())
	req, _ := http.NewRequestWithContext(wctx, http.MethodGet, "http://"+ln.Addr().String()+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer wiring-token")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(body), `holdfast_live_connections_dropped_total{reason="queue_full"} 1`)
}

// TRUSTED_PROXIES reaches the guard: from a trusted peer (the test's own
// 127.0.0.1), two forwarded clients get per-address mutation budgets of
// their own. An entry that does not parse stops the server at start-up.
func TestServeTrustedProxies(t *testing.T) {
	t.Setenv("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1")
	cfg, err := config.Load()
	require.NoError(t, err)
	require.Len(t, cfg.TrustedProxies, 2)

	store, dbURL := storagetest.NewStore(t, storagetest.Options())
	cfg.DatabaseURL, cfg.ShutdownDrainDelay = dbURL, 10*time.Millisecond
	cfg.RateIP, cfg.RateIPBurst = 0.001, 1
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, store, ln, slog.New(slog.DiscardHandler)) }()
	base := "http://" + ln.Addr().String()
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 10*time.Second, 20*time.Millisecond)

	createCart := func(xff string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query":"mutation { createCart { cart { id } } }"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, 200, createCart("203.0.113.1"))
	assert.Equal(t, 429, createCart("203.0.113.1"), "the same forwarded client, over its burst")
	assert.Equal(t, 200, createCart("203.0.113.2"), "another forwarded client")

	stop()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}

	cfg.TrustedProxies = []string{"nginx.internal"}
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	err = serve(context.Background(), cfg, store, ln, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, `TRUSTED_PROXIES: "nginx.internal"`)
}

// TestStorageOptions: the store's options the server builds for an empty
// environment are those storagetest gives every test (but its longer
// QueryTimeout), so tests run with production's settings.
func TestStorageOptions(t *testing.T) {
	t.Parallel()
	want := storagetest.Options()
	want.QueryTimeout = 0
	assert.Equal(t, want, storageOptions(config.Defaults()))
}

// TestZeroSettingsTakeDefaults: a setting of 0 that used to fall back to
// its default inside its package still does, now in the wiring.
func TestZeroSettingsTakeDefaults(t *testing.T) {
	t.Parallel()
	d := config.Defaults()
	cfg := d
	cfg.SearchTimeout, cfg.PaymentTTL, cfg.StockPush, cfg.Webhooks.Concurrency = 0, -1, 0, 0
	assert.Equal(t, d.SearchTimeout, storageOptions(cfg).SearchTimeout)
	assert.Equal(t, d.PaymentTTL, paymentsOptions(cfg, nil).TTL)
	assert.Equal(t, d.Webhooks.Concurrency, webhooksOptions(cfg.Webhooks, nil).Concurrency)
	assert.NotPanics(t, func() { newHub(cfg, nil, nil) }, "a push interval of 0")
	assert.Equal(t, 15*time.Minute, d.PaymentTTL)
	assert.Equal(t, 8, d.Webhooks.Concurrency)
}
