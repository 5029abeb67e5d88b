// Package storage owns every SQL statement and transaction of Holdfast.
//
// Callers see domain types and sentinel errors only: lib/pq errors are
// translated here, at the boundary (translate in errors.go), so nothing
// above this package needs to know SQLSTATE codes (and no SQL text can leak
// to a client by accident).
package storage

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
)

// Options tune a Store. The settings named after an environment variable
// have their defaults in package config, and a Store needs them all: the
// server passes them (storageOptions in package main), tests take
// storagetest.Options. QueryTimeout and MaxBatch are the store's own.
type Options struct {
	// HoldTTL is how long a cart's holds live after its last successful
	// mutation (HOLD_TTL).
	HoldTTL time.Duration
	// DefaultCurrency prices an empty cart (DEFAULT_CURRENCY).
	DefaultCurrency string
	// QueryTimeout bounds every statement that runs without a caller
	// deadline, and every transaction (WithTx), whatever the caller's.
	QueryTimeout time.Duration
	// SearchTimeout is the statement_timeout of the statements of a
	// catalog search (SEARCH_STATEMENT_TIMEOUT): past it the
	// database stops the search and it fails with ErrSearchTimeout.
	SearchTimeout time.Duration
	// IdempotencyTTL is how long an idempotency key is remembered
	// (IDEMPOTENCY_TTL).
	IdempotencyTTL time.Duration
	// Anti-hoarding caps: units per line, units per cart, lines per cart
	// (MAX_LINE_QUANTITY, MAX_CART_QUANTITY, MAX_CART_LINES).
	MaxLineQuantity, MaxCartQuantity, MaxCartLines int
	// ReadMaxConns sizes the read pool (DB_READ_MAX_CONNS; 0: half the
	// write pool's size):
	// the reads that render answers (cart lines, products, pages) have
	// connections of their own, so they never queue behind reservations
	// waiting for the write pool.
	ReadMaxConns int
	// ConnectWait is how long a statement that needs a new connection
	// waits out PostgreSQL refusing one (too many clients, starting up, not
	// listening) before it fails with ErrUnavailable (DB_CONNECT_WAIT; 0:
	// no waiting). It never waits past the caller's deadline.
	ConnectWait time.Duration
	// NoPrepare sends the hot statements unprepared (DB_PREPARE=false), for
	// a pooler in transaction mode (PgBouncer before 1.21 has no
	// protocol-level prepared statements).
	NoPrepare bool
	// MaxBatch bounds how many concurrent reservations of one product are
	// coalesced into one statement (default DefaultMaxBatch); 1 disables
	// coalescing.
	MaxBatch int
	// AllocationStrategy orders the locations a sold order's units are
	// taken from (ALLOCATION_STRATEGY): AllocatePriority or
	// AllocateMostStock.
	AllocationStrategy string
}

// setDefaults fills what no setting configures. The settings themselves
// have their defaults in package config; a Store made without them is a
// programming error.
func (o *Options) setDefaults() {
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = 10 * time.Second
	}
	if o.HoldTTL <= 0 || o.DefaultCurrency == "" || o.IdempotencyTTL <= 0 || o.SearchTimeout <= 0 ||
		o.MaxLineQuantity <= 0 || o.MaxCartQuantity <= 0 || o.MaxCartLines <= 0 || !ValidAllocationStrategy(o.AllocationStrategy) {
		panic("storage: Options lack settings: the server's wiring passes them, tests take storagetest.Options")
	}
}

// Store is Holdfast's data layer over PostgreSQL: a pool for writes and the
// transactions, and a read pool for the reads that render answers.
type Store struct {
	db            *sqlx.DB
	reads         *sqlx.DB // == db when the Store was made with New
	opts          Options
	queries       atomic.Int64
	coalescer     *coalescer
	stmts         sync.Map // query text -> *sqlx.Stmt
	readStmts     sync.Map // query text -> *sqlx.Stmt on the read pool (hotReader)
	preparing     sync.Map // query text -> struct{}: a background prepare started (txPrepared)
	cartsExpired  atomic.Int64
	unitsReleased atomic.Int64
	checkouts     atomic.Int64
	unitsSold     atomic.Int64
	salesCents    atomic.Int64
	refused       *refusalState // connections PostgreSQL refused (both pools)
}

// Stats are running totals for metrics.
type Stats struct {
	Batches, BatchFallbacks          int64
	BatchJoins                       int64 // reservations that joined a batch while it waited for its product row
	CartsExpired, UnitsReleased      int64
	Checkouts, UnitsSold, SalesCents int64
	// ConnectRefusals counts connection attempts PostgreSQL refused (too
	// many clients, starting up, not listening) that the pools waited out
	// or gave up on (Options.ConnectWait).
	ConnectRefusals int64
}

