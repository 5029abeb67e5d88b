package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// A request that needs a new connection while PostgreSQL refuses them
// (max_connections reached, the server starting up or shutting down, nothing
// listening) waits for one: the pool's connector tries again with a short
// jittered backoff for up to Options.ConnectWait, but never past the
// request's deadline less connectReserve, so that it still has time to
// answer SERVICE_UNAVAILABLE (and not TIMEOUT). Meanwhile a connection its
// own pool frees is handed to the requests queued behind it, as database/sql
// always does. Only the connection is retried, never a statement: a refused
// connection has sent nothing, so this is safe for any work.
const (
	connectReserve    = 250 * time.Millisecond
	connectBackoffMin = 5 * time.Millisecond
	connectBackoffMax = 250 * time.Millisecond
)

// refusedConnect reports whether err is a connection attempt refused before
// any statement was sent: too many clients (SQLSTATE 53300, also a
// database's or role's CONNECTION LIMIT), the server starting up or
// shutting down (57P03), or nothing listening (ECONNREFUSED).
func refusedConnect(err error) bool {
	return pq.As(err, pqerror.TooManyConnections, pqerror.CannotConnectNow) != nil ||
		errors.Is(err, syscall.ECONNREFUSED)
}

// refusalState is what a Store's pools know of PostgreSQL refusing them.
type refusalState struct {
	// count counts refused connection attempts.
	count atomic.Int64
	// since is when the current run of refusals began (unix nanoseconds;
	// 0: the last attempt succeeded).
	since atomic.Int64
}

// patientConnector opens a pool's connections, waiting out refusals.
type patientConnector struct {
	driver.Connector
	wait    time.Duration
	refused *refusalState
}

// Connect opens a connection, trying again while PostgreSQL refuses, until
// wait has passed since this attempt began, or since the refusals began:
// once the database has refused for longer than that, every attempt tries
// once and fails, so the requests queued in the pool behind the attempts
// (database/sql hands each failure to one of them) answer at once instead
// of each waiting in turn into its deadline.
func (c *patientConnector) Connect(ctx context.Context) (driver.Conn, error) {
	now := time.Now()
	giveUp := now.Add(c.wait)
	if since := c.refused.since.Load(); since != 0 && time.Unix(0, since).Add(c.wait).Before(giveUp) {
		giveUp = time.Unix(0, since).Add(c.wait)
	}
	if d, ok := ctx.Deadline(); ok && d.Add(-connectReserve).Before(giveUp) {
		giveUp = d.Add(-connectReserve)
	}
	backoff := connectBackoffMin
	var refused error
	for {
		conn, err := c.Connector.Connect(ctx)
		switch {
		case err == nil:
			c.refused.since.Store(0)
			return conn, nil
		case refusedConnect(err):
			refused = err
			c.refused.count.Add(1)
			c.refused.since.CompareAndSwap(0, time.Now().UnixNano())
		case refused != nil && ctx.Err() != nil:
			// The deadline ran out while trying again: the cause is
			// still the refusal.
			return nil, refused
		default:
			return nil, err
		}
		sleep := backoff/2 + rand.N(backoff/2+1)
		if time.Now().Add(sleep).After(giveUp) {
			return nil, refused
		}
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, refused
		case <-t.C:
		}
		backoff = min(2*backoff, connectBackoffMax)
	}
}

// openPool opens a pool of at most n connections to url whose connector
// waits out refusals for up to wait, recording them in refused.
func openPool(url string, n int, wait time.Duration, refused *refusalState) (*sqlx.DB, error) {
	base, err := pq.NewConnector(url)
	if err != nil {
		return nil, fmt.Errorf("storage: open: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(&patientConnector{Connector: base, wait: wait, refused: refused}), "postgres")
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}
