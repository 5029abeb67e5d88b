package payments_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"holdfast/payments"
	"holdfast/payments/paymentstest"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// stripeMock is the package's stripe-mock (nil when not installed).
var (
	stripeMock    *paymentstest.StripeMock
	stripeMockErr error
)

func TestMain(m *testing.M) {
	stripeMock, stripeMockErr = paymentstest.StartStripeMock()
	code := m.Run()
	if stripeMock != nil {
		stripeMock.Stop()
	}
	if code == 0 {
		// No goroutine is ignored: stripe-mock has stopped, so the HTTP
		// clients' keep-alive connections to it are closed too.
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// mockURL returns stripe-mock's URL, skipping the test when it is not
// installed here (CI installs it: there it fails instead).
func mockURL(t *testing.T) string {
	t.Helper()
	if stripeMock == nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("stripe-mock: %v", stripeMockErr)
		}
		t.Skipf("skipping: %v", stripeMockErr)
	}
	return stripeMock.URL
}

const webhookSecret = "whsec_test_secret"

type world struct {
	store    *storage.Store
	dbURL    string
	provider *counting
	svc      *payments.Service
}

// counting wraps a provider and records its calls.
type counting struct {
	payments.Provider
	mu    sync.Mutex
	calls []string
}

func (c *counting) record(op string, ch payments.Charge) {
	c.mu.Lock()
	c.calls = append(c.calls, op+":"+ch.OrderID)
	c.mu.Unlock()
}

func (c *counting) CreateIntent(ctx context.Context, ch payments.Charge) (payments.Intent, error) {
	c.record("create", ch)
	return c.Provider.CreateIntent(ctx, ch)
}

func (c *counting) Cancel(ctx context.Context, ch payments.Charge) error {
	c.record("cancel", ch)
	return c.Provider.Cancel(ctx, ch)
}

func (c *counting) Refund(ctx context.Context, ch payments.Charge) error {
	c.record("refund", ch)
	return c.Provider.Refund(ctx, ch)
}

func (c *counting) Calls() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func stripeProvider(base string) payments.Provider {
	return payments.NewStripe(payments.StripeConfig{SecretKey: "sk_test_123", APIBase: base})
}

func newWorld(t *testing.T, p payments.Provider) *world {
	t.Helper()
	store, u := storagetest.NewStore(t, storagetest.Options())
	c := &counting{Provider: p}
	return &world{store: store, dbURL: u, provider: c, svc: payments.NewService(store, c, payments.Options{TTL: time.Hour})}
}

func stripeWorld(t *testing.T) *world {
	t.Helper()
	return newWorld(t, stripeProvider(mockURL(t)))
}

// cartWith makes a cart holding qty units of each product.
func (w *world) cartWith(t *testing.T, qty int, products ...*storage.Product) string {
	t.Helper()
	c := storagetest.MustCart(t, w.store)
	for _, p := range products {
		_, err := w.store.AddToCart(context.Background(), storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: qty})
		require.NoError(t, err)
	}
	return c.ID
}

func (w *world) status(t *testing.T, orderID string) (order, payment string) {
	t.Helper()
	require.NoError(t, w.store.DB().QueryRow(`SELECT o.status, p.status FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id = $1`, orderID).Scan(&order, &payment))
	return order, payment
}

func (w *world) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, w.store.DB().Get(&n, q, args...))
	return n
}

// webhook is one server process's webhook endpoint over its own pool.
func (w *world) webhook(t *testing.T, store *storage.Store) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(&payments.StripeWebhook{Store: store, Secret: webhookSecret, Service: w.svc})
	t.Cleanup(srv.Close)
	return srv
}

