package graph_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

type warning struct {
	Code      string `json:"code"`
	Requested *int   `json:"requested"`
	Reserved  *int   `json:"reserved"`
}

type mutationResult struct {
	Cart       *cart       `json:"cart"`
	UserErrors []userError `json:"userErrors"`
	Warnings   []warning   `json:"warnings"`
	Order      *order      `json:"order"`
	Product    *struct {
		ID        string `json:"id"`
		Stock     int    `json:"stock"`
		Held      int    `json:"held"`
		Available int    `json:"available"`
	} `json:"product"`
}

type order struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Status string `json:"status"`
	Total  struct {
		Amount string `json:"amount"`
	} `json:"total"`
	Lines []struct {
		Sku       string `json:"sku"`
		Quantity  int    `json:"quantity"`
		UnitPrice struct {
			Amount string `json:"amount"`
		} `json:"unitPrice"`
	} `json:"lines"`
	Payment *payment `json:"payment"` // set by the payment mutations (payments_test.go)
}

const (
	payloadCart  = `cart { ` + cartFields + ` status } userErrors { code message field available } warnings { code requested reserved }`
	payloadOrder = `order { id email status total { amount } lines { sku quantity unitPrice { amount } } } userErrors { code message field available }`
	payloadProd  = `product { id stock held available } userErrors { code message field available }`
)

var mutations = map[string]string{
	"addToCart":      `mutation($in: AddToCartInput!) { m: addToCart(input: $in) { ` + payloadCart + ` } }`,
	"updateCartLine": `mutation($in: UpdateCartLineInput!) { m: updateCartLine(input: $in) { ` + payloadCart + ` } }`,
	"removeCartLine": `mutation($in: RemoveCartLineInput!) { m: removeCartLine(input: $in) { ` + payloadCart + ` } }`,
	"checkout":       `mutation($in: CheckoutInput!) { m: checkout(input: $in) { ` + payloadOrder + ` } }`,
	"cancelOrder":    `mutation($in: CancelOrderInput!) { m: cancelOrder(input: $in) { ` + payloadOrder + ` } }`,
	"adjustStock":    `mutation($in: AdjustStockInput!) { m: adjustStock(input: $in) { ` + payloadProd + ` } }`,
	"updateProduct":  `mutation($in: UpdateProductInput!) { m: updateProduct(input: $in) { ` + payloadProd + ` } }`,
}

// mutate runs one of the mutations above with input in; safe from many
// goroutines. GraphQL-level errors are returned in the response.
func mutate(t *testing.T, url, name string, in map[string]any) (mutationResult, gqlResponse) {
	r := post(t, url, adminToken, mutations[name], map[string]any{"in": in})
	var out struct {
		M mutationResult `json:"m"`
	}
	if len(r.Errors) == 0 && r.Data != nil {
		if err := json.Unmarshal(r.Data, &out); err != nil {
			t.Errorf("decode %s: %v", name, err)
		}
	}
	return out.M, r
}

// mustMutate is mutate that expects no GraphQL error.
func (e *env) mustMutate(t *testing.T, name string, in map[string]any) mutationResult {
	t.Helper()
	m, r := mutate(t, e.srv.URL, name, in)
	require.Empty(t, r.Errors, "%s: GraphQL errors", name)
	return m
}

func codeOf(m mutationResult) string {
	if len(m.UserErrors) == 0 {
		return ""
	}
	return m.UserErrors[0].Code
}

