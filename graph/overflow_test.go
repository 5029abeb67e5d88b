package graph_test

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

const maxInt32 = 1<<31 - 1

// Cancelling an order whose units no longer fit in the product's stock is a
// refusal with its own code, and changes nothing (issue 9).
func TestCancelOrderBeyondStockLimit(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "BIG", 5)
	c := e.createCart(t)
	require.Empty(t, e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 2}).UserErrors)
	o := e.mustMutate(t, "checkout", map[string]any{"cartId": c, "email": "ada@example.com"})
	require.Empty(t, o.UserErrors)
	m := e.mustMutate(t, "adjustStock", map[string]any{"productId": pid(p), "delta": maxInt32 - 3})
	require.Empty(t, m.UserErrors)
	require.Equal(t, maxInt32, m.Product.Stock)

	before := storagetest.Snapshot(t, e.store.DB())
	m = e.mustMutate(t, "cancelOrder", map[string]any{"orderId": o.Order.ID})
	require.Len(t, m.UserErrors, 1)
	assert.Equal(t, "STOCK_LIMIT_EXCEEDED", m.UserErrors[0].Code)
	assert.Equal(t, []string{"input", "orderId"}, m.UserErrors[0].Field)
	assert.NotEmpty(t, m.UserErrors[0].Message)
	assert.Nil(t, m.Order)
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()), "a refused cancellation changes nothing")

	// Once the stock is written down, the cancellation goes through.
	require.Empty(t, e.mustMutate(t, "adjustStock", map[string]any{"productId": pid(p), "delta": -10}).UserErrors)
	m = e.mustMutate(t, "cancelOrder", map[string]any{"orderId": o.Order.ID})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, "CANCELLED", m.Order.Status)
	books := storagetest.AssertBooks(t, e.store)
	assert.Equal(t, maxInt32-8, books[0].Stock)
}

// Every other path that adds to stock or held near the int4 limit answers
// with a refusal or an input error, never an internal error.
func TestStockAndHeldNearInt32(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// createProduct: the limit itself is fine, one more is not an Int.
	r := e.gql(t, adminToken, createProductMutation, map[string]any{"in": map[string]any{
		"sku": "MAX", "name": "Max", "priceAmount": "1.00", "currencyCode": "USD", "stock": maxInt32}})
	var created struct {
		CreateProduct struct {
			Product struct {
				ID    string `json:"id"`
				Stock int    `json:"stock"`
			} `json:"product"`
			UserErrors []userError `json:"userErrors"`
		} `json:"createProduct"`
	}
	decode(t, r, &created)
	require.Empty(t, created.CreateProduct.UserErrors)
	assert.Equal(t, maxInt32, created.CreateProduct.Product.Stock)
	r = e.gql(t, adminToken, createProductMutation, map[string]any{"in": map[string]any{
		"sku": "OVER", "name": "Over", "priceAmount": "1.00", "currencyCode": "USD", "stock": maxInt32 + 1}})
	assert.Equal(t, "BAD_USER_INPUT", r.code())

	id := created.CreateProduct.Product.ID
	before := storagetest.Snapshot(t, e.store.DB())
	for _, delta := range []any{1, maxInt32} {
		m := e.mustMutate(t, "adjustStock", map[string]any{"productId": id, "delta": delta})
		assert.Equal(t, "INVALID_INPUT", codeOf(m), "delta %v", delta)
	}
	_, r = mutate(t, e.srv.URL, "adjustStock", map[string]any{"productId": id, "delta": maxInt32 + 1})
	assert.Equal(t, "BAD_USER_INPUT", r.code())
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))

	// held: the whole stock in one line, then once more.
	c := e.createCart(t)
	m := e.mustMutate(t, "updateCartLine", map[string]any{"cartId": c, "productId": id, "quantity": maxInt32})
	assert.Equal(t, "CART_LIMIT_EXCEEDED", codeOf(m), "the default line cap")
	storagetest.AssertBooks(t, e.store)
}

