package storage_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

func pricedProduct(t testing.TB, s *storage.Store, sku, price string, stock int) *storage.Product {
	t.Helper()
	p, err := s.CreateProduct(context.Background(), storage.NewProduct{SKU: sku, Name: sku, PriceAmount: price, Currency: "USD", Stock: stock})
	require.NoError(t, err)
	return p
}

func mustCode(t testing.TB, s *storage.Store, in storage.NewDiscountCode) *storage.DiscountCode {
	t.Helper()
	d, err := s.CreateDiscountCode(context.Background(), in)
	require.NoError(t, err)
	return d
}

func codeUses(t testing.TB, s *storage.Store, id int64) (held, count int) {
	t.Helper()
	d, err := s.DiscountCodeByID(context.Background(), id)
	require.NoError(t, err)
	return d.UsesHeld, d.UsesCount
}

func cartWith(t testing.TB, ctx context.Context, s *storage.Store, p *storage.Product, qty int) *storage.Cart {
	t.Helper()
	c, err := s.CreateCart(ctx)
	require.NoError(t, err)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: qty})
	require.NoError(t, err)
	return c
}

func orderDiscount(t testing.TB, s *storage.Store, orderID string) (total, lines int64) {
	t.Helper()
	require.NoError(t, s.DB().QueryRow(`SELECT COALESCE((SELECT amount_cents FROM order_discounts WHERE order_id = $1), 0),
		(SELECT COALESCE(sum(discount_cents), 0) FROM order_lines WHERE order_id = $1)`, orderID).Scan(&total, &lines))
	return total, lines
}

func limit(n int) *int { return &n }

func TestPricingRounding(t *testing.T) {
	t.Parallel()
	bp := func(n int) *int { return &n }
	amt := func(n int64) *int64 { return &n }
	usd := "USD"
	percent := func(b int) *storage.CartDiscountState {
		return &storage.CartDiscountState{DiscountCode: storage.DiscountCode{Kind: storage.DiscountPercentage, PercentBP: bp(b)}, Live: true, AllProducts: true}
	}
	fixed := func(c int64) *storage.CartDiscountState {
		return &storage.CartDiscountState{DiscountCode: storage.DiscountCode{Kind: storage.DiscountFixedAmount, AmountCents: amt(c), Currency: &usd}, Live: true, AllProducts: true}
	}
	line := func(id int64, price int64, qty int) storage.PriceLine {
		return storage.PriceLine{ProductID: id, PriceCents: price, Quantity: qty, Currency: "USD"}
	}
	t.Run("percentage per line, half-even", func(t *testing.T) {
		// 10% of 0.25 = 2.5 cents -> 2 (even); of 0.35 = 3.5 -> 4 (even);
		// of 0.26 = 2.6 -> 3; of 0.24 = 2.4 -> 2.
		p := storage.PriceCart([]storage.PriceLine{line(1, 25, 1), line(2, 35, 1), line(3, 26, 1), line(4, 24, 1)}, percent(1000))
		require.True(t, p.Applicable)
		assert.Equal(t, map[int64]int64{1: 2, 2: 4, 3: 3, 4: 2}, p.LineDiscounts)
		assert.Equal(t, "11", p.Discount.String())
		assert.Equal(t, "99", p.Total().String())
		// 12.5% of 3 x 0.33 = 12.375 cents -> 12.
		p = storage.PriceCart([]storage.PriceLine{line(1, 33, 3)}, percent(1250))
		assert.Equal(t, int64(12), p.LineDiscount(1))
		// 100% takes everything, never below 0.
		p = storage.PriceCart([]storage.PriceLine{line(1, 999, 2)}, percent(10000))
		assert.Equal(t, "0", p.Total().String())
	})
	t.Run("fixed amount spread in proportion, remainders to the largest lines", func(t *testing.T) {
		// 1.00 over 3 lines of 10.00: 33 each, the 1 left to the lowest id.
		p := storage.PriceCart([]storage.PriceLine{line(3, 1000, 1), line(1, 1000, 1), line(2, 1000, 1)}, fixed(100))
		assert.Equal(t, map[int64]int64{1: 34, 2: 33, 3: 33}, p.LineDiscounts)
		assert.Equal(t, "100", p.Discount.String())
		// 0.10 over 1.00 and 0.50 and 0.01: 6.32, 3.16, 0.06 -> 6, 3, 0 + 1 to the largest.
		p = storage.PriceCart([]storage.PriceLine{line(1, 100, 1), line(2, 50, 1), line(3, 1, 1)}, fixed(10))
		assert.Equal(t, map[int64]int64{1: 7, 2: 3}, p.LineDiscounts)
		// Capped at the eligible subtotal.
		p = storage.PriceCart([]storage.PriceLine{line(1, 300, 1), line(2, 200, 2)}, fixed(5000))
		assert.Equal(t, map[int64]int64{1: 300, 2: 400}, p.LineDiscounts)
		assert.Equal(t, "0", p.Total().String())
	})
	t.Run("conditions", func(t *testing.T) {
		d := fixed(100)
		minimum := int64(2000)
		d.MinimumSubtotalCents = &minimum
		p := storage.PriceCart([]storage.PriceLine{line(1, 1999, 1)}, d)
		assert.False(t, p.Applicable)
		assert.Equal(t, storage.CodeMinimumSubtotalNotMet, p.Reason)
		assert.Equal(t, "0", p.Discount.String())
		p = storage.PriceCart([]storage.PriceLine{line(1, 2000, 1)}, d)
		assert.True(t, p.Applicable)
		d = percent(1000)
		d.AllProducts, d.Eligible = false, []int64{2}
		p = storage.PriceCart([]storage.PriceLine{line(1, 1000, 1), line(2, 500, 1)}, d)
		assert.Equal(t, map[int64]int64{2: 50}, p.LineDiscounts)
		p = storage.PriceCart([]storage.PriceLine{line(1, 1000, 1)}, d)
		assert.Equal(t, storage.CodeDiscountNotApplicable, p.Reason)
		d = percent(1000)
		d.Live = false
		assert.Equal(t, storage.CodeDiscountNotActive, storage.PriceCart([]storage.PriceLine{line(1, 1000, 1)}, d).Reason)
		eur := "EUR"
		d = fixed(100)
		d.Currency = &eur
		assert.Equal(t, storage.CodeCurrencyMismatch, storage.PriceCart([]storage.PriceLine{line(1, 1000, 1)}, d).Reason)
	})
}

