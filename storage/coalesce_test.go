package storage_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

func codeOf(err error) storage.Code {
	var se *storage.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

// One batch whose members fail for their own reasons: each gets its own
// answer, the others are served, and grants follow arrival order, each all
// or nothing.
func TestBatchMembersFailAlone(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "HOT", 10)
	eur, err := s.CreateProduct(ctx, storage.NewProduct{SKU: "EUR", Name: "Euro thing", PriceAmount: "1.00", Currency: "EUR", Stock: 5})
	require.NoError(t, err)

	a, b, c, d := storagetest.MustCart(t, s), storagetest.MustCart(t, s), storagetest.MustCart(t, s), storagetest.MustCart(t, s)
	expired := storagetest.MustCart(t, s)
	expireSoon(t, s, expired.ID, -1)
	euroCart := storagetest.MustCart(t, s)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: euroCart.ID, ProductID: eur.ID, Quantity: 1})
	require.NoError(t, err)

	ins := []storage.AddToCartParams{
		{CartID: a.ID, Quantity: 4},                       // granted (4)
		{CartID: "AAAAAAAAAAAAAAAAAAAAAAAA", Quantity: 1}, // unknown cart
		{CartID: expired.ID, Quantity: 1},                 // expired cart
		{CartID: euroCart.ID, Quantity: 1},                // currency mismatch
		{CartID: b.ID, Quantity: 5},                       // granted (9)
		{CartID: c.ID, Quantity: 3},                       // refused: 1 left
		{CartID: a.ID, Quantity: 1},                       // same cart again: fits after c's refusal
		{CartID: d.ID, Quantity: 2},                       // refused: 0 left
	}
	for i := range ins {
		ins[i].ProductID = p.ID
	}
	res, errs := s.RunBatch(ctx, p.ID, ins)
	assert.NoError(t, errs[0])
	assert.Equal(t, storage.CodeCartNotFound, codeOf(errs[1]))
	assert.Equal(t, storage.CodeCartExpired, codeOf(errs[2]))
	assert.Equal(t, storage.CodeCurrencyMismatch, codeOf(errs[3]))
	assert.NoError(t, errs[4])
	assert.Equal(t, storage.CodeInsufficientStock, codeOf(errs[5]))
	assert.NoError(t, errs[6], "a later, smaller member still gets what is left")
	assert.Equal(t, storage.CodeInsufficientStock, codeOf(errs[7]))
	var se *storage.Error
	require.ErrorAs(t, errs[7], &se)
	assert.Equal(t, 0, *se.Available)
	assert.Equal(t, 4, res[0].Reserved)
	assert.Equal(t, 5, res[4].Reserved)

	books := storagetest.AssertBooks(t, s)
	assert.Equal(t, 10, books[0].Held)
	var lineA int
	require.NoError(t, s.DB().Get(&lineA, `SELECT quantity FROM cart_lines WHERE cart_id = $1 AND product_id = $2`, a.ID, p.ID))
	assert.Equal(t, 5, lineA, "a's two members end up on one line")
	batches, _ := s.BatchStats()
	assert.EqualValues(t, 1, batches)
}

// Concurrent requests on one hot product do form batches, and the sell-out
// grants exactly the stock, with the
// hot statements prepared and (DB_PREPARE=false, for PgBouncer in
// transaction mode) unprepared.
func TestCoalescedSellOut(t *testing.T) {
	t.Parallel()
	for _, prepared := range []bool{true, false} {
		t.Run(fmt.Sprintf("prepared=%v", prepared), func(t *testing.T) {
			t.Parallel()
			opts := storagetest.Options()
			opts.NoPrepare = !prepared
			s, _ := storagetest.NewStore(t, opts)
			ctx := context.Background()
			p := storagetest.MustProduct(t, s, "SELLOUT", 100)
			const shoppers = 300
			carts := make([]string, shoppers)
			for i := range carts {
				carts[i] = storagetest.MustCart(t, s).ID
			}
			var granted atomic.Int64
			fns := make([]func(), shoppers)
			for i := range fns {
				fns[i] = func() {
					_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: carts[i], ProductID: p.ID, Quantity: 1})
					switch codeOf(err) {
					case "":
						granted.Add(1)
					case storage.CodeInsufficientStock:
					default:
						t.Errorf("unexpected: %v", err)
					}
				}
			}
			together(fns...)
			assert.EqualValues(t, 100, granted.Load())
			books := storagetest.AssertBooks(t, s)
			assert.Equal(t, 100, books[0].Held)
			batches, fallbacks := s.BatchStats()
			assert.Positive(t, batches, "concurrent reservations were coalesced")
			assert.Zero(t, fallbacks)
		})
	}
}

// A cart holds one currency: the one of its first line, until it is empty.
func TestCartCurrency(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	usd := storagetest.MustProduct(t, s, "USD-1", 5)
	eur, err := s.CreateProduct(ctx, storage.NewProduct{SKU: "EUR-1", Name: "Euro thing", PriceAmount: "1.00", Currency: "EUR", Stock: 5})
	require.NoError(t, err)
	c := storagetest.MustCart(t, s)

	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: eur.ID, Quantity: 1})
	require.NoError(t, err)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: usd.ID, Quantity: 1})
	assert.Equal(t, storage.CodeCurrencyMismatch, codeOf(err))
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: usd.ID, Quantity: 1, AllowPartial: true})
	assert.Equal(t, storage.CodeCurrencyMismatch, codeOf(err))
	assert.Equal(t, storage.CodeCurrencyMismatch, codeOf(second(s.UpdateCartLine(ctx, c.ID, usd.ID, 2, ""))))

	require.NoError(t, second(s.RemoveCartLine(ctx, c.ID, eur.ID, "")))
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: usd.ID, Quantity: 1})
	assert.NoError(t, err, "an emptied cart takes a new currency")
	storagetest.AssertBooks(t, s)
}

func second[T any](_ T, err error) error { return err }
