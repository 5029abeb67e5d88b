package storage_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

func code(err error) storage.Code {
	var se *storage.Error
	if errors.As(err, &se) {
		return se.Code
	}
	return ""
}

func mustCustomer(t testing.TB, s *storage.Store, email string) (*storage.Customer, context.Context) {
	t.Helper()
	c, err := s.CreateCustomer(context.Background(), storage.NewCustomer{Email: email, Password: "correct horse battery"})
	require.NoError(t, err)
	return c, storage.WithViewer(context.Background(), c.ID)
}

func setLimit(t testing.TB, s *storage.Store, productID int64, limit int) {
	t.Helper()
	_, err := s.UpdateProduct(context.Background(), productID, storage.ProductUpdate{SetLimitPerCustomer: true, LimitPerCustomer: &limit})
	require.NoError(t, err)
}

func TestCustomerCredentials(t *testing.T) {
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	c, err := s.CreateCustomer(ctx, storage.NewCustomer{Email: " Ada@Example.com ", Password: "correct horse battery"})
	require.NoError(t, err)
	assert.Equal(t, "ada@example.com", c.Email)
	assert.True(t, strings.HasPrefix(c.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$"), c.PasswordHash)

	_, err = s.CreateCustomer(ctx, storage.NewCustomer{Email: "ADA@example.com", Password: "another good one"})
	assert.Equal(t, storage.CodeEmailTaken, code(err))
	_, err = s.CreateCustomer(ctx, storage.NewCustomer{Email: "bob@example.com", Password: "short"})
	assert.Equal(t, storage.CodePasswordTooWeak, code(err))
	_, err = s.CreateCustomer(ctx, storage.NewCustomer{Email: "bob@example.com", Password: strings.Repeat("x", 257)})
	assert.Equal(t, storage.CodePasswordTooWeak, code(err))
	_, err = s.CreateCustomer(ctx, storage.NewCustomer{Email: "bob@example.com", Password: "BOB@example.com"})
	assert.Equal(t, storage.CodePasswordTooWeak, code(err))

	// Unknown email and wrong password: the same answer.
	_, errUnknown := s.SignIn(ctx, "nobody@example.com", "correct horse battery", time.Hour)
	_, errWrong := s.SignIn(ctx, "ada@example.com", "wrong horse battery", time.Hour)
	require.Error(t, errUnknown)
	assert.Equal(t, errUnknown.Error(), errWrong.Error())

	tok, err := s.SignIn(ctx, "ADA@example.com", "correct horse battery", time.Hour)
	require.NoError(t, err)
	assert.True(t, storage.IsCustomerToken(tok.Token))
	assert.GreaterOrEqual(t, len(tok.Token), 4+22) // >= 128 bits
	got, err := s.CustomerByToken(ctx, tok.Token)
	require.NoError(t, err)
	require.NotNil(t, got)
	assert.Equal(t, c.ID, got.ID)

	// The database never holds the token itself.
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM customer_tokens WHERE encode(token_hash, 'escape') LIKE '%' || $1 || '%' OR encode(token_hash, 'hex') = $1`, tok.Token))
	assert.Zero(t, n)
	require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM customer_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, tok.Token))
	assert.Equal(t, 1, n)

	// Expiry (the clock is the database's: the row is moved into the past).
	_, err = s.DB().Exec(`UPDATE customer_tokens SET expires_at = now() - interval '1 second'`)
	require.NoError(t, err)
	got, err = s.CustomerByToken(ctx, tok.Token)
	require.NoError(t, err)
	assert.Nil(t, got)
	reaped, err := s.ReapCustomerTokens(ctx, 100)
	require.NoError(t, err)
	assert.EqualValues(t, 1, reaped)

	// Revocation.
	tok, err = s.SignIn(ctx, "ada@example.com", "correct horse battery", time.Hour)
	require.NoError(t, err)
	ok, err := s.RevokeCustomerToken(ctx, tok.Token)
	require.NoError(t, err)
	assert.True(t, ok)
	got, err = s.CustomerByToken(ctx, tok.Token)
	require.NoError(t, err)
	assert.Nil(t, got)
}

func TestCustomerPasswordReset(t *testing.T) {
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	_, _ = mustCustomer(t, s, "ada@example.com")
	old, err := s.SignIn(ctx, "ada@example.com", "correct horse battery", time.Hour)
	require.NoError(t, err)
	// An endpoint subscribed to the topic receives the token.
	_, err = s.DB().Exec(`INSERT INTO webhook_endpoints (url, secret, topics) VALUES ('https://mailer.example.com/h', 'whsec_test_secret_0123456789', ARRAY['CUSTOMER_PASSWORD_RESET'])`)
	require.NoError(t, err)
	require.NoError(t, s.RecoverCustomer(ctx, "nobody@example.com"))
	require.NoError(t, s.RecoverCustomer(ctx, "ada@example.com"))
	var data string
	require.NoError(t, s.DB().Get(&data, `SELECT data->>'resetToken' FROM webhook_events WHERE topic = 'CUSTOMER_PASSWORD_RESET'`))
	var stored int
	require.NoError(t, s.DB().Get(&stored, `SELECT count(*) FROM customer_reset_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, data))
	assert.Equal(t, 1, stored)

	_, err = s.ResetPassword(ctx, data, "short", time.Hour)
	assert.Equal(t, storage.CodePasswordTooWeak, code(err))
	fresh, err := s.ResetPassword(ctx, data, "a brand new passphrase", time.Hour)
	require.NoError(t, err)
	_, err = s.ResetPassword(ctx, data, "a brand new passphrase", time.Hour)
	assert.Equal(t, storage.CodeResetTokenInvalid, code(err), "single use")
	gone, err := s.CustomerByToken(ctx, old.Token)
	require.NoError(t, err)
	assert.Nil(t, gone, "the reset revokes the other tokens")
	me, err := s.CustomerByToken(ctx, fresh.Token)
	require.NoError(t, err)
	require.NotNil(t, me)
	_, err = s.SignIn(ctx, "ada@example.com", "a brand new passphrase", time.Hour)
	require.NoError(t, err)
}

