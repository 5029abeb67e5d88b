//go:build faults

package faults

import (
	"context"
	"database/sql"
	"encoding/json"
	"testing"
	"time"
)

// checkInvariants audits the stock accounting of dbURL with SQL, in one
// consistent snapshot:
//
//	held = sum(cart_lines.quantity)                  (per product)
//	0 <= held <= stock
//	stock = sum(inventory_movements.delta)
//	stock + sold - sold in cancelled orders = sum(delta of initial/restock/adjustment)
//	no cart_lines on carts that are not ACTIVE      (no stranded holds)
func checkInvariants(t *testing.T, dbURL string) {
	t.Helper()
	db := openDB(t, dbURL)
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
		  COALESCE((SELECT sum(quantity) FROM cart_lines cl WHERE cl.product_id = p.id), 0),
		  COALESCE((SELECT sum(delta) FROM inventory_movements m WHERE m.product_id = p.id), 0),
		  COALESCE((SELECT sum(delta) FROM inventory_movements m WHERE m.product_id = p.id
		              AND m.kind IN ('initial', 'restock', 'adjustment')), 0),
		  COALESCE((SELECT sum(ol.quantity) FROM order_lines ol WHERE ol.product_id = p.id), 0),
		  COALESCE((SELECT sum(ol.quantity) FROM order_lines ol JOIN orders o ON o.id = ol.order_id
		              WHERE ol.product_id = p.id AND o.status = 'CANCELLED'), 0)
		FROM products p ORDER BY p.id`)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	defer rows.Close()
	var n, totStock, totHeld, totSold, totCancelled int64
	for rows.Next() {
		var id, stock, held, lines, ledger, supplied, sold, cancelled int64
		var sku string
		if err := rows.Scan(&id, &sku, &stock, &held, &lines, &ledger, &supplied, &sold, &cancelled); err != nil {
			t.Fatalf("audit: scan: %v", err)
		}
		n++
		totStock, totHeld, totSold, totCancelled = totStock+stock, totHeld+held, totSold+sold, totCancelled+cancelled
		if held != lines {
			t.Errorf("product %d (%s): held=%d but cart lines sum to %d", id, sku, held, lines)
		}
		if held < 0 || held > stock {
			t.Errorf("product %d (%s): held=%d outside [0, stock=%d]", id, sku, held, stock)
		}
		if stock != ledger {
			t.Errorf("product %d (%s): stock=%d but movements sum to %d", id, sku, stock, ledger)
		}
		if stock+sold-cancelled != supplied {
			t.Errorf("product %d (%s): stock %d + sold %d - cancelled %d = %d, but initial+restock+adjustment = %d",
				id, sku, stock, sold, cancelled, stock+sold-cancelled, supplied)
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
	if n == 0 {
		t.Errorf("audit: no products")
	}
	t.Logf("SQL audit: %d products, stock %d, held %d, %d orders (%d cancelled), %d units sold, %d cancelled, %d movements",
		n, totStock, totHeld, orders, cancelledOrders, totSold, totCancelled, movements)
}

// checkAuditAPI runs the inventoryAudit query and requires every row ok
// (retrying transport failures and GraphQL errors for up to 10 s).
func checkAuditAPI(t *testing.T, base string, wantProducts int) {
	t.Helper()
	c := newClient(base, true, nil)
	defer c.close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, v := c.do("inventoryAudit", "inventoryAudit", true, qAudit, nil)
		if o.Class == classOK {
			var rows []struct {
				Product     struct{ ID string }
				Stock       int
				LedgerStock int
				Held        int
				CartHeld    int
				OK          bool
			}
			if err := json.Unmarshal(v, &rows); err != nil {
				t.Fatalf("inventoryAudit: %v", err)
			}
			if len(rows) != wantProducts {
				t.Errorf("inventoryAudit: %d rows, want %d", len(rows), wantProducts)
			}
			bad := 0
			for _, r := range rows {
				if !r.OK {
					bad++
					t.Errorf("inventoryAudit: product %s not ok: stock=%d ledgerStock=%d held=%d cartHeld=%d",
						r.Product.ID, r.Stock, r.LedgerStock, r.Held, r.CartHeld)
				}
			}
			t.Logf("inventoryAudit: %d rows, %d not ok", len(rows), bad)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("inventoryAudit: %s %s", o.key(), o.Detail)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