// deliver posts a webhook and returns the status (0 after reporting a
// transport failure); safe from any goroutine.
func deliver(t *testing.T, url string, payload []byte, header string) int {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		t.Errorf("request: %v", err)
		return 0
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if header != "" {
		req.Header.Set("Stripe-Signature", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("post: %v", err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (w *world) begin(t *testing.T, cartID string) (*storage.Order, *storage.Payment) {
	t.Helper()
	o, p, err := w.svc.BeginCheckout(context.Background(), cartID, "ada@example.com", "")
	require.NoError(t, err)
	return o, p
}

func event(id, typ string, o *storage.Order, p *storage.Payment) paymentstest.Event {
	ref := ""
	if p != nil && p.Reference != nil {
		ref = *p.Reference
	}
	return paymentstest.Event{ID: id, Type: typ, IntentID: ref, OrderID: o.ID}
}

func TestStripeBeginCheckout(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	p := storagetest.MustProduct(t, w.store, "S1", 5)
	cart := w.cartWith(t, 2, p)

	o, pay := w.begin(t, cart)
	assert.Equal(t, storage.OrderPendingPayment, o.Status)
	require.NotNil(t, pay.Reference)
	assert.Regexp(t, `^pi_`, *pay.Reference)
	require.NotNil(t, pay.ClientSecret)
	assert.Contains(t, *pay.ClientSecret, "_secret_")
	assert.Equal(t, int64(2000), pay.AmountCents)
	assert.Equal(t, "stripe", pay.Provider)
	storagetest.AssertBooks(t, w.store)

	// Again: the same order and secret, no second intent.
	again, pay2 := w.begin(t, cart)
	assert.Equal(t, o.ID, again.ID)
	assert.Equal(t, *pay.ClientSecret, *pay2.ClientSecret)
	assert.Equal(t, []string{"create:" + o.ID}, w.provider.Calls())
}

// deadURL is a loopback URL where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return "http://" + addr
}

func TestProviderOutageLeavesTheCartUnchanged(t *testing.T) {
	t.Parallel()
	w := newWorld(t, stripeProvider(deadURL(t)))
	ctx := context.Background()
	p := storagetest.MustProduct(t, w.store, "O1", 5)
	cart := w.cartWith(t, 2, p)
	cartBefore, err := w.store.CartByID(ctx, cart)
	require.NoError(t, err)
	linesBefore, err := w.store.CartLinesByCartIDs(ctx, []string{cart})
	require.NoError(t, err)

	_, _, err = w.svc.BeginCheckout(ctx, cart, "ada@example.com", "key-1")
	var se *storage.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, storage.CodePaymentProviderUnavailable, se.Code)

	cartAfter, err := w.store.CartByID(ctx, cart)
	require.NoError(t, err)
	assert.Equal(t, storage.CartActive, cartAfter.Status)
	assert.Equal(t, cartBefore.ExpiresAt, cartAfter.ExpiresAt)
	linesAfter, err := w.store.CartLinesByCartIDs(ctx, []string{cart})
	require.NoError(t, err)
	assert.Equal(t, linesBefore, linesAfter)
	assert.Zero(t, w.count(t, `SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM payments) + (SELECT count(*) FROM idempotency_keys)`))
	storagetest.AssertBooks(t, w.store)

	// The provider is back: the same request, key included, goes through.
	if stripeMock != nil {
		ok := payments.NewService(w.store, stripeProvider(stripeMock.URL), payments.Options{TTL: time.Hour})
		o, pay, err := ok.BeginCheckout(ctx, cart, "ada@example.com", "key-1")
		require.NoError(t, err)
		assert.Equal(t, storage.OrderPendingPayment, o.Status)
		assert.NotNil(t, pay.ClientSecret)
		storagetest.AssertBooks(t, w.store)
	}
}

// TestCrashBetweenProviderAndCommit: the server created the intent and
// stopped before recording it. The order was committed before the call,
// so nothing is lost; the retry finds the same order, asks the provider
// again with the same idempotency key (the order id) and records the
// intent: one order, one intent.
func TestCrashBetweenProviderAndCommit(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	ctx := context.Background()
	p := storagetest.MustProduct(t, w.store, "K1", 5)
	cart := w.cartWith(t, 2, p)

	// What BeginCheckout does up to the crash.
	o, pay, err := w.store.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: cart, Email: "ada@example.com", Provider: "stripe", TTL: time.Hour})
	require.NoError(t, err)
	_, err = w.provider.CreateIntent(ctx, payments.Charge{OrderID: o.ID, AmountCents: pay.AmountCents, Currency: pay.Currency})
	require.NoError(t, err)
	// ... crash: the intent was never recorded.
	storagetest.AssertBooks(t, w.store)

	again, pay2 := w.begin(t, cart)
	assert.Equal(t, o.ID, again.ID)
	require.NotNil(t, pay2.Reference)
	require.NotNil(t, pay2.ClientSecret)
	assert.Equal(t, []string{"create:" + o.ID, "create:" + o.ID}, w.provider.Calls(), "both calls carry the same idempotency key")
	assert.Equal(t, 1, w.count(t, `SELECT count(*) FROM orders WHERE cart_id = $1`, cart))
	storagetest.AssertBooks(t, w.store)

	// The shopper pays; the webhook places the order once.
	hook := w.webhook(t, w.store)
	body, sig := event("evt_crash_ok", "payment_intent.succeeded", again, pay2).Sign(t, webhookSecret)
	assert.Equal(t, http.StatusOK, deliver(t, hook.URL, body, sig))
	st, _ := w.status(t, o.ID)
	assert.Equal(t, storage.OrderPlaced, st)
	storagetest.AssertBooks(t, w.store)
}