func TestCartLinesChange(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "LINES", 10)
	c := e.createCart(t)
	in := func(q int) map[string]any { return map[string]any{"cartId": c, "productId": pid(p), "quantity": q} }

	m := e.mustMutate(t, "updateCartLine", in(3)) // creates the line
	require.Empty(t, m.UserErrors)
	assert.Equal(t, 3, m.Cart.TotalQuantity)
	assert.Equal(t, "ACTIVE", m.Cart.Status)

	m = e.mustMutate(t, "updateCartLine", in(8))
	require.Empty(t, m.UserErrors)
	assert.Equal(t, 8, m.Cart.TotalQuantity)
	assert.Equal(t, 2, m.Cart.Lines[0].Product.Available)

	before := storagetest.Snapshot(t, e.store.DB())
	m = e.mustMutate(t, "updateCartLine", in(11))
	assert.Equal(t, "INSUFFICIENT_STOCK", codeOf(m))
	require.NotNil(t, m.UserErrors[0].Available)
	assert.Equal(t, 2, *m.UserErrors[0].Available, "available is stock - held now")
	assert.Equal(t, 8, m.Cart.TotalQuantity, "the cart comes back unchanged")
	m = e.mustMutate(t, "updateCartLine", in(-1))
	assert.Equal(t, "INVALID_QUANTITY", codeOf(m))
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()), "refusals changed nothing, expiry included")

	m = e.mustMutate(t, "updateCartLine", in(5)) // decrease releases 3
	require.Empty(t, m.UserErrors)
	assert.Equal(t, 5, m.Cart.TotalQuantity)
	assert.Equal(t, 10, m.Lines0Available(t)+m.Cart.TotalQuantity, "available + held = stock")
	storagetest.AssertBooks(t, e.store)

	m = e.mustMutate(t, "updateCartLine", in(0)) // 0 removes
	require.Empty(t, m.UserErrors)
	assert.Empty(t, m.Cart.Lines)

	e.mustMutate(t, "addToCart", in(4))
	m = e.mustMutate(t, "removeCartLine", map[string]any{"cartId": c, "productId": pid(p)})
	require.Empty(t, m.UserErrors)
	assert.Empty(t, m.Cart.Lines)
	books := storagetest.AssertBooks(t, e.store)
	assert.Equal(t, 0, books[0].Held)

	m = e.mustMutate(t, "removeCartLine", map[string]any{"cartId": c, "productId": "424242"})
	assert.Equal(t, "PRODUCT_NOT_FOUND", codeOf(m))
}

func (m mutationResult) Lines0Available(t *testing.T) int {
	t.Helper()
	require.NotEmpty(t, m.Cart.Lines)
	return m.Cart.Lines[0].Product.Available
}

func TestAllowPartial(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "PARTIAL", 5)
	c1, c2 := e.createCart(t), e.createCart(t)
	add := func(c string, q int, partial bool) mutationResult {
		return e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": q, "allowPartial": partial})
	}
	m := add(c1, 3, true)
	require.Empty(t, m.UserErrors)
	assert.Empty(t, m.Warnings, "no warning when everything was reserved")

	m = add(c2, 4, false)
	assert.Equal(t, "INSUFFICIENT_STOCK", codeOf(m))

	m = add(c2, 4, true)
	require.Empty(t, m.UserErrors)
	require.Len(t, m.Warnings, 1)
	assert.Equal(t, "QUANTITY_REDUCED", m.Warnings[0].Code)
	assert.Equal(t, 4, *m.Warnings[0].Requested)
	assert.Equal(t, 2, *m.Warnings[0].Reserved)
	assert.Equal(t, 2, m.Cart.TotalQuantity)

	m = add(c2, 1, true) // nothing left at all: a refusal, not an empty grant
	assert.Equal(t, "INSUFFICIENT_STOCK", codeOf(m))
	assert.Equal(t, 0, *m.UserErrors[0].Available)
	storagetest.AssertBooks(t, e.store)
}