func TestDiscountCodeRefusals(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	for _, tc := range []struct {
		in    storage.NewDiscountCode
		field string
	}{
		{storage.NewDiscountCode{Code: "", Kind: "PERCENTAGE", Value: "10"}, "code"},
		{storage.NewDiscountCode{Code: "A B", Kind: "PERCENTAGE", Value: "10"}, "code"},
		{storage.NewDiscountCode{Code: "X", Kind: "PERCENTAGE", Value: "0"}, "value"},
		{storage.NewDiscountCode{Code: "X", Kind: "PERCENTAGE", Value: "100.01"}, "value"},
		{storage.NewDiscountCode{Code: "X", Kind: "FIXED_AMOUNT", Value: "5.00"}, "currencyCode"},
		{storage.NewDiscountCode{Code: "X", Kind: "FIXED_AMOUNT", Value: "-5", Currency: "USD"}, "value"},
		{storage.NewDiscountCode{Code: "X", Kind: "PERCENTAGE", Value: "5", MinimumSubtotal: "10.00"}, "currencyCode"},
		{storage.NewDiscountCode{Code: "X", Kind: "BOGUS", Value: "5"}, "kind"},
		{storage.NewDiscountCode{Code: "X", Kind: "PERCENTAGE", Value: "5", UsageLimit: limit(-1)}, "usageLimit"},
		{storage.NewDiscountCode{Code: "X", Kind: "PERCENTAGE", Value: "5", ProductIDs: []int64{999}}, "productIds"},
	} {
		_, err := s.CreateDiscountCode(ctx, tc.in)
		var se *storage.Error
		require.ErrorAs(t, err, &se, "%+v", tc.in)
		assert.Equal(t, tc.field, se.Field[len(se.Field)-1], "%+v", tc.in)
	}
	mustCode(t, s, storage.NewDiscountCode{Code: "Spring", Kind: "PERCENTAGE", Value: "10"})
	_, err := s.CreateDiscountCode(ctx, storage.NewDiscountCode{Code: "SPRING", Kind: "PERCENTAGE", Value: "10"})
	assert.Equal(t, storage.CodeInvalidInput, codeOf(err))

	p := storagetest.MustProduct(t, s, "D1", 10)
	c := cartWith(t, ctx, s, p, 1)
	assert.Equal(t, storage.CodeDiscountNotFound, codeOf(s.ApplyDiscountCode(ctx, c.ID, "nope")))
	off := mustCode(t, s, storage.NewDiscountCode{Code: "OFF", Kind: "PERCENTAGE", Value: "10"})
	f := false
	_, err = s.UpdateDiscountCode(ctx, off.ID, storage.DiscountCodeUpdate{Active: &f})
	require.NoError(t, err)
	assert.Equal(t, storage.CodeDiscountNotActive, codeOf(s.ApplyDiscountCode(ctx, c.ID, "off")))
	later := time.Now().Add(time.Hour)
	mustCode(t, s, storage.NewDiscountCode{Code: "LATER", Kind: "PERCENTAGE", Value: "10", StartsAt: &later})
	assert.Equal(t, storage.CodeDiscountNotActive, codeOf(s.ApplyDiscountCode(ctx, c.ID, "LATER")))
	mustCode(t, s, storage.NewDiscountCode{Code: "MINE", Kind: "PERCENTAGE", Value: "10", OncePerCustomer: true})
	assert.Equal(t, storage.CodeCustomerRequired, codeOf(s.ApplyDiscountCode(ctx, c.ID, "MINE")))
	zero := mustCode(t, s, storage.NewDiscountCode{Code: "ZERO", Kind: "PERCENTAGE", Value: "10", UsageLimit: limit(0)})
	assert.Equal(t, storage.CodeDiscountExhausted, codeOf(s.ApplyDiscountCode(ctx, c.ID, "zero")))
	// A limit below the uses taken is refused.
	one := mustCode(t, s, storage.NewDiscountCode{Code: "ONE", Kind: "PERCENTAGE", Value: "10", UsageLimit: limit(1)})
	require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "one"))
	_, err = s.UpdateDiscountCode(ctx, one.ID, storage.DiscountCodeUpdate{UsageLimit: limit(0)})
	assert.Equal(t, storage.CodeInvalidInput, codeOf(err))
	_, err = s.UpdateDiscountCode(ctx, zero.ID, storage.DiscountCodeUpdate{UsageLimit: limit(1)})
	require.NoError(t, err)
	storagetest.AssertBooks(t, s)
}