// TestCrashThenExpiry: the same crash, and the shopper never comes back.
// The reaper expires the order at dueAt, and the queued cancel finds the
// unrecorded intent by its idempotency key and cancels it.
func TestCrashThenExpiry(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	ctx := context.Background()
	p := storagetest.MustProduct(t, w.store, "K2", 5)
	cart := w.cartWith(t, 2, p)
	o, pay, err := w.store.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: cart, Email: "ada@example.com", Provider: "stripe", TTL: time.Hour})
	require.NoError(t, err)
	_, err = w.provider.CreateIntent(ctx, payments.Charge{OrderID: o.ID, AmountCents: pay.AmountCents, Currency: pay.Currency})
	require.NoError(t, err)
	// The payment falls due (set in the database, not waited for).
	_, err = w.store.DB().Exec(`UPDATE payments SET due_at = now() - interval '1 second' WHERE order_id = $1`, o.ID)
	require.NoError(t, err)

	n, err := w.store.ReapPayments(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	worked, err := w.svc.WorkActions(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, 1, worked)
	assert.Equal(t, []string{"create:" + o.ID, "cancel:" + o.ID}, w.provider.Calls())
	assert.Equal(t, "DONE", w.actionState(t, o.ID, "cancel"))
	st, ps := w.status(t, o.ID)
	assert.Equal(t, [2]string{storage.OrderPaymentExpired, storage.PaymentExpired}, [2]string{st, ps})
	storagetest.AssertBooks(t, w.store)
}

func (w *world) actionState(t *testing.T, orderID, kind string) string {
	t.Helper()
	var st string
	require.NoError(t, w.store.DB().Get(&st, `SELECT state FROM payment_actions WHERE order_id = $1 AND kind = $2`, orderID, kind))
	return st
}

