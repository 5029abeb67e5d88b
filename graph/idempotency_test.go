package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

// 100 pairs of identical addToCart, each pair with its own key, all sent at
// once: every pair reserves once and both of its answers are identical.
func TestIdempotentPairs(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "IDEM", 1000)
	const pairs = 100
	carts := make([]string, pairs)
	for i := range carts {
		carts[i] = storagetest.MustCart(t, e.store).ID
	}
	answers := make([]gqlResponse, 2*pairs)
	race(2*pairs, func(i int) {
		answers[i] = post(t, e.srv.URL, "", mutations["addToCart"], map[string]any{"in": map[string]any{
			"cartId": carts[i/2], "productId": pid(p), "quantity": 2, "idempotencyKey": fmt.Sprintf("pair-%d", i/2),
		}})
	})
	for i := 0; i < pairs; i++ {
		a, b := answers[2*i], answers[2*i+1]
		require.Empty(t, a.Errors)
		require.Empty(t, b.Errors)
		assert.JSONEq(t, string(a.Data), string(b.Data), "pair %d answered differently", i)
		var out struct{ M mutationResult }
		require.NoError(t, json.Unmarshal(a.Data, &out))
		assert.Empty(t, out.M.UserErrors)
		assert.Equal(t, 2, out.M.Cart.TotalQuantity, "pair %d reserved once", i)
	}
	books := storagetest.AssertBooks(t, e.store)
	assert.Equal(t, 2*pairs, books[0].Held)
}

func TestIdempotencyKeyReuseAndReplay(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "KEYS", 5)
	c := e.createCart(t)
	add := func(q int, key string) mutationResult {
		return e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": q, "idempotencyKey": key})
	}
	require.Empty(t, add(2, "k1").UserErrors)

	t.Run("same key, other input", func(t *testing.T) {
		before := storagetest.Snapshot(t, e.store.DB())
		assert.Equal(t, "IDEMPOTENCY_KEY_REUSED", codeOf(add(3, "k1")))
		m := e.mustMutate(t, "updateCartLine", map[string]any{"cartId": c, "productId": pid(p), "quantity": 2, "idempotencyKey": "k1"})
		assert.Equal(t, "IDEMPOTENCY_KEY_REUSED", codeOf(m), "another operation under the same key")
		assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))
	})

	t.Run("replayed userError", func(t *testing.T) {
		m := add(4, "k2")
		require.Equal(t, "INSUFFICIENT_STOCK", codeOf(m))
		assert.Equal(t, 3, *m.UserErrors[0].Available)
		// Stock arrives, but the retry answers as the first attempt did.
		require.Empty(t, e.mustMutate(t, "adjustStock", map[string]any{"productId": pid(p), "delta": 10}).UserErrors)
		before := storagetest.Snapshot(t, e.store.DB())
		again := add(4, "k2")
		assert.Equal(t, m.UserErrors, again.UserErrors)
		assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))
		// A new key reserves.
		require.Empty(t, add(4, "k3").UserErrors)
	})

	t.Run("invalid keys", func(t *testing.T) {
		before := storagetest.Snapshot(t, e.store.DB())
		for _, k := range []string{"", "has space", "ключ", string(bytes.Repeat([]byte("k"), 256)), "'; DROP TABLE idempotency_keys; --"} {
			m := add(1, k)
			assert.Equal(t, "INVALID_INPUT", codeOf(m), "%q", k)
			assert.Equal(t, []string{"input", "idempotencyKey"}, m.UserErrors[0].Field)
		}
		assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))
	})
}

func TestCheckoutRetriedWithKey(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "CO-KEY", 5)
	c := e.createCart(t)
	e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 2})
	in := map[string]any{"cartId": c, "email": "ada@example.com", "idempotencyKey": "checkout-1"}
	first := e.mustMutate(t, "checkout", in)
	require.Empty(t, first.UserErrors)
	second := e.mustMutate(t, "checkout", in)
	require.Empty(t, second.UserErrors)
	assert.Equal(t, first.Order, second.Order)
	in["email"] = "someone@else.com"
	assert.Equal(t, "IDEMPOTENCY_KEY_REUSED", codeOf(e.mustMutate(t, "checkout", in)))
	books := storagetest.AssertBooks(t, e.store)
	assert.Equal(t, 3, books[0].Stock, "sold once")
}

// The Idempotency-Key header serves single-operation requests.
func TestIdempotencyKeyHeader(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "HDR", 10)
	c := e.createCart(t)
	send := func() gqlResponse {
		body, _ := json.Marshal(map[string]any{"query": mutations["addToCart"], "variables": map[string]any{
			"in": map[string]any{"cartId": c, "productId": pid(p), "quantity": 3}}})
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "hdr-1")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out gqlResponse
		require.NoError(t, json.Unmarshal(raw, &out))
		return out
	}
	a, b := send(), send()
	assert.JSONEq(t, string(a.Data), string(b.Data))
	books := storagetest.AssertBooks(t, e.store)
	assert.Equal(t, 3, books[0].Held)
}

func TestIdempotencyKeysExpire(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "TTL", 10)
	c := e.createCart(t)
	in := map[string]any{"cartId": c, "productId": pid(p), "quantity": 1, "idempotencyKey": "short-lived"}
	e.mustMutate(t, "addToCart", in)
	n, err := e.store.ReapIdempotencyKeys(context.Background(), 100)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "a key within its TTL stays")
	// The key's TTL runs out (set in the database, not waited for).
	_, err = e.store.DB().Exec(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = 'short-lived'`)
	require.NoError(t, err)
	n, err = e.store.ReapIdempotencyKeys(context.Background(), 100)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	e.mustMutate(t, "addToCart", in) // the key is forgotten: a new reservation
	books := storagetest.AssertBooks(t, e.store)
	assert.Equal(t, 2, books[0].Held)
}
