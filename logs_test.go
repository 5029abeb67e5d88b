package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/config"
	"holdfast/payments/paymentstest"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// logSink collects a run's log lines; safe for concurrent writers.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// running is one serve() on a loopback listener.
type running struct {
	base string
	stop func()
}

func start(t *testing.T, cfg config.Config, store *storage.Store, log *slog.Logger) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, store, ln, log) }()
	r := &running{base: "http://" + ln.Addr().String()}
	stopped := false
	r.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
		case <-time.After(20 * time.Second):
			t.Error("serve did not stop")
		}
	}
	t.Cleanup(r.stop)
	require.Eventually(t, func() bool {
		resp, err := http.Get(r.base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}, 10*time.Second, 20*time.Millisecond)
	return r
}

// gql posts one operation to /graphql and returns the status and the
// decoded body.
func (r *running) gql(t *testing.T, token, query string, vars map[string]any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return r.post(t, "/graphql", token, body, nil)
}

func (r *running) post(t *testing.T, path, token string, body []byte, header map[string]string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.base+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// dig walks a decoded JSON value by keys.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(t *testing.T, v any, path ...string) string {
	t.Helper()
	s, ok := dig(v, path...).(string)
	require.True(t, ok, "no string at %v in %v", path, v)
	return s
}

const (
	mCreateCart = `mutation { createCart { cart { id } } }`
	mAdd        = `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { id totalQuantity } userErrors { code } } }`
	mCheckout   = `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id status } userErrors { code } } }`
	mBegin      = `mutation($in: BeginCheckoutInput!) { beginCheckout(input: $in) { order { id status payment { reference clientSecret } } userErrors { code } } }`
	mConfirm    = `mutation($in: ConfirmPaymentInput!) { confirmPayment(input: $in) { order { id status } userErrors { code } } }`
	mCancel     = `mutation($in: CancelOrderInput!) { cancelOrder(input: $in) { order { id status } userErrors { code } } }`
)