func TestWebhookSuccessAndRedelivery(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	p := storagetest.MustProduct(t, w.store, "W1", 5)
	o, pay := w.begin(t, w.cartWith(t, 3, p))
	hook := w.webhook(t, w.store)

	body, sig := event("evt_1", "payment_intent.succeeded", o, pay).Sign(t, webhookSecret)
	assert.Equal(t, http.StatusOK, deliver(t, hook.URL, body, sig))
	st, ps := w.status(t, o.ID)
	assert.Equal(t, [2]string{storage.OrderPlaced, storage.PaymentSucceeded}, [2]string{st, ps})
	cur, err := w.store.ProductByID(context.Background(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, [2]int{2, 0}, [2]int{cur.Stock, cur.Held})
	storagetest.AssertBooks(t, w.store)

	// Stripe delivers it again: 2xx, nothing changes.
	before := storagetest.Snapshot(t, w.store.DB())
	assert.Equal(t, http.StatusOK, deliver(t, hook.URL, body, sig))
	assert.Equal(t, before, storagetest.Snapshot(t, w.store.DB()))
}

// TestWebhookSameEventTwoProcesses: the same event reaches two server
// processes (two handlers, two pools) at once: one applies it, the other
// finds it recorded; both answer 2xx.
func TestWebhookSameEventTwoProcesses(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	other := storagetest.OpenStore(t, w.dbURL, storagetest.Options())
	hookA, hookB := w.webhook(t, w.store), w.webhook(t, other)
	const rounds = 15
	p := storagetest.MustProduct(t, w.store, "W2", 2*rounds)
	for i := range rounds {
		o, pay := w.begin(t, w.cartWith(t, 2, p))
		body, sig := event(fmt.Sprintf("evt_%d", i), "payment_intent.succeeded", o, pay).Sign(t, webhookSecret)
		var a, b int
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); <-start; a = deliver(t, hookA.URL, body, sig) }()
		go func() { defer wg.Done(); <-start; b = deliver(t, hookB.URL, body, sig) }()
		close(start)
		wg.Wait()
		assert.Equal(t, [2]int{200, 200}, [2]int{a, b})
		assert.Equal(t, 2, w.count(t, `SELECT -sum(delta)::int FROM inventory_movements WHERE order_id = $1`, o.ID), "sold once")
		storagetest.AssertBooks(t, w.store)
	}
	assert.Equal(t, rounds, w.count(t, `SELECT count(*) FROM payment_events`))
	cur, err := w.store.ProductByID(context.Background(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, [2]int{0, 0}, [2]int{cur.Stock, cur.Held})
}

func TestWebhookRefusesBadSignatures(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	p := storagetest.MustProduct(t, w.store, "W3", 5)
	o, pay := w.begin(t, w.cartWith(t, 1, p))
	hook := w.webhook(t, w.store)
	ev := event("evt_bad", "payment_intent.succeeded", o, pay)
	good, goodSig := ev.Sign(t, webhookSecret)
	_, wrongSig := ev.Sign(t, "whsec_someone_else")
	stale := ev
	stale.Signed = time.Now().Add(-10 * time.Minute)
	staleBody, staleSig := stale.Sign(t, webhookSecret)
	tampered := bytes.Replace(good, []byte(`"amount":1000`), []byte(`"amount":1`), 1)
	require.NotEqual(t, good, tampered)

	before := storagetest.Snapshot(t, w.store.DB())
	for name, tc := range map[string]struct {
		body []byte
		sig  string
	}{
		"wrong secret":     {good, wrongSig},
		"stale timestamp":  {staleBody, staleSig},
		"tampered body":    {tampered, goodSig},
		"no signature":     {good, ""},
		"garbage header":   {good, "t=1,v1=00"},
		"unsigned garbage": {[]byte("{"), ""},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, http.StatusBadRequest, deliver(t, hook.URL, tc.body, tc.sig))
			assert.Equal(t, before, storagetest.Snapshot(t, w.store.DB()))
		})
	}
	// The genuine delivery still works afterwards.
	assert.Equal(t, http.StatusOK, deliver(t, hook.URL, good, goodSig))
	st, _ := w.status(t, o.ID)
	assert.Equal(t, storage.OrderPlaced, st)
}

func TestWebhookUnknownOrderOrEvent(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	p := storagetest.MustProduct(t, w.store, "W4", 5)
	o, pay := w.begin(t, w.cartWith(t, 1, p))
	hook := w.webhook(t, w.store)
	before := storagetest.Snapshot(t, w.store.DB())
	for name, ev := range map[string]paymentstest.Event{
		"unknown order":     {ID: "evt_u1", Type: "payment_intent.succeeded", IntentID: "pi_x", OrderID: storage.NewSecretID()},
		"no order id":       {ID: "evt_u2", Type: "payment_intent.payment_failed", IntentID: "pi_x"},
		"other event type":  event("evt_u3", "charge.refunded", o, pay),
		"another's payment": {ID: "evt_u4", Type: "payment_intent.canceled", IntentID: "pi_x", OrderID: "not-an-order-of-ours"},
	} {
		t.Run(name, func(t *testing.T) {
			body, sig := ev.Sign(t, webhookSecret)
			assert.Equal(t, http.StatusOK, deliver(t, hook.URL, body, sig))
			assert.Equal(t, before, storagetest.Snapshot(t, w.store.DB()))
		})
	}
}

