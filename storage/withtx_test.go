package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// bounded is the store options' tiny QueryTimeout; patience only turns a
// statement that would hang into a failure, with room to spare.
const (
	bounded  = 100 * time.Millisecond
	patience = 20 * time.Second
)

// lockProduct takes product id's row lock on a connection of its own and
// holds it until the test ends.
func lockProduct(t *testing.T, s *storage.Store, id int64) {
	t.Helper()
	lock, err := s.DB().Beginx()
	require.NoError(t, err)
	t.Cleanup(func() { _ = lock.Rollback() })
	_, err = lock.Exec(`SELECT 1 FROM products WHERE id = $1 FOR UPDATE`, id)
	require.NoError(t, err)
}

// impatient opens another Store on u whose QueryTimeout is bounded, with a
// connection already open (opened without a deadline, so a slow machine
// cannot turn the test's timeout into a connection failure).
func impatient(t *testing.T, u string) *storage.Store {
	t.Helper()
	opts := storagetest.Options()
	opts.QueryTimeout = bounded
	s := storagetest.OpenStore(t, u, opts)
	require.NoError(t, s.DB().Ping())
	return s
}

// within runs fn and fails the test if it has not returned after patience.
func within(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(patience):
		t.Fatalf("still blocked after %v (QueryTimeout %v)", patience, bounded)
		return nil
	}
}

// The reaper's transaction, blocked on a product row another connection
// holds (its context has no deadline, as RunReaper's has none), ends at the
// store's QueryTimeout with a deadline error, and changes nothing.
func TestReaperStopsAtQueryTimeout(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "REAP-LOCK", 5)
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	_, err = s.DB().Exec(`UPDATE carts SET expires_at = now() - interval '1 second' WHERE id = $1`, c.ID)
	require.NoError(t, err)
	reaper := impatient(t, u)
	lockProduct(t, s, p.ID)
	before := storagetest.Snapshot(t, s.DB())

	err = within(t, func() error {
		_, err := reaper.ReapExpired(context.Background(), storage.ReaperBatch)
		return err
	})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))
}

// WithTx bounds its statements by the store's QueryTimeout, whether the
// caller's context has no deadline or a later one: a statement blocked on a
// row lock another connection holds ends with a deadline error, retried
// never, and the closure's context carries that deadline.
func TestWithTxStopsAtQueryTimeout(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "TX-LOCK", 5)
	tight := impatient(t, u)
	lockProduct(t, s, p.ID)
	later, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	for name, ctx := range map[string]context.Context{"no deadline": context.Background(), "a later deadline": later} {
		t.Run(name, func(t *testing.T) {
			runs := 0
			err := within(t, func() error {
				return tight.WithTx(ctx, func(ctx context.Context, tx *storage.Tx) error {
					runs++
					dl, ok := ctx.Deadline()
					if !ok || time.Until(dl) > bounded {
						return fmt.Errorf("the transaction's deadline is %v (%v), not within %v", dl, ok, bounded)
					}
					return storage.ExecIn(ctx, tx, `UPDATE products SET name = name WHERE id = $1`, p.ID)
				})
			})
			require.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, 1, runs, "a timeout is not retried")
		})
	}
}
