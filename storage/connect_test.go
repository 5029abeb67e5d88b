package storage_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
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

// limitConnections caps how many connections the (non-superuser) test role
// may have to the database at u, as a full max_connections would: a
// connection over it is refused with SQLSTATE 53300. quiet waits until the
// database has no backends left (a closed connection's backend exits a
// moment after the client closed it).
func limitConnections(t *testing.T, u string, limit int) (quiet func()) {
	t.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = storagetest.DefaultURL
	}
	db, err := sql.Open("postgres", admin)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	name := parsed.Path[1:]
	_, err = db.Exec(fmt.Sprintf(`ALTER DATABASE %s CONNECTION LIMIT %d`, pq.QuoteIdentifier(name), limit))
	require.NoError(t, err)
	return func() {
		require.Eventually(t, func() bool {
			var n int
			return db.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1`, name).Scan(&n) == nil && n == 0
		}, 30*time.Second, 5*time.Millisecond, "backends of %s linger", name)
	}
}

// occupy opens connections to u until PostgreSQL refuses one, and keeps
// them until release is called (or t ends): every slot is then taken.
func occupy(t *testing.T, u string) (release func()) {
	t.Helper()
	db, err := sql.Open("postgres", u)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	var held []*sql.Conn
	for {
		c, err := db.Conn(context.Background())
		if err != nil {
			require.NotNil(t, pq.As(err, pqerror.TooManyConnections), "want too many connections, got %v", err)
			break
		}
		require.NoError(t, c.PingContext(context.Background()))
		held = append(held, c)
		require.Less(t, len(held), 100, "the connection limit is not in force")
	}
	return func() {
		for _, c := range held {
			c.Close()
		}
		db.Close()
	}
}

// When PostgreSQL has no connection to give, a statement waits for one
// (DB_CONNECT_WAIT) and gets it as soon as one is free; when none frees up
// in time it fails with ErrUnavailable.
func TestConnectionRefused(t *testing.T) {
	t.Parallel()
	u := storagetest.URL(t)
	quiet := limitConnections(t, u, 3)
	opts := storagetest.Options()

	t.Run("gives up: unavailable", func(t *testing.T) {
		opts := opts
		opts.ConnectWait = 50 * time.Millisecond
		quiet()
		store, err := storage.Open(context.Background(), u, 2, opts)
		require.NoError(t, err)
		defer store.Close()
		release := occupy(t, u)
		defer release()
		// The read pool has no connection yet: it must open one.
		_, err = store.ProductsByIDs(context.Background(), []int64{1})
		require.ErrorIs(t, err, storage.ErrUnavailable)
		assert.NotErrorIs(t, err, context.DeadlineExceeded)
		assert.Positive(t, store.Stats().ConnectRefusals)
	})

	t.Run("waits: served once a connection is free", func(t *testing.T) {
		opts := opts
		opts.ConnectWait = time.Minute
		quiet()
		store, err := storage.Open(context.Background(), u, 2, opts)
		require.NoError(t, err)
		defer store.Close()
		release := occupy(t, u)
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
		quiet()
		store, err := storage.Open(context.Background(), u, 2, opts)
		require.NoError(t, err)
		defer store.Close()
		release := occupy(t, u)
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_, err = store.ProductsByIDs(ctx, []int64{1})
		require.ErrorIs(t, err, storage.ErrUnavailable, "answered before the deadline, as unavailable")
		assert.False(t, errors.Is(err, context.DeadlineExceeded))
	})
}