// TestDiscountUseLifecycle follows one use through every transition that
// takes, moves or gives it back, with the books after each.
func TestDiscountUseLifecycle(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := pricedProduct(t, s, "L1", "19.99", 100)
	q := pricedProduct(t, s, "L2", "5.00", 100)
	code := mustCode(t, s, storage.NewDiscountCode{Code: "Ten", Kind: "PERCENTAGE", Value: "10", UsageLimit: limit(3),
		MinimumSubtotal: "30.00", Currency: "USD"})
	other := mustCode(t, s, storage.NewDiscountCode{Code: "FIVE", Kind: "FIXED_AMOUNT", Value: "5.00", Currency: "USD"})

	t.Run("apply, reapply, replace, remove", func(t *testing.T) {
		c := cartWith(t, ctx, s, p, 2)
		require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "ten"))
		require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "TEN")) // the same code: keeps its one use
		held, _ := codeUses(t, s, code.ID)
		assert.Equal(t, 1, held)
		require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "five"))
		held, _ = codeUses(t, s, code.ID)
		assert.Equal(t, 0, held)
		held, _ = codeUses(t, s, other.ID)
		assert.Equal(t, 1, held)
		require.NoError(t, s.RemoveDiscountCode(ctx, c.ID, "Five"))
		require.NoError(t, s.RemoveDiscountCode(ctx, c.ID, "Five"))
		held, _ = codeUses(t, s, other.ID)
		assert.Equal(t, 0, held)
		storagetest.AssertBooks(t, s)
	})
	t.Run("cart expiry gives the use back", func(t *testing.T) {
		c := cartWith(t, ctx, s, p, 2)
		require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "ten"))
		expireSoon(t, s, c.ID, -time.Second)
		_, err := s.ReapExpired(ctx, 100)
		require.NoError(t, err)
		held, _ := codeUses(t, s, code.ID)
		assert.Equal(t, 0, held)
		storagetest.AssertBooks(t, s)
	})
	t.Run("checkout consumes; lines carry their shares; cancel gives back", func(t *testing.T) {
		c := cartWith(t, ctx, s, p, 2) // 39.98
		_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: q.ID, Quantity: 1})
		require.NoError(t, err)
		require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "ten"))
		o, err := s.Checkout(ctx, c.ID, "ada@example.com", "")
		require.NoError(t, err)
		total, lines := orderDiscount(t, s, o.ID)
		// 10% of 39.98 = 3.998 -> 4.00; of 5.00 = 0.50.
		assert.Equal(t, int64(450), total)
		assert.Equal(t, int64(450), lines)
		held, count := codeUses(t, s, code.ID)
		assert.Equal(t, [2]int{0, 1}, [2]int{held, count})
		storagetest.AssertBooks(t, s)
		_, err = s.CancelOrder(ctx, o.ID)
		require.NoError(t, err)
		held, count = codeUses(t, s, code.ID)
		assert.Equal(t, [2]int{0, 0}, [2]int{held, count})
		storagetest.AssertBooks(t, s)
	})
	t.Run("a code that stopped applying gives no discount and its use back", func(t *testing.T) {
		c := cartWith(t, ctx, s, p, 2)
		require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "ten"))
		_, err := s.UpdateCartLine(ctx, c.ID, p.ID, 1, "") // 19.99 < 30.00
		require.NoError(t, err)
		states, err := s.CartDiscountsByCartIDs(ctx, []string{c.ID})
		require.NoError(t, err)
		lines, err := s.CartLinesByCartIDs(ctx, []string{c.ID})
		require.NoError(t, err)
		pr := storage.PriceCart(storage.PriceLinesOf(lines[c.ID]), states[c.ID])
		assert.False(t, pr.Applicable)
		assert.Equal(t, storage.CodeMinimumSubtotalNotMet, pr.Reason)
		held, _ := codeUses(t, s, code.ID)
		assert.Equal(t, 1, held, "the code keeps its use while it does not apply")
		o, err := s.Checkout(ctx, c.ID, "ada@example.com", "")
		require.NoError(t, err)
		total, lines2 := orderDiscount(t, s, o.ID)
		assert.Equal(t, [2]int64{0, 0}, [2]int64{total, lines2})
		held, count := codeUses(t, s, code.ID)
		assert.Equal(t, [2]int{0, 0}, [2]int{held, count})
		storagetest.AssertBooks(t, s)
	})
	t.Run("a price changed after the code was applied gives the new total", func(t *testing.T) {
		c := cartWith(t, ctx, s, q, 10) // 50.00
		require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "ten"))
		price := "7.00"
		_, err := s.UpdateProduct(ctx, q.ID, storage.ProductUpdate{PriceAmount: &price})
		require.NoError(t, err)
		o, _, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, TTL: time.Minute})
		require.NoError(t, err)
		total, _ := orderDiscount(t, s, o.ID)
		assert.Equal(t, int64(700), total)
		pay, err := s.PaymentByOrderID(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(6300), pay.AmountCents, "the payment asks for the lines less the discount")
		held, count := codeUses(t, s, code.ID)
		assert.Equal(t, [2]int{1, 0}, [2]int{held, count})
		storagetest.AssertBooks(t, s)
		_, err = s.PaymentSucceeded(ctx, succeeded(o.ID, "evt-1"))
		require.NoError(t, err)
		held, count = codeUses(t, s, code.ID)
		assert.Equal(t, [2]int{0, 1}, [2]int{held, count})
		storagetest.AssertBooks(t, s)
		_, err = s.CancelOrder(ctx, o.ID)
		require.NoError(t, err)
		storagetest.AssertBooks(t, s)
	})
}

