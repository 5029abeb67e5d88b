package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// A connection PostgreSQL refuses, or one that broke, is the database
// being unavailable (SERVICE_UNAVAILABLE), never an internal error.
func TestTranslateRefusedConnection(t *testing.T) {
	t.Parallel()
	for _, code := range []pqerror.Code{
		pqerror.TooManyConnections, pqerror.CannotConnectNow, pqerror.AdminShutdown, pqerror.CrashShutdown,
		pqerror.ConnectionFailure, pqerror.SQLClientUnableToEstablishSQLConnection,
	} {
		t.Run(string(code), func(t *testing.T) {
			err := storage.Translate(fmt.Errorf("connect: %w", &pq.Error{Code: code, Message: "sorry, too many clients already"}))
			assert.ErrorIs(t, err, storage.ErrUnavailable)
		})
	}
	assert.NotErrorIs(t, storage.Translate(&pq.Error{Code: pqerror.TRSerializationFailure}), storage.ErrUnavailable)
}

// When PostgreSQL has no connection to give, a statement waits for one
// (DB_CONNECT_WAIT) and gets it as soon as one is free; when none frees up
// in time it fails with ErrUnavailable.
func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	u := storagetest.URL(t)
	conns := storagetest.LimitConnections(t, u, 3)
	opts := storagetest.Options()

	t.Run("gives up: unavailable", func(t *testing.T) {
		opts := opts
		opts.ConnectWait = 50 * time.Millisecond
		conns.WaitIdle()
		store, err := storage.Open(context.Background(), u, 2, opts)
		require.NoError(t, err)
		defer store.Close()
		release := conns.Occupy()
		defer release()
		// The read pool has no connection yet: it must open one.
		_, err = store.ProductsByIDs(context.Background(), []int64{1})
		require.ErrorIs(t, err, storage.ErrUnavailable)
		assert.NotErrorIs(t, err, context.DeadlineExceeded)
		assert.Positive(t, store.Stats().ConnectRefusals)
	})

	t.Run("refused for longer than the wait: tries once", func(t *testing.T) {
		opts := opts
		opts.ConnectWait = 50 * time.Millisecond
		conns.WaitIdle()
		store, err := storage.Open(context.Background(), u, 2, opts)
		require.NoError(t, err)
		defer store.Close()
		release := conns.Occupy()
		defer release()
		_, err = store.ProductsByIDs(context.Background(), []int64{1})
		require.ErrorIs(t, err, storage.ErrUnavailable)
		// Once the refusals began over 50 ms ago, the next request that
		// needs a connection tries once, and does not queue the others
		// behind a wait of its own.
		time.Sleep(opts.ConnectWait)
		before := store.Stats().ConnectRefusals
		_, err = store.ProductsByIDs(context.Background(), []int64{1})
		require.ErrorIs(t, err, storage.ErrUnavailable)
		assert.Equal(t, before+1, store.Stats().ConnectRefusals)
	})

	t.Run("a coalesced batch does not fall back", func(t *testing.T) {
		opts := opts
		opts.ConnectWait = 50 * time.Millisecond
		conns.WaitIdle()
		store, err := storage.Open(context.Background(), u, 2, opts)
		require.NoError(t, err)
		defer store.Close()
		p := storagetest.MustProduct(t, store, "BATCH-UNAVAILABLE", 10)
		var ins []storage.AddToCartParams
		for range 3 {
			ins = append(ins, storage.AddToCartParams{CartID: storagetest.MustCart(t, store).ID, ProductID: p.ID, Quantity: 1})
		}
		store.DB().SetMaxIdleConns(0) // the write pool keeps no connection
		release := conns.Occupy()
		defer release()
		_, errs := store.RunBatch(context.Background(), p.ID, ins)
		for _, err := range errs {
			require.ErrorIs(t, err, storage.ErrUnavailable)
		}
		// Not run again one by one: each would want a connection that
		// is not there, and a batch cut off in its commit may have
		// reserved already.
		assert.Zero(t, store.Stats().BatchFallbacks)
	})

	t.Run("waits: served once a connection is free", func(t *testing.T) {
		opts := opts
		opts.ConnectWait = time.Minute
		conns.WaitIdle()
		store, err := storage.Open(context.Background(), u, 2, opts)
		require.NoError(t, err)
		defer store.Close()
		release := conns.Occupy()
		defer release()
		done := make(chan error, 1)
		go func() {
			_, err := store.ProductsByIDs(context.Background(), []int64{1})
			done <- err
		}()
		// Refused at least once: it is waiting. Then free the slots.
		require.Eventually(t, func() bool { return store.Stats().ConnectRefusals > 0 }, 30*time.Second, 5*time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("finished while every connection was taken: %v", err)
		default:
		}
		release()
		require.NoError(t, <-done)
	})

	t.Run("the caller's deadline bounds the wait", func(t *testing.T) {
		opts := opts
		opts.ConnectWait = time.Hour
		conns.WaitIdle()
		store, err := storage.Open(context.Background(), u, 2, opts)
		require.NoError(t, err)
		defer store.Close()
		release := conns.Occupy()
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err = store.ProductsByIDs(ctx, []int64{1})
		require.ErrorIs(t, err, storage.ErrUnavailable, "answered before the deadline, as unavailable")
		assert.NotErrorIs(t, err, context.DeadlineExceeded)
	})
}
