package graph_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/payments"
	"holdfast/storage/storagetest"
)

type payment struct {
	Provider string `json:"provider"`
	Status   string `json:"status"`
	Amount   struct {
		Amount       string `json:"amount"`
		CurrencyCode string `json:"currencyCode"`
	} `json:"amount"`
	Reference    *string   `json:"reference"`
	ClientSecret *string   `json:"clientSecret"`
	DueAt        time.Time `json:"dueAt"`
}

const payloadPaid = `order { id email status total { amount } lines { sku quantity unitPrice { amount } }
	payment { provider status amount { amount currencyCode } reference clientSecret dueAt } }
	userErrors { code message field available }`

func init() {
	mutations["beginCheckout"] = `mutation($in: BeginCheckoutInput!) { m: beginCheckout(input: $in) { ` + payloadPaid + ` } }`
	mutations["confirmPayment"] = `mutation($in: ConfirmPaymentInput!) { m: confirmPayment(input: $in) { ` + payloadPaid + ` } }`
}

// paying is a test world whose server takes payments with the manual
// provider, with a payment TTL of ttl.
func paying(t *testing.T, ttl time.Duration) *env {
	t.Helper()
	store, u := storagetest.NewStore(t, storagetest.Options())
	e := &env{store: store, dbURL: u}
	srv := httptest.NewServer(newAPI(graph.HandlerConfig{
		Store: store, AdminToken: adminToken, Introspection: true,
		Payments: payments.NewService(store, payments.Manual{}, payments.Options{TTL: ttl}),
	}, httpapi.APIConfig{}))
	t.Cleanup(srv.Close)
	e.srv = srv
	return e
}

func TestBeginCheckoutAndConfirmPayment(t *testing.T) {
	t.Parallel()
	e := paying(t, time.Hour)
	p := storagetest.MustProduct(t, e.store, "PAY-1", 5)
	c := e.createCart(t)
	e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 2})

	m := e.mustMutate(t, "beginCheckout", map[string]any{"cartId": c, "email": "ada@example.com"})
	require.Empty(t, m.UserErrors)
	o := m.Order
	assert.Equal(t, "PENDING_PAYMENT", o.Status)
	require.NotNil(t, o.Payment)
	assert.Equal(t, "manual", o.Payment.Provider)
	assert.Equal(t, "PENDING", o.Payment.Status)
	assert.Equal(t, "20.00", o.Payment.Amount.Amount)
	assert.Nil(t, o.Payment.ClientSecret)
	assert.WithinDuration(t, time.Now().Add(time.Hour), o.Payment.DueAt, time.Minute)

	// The audit counts the pending order's holds.
	var audit struct {
		InventoryAudit []struct {
			Held, CartHeld, PendingHeld int
			OK                          bool
		} `json:"inventoryAudit"`
	}
	decode(t, e.gql(t, adminToken, `{ inventoryAudit { held cartHeld pendingHeld ok } }`, nil), &audit)
	require.Len(t, audit.InventoryAudit, 1)
	assert.Equal(t, 2, audit.InventoryAudit[0].Held)
	assert.Equal(t, 2, audit.InventoryAudit[0].PendingHeld)
	assert.True(t, audit.InventoryAudit[0].OK)

	// Repeating beginCheckout answers with the same order.
	again := e.mustMutate(t, "beginCheckout", map[string]any{"cartId": c, "email": "ada@example.com"})
	assert.Equal(t, o.ID, again.Order.ID)

	// confirmPayment is for admins.
	r := post(t, e.srv.URL, "", mutations["confirmPayment"], map[string]any{"in": map[string]any{"orderId": o.ID, "reference": "BANK-1"}})
	assert.Equal(t, "UNAUTHENTICATED", r.code())

	m = e.mustMutate(t, "confirmPayment", map[string]any{"orderId": o.ID, "reference": "BANK-1"})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, "PLACED", m.Order.Status)
	assert.Equal(t, "SUCCEEDED", m.Order.Payment.Status)
	assert.Equal(t, "BANK-1", *m.Order.Payment.Reference)
	prod, err := e.store.ProductByID(context.Background(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, [2]int{3, 0}, [2]int{prod.Stock, prod.Held})

	m = e.mustMutate(t, "confirmPayment", map[string]any{"orderId": o.ID, "reference": "BANK-1"})
	assert.Empty(t, m.UserErrors, "the same confirmation again is fine")
	m = e.mustMutate(t, "confirmPayment", map[string]any{"orderId": o.ID, "reference": "BANK-2"})
	assert.Equal(t, "PAYMENT_NOT_PENDING", codeOf(m))
	m = e.mustMutate(t, "confirmPayment", map[string]any{"orderId": "nope", "reference": "BANK-2"})
	assert.Equal(t, "ORDER_NOT_FOUND", codeOf(m))
	storagetest.AssertBooks(t, e.store)

	// The order reads with its payment; a plain checkout's has none.
	var q struct {
		Order order `json:"order"`
	}
	decode(t, e.gql(t, "", `query($id: ID!) { order(id: $id) { id status payment { status reference } } }`, map[string]any{"id": o.ID}), &q)
	assert.Equal(t, "SUCCEEDED", q.Order.Payment.Status)
	c2 := e.createCart(t)
	e.mustMutate(t, "addToCart", map[string]any{"cartId": c2, "productId": pid(p), "quantity": 1})
	plain := e.mustMutate(t, "checkout", map[string]any{"cartId": c2, "email": "bob@example.com"})
	decode(t, e.gql(t, "", `query($id: ID!) { order(id: $id) { id status payment { status } } }`, map[string]any{"id": plain.Order.ID}), &q)
	assert.Equal(t, "PLACED", q.Order.Status)
	assert.Nil(t, q.Order.Payment)
	m = e.mustMutate(t, "confirmPayment", map[string]any{"orderId": plain.Order.ID, "reference": "BANK-3"})
	assert.Equal(t, "PAYMENT_NOT_PENDING", codeOf(m))
}

