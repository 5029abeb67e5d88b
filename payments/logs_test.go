package payments_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/payments"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// quoting is the manual provider, failing the way Stripe does when an
// idempotency key is reused: its error quotes the key, made of the order
// id. It records the order ids it was asked about.
type quoting struct {
	payments.Manual
	mu  sync.Mutex
	ids []string
}

func (q *quoting) saw(id string) {
	q.mu.Lock()
	q.ids = append(q.ids, id)
	q.mu.Unlock()
}

func (q *quoting) CreateIntent(_ context.Context, c payments.Charge) (payments.Intent, error) {
	q.saw(c.OrderID)
	return payments.Intent{}, fmt.Errorf("%w: stripe: create payment intent: Try using a key other than '%s' (idempotency_key_in_use)", payments.ErrUnavailable, c.OrderID)
}

func (q *quoting) Cancel(_ context.Context, c payments.Charge) error {
	q.saw(c.OrderID)
	return fmt.Errorf("%w: stripe: cancel payment intent: Try using a key other than 'cancel-%s'", payments.ErrUnavailable, c.OrderID)
}

// TestPaymentLogsNameOrdersByRef: the service's log lines (at DEBUG) name
// an order by storage.LogRef of its id, never the id, even where a
// provider's error quotes it.
func TestPaymentLogsNameOrdersByRef(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := &world{store: store}
	p := storagetest.MustProduct(t, store, "LOG1", 5)
	q := &quoting{}

	// The provider fails: the checkout is abandoned (the order deleted).
	failing := payments.NewService(store, q, payments.Options{TTL: time.Hour, Log: log})
	abandonedCart := w.cartWith(t, 1, p)
	_, _, err := failing.BeginCheckout(ctx, abandonedCart, "ada@example.com", "")
	require.ErrorIs(t, err, &storage.Error{Code: storage.CodePaymentProviderUnavailable})

	// A confirmed order, and a cancelled one whose intent's cancel fails.
	manual := payments.NewService(store, payments.Manual{}, payments.Options{TTL: time.Hour, Log: log})
	paidCart, cancelledCart := w.cartWith(t, 1, p), w.cartWith(t, 1, p)
	paid, _, err := manual.BeginCheckout(ctx, paidCart, "ada@example.com", "")
	require.NoError(t, err)
	_, err = manual.ConfirmManual(ctx, paid.ID, "BANK-LOG")
	require.NoError(t, err)
	cancelled, _, err := manual.BeginCheckout(ctx, cancelledCart, "ada@example.com", "")
	require.NoError(t, err)
	_, err = store.CancelOrder(ctx, cancelled.ID)
	require.NoError(t, err)
	n, err := failing.WorkActions(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)

	q.mu.Lock()
	asked := append([]string(nil), q.ids...)
	q.mu.Unlock()
	require.Len(t, asked, 2, "the provider was asked to create one intent and cancel one")
	require.Equal(t, cancelled.ID, asked[1])
	out := logs.String()
	for _, want := range []string{
		"payment provider could not create an intent", "order payment transition", "payment action failed; will retry",
		`"order_ref":"` + storage.LogRef(asked[0]) + `"`, `"order_ref":"` + storage.LogRef(paid.ID) + `"`,
		`"order_ref":"` + storage.LogRef(cancelled.ID) + `"`, "a key other than '" + storage.LogRef(asked[0]) + "'",
	} {
		assert.Contains(t, out, want)
	}
	for _, secret := range []string{asked[0], paid.ID, cancelled.ID, abandonedCart, paidCart, cancelledCart} {
		assert.NotContains(t, out, secret)
	}
}