// TestDiscountPaymentExpiry: an unpaid order's use returns when its payment
// expires; a late payment takes one again only if one is free, and
// otherwise the order needs a refund (the limit is never passed).
func TestDiscountPaymentExpiry(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := pricedProduct(t, s, "E1", "10.00", 100)
	code := mustCode(t, s, storage.NewDiscountCode{Code: "LAST", Kind: "FIXED_AMOUNT", Value: "1.00", Currency: "USD", UsageLimit: limit(1)})
	pending := func() *storage.Order {
		c := cartWith(t, ctx, s, p, 1)
		require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "last"))
		o, _, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, TTL: time.Minute})
		require.NoError(t, err)
		return o
	}
	// Free again after expiry: the late payment re-takes it.
	o1 := pending()
	dueIn(t, s, o1.ID, -time.Second)
	n, err := s.ReapPayments(ctx, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	held, count := codeUses(t, s, code.ID)
	assert.Equal(t, [2]int{0, 0}, [2]int{held, count})
	storagetest.AssertBooks(t, s)
	tr, err := s.PaymentSucceeded(ctx, succeeded(o1.ID, "late-1"))
	require.NoError(t, err)
	assert.Equal(t, storage.OrderPlaced, tr.Order.Status)
	held, count = codeUses(t, s, code.ID)
	assert.Equal(t, [2]int{0, 1}, [2]int{held, count})
	storagetest.AssertBooks(t, s)

	// Taken by someone else meanwhile: the late payment is refunded.
	_, err = s.CancelOrder(ctx, o1.ID) // gives the use back
	require.NoError(t, err)
	o2 := pending()
	dueIn(t, s, o2.ID, -time.Second)
	_, err = s.ReapPayments(ctx, 10)
	require.NoError(t, err)
	c3 := cartWith(t, ctx, s, p, 1)
	require.NoError(t, s.ApplyDiscountCode(ctx, c3.ID, "LAST"))
	tr, err = s.PaymentSucceeded(ctx, succeeded(o2.ID, "late-2"))
	require.NoError(t, err)
	assert.Equal(t, storage.OrderRefundRequired, tr.Order.Status)
	held, count = codeUses(t, s, code.ID)
	assert.Equal(t, [2]int{1, 0}, [2]int{held, count})
	storagetest.AssertBooks(t, s)

	// AbandonCheckout puts the held use back on the cart.
	require.NoError(t, s.RemoveDiscountCode(ctx, c3.ID, "last"))
	o4 := pending()
	ok, err := s.AbandonCheckout(ctx, o4.ID)
	require.NoError(t, err)
	require.True(t, ok)
	held, count = codeUses(t, s, code.ID)
	assert.Equal(t, [2]int{1, 0}, [2]int{held, count})
	storagetest.AssertBooks(t, s)
}