// With caps near the int4 limit (as holdbench configures them), a cart's
// running totals cannot overflow: the add is refused by the cap.
func TestCartTotalsNearInt32(t *testing.T) {
	t.Parallel()
	opts := storagetest.Options()
	opts.MaxLineQuantity, opts.MaxCartQuantity = 2_000_000_000, 2_000_000_000
	store, u := storagetest.NewStore(t, opts)
	e := &env{store: store, dbURL: u, srv: newServer(t, store)}
	a := storagetest.MustProduct(t, store, "HUGE-A", maxInt32)
	b := storagetest.MustProduct(t, store, "HUGE-B", maxInt32)
	c := e.createCart(t)
	require.Empty(t, e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(a), "quantity": 2_000_000_000}).UserErrors)

	// Keyed refusals are remembered (counted below): all else stays.
	before := storagetest.Snapshot(t, store.DB(), "idempotency_keys")
	for _, tc := range []struct {
		name, op string
		in       map[string]any
	}{
		{"addToCart", "addToCart", map[string]any{"cartId": c, "productId": pid(b), "quantity": 2_000_000_000}},
		{"addToCart keyed", "addToCart", map[string]any{"cartId": c, "productId": pid(b), "quantity": 2_000_000_000, "idempotencyKey": "big-add"}},
		{"updateCartLine", "updateCartLine", map[string]any{"cartId": c, "productId": pid(b), "quantity": 2_000_000_000}},
		{"updateCartLine keyed", "updateCartLine", map[string]any{"cartId": c, "productId": pid(b), "quantity": 2_000_000_000, "idempotencyKey": "big-update"}},
	} {
		m, r := mutate(t, e.srv.URL, tc.op, tc.in)
		require.Empty(t, r.Errors, tc.name)
		assert.Equal(t, "CART_LIMIT_EXCEEDED", codeOf(m), tc.name)
		require.NotNil(t, m.Cart, tc.name)
		assert.Equal(t, 2_000_000_000, m.Cart.TotalQuantity, tc.name)
	}
	var held int
	require.NoError(t, store.DB().Get(&held, `SELECT held FROM products WHERE id = $1`, b.ID))
	assert.Equal(t, 0, held)
	var keys int
	require.NoError(t, store.DB().Get(&keys, `SELECT count(*) FROM idempotency_keys`))
	assert.Equal(t, 2, keys, "keyed refusals are remembered")
	assert.Equal(t, before, storagetest.Snapshot(t, store.DB(), "idempotency_keys"))
	storagetest.AssertBooks(t, store)
}

// orders(after:) takes the cursor of an order whose sequence number is past
// 2^31; a cursor that is not a positive int64 is bad input.
func TestOrdersCursorPastInt32(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, err := e.store.DB().Exec(`ALTER TABLE orders ALTER COLUMN seq RESTART WITH 3000000000`)
	require.NoError(t, err)
	p := storagetest.MustProduct(t, e.store, "SEQ", 10)
	var ids []string
	for i := 0; i < 3; i++ {
		c := e.createCart(t)
		require.Empty(t, e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 1}).UserErrors)
		m := e.mustMutate(t, "checkout", map[string]any{"cartId": c, "email": "ada@example.com"})
		require.Empty(t, m.UserErrors)
		ids = append(ids, m.Order.ID)
	}
	type page struct {
		Orders struct {
			Edges []struct {
				Node struct{ ID string } `json:"node"`
			} `json:"edges"`
			PageInfo struct {
				HasNextPage bool    `json:"hasNextPage"`
				EndCursor   *string `json:"endCursor"`
			} `json:"pageInfo"`
		} `json:"orders"`
	}
	const q = `query($after: String) { orders(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`
	var got []string
	var after any
	for {
		var pg page
		decode(t, e.gql(t, adminToken, q, map[string]any{"after": after}), &pg)
		for _, edge := range pg.Orders.Edges {
			got = append(got, edge.Node.ID)
		}
		if !pg.Orders.PageInfo.HasNextPage {
			break
		}
		after = *pg.Orders.PageInfo.EndCursor
	}
	assert.Equal(t, []string{ids[2], ids[1], ids[0]}, got, "newest first, across pages")

	cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	var pg page
	decode(t, e.gql(t, adminToken, q, map[string]any{"after": cursor("order:9223372036854775807")}), &pg)
	assert.Len(t, pg.Orders.Edges, 2, "a cursor past every order starts from the newest")
	for _, bad := range []string{"order:0", "order:-1", "order:+5", "order:007", "order:1.5", "order: 5",
		"order:9223372036854775808", "order:", "order:abc", "product:5", "garbage"} {
		r := e.gql(t, adminToken, q, map[string]any{"after": cursor(bad)})
		require.NotEmpty(t, r.Errors, "%q", bad)
		assert.Equal(t, "BAD_USER_INPUT", r.code(), "%q", bad)
	}

	// Products page by id: a cursor past 2^31 is fine there too.
	r := e.gql(t, "", `query($after: String) { products(after: $after) { edges { node { id } } } }`,
		map[string]any{"after": cursor("product:3000000000")})
	assert.Empty(t, r.Errors)
	// And an admin asking about a product id past 2^31 gets an empty list.
	r = e.gql(t, adminToken, `{ topHolders(productId: "3000000000") { quantity } }`, nil)
	assert.Empty(t, r.Errors)
	assert.JSONEq(t, `{"topHolders": []}`, string(r.Data))
}
