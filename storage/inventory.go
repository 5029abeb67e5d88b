package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// MaxReasonLen bounds a stock adjustment's reason.
const MaxReasonLen = 500

// AdjustStock changes a product's stock at the default location by delta
// (AdjustStockAt).
func (s *Store) AdjustStock(ctx context.Context, productID int64, delta int, reason string) (*Product, error) {
	return s.AdjustStockAt(ctx, AdjustStockParams{ProductID: productID, Delta: delta, Reason: reason})
}

// AdjustStockKeyed is AdjustStock with an idempotency key ("" for none): a
// repeat with the key and the same input changes nothing and answers what
// the first attempt answered (the product as it left it, or its refusal).
func (s *Store) AdjustStockKeyed(ctx context.Context, productID int64, delta int, reason, key string) (*Product, error) {
	return s.AdjustStockAt(ctx, AdjustStockParams{ProductID: productID, Delta: delta, Reason: reason, IdempotencyKey: key})
}

// AdjustStockParams is the input of AdjustStockAt.
type AdjustStockParams struct {
	ProductID int64
	// LocationID is the location whose level changes (0: the default
	// location).
	LocationID     int64
	Delta          int
	Reason         string
	IdempotencyKey string
}

// AdjustStockAt changes a product's stock at one location by delta: the
// level and the product's total move together, with a movement in the
// ledger at the location, in one transaction. It refuses
// (STOCK_BELOW_HELD) to leave less stock than carts hold, and
// (INVALID_INPUT) to take the level below 0; the guards are in the
// UPDATE's WHERE clause, on the product row the transaction locked first,
// so a concurrent reservation cannot slip in between a check and the
// write.
func (s *Store) AdjustStockAt(ctx context.Context, in AdjustStockParams) (*Product, error) {
	reason := strings.TrimSpace(in.Reason)
	productID, delta := in.ProductID, in.Delta
	if delta == 0 {
		return nil, userErr(CodeInvalidQuantity, "delta must not be zero", "input", "delta")
	}
	if delta < -MaxStock || delta > MaxStock {
		return nil, userErr(CodeInvalidInput, "stock would exceed 2147483647", "input", "delta")
	}
	if !validText(reason, MaxReasonLen) {
		return nil, userErr(CodeInvalidInput, "reason must be at most 500 characters of valid UTF-8", "input", "reason")
	}
	kind := MoveRestock
	if delta < 0 {
		kind = MoveAdjustment
	}
	adjustSQL := `
		WITH adjusted AS (
			UPDATE products
			SET stock = stock + $2, updated_at = now()
			WHERE id = $1 AND stock::bigint + $2 >= held AND stock::bigint + $2 <= 2147483647
			  AND (SELECT stock FROM inventory_levels WHERE product_id = $1 AND location_id = $5)::bigint + $2 >= 0
			RETURNING ` + productColumns + `
		), level AS (
			UPDATE inventory_levels
			SET stock = stock + $2
			WHERE product_id = (SELECT id FROM adjusted) AND location_id = $5 AND stock::bigint + $2 >= 0
		), movement AS (
			INSERT INTO inventory_movements (product_id, location_id, delta, kind, reason)
			SELECT id, $5, $2, $3, NULLIF($4, '') FROM adjusted
		), event AS (
			-- STOCK_ADJUSTED for webhooks (storage/outbox.go), on the locked row.
			-- Live subscribers are notified by the products_notify_stock trigger.
			SELECT webhook_enqueue('STOCK_ADJUSTED', ` + stockAdjustedData("adjusted", "$2", "$3", "NULLIF($4, '')") + `)
			FROM adjusted
		)
		-- enqueued reads event: PostgreSQL runs a SELECT CTE only if the query reads it.
		SELECT adjusted.*, (SELECT count(*) FROM event) AS enqueued FROM adjusted`
	// adjust locks the location and the product, runs the statement and
	// explains a refusal.
	adjust := func(ctx context.Context, tx *Tx) (*Product, error) {
		loc, err := lockLocation(ctx, tx.q, in.LocationID)
		if err != nil {
			return nil, err
		}
		var cur Product
		err = sqlxGet(ctx, tx.q, &cur, `SELECT `+productColumns+` FROM products WHERE id = $1 FOR UPDATE`, productID)
		if errors.Is(err, ErrNotFound) {
			return nil, userErr(CodeProductNotFound, "no product with this id", "input", "productId")
		}
		if err != nil {
			return nil, err
		}
		// A location that never held the product starts at 0.
		const level = `
			INSERT INTO inventory_levels (product_id, location_id, stock)
			VALUES ($1, $2, 0)
			ON CONFLICT (product_id, location_id) DO NOTHING`
		if _, err := tx.q.ExecContext(ctx, level, productID, loc); err != nil {
			return nil, translate(err)
		}
		var row struct {
			Product
			Enqueued int64 `db:"enqueued"`
		}
		err = sqlxGet(ctx, tx.q, &row, adjustSQL, productID, delta, kind, reason, loc)
		if errors.Is(err, ErrNotFound) {
			return nil, adjustRefusal(ctx, tx.q, productID, loc, delta)
		}
		if err != nil {
			return nil, err
		}
		return &row.Product, nil
	}
	hash := requestHash("adjustStock", productID, delta, reason)
	if in.LocationID != 0 {
		hash = requestHash("adjustStock", productID, delta, reason, in.LocationID)
	}
	return adminTx(ctx, s, in.IdempotencyKey, "adjustStock", hash, adjust)
}