func TestWebhookDatabaseDownIs500(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	p := storagetest.MustProduct(t, w.store, "W5", 5)
	o, pay := w.begin(t, w.cartWith(t, 1, p))
	down := storagetest.OpenStore(t, w.dbURL, storagetest.Options())
	require.NoError(t, down.Close())
	body, sig := event("evt_down", "payment_intent.succeeded", o, pay).Sign(t, webhookSecret)
	assert.Equal(t, http.StatusInternalServerError, deliver(t, w.webhook(t, down).URL, body, sig), "Stripe must deliver again")
	st, _ := w.status(t, o.ID)
	assert.Equal(t, storage.OrderPendingPayment, st)
	assert.Zero(t, w.count(t, `SELECT count(*) FROM payment_events`))
	// Delivered again to a working process: applied.
	assert.Equal(t, http.StatusOK, deliver(t, w.webhook(t, w.store).URL, body, sig))
	st, _ = w.status(t, o.ID)
	assert.Equal(t, storage.OrderPlaced, st)
}

func TestWebhookFailureThenLateSuccess(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	ctx := context.Background()
	p := storagetest.MustProduct(t, w.store, "W6", 5)
	o, pay := w.begin(t, w.cartWith(t, 2, p))
	hook := w.webhook(t, w.store)

	body, sig := event("evt_failed", "payment_intent.payment_failed", o, pay).Sign(t, webhookSecret)
	assert.Equal(t, http.StatusOK, deliver(t, hook.URL, body, sig))
	st, ps := w.status(t, o.ID)
	assert.Equal(t, [2]string{storage.OrderPaymentExpired, storage.PaymentFailed}, [2]string{st, ps})
	storagetest.AssertBooks(t, w.store)
	n, err := w.svc.WorkActions(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "DONE", w.actionState(t, o.ID, "cancel"))

	body, sig = event("evt_ok", "payment_intent.succeeded", o, pay).Sign(t, webhookSecret)
	assert.Equal(t, http.StatusOK, deliver(t, hook.URL, body, sig))
	st, ps = w.status(t, o.ID)
	assert.Equal(t, [2]string{storage.OrderPlaced, storage.PaymentSucceeded}, [2]string{st, ps})
	storagetest.AssertBooks(t, w.store)
}