func TestCheckoutAndCancel(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p1 := storagetest.MustProduct(t, e.store, "CO-1", 5)
	p2 := storagetest.MustProduct(t, e.store, "CO-2", 5)
	c := e.createCart(t)

	m := e.mustMutate(t, "checkout", map[string]any{"cartId": c, "email": "ada@example.com"})
	assert.Equal(t, "CART_EMPTY", codeOf(m))
	assert.Nil(t, m.Order)

	e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p1), "quantity": 2})
	e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p2), "quantity": 3})

	before := storagetest.Snapshot(t, e.store.DB())
	for _, bad := range []string{"", "not-an-email", "a@b", "Ada <ada@example.com>", "ada@example.com'; DROP TABLE orders; --"} {
		m = e.mustMutate(t, "checkout", map[string]any{"cartId": c, "email": bad})
		assert.Equal(t, "INVALID_INPUT", codeOf(m), bad)
	}
	m = e.mustMutate(t, "checkout", map[string]any{"cartId": "AAAAAAAAAAAAAAAAAAAAAAAA", "email": "ada@example.com"})
	assert.Equal(t, "CART_NOT_FOUND", codeOf(m))
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))

	m = e.mustMutate(t, "checkout", map[string]any{"cartId": c, "email": "ada@example.com"})
	require.Empty(t, m.UserErrors)
	require.NotNil(t, m.Order)
	first := *m.Order
	assert.Equal(t, "PLACED", first.Status)
	assert.Equal(t, "50.00", first.Total.Amount)
	require.Len(t, first.Lines, 2)
	assert.Equal(t, "CO-1", first.Lines[0].Sku)
	assert.Len(t, first.ID, 24)

	// A second checkout returns the same order and sells nothing twice.
	m = e.mustMutate(t, "checkout", map[string]any{"cartId": c, "email": "ada@example.com"})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, first, *m.Order)
	books := storagetest.AssertBooks(t, e.store)
	assert.Equal(t, 3, books[0].Stock)
	assert.Equal(t, 2, books[1].Stock)
	assert.Equal(t, 0, books[0].Held+books[1].Held)

	// The checked-out cart accepts no more changes.
	m = e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p1), "quantity": 1})
	assert.Equal(t, "CART_CHECKED_OUT", codeOf(m))
	var q struct {
		Cart struct{ Status string } `json:"cart"`
	}
	decode(t, e.gql(t, "", `query($id: ID!) { cart(id: $id) { status } }`, map[string]any{"id": c}), &q)
	assert.Equal(t, "CHECKED_OUT", q.Cart.Status)

	// Anyone with the order id can read it; listing orders is admin only.
	var oq struct {
		Order order `json:"order"`
	}
	decode(t, e.gql(t, "", `query($id: ID!) { order(id: $id) { id email status total { amount } lines { sku quantity unitPrice { amount } } } }`, map[string]any{"id": first.ID}), &oq)
	assert.Equal(t, first, oq.Order)
	r := e.gql(t, "", `{ orders { edges { node { id } } } }`, nil)
	assert.Equal(t, "UNAUTHENTICATED", r.code())
	var list struct {
		Orders struct {
			Edges []struct{ Node struct{ ID string } } `json:"edges"`
		} `json:"orders"`
	}
	decode(t, e.gql(t, adminToken, `{ orders(first: 5) { edges { node { id } } pageInfo { hasNextPage } } }`, nil), &list)
	require.Len(t, list.Orders.Edges, 1)
	assert.Equal(t, first.ID, list.Orders.Edges[0].Node.ID)

	// Cancel: units go back to stock, once.
	r = post(t, e.srv.URL, "", mutations["cancelOrder"], map[string]any{"in": map[string]any{"orderId": first.ID}})
	assert.Equal(t, "UNAUTHENTICATED", r.code())
	m = e.mustMutate(t, "cancelOrder", map[string]any{"orderId": first.ID})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, "CANCELLED", m.Order.Status)
	before = storagetest.Snapshot(t, e.store.DB())
	m = e.mustMutate(t, "cancelOrder", map[string]any{"orderId": first.ID})
	assert.Equal(t, "ORDER_ALREADY_CANCELLED", codeOf(m))
	m = e.mustMutate(t, "cancelOrder", map[string]any{"orderId": "nope"})
	assert.Equal(t, "ORDER_NOT_FOUND", codeOf(m))
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))
	books = storagetest.AssertBooks(t, e.store)
	assert.Equal(t, 5, books[0].Stock)
	assert.Equal(t, 5, books[1].Stock)
}

func TestAdjustStockAndAudit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "ADJ", 5)
	c := e.createCart(t)
	e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 4})

	m := e.mustMutate(t, "adjustStock", map[string]any{"productId": pid(p), "delta": 10, "reason": "delivery"})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, 15, m.Product.Stock)

	before := storagetest.Snapshot(t, e.store.DB())
	m = e.mustMutate(t, "adjustStock", map[string]any{"productId": pid(p), "delta": -12, "reason": "breakage"})
	assert.Equal(t, "STOCK_BELOW_HELD", codeOf(m))
	m = e.mustMutate(t, "adjustStock", map[string]any{"productId": pid(p), "delta": 2147483647})
	assert.Equal(t, "INVALID_INPUT", codeOf(m))
	m = e.mustMutate(t, "adjustStock", map[string]any{"productId": pid(p), "delta": 0})
	assert.Equal(t, "INVALID_QUANTITY", codeOf(m))
	m = e.mustMutate(t, "adjustStock", map[string]any{"productId": "999", "delta": 1})
	assert.Equal(t, "PRODUCT_NOT_FOUND", codeOf(m))
	m = e.mustMutate(t, "updateProduct", map[string]any{"productId": pid(p), "priceAmount": "free"})
	assert.Equal(t, "INVALID_INPUT", codeOf(m))
	m = e.mustMutate(t, "updateProduct", map[string]any{"productId": pid(p), "currencyCode": "EUR"})
	assert.Equal(t, "CURRENCY_MISMATCH", codeOf(m), "carts hold it in USD")
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))

	m = e.mustMutate(t, "adjustStock", map[string]any{"productId": pid(p), "delta": -11, "reason": "breakage"})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, 4, m.Product.Stock)
	assert.Equal(t, 0, m.Product.Available)

	m = e.mustMutate(t, "updateProduct", map[string]any{"productId": pid(p), "name": "Renamed", "priceAmount": "12.50"})
	require.Empty(t, m.UserErrors)

	var audit struct {
		InventoryAudit []struct {
			Product                            struct{ ID string } `json:"product"`
			Stock, LedgerStock, Held, CartHeld int
			Ok                                 bool `json:"ok"`
		} `json:"inventoryAudit"`
	}
	decode(t, e.gql(t, adminToken, `{ inventoryAudit { product { id } stock ledgerStock held cartHeld ok } }`, nil), &audit)
	require.Len(t, audit.InventoryAudit, 1)
	row := audit.InventoryAudit[0]
	assert.True(t, row.Ok)
	assert.Equal(t, 4, row.Stock)
	assert.Equal(t, 4, row.LedgerStock)
	assert.Equal(t, 4, row.Held)
	assert.Equal(t, 4, row.CartHeld)

	// The ledger is append-only, enforced by the database.
	_, err := e.store.DB().Exec(`UPDATE inventory_movements SET delta = 0`)
	assert.Error(t, err)
	_, err = e.store.DB().Exec(`DELETE FROM inventory_movements`)
	assert.Error(t, err)
}