// TestRaceDiscountUsageLimit: 100 carts apply a code limited to 10 at once,
// across two stores (two pools, as two server processes): exactly 10 get
// it. Then the 10 check out while 20 more carts try to take a use and
// shoppers remove the code from other carts: exactly 10 consumed, none
// held, the limit never passed.
func TestRaceDiscountUsageLimit(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	s2 := storagetest.OpenStore(t, u, storagetest.Options())
	ctx := context.Background()
	p := pricedProduct(t, s, "RACE", "10.00", 1000)
	code := mustCode(t, s, storage.NewDiscountCode{Code: "FIRST10", Kind: "PERCENTAGE", Value: "15", UsageLimit: limit(10)})
	carts := make([]*storage.Cart, 100)
	for i := range carts {
		carts[i] = cartWith(t, ctx, s, p, 1)
	}
	var applied, exhausted atomic.Int32
	won := make([]bool, len(carts))
	fns := make([]func(), len(carts))
	for i, c := range carts {
		st := s
		if i%2 == 1 {
			st = s2
		}
		fns[i] = func() {
			err := st.ApplyDiscountCode(ctx, c.ID, "first10")
			switch codeOf(err) {
			case "":
				require.NoError(t, err)
				applied.Add(1)
				won[i] = true
			case storage.CodeDiscountExhausted:
				exhausted.Add(1)
			default:
				t.Errorf("apply: %v", err)
			}
		}
	}
	together(fns...)
	assert.Equal(t, int32(10), applied.Load())
	assert.Equal(t, int32(90), exhausted.Load())
	held, count := codeUses(t, s, code.ID)
	assert.Equal(t, [2]int{10, 0}, [2]int{held, count})
	storagetest.AssertBooks(t, s)

	fns = fns[:0]
	for i, c := range carts {
		if won[i] {
			fns = append(fns, func() {
				_, err := s.Checkout(ctx, c.ID, "ada@example.com", "")
				require.NoError(t, err)
			})
		} else if i < 20 {
			fns = append(fns, func() {
				allowed(t, s2.ApplyDiscountCode(ctx, c.ID, "FIRST10"), storage.CodeDiscountExhausted)
			})
		}
	}
	together(fns...)
	held, count = codeUses(t, s, code.ID)
	assert.Equal(t, [2]int{0, 10}, [2]int{held, count})
	var orders int
	require.NoError(t, s.DB().Get(&orders, `SELECT count(*) FROM order_discounts WHERE discount_code_id = $1`, code.ID))
	assert.Equal(t, 10, orders)
	storagetest.AssertBooks(t, s)
}