func TestCustomerCartOwner(t *testing.T) {
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "OWN-1", 10)
	_, ada := mustCustomer(t, s, "ada@example.com")
	_, bob := mustCustomer(t, s, "bob@example.com")
	anon := context.Background()
	cart, err := s.CreateCart(ada)
	require.NoError(t, err)
	require.NotNil(t, cart.CustomerID)

	for name, ctx := range map[string]context.Context{"anonymous": anon, "other customer": bob} {
		t.Run(name, func(t *testing.T) {
			c, err := s.CartByID(ctx, cart.ID)
			require.NoError(t, err)
			assert.Nil(t, c)
			_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: cart.ID, ProductID: p.ID, Quantity: 1})
			assert.Equal(t, storage.CodeCartNotFound, code(err))
			_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: cart.ID, ProductID: p.ID, Quantity: 1, AllowPartial: true})
			assert.Equal(t, storage.CodeCartNotFound, code(err))
			_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: cart.ID, ProductID: p.ID, Quantity: 1, IdempotencyKey: "k-" + name[:3]})
			assert.Equal(t, storage.CodeCartNotFound, code(err))
			_, err = s.UpdateCartLine(ctx, cart.ID, p.ID, 3, "")
			assert.Equal(t, storage.CodeCartNotFound, code(err))
			_, err = s.RemoveCartLine(ctx, cart.ID, p.ID, "")
			assert.Equal(t, storage.CodeCartNotFound, code(err))
			_, err = s.Checkout(ctx, cart.ID, "x@example.com", "")
			assert.Equal(t, storage.CodeCartNotFound, code(err))
			_, err = s.AttachCart(ctx, cart.ID)
			assert.Error(t, err)
		})
	}
	_, err = s.AddToCart(ada, storage.AddToCartParams{CartID: cart.ID, ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	o, err := s.Checkout(ada, cart.ID, "ada@example.com", "")
	require.NoError(t, err)
	require.NotNil(t, o.CustomerID)
	storagetest.AssertBooks(t, s)
}

func TestCustomerMerge(t *testing.T) {
	opts := storagetest.Options()
	opts.MaxLineQuantity = 5
	s, _ := storagetest.NewStore(t, opts)
	a := storagetest.MustProduct(t, s, "MRG-A", 100)
	b := storagetest.MustProduct(t, s, "MRG-B", 100)
	_, ada := mustCustomer(t, s, "ada@example.com")
	anon := context.Background()

	// No cart of their own: the guest cart becomes theirs.
	first := storagetest.MustCart(t, s)
	res, err := s.AttachCart(ada, first.ID)
	require.NoError(t, err)
	assert.Equal(t, first.ID, res.CartID)
	assert.Empty(t, res.Warnings)
	_, err = s.AddToCart(ada, storage.AddToCartParams{CartID: first.ID, ProductID: a.ID, Quantity: 3})
	require.NoError(t, err)

	guest := storagetest.MustCart(t, s)
	_, err = s.AddToCart(anon, storage.AddToCartParams{CartID: guest.ID, ProductID: a.ID, Quantity: 4})
	require.NoError(t, err)
	_, err = s.AddToCart(anon, storage.AddToCartParams{CartID: guest.ID, ProductID: b.ID, Quantity: 2})
	require.NoError(t, err)
	res, err = s.AttachCart(ada, guest.ID)
	require.NoError(t, err)
	assert.Equal(t, first.ID, res.CartID)
	require.Len(t, res.Warnings, 2)
	assert.Equal(t, storage.WarningCartMerged, res.Warnings[0].Code)
	assert.Equal(t, first.ID, res.Warnings[0].CartID)
	assert.Equal(t, storage.WarningMergeQuantityReduced, res.Warnings[1].Code)
	assert.Equal(t, 2, res.Warnings[1].Reserved) // 3 + 2 = the line cap of 5

	lines, err := s.CartLinesByCartIDs(anon, []string{first.ID, guest.ID})
	require.NoError(t, err)
	require.Len(t, lines[first.ID], 2)
	assert.Equal(t, 5, lines[first.ID][0].Quantity)
	assert.Equal(t, 2, lines[first.ID][1].Quantity)
	assert.Empty(t, lines[guest.ID])
	g, err := s.CartByID(anon, guest.ID)
	require.NoError(t, err)
	assert.Equal(t, storage.CartMerged, g.Status)
	_, err = s.AddToCart(anon, storage.AddToCartParams{CartID: guest.ID, ProductID: a.ID, Quantity: 1})
	assert.Equal(t, storage.CodeCartCheckedOut, code(err))
	pa, err := s.ProductByID(anon, a.ID)
	require.NoError(t, err)
	assert.Equal(t, 5, pa.Held, "the 2 units over the cap were released")
	storagetest.AssertBooks(t, s)
}

// Two customers attach the same guest cart while its shopper adds to it
// and, every other round, one of them checks out the cart it would merge
// into: its lines end in exactly one place, none lost or doubled.
func TestCustomerConcurrentAttach(t *testing.T) {
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "RACE-A", 1000)
	_, ada := mustCustomer(t, s, "ada@example.com")
	_, bob := mustCustomer(t, s, "bob@example.com")
	anon := context.Background()
	var granted atomic.Int64
	for round := 0; round < 10; round++ {
		mine := func(ctx context.Context) string {
			c, err := s.ActiveCart(ctx, storage.ViewerFrom(ctx))
			require.NoError(t, err)
			if c != nil {
				return c.ID
			}
			c, err = s.CreateCart(ctx)
			require.NoError(t, err)
			return c.ID
		}
		adaCart, bobCart := mine(ada), mine(bob)
		_, err := s.AddToCart(ada, storage.AddToCartParams{CartID: adaCart, ProductID: p.ID, Quantity: 1})
		require.NoError(t, err)
		_, err = s.AddToCart(bob, storage.AddToCartParams{CartID: bobCart, ProductID: p.ID, Quantity: 1})
		require.NoError(t, err)
		guest := storagetest.MustCart(t, s)
		_, err = s.AddToCart(anon, storage.AddToCartParams{CartID: guest.ID, ProductID: p.ID, Quantity: 2})
		require.NoError(t, err)
		granted.Add(4)
		var wins atomic.Int32
		together(
			func() {
				if _, err := s.AttachCart(ada, guest.ID); err == nil {
					wins.Add(1)
				}
			},
			func() {
				if _, err := s.AttachCart(bob, guest.ID); err == nil {
					wins.Add(1)
				}
			},
			func() {
				if _, err := s.AddToCart(anon, storage.AddToCartParams{CartID: guest.ID, ProductID: p.ID, Quantity: 1}); err == nil {
					granted.Add(1)
				}
			},
			func() {
				// Every other round, ada checks her cart out meanwhile.
				if round%2 == 1 {
					_, _ = s.Checkout(ada, adaCart, "ada@example.com", "")
				}
			},
		)
		assert.EqualValues(t, 1, wins.Load(), "exactly one attach wins")
		storagetest.AssertBooks(t, s)
		// No unit released by a merge (no cap is reached): every unit
		// granted is still held or was sold.
		now, err := s.ProductByID(anon, p.ID)
		require.NoError(t, err)
		assert.EqualValues(t, granted.Load(), (1000-now.Stock)+now.Held, "round %d", round)
	}
}

