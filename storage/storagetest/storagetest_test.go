package storagetest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Snapshot covers every table information_schema knows in the public
// schema, goose's bookkeeping table alone excepted.
func TestSnapshotListsEveryTable(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	var schema []string
	require.NoError(t, s.DB().Select(&schema, `
		SELECT table_name::text
		FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
		ORDER BY table_name`))
	require.Contains(t, schema, storagetest.GooseTable, "the migrations ran")
	var want []string
	for _, name := range schema {
		if name != storagetest.GooseTable {
			want = append(want, name)
		}
	}
	assert.Equal(t, want, storagetest.Tables(t, s.DB()))
	// The tables the hand-kept list of old missed are among them.
	for _, name := range []string{"product_images", "collections", "collection_products", "idempotency_keys",
		"watches", "webhook_endpoints", "webhook_events", "webhook_deliveries"} {
		assert.Contains(t, want, name)
	}
	snap := storagetest.Snapshot(t, s.DB())
	for _, name := range want {
		assert.Contains(t, snap, name+" (0 rows)\n", "a fresh database's snapshot shows every table, empty")
	}
	assert.NotContains(t, snap, storagetest.GooseTable)
}

// A row written to a table the hand-kept list of old ignored changes the
// snapshot, and the difference names the table.
func TestSnapshotSeesEveryTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	alt := "front"
	for _, tc := range []struct {
		name   string
		tables []string
		write  func(t *testing.T, s *storage.Store)
	}{
		{"webhook endpoint", []string{"webhook_endpoints"}, func(t *testing.T, s *storage.Store) {
			_, _, err := s.CreateWebhookEndpoint(ctx, "https://partner.example/hooks", []string{storage.TopicOrderPlaced})
			require.NoError(t, err)
		}},
		{"product images", []string{"products", "product_images"}, func(t *testing.T, s *storage.Store) {
			_, err := s.CreateProduct(ctx, storage.NewProduct{SKU: "IMG", Name: "Pictured", PriceAmount: "1.00", Currency: "USD",
				Images: []storage.NewImage{{URL: "https://cdn.example/a.png", AltText: &alt}}})
			require.NoError(t, err)
		}},
		{"collection", []string{"collections"}, func(t *testing.T, s *storage.Store) {
			_, err := s.CreateCollection(ctx, storage.NewCollection{Title: "Summer"})
			require.NoError(t, err)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := storagetest.NewStore(t, storagetest.Options())
			before := storagetest.Snapshot(t, s.DB())
			tc.write(t, s)
			after := storagetest.Snapshot(t, s.DB())
			assert.NotEqual(t, before, after)
			for _, table := range tc.tables {
				assert.Contains(t, before, table+" (0 rows)\n")
				assert.Contains(t, after, table+" (1 rows)\n")
			}
		})
	}
}

// A table a later migration adds is covered with no change here, however
// it is named, and a change to any one column of a row shows.
func TestSnapshotSeesNewTables(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	db := s.DB()
	_, err := db.Exec(`CREATE TABLE "Gift cards; -- odd" (code text PRIMARY KEY, balance bigint NOT NULL)`)
	require.NoError(t, err)
	empty := storagetest.Snapshot(t, db)
	assert.Contains(t, empty, "Gift cards; -- odd (0 rows)\n")

	_, err = db.Exec(`INSERT INTO "Gift cards; -- odd" VALUES ('GC-1', 5000), ('GC-2', 0)`)
	require.NoError(t, err)
	two := storagetest.Snapshot(t, db)
	assert.Contains(t, two, "Gift cards; -- odd (2 rows)\n"+
		`  {"code": "GC-1", "balance": 5000}`+"\n"+
		`  {"code": "GC-2", "balance": 0}`+"\n")
	assert.Equal(t, two, storagetest.Snapshot(t, db), "a snapshot is deterministic")

	_, err = db.Exec(`UPDATE "Gift cards; -- odd" SET balance = 4999 WHERE code = 'GC-1'`)
	require.NoError(t, err)
	assert.NotEqual(t, two, storagetest.Snapshot(t, db))
}

// A table left out by name is named as left out, and its rows do not count.
func TestSnapshotExcept(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	before := storagetest.Snapshot(t, s.DB(), "webhook_endpoints")
	assert.Contains(t, before, "webhook_endpoints (left out)\n")
	_, _, err := s.CreateWebhookEndpoint(context.Background(), "https://partner.example/hooks", []string{storage.TopicOrderPlaced})
	require.NoError(t, err)
	assert.Equal(t, before, storagetest.Snapshot(t, s.DB(), "webhook_endpoints"))
	assert.NotEqual(t, before, storagetest.Snapshot(t, s.DB()))
}

// recorder is a testing.TB that keeps the failures AssertBooks reports
// instead of failing the test (Fatalf still fails it).
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// AssertBooks reads the store's audit to its last page and reports every
// product that is not ok, and the orders whose books do not fit.
func TestAssertBooksPagesTheAudit(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	// More products than one audit page holds (stock 0, so no ledger).
	_, err := s.DB().Exec(`
		INSERT INTO products (sku, name, price_cents, currency, stock, handle)
		SELECT 'BULK-' || g, 'Bulk ' || g, 100, 'USD', 0, 'bulk-' || g
		FROM generate_series(1, $1) g`, storage.MaxAuditPage)
	require.NoError(t, err)
	p := storagetest.MustProduct(t, s, "LAST", 5)
	c := storagetest.MustCart(t, s)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	o, _, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: "manual", TTL: time.Hour})
	require.NoError(t, err)

	r := &recorder{TB: t}
	rows := storagetest.AssertBooks(r, s)
	assert.Empty(t, r.errs)
	require.Len(t, rows, storage.MaxAuditPage+1)
	assert.Equal(t, storage.AuditRow{ProductID: p.ID, Stock: 5, LedgerStock: 5, LevelStock: 5, Held: 2, PendingHeld: 2, OK: true}, *rows[len(rows)-1])

	// The product on the second page: stock off its ledger.
	_, err = s.DB().Exec(`UPDATE products SET stock = stock + 1 WHERE id = $1`, p.ID)
	require.NoError(t, err)
	// The order: awaiting payment, its payment failed.
	_, err = s.DB().Exec(`UPDATE payments SET status = 'FAILED' WHERE order_id = $1`, o.ID)
	require.NoError(t, err)
	r = &recorder{TB: t}
	storagetest.AssertBooks(r, s)
	assert.Equal(t, []string{
		fmt.Sprintf("books broken for product %d: stock=6 held=2 cart_held=0 pending_held=2 ledger_stock=5 customer_limit_mismatches=0 level_stock=5 bad_levels=0 allocation_mismatches=0", p.ID),
		fmt.Sprintf("books broken for order %s (PENDING_PAYMENT): payment FAILED", o.ID),
	}, r.errs)
}