// adjustRefusal says why adjustSQL changed nothing (the product and the
// level are locked and exist).
func adjustRefusal(ctx context.Context, q queryer, productID, locationID int64, delta int) error {
	var cur struct {
		Product
		Level int `db:"level"`
	}
	const read = `
		SELECT ` + productColumns + `, (SELECT stock FROM inventory_levels WHERE product_id = $1 AND location_id = $2) AS level
		FROM products WHERE id = $1`
	err := sqlxGet(ctx, q, &cur, read, productID, locationID)
	switch {
	case err != nil:
		return err
	case int64(cur.Stock)+int64(delta) > MaxStock:
		return userErr(CodeInvalidInput, "stock would exceed 2147483647", "input", "delta")
	case int64(cur.Stock)+int64(delta) < int64(cur.Held):
		e := userErr(CodeStockBelowHeld, "stock cannot fall below the units carts hold", "input", "delta")
		avail := cur.Available()
		e.Available = &avail
		return e
	default:
		return userErr(CodeInvalidInput, fmt.Sprintf("the location holds %d units: its level cannot fall below 0", cur.Level), "input", "delta")
	}
}

// ProductUpdate is the input of UpdateProduct; nil fields stay unchanged.
type ProductUpdate struct {
	Name        *string
	Description *string // "" clears it
	PriceAmount *string
	Currency    *string
	Handle      *string
	Images      []NewImage // nil: unchanged; empty: none
	// SetLowStockThreshold changes the threshold to LowStockThreshold
	// (nil clears it).
	SetLowStockThreshold bool
	LowStockThreshold    *int
	// SetGroup moves the product into group GroupID (nil: out of any
	// group). SelectedOptions, if not nil, are its values of the group's
	// options; nil keeps those it has (none for a product joining a group).
	SetGroup        bool
	GroupID         *int64
	SelectedOptions OptionSelection
	// SetLimitPerCustomer changes the per-customer limit to
	// LimitPerCustomer (nil removes it); the counters are recounted.
	SetLimitPerCustomer bool
	LimitPerCustomer    *int
}

