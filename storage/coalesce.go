package storage

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// Coalescing of concurrent reservations of one product.
//
// On a hot product every reservation must wait for the previous one to
// commit: the row lock, the WAL flush and the release come one after the
// other, so a flash sale's throughput collapses as clients pile up. Inside
// one process, reservations of the same product that arrive while one is in
// flight queue up and go together, as the next batch, in ONE statement: the
// product row is locked once, members are granted in arrival order (each
// all or nothing) against what is available, held moves by the batch total
// through a conditional UPDATE, and the members' cart lines are upserted
// (pre-aggregated per cart). A request that finds no reservation of its
// product in flight runs at once, alone: no added latency without
// contention.
//
// This is a throughput device, not the safety mechanism: each batch is one
// transaction under the same guards as a single reservation, so PostgreSQL
// stays the arbiter across any number of processes.

// DefaultMaxBatch bounds the members of one batch.
const DefaultMaxBatch = 128

// aloneFor is how long a product whose batch a per-customer limit refused
// is reserved for one request at a time (see coalescer.alone).
const aloneFor = 30 * time.Second

// Sentinels matching the per-customer refusals by code.
var (
	errPerCustomerLimit = &Error{Code: CodePerCustomerLimit}
	errCustomerRequired = &Error{Code: CodeCustomerRequired}
)

// coalescer queues concurrent all-or-nothing reservations per product and
// runs them as batches. It owns its queues and counters; the Store hands it
// the two ways to reserve (one request alone, a batch in one transaction)
// and reaches it through its coalescer field.
type coalescer struct {
	max     int
	timeout time.Duration // a batch's statement timeout
	// one reserves for one request on its own (Store.reserveOne).
	one func(ctx context.Context, in AddToCartParams) (Reservation, error)
	// batch reserves for a batch of one product in one transaction
	// (Store.batchLockFirst). Once it holds the product row it calls join,
	// which returns the members to bind: those it was started with and the
	// reservations that queued meanwhile.
	batch func(ctx context.Context, productID int64, join func() []*member) ([]batchRow, error)

	mu     sync.Mutex
	queues map[int64]*productQueue
	// alone holds, until the time given, products whose batches a
	// per-customer limit refused (migrations/00024): one member over its
	// customer's limit fails the whole batch, which then redoes every
	// member alone, so such a product's reservations go alone for a while.
	alone map[int64]time.Time

	batches   atomic.Int64 // multi-member batches that ran
	fallbacks atomic.Int64 // batches that fell back to one reservation per member
	joins     atomic.Int64 // reservations that joined a batch while it waited for its product row
}

type productQueue struct {
	pending []*member
}

type member struct {
	ctx  context.Context
	in   AddToCartParams
	done chan memberResult // buffered: the batch never blocks on a gone caller
}

type memberResult struct {
	res Reservation
	err error
}

func newCoalescer(max int, timeout time.Duration,
	one func(context.Context, AddToCartParams) (Reservation, error),
	batch func(context.Context, int64, func() []*member) ([]batchRow, error)) *coalescer {
	if max <= 0 {
		max = DefaultMaxBatch
	}
	return &coalescer{max: max, timeout: timeout, one: one, batch: batch, queues: map[int64]*productQueue{}, alone: map[int64]time.Time{}}
}

// reserve is AddToCart's entry point for all-or-nothing reservations.
func (s *Store) reserve(ctx context.Context, in AddToCartParams) (Reservation, error) {
	return s.coalescer.reserve(ctx, in)
}

// reserve runs the reservation at once if none of its product is in flight,
// or queues it for the product's next batch.
func (c *coalescer) reserve(ctx context.Context, in AddToCartParams) (Reservation, error) {
	c.mu.Lock()
	if until, ok := c.alone[in.ProductID]; ok {
		if time.Now().Before(until) {
			c.mu.Unlock()
			return c.one(ctx, in)
		}
		delete(c.alone, in.ProductID)
	}
	q, busy := c.queues[in.ProductID]
	if !busy {
		// Nothing in flight for this product: go now, alone.
		c.queues[in.ProductID] = &productQueue{}
		c.mu.Unlock()
		res, err := c.one(ctx, in)
		c.nextBatch(in.ProductID)
		return res, err
	}
	m := &member{ctx: ctx, in: in, done: make(chan memberResult, 1)}
	q.pending = append(q.pending, m)
	c.mu.Unlock()
	select {
	case r := <-m.done:
		return r.res, r.err
	case <-ctx.Done():
		// If the batch has not started, it will skip this member.
		return Reservation{Requested: in.Quantity}, ctx.Err()
	}
}