// Stats reads the running totals.
func (s *Store) Stats() Stats {
	return Stats{
		Batches: s.coalescer.batches.Load(), BatchFallbacks: s.coalescer.fallbacks.Load(), BatchJoins: s.coalescer.joins.Load(),
		CartsExpired: s.cartsExpired.Load(), UnitsReleased: s.unitsReleased.Load(),
		Checkouts: s.checkouts.Load(), UnitsSold: s.unitsSold.Load(), SalesCents: s.salesCents.Load(),
		ConnectRefusals: s.refused.count.Load(),
	}
}

// Open connects to url and checks the connection. It opens two pools:
// maxConns connections for writes and transactions, and Options.ReadMaxConns
// for the reads that render answers.
func Open(ctx context.Context, url string, maxConns int, opts Options) (*Store, error) {
	if maxConns <= 0 {
		return nil, fmt.Errorf("storage: open: a pool of %d connections", maxConns)
	}
	refused := new(refusalState)
	db, err := openPool(url, maxConns, opts.ConnectWait, refused)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("storage: ping: %w", err)
	}
	reads, err := openPool(url, ReadPoolSize(maxConns, opts.ReadMaxConns), opts.ConnectWait, refused)
	if err != nil {
		db.Close()
		return nil, err
	}
	s := New(db, opts)
	s.reads = reads
	s.refused = refused
	return s, nil
}

// ReadPoolSize is the size of the read pool Open opens: readMaxConns, or
// half the write pool's size when that is 0.
func ReadPoolSize(maxConns, readMaxConns int) int {
	if readMaxConns > 0 {
		return readMaxConns
	}
	return max(maxConns/2, 1)
}

// New wraps an open pool.
func New(db *sqlx.DB, opts Options) *Store {
	opts.setDefaults()
	s := &Store{db: db, reads: db, opts: opts, refused: new(refusalState)}
	s.coalescer = newCoalescer(opts.MaxBatch, opts.QueryTimeout, s.reserveOne, s.batchLockFirst)
	return s
}

// DB exposes the pool (for migrations, health checks and tests).
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the prepared statements and the pool.
func (s *Store) Close() error {
	for _, m := range []*sync.Map{&s.stmts, &s.readStmts} {
		m.Range(func(_, st any) bool {
			st.(*sqlx.Stmt).Close()
			return true
		})
	}
	if s.reads != s.db {
		s.reads.Close()
	}
	return s.db.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// QueryCount is the number of statements this Store has sent; tests use it
// to prove that reads cost a constant number of queries.
func (s *Store) QueryCount() int64 { return s.queries.Load() }

// queryer is what the statement helpers run on: the pool or a transaction.
type queryer interface {
	sqlx.ExtContext
}

// counted wraps a queryer and counts statements.
type counted struct {
	queryer
	n *atomic.Int64
}

func (c counted) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	c.n.Add(1)
	return c.queryer.QueryContext(ctx, q, args...)
}

func (c counted) QueryxContext(ctx context.Context, q string, args ...any) (*sqlx.Rows, error) {
	c.n.Add(1)
	return c.queryer.QueryxContext(ctx, q, args...)
}

func (c counted) QueryRowxContext(ctx context.Context, q string, args ...any) *sqlx.Row {
	c.n.Add(1)
	return c.queryer.QueryRowxContext(ctx, q, args...)
}

func (c counted) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	c.n.Add(1)
	return c.queryer.ExecContext(ctx, q, args...)
}

// pool returns the counted pool for single statements outside a transaction.
func (s *Store) pool() queryer { return counted{s.db, &s.queries} }

// reader is the read pool, for reads that render answers (never inside a
// transaction, never before a write that depends on them).
func (s *Store) reader() queryer { return counted{s.reads, &s.queries} }

// hotReader is reader for the reads nearly every storefront answer makes
// (a cart's lines, a group and its variants, images): their statements
// are prepared on the read pool, so PostgreSQL parses and plans each once
// per connection instead of on every call (unless NoPrepare). Only
// constant query texts go through it: each text is one cached statement.
func (s *Store) hotReader() queryer {
	if s.opts.NoPrepare {
		return s.reader()
	}
	return preparedReads{counted: counted{s.reads, &s.queries}, s: s}
}

// preparedReads runs queries through read-pool statements prepared once
// per query text. Preparing takes a connection, as the query would: when
// that fails the query fails with the same error, without a second
// attempt at a connection (which, with PostgreSQL refusing connections,
// would count and wait twice); only QueryRowx, whose row cannot carry the
// error, then runs the query unprepared.
type preparedReads struct {
	counted
	s *Store
}

func (p preparedReads) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := p.s.readStmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := p.s.reads.PreparexContext(ctx, query)
	if err != nil {
		return nil, translate(err)
	}
	if prev, loaded := p.s.readStmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

func (p preparedReads) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := p.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	p.n.Add(1)
	return st.QueryContext(ctx, args...)
}

func (p preparedReads) QueryxContext(ctx context.Context, q string, args ...any) (*sqlx.Rows, error) {
	st, err := p.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	p.n.Add(1)
	return st.QueryxContext(ctx, args...)
}

