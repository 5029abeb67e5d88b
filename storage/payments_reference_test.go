package storage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// mustPendingManual checks out a fresh cart holding qty units of p into an
// order awaiting a manual payment.
func mustPendingManual(t *testing.T, s *storage.Store, qty int, p *storage.Product) *storage.Order {
	t.Helper()
	ctx := context.Background()
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: qty})
	require.NoError(t, err)
	o, _, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: "manual", TTL: 15 * time.Minute})
	require.NoError(t, err)
	return o
}

func confirmManual(s *storage.Store, orderID, ref string) error {
	_, err := s.PaymentSucceeded(context.Background(), storage.PaymentEvent{Provider: "manual", EventType: "confirmPayment", OrderID: orderID, Reference: ref})
	return err
}

// TestManualReferenceCountsCharacters: the 255 a reference may have are
// characters, not bytes: 255 × "é" (510 bytes) is fine, 256 are not.
func TestManualReferenceCountsCharacters(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "REF-1", 5)
	o := mustPendingManual(t, s, 1, p)

	before := storagetest.Snapshot(t, s.DB())
	err := confirmManual(s, o.ID, strings.Repeat("é", storage.MaxReferenceLen+1))
	var se *storage.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, storage.CodeInvalidInput, se.Code)
	assert.Equal(t, []string{"input", "reference"}, se.Field)
	assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))

	ref := strings.Repeat("é", storage.MaxReferenceLen)
	require.NoError(t, confirmManual(s, o.ID, ref))
	pay, err := s.PaymentByOrderID(context.Background(), o.ID)
	require.NoError(t, err)
	require.NotNil(t, pay.Reference)
	assert.Equal(t, ref, *pay.Reference)
}

// TestManualReferenceConfirmsOneOrder: a reference that confirmed one
// order's manual payment is refused for another (DUPLICATE_PAYMENT_REFERENCE
// on input.reference, nothing changed), whatever that order's state; the
// same confirmation of the same order stays a no-op.
func TestManualReferenceConfirmsOneOrder(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "REF-2", 10)
	a := mustPendingManual(t, s, 1, p)
	b := mustPendingManual(t, s, 1, p)
	cancelled := mustPendingManual(t, s, 1, p)
	_, err := s.CancelOrder(ctx, cancelled.ID)
	require.NoError(t, err)

	require.NoError(t, confirmManual(s, a.ID, "BANK-1"))
	before := storagetest.Snapshot(t, s.DB())
	for _, o := range []*storage.Order{b, cancelled} {
		err := confirmManual(s, o.ID, "BANK-1")
		var se *storage.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, storage.CodeDuplicatePaymentReference, se.Code)
		assert.Equal(t, []string{"input", "reference"}, se.Field)
		assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))
	}
	require.NoError(t, confirmManual(s, a.ID, "BANK-1"), "the same confirmation again is fine")
	assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))

	require.NoError(t, confirmManual(s, b.ID, "BANK-2"))
	st, ps := orderStatus(t, s, b.ID)
	assert.Equal(t, [2]string{storage.OrderPlaced, storage.PaymentSucceeded}, [2]string{st, ps})
	storagetest.AssertBooks(t, s)
}

// TestRaceManualReferenceTwoOrders: two confirmations with one reference,
// for two orders, at once on two pools: exactly one succeeds, the other is
// DUPLICATE_PAYMENT_REFERENCE and its order stays pending, holds kept.
func TestRaceManualReferenceTwoOrders(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	other := storagetest.OpenStore(t, u, storagetest.Options())
	p := storagetest.MustProduct(t, s, "REF-3", 2*rounds)
	for i := range rounds {
		a, b := mustPendingManual(t, s, 1, p), mustPendingManual(t, s, 1, p)
		ref := fmt.Sprintf("BANK-RACE-%d", i)
		var errA, errB error
		together(
			func() { errA = confirmManual(s, a.ID, ref) },
			func() { errB = confirmManual(other, b.ID, ref) },
		)
		require.NotEqual(t, errA == nil, errB == nil, "exactly one succeeds: %v / %v", errA, errB)
		loser, failedErr := b, errB
		if errA != nil {
			loser, failedErr = a, errA
		}
		assert.ErrorIs(t, failedErr, &storage.Error{Code: storage.CodeDuplicatePaymentReference})
		st, ps := orderStatus(t, s, loser.ID)
		assert.Equal(t, [2]string{storage.OrderPendingPayment, storage.PaymentPending}, [2]string{st, ps})
		var n int
		require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM payments WHERE reference = $1`, ref))
		assert.Equal(t, 1, n)
		storagetest.AssertBooks(t, s)
	}
}
