package graph_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

// A keyed no-op on a 20-line cart of products with 5,000-character
// descriptions stores a record that is small, grows with the lines and not
// with the descriptions, and still replays the first answer (issue 9).
func TestIdempotencyRecordIsSmall(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const lines = 20
	desc := strings.Repeat("d", 5000)
	products := make([]string, lines)
	for i := range products {
		var out struct {
			CreateProduct struct {
				Product struct{ ID string } `json:"product"`
			} `json:"createProduct"`
		}
		decode(t, e.gql(t, adminToken, createProductMutation, map[string]any{"in": map[string]any{
			"sku": fmt.Sprintf("DESC-%02d", i), "name": fmt.Sprintf("Described %02d", i), "description": desc,
			"priceAmount": "10.00", "currencyCode": "USD", "stock": 100}}), &out)
		products[i] = out.CreateProduct.Product.ID
	}
	c := e.createCart(t)
	for _, p := range products {
		require.Empty(t, e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": p, "quantity": 2}).UserErrors)
	}
	recordSize := func(key string) int {
		var n int
		require.NoError(t, e.store.DB().Get(&n, `SELECT octet_length(response::text) FROM idempotency_keys WHERE cart_id = $1 AND key = $2`, c, key))
		return n
	}
	noop := func(key string) mutationResult {
		m := e.mustMutate(t, "updateCartLine", map[string]any{"cartId": c, "productId": products[0], "quantity": 2, "idempotencyKey": key})
		require.Empty(t, m.UserErrors)
		return m
	}

	first := noop("noop-long")
	long := recordSize("noop-long")
	t.Logf("record for %d lines: %d bytes", lines, long)
	assert.Less(t, long, 4096, "a 20-line record stays within a few KB")
	assert.Less(t, long, 150*lines+500, "the record grows with the lines only")

	// Without descriptions the record is the same size (give or take the
	// digits of its timestamps).
	for _, p := range products {
		require.Empty(t, e.mustMutate(t, "updateProduct", map[string]any{"productId": p, "description": ""}).UserErrors)
	}
	noop("noop-short")
	assert.InDelta(t, long, recordSize("noop-short"), 32, "independent of description length")

	// The replay answers as the first attempt did: quantities, totals,
	// status and userErrors, even after a price change.
	require.Empty(t, e.mustMutate(t, "updateProduct", map[string]any{"productId": products[0], "priceAmount": "99.00"}).UserErrors)
	again := noop("noop-long")
	assert.Equal(t, first.UserErrors, again.UserErrors)
	assert.Equal(t, first.Cart.Status, again.Cart.Status)
	assert.Equal(t, first.Cart.TotalQuantity, again.Cart.TotalQuantity)
	assert.Equal(t, first.Cart.Subtotal, again.Cart.Subtotal)
	assert.Equal(t, "400.00", again.Cart.Subtotal.Amount)
	require.Len(t, again.Cart.Lines, lines)
	for i := range first.Cart.Lines {
		assert.Equal(t, first.Cart.Lines[i].Quantity, again.Cart.Lines[i].Quantity)
		assert.Equal(t, first.Cart.Lines[i].LineTotal, again.Cart.Lines[i].LineTotal)
		assert.Equal(t, first.Cart.Lines[i].Product.ID, again.Cart.Lines[i].Product.ID)
	}
}

// Keyed calls naming a cart that does not exist are refused and leave no
// record: nothing could ever make them succeed (issue 9).
func TestIdempotencyUnknownCartLeavesNoRecord(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := pid(storagetest.MustProduct(t, e.store, "UNKNOWN-CART", 5))
	const unknown = "AAAAAAAAAAAAAAAAAAAAAAAA"
	for name, in := range map[string]map[string]any{
		"addToCart":      {"cartId": unknown, "productId": p, "quantity": 1, "idempotencyKey": "u-1"},
		"updateCartLine": {"cartId": unknown, "productId": p, "quantity": 1, "idempotencyKey": "u-2"},
		"removeCartLine": {"cartId": unknown, "productId": p, "idempotencyKey": "u-3"},
		"checkout":       {"cartId": unknown, "email": "ada@example.com", "idempotencyKey": "u-4"},
	} {
		for range 2 {
			m := e.mustMutate(t, name, in)
			assert.Equal(t, "CART_NOT_FOUND", codeOf(m), name)
			assert.Nil(t, m.Cart, name)
			assert.Nil(t, m.Order, name)
		}
	}
	var n int
	require.NoError(t, e.store.DB().Get(&n, `SELECT count(*) FROM idempotency_keys`))
	assert.Equal(t, 0, n)
}