// expiring builds an env whose holds live for ttl.
func expiring(t *testing.T, ttl time.Duration) *env {
	t.Helper()
	opts := storagetest.Options()
	opts.HoldTTL = ttl
	store, u := storagetest.NewStore(t, opts)
	return &env{store: store, dbURL: u, srv: newServer(t, store)}
}

func TestExpiredCart(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "EXP", 5)
	c := e.createCart(t)
	m := e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 2})
	require.Empty(t, m.UserErrors)
	// The hold runs out (set in the database, not waited for: a loaded
	// machine must not expire the cart before its line is added).
	_, err := e.store.DB().Exec(`UPDATE carts SET expires_at = now() - interval '1 second' WHERE id = $1`, c)
	require.NoError(t, err)

	// Past expiresAt, the cart behaves as expired before any reaper ran.
	before := storagetest.Snapshot(t, e.store.DB())
	for name, in := range map[string]map[string]any{
		"addToCart":      {"cartId": c, "productId": pid(p), "quantity": 1},
		"updateCartLine": {"cartId": c, "productId": pid(p), "quantity": 1},
		"removeCartLine": {"cartId": c, "productId": pid(p)},
		"checkout":       {"cartId": c, "email": "ada@example.com"},
	} {
		m := e.mustMutate(t, name, in)
		assert.Equal(t, "CART_EXPIRED", codeOf(m), name)
	}
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()), "mutations on an expired cart change nothing")

	// Reading it shows it expired with its lines released, and reading
	// writes nothing.
	var q struct {
		Cart cart `json:"cart"`
	}
	decode(t, e.gql(t, "", `query($id: ID!) { cart(id: $id) { `+cartFields+` status } }`, map[string]any{"id": c}), &q)
	assert.Equal(t, "EXPIRED", q.Cart.Status)
	assert.Empty(t, q.Cart.Lines)
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))

	// The reaper releases the holds, once.
	n, err := e.store.ReapExpired(context.Background(), 100)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	books := storagetest.AssertBooks(t, e.store)
	assert.Equal(t, 0, books[0].Held)
	n, err = e.store.ReapExpired(context.Background(), 100)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "no hold is released twice")
	storagetest.AssertBooks(t, e.store)
}

func TestReaperReleasesInBatches(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "REAP", 1000)
	ctx := context.Background()
	for i := 0; i < 250; i++ {
		c := storagetest.MustCart(t, e.store)
		_, err := e.store.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
		require.NoError(t, err)
	}
	// Every cart's hold runs out (set in the database, not waited for: a
	// loaded machine must not expire a cart before its line is added).
	_, err := e.store.DB().Exec(`UPDATE carts SET expires_at = now() - interval '1 second'`)
	require.NoError(t, err)
	n, err := e.store.ReapExpired(ctx, storage.ReaperBatch)
	require.NoError(t, err)
	assert.Equal(t, storage.ReaperBatch, n, "one pass is bounded")
	storagetest.AssertBooks(t, e.store)
	total := n
	for n > 0 {
		n, err = e.store.ReapExpired(ctx, storage.ReaperBatch)
		require.NoError(t, err)
		total += n
	}
	assert.Equal(t, 250, total)
	books := storagetest.AssertBooks(t, e.store)
	assert.Equal(t, 0, books[0].Held)
}