// TestLogsCarryNoSecrets runs what a shop does through the real server
// (the wiring of serve, its access log, GraphQL errors, payment service,
// reaper, Stripe webhook and partner webhook dispatcher), logging at DEBUG
// into a buffer, and checks that no bearer secret the run created or used
// appears in any line: cart and order ids, idempotency keys, the admin
// token, client secrets, webhook signing secrets, the Stripe API key, the
// shopper's email. Orders are named by their order_ref (storage.LogRef).
func TestLogsCarryNoSecrets(t *testing.T) {
	var sink logSink
	log := slog.New(slog.NewJSONHandler(&sink, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var secrets []string
	keep := func(s ...string) {
		for _, v := range s {
			require.NotEmpty(t, v)
			secrets = append(secrets, v)
		}
	}
	const admin = "logs-admin-token-7f3a9c"
	const email = "ada.secret@example.com"
	keep(admin, email)

	// A partner's endpoint, receiving ORDER_PLACED.
	var hookMu sync.Mutex
	var delivered []string
	partner := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		delivered = append(delivered, string(b))
		hookMu.Unlock()
	}))
	defer partner.Close()

	// The manual provider: checkout, confirmPayment, cancelOrder.
	store, dbURL := storagetest.NewStore(t, storagetest.Options())
	cfg := config.Defaults()
	cfg.DatabaseURL, cfg.AdminToken, cfg.ShutdownDrainDelay = dbURL, admin, 10*time.Millisecond
	cfg.Webhooks.AllowPrivate, cfg.Webhooks.DispatchInterval = true, 20*time.Millisecond
	cfg.PaymentActionsInterval = 20 * time.Millisecond
	srv := start(t, cfg, store, log)
	p := storagetest.MustProduct(t, store, "LOGS-1", 20)
	pid := storage.FormatProductID(p.ID)

	_, out := srv.gql(t, admin, `mutation($in: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $in) { secret userErrors { code } } }`,
		map[string]any{"in": map[string]any{"url": partner.URL, "topics": []string{"ORDER_PLACED", "ORDER_CANCELLED", "CUSTOMER_PASSWORD_RESET"}}})
	keep(str(t, out, "data", "createWebhookEndpoint", "secret"))

	cart := func() string {
		_, out := srv.gql(t, "", mCreateCart, nil)
		id := str(t, out, "data", "createCart", "cart", "id")
		_, out = srv.gql(t, "", mAdd, map[string]any{"in": map[string]any{"cartId": id, "productId": pid, "quantity": 1}})
		require.Empty(t, dig(out, "data", "addToCart", "userErrors"), out)
		keep(id)
		return id
	}
	// A cart read with GET: its id travels in the URL's variables.
	c1 := cart()
	q := url.Values{"query": {`query($id: ID!) { cart(id: $id) { id totalQuantity } }`}, "variables": {`{"id":"` + c1 + `"}`}}
	resp, err := http.Get(srv.base + "/graphql?" + q.Encode())
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	// Errors: a bad email, an unknown cart, a query that does not
	// validate (the id in its text), malformed JSON.
	_, out = srv.gql(t, "", mCheckout, map[string]any{"in": map[string]any{"cartId": c1, "email": "a@[127.0.0.1]"}})
	assert.Equal(t, "INVALID_INPUT", dig(out, "data", "checkout", "userErrors").([]any)[0].(map[string]any)["code"])
	unknown := storage.NewSecretID()
	keep(unknown)
	srv.gql(t, "", mAdd, map[string]any{"in": map[string]any{"cartId": unknown, "productId": pid, "quantity": 1}})
	status, _ := srv.gql(t, "", `{ cart(id: "`+c1+`") { nope } }`, nil)
	assert.Equal(t, 422, status)
	status, _ = srv.post(t, "/graphql", "", []byte(`{"query": "{ cart(id: \"`+c1+`\") { id } }", `), nil)
	assert.Equal(t, 400, status)

	// checkout with an idempotency key, twice.
	key1 := "idem-key-" + storage.NewSecretID()
	keep(key1)
	var placed string
	for range 2 {
		_, out = srv.gql(t, "", mCheckout, map[string]any{"in": map[string]any{"cartId": c1, "email": email, "idempotencyKey": key1}})
		placed = str(t, out, "data", "checkout", "order", "id")
	}
	keep(placed)

	// beginCheckout and confirmPayment; another begun and cancelled.
	c2 := cart()
	key2 := "idem-key-" + storage.NewSecretID()
	keep(key2)
	_, out = srv.gql(t, "", mBegin, map[string]any{"in": map[string]any{"cartId": c2, "email": email, "idempotencyKey": key2}})
	paid := str(t, out, "data", "beginCheckout", "order", "id")
	keep(paid)
	_, out = srv.gql(t, admin, mConfirm, map[string]any{"in": map[string]any{"orderId": paid, "reference": "BANK-LOGS-1"}})
	assert.Equal(t, "PLACED", str(t, out, "data", "confirmPayment", "order", "status"))
	c3 := cart()
	_, out = srv.gql(t, "", mBegin, map[string]any{"in": map[string]any{"cartId": c3, "email": email}})
	cancelled := str(t, out, "data", "beginCheckout", "order", "id")
	keep(cancelled)
	for _, o := range []string{cancelled, placed} {
		_, out = srv.gql(t, admin, mCancel, map[string]any{"in": map[string]any{"orderId": o}})
		assert.Equal(t, "CANCELLED", str(t, out, "data", "cancelOrder", "order", "status"))
	}
	// The payment action worker cancels the pending order's payment.
	require.Eventually(t, func() bool {
		var n int
		return store.DB().Get(&n, `SELECT count(*) FROM payment_actions WHERE order_id = $1 AND state = 'DONE'`, cancelled) == nil && n == 1
	}, 15*time.Second, 20*time.Millisecond)

	// Customer accounts: passwords, access tokens and reset tokens never
	// reach the logs (sign-up, sign-in, a wrong password, a customer cart,
	// recover, reset, sign-out).
	const password, newPassword = "logs-password-4b1e8d", "logs-new-password-9c2f"
	keep(password, newPassword)
	const custEmail = "grace.secret@example.com"
	keep(custEmail)
	_, out = srv.gql(t, "", `mutation($in: CustomerCreateInput!) { customerCreate(input: $in) { customer { id } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"email": custEmail, "password": password}})
	require.Empty(t, dig(out, "data", "customerCreate", "userErrors"), out)
	signIn := `mutation($in: CustomerAccessTokenCreateInput!) { customerAccessTokenCreate(input: $in) { customerAccessToken { accessToken } userErrors { code } } }`
	_, out = srv.gql(t, "", signIn, map[string]any{"in": map[string]any{"email": custEmail, "password": password + "x"}})
	assert.Equal(t, "INVALID_CREDENTIALS", dig(out, "data", "customerAccessTokenCreate", "userErrors").([]any)[0].(map[string]any)["code"])
	_, out = srv.gql(t, "", signIn, map[string]any{"in": map[string]any{"email": custEmail, "password": password}})
	custToken := str(t, out, "data", "customerAccessTokenCreate", "customerAccessToken", "accessToken")
	keep(custToken)
	_, out = srv.gql(t, custToken, mCreateCart, nil)
	keep(str(t, out, "data", "createCart", "cart", "id"))
	_, out = srv.gql(t, custToken, `{ customer { email } }`, nil)
	assert.Equal(t, custEmail, str(t, out, "data", "customer", "email"))
	srv.gql(t, "", `mutation($e: String!) { customerRecover(email: $e) }`, map[string]any{"e": custEmail})
	var resetToken string
	require.NoError(t, store.DB().Get(&resetToken, `SELECT data->>'resetToken' FROM webhook_events WHERE topic = 'CUSTOMER_PASSWORD_RESET'`))
	keep(resetToken)
	_, out = srv.gql(t, "", `mutation($t: String!, $p: String!) { customerResetPassword(resetToken: $t, password: $p) { customerAccessToken { accessToken } userErrors { code } } }`,
		map[string]any{"t": resetToken, "p": newPassword})
	newToken := str(t, out, "data", "customerResetPassword", "customerAccessToken", "accessToken")
	keep(newToken)
	_, out = srv.gql(t, newToken, `mutation { customerAccessTokenDelete }`, nil)
	assert.Equal(t, true, dig(out, "data", "customerAccessTokenDelete"))

	// The partner gets its deliveries (which do carry the ids: they are
	// the partner's business, not the log's).
	require.Eventually(t, func() bool {
		hookMu.Lock()
		defer hookMu.Unlock()
		all := strings.Join(delivered, "\n")
		return strings.Contains(all, paid) && strings.Contains(all, `"topic":"ORDER_CANCELLED"`)
	}, 15*time.Second, 20*time.Millisecond, "deliveries: %v\nlogs: %s", delivered, sink.String())
	srv.stop()

	t.Run("stripe", func(t *testing.T) {
		mock, err := paymentstest.StartStripeMock()
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("stripe-mock: %v", err)
			}
			t.Skipf("skipping: %v", err)
		}
		defer mock.Stop()
		const apiKey, whsec = "sk_test_51HlogsSecretKey7Qx", "whsec_logs_secret_3e1d"
		keep(apiKey, whsec)
		store, dbURL := storagetest.NewStore(t, storagetest.Options())
		cfg := config.Defaults()
		cfg.DatabaseURL, cfg.AdminToken, cfg.ShutdownDrainDelay = dbURL, admin, 10*time.Millisecond
		cfg.PaymentProvider, cfg.StripeAPIBase, cfg.StripeSecretKey, cfg.StripeWebhookSecret = "stripe", mock.URL, apiKey, whsec
		srv := start(t, cfg, store, log)
		p := storagetest.MustProduct(t, store, "LOGS-2", 5)
		c := storagetest.MustCart(t, store)
		_, err = store.AddToCart(context.Background(), storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
		require.NoError(t, err)
		keep(c.ID)
		key := "idem-key-" + storage.NewSecretID()
		keep(key)
		_, out := srv.gql(t, "", mBegin, map[string]any{"in": map[string]any{"cartId": c.ID, "email": email, "idempotencyKey": key}})
		order := str(t, out, "data", "beginCheckout", "order", "id")
		intent := str(t, out, "data", "beginCheckout", "order", "payment", "reference")
		keep(order, str(t, out, "data", "beginCheckout", "order", "payment", "clientSecret"))

		hook := func(ev paymentstest.Event) int {
			body, sig := ev.Sign(t, whsec)
			status, _ := srv.post(t, "/webhooks/stripe", "", body, map[string]string{"Stripe-Signature": sig})
			return status
		}
		// Refused and ignored events first: a bad signature, a
		// signature from the future, another intent naming the order,
		// an event type not handled (logged at DEBUG).
		body, _ := paymentstest.Event{ID: "evt_bad", Type: "payment_intent.succeeded", IntentID: intent, OrderID: order}.Sign(t, whsec)
		status, _ := srv.post(t, "/webhooks/stripe", "", body, map[string]string{"Stripe-Signature": "t=1,v1=00"})
		assert.Equal(t, 400, status)
		assert.Equal(t, 400, hook(paymentstest.Event{ID: "evt_future", Type: "payment_intent.succeeded", IntentID: intent, OrderID: order, Signed: time.Now().Add(24 * time.Hour)}))
		assert.Equal(t, 200, hook(paymentstest.Event{ID: "evt_other", Type: "payment_intent.succeeded", IntentID: "pi_other", OrderID: order}))
		assert.Equal(t, 200, hook(paymentstest.Event{ID: "evt_type", Type: "charge.refunded", IntentID: intent, OrderID: order}))
		// The payment succeeds, delivered twice.
		ok := paymentstest.Event{ID: "evt_ok", Type: "payment_intent.succeeded", IntentID: intent, OrderID: order}
		assert.Equal(t, 200, hook(ok))
		assert.Equal(t, 200, hook(ok))
		o, err := store.OrderByID(context.Background(), order)
		require.NoError(t, err)
		assert.Equal(t, storage.OrderPlaced, o.Status)
		srv.stop()

		logs := sink.String()
		assert.Contains(t, logs, `"order_ref":"`+storage.LogRef(order)+`"`)
		assert.Contains(t, logs, "stripe webhook: not for a Stripe payment of ours; ignored")
		assert.Contains(t, logs, "stripe webhook: signature timestamp outside the tolerance; refused")
		assert.Contains(t, logs, `"level":"DEBUG"`)
	})

	logs := sink.String()
	require.NotEmpty(t, logs)
	for _, want := range []string{`"msg":"request"`, `"msg":"order payment transition"`, `"order_ref":"` + storage.LogRef(paid) + `"`,
		`"msg":"payment action done","order_ref":"` + storage.LogRef(cancelled) + `"`, `"outcome":"user_error:INVALID_INPUT"`} {
		assert.Contains(t, logs, want)
	}
	lines := strings.Split(logs, "\n")
	for _, s := range secrets {
		for _, line := range lines {
			if strings.Contains(line, s) {
				t.Errorf("a log line carries the secret %q: %s", s, line)
			}
		}
	}
}