// nextBatch hands the product's queued requests, at most max of them, to a
// new batch, or marks the product idle when none are waiting.
func (c *coalescer) nextBatch(productID int64) {
	c.mu.Lock()
	q := c.queues[productID]
	if len(q.pending) == 0 {
		delete(c.queues, productID)
		c.mu.Unlock()
		return
	}
	n := min(len(q.pending), c.max)
	batch := append([]*member(nil), q.pending[:n]...)
	q.pending = append(q.pending[:0:0], q.pending[n:]...)
	c.mu.Unlock()
	go func() {
		c.runBatch(productID, batch)
		c.nextBatch(productID)
	}()
}

// runBatch reserves for every live member and delivers each its own result.
func (c *coalescer) runBatch(productID int64, batch []*member) {
	live := batch[:0]
	for _, m := range batch {
		if err := m.ctx.Err(); err != nil {
			m.done <- memberResult{Reservation{Requested: m.in.Quantity}, err}
			continue
		}
		live = append(live, m)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		m := live[0]
		res, err := c.one(m.ctx, m.in)
		m.done <- memberResult{res, err}
		return
	}
	// The batch serves many callers: one caller's cancellation must not
	// abort it for the others.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(live[0].ctx), c.timeout)
	defer cancel()
	rows, err := c.batch(ctx, productID, func() []*member {
		live = c.join(productID, live)
		return live
	})
	if errors.Is(err, ErrUnavailable) {
		// The database is out of reach: one reservation per member would
		// each ask for a connection that is not there, and had the
		// connection broken during the commit, the batch may have been
		// reserved already. Every member answers unavailable.
		for _, m := range live {
			m.done <- memberResult{Reservation{Requested: m.in.Quantity}, err}
		}
		return
	}
	if err != nil {
		// Fall back to one reservation per member.
		c.fallbacks.Add(1)
		if errors.Is(err, errPerCustomerLimit) || errors.Is(err, errCustomerRequired) {
			c.mu.Lock()
			if len(c.alone) < 10_000 {
				c.alone[productID] = time.Now().Add(aloneFor)
			}
			c.mu.Unlock()
		}
		var wg sync.WaitGroup
		for _, m := range live {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := c.one(m.ctx, m.in)
				m.done <- memberResult{res, err}
			}()
		}
		wg.Wait()
		return
	}
	c.batches.Add(1)
	var wg sync.WaitGroup
	for i, m := range live {
		r := rows[i]
		res := Reservation{Requested: m.in.Quantity}
		switch {
		case r.Granted:
			res.Reserved = m.in.Quantity
			res.Cart = r.cart()
			res.Lines = r.lines(m.in.CartID, int(r.LineCount.Int64))
			m.done <- memberResult{res, nil}
		case r.Eligible && r.Remaining.Valid && int(r.Remaining.Int64) < m.in.Quantity:
			m.done <- memberResult{res, insufficient(int(r.Remaining.Int64))}
		default:
			// Its cart or the product refused it: it goes alone, which
			// explains the refusal precisely (and serves it if the cause
			// is gone).
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := c.one(m.ctx, m.in)
				m.done <- memberResult{res, err}
			}()
		}
	}
	wg.Wait()
}

// join adds to live the reservations of the product queued since its batch
// was formed, as many as fit in the batch; those already cancelled get
// their error instead.
func (c *coalescer) join(productID int64, live []*member) []*member {
	for _, m := range c.takePending(productID, c.max-len(live)) {
		if err := m.ctx.Err(); err != nil {
			m.done <- memberResult{Reservation{Requested: m.in.Quantity}, err}
			continue
		}
		live = append(live, m)
		c.joins.Add(1)
	}
	return live
}

// takePending removes up to n queued reservations of a product (they then
// belong to the caller's batch).
func (c *coalescer) takePending(productID int64, n int) []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queues[productID]
	if q == nil || n <= 0 || len(q.pending) == 0 {
		return nil
	}
	n = min(n, len(q.pending))
	taken := append([]*member(nil), q.pending[:n]...)
	q.pending = append(q.pending[:0:0], q.pending[n:]...)
	return taken
}