// One customer, several carts, many concurrent adds of a product limited
// to 2 per customer: exactly 2 held; the same after checkout and cancel.
func TestCustomerLimitRace(t *testing.T) {
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "DROP-1", 100)
	setLimit(t, s, p.ID, 2)
	cust, ada := mustCustomer(t, s, "ada@example.com")

	// A guest cannot add it.
	guest := storagetest.MustCart(t, s)
	_, err := s.AddToCart(context.Background(), storage.AddToCartParams{CartID: guest.ID, ProductID: p.ID, Quantity: 1})
	assert.Equal(t, storage.CodeCustomerRequired, code(err))

	carts := make([]string, 5)
	for i := range carts {
		c, err := s.CreateCart(ada)
		require.NoError(t, err)
		carts[i] = c.ID
	}
	race := func() int {
		var granted atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.AddToCart(ada, storage.AddToCartParams{CartID: carts[i%len(carts)], ProductID: p.ID, Quantity: 1, AllowPartial: i%3 == 0})
				if err == nil {
					granted.Add(1)
					return
				}
				var se *storage.Error
				if assert.ErrorAs(t, err, &se) {
					assert.Equal(t, storage.CodePerCustomerLimit, se.Code, se.Message)
					assert.Equal(t, 0, *se.Available)
				}
			}()
		}
		wg.Wait()
		return int(granted.Load())
	}
	assert.Equal(t, 2, race())
	storagetest.AssertBooks(t, s)

	// Check out the carts that hold it: the units stay counted.
	var orders []string
	for _, c := range carts {
		o, err := s.Checkout(ada, c, "ada@example.com", "")
		if code(err) == storage.CodeCartEmpty {
			continue
		}
		require.NoError(t, err)
		orders = append(orders, o.ID)
	}
	more, err := s.CreateCart(ada)
	require.NoError(t, err)
	carts = []string{more.ID}
	assert.Equal(t, 0, race())
	storagetest.AssertBooks(t, s)

	// Cancel one order: its units of allowance come back (1 or 2: the
	// race may have put both units in one cart).
	var back int
	require.NoError(t, s.DB().Get(&back, `SELECT sum(quantity) FROM order_lines WHERE order_id = $1`, orders[0]))
	_, err = s.CancelOrder(ada, orders[0])
	require.NoError(t, err)
	assert.Equal(t, back, race())
	storagetest.AssertBooks(t, s)

	// Removing the line gives it back; the reaper too.
	_, err = s.RemoveCartLine(ada, more.ID, p.ID, "")
	require.NoError(t, err)
	assert.Equal(t, back, race())
	expireSoon(t, s, more.ID, -time.Second)
	_, err = s.ReapExpired(ada, 100)
	require.NoError(t, err)
	fresh, err := s.CreateCart(ada)
	require.NoError(t, err)
	carts = []string{fresh.ID}
	assert.Equal(t, back, race())
	var used int
	require.NoError(t, s.DB().Get(&used, `SELECT used FROM customer_product_limits WHERE customer_id = $1 AND product_id = $2`, cust.ID, p.ID))
	assert.Equal(t, 2, used)
	storagetest.AssertBooks(t, s)
}

