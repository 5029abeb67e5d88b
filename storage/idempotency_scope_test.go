package storage_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// TestIdempotencyKeyScopes: one key is a cart's (on each cart), the admin
// mutations' and createCart's without colliding: each applies once and
// replays its own answer. Within the admin scope it is one mutation's
// (docs/api.md).
func TestIdempotencyKeyScopes(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	const key = "shared:5f0c7a3e-8d1b-4f7e-9c2a-1b3d5e7f9a0b"
	p := storagetest.MustProduct(t, s, "SCOPES", 10)

	cartA, err := s.CreateCartKeyed(ctx, key)
	require.NoError(t, err)
	cartB := storagetest.MustCart(t, s)
	for _, c := range []struct {
		id  string
		qty int
	}{{cartA.ID, 1}, {cartB.ID, 2}, {cartA.ID, 1}, {cartB.ID, 2}} {
		res, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.id, ProductID: p.ID, Quantity: c.qty, IdempotencyKey: key})
		require.NoError(t, err)
		assert.Equal(t, c.qty, res.Reserved)
	}
	adjusted, err := s.AdjustStockKeyed(ctx, p.ID, 5, "delivery", key)
	require.NoError(t, err)
	assert.Equal(t, 15, adjusted.Stock)
	again, err := s.AdjustStockKeyed(ctx, p.ID, 5, "delivery", key)
	require.NoError(t, err)
	assert.Equal(t, adjusted, again)
	cart, err := s.CreateCartKeyed(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, cartA.ID, cart.ID)

	_, err = s.CreateProduct(ctx, storage.NewProduct{SKU: "SCOPES-2", Name: "Other", PriceAmount: "1.00", Currency: "USD", IdempotencyKey: key})
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeIdempotencyKeyReused}, "admin mutations share one scope")

	cur, err := s.ProductByID(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 15, cur.Stock)
	assert.Equal(t, 3, cur.Held, "each cart reserved once")
	var rows []string
	require.NoError(t, s.DB().Select(&rows, `SELECT scope || ' ' || coalesce(cart_id, '-') FROM idempotency_keys WHERE key = $1 ORDER BY 1`, key))
	assert.ElementsMatch(t, []string{"admin -", "cart " + cartA.ID, "cart " + cartB.ID, "createCart -"}, rows)
	storagetest.AssertBooks(t, s)
}

// TestKeyedCartClaimsDoNotDeadlock: two keyed mutations of one cart, the
// second claiming its key while the first holds its claim, then each
// locking the cart for its change, both commit. The record's foreign key
// to the cart takes a KEY SHARE lock on the cart row: were the second
// claim to take it beside the first's, each would then wait for the
// other's to lock the cart FOR UPDATE (a deadlock, 40P01). A cart claim
// locks the cart, so the second waits for the first instead.
func TestKeyedCartClaimsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	cart := storagetest.MustCart(t, s)
	const lock = `SELECT 1 FROM carts WHERE id = $1 FOR UPDATE`

	first, err := s.DB().BeginTxx(ctx, nil)
	require.NoError(t, err)
	defer first.Rollback() //nolint:errcheck // committed below
	require.NoError(t, storage.ClaimCartKey(ctx, first, cart.ID, "k1"))

	second := make(chan error, 1)
	go func() {
		second <- func() error {
			tx, err := s.DB().BeginTxx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback() //nolint:errcheck // committed below
			if err := storage.ClaimCartKey(ctx, tx, cart.ID, "k2"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, lock, cart.ID); err != nil {
				return err
			}
			return tx.Commit()
		}()
	}()
	waitFor(t, "the second mutation waits for the first", func() bool {
		var n int
		require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`))
		return n == 1
	})
	_, err = first.ExecContext(ctx, lock, cart.ID)
	require.NoError(t, err)
	require.NoError(t, first.Commit())
	require.NoError(t, <-second)

	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM idempotency_keys WHERE cart_id = $1`, cart.ID))
	assert.Equal(t, 2, n)
}
