package storage_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// TestBeginCheckoutNeedsTTL: the payment TTL is package payments' to pass
// (PAYMENT_TTL); without one BeginCheckout fails and changes nothing,
// rather than falling back to a copy of config's default.
func TestBeginCheckoutNeedsTTL(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "TTL1", 5)
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)

	o, pay, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider})
	require.Error(t, err)
	assert.Nil(t, o)
	assert.Nil(t, pay)
	cart, err := s.CartByID(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, storage.CartActive, cart.Status)
	stock, held := stockHeld(t, s, p)
	assert.Equal(t, [2]int{5, 2}, [2]int{stock, held})
	storagetest.AssertBooks(t, s)
}
