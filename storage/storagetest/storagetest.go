// Package storagetest gives each test its own migrated PostgreSQL database.
//
// A template database is migrated once per schema version (pgtestdb keys it
// by the migrations' hash) and cloned for every test, so tests run in
// parallel without seeing each other's rows. The server comes from
// TEST_DATABASE_URL (make test points it at a private cluster under .data/).
package storagetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq" // also the "postgres" driver
	"github.com/peterldowns/pgtestdb"

	hfconfig "holdfast/config"
	"holdfast/migrations"
	"holdfast/storage"
)

// DefaultURL is used when TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

type migrator struct{}

func (migrator) Hash() (string, error) { return migrations.Hash() }

func (migrator) Migrate(ctx context.Context, db *sql.DB, _ pgtestdb.Config) error {
	return migrations.Up(ctx, db, nil)
}

func config(t testing.TB) pgtestdb.Config {
	t.Helper()
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	pass, _ := u.User.Password()
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	q := u.Query()
	if q.Get("sslmode") == "" {
		q.Set("sslmode", "disable")
	}
	return pgtestdb.Config{
		DriverName:                "postgres",
		Host:                      u.Hostname(),
		Port:                      port,
		User:                      u.User.Username(),
		Password:                  pass,
		Database:                  strings.TrimPrefix(u.Path, "/"),
		Options:                   q.Encode(),
		ForceTerminateConnections: true,
	}
}

// URL creates a fresh migrated database for t (dropped when t ends) and
// returns its connection URL.
func URL(t testing.TB) string {
	t.Helper()
	return pgtestdb.Custom(t, config(t), migrator{}).URL()
}

// EmptyURL creates a fresh database with no schema at all for t (dropped
// when t ends), for tests that run the migrations themselves.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return pgtestdb.Custom(t, config(t), pgtestdb.NoopMigrator{}).URL()
}

// Options are the Store options tests use unless they say otherwise: the
// server's for an empty environment (package main's storageOptions of
// config.Defaults(), which TestStorageOptions holds this to), with a longer
// QueryTimeout.
func Options() storage.Options {
	d := hfconfig.Defaults()
	return storage.Options{
		HoldTTL:         d.HoldTTL,
		DefaultCurrency: d.DefaultCurrency,
		QueryTimeout:    30 * time.Second,
		SearchTimeout:   d.SearchTimeout,
		IdempotencyTTL:  d.IdempotencyTTL,
		MaxLineQuantity: d.MaxLineQuantity,
		MaxCartQuantity: d.MaxCartQuantity,
		MaxCartLines:    d.MaxCartLines,
		ReadMaxConns:    d.DBReadMaxConns,
		ConnectWait:     d.DBConnectWait,
		NoPrepare:       !d.DBPrepare,

		AllocationStrategy: d.AllocationStrategy,
	}
}

// NewStore opens a Store on a fresh database (closed when t ends).
func NewStore(t testing.TB, opts storage.Options) (*storage.Store, string) {
	t.Helper()
	u := URL(t)
	return OpenStore(t, u, opts), u
}

// OpenStore opens another Store (another pool, as another server process
// would have) on the database at u.
func OpenStore(t testing.TB, u string, opts storage.Options) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), u, 40, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// MustProduct creates a product with the given stock.
func MustProduct(t testing.TB, s *storage.Store, sku string, stock int) *storage.Product {
	t.Helper()
	p, err := s.CreateProduct(context.Background(), storage.NewProduct{
		SKU: sku, Name: "Product " + sku, PriceAmount: "10.00", Currency: "USD", Stock: stock,
	})
	if err != nil {
		t.Fatalf("create product %s: %v", sku, err)
	}
	return p
}

// MustLocation creates a location.
func MustLocation(t testing.TB, s *storage.Store, name string, priority int) *storage.Location {
	t.Helper()
	l, err := s.CreateLocation(context.Background(), name, priority)
	if err != nil {
		t.Fatalf("create location %s: %v", name, err)
	}
	return l
}

