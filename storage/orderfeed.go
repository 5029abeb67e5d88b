package storage

import (
	"context"
	"time"

	"github.com/lib/pq"
)

// The orders feed: orders changed after a moment, in (updated_at, seq)
// order, so that a partner can resume from its last cursor.
//
// An order's updated_at is the now() of the transaction that last changed
// it, i.e. that transaction's start (a trigger sets it, migrations/00011);
// it becomes visible only at commit. A transaction that started early and
// commits late therefore shows up with an updated_at older than rows that
// committed before it: a reader that had already moved past that moment
// would skip it. The feed avoids this by serving only rows older than the
// horizon: the start of the oldest transaction still running in this
// database (pg_stat_activity.xact_start), less a safety lag. Every row a
// transaction will ever write has an updated_at no earlier than its start,
// so nothing can appear below the horizon later: a cursor below it is
// final. The horizon is read by its own statement before the rows are read
// (a transaction that ends in between is then visible to the read).
//
// The lag covers the instant between a transaction taking its start time
// and publishing it in pg_stat_activity. A transaction left idle holds the
// feed back (idle_in_transaction_session_timeout bounds that); transactions
// of other roles are not visible to a non-superuser and must not write
// orders.

// maxMicros is 9999-12-31T23:59:59.999999Z in microseconds since the epoch:
// the latest moment the API reads or writes (RFC 3339 has four-digit years).
const maxMicros = 253402300799999999

// ValidMicros reports whether a position in microseconds since the epoch,
// read from a client's cursor, is a moment the database holds: from the
// epoch (no order or product is older) to the end of year 9999.
func ValidMicros(us int64) bool { return us >= 0 && us <= maxMicros }

// validFeedTime: UpdatedAfter and cursors' moments between years 1 and 9999.
func validFeedTime(t time.Time) bool {
	return !t.Before(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) && t.UnixMicro() <= maxMicros
}

// FeedLag is how far below the oldest running transaction's start the
// orders feed stops.
const FeedLag = time.Second

// FeedCursor is a position in the orders feed: after the order with this
// updated_at and sequence number.
type FeedCursor struct {
	UpdatedAt time.Time
	Seq       int64
}

// OrderFeedParams select a page of the orders feed.
type OrderFeedParams struct {
	First int
	// After is the position to resume from (the last cursor), else the
	// feed starts after UpdatedAfter.
	After        *FeedCursor
	UpdatedAfter time.Time
	// Statuses keeps orders in these statuses only (none: all).
	Statuses []string
}

// feedHorizon is the moment below which no order can change any more.
func (s *Store) feedHorizon(ctx context.Context) (time.Time, error) {
	const q = `
		SELECT LEAST(statement_timestamp(),
		             (SELECT min(xact_start) FROM pg_stat_activity
		              WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL))
		       - $1 * interval '1 millisecond'`
	var h time.Time
	err := sqlxGet(ctx, s.pool(), &h, q, FeedLag.Milliseconds())
	return h, err
}

// OrderFeed returns up to First orders changed after the cursor (or after
// UpdatedAfter), oldest change first, and whether more are ready now.
func (s *Store) OrderFeed(ctx context.Context, in OrderFeedParams) ([]*Order, bool, error) {
	if in.After != nil && !validFeedTime(in.After.UpdatedAt) || !validFeedTime(in.UpdatedAfter) || in.First < 1 || in.First > MaxPageSize {
		return nil, false, ErrBadPage
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	horizon, err := s.feedHorizon(ctx)
	if err != nil {
		return nil, false, err
	}
	after := FeedCursor{UpdatedAt: in.UpdatedAfter}
	if in.After != nil {
		after = *in.After
	}
	const q = `
		SELECT ` + orderColumns + `
		FROM orders
		WHERE (updated_at, seq) > ($1, $2) AND updated_at < $3
		  AND (cardinality($4::text[]) = 0 OR status = ANY($4))
		ORDER BY updated_at, seq
		LIMIT $5`
	var os []*Order
	if err := sqlxSelect(ctx, s.pool(), &os, q, after.UpdatedAt, after.Seq, horizon, pq.Array(orEmptyStrings(in.Statuses)), in.First+1); err != nil {
		return nil, false, err
	}
	more := len(os) > in.First
	if more {
		os = os[:in.First]
	}
	return os, more, nil
}

func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ListOrdersWithStatus is ListOrders (newest first) keeping only orders in
// statuses (none: all).
func (s *Store) ListOrdersWithStatus(ctx context.Context, first int, before int64, statuses []string) ([]*Order, bool, error) {
	if len(statuses) == 0 {
		return s.ListOrders(ctx, first, before)
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT ` + orderColumns + `
		FROM orders
		WHERE ($1::bigint = 0 OR seq < $1) AND status = ANY($3)
		ORDER BY seq DESC
		LIMIT $2`
	var os []*Order
	if err := sqlxSelect(ctx, s.reader(), &os, q, before, first+1, pq.Array(statuses)); err != nil {
		return nil, false, err
	}
	more := len(os) > first
	if more {
		os = os[:first]
	}
	return os, more, nil
}