func TestBeginCheckoutRefusalsAndKeys(t *testing.T) {
	t.Parallel()
	e := paying(t, time.Hour)
	p := storagetest.MustProduct(t, e.store, "PAY-2", 5)
	c := e.createCart(t)
	m := e.mustMutate(t, "beginCheckout", map[string]any{"cartId": c, "email": "ada@example.com"})
	assert.Equal(t, "CART_EMPTY", codeOf(m))
	m = e.mustMutate(t, "beginCheckout", map[string]any{"cartId": c, "email": "not an address"})
	assert.Equal(t, "INVALID_INPUT", codeOf(m))

	e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 1})
	in := map[string]any{"cartId": c, "email": "ada@example.com", "idempotencyKey": "pay-k1"}
	first := e.mustMutate(t, "beginCheckout", in)
	require.Empty(t, first.UserErrors)
	replay := e.mustMutate(t, "beginCheckout", in)
	assert.Equal(t, first.Order.ID, replay.Order.ID)
	in["email"] = "other@example.com"
	assert.Equal(t, "IDEMPOTENCY_KEY_REUSED", codeOf(e.mustMutate(t, "beginCheckout", in)))
}

// TestCancelPendingOrderThroughTheAPI: cancelOrder on an order awaiting
// payment releases its holds; a confirmation that arrives later cannot
// sell it again, the order needs a refund instead.
func TestCancelPendingOrderThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := paying(t, time.Hour)
	p := storagetest.MustProduct(t, e.store, "PAY-3", 3)
	c := e.createCart(t)
	e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 3})
	o := e.mustMutate(t, "beginCheckout", map[string]any{"cartId": c, "email": "ada@example.com"}).Order

	m := e.mustMutate(t, "cancelOrder", map[string]any{"orderId": o.ID})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, "CANCELLED", m.Order.Status)
	prod, err := e.store.ProductByID(context.Background(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, [2]int{3, 0}, [2]int{prod.Stock, prod.Held})

	m = e.mustMutate(t, "confirmPayment", map[string]any{"orderId": o.ID, "reference": "LATE"})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, "REFUND_REQUIRED", m.Order.Status)
	storagetest.AssertBooks(t, e.store)
}

// TestPaymentExpiryThroughTheAPI: past dueAt the reaper expires the order
// and releases its holds; a late confirmation re-reserves the units.
func TestPaymentExpiryThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := paying(t, time.Hour)
	p := storagetest.MustProduct(t, e.store, "PAY-4", 3)
	c := e.createCart(t)
	e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 2})
	o := e.mustMutate(t, "beginCheckout", map[string]any{"cartId": c, "email": "ada@example.com"}).Order
	// The payment falls due (set in the database, not waited for).
	_, err := e.store.DB().Exec(`UPDATE payments SET due_at = now() - interval '1 second' WHERE order_id = $1`, o.ID)
	require.NoError(t, err)
	n, err := e.store.ReapPayments(context.Background(), 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	var q struct {
		Order order `json:"order"`
	}
	decode(t, e.gql(t, "", `query($id: ID!) { order(id: $id) { id status payment { status } } }`, map[string]any{"id": o.ID}), &q)
	assert.Equal(t, "PAYMENT_EXPIRED", q.Order.Status)
	assert.Equal(t, "EXPIRED", q.Order.Payment.Status)

	m := e.mustMutate(t, "confirmPayment", map[string]any{"orderId": o.ID, "reference": "LATE"})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, "PLACED", m.Order.Status)
	raw, _ := json.Marshal(m.Order.Payment)
	assert.Contains(t, string(raw), `"SUCCEEDED"`)
	storagetest.AssertBooks(t, e.store)
}