// MustStockAt sets a product's level at a location (the product's stock
// moves by as much).
func MustStockAt(t testing.TB, s *storage.Store, productID, locationID int64, stock int) {
	t.Helper()
	res, err := s.SetStock(context.Background(), storage.SetStockParams{Items: []storage.SetStockItem{
		{HasProductID: true, ProductID: productID, LocationID: locationID, Stock: stock},
	}})
	if err != nil {
		t.Fatalf("set stock of product %d at location %d: %v", productID, locationID, err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("set stock of product %d at location %d: %v", productID, locationID, res.Errors[0])
	}
}

// Levels reads a product's levels by location id.
func Levels(t testing.TB, s *storage.Store, productID int64) map[int64]int {
	t.Helper()
	m, err := s.LevelsByProductIDs(context.Background(), []int64{productID})
	if err != nil {
		t.Fatalf("levels of product %d: %v", productID, err)
	}
	out := map[int64]int{}
	for _, l := range m[productID] {
		out[l.Location.ID] = l.Stock
	}
	return out
}

// MustCart creates a cart.
func MustCart(t testing.TB, s *storage.Store) *storage.Cart {
	t.Helper()
	c, err := s.CreateCart(context.Background())
	if err != nil {
		t.Fatalf("create cart: %v", err)
	}
	return c
}

// GooseTable is goose's own bookkeeping table, the one table Snapshot
// leaves out: only migrations.Up writes it (at start-up, before any
// operation under test), so it holds nothing an operation could change,
// and its migration timestamps would only pad every failure's diff.
const GooseTable = "goose_db_version"

// Tables lists, by name, the tables Snapshot covers: every table of the
// public schema (ordinary or partitioned, not the partitions, whose rows
// their parent shows) but GooseTable. A table a future migration adds is
// covered without editing anything here.
func Tables(t testing.TB, db *sqlx.DB) []string {
	t.Helper()
	const q = `
		SELECT c.relname
		FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public'
		  AND c.relkind IN ('r', 'p')
		  AND NOT c.relispartition
		  AND c.relname <> $1
		ORDER BY c.relname`
	var tables []string
	if err := db.Select(&tables, q, GooseTable); err != nil {
		t.Fatalf("snapshot: list tables: %v", err)
	}
	return tables
}

// Snapshot renders the full contents of every table (see Tables) as text,
// one JSON line per row in a fixed order, to assert that a refused
// operation changed nothing: equal snapshots mean equal tables.
//
// except names tables to leave out, for a check whose refusal rightly
// writes one (a keyed refusal is remembered in idempotency_keys, so a retry
// answers alike): the caller says so where it asserts, and a name that is
// not a table fails the test. Nothing else is left out: no column of this
// schema changes on a read-only operation, with one case a caller must
// mind: a live subscription makes its server instance insert and refresh
// rows in watches (their until moves forward every few seconds), so a test
// that snapshots around a subscription must end it first. Background
// workers (the reaper, the webhook and payment workers) do write, as they
// would in production. Sequences are not tables and are not compared: a
// refused INSERT may use up an id, which changes no row.
func Snapshot(t testing.TB, db *sqlx.DB, except ...string) string {
	t.Helper()
	tables := Tables(t, db)
	skip := make(map[string]bool, len(except))
	for _, name := range except {
		if !slices.Contains(tables, name) {
			t.Fatalf("snapshot: no table %q to leave out", name)
		}
		skip[name] = true
	}
	var b strings.Builder
	for _, table := range tables {
		if skip[table] {
			fmt.Fprintf(&b, "%s (left out)\n", table)
			continue
		}
		var rows []string
		q := `SELECT to_jsonb(t)::text AS row FROM ` + pq.QuoteIdentifier(table) + ` t ORDER BY 1`
		if err := db.Select(&rows, q); err != nil {
			t.Fatalf("snapshot %s: %v", table, err)
		}
		fmt.Fprintf(&b, "%s (%d rows)\n", table, len(rows))
		for _, r := range rows {
			b.WriteString("  " + r + "\n")
		}
	}
	return b.String()
}

// AssertBooks checks the books the way an operator would, and a little
// more: every product through the store's own audit (InventoryAudit, paged
// to the end: 0 <= held <= stock, held = live cart lines + lines of orders
// awaiting payment, stock = sum of its ledger movements), failing t for
// each row that is not ok, then every order with AssertOrderBooks. It
// returns the audit's rows, every product in id order.
func AssertBooks(t testing.TB, s *storage.Store) []*storage.AuditRow {
	t.Helper()
	var rows []*storage.AuditRow
	for p := (storage.AuditParams{First: storage.MaxAuditPage}); ; {
		page, err := s.InventoryAudit(context.Background(), p)
		if err != nil {
			t.Fatalf("books: audit: %v", err)
		}
		rows = append(rows, page...)
		if len(page) < p.First {
			break
		}
		p.After = page[len(page)-1].ProductID
	}
	for _, r := range rows {
		if !r.OK {
			t.Errorf("books broken for product %d: stock=%d held=%d cart_held=%d pending_held=%d ledger_stock=%d customer_limit_mismatches=%d level_stock=%d bad_levels=%d allocation_mismatches=%d",
				r.ProductID, r.Stock, r.Held, r.CartHeld, r.PendingHeld, r.LedgerStock, r.CustomerLimitMismatches, r.LevelStock, r.BadLevels, r.AllocationMismatches)
		}
	}
	AssertOrderBooks(t, s)
	AssertDiscountBooks(t, s)
	AssertGiftCardBooks(t, s)
	return rows
}

// AssertGiftCardBooks checks every gift card through the store's own audit
// (GiftCardAudit): balance = initial + its movements, held = what orders
// awaiting payment hold, 0 <= held <= balance, no hold left elsewhere.
func AssertGiftCardBooks(t testing.TB, s *storage.Store) {
	t.Helper()
	rows, err := s.GiftCardAudit(context.Background(), storage.MaxAuditPage, 0, true)
	if err != nil {
		t.Fatalf("books: gift card audit: %v", err)
	}
	for _, r := range rows {
		t.Errorf("books broken for gift card %d: balance=%d ledger=%d held=%d live_holds=%d stray=%d",
			r.GiftCardID, r.BalanceCents, r.LedgerBalanceCents, r.HeldCents, r.LiveHoldsCents, r.StrayHolds)
	}
}

// AssertDiscountBooks checks every discount code through the store's own
// audit (DiscountAudit): uses_held = live holds (active carts, orders
// awaiting payment), uses_count = uses consumed by placed orders, their sum
// within usage_limit, no use left on anything else, and every order's line
// discounts adding up to its discount.
func AssertDiscountBooks(t testing.TB, s *storage.Store) {
	t.Helper()
	rows, err := s.DiscountAudit(context.Background(), storage.MaxAuditPage, 0, true)
	if err != nil {
		t.Fatalf("books: discount audit: %v", err)
	}
	for _, r := range rows {
		t.Errorf("books broken for discount code %d (%s): uses_held=%d live_holds=%d uses_count=%d consumed=%d stray=%d order_mismatches=%d",
			r.DiscountCodeID, r.Code, r.UsesHeld, r.LiveHolds, r.UsesCount, r.ConsumedUses, r.StrayUses, r.OrderMismatches)
	}
}

// AssertOrderBooks checks what the product audit cannot see, order by
// order: its ledger (sales less cancellations) sold its lines' units if it
// is PLACED and none otherwise, and its payment's status fits its own (no
// paid order left without a placed order or a queued refund). One
// statement, so one snapshot.
func AssertOrderBooks(t testing.TB, s *storage.Store) {
	t.Helper()
	var bad []struct {
		OrderID string `db:"order_id"`
		Status  string `db:"status"`
		Problem string `db:"problem"`
	}
	err := s.DB().Select(&bad, `
		WITH net AS (
			SELECT ol.order_id, ol.product_id, ol.quantity,
			       -COALESCE((SELECT sum(m.delta) FROM inventory_movements m
			                  WHERE m.order_id = ol.order_id AND m.product_id = ol.product_id), 0) AS sold
			FROM order_lines ol
		)
		SELECT o.id AS order_id, o.status, 'ledger sold ' || n.sold || ' of product ' || n.product_id || ' (line: ' || n.quantity || ')' AS problem
		FROM orders o JOIN net n ON n.order_id = o.id
		WHERE n.sold <> CASE WHEN o.status = 'PLACED' THEN n.quantity ELSE 0 END
		UNION ALL
		SELECT o.id, o.status, 'payment ' || COALESCE(p.status, 'none')
		FROM orders o LEFT JOIN payments p ON p.order_id = o.id
		WHERE NOT CASE o.status
			WHEN 'PENDING_PAYMENT' THEN p.status = 'PENDING'
			WHEN 'PLACED' THEN p.status IS NULL OR p.status = 'SUCCEEDED'
			WHEN 'PAYMENT_EXPIRED' THEN p.status IN ('FAILED', 'EXPIRED')
			WHEN 'REFUND_REQUIRED' THEN p.status = 'SUCCEEDED'
			WHEN 'REFUNDED' THEN p.status = 'REFUNDED'
			WHEN 'CANCELLED' THEN p.status IS NULL OR p.status IN ('EXPIRED', 'SUCCEEDED', 'REFUNDED')
		END
		UNION ALL
		-- A placed order's lines are allocated in full; every allocation is
		-- the sale at its location.
		SELECT o.id, o.status, 'allocated ' || COALESCE(a.n, 0) || ' of product ' || ol.product_id || ' (line: ' || ol.quantity || ')'
		FROM orders o
		JOIN order_lines ol ON ol.order_id = o.id
		LEFT JOIN LATERAL (
			SELECT sum(quantity) AS n FROM order_line_allocations a
			WHERE a.order_id = ol.order_id AND a.product_id = ol.product_id
		) a ON true
		WHERE o.status = 'PLACED' AND COALESCE(a.n, 0) <> ol.quantity
		UNION ALL
		SELECT o.id, o.status, 'allocation of ' || a.quantity || ' of product ' || a.product_id || ' at location ' || a.location_id || ' sold ' || -COALESCE(m.n, 0)
		FROM order_line_allocations a
		JOIN orders o ON o.id = a.order_id
		LEFT JOIN LATERAL (
			SELECT sum(delta) AS n FROM inventory_movements m
			WHERE m.order_id = a.order_id AND m.product_id = a.product_id AND m.location_id = a.location_id AND m.kind = 'sale'
		) m ON true
		WHERE COALESCE(m.n, 0) <> -a.quantity
		UNION ALL
		SELECT o.id, o.status, 'paid, but no refund queued'
		FROM orders o JOIN payments p ON p.order_id = o.id
		WHERE p.status = 'SUCCEEDED' AND o.status IN ('REFUND_REQUIRED', 'CANCELLED')
		  AND NOT EXISTS (SELECT 1 FROM payment_actions a WHERE a.order_id = o.id AND a.kind = 'refund')`)
	if err != nil {
		t.Fatalf("books: orders: %v", err)
	}
	for _, b := range bad {
		t.Errorf("books broken for order %s (%s): %s", b.OrderID, b.Status, b.Problem)
	}
}
