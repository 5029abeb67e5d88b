package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// A payment that succeeds writes ORDER_PAID and ORDER_PLACED, in its own
// transaction, once however often it is confirmed; beginning the checkout
// writes neither.
func TestPaymentSuccessFiresOrderPaidOnce(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	_, _, err := s.CreateWebhookEndpoint(ctx, "https://partner.example/hooks",
		[]string{storage.TopicOrderPaid, storage.TopicOrderPlaced})
	require.NoError(t, err)
	p := storagetest.MustProduct(t, s, "PAID-EV", 5)
	c := storagetest.MustCart(t, s)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	o, _, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "a@example.com", Provider: "manual", TTL: time.Hour})
	require.NoError(t, err)

	events := func() map[string]int {
		rows, err := s.DB().QueryContext(ctx, `SELECT topic, data->>'status' FROM webhook_events WHERE key LIKE '%' || $1 || '%'`, o.ID)
		require.NoError(t, err)
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var topic, status string
			require.NoError(t, rows.Scan(&topic, &status))
			out[topic+":"+status]++
		}
		require.NoError(t, rows.Err())
		return out
	}
	assert.Empty(t, events(), "a pending order has been neither paid nor placed")
	for i := 0; i < 2; i++ {
		_, err = s.PaymentSucceeded(ctx, storage.PaymentEvent{Provider: "manual", OrderID: o.ID, Reference: "bank-1"})
		require.NoError(t, err)
	}
	assert.Equal(t, map[string]int{"ORDER_PAID:PLACED": 1, "ORDER_PLACED:PLACED": 1}, events())
	storagetest.AssertBooks(t, s)
}
