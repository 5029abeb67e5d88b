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
//	stock = sum of the product's inventory levels; every level >= 0
//	a level = sum of its ledger movements at its location; an inactive location holds nothing
//	a PLACED order line's allocations sum to its quantity; each allocation is its location's sale
//	every discount code: uses_held = live holds, uses_count = consumed uses, within usage_limit
//	every gift card: balance = initial + movements, held = holds of pending orders, 0 <= held <= balance
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
	checkCustomerLimits(ctx, t, tx)
	checkLocations(ctx, t, tx)
	checkDiscounts(ctx, t, tx)
	checkGiftCards(ctx, t, tx)
	if n == 0 {
		t.Errorf("audit: no products")
	}
	t.Logf("SQL audit: %d products, stock %d, held %d, %d orders (%d cancelled), %d units in placed orders, %d movements",
		n, totStock, totHeld, orders, cancelledOrders, totSold, movements)
}

// checkCustomerLimits compares every per-customer counter of a limited
// product (migrations/00024) with the units in the customer's carts and
// pending or placed orders.
func checkCustomerLimits(ctx context.Context, t *testing.T, tx *sql.Tx) {
	t.Helper()
	rows, err := tx.QueryContext(ctx, `
		SELECT customer_id, product_id, sum(n)::integer FROM (
			SELECT c.customer_id, cl.product_id, cl.quantity AS n
			FROM cart_lines cl JOIN carts c ON c.id = cl.cart_id JOIN products p ON p.id = cl.product_id
			WHERE c.customer_id IS NOT NULL AND p.limit_per_customer IS NOT NULL
			UNION ALL
			SELECT o.customer_id, ol.product_id, ol.quantity
			FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN products p ON p.id = ol.product_id
			WHERE o.customer_id IS NOT NULL AND p.limit_per_customer IS NOT NULL AND o.status IN ('PENDING_PAYMENT', 'PLACED')
			UNION ALL
			SELECT customer_id, product_id, -used FROM customer_product_limits
		) u GROUP BY customer_id, product_id HAVING sum(n) <> 0`)
	if err != nil {
		t.Fatalf("audit: customer limits: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c, p, diff int64
		if err := rows.Scan(&c, &p, &diff); err != nil {
			t.Fatalf("audit: customer limits: %v", err)
		}
		t.Errorf("customer %d, product %d: units in carts and orders minus the per-customer counter = %d", c, p, diff)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("audit: customer limits: %v", err)
	}
}

// checkLocations audits the split of stock over locations
// (migrations/00025): the levels against the products' totals and the
// ledger, and the placed orders' allocations against their lines and the
// sales at each location.
func checkLocations(ctx context.Context, t *testing.T, tx *sql.Tx) {
	t.Helper()
	rows, err := tx.QueryContext(ctx, `
		SELECT 'product ' || p.id || ': stock ' || p.stock || ' but its levels sum to ' || COALESCE(l.n, 0)
		FROM products p
		LEFT JOIN (SELECT product_id, sum(stock) AS n FROM inventory_levels GROUP BY product_id) l ON l.product_id = p.id
		WHERE p.stock <> COALESCE(l.n, 0)
		UNION ALL
		SELECT 'product ' || d.product_id || ' at location ' || d.location_id || ': level minus ledger = ' || d.n
		FROM (
			SELECT product_id, location_id, sum(n) AS n FROM (
				SELECT product_id, location_id, stock::bigint AS n FROM inventory_levels
				UNION ALL
				SELECT product_id, location_id, -delta FROM inventory_movements
			) u GROUP BY product_id, location_id
		) d
		WHERE d.n <> 0
		UNION ALL
		SELECT 'product ' || l.product_id || ' at location ' || l.location_id || ': level ' || l.stock || (CASE WHEN l.stock < 0 THEN ' below 0' ELSE ' at an inactive location' END)
		FROM inventory_levels l JOIN locations loc ON loc.id = l.location_id
		WHERE l.stock < 0 OR (NOT loc.active AND l.stock > 0)
		UNION ALL
		SELECT 'order ' || o.id || ', product ' || ol.product_id || ': line ' || ol.quantity || ' but allocations sum to ' || COALESCE(a.n, 0)
		FROM orders o
		JOIN order_lines ol ON ol.order_id = o.id
		LEFT JOIN (SELECT order_id, product_id, sum(quantity) AS n FROM order_line_allocations GROUP BY order_id, product_id) a
		       ON a.order_id = ol.order_id AND a.product_id = ol.product_id
		WHERE o.status = 'PLACED' AND COALESCE(a.n, 0) <> ol.quantity
		UNION ALL
		SELECT 'order ' || a.order_id || ', product ' || a.product_id || ' at location ' || a.location_id || ': allocated ' || a.quantity || ' but sold ' || -COALESCE(m.n, 0)
		FROM order_line_allocations a
		LEFT JOIN (SELECT order_id, product_id, location_id, sum(delta) AS n FROM inventory_movements WHERE kind = 'sale'
		           GROUP BY order_id, product_id, location_id) m
		       ON m.order_id = a.order_id AND m.product_id = a.product_id AND m.location_id = a.location_id
		WHERE COALESCE(m.n, 0) <> -a.quantity`)
	if err != nil {
		t.Fatalf("audit: locations: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var problem string
		if err := rows.Scan(&problem); err != nil {
			t.Fatalf("audit: locations: %v", err)
		}
		t.Errorf("locations: %s", problem)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("audit: locations: %v", err)
	}
	var locations, levels, allocations int64
	err = tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM locations), (SELECT count(*) FROM inventory_levels WHERE stock > 0), (SELECT count(*) FROM order_line_allocations)`).
		Scan(&locations, &levels, &allocations)
	if err != nil {
		t.Fatalf("audit: locations: %v", err)
	}
	t.Logf("locations: %d, levels holding units %d, allocations %d", locations, levels, allocations)
}

// checkDiscounts recomputes every discount code's counters from its uses
// (migrations/00026): uses_held = uses held by active carts and orders
// awaiting payment, uses_count = uses consumed by placed orders, their sum
// within usage_limit, no use on anything else, and each order's line
// discounts adding up to its discount.
func checkDiscounts(ctx context.Context, t *testing.T, tx *sql.Tx) {
	t.Helper()
	rows, err := tx.QueryContext(ctx, `
		SELECT dc.id, dc.code, dc.uses_held, dc.uses_count, COALESCE(dc.usage_limit, -1),
		       (SELECT count(*) FROM discount_uses u
		        LEFT JOIN carts c ON c.id = u.cart_id AND u.order_id IS NULL
		        LEFT JOIN orders o ON o.id = u.order_id
		        WHERE u.discount_code_id = dc.id AND u.state = 'held' AND (c.status = 'ACTIVE' OR o.status = 'PENDING_PAYMENT')),
		       (SELECT count(*) FROM discount_uses u JOIN orders o ON o.id = u.order_id
		        WHERE u.discount_code_id = dc.id AND u.state = 'consumed' AND o.status = 'PLACED'),
		       (SELECT count(*) FROM discount_uses u WHERE u.discount_code_id = dc.id),
		       (SELECT count(*) FROM order_discounts od WHERE od.discount_code_id = dc.id
		          AND od.amount_cents <> (SELECT COALESCE(sum(l.discount_cents), 0) FROM order_lines l WHERE l.order_id = od.order_id))
		FROM discount_codes dc ORDER BY dc.id`)
	if err != nil {
		t.Fatalf("audit: discounts: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, held, count, limit, live, consumed, uses, mismatched int64
		var code string
		if err := rows.Scan(&id, &code, &held, &count, &limit, &live, &consumed, &uses, &mismatched); err != nil {
			t.Fatalf("audit: discounts: %v", err)
		}
		if held != live || count != consumed || uses != live+consumed || (limit >= 0 && held+count > limit) || mismatched != 0 {
			t.Errorf("discount code %d (%s): uses_held=%d live holds=%d uses_count=%d consumed=%d uses=%d limit=%d orders mismatched=%d",
				id, code, held, live, count, consumed, uses, limit, mismatched)
		} else {
			t.Logf("discount code %s: %d held, %d consumed (limit %d)", code, held, count, limit)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("audit: discounts: %v", err)
	}
}

// checkGiftCards recomputes every gift card (migrations/00027): balance =
// initial + its ledger's movements, held = what orders awaiting payment
// hold, 0 <= held <= balance, and what each order took adds up with its
// payment to the order's total.
func checkGiftCards(ctx context.Context, t *testing.T, tx *sql.Tx) {
	t.Helper()
	rows, err := tx.QueryContext(ctx, `
		SELECT g.id, g.balance_cents, g.held_cents,
		       g.initial_value_cents + COALESCE((SELECT sum(m.delta_cents) FROM gift_card_movements m WHERE m.gift_card_id = g.id), 0),
		       COALESCE((SELECT sum(o.amount_cents) FROM order_gift_cards o JOIN orders x ON x.id = o.order_id
		                 WHERE o.gift_card_id = g.id AND o.state = 'held' AND x.status = 'PENDING_PAYMENT'), 0)
		FROM gift_cards g ORDER BY g.id`)
	if err != nil {
		t.Fatalf("audit: gift cards: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, balance, held, ledger, live int64
		if err := rows.Scan(&id, &balance, &held, &ledger, &live); err != nil {
			t.Fatalf("audit: gift cards: %v", err)
		}
		if balance != ledger || held != live || held < 0 || held > balance {
			t.Errorf("gift card %d: balance=%d ledger=%d held=%d live holds=%d", id, balance, ledger, held, live)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("audit: gift cards: %v", err)
	}
	var wrong int64
	err = tx.QueryRowContext(ctx, `
		SELECT count(*) FROM payments p
		WHERE p.amount_cents <> (SELECT sum(l.unit_price_cents * l.quantity - l.discount_cents) FROM order_lines l WHERE l.order_id = p.order_id)
		      - COALESCE((SELECT sum(amount_cents) FROM order_gift_cards g WHERE g.order_id = p.order_id), 0)`).Scan(&wrong)
	if err != nil {
		t.Fatalf("audit: payments vs totals: %v", err)
	}
	if wrong != 0 {
		t.Errorf("%d payments ask for another amount than their order's lines less discount and gift cards", wrong)
	}
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
	LevelStock  int
	BadLevels   int
	// AllocationMismatches: placed lines not allocated in full.
	AllocationMismatches int
	OK                   bool
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
					t.Errorf("inventoryAudit: product %s not ok: stock=%d ledgerStock=%d held=%d cartHeld=%d pendingHeld=%d levelStock=%d badLevels=%d allocationMismatches=%d",
						r.Product.ID, r.Stock, r.LedgerStock, r.Held, r.CartHeld, r.PendingHeld, r.LevelStock, r.BadLevels, r.AllocationMismatches)
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