// TestLateSuccessRefundedAtStripe: the order expired, its units were sold
// to someone else, then the payment succeeded: REFUND_REQUIRED, and the
// refund issued through stripe-mock makes it REFUNDED.
func TestLateSuccessRefundedAtStripe(t *testing.T) {
	t.Parallel()
	w := stripeWorld(t)
	ctx := context.Background()
	p := storagetest.MustProduct(t, w.store, "W7", 2)
	o, pay := w.begin(t, w.cartWith(t, 2, p))
	_, err := w.store.DB().Exec(`UPDATE payments SET due_at = now() - interval '1 second' WHERE order_id = $1`, o.ID)
	require.NoError(t, err)
	n, err := w.store.ReapPayments(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	other := w.cartWith(t, 2, p)
	_, err = w.store.Checkout(ctx, other, "bob@example.com", "")
	require.NoError(t, err)

	body, sig := event("evt_late", "payment_intent.succeeded", o, pay).Sign(t, webhookSecret)
	assert.Equal(t, http.StatusOK, deliver(t, w.webhook(t, w.store).URL, body, sig))
	st, ps := w.status(t, o.ID)
	assert.Equal(t, [2]string{storage.OrderRefundRequired, storage.PaymentSucceeded}, [2]string{st, ps})
	storagetest.AssertBooks(t, w.store)

	worked, err := w.svc.WorkActions(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, 2, worked)
	assert.ElementsMatch(t, []string{"create:" + o.ID, "cancel:" + o.ID, "refund:" + o.ID}, w.provider.Calls())
	st, ps = w.status(t, o.ID)
	assert.Equal(t, [2]string{storage.OrderRefunded, storage.PaymentRefunded}, [2]string{st, ps})
	storagetest.AssertBooks(t, w.store)
	worked, err = w.svc.WorkActions(ctx, 10)
	require.NoError(t, err)
	assert.Zero(t, worked, "each action is done once")
}

func TestManualProvider(t *testing.T) {
	t.Parallel()
	w := newWorld(t, payments.Manual{})
	ctx := context.Background()
	p := storagetest.MustProduct(t, w.store, "M1", 2)
	o, pay := w.begin(t, w.cartWith(t, 2, p))
	assert.Nil(t, pay.Reference)
	assert.Nil(t, pay.ClientSecret)
	assert.Equal(t, "manual", pay.Provider)

	_, err := w.svc.ConfirmManual(ctx, o.ID, "  ")
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeInvalidInput})
	placed, err := w.svc.ConfirmManual(ctx, o.ID, "BANK-7")
	require.NoError(t, err)
	assert.Equal(t, storage.OrderPlaced, placed.Status)
	_, err = w.svc.ConfirmManual(ctx, o.ID, "BANK-7")
	require.NoError(t, err)
	_, err = w.svc.ConfirmManual(ctx, o.ID, "BANK-8")
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodePaymentNotPending})
	storagetest.AssertBooks(t, w.store)

	// A late confirmation without stock: REFUND_REQUIRED, and the manual
	// provider cannot refund: the action waits for a person.
	o2, _ := w.begin(t, w.cartWith(t, 1, storagetest.MustProduct(t, w.store, "M2", 1)))
	_, err = w.store.CancelOrder(ctx, o2.ID)
	require.NoError(t, err)
	late, err := w.svc.ConfirmManual(ctx, o2.ID, "BANK-9")
	require.NoError(t, err)
	assert.Equal(t, storage.OrderRefundRequired, late.Status)
	n, err := w.svc.WorkActions(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, "MANUAL", w.actionState(t, o2.ID, "refund"))
	assert.Equal(t, "DONE", w.actionState(t, o2.ID, "cancel"))
	st, _ := w.status(t, o2.ID)
	assert.Equal(t, storage.OrderRefundRequired, st)
	storagetest.AssertBooks(t, w.store)
}

// TestActionsRetryWhileStripeIsDown: a refund queued while Stripe is
// unreachable stays pending, with its error, until it can be issued.
func TestActionsRetryWhileStripeIsDown(t *testing.T) {
	t.Parallel()
	base := mockURL(t)
	w := newWorld(t, stripeProvider(deadURL(t)))
	ctx := context.Background()
	p := storagetest.MustProduct(t, w.store, "D1", 2)
	cart := w.cartWith(t, 1, p)
	o, pay, err := payments.NewService(w.store, stripeProvider(base), payments.Options{TTL: time.Hour}).BeginCheckout(ctx, cart, "a@example.com", "")
	require.NoError(t, err)
	_, err = w.store.PaymentSucceeded(ctx, storage.PaymentEvent{Provider: "stripe", EventID: "evt_1", OrderID: o.ID, Reference: *pay.Reference})
	require.NoError(t, err)
	_, err = w.store.CancelOrder(ctx, o.ID)
	require.NoError(t, err)

	n, err := w.svc.WorkActions(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "PENDING", w.actionState(t, o.ID, "refund"))
	var lastErr string
	require.NoError(t, w.store.DB().Get(&lastErr, `SELECT last_error FROM payment_actions WHERE order_id = $1`, o.ID))
	assert.Contains(t, lastErr, "provider unavailable")

	_, err = w.store.DB().Exec(`UPDATE payment_actions SET next_attempt_at = now()`)
	require.NoError(t, err)
	up := payments.NewService(w.store, stripeProvider(base), payments.Options{TTL: time.Hour})
	n, err = up.WorkActions(ctx, 10)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, "DONE", w.actionState(t, o.ID, "refund"))
	_, ps := w.status(t, o.ID)
	assert.Equal(t, storage.PaymentRefunded, ps)
	storagetest.AssertBooks(t, w.store)
}
