package storage_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// TestProviderEventMustNameTheOrdersPayment: with MatchReference (Stripe's
// webhook), an event applies only if its reference is the one recorded for
// the order: another intent carrying the order's id, or any intent while
// none is recorded, changes nothing (PAYMENT_NOT_PENDING), success and
// failure alike.
func TestProviderEventMustNameTheOrdersPayment(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "REF-4", 5)
	unrecorded := mustPending(t, s, 1, p)
	o := mustPending(t, s, 1, p)
	_, err := s.AttachIntent(ctx, o.ID, "pi_the_orders", "pi_the_orders_secret_x")
	require.NoError(t, err)

	ev := func(orderID, id, ref string) storage.PaymentEvent {
		return storage.PaymentEvent{Provider: testProvider, EventID: id, EventType: "payment_intent.succeeded", OrderID: orderID, Reference: ref, MatchReference: true}
	}
	before := storagetest.Snapshot(t, s.DB())
	for name, apply := range map[string]func() error{
		"another intent succeeded": func() error { _, err := s.PaymentSucceeded(ctx, ev(o.ID, "evt_1", "pi_other")); return err },
		"another intent failed": func() error {
			_, err := s.PaymentFailed(ctx, ev(o.ID, "evt_2", "pi_other"), storage.PaymentFailed)
			return err
		},
		"no intent recorded": func() error {
			_, err := s.PaymentSucceeded(ctx, ev(unrecorded.ID, "evt_3", "pi_other"))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			assert.ErrorIs(t, apply(), &storage.Error{Code: storage.CodePaymentNotPending})
			assert.Equal(t, before, storagetest.Snapshot(t, s.DB()), "nothing changed, the event id included")
		})
	}
	tr, err := s.PaymentSucceeded(ctx, ev(o.ID, "evt_4", "pi_the_orders"))
	require.NoError(t, err)
	assert.Equal(t, storage.OrderPlaced, tr.Order.Status)
	storagetest.AssertBooks(t, s)
}
