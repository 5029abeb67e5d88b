package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

const testProvider = "stripe"

// mustPending checks out a fresh cart holding qty units of each product
// into an order awaiting payment.
func mustPending(t *testing.T, s *storage.Store, qty int, products ...*storage.Product) *storage.Order {
	t.Helper()
	ctx := context.Background()
	c := storagetest.MustCart(t, s)
	for _, p := range products {
		_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: qty})
		require.NoError(t, err)
	}
	o, pay, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, TTL: 15 * time.Minute})
	require.NoError(t, err)
	require.Equal(t, storage.OrderPendingPayment, o.Status)
	require.NotNil(t, pay)
	return o
}

func succeeded(orderID, eventID string) storage.PaymentEvent {
	return storage.PaymentEvent{Provider: testProvider, EventID: eventID, EventType: "payment_intent.succeeded", OrderID: orderID, Reference: "pi_" + orderID}
}

func failed(orderID, eventID string) storage.PaymentEvent {
	return storage.PaymentEvent{Provider: testProvider, EventID: eventID, EventType: "payment_intent.payment_failed", OrderID: orderID, Reference: "pi_" + orderID}
}

// dueIn moves an order's payment dueAt to d from now (negative: past).
func dueIn(t *testing.T, s *storage.Store, orderID string, d time.Duration) {
	t.Helper()
	_, err := s.DB().Exec(`UPDATE payments SET due_at = now() + $2 * interval '1 microsecond' WHERE order_id = $1`, orderID, d.Microseconds())
	require.NoError(t, err)
}

func orderStatus(t *testing.T, s *storage.Store, orderID string) (order, payment string) {
	t.Helper()
	require.NoError(t, s.DB().QueryRow(`SELECT o.status, p.status FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id = $1`, orderID).Scan(&order, &payment))
	return order, payment
}

func stockHeld(t *testing.T, s *storage.Store, p *storage.Product) (stock, held int) {
	t.Helper()
	cur, err := s.ProductByID(context.Background(), p.ID)
	require.NoError(t, err)
	return cur.Stock, cur.Held
}

func actions(t *testing.T, s *storage.Store, orderID string) map[string]string {
	t.Helper()
	rows, err := s.DB().Query(`SELECT kind, state FROM payment_actions WHERE order_id = $1`, orderID)
	require.NoError(t, err)
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, st string
		require.NoError(t, rows.Scan(&k, &st))
		out[k] = st
	}
	return out
}