// UpdateProduct changes a product's name, description, price, handle or
// images (replacing them all), in one transaction. A handle another product
// has is refused (DUPLICATE_HANDLE); renaming keeps the handle, so links stay.
func (s *Store) UpdateProduct(ctx context.Context, id int64, in ProductUpdate) (*Product, error) {
	var cents *int64
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if n == "" || !validText(n, MaxNameLen) {
			return nil, userErr(CodeInvalidInput, "name must be 1-200 characters of valid UTF-8", "input", "name")
		}
		in.Name = &n
	}
	if in.Description != nil && !validText(*in.Description, MaxDescriptionLen) {
		return nil, userErr(CodeInvalidInput, "description must be at most 5000 characters of valid UTF-8", "input", "description")
	}
	if in.PriceAmount != nil {
		c, ok := ParsePrice(*in.PriceAmount)
		if !ok {
			return nil, userErr(CodeInvalidInput, `priceAmount must be a decimal string such as "19.90": no sign, at most 2 decimals, at most 10000000.00`, "input", "priceAmount")
		}
		cents = &c
	}
	if in.Currency != nil && !ValidCurrency(*in.Currency) {
		return nil, userErr(CodeInvalidInput, "currencyCode must be a three-letter ISO 4217 code such as USD", "input", "currencyCode")
	}
	if in.Handle != nil && !ValidHandle(*in.Handle) {
		return nil, handleFormatErr()
	}
	if in.Images != nil {
		if err := validateImages(in.Images); err != nil {
			return nil, err
		}
	}
	if in.SetLowStockThreshold && in.LowStockThreshold != nil && *in.LowStockThreshold < 0 {
		return nil, lowStockErr()
	}
	if err := validateSelection(!in.SetGroup || in.GroupID != nil, in.SelectedOptions); err != nil {
		return nil, err
	}
	if in.SetLimitPerCustomer && in.LimitPerCustomer != nil && *in.LimitPerCustomer < 1 {
		return nil, limitPerCustomerErr()
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		UPDATE products
		SET name = COALESCE($2, name),
		    description = CASE WHEN $3::text IS NULL THEN description ELSE NULLIF($3, '') END,
		    price_cents = COALESCE($4, price_cents),
		    currency = COALESCE($5, currency),
		    handle = COALESCE($6, handle),
		    low_stock_threshold = CASE WHEN $7 THEN $8::integer ELSE low_stock_threshold END,
		    group_id = CASE WHEN $9 THEN $10::bigint ELSE group_id END,
		    selected_options = CASE WHEN $9 AND $10::bigint IS NULL THEN NULL
		                            ELSE COALESCE($11::jsonb, selected_options, CASE WHEN $9 THEN '{}'::jsonb END) END,
		    limit_per_customer = CASE WHEN $12 THEN $13::integer ELSE limit_per_customer END,
		    updated_at = now()
		WHERE id = $1 AND ($5::text IS NULL OR $5 = currency OR held = 0)
		RETURNING ` + productColumns
	var p Product
	update := func(q2 queryer) error {
		return sqlxGet(ctx, q2, &p, q, id, in.Name, in.Description, cents, in.Currency, in.Handle, in.SetLowStockThreshold, in.LowStockThreshold,
			in.SetGroup, in.GroupID, in.SelectedOptions, in.SetLimitPerCustomer, in.LimitPerCustomer)
	}
	var err error
	if in.Images == nil {
		err = update(s.pool())
	} else {
		err = s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
			if err := update(tx.q); err != nil {
				return err
			}
			return replaceImages(ctx, tx.q, id, in.Images)
		})
	}
	if errors.Is(err, ErrNotFound) {
		cur, err := s.ProductByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if cur == nil {
			return nil, userErr(CodeProductNotFound, "no product with this id", "input", "productId")
		}
		// Carts priced in one currency must not silently change currency.
		return nil, productCurrencyErr()
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// AuditRow is one product's books recomputed from first principles.
type AuditRow struct {
	ProductID   int64 `db:"product_id"`
	Stock       int   `db:"stock"`
	LedgerStock int   `db:"ledger_stock"`
	Held        int   `db:"held"`
	CartHeld    int   `db:"cart_held"`
	// PendingHeld is the sum of the lines of orders awaiting payment,
	// whose units are still held.
	PendingHeld int `db:"pending_held"`
	// CustomerLimitMismatches counts the customers whose per-customer
	// counter of this product (customer_product_limits.used) differs from
	// the units of it in their carts and their pending and placed orders;
	// a product without a limit must have no counters (migrations/00024).
	CustomerLimitMismatches int `db:"customer_limit_mismatches"`
	// LevelStock is the sum of the product's inventory levels (ok only
	// when it equals Stock).
	LevelStock int `db:"level_stock"`
	// BadLevels counts the product's locations whose level differs from
	// the sum of its ledger movements there, or that hold units while
	// inactive.
	BadLevels int `db:"bad_levels"`
	// AllocationMismatches counts the product's lines in placed orders
	// whose allocations to locations do not sum to the line's quantity.
	AllocationMismatches int  `db:"allocation_mismatches"`
	OK                   bool `db:"ok"`
}

// MaxAuditPage is the most rows one InventoryAudit call returns.
const MaxAuditPage = 1000

// AuditParams selects a page of the audit: up to First rows (1 to
// MaxAuditPage) of the products whose id is above After, in id order; with
// OnlyProblems, only the rows that are not ok.
type AuditParams struct {
	First        int
	After        int64
	OnlyProblems bool
}

// InventoryAudit recomputes, for a page of products, stock against the sum
// of its ledger movements and held against the sum of live cart lines and of
// the lines of orders awaiting payment, from one consistent snapshot. It
// reads the products in id order and stops at First rows, so a page costs
// its products' movements and lines, not the shop's (with OnlyProblems, it
// reads on until it found First problems).
func (s *Store) InventoryAudit(ctx context.Context, p AuditParams) ([]*AuditRow, error) {
	if p.First < 1 || p.First > MaxAuditPage || p.After < 0 {
		return nil, ErrBadPage
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		WITH pending AS (
			SELECT ol.product_id, sum(ol.quantity) AS total
			FROM order_lines ol
			JOIN orders o ON o.id = ol.order_id
			WHERE o.status = 'PENDING_PAYMENT'
			GROUP BY ol.product_id
		)
		SELECT p.id AS product_id, p.stock, p.held,
		       b.ledger_stock, b.cart_held, b.pending_held, cl.customer_limit_mismatches,
		       lv.level_stock, lv.bad_levels, al.allocation_mismatches, k.ok
		FROM products p
		LEFT JOIN pending po ON po.product_id = p.id
		CROSS JOIN LATERAL (
			SELECT COALESCE((SELECT sum(delta) FROM inventory_movements WHERE product_id = p.id), 0) AS ledger_stock,
			       COALESCE((SELECT sum(quantity) FROM cart_lines WHERE product_id = p.id), 0) AS cart_held,
			       COALESCE(po.total, 0) AS pending_held
		) b
		CROSS JOIN LATERAL (
			-- Per customer: units in carts + pending and placed orders - the counter.
			SELECT count(*) AS customer_limit_mismatches
			FROM (
				SELECT u.customer_id
				FROM (
					SELECT c.customer_id, cl.quantity AS n
					FROM cart_lines cl JOIN carts c ON c.id = cl.cart_id
					WHERE cl.product_id = p.id AND c.customer_id IS NOT NULL AND p.limit_per_customer IS NOT NULL
					UNION ALL
					SELECT o.customer_id, ol.quantity
					FROM order_lines ol JOIN orders o ON o.id = ol.order_id
					WHERE ol.product_id = p.id AND o.customer_id IS NOT NULL AND p.limit_per_customer IS NOT NULL
					  AND o.status IN ('PENDING_PAYMENT', 'PLACED')
					UNION ALL
					SELECT customer_id, -used FROM customer_product_limits WHERE product_id = p.id
				) u
				GROUP BY u.customer_id
				HAVING sum(u.n) <> 0
			) m
		) cl
		CROSS JOIN LATERAL (
			-- Per location: the level against its ledger movements; an
			-- inactive location holds nothing.
			SELECT COALESCE((SELECT sum(stock) FROM inventory_levels WHERE product_id = p.id), 0) AS level_stock,
			       (SELECT count(*)
			        FROM (
			            SELECT location_id, sum(n) AS n
			            FROM (
			                SELECT location_id, stock::bigint AS n FROM inventory_levels WHERE product_id = p.id
			                UNION ALL
			                SELECT location_id, -delta FROM inventory_movements WHERE product_id = p.id
			            ) m
			            GROUP BY location_id
			        ) d
			        JOIN locations loc ON loc.id = d.location_id
			        WHERE d.n <> 0
			           OR (NOT loc.active AND EXISTS (SELECT 1 FROM inventory_levels x WHERE x.product_id = p.id AND x.location_id = loc.id AND x.stock > 0))
			       ) AS bad_levels
		) lv
		CROSS JOIN LATERAL (
			-- Placed order lines whose allocations do not sum to the line.
			SELECT count(*) AS allocation_mismatches
			FROM order_lines ol
			JOIN orders o ON o.id = ol.order_id AND o.status = 'PLACED'
			WHERE ol.product_id = p.id
			  AND ol.quantity <> COALESCE((SELECT sum(a.quantity) FROM order_line_allocations a
			                               WHERE a.order_id = ol.order_id AND a.product_id = ol.product_id), 0)
		) al
		CROSS JOIN LATERAL (
			SELECT p.stock = b.ledger_stock AND p.held = b.cart_held + b.pending_held
			       AND p.held BETWEEN 0 AND p.stock AND cl.customer_limit_mismatches = 0
			       AND p.stock = lv.level_stock AND lv.bad_levels = 0 AND al.allocation_mismatches = 0 AS ok
		) k
		WHERE p.id > $1
		  AND (NOT $2 OR NOT k.ok)
		ORDER BY p.id
		LIMIT $3`
	rows := make([]*AuditRow, 0, min(p.First, 100))
	if err := sqlxSelect(ctx, s.pool(), &rows, q, p.After, p.OnlyProblems, p.First); err != nil {
		return nil, err
	}
	return rows, nil
}