type batchRow struct {
	Ord      int   `db:"ord"`
	Notified int64 `db:"notified"`
	nullableCart
	Granted   bool          `db:"granted"`
	Eligible  bool          `db:"eligible"`
	Remaining sql.NullInt64 `db:"remaining"`
	reservedLine
}

// batchSQL reserves for many members in one statement. Order matters as in
// addToCartSQL: the members' carts are locked first (ascending id, so
// batches never deadlock on each other), then the product row, once. The
// walk grants eligible members in arrival order, each all or nothing,
// against what the locked row has available; the conditional UPDATE
// re-checks the total against the row, and the line upserts and expiry
// bumps happen only if it succeeded. A member breaking a cap fails the
// statement (cart_cap_add, as in addToCartSQL); the batch then falls back to
// one reservation per member, which refuses just that member.
var batchSQL = `
	WITH RECURSIVE members AS (
		SELECT cart_id, qty, viewer, ord
		FROM unnest($2::text[], $3::integer[], $8::bigint[]) WITH ORDINALITY AS m(cart_id, qty, viewer, ord)
	), carts_locked AS (
		SELECT id, currency, customer_id
		FROM carts
		WHERE id = ANY($2) AND status = 'ACTIVE' AND expires_at > now()
		ORDER BY id
		FOR UPDATE
	), product AS (
		-- The count makes PostgreSQL lock carts_locked before this locks the product row.
		SELECT id, currency, stock - held AS available
		FROM products
		WHERE id = $1 AND (SELECT count(*) FROM carts_locked) >= 0
		FOR UPDATE
	), eligible AS (
		SELECT members.cart_id, members.qty, members.ord, row_number() OVER (ORDER BY members.ord) AS n
		FROM members
		-- A customer's cart is eligible only for its customer's requests.
		JOIN carts_locked c ON c.id = members.cart_id AND (c.customer_id IS NULL OR c.customer_id = members.viewer)
		CROSS JOIN product
		WHERE c.currency IS NULL OR c.currency = product.currency
	), walk (n, ord, cart_id, qty, remaining, take) AS (
		-- Arrival order, each member all or nothing: a member that does not
		-- fit is refused and the walk goes on with what is left.
		SELECT 0::bigint, 0::bigint, ''::text, 0, (SELECT available FROM product), false
		UNION ALL
		SELECT e.n, e.ord, e.cart_id, e.qty,
		       CASE WHEN e.qty <= w.remaining THEN w.remaining - e.qty ELSE w.remaining END,
		       e.qty <= w.remaining
		FROM walk w
		JOIN eligible e ON e.n = w.n + 1
	), granted AS (
		SELECT cart_id, qty, ord FROM walk WHERE take
	), total AS (
		SELECT COALESCE(sum(qty), 0)::integer AS n FROM granted
	), reserved AS (
		UPDATE products
		SET held = held + total.n, updated_at = now()
		FROM total
		WHERE products.id = $1 AND total.n > 0 AND stock - held >= total.n
		RETURNING products.id, ` + productJSON("products") + ` AS product_json
	), granted_per_cart AS (
		SELECT cart_id, sum(qty)::integer AS qty
		FROM granted
		WHERE EXISTS (SELECT 1 FROM reserved)
		GROUP BY cart_id
	), line AS (
		INSERT INTO cart_lines (cart_id, product_id, quantity, currency)
		SELECT cart_id, $1, cart_cap_add(0, qty, $5), (SELECT currency FROM product) FROM granted_per_cart
		ON CONFLICT (cart_id, product_id)
		DO UPDATE SET quantity = cart_cap_add(cart_lines.quantity, EXCLUDED.quantity, $5),
			currency = EXCLUDED.currency, updated_at = now()
		RETURNING cart_id, quantity
	), carts_touched AS (
		UPDATE carts
		SET updated_at = now(), expires_at = now() + $4 * interval '1 millisecond',
		    currency = (SELECT currency FROM product),
		    total_quantity = cart_cap_add(carts.total_quantity, g.qty, $6),
		    -- A line holding exactly the grant is new: an existing one held at least a unit more.
		    line_count = cart_cap_add(carts.line_count, (line.quantity = g.qty)::integer, $7)
		FROM granted_per_cart g
		JOIN line ON line.cart_id = g.cart_id
		WHERE carts.id = g.cart_id
		RETURNING carts.id, carts.status, carts.created_at, carts.updated_at, carts.expires_at, carts.line_count
	), notify_cart AS (
		-- The product's watchers are notified by the products_notify_stock trigger.
		SELECT pg_notify('holdfast_cart', w.id)
		FROM carts_touched t
		JOIN watches w ON w.channel = 'holdfast_cart' AND w.id = t.id AND w.until > now()
	)
	-- One row per member, in order. notified reads notify_cart: PostgreSQL
	-- runs a SELECT CTE only if the query reads it.
	SELECT members.ord, t.*,
	       (SELECT count(*) FROM notify_cart) AS notified,
	       (g.ord IS NOT NULL AND EXISTS (SELECT 1 FROM reserved)) AS granted,
	       (e.ord IS NOT NULL) AS eligible,
	       (SELECT available FROM product) - CASE WHEN EXISTS (SELECT 1 FROM reserved) THEN (SELECT n FROM total) ELSE 0 END AS remaining,
	       -- As in addToCartSQL: enough to render a cart whose only line this is.
	       (SELECT product_json FROM reserved) AS product_json, l.quantity AS line_quantity
	FROM members
	LEFT JOIN eligible e ON e.ord = members.ord
	LEFT JOIN granted g ON g.ord = members.ord
	LEFT JOIN carts_touched t ON t.id = g.cart_id
	LEFT JOIN line l ON l.cart_id = t.id
	ORDER BY members.ord`

