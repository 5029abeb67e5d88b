package storage_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

func mustGiftCard(t testing.TB, s *storage.Store, value string) (*storage.GiftCard, string) {
	t.Helper()
	g, code, err := s.CreateGiftCard(context.Background(), value, "USD", nil)
	require.NoError(t, err)
	return g, code
}

func cardState(t testing.TB, s *storage.Store, id int64) (balance, held int64) {
	t.Helper()
	g, err := s.GiftCardByID(context.Background(), id)
	require.NoError(t, err)
	return g.BalanceCents, g.HeldCents
}

func orderGiftCards(t testing.TB, s *storage.Store, orderID string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, s.DB().Get(&n, `SELECT COALESCE(sum(amount_cents), 0) FROM order_gift_cards WHERE order_id = $1`, orderID))
	return n
}

func TestGiftCardCodes(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	g, code := mustGiftCard(t, s, "25.00")
	assert.Len(t, code, storage.GiftCardCodeLen)
	assert.Equal(t, code[len(code)-4:], g.LastCharacters)
	assert.NotContains(t, code, "0")
	assert.NotContains(t, code, "O")
	var stored int
	require.NoError(t, s.DB().Get(&stored, `SELECT count(*) FROM gift_cards WHERE code_hash::text LIKE '%' || $1 || '%'`, code))
	assert.Zero(t, stored)
	_, _, err := s.CreateGiftCard(ctx, "0", "USD", nil)
	assert.Equal(t, storage.CodeInvalidInput, codeOf(err))

	p := pricedProduct(t, s, "G1", "10.00", 10)
	c := cartWith(t, ctx, s, p, 1)
	assert.Equal(t, storage.CodeGiftCardNotFound, codeOf(s.ApplyGiftCard(ctx, c.ID, "NOTACODE")))
	// Matched whatever the case, spaces and dashes.
	require.NoError(t, s.ApplyGiftCard(ctx, c.ID, code[:4]+"-"+string([]rune(code[4:]))))
	require.NoError(t, s.ApplyGiftCard(ctx, c.ID, code))
	eur, eurCode, err := s.CreateGiftCard(ctx, "5.00", "EUR", nil)
	require.NoError(t, err)
	assert.Equal(t, storage.CodeGiftCardCurrencyMismatch, codeOf(s.ApplyGiftCard(ctx, c.ID, eurCode)))
	_, err = s.DisableGiftCard(ctx, eur.ID)
	require.NoError(t, err)
	assert.Equal(t, storage.CodeGiftCardNotFound, codeOf(s.ApplyGiftCard(ctx, c.ID, eurCode)))

	_, err = s.AdjustGiftCard(ctx, g.ID, "-30.00", "too much")
	assert.Equal(t, storage.CodeInvalidInput, codeOf(err))
	g2, err := s.AdjustGiftCard(ctx, g.ID, "-25.00", "used up")
	require.NoError(t, err)
	assert.Equal(t, int64(0), g2.BalanceCents)
	c2 := cartWith(t, ctx, s, p, 1)
	assert.Equal(t, storage.CodeGiftCardEmpty, codeOf(s.ApplyGiftCard(ctx, c2.ID, code)))
	_, err = s.AdjustGiftCard(ctx, g.ID, "5", "goodwill")
	require.NoError(t, err)
	require.NoError(t, s.RemoveGiftCard(ctx, c.ID, g.LastCharacters))
	storagetest.AssertBooks(t, s)
}