// CartHolding is one of the biggest holders.
type CartHolding struct {
	Cart     *Cart `db:"-"`
	Quantity int   `db:"quantity"`
	Lines    int   `db:"lines"`
	nullableCart
}

// TopHolders lists the active carts holding the most units, of productID
// when it is not 0.
func (s *Store) TopHolders(ctx context.Context, productID int64, first int) ([]*CartHolding, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT c.id, c.status, c.created_at, c.updated_at, c.expires_at,
		       CASE WHEN $1::bigint = 0 THEN c.total_quantity ELSE cl.quantity END AS quantity,
		       c.line_count AS lines
		FROM carts c
		LEFT JOIN cart_lines cl ON cl.cart_id = c.id AND cl.product_id = $1
		WHERE c.status = 'ACTIVE' AND c.expires_at > now()
		  AND ($1 = 0 OR cl.product_id IS NOT NULL)
		ORDER BY quantity DESC, c.id
		LIMIT $2`
	var rows []*CartHolding
	if err := sqlxSelect(ctx, s.pool(), &rows, q, productID, first); err != nil {
		return nil, err
	}
	for _, r := range rows {
		r.Cart = r.cart()
	}
	return rows, nil
}

// stockAdjustedData is the SQL of a STOCK_ADJUSTED event's data for the
// product row alias t, moved by delta, as a ledger movement of kind with
// reason (SQL expressions).
func stockAdjustedData(t, delta, kind, reason string) string {
	return `jsonb_build_object('productId', ` + t + `.id::text, 'sku', ` + t + `.sku, 'delta', ` + delta + `::integer,
		'kind', ` + kind + `::text, 'reason', ` + reason + `::text, 'stock', ` + t + `.stock, 'held', ` + t + `.held,
		'available', ` + t + `.stock - ` + t + `.held, 'groupId', ` + t + `.group_id::text)`
}
