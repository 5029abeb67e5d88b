package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// waitFor polls cond (a database or queue state the test waits for) until
// it holds; the deadline only turns a hang into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// lockWaiters counts backends of this database waiting for a lock while
// running query.
func lockWaiters(t *testing.T, s *storage.Store, query string) int {
	var n int
	require.NoError(t, s.DB().Get(&n, `
		SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND query = $1`, query))
	return n
}

// A batch takes its product row's lock before it binds its members: what
// queues while it waits for the lock (another replica's batch holds the row)
// joins it, and the row commits one batch instead of two.
func TestBatchJoinsWhileWaitingForTheRow(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "HOT", 100)

	// Another replica's transaction holds the product row.
	other, err := s.DB().BeginTxx(ctx, nil)
	require.NoError(t, err)
	defer other.Rollback() //nolint:errcheck // committed below
	_, err = other.ExecContext(ctx, `UPDATE products SET held = held WHERE id = $1`, p.ID)
	require.NoError(t, err)

	first := []storage.AddToCartParams{
		{CartID: storagetest.MustCart(t, s).ID, ProductID: p.ID, Quantity: 1},
		{CartID: storagetest.MustCart(t, s).ID, ProductID: p.ID, Quantity: 2},
	}
	before := s.Stats()
	wait := s.StartBatch(ctx, p.ID, first)
	waitFor(t, "the batch waits for the product row", func() bool { return lockWaiters(t, s, storage.LockProductSQL) == 1 })

	// Reservations that arrive meanwhile queue behind the batch...
	const late = 4
	var wg sync.WaitGroup
	lateRes := make([]storage.Reservation, late)
	lateErr := make([]error, late)
	for i := range late {
		cart := storagetest.MustCart(t, s)
		wg.Add(1)
		go func() {
			defer wg.Done()
			lateRes[i], lateErr[i] = s.AddToCart(ctx, storage.AddToCartParams{CartID: cart.ID, ProductID: p.ID, Quantity: 3})
		}()
	}
	waitFor(t, "the late reservations queue", func() bool { return s.Pending(p.ID) == late })

	// ...and join it once the row is free.
	require.NoError(t, other.Commit())
	res, errs := wait()
	wg.Wait()
	for i := range first {
		require.NoError(t, errs[i])
		assert.Equal(t, first[i].Quantity, res[i].Reserved)
	}
	for i := range late {
		require.NoError(t, lateErr[i])
		assert.Equal(t, 3, lateRes[i].Reserved)
	}
	after := s.Stats()
	assert.EqualValues(t, late, after.BatchJoins-before.BatchJoins, "every late reservation joined the waiting batch")
	assert.EqualValues(t, 1, after.Batches-before.Batches, "one batch served all six")
	books := storagetest.AssertBooks(t, s)
	assert.Equal(t, 1+2+late*3, books[0].Held)
}

// Holding the product row, a batch never waits for a cart: a cart locked by
// a transaction that may itself be waiting for the product row would
// deadlock the two. Its member is skipped, the others are served while the
// cart is still locked, and it is served alone once the cart is free.
func TestLockedBatchSkipsLockedCarts(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "HOT", 10)
	busy, free := storagetest.MustCart(t, s), storagetest.MustCart(t, s)

	tx, err := s.DB().BeginTxx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback() //nolint:errcheck // committed below
	_, err = tx.ExecContext(ctx, `SELECT 1 FROM carts WHERE id = $1 FOR UPDATE`, busy.ID)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // a deadlock fails, not hangs
	defer cancel()
	var freeRes storage.Reservation
	var freeErr error
	var busyErr error
	freeDone := make(chan struct{})
	busyDone := make(chan struct{})
	wait := s.StartBatch(ctx, p.ID, []storage.AddToCartParams{
		{CartID: busy.ID, ProductID: p.ID, Quantity: 2},
		{CartID: free.ID, ProductID: p.ID, Quantity: 3},
	})
	go func() {
		res, errs := wait()
		freeRes, freeErr, busyErr = res[1], errs[1], errs[0]
		close(busyDone)
	}()
	// The free cart's member is served while the busy cart stays locked: its
	// line is committed (read from another connection).
	waitFor(t, "the free cart's line is committed", func() bool {
		var n int
		require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM cart_lines WHERE cart_id = $1`, free.ID))
		return n == 1
	})
	close(freeDone)
	var busyLines int
	require.NoError(t, s.DB().Get(&busyLines, `SELECT count(*) FROM cart_lines WHERE cart_id = $1`, busy.ID))
	assert.Zero(t, busyLines, "the busy cart's member waits for its cart")

	require.NoError(t, tx.Commit())
	<-busyDone
	require.NoError(t, freeErr)
	assert.Equal(t, 3, freeRes.Reserved)
	require.NoError(t, busyErr, "served alone once its cart is free")
	books := storagetest.AssertBooks(t, s)
	assert.Equal(t, 5, books[0].Held)
}