// TestGiftCardLifecycle: checkout debits at once; beginCheckout holds and
// the payment debits; expiry releases; cancellation credits back once;
// cards covering everything place the order with no payment.
func TestGiftCardLifecycle(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := pricedProduct(t, s, "GL", "20.00", 100)
	g, code := mustGiftCard(t, s, "50.00")
	begin := func(c *storage.Cart) (*storage.Order, *storage.Payment) {
		o, pay, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, TTL: time.Minute})
		require.NoError(t, err)
		return o, pay
	}

	c := cartWith(t, ctx, s, p, 1)
	require.NoError(t, s.ApplyGiftCard(ctx, c.ID, code))
	o, err := s.Checkout(ctx, c.ID, "ada@example.com", "")
	require.NoError(t, err)
	assert.Equal(t, int64(2000), orderGiftCards(t, s, o.ID))
	bal, held := cardState(t, s, g.ID)
	assert.Equal(t, [2]int64{3000, 0}, [2]int64{bal, held})
	storagetest.AssertBooks(t, s)

	// 2 x 20.00 = 40.00 against 30.00 left: held, the provider asked for 10.00.
	c = cartWith(t, ctx, s, p, 2)
	require.NoError(t, s.ApplyGiftCard(ctx, c.ID, code))
	o2, pay := begin(c)
	require.NotNil(t, pay)
	assert.Equal(t, int64(1000), pay.AmountCents)
	bal, held = cardState(t, s, g.ID)
	assert.Equal(t, [2]int64{3000, 3000}, [2]int64{bal, held})
	storagetest.AssertBooks(t, s)

	// Another checkout meanwhile gets nothing of it.
	c3 := cartWith(t, ctx, s, p, 1)
	assert.Equal(t, storage.CodeGiftCardEmpty, codeOf(s.ApplyGiftCard(ctx, c3.ID, code)))

	// The payment expires: the hold goes back.
	dueIn(t, s, o2.ID, -time.Second)
	_, err = s.ReapPayments(ctx, 10)
	require.NoError(t, err)
	bal, held = cardState(t, s, g.ID)
	assert.Equal(t, [2]int64{3000, 0}, [2]int64{bal, held})
	storagetest.AssertBooks(t, s)

	// Covered entirely: placed at once, no payment.
	require.NoError(t, s.ApplyGiftCard(ctx, c3.ID, code))
	o3, pay := begin(c3)
	assert.Nil(t, pay)
	assert.Equal(t, storage.OrderPlaced, o3.Status)
	bal, held = cardState(t, s, g.ID)
	assert.Equal(t, [2]int64{1000, 0}, [2]int64{bal, held})
	storagetest.AssertBooks(t, s)

	// The late payment of the expired order: 30.00 no longer there, refunded.
	tr, err := s.PaymentSucceeded(ctx, succeeded(o2.ID, "late"))
	require.NoError(t, err)
	assert.Equal(t, storage.OrderRefundRequired, tr.Order.Status)
	storagetest.AssertBooks(t, s)

	// Cancelling credits the cards back, once.
	_, err = s.CancelOrder(ctx, o3.ID)
	require.NoError(t, err)
	_, err = s.CancelOrder(ctx, o3.ID)
	assert.Equal(t, storage.CodeOrderAlreadyCancelled, codeOf(err))
	_, err = s.CancelOrder(ctx, o.ID)
	require.NoError(t, err)
	bal, held = cardState(t, s, g.ID)
	assert.Equal(t, [2]int64{5000, 0}, [2]int64{bal, held})
	storagetest.AssertBooks(t, s)

	// A held payment that succeeds debits the card.
	c4 := cartWith(t, ctx, s, p, 3)
	require.NoError(t, s.ApplyGiftCard(ctx, c4.ID, code))
	o4, pay := begin(c4)
	assert.Equal(t, int64(1000), pay.AmountCents)
	_, err = s.PaymentSucceeded(ctx, succeeded(o4.ID, "ok-4"))
	require.NoError(t, err)
	bal, held = cardState(t, s, g.ID)
	assert.Equal(t, [2]int64{0, 0}, [2]int64{bal, held})
	storagetest.AssertBooks(t, s)
}

// TestRaceGiftCardCheckouts: one card of 50.00 applied to 10 carts of
// 20.00 checking out at once, half through another pool (another process),
// half with beginCheckout: never more than 50.00 taken, the balance never
// below 0, the books exact.
func TestRaceGiftCardCheckouts(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	s2 := storagetest.OpenStore(t, u, storagetest.Options())
	ctx := context.Background()
	p := pricedProduct(t, s, "GR", "20.00", 100)
	g, code := mustGiftCard(t, s, "50.00")
	carts := make([]*storage.Cart, 10)
	for i := range carts {
		carts[i] = cartWith(t, ctx, s, p, 1)
		require.NoError(t, s.ApplyGiftCard(ctx, carts[i].ID, code))
	}
	var placed atomic.Int32
	fns := make([]func(), len(carts))
	for i, c := range carts {
		st := s
		if i%2 == 1 {
			st = s2
		}
		fns[i] = func() {
			if i%4 < 2 {
				_, err := st.Checkout(ctx, c.ID, "ada@example.com", "")
				require.NoError(t, err)
				placed.Add(1)
				return
			}
			_, _, err := st.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, TTL: time.Minute})
			require.NoError(t, err)
		}
	}
	together(fns...)
	bal, held := cardState(t, s, g.ID)
	var taken int64
	require.NoError(t, s.DB().Get(&taken, `SELECT COALESCE(sum(amount_cents), 0) FROM order_gift_cards WHERE gift_card_id = $1 AND state IN ('held', 'captured')`, g.ID))
	assert.Equal(t, int64(5000), taken, "the card pays 50.00 in all")
	var captured int64
	require.NoError(t, s.DB().Get(&captured, `SELECT COALESCE(sum(amount_cents), 0) FROM order_gift_cards WHERE gift_card_id = $1 AND state = 'captured'`, g.ID))
	assert.Equal(t, int64(5000), bal+captured, "balance + what was debited is the initial value")
	assert.Equal(t, int64(0), bal-held, "nothing left to spend")
	storagetest.AssertBooks(t, s)
	// Every order's payment asks for the rest.
	var wrong int
	require.NoError(t, s.DB().Get(&wrong, `
		SELECT count(*) FROM payments p
		WHERE p.amount_cents <> (SELECT sum(unit_price_cents * quantity) FROM order_lines WHERE order_id = p.order_id)
		      - COALESCE((SELECT sum(amount_cents) FROM order_gift_cards WHERE order_id = p.order_id), 0)`))
	assert.Zero(t, wrong)
	// The pending ones expire: their holds come back.
	_, err := s.DB().Exec(`UPDATE payments SET due_at = now() - interval '1 second'`)
	require.NoError(t, err)
	_, err = s.ReapPayments(ctx, 100)
	require.NoError(t, err)
	_, held = cardState(t, s, g.ID)
	assert.Zero(t, held)
	storagetest.AssertBooks(t, s)
	assert.Equal(t, int32(6), placed.Load())
}