func sales(t *testing.T, s *storage.Store, orderID string) int {
	t.Helper()
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT COALESCE(-sum(delta), 0) FROM inventory_movements WHERE order_id = $1`, orderID))
	return n
}

func TestBeginCheckoutKeepsTheHolds(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "P1", 5)
	q := storagetest.MustProduct(t, s, "P2", 5)
	c := storagetest.MustCart(t, s)
	for _, x := range []*storage.Product{p, q} {
		_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: x.ID, Quantity: 2})
		require.NoError(t, err)
	}
	in := storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, TTL: time.Hour}
	o, pay, err := s.BeginCheckout(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, storage.OrderPendingPayment, o.Status)
	assert.Equal(t, storage.PaymentPending, pay.Status)
	assert.Equal(t, int64(4000), pay.AmountCents)
	assert.Equal(t, "USD", pay.Currency)
	assert.WithinDuration(t, time.Now().Add(time.Hour), pay.DueAt, time.Minute)
	assert.Nil(t, pay.Reference)

	// The holds are the order's now: nothing sold, nothing released.
	stock, held := stockHeld(t, s, p)
	assert.Equal(t, [2]int{5, 2}, [2]int{stock, held})
	cart, err := s.CartByID(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, storage.CartCheckedOut, cart.Status)
	books := storagetest.AssertBooks(t, s)
	assert.Equal(t, 2, books[0].PendingHeld)
	assert.Equal(t, 0, books[0].CartHeld)
	audit, err := s.InventoryAudit(ctx, storage.AuditParams{First: 100})
	require.NoError(t, err)
	assert.True(t, audit[0].OK)
	assert.Equal(t, 2, audit[0].PendingHeld)

	// Again: the same order, nothing changes.
	before := storagetest.Snapshot(t, s.DB())
	again, _, err := s.BeginCheckout(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, o.ID, again.ID)
	assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))

	// And a plain checkout of the cart answers with the same order.
	plain, err := s.Checkout(ctx, c.ID, "ada@example.com", "")
	require.NoError(t, err)
	assert.Equal(t, o.ID, plain.ID)
	assert.Equal(t, storage.OrderPendingPayment, plain.Status)
}

func TestBeginCheckoutRefusals(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	c := storagetest.MustCart(t, s)
	for name, tc := range map[string]struct {
		in   storage.BeginCheckoutParams
		code storage.Code
	}{
		"empty cart":    {storage.BeginCheckoutParams{CartID: c.ID, Email: "a@example.com", Provider: testProvider, TTL: 15 * time.Minute}, storage.CodeCartEmpty},
		"bad email":     {storage.BeginCheckoutParams{CartID: c.ID, Email: "nope", Provider: testProvider, TTL: 15 * time.Minute}, storage.CodeInvalidInput},
		"no such cart":  {storage.BeginCheckoutParams{CartID: storage.NewSecretID(), Email: "a@example.com", Provider: testProvider, TTL: 15 * time.Minute}, storage.CodeCartNotFound},
		"malformed key": {storage.BeginCheckoutParams{CartID: c.ID, Email: "a@example.com", Provider: testProvider, IdempotencyKey: "bad key", TTL: 15 * time.Minute}, storage.CodeInvalidInput},
	} {
		t.Run(name, func(t *testing.T) {
			before := storagetest.Snapshot(t, s.DB())
			_, _, err := s.BeginCheckout(ctx, tc.in)
			var se *storage.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.code, se.Code)
			assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))
		})
	}
}

func TestPaymentSucceededSellsOnce(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "P1", 5)
	o := mustPending(t, s, 3, p)

	tr, err := s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_1"))
	require.NoError(t, err)
	assert.True(t, tr.Changed())
	assert.Equal(t, storage.OrderPlaced, tr.Order.Status)
	assert.Equal(t, int64(3), tr.Units)
	stock, held := stockHeld(t, s, p)
	assert.Equal(t, [2]int{2, 0}, [2]int{stock, held})
	assert.Equal(t, 3, sales(t, s, o.ID))
	pay, err := s.PaymentByOrderID(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, storage.PaymentSucceeded, pay.Status)
	assert.Equal(t, "pi_"+o.ID, *pay.Reference)
	storagetest.AssertBooks(t, s)

	// The same event again, another success event, a late failure: nothing.
	before := storagetest.Snapshot(t, s.DB())
	tr, err = s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_1"))
	require.NoError(t, err)
	assert.True(t, tr.Duplicate)
	assert.False(t, tr.Changed())
	assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))
	_, err = s.PaymentFailed(ctx, failed(o.ID, "evt_2"), storage.PaymentFailed)
	require.NoError(t, err)
	o2, p2 := orderStatus(t, s, o.ID)
	assert.Equal(t, [2]string{storage.OrderPlaced, storage.PaymentSucceeded}, [2]string{o2, p2})
	assert.Equal(t, 3, sales(t, s, o.ID))
	storagetest.AssertBooks(t, s)
}

func TestPaymentEventRefusals(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "P1", 5)
	o := mustPending(t, s, 1, p)
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	plain, err := s.Checkout(ctx, c.ID, "a@example.com", "")
	require.NoError(t, err)

	before := storagetest.Snapshot(t, s.DB())
	for name, tc := range map[string]struct {
		ev   storage.PaymentEvent
		code storage.Code
	}{
		"unknown order":      {succeeded(storage.NewSecretID(), "evt_a"), storage.CodeOrderNotFound},
		"malformed order id": {succeeded("x", "evt_b"), storage.CodeOrderNotFound},
		"order without payment": {
			succeeded(plain.ID, "evt_c"), storage.CodePaymentNotPending,
		},
		"another provider's payment": {
			storage.PaymentEvent{Provider: "manual", OrderID: o.ID, Reference: "r1"}, storage.CodePaymentNotPending,
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.PaymentSucceeded(ctx, tc.ev)
			var se *storage.Error
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.code, se.Code)
			assert.Equal(t, before, storagetest.Snapshot(t, s.DB()), "a refused event changes nothing, its id included")
		})
	}
}

// TestRaceSuccessVsReaper: a payment succeeds just as its dueAt passes and
// two reapers (two pools, as two processes) run. Whoever locks the order
// first decides, and the other finds it decided: the order is PLACED (the
// units released by an expiry are free, so a late success re-reserves
// them), sold exactly once.
func TestRaceSuccessVsReaper(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	other := storagetest.OpenStore(t, u, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "R1", 3*rounds)
	expiredFirst := 0
	for i := 0; i < rounds; i++ {
		o := mustPending(t, s, 2, p)
		dueIn(t, s, o.ID, time.Duration(i%3)*time.Millisecond)
		var tr *storage.PaymentTransition
		var payErr, reapErr, reapErr2 error
		together(
			func() { tr, payErr = s.PaymentSucceeded(ctx, succeeded(o.ID, fmt.Sprintf("evt_%d", i))) },
			func() { _, reapErr = s.ReapPayments(ctx, 10) },
			func() { _, reapErr2 = other.ReapPayments(ctx, 10) },
		)
		require.NoError(t, payErr)
		require.NoError(t, reapErr)
		require.NoError(t, reapErr2)
		if tr.From == storage.OrderPaymentExpired {
			expiredFirst++
		}
		st, ps := orderStatus(t, s, o.ID)
		assert.Equal(t, storage.OrderPlaced, st)
		assert.Equal(t, storage.PaymentSucceeded, ps)
		assert.Equal(t, 2, sales(t, s, o.ID), "sold exactly once")
		storagetest.AssertBooks(t, s)
	}
	t.Logf("%d of %d rounds expired before the success arrived", expiredFirst, rounds)
	stock, held := stockHeld(t, s, p)
	assert.Equal(t, [2]int{rounds, 0}, [2]int{stock, held})
}

// TestRaceSameEventTwoProcesses: one event delivered twice at once, to two
// pools: one transition, one recorded event.
func TestRaceSameEventTwoProcesses(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	other := storagetest.OpenStore(t, u, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "R2", 2*rounds)
	for i := 0; i < rounds; i++ {
		o := mustPending(t, s, 2, p)
		ev := succeeded(o.ID, fmt.Sprintf("evt_%d", i))
		var a, b *storage.PaymentTransition
		var errA, errB error
		together(
			func() { a, errA = s.PaymentSucceeded(ctx, ev) },
			func() { b, errB = other.PaymentSucceeded(ctx, ev) },
		)
		require.NoError(t, errA)
		require.NoError(t, errB)
		assert.NotEqual(t, a.Duplicate, b.Duplicate, "exactly one of the two applied the event")
		assert.NotEqual(t, a.Changed(), b.Changed())
		assert.Equal(t, 2, sales(t, s, o.ID))
		storagetest.AssertBooks(t, s)
	}
	var events int
	require.NoError(t, s.DB().Get(&events, `SELECT count(*) FROM payment_events`))
	assert.Equal(t, rounds, events)
}

func TestLateSuccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("stock left: re-reserved and placed", func(t *testing.T) {
		t.Parallel()
		s, _ := storagetest.NewStore(t, storagetest.Options())
		p := storagetest.MustProduct(t, s, "L1", 5)
		q := storagetest.MustProduct(t, s, "L2", 5)
		o := mustPending(t, s, 2, p, q)
		dueIn(t, s, o.ID, -time.Second)
		n, err := s.ReapPayments(ctx, 10)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		st, ps := orderStatus(t, s, o.ID)
		require.Equal(t, [2]string{storage.OrderPaymentExpired, storage.PaymentExpired}, [2]string{st, ps})
		assert.Equal(t, map[string]string{"cancel": "PENDING"}, actions(t, s, o.ID), "expiry queues the intent's cancellation")
		stock, held := stockHeld(t, s, p)
		assert.Equal(t, [2]int{5, 0}, [2]int{stock, held}, "the holds are released")
		storagetest.AssertBooks(t, s)

		tr, err := s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_late"))
		require.NoError(t, err)
		assert.Equal(t, storage.OrderPaymentExpired, tr.From)
		assert.Equal(t, storage.OrderPlaced, tr.Order.Status)
		stock, held = stockHeld(t, s, q)
		assert.Equal(t, [2]int{3, 0}, [2]int{stock, held})
		assert.Equal(t, 4, sales(t, s, o.ID))
		storagetest.AssertBooks(t, s)
	})

	t.Run("no stock left: refund required, then refunded", func(t *testing.T) {
		t.Parallel()
		s, _ := storagetest.NewStore(t, storagetest.Options())
		p := storagetest.MustProduct(t, s, "L3", 3)
		q := storagetest.MustProduct(t, s, "L4", 3)
		o := mustPending(t, s, 2, p, q)
		dueIn(t, s, o.ID, -time.Second)
		_, err := s.ReapPayments(ctx, 10)
		require.NoError(t, err)
		// Another shopper takes two of q's three units: one line of the
		// order can be had again, the other cannot, so neither is.
		c := storagetest.MustCart(t, s)
		_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: q.ID, Quantity: 2})
		require.NoError(t, err)

		tr, err := s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_late"))
		require.NoError(t, err)
		assert.Equal(t, storage.OrderRefundRequired, tr.Order.Status)
		st, ps := orderStatus(t, s, o.ID)
		assert.Equal(t, [2]string{storage.OrderRefundRequired, storage.PaymentSucceeded}, [2]string{st, ps})
		assert.Equal(t, 0, sales(t, s, o.ID), "nothing sold, not even the line that fitted")
		stock, held := stockHeld(t, s, p)
		assert.Equal(t, [2]int{3, 0}, [2]int{stock, held})
		assert.Equal(t, map[string]string{"cancel": "PENDING", "refund": "PENDING"}, actions(t, s, o.ID))
		storagetest.AssertBooks(t, s)

		// The action worker: the cancel, then the refund, each once.
		var did []string
		do := func(_ context.Context, a *storage.PaymentAction) (storage.ActionResult, error) {
			did = append(did, a.Kind)
			assert.Equal(t, "pi_"+o.ID, *a.Reference)
			assert.Equal(t, int64(4000), a.AmountCents)
			return storage.ActionDone, nil
		}
		for {
			worked, err := s.WorkPaymentAction(ctx, testProvider, do)
			require.NoError(t, err)
			if !worked {
				break
			}
		}
		assert.ElementsMatch(t, []string{"cancel", "refund"}, did)
		st, ps = orderStatus(t, s, o.ID)
		assert.Equal(t, [2]string{storage.OrderRefunded, storage.PaymentRefunded}, [2]string{st, ps})
		storagetest.AssertBooks(t, s)

		// Another success event changes nothing now.
		_, err = s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_late_again"))
		require.NoError(t, err)
		st, ps = orderStatus(t, s, o.ID)
		assert.Equal(t, [2]string{storage.OrderRefunded, storage.PaymentRefunded}, [2]string{st, ps})
		stock, held = stockHeld(t, s, q)
		assert.Equal(t, [2]int{3, 2}, [2]int{stock, held})
		storagetest.AssertBooks(t, s)
	})
}

func TestFailureThenLateSuccess(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "F1", 4)
	o := mustPending(t, s, 2, p)

	tr, err := s.PaymentFailed(ctx, failed(o.ID, "evt_fail"), storage.PaymentFailed)
	require.NoError(t, err)
	assert.Equal(t, storage.OrderPaymentExpired, tr.Order.Status)
	st, ps := orderStatus(t, s, o.ID)
	assert.Equal(t, [2]string{storage.OrderPaymentExpired, storage.PaymentFailed}, [2]string{st, ps})
	stock, held := stockHeld(t, s, p)
	assert.Equal(t, [2]int{4, 0}, [2]int{stock, held})
	assert.Equal(t, map[string]string{"cancel": "PENDING"}, actions(t, s, o.ID))
	storagetest.AssertBooks(t, s)

	// The reaper finds nothing to do; the failure again changes nothing.
	n, err := s.ReapPayments(ctx, 10)
	require.NoError(t, err)
	assert.Zero(t, n)
	before := storagetest.Snapshot(t, s.DB())
	tr, err = s.PaymentFailed(ctx, failed(o.ID, "evt_fail"), storage.PaymentFailed)
	require.NoError(t, err)
	assert.True(t, tr.Duplicate)
	assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))

	// A second attempt of the shopper succeeds after all.
	tr, err = s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_ok"))
	require.NoError(t, err)
	assert.Equal(t, storage.OrderPlaced, tr.Order.Status)
	stock, held = stockHeld(t, s, p)
	assert.Equal(t, [2]int{2, 0}, [2]int{stock, held})
	storagetest.AssertBooks(t, s)
}

func TestCancelOrderAwaitingPayment(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "C1", 4)
	o := mustPending(t, s, 3, p)

	cancelled, err := s.CancelOrder(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, storage.OrderCancelled, cancelled.Status)
	assert.NotNil(t, cancelled.CancelledAt)
	st, ps := orderStatus(t, s, o.ID)
	assert.Equal(t, [2]string{storage.OrderCancelled, storage.PaymentExpired}, [2]string{st, ps})
	stock, held := stockHeld(t, s, p)
	assert.Equal(t, [2]int{4, 0}, [2]int{stock, held}, "holds released, nothing was sold or restocked")
	assert.Equal(t, map[string]string{"cancel": "PENDING"}, actions(t, s, o.ID))
	storagetest.AssertBooks(t, s)

	_, err = s.CancelOrder(ctx, o.ID)
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeOrderAlreadyCancelled})

	// Paid all the same (the cancel lost the race at the provider): the
	// money goes back; the units are not taken again.
	tr, err := s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_late"))
	require.NoError(t, err)
	assert.Equal(t, storage.OrderRefundRequired, tr.Order.Status)
	assert.Equal(t, "PENDING", actions(t, s, o.ID)["refund"])
	stock, held = stockHeld(t, s, p)
	assert.Equal(t, [2]int{4, 0}, [2]int{stock, held})
	storagetest.AssertBooks(t, s)
	_, err = s.CancelOrder(ctx, o.ID)
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeInvalidInput}, "an order awaiting its refund is not cancelled")
}

func TestCancelPaidOrderQueuesRefund(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "C2", 4)
	o := mustPending(t, s, 3, p)
	_, err := s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_1"))
	require.NoError(t, err)
	_, err = s.CancelOrder(ctx, o.ID)
	require.NoError(t, err)
	stock, held := stockHeld(t, s, p)
	assert.Equal(t, [2]int{4, 0}, [2]int{stock, held}, "restocked")
	assert.Equal(t, map[string]string{"refund": "PENDING"}, actions(t, s, o.ID))
	storagetest.AssertBooks(t, s)
	worked, err := s.WorkPaymentAction(ctx, testProvider, func(context.Context, *storage.PaymentAction) (storage.ActionResult, error) {
		return storage.ActionDone, nil
	})
	require.NoError(t, err)
	require.True(t, worked)
	st, ps := orderStatus(t, s, o.ID)
	assert.Equal(t, [2]string{storage.OrderCancelled, storage.PaymentRefunded}, [2]string{st, ps})
	storagetest.AssertBooks(t, s)
}

// TestRaceCancelVsSuccessVsReaper: cancelOrder, a success and the reaper
// arrive together at a due order; whichever order they come in, the books
// balance and the order ends PLACED, CANCELLED (holds released) or
// REFUND_REQUIRED (paid after the cancellation), never two of them.
func TestRaceCancelVsSuccessVsReaper(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	other := storagetest.OpenStore(t, u, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "R3", 2*rounds)
	ends := map[string]int{}
	for i := 0; i < rounds; i++ {
		o := mustPending(t, s, 2, p)
		dueIn(t, s, o.ID, time.Duration(i%3)*time.Millisecond)
		var cancelErr, payErr, reapErr error
		together(
			func() { _, cancelErr = other.CancelOrder(ctx, o.ID) },
			func() { _, payErr = s.PaymentSucceeded(ctx, succeeded(o.ID, fmt.Sprintf("evt_%d", i))) },
			func() { _, reapErr = other.ReapPayments(ctx, 10) },
		)
		allowed(t, cancelErr, storage.CodeInvalidInput)
		require.NoError(t, payErr)
		require.NoError(t, reapErr)
		st, _ := orderStatus(t, s, o.ID)
		ends[st]++
		switch st {
		case storage.OrderPlaced:
			assert.Equal(t, 2, sales(t, s, o.ID))
		case storage.OrderCancelled, storage.OrderRefundRequired:
			assert.Equal(t, 0, sales(t, s, o.ID))
		default:
			t.Errorf("order ended %s", st)
		}
		storagetest.AssertBooks(t, s)
	}
	t.Logf("ends: %v", ends)
}

func TestAbandonCheckout(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "A1", 5)
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	lines := func() map[string][]*storage.CartLine {
		m, err := s.CartLinesByCartIDs(ctx, []string{c.ID})
		require.NoError(t, err)
		return map[string][]*storage.CartLine{c.ID: m[c.ID]}
	}
	cartBefore, err := s.CartByID(ctx, c.ID)
	require.NoError(t, err)
	linesBefore := lines()

	in := storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, IdempotencyKey: "k-1", TTL: 15 * time.Minute}
	o, _, err := s.BeginCheckout(ctx, in)
	require.NoError(t, err)
	undone, err := s.AbandonCheckout(ctx, o.ID)
	require.NoError(t, err)
	require.True(t, undone)

	cart, err := s.CartByID(ctx, c.ID)
	require.NoError(t, err)
	assert.Equal(t, storage.CartActive, cart.Status)
	assert.Equal(t, cartBefore.ExpiresAt, cart.ExpiresAt)
	assert.Equal(t, linesBefore, lines())
	gone, err := s.OrderByID(ctx, o.ID)
	require.NoError(t, err)
	assert.Nil(t, gone)
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM payments) + (SELECT count(*) FROM idempotency_keys)`))
	assert.Zero(t, n)
	stock, held := stockHeld(t, s, p)
	assert.Equal(t, [2]int{5, 2}, [2]int{stock, held})
	storagetest.AssertBooks(t, s)

	// Abandoning twice does nothing; the same key checks out anew.
	undone, err = s.AbandonCheckout(ctx, o.ID)
	require.NoError(t, err)
	assert.False(t, undone)
	o2, _, err := s.BeginCheckout(ctx, in)
	require.NoError(t, err)
	assert.NotEqual(t, o.ID, o2.ID)

	// An order with an intent recorded is not abandoned.
	p2, err := s.AttachIntent(ctx, o2.ID, "pi_1", "pi_1_secret")
	require.NoError(t, err)
	require.NotNil(t, p2)
	undone, err = s.AbandonCheckout(ctx, o2.ID)
	require.NoError(t, err)
	assert.False(t, undone)
	storagetest.AssertBooks(t, s)

	// After an abandon, an intent can no longer be attached.
	o3 := mustPending(t, s, 1, p)
	undone, err = s.AbandonCheckout(ctx, o3.ID)
	require.NoError(t, err)
	require.True(t, undone)
	none, err := s.AttachIntent(ctx, o3.ID, "pi_3", "secret")
	require.NoError(t, err)
	assert.Nil(t, none)
}