// lockProductSQL takes the product row's lock ahead of the batch (see
// batchLockFirst).
const lockProductSQL = `SELECT 1 FROM products WHERE id = $1 FOR UPDATE`

// batchLockedSQL is batchSQL for a transaction that already holds the
// product row: it must not wait for a cart (another transaction may hold
// the cart and wait for our product row), so carts locked elsewhere are
// skipped, and their members go alone after the batch commits (runBatch's
// default case), which waits for the cart the usual way round.
var batchLockedSQL = strings.Replace(batchSQL, "ORDER BY id\n\t\tFOR UPDATE\n", "ORDER BY id\n\t\tFOR UPDATE SKIP LOCKED\n", 1)

// batchLockFirst runs a batch in a transaction that first takes the product
// row's lock and only then binds the batch: every reservation of the
// product that queued while the lock was being waited for joins it.
//
// Behind a load balancer each replica coalesces its own share of the
// requests, and their batches take turns on the row. Sent as one
// statement, a batch's members are fixed when it is sent and it waits in
// PostgreSQL's lock queue while its replica's next requests pile up behind
// it; the row then commits many small batches, one WAL flush each. Bound
// after the lock, a batch carries what arrived during the wait, so the row
// commits fewer, larger batches. Without contention the lock is granted at
// once and the batch is what it would have been, one round trip later.
// join (see coalescer.batch) gives the members once the lock is held; the
// rows answer them in order.
func (s *Store) batchLockFirst(ctx context.Context, productID int64, join func() []*member) ([]batchRow, error) {
	var rows []batchRow
	var live []*member
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := s.execIn(ctx, tx, lockProductSQL, productID); err != nil {
			return err
		}
		live = join()
		carts := make([]string, len(live))
		qtys := make([]int64, len(live))
		viewers := make([]int64, len(live))
		for i, m := range live {
			carts[i] = m.in.CartID
			qtys[i] = int64(m.in.Quantity)
			viewers[i] = viewerArg(m.ctx)
		}
		rows = rows[:0]
		return s.selectIn(ctx, tx, &rows, batchLockedSQL, productID, pq.Array(carts), pq.Array(qtys), s.opts.HoldTTL.Milliseconds(),
			s.opts.MaxLineQuantity, s.opts.MaxCartQuantity, s.opts.MaxCartLines, pq.Array(viewers))
	})
	if err == nil && len(rows) != len(live) {
		err = errBatchShape
	}
	return rows, err
}

var errBatchShape = errors.New("storage: batch answered with the wrong number of rows")

// BatchStats reports how many multi-member batches ran and how many fell
// back to per-request reservations.
func (s *Store) BatchStats() (batches, fallbacks int64) {
	return s.coalescer.batches.Load(), s.coalescer.fallbacks.Load()
}