// TestRaceDiscountExpiryVsNewCarts: orders awaiting payment hold every use
// of a code; their payments expire while as many new carts (on another
// store, as another process) try to take the uses and the orders' late
// payments arrive: never more uses than the limit, every late payment
// either placed with its use or refunded, the books exact.
func TestRaceDiscountExpiryVsNewCarts(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	s2 := storagetest.OpenStore(t, u, storagetest.Options())
	ctx := context.Background()
	p := pricedProduct(t, s, "EXP", "10.00", 1000)
	const n = 20
	code := mustCode(t, s, storage.NewDiscountCode{Code: "LIMITED", Kind: "PERCENTAGE", Value: "50", UsageLimit: limit(n)})
	orders := make([]*storage.Order, n)
	for i := range orders {
		c := cartWith(t, ctx, s, p, 1)
		require.NoError(t, s.ApplyDiscountCode(ctx, c.ID, "limited"))
		o, _, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, TTL: time.Minute})
		require.NoError(t, err)
		orders[i] = o
		dueIn(t, s, o.ID, -time.Second)
	}
	fresh := make([]*storage.Cart, n)
	for i := range fresh {
		fresh[i] = cartWith(t, ctx, s, p, 1)
	}
	var fns []func()
	fns = append(fns, func() {
		_, err := s.ReapPayments(ctx, 1000)
		require.NoError(t, err)
	})
	for i := range n {
		fns = append(fns, func() {
			allowed(t, s2.ApplyDiscountCode(ctx, fresh[i].ID, "LIMITED"), storage.CodeDiscountExhausted)
		}, func() {
			_, err := s.PaymentSucceeded(ctx, succeeded(orders[i].ID, fmt.Sprintf("evt-%d", i)))
			require.NoError(t, err)
		})
	}
	together(fns...)
	held, count := codeUses(t, s, code.ID)
	assert.LessOrEqual(t, held+count, n)
	var placed, refund int
	require.NoError(t, s.DB().Get(&placed, `SELECT count(*) FROM orders o JOIN order_discounts d ON d.order_id = o.id WHERE o.status = 'PLACED'`))
	require.NoError(t, s.DB().Get(&refund, `SELECT count(*) FROM orders WHERE status = 'REFUND_REQUIRED'`))
	assert.Equal(t, n, placed+refund)
	assert.Equal(t, placed, count)
	storagetest.AssertBooks(t, s)
}

// TestRaceOncePerCustomer: two carts of one customer (and a guest's) race
// to apply a oncePerCustomer code: one gets it; after checkout the
// customer can never use it again, and after cancellation can.
func TestRaceOncePerCustomer(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	s2 := storagetest.OpenStore(t, u, storagetest.Options())
	ctx := context.Background()
	p := pricedProduct(t, s, "OPC", "10.00", 1000)
	code := mustCode(t, s, storage.NewDiscountCode{Code: "WELCOME", Kind: "PERCENTAGE", Value: "20", OncePerCustomer: true})
	for round := range 10 {
		_, cctx := mustCustomer(t, s, fmt.Sprintf("c%d@example.com", round))
		a := cartWith(t, cctx, s, p, 1)
		b := cartWith(t, cctx, s, p, 1)
		var errA, errB error
		together(
			func() { errA = s.ApplyDiscountCode(cctx, a.ID, "welcome") },
			func() { errB = s2.ApplyDiscountCode(cctx, b.ID, "WELCOME") },
		)
		winner := a
		switch {
		case errA == nil && codeOf(errB) == storage.CodeDiscountAlreadyUsed:
		case errB == nil && codeOf(errA) == storage.CodeDiscountAlreadyUsed:
			winner = b
		default:
			t.Fatalf("round %d: want one winner, got %v and %v", round, errA, errB)
		}
		o, err := s.Checkout(cctx, winner.ID, "ada@example.com", "")
		require.NoError(t, err)
		c := cartWith(t, cctx, s, p, 1)
		assert.Equal(t, storage.CodeDiscountAlreadyUsed, codeOf(s.ApplyDiscountCode(cctx, c.ID, "welcome")))
		_, err = s.CancelOrder(ctx, o.ID)
		require.NoError(t, err)
		require.NoError(t, s.ApplyDiscountCode(cctx, c.ID, "welcome"))
	}
	held, count := codeUses(t, s, code.ID)
	assert.Equal(t, [2]int{10, 0}, [2]int{held, count})
	storagetest.AssertBooks(t, s)
}