func (p preparedReads) QueryRowxContext(ctx context.Context, q string, args ...any) *sqlx.Row {
	if st, err := p.stmt(ctx, q); err == nil {
		p.n.Add(1)
		return st.QueryRowxContext(ctx, args...)
	}
	return p.counted.QueryRowxContext(ctx, q, args...)
}

// Tx is a transaction handed to WithTx callbacks.
type Tx struct {
	q   queryer
	raw *sqlx.Tx // for prepared statements bound to the transaction (execIn, selectIn)
}

// withTimeout gives ctx a deadline when it has none, so no statement can hang
// forever on a lock or a dead connection.
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opts.QueryTimeout)
}

const maxTxAttempts = 5

// WithTx runs fn in one READ COMMITTED transaction: it begins, rolls back on
// any error (also when ctx is cancelled), and commits. fn gets the
// transaction's context, ctx bounded by Options.QueryTimeout (the caller's
// deadline when it is sooner), and runs every statement with it, so a
// statement blocked on a lock ends at that deadline with ctx's error
// (context.DeadlineExceeded), not an internal one. Serialization failures
// and deadlocks (SQLSTATE 40001, 40P01) are retried a bounded number of
// times with jittered backoff, all within that one deadline; fn must
// therefore be safe to run again.
func (s *Store) WithTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.QueryTimeout)
	defer cancel()
	return s.retry(ctx, func(ctx context.Context) error { return s.tryTx(ctx, fn) })
}

func (s *Store) tryTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) (err error) {
	sqlTx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return translate(err)
	}
	s.queries.Add(1)
	defer func() {
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err = fn(ctx, &Tx{q: counted{sqlTx, &s.queries}, raw: sqlTx}); err != nil {
		return err
	}
	s.queries.Add(1)
	if err = sqlTx.Commit(); err != nil {
		return translate(err)
	}
	return nil
}

// retry runs a single autocommit statement with the same bounded retry policy
// as WithTx.
func (s *Store) retry(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var err error
	for attempt := 1; ; attempt++ {
		err = fn(ctx)
		if err == nil || attempt == maxTxAttempts || !retryable(err) {
			return cancelled(ctx, err)
		}
		backoff := time.Duration(attempt*attempt) * time.Millisecond
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff)+1))):
		}
	}
}

// DefaultCurrency prices an empty cart.
func (s *Store) DefaultCurrency() string { return s.opts.DefaultCurrency }

// prepared returns a pool-wide prepared statement for a hot query, so
// PostgreSQL parses and plans it once per connection instead of on every
// call (database/sql prepares it on each connection as needed).
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, translate(err)
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// txPrepared is query's prepared statement for use inside a transaction,
// or nil: run it unprepared on the transaction's connection. It never
// prepares there and then: preparing takes a connection of the pool, and a
// transaction holding a row lock (a batch holds its product's) must not
// wait for one. The pool's connections may all be held by requests waiting
// for that very lock, and everything stalled until their deadlines (seen
// as a 10 s stall of a product's first batch in the fault tests). A
// missing statement is prepared in the background, once, for the next
// transaction.
func (s *Store) txPrepared(query string) *sqlx.Stmt {
	if s.opts.NoPrepare {
		return nil
	}
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sqlx.Stmt)
	}
	if _, started := s.preparing.LoadOrStore(query, struct{}{}); !started {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), s.opts.QueryTimeout)
			defer cancel()
			if _, err := s.prepared(ctx, query); err != nil {
				s.preparing.Delete(query) // the next transaction tries again
			}
		}()
	}
	return nil
}

// getPrepared runs a prepared single-row query into dest.
func (s *Store) getPrepared(ctx context.Context, dest any, query string, args ...any) error {
	if s.opts.NoPrepare {
		return sqlxGet(ctx, s.pool(), dest, query, args...)
	}
	st, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	s.queries.Add(1)
	return translate(st.QueryRowxContext(ctx, args...).StructScan(dest))
}

// execIn runs a hot statement in transaction tx: prepared (pool-wide, bound
// to the transaction's connection) unless NoPrepare.
func (s *Store) execIn(ctx context.Context, tx *Tx, query string, args ...any) (sql.Result, error) {
	st := s.txPrepared(query)
	if st == nil {
		res, err := tx.q.ExecContext(ctx, query, args...)
		return res, translate(err)
	}
	s.queries.Add(1)
	res, err := tx.raw.StmtxContext(ctx, st).ExecContext(ctx, args...)
	return res, translate(err)
}

// selectIn runs a hot query into the slice dest in transaction tx, as
// execIn does.
func (s *Store) selectIn(ctx context.Context, tx *Tx, dest any, query string, args ...any) error {
	st := s.txPrepared(query)
	if st == nil {
		return sqlxSelect(ctx, tx.q, dest, query, args...)
	}
	s.queries.Add(1)
	return translate(tx.raw.StmtxContext(ctx, st).SelectContext(ctx, dest, args...))
}