// A guest cart that held a product before it was limited merges into a
// customer's cart: the customer keeps what their allowance leaves, the
// rest is released.
func TestCustomerMergeOverLimit(t *testing.T) {
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "LATE-LIMIT", 50)
	_, ada := mustCustomer(t, s, "ada@example.com")
	anon := context.Background()
	guest := storagetest.MustCart(t, s)
	_, err := s.AddToCart(anon, storage.AddToCartParams{CartID: guest.ID, ProductID: p.ID, Quantity: 3})
	require.NoError(t, err)
	mine, err := s.CreateCart(ada)
	require.NoError(t, err)
	_, err = s.AddToCart(ada, storage.AddToCartParams{CartID: mine.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	setLimit(t, s, p.ID, 2) // recounts: ada holds 1
	storagetest.AssertBooks(t, s)
	// The guest may shrink but not grow its line.
	_, err = s.UpdateCartLine(anon, guest.ID, p.ID, 4, "")
	assert.Equal(t, storage.CodeCustomerRequired, code(err))

	res, err := s.AttachCart(ada, guest.ID)
	require.NoError(t, err)
	require.Len(t, res.Warnings, 2)
	assert.Equal(t, storage.WarningMergeQuantityReduced, res.Warnings[1].Code)
	assert.Equal(t, 1, res.Warnings[1].Reserved)
	lines, err := s.CartLinesByCartIDs(anon, []string{mine.ID})
	require.NoError(t, err)
	require.Len(t, lines[mine.ID], 1)
	assert.Equal(t, 2, lines[mine.ID][0].Quantity)
	got, err := s.ProductByID(anon, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, got.Held)
	storagetest.AssertBooks(t, s)

	// Removing the limit drops the counters; the books stay exact.
	_, err = s.UpdateProduct(anon, p.ID, storage.ProductUpdate{SetLimitPerCustomer: true})
	require.NoError(t, err)
	storagetest.AssertBooks(t, s)
}

// An unpaid order's units count until its payment expires.
func TestCustomerLimitPaymentExpiry(t *testing.T) {
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "PAY-LIM", 10)
	setLimit(t, s, p.ID, 1)
	_, ada := mustCustomer(t, s, "ada@example.com")
	c1, err := s.CreateCart(ada)
	require.NoError(t, err)
	_, err = s.AddToCart(ada, storage.AddToCartParams{CartID: c1.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	o, _, err := s.BeginCheckout(ada, storage.BeginCheckoutParams{CartID: c1.ID, Email: "ada@example.com", Provider: "manual", TTL: time.Hour})
	require.NoError(t, err)
	assert.NotNil(t, o.CustomerID)
	c2, err := s.CreateCart(ada)
	require.NoError(t, err)
	_, err = s.AddToCart(ada, storage.AddToCartParams{CartID: c2.ID, ProductID: p.ID, Quantity: 1})
	assert.Equal(t, storage.CodePerCustomerLimit, code(err), "the pending order counts")
	storagetest.AssertBooks(t, s)

	_, err = s.DB().Exec(`UPDATE payments SET due_at = now() - interval '1 second' WHERE order_id = $1`, o.ID)
	require.NoError(t, err)
	n, err := s.ReapPayments(ada, 10)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	_, err = s.AddToCart(ada, storage.AddToCartParams{CartID: c2.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err, "the expired order's unit came back")
	storagetest.AssertBooks(t, s)

	// Attaching one's own cart changes nothing.
	res, err := s.AttachCart(ada, c2.ID)
	require.NoError(t, err)
	assert.Equal(t, c2.ID, res.CartID)
	assert.Empty(t, res.Warnings)
}

// An abandoned checkout (the provider could not begin the payment) puts
// the lines back in the cart without counting them twice.
func TestCustomerLimitAbandonedCheckout(t *testing.T) {
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "ABANDON", 10)
	q := storagetest.MustProduct(t, s, "ABANDON-2", 10)
	setLimit(t, s, p.ID, 1)
	setLimit(t, s, q.ID, 2)
	_, ada := mustCustomer(t, s, "ada@example.com")
	c, err := s.CreateCart(ada)
	require.NoError(t, err)
	_, err = s.AddToCart(ada, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	_, err = s.AddToCart(ada, storage.AddToCartParams{CartID: c.ID, ProductID: q.ID, Quantity: 2})
	require.NoError(t, err)
	o, _, err := s.BeginCheckout(ada, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: "manual", TTL: time.Hour})
	require.NoError(t, err)
	storagetest.AssertBooks(t, s)
	done, err := s.AbandonCheckout(ada, o.ID)
	require.NoError(t, err)
	require.True(t, done)
	storagetest.AssertBooks(t, s)
}