func TestManualConfirmationReference(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "M1", 5)
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	o, _, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "a@example.com", Provider: "manual", TTL: 15 * time.Minute})
	require.NoError(t, err)
	confirm := func(ref string) error {
		_, err := s.PaymentSucceeded(ctx, storage.PaymentEvent{Provider: "manual", OrderID: o.ID, Reference: ref})
		return err
	}
	require.NoError(t, confirm("BANK-1"))
	before := storagetest.Snapshot(t, s.DB())
	require.NoError(t, confirm("BANK-1"), "the same confirmation again is fine")
	assert.ErrorIs(t, confirm("BANK-2"), &storage.Error{Code: storage.CodePaymentNotPending})
	assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))
	assert.Equal(t, 1, sales(t, s, o.ID))
	storagetest.AssertBooks(t, s)
}

func TestActionRetriesAndStops(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "X1", 5)
	o := mustPending(t, s, 1, p)
	_, err := s.PaymentFailed(ctx, failed(o.ID, "evt_f"), storage.PaymentFailed)
	require.NoError(t, err)
	work := func(res storage.ActionResult) bool {
		worked, err := s.WorkPaymentAction(ctx, testProvider, func(context.Context, *storage.PaymentAction) (storage.ActionResult, error) {
			return res, errors.New("provider said no")
		})
		require.NoError(t, err)
		return worked
	}
	require.True(t, work(storage.ActionRetry))
	assert.False(t, work(storage.ActionRetry), "a retried action waits for its backoff")
	var attempts int
	var lastErr string
	require.NoError(t, s.DB().QueryRow(`SELECT attempts, last_error FROM payment_actions WHERE order_id = $1`, o.ID).Scan(&attempts, &lastErr))
	assert.Equal(t, 1, attempts)
	assert.Equal(t, "provider said no", lastErr)
	_, err = s.DB().Exec(`UPDATE payment_actions SET next_attempt_at = now() WHERE order_id = $1`, o.ID)
	require.NoError(t, err)
	worked, err := s.WorkPaymentAction(ctx, "other", func(context.Context, *storage.PaymentAction) (storage.ActionResult, error) {
		t.Error("another provider's action was claimed")
		return storage.ActionDone, nil
	})
	require.NoError(t, err)
	assert.False(t, worked)
	require.True(t, work(storage.ActionFailed))
	assert.Equal(t, map[string]string{"cancel": "FAILED"}, actions(t, s, o.ID))
	assert.False(t, work(storage.ActionDone))
}

func TestPaymentConstraints(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "K1", 5)
	o := mustPending(t, s, 1, p)
	for name, stmt := range map[string]string{
		"unknown order status":   `UPDATE orders SET status = 'SHIPPED' WHERE id = $1`,
		"unknown payment status": `UPDATE payments SET status = 'MAYBE' WHERE order_id = $1`,
		"second payment":         `INSERT INTO payments (order_id, provider, amount_cents, currency, due_at) VALUES ($1, 'manual', 1, 'USD', now())`,
		"succeeded without time": `UPDATE payments SET status = 'SUCCEEDED' WHERE order_id = $1`,
		"cancelled without time": `UPDATE orders SET status = 'CANCELLED' WHERE id = $1`,
		"second cancel action":   `INSERT INTO payment_actions (order_id, kind) VALUES ($1, 'cancel'), ($1, 'cancel')`,
		"duplicate event id":     `INSERT INTO payment_events (provider, event_id, order_id, type) VALUES ('stripe', 'e', $1, 't'), ('stripe', 'e', $1, 't')`,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.DB().Exec(stmt, o.ID)
			assert.Error(t, err)
		})
	}
}
