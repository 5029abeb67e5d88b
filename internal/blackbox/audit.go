package blackbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"

	_ "github.com/lib/pq" // OpenDB's driver
)

// CheckInvariants audits the stock accounting of the database at u with SQL, in one
// consistent snapshot:
//
//	held = sum(cart_lines.quantity) + lines of orders awaiting payment (per product)
//	0 <= held <= stock
//	stock = sum(inventory_movements.delta)
//	stock + units of PLACED orders = sum(delta of initial/restock/adjustment)
//	no cart_lines on carts that are not ACTIVE      (no stranded holds)
//	every order's ledger sold its lines if PLACED, nothing otherwise
//	every payment's status fits its order's; a paid order is PLACED or has a refund queued
func CheckInvariants(t *testing.T, u string) {
	t.Helper()
	db := OpenDB(t, u)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		t.Fatalf("audit: begin: %v", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `
		SELECT p.id, p.sku, p.stock, p.held,
		  COALESCE((SELECT sum(quantity) FROM cart_lines cl WHERE cl.product_id = p.id), 0)
		  + COALESCE((SELECT sum(ol.quantity) FROM order_lines ol JOIN orders o ON o.id = ol.order_id
		              WHERE ol.product_id = p.id AND o.status = 'PENDING_PAYMENT'), 0),
		  COALESCE((SELECT sum(delta) FROM inventory_movements m WHERE m.product_id = p.id), 0),
		  COALESCE((SELECT sum(delta) FROM inventory_movements m WHERE m.product_id = p.id
		              AND m.kind IN ('initial', 'restock', 'adjustment')), 0),
		  COALESCE((SELECT sum(ol.quantity) FROM order_lines ol JOIN orders o ON o.id = ol.order_id
		              WHERE ol.product_id = p.id AND o.status = 'PLACED'), 0)
		FROM products p ORDER BY p.id`)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	defer rows.Close()
	var n, totStock, totHeld, totSold int64
	for rows.Next() {
		var id, stock, held, lines, ledger, supplied, sold int64
		var sku string
		if err := rows.Scan(&id, &sku, &stock, &held, &lines, &ledger, &supplied, &sold); err != nil {
			t.Fatalf("audit: scan: %v", err)
		}
		n++
		totStock, totHeld, totSold = totStock+stock, totHeld+held, totSold+sold
		if held != lines {
			t.Errorf("product %d (%s): held=%d but cart lines and pending orders' lines sum to %d", id, sku, held, lines)
		}
		if held < 0 || held > stock {
			t.Errorf("product %d (%s): held=%d outside [0, stock=%d]", id, sku, held, stock)
		}
		if stock != ledger {
			t.Errorf("product %d (%s): stock=%d but movements sum to %d", id, sku, stock, ledger)
		}
		if stock+sold != supplied {
			t.Errorf("product %d (%s): stock %d + units of placed orders %d = %d, but initial+restock+adjustment = %d",
				id, sku, stock, sold, stock+sold, supplied)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("audit: %v", err)
	}
	var stranded, orders, cancelledOrders, movements int64
	err = tx.QueryRowContext(ctx, `
		SELECT (SELECT count(*) FROM cart_lines cl JOIN carts c ON c.id = cl.cart_id WHERE c.status <> 'ACTIVE'),
		       (SELECT count(*) FROM orders),
		       (SELECT count(*) FROM orders WHERE status = 'CANCELLED'),
		       (SELECT count(*) FROM inventory_movements)`).Scan(&stranded, &orders, &cancelledOrders, &movements)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	if stranded != 0 {
		t.Errorf("%d cart lines (holds) belong to carts that are not ACTIVE", stranded)
	}
	checkOrders(ctx, t, tx)
	if n == 0 {
		t.Errorf("audit: no products")
	}
	t.Logf("SQL audit: %d products, stock %d, held %d, %d orders (%d cancelled), %d units in placed orders, %d movements",
		n, totStock, totHeld, orders, cancelledOrders, totSold, movements)
}

// checkOrders audits every order against the ledger and its payment.
func checkOrders(ctx context.Context, t *testing.T, tx *sql.Tx) {
	t.Helper()
	rows, err := tx.QueryContext(ctx, `
		WITH net AS (
			SELECT ol.order_id, ol.product_id, ol.quantity,
			       -COALESCE((SELECT sum(m.delta) FROM inventory_movements m
			                  WHERE m.order_id = ol.order_id AND m.product_id = ol.product_id), 0) AS sold
			FROM order_lines ol
		)
		SELECT o.id, o.status, 'ledger sold ' || n.sold || ' of product ' || n.product_id || ' (line: ' || n.quantity || ')'
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
		SELECT o.id, o.status, 'paid, but no refund queued'
		FROM orders o JOIN payments p ON p.order_id = o.id
		WHERE p.status = 'SUCCEEDED' AND o.status IN ('REFUND_REQUIRED', 'CANCELLED')
		  AND NOT EXISTS (SELECT 1 FROM payment_actions a WHERE a.order_id = o.id AND a.kind = 'refund')`)
	if err != nil {
		t.Fatalf("audit: orders: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, status, problem string
		if err := rows.Scan(&id, &status, &problem); err != nil {
			t.Fatalf("audit: orders: %v", err)
		}
		t.Errorf("order %s (%s): %s", id, status, problem)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("audit: orders: %v", err)
	}
	var summary sql.NullString
	if err := tx.QueryRowContext(ctx, `SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) AS n FROM orders GROUP BY status) s`).Scan(&summary); err != nil {
		t.Fatalf("audit: orders: %v", err)
	}
	t.Logf("orders by status: %s", summary.String)
}

// auditRow is one row of the inventoryAudit query.
type auditRow struct {
	Product     struct{ ID string }
	Stock       int
	LedgerStock int
	Held        int
	CartHeld    int
	PendingHeld int
	OK          bool
}

// CheckAuditAPI runs the inventoryAudit query, page after page, and
// requires every row ok and, unless wantProducts < 0, that many rows
// (retrying transport failures and GraphQL errors for up to 10 s).
func CheckAuditAPI(t *testing.T, base string, wantProducts int) {
	t.Helper()
	c := NewClient(base, true, nil)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	var rows []auditRow
	var after any
	for {
		o, v := c.Do("inventoryAudit", "inventoryAudit", true, qAudit, map[string]any{"after": after})
		if o.Class == ClassOK {
			var page []auditRow
			if err := json.Unmarshal(v, &page); err != nil {
				t.Fatalf("inventoryAudit: %v", err)
			}
			rows = append(rows, page...)
			if len(page) == 500 {
				after = page[len(page)-1].Product.ID
				continue
			}
			if wantProducts >= 0 && len(rows) != wantProducts {
				t.Errorf("inventoryAudit: %d rows, want %d", len(rows), wantProducts)
			}
			bad := 0
			for _, r := range rows {
				if !r.OK {
					bad++
					t.Errorf("inventoryAudit: product %s not ok: stock=%d ledgerStock=%d held=%d cartHeld=%d pendingHeld=%d",
						r.Product.ID, r.Stock, r.LedgerStock, r.Held, r.CartHeld, r.PendingHeld)
				}
			}
			t.Logf("inventoryAudit: %d rows, %d not ok", len(rows), bad)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("inventoryAudit: %s %s", o.Key(), o.Detail)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// OpenDB opens dbURL and waits (15 s at most) until it answers.
func OpenDB(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		t.Fatalf("open database: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return db
		}
		if time.Now().After(deadline) {
			db.Close()
			t.Fatalf("database unreachable: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
