package graph_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

// TestConfirmPaymentReference through the API: a reference is up to 255
// characters (not bytes), and confirms one order only: another order
// confirmed with it gets the userError DUPLICATE_PAYMENT_REFERENCE on
// input.reference and stays pending; repeating the first confirmation is
// a no-op.
func TestConfirmPaymentReference(t *testing.T) {
	t.Parallel()
	e := paying(t, time.Hour)
	p := storagetest.MustProduct(t, e.store, "CREF-1", 5)
	begin := func() string {
		c := e.createCart(t)
		e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 1})
		m := e.mustMutate(t, "beginCheckout", map[string]any{"cartId": c, "email": "ada@example.com"})
		require.Empty(t, m.UserErrors)
		return m.Order.ID
	}
	a, b := begin(), begin()

	long := strings.Repeat("é", 255)
	m := e.mustMutate(t, "confirmPayment", map[string]any{"orderId": a, "reference": long + "é"})
	assert.Equal(t, "INVALID_INPUT", codeOf(m))
	m = e.mustMutate(t, "confirmPayment", map[string]any{"orderId": a, "reference": long})
	require.Empty(t, m.UserErrors)
	assert.Equal(t, "PLACED", m.Order.Status)
	assert.Equal(t, long, *m.Order.Payment.Reference)

	before := storagetest.Snapshot(t, e.store.DB())
	m = e.mustMutate(t, "confirmPayment", map[string]any{"orderId": b, "reference": long})
	require.Len(t, m.UserErrors, 1)
	assert.Equal(t, "DUPLICATE_PAYMENT_REFERENCE", m.UserErrors[0].Code)
	assert.Equal(t, []string{"input", "reference"}, m.UserErrors[0].Field)
	assert.Nil(t, m.Order)
	m = e.mustMutate(t, "confirmPayment", map[string]any{"orderId": a, "reference": long})
	require.Empty(t, m.UserErrors, "the same confirmation again")
	assert.Equal(t, "PLACED", m.Order.Status)
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))
}
