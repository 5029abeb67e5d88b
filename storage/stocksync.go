package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

// MaxSetStockItems bounds the items of one SetStock call.
const MaxSetStockItems = 250

// SetStockItem sets one product's absolute on-hand count. The product is
// named by ProductID or, when it is 0 and SKU is set, by SKU.
type SetStockItem struct {
	ProductID int64
	// HasProductID: the item named a product id (even a malformed one,
	// parsed as 0), so it names no SKU.
	HasProductID bool
	SKU          string
	Stock        int
	// CompareStock, when set, makes the item apply only if the level's
	// stock is exactly this when the update runs.
	CompareStock *int
	// LocationID is the location whose level Stock sets (0: the default
	// location); the product's total moves by the level's change.
	LocationID int64
}

// SetStockParams is the input of SetStock.
type SetStockParams struct {
	Items  []SetStockItem
	Reason string
	// AllowPartial commits the items that apply and refuses the others;
	// without it one refused item refuses them all.
	AllowPartial   bool
	IdempotencyKey string
}

// SetStockResult is what SetStock did: the products of the items that
// applied (in item order), and a refusal per item that did not.
type SetStockResult struct {
	Products []*Product
	Errors   []*Error
}

// SetStock sets the stock of up to 250 products in one transaction: the
// products are locked in id order, then ONE conditional UPDATE applies
// every item whose guard holds on the locked row (stock = compareStock when
// given, and the new stock not below held), writing a ledger movement
// (restock or adjustment, with the reason) and a STOCK_ADJUSTED event for
// each product it changed; the products trigger adds sold-out, back-in-stock
// and low-stock events. An item whose guard failed is a refusal
// (STOCK_CHANGED with the current stock, or STOCK_BELOW_HELD); unless
// AllowPartial, any refusal rolls the whole call back.
func (s *Store) SetStock(ctx context.Context, in SetStockParams) (*SetStockResult, error) {
	in.Reason = strings.TrimSpace(in.Reason)
	if len(in.Items) == 0 || len(in.Items) > MaxSetStockItems {
		return nil, userErr(CodeInvalidInput, "items must hold 1-250 items", "input", "items")
	}
	if !validText(in.Reason, MaxReasonLen) {
		return nil, userErr(CodeInvalidInput, "reason must be at most 500 characters of valid UTF-8", "input", "reason")
	}
	if in.IdempotencyKey != "" && !ValidIdempotencyKey(in.IdempotencyKey) {
		return nil, invalidKey()
	}
	res := &SetStockResult{Products: []*Product{}}
	ids, errs, err := s.resolveStockItems(ctx, in.Items)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 && !in.AllowPartial {
		res.Errors = errs
		return res, nil
	}
	// apply sets the items in tx; unless AllowPartial, a refusal is
	// errRollback with the refusals in its result.
	apply := func(ctx context.Context, tx *Tx) (*SetStockResult, error) {
		products, refused, err := setStockTx(ctx, tx.q, in, ids)
		if err != nil {
			return nil, err
		}
		out := &SetStockResult{Products: products, Errors: mergeItemErrors(errs, refused)}
		if len(out.Errors) > 0 && !in.AllowPartial {
			out.Products = []*Product{}
			return out, errRollback
		}
		return out, nil
	}
	if in.IdempotencyKey == "" {
		var out *SetStockResult
		err = s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
			var err error
			out, err = apply(ctx, tx)
			return err
		})
		if errors.Is(err, errRollback) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	// Keyed: the answer is stored as the products' ids and the refusals; a
	// replay renders the products as they are now.
	var first *SetStockResult
	rec, replayed, err := runKeyed(ctx, s, adminScope, in.IdempotencyKey, "setStock", stockRequestHash(in), func(ctx context.Context, tx *Tx) (stockOutcome, error) {
		if _, err := tx.q.ExecContext(ctx, `SAVEPOINT set_stock`); err != nil {
			return stockOutcome{}, translate(err)
		}
		out, err := apply(ctx, tx)
		if errors.Is(err, errRollback) {
			if _, err := tx.q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT set_stock`); err != nil {
				return stockOutcome{}, translate(err)
			}
		} else if err != nil {
			return stockOutcome{}, err
		}
		first = out
		rec := stockOutcome{ProductIDs: []int64{}, Errors: out.Errors}
		for _, p := range out.Products {
			rec.ProductIDs = append(rec.ProductIDs, p.ID)
		}
		return rec, nil
	})
	if err != nil {
		return nil, err
	}
	if !replayed {
		return first, nil
	}
	ps, err := productsInOrder(ctx, s.pool(), rec.ProductIDs)
	if err != nil {
		return nil, err
	}
	return &SetStockResult{Products: ps, Errors: rec.Errors}, nil
}

// errRollback makes WithTx roll back a transaction whose outcome is a
// refusal the caller reports itself.
var errRollback = errors.New("storage: refused, rolled back")

func itemErr(code Code, i int, msg string) *Error {
	return userErr(code, msg, "input", "items", strconv.Itoa(i))
}

// resolveStockItems checks every item and finds its product id (one query
// for the SKUs): ids[i] is 0 for an item refused here.
func (s *Store) resolveStockItems(ctx context.Context, items []SetStockItem) ([]int64, []*Error, error) {
	ids := make([]int64, len(items))
	var errs []*Error
	var skus []string
	for i, it := range items {
		switch {
		case it.HasProductID == (it.SKU != ""):
			errs = append(errs, itemErr(CodeInvalidInput, i, "an item names its product by productId or by sku, not both"))
		case it.Stock < 0 || it.Stock > MaxStock:
			errs = append(errs, itemErr(CodeInvalidInput, i, "stock must be between 0 and 2147483647"))
		case it.CompareStock != nil && *it.CompareStock < 0:
			errs = append(errs, itemErr(CodeInvalidInput, i, "compareStock must be at least 0"))
		case it.SKU != "":
			skus = append(skus, it.SKU)
			ids[i] = -1 // resolved below
		case it.ProductID <= 0:
			errs = append(errs, itemErr(CodeProductNotFound, i, "no product with this id"))
		default:
			ids[i] = it.ProductID
		}
	}
	if len(skus) > 0 {
		ctx, cancel := s.withTimeout(ctx)
		defer cancel()
		var rows []struct {
			ID  int64  `db:"id"`
			SKU string `db:"sku"`
		}
		if err := sqlxSelect(ctx, s.pool(), &rows, `SELECT id, sku FROM products WHERE sku = ANY($1)`, pq.Array(skus)); err != nil {
			return nil, nil, err
		}
		bySKU := make(map[string]int64, len(rows))
		for _, r := range rows {
			bySKU[r.SKU] = r.ID
		}
		for i, it := range items {
			if ids[i] != -1 {
				continue
			}
			if ids[i] = bySKU[it.SKU]; ids[i] == 0 {
				errs = append(errs, itemErr(CodeProductNotFound, i, "no product with this sku"))
			}
		}
	}
	seen := make(map[int64]bool, len(items))
	for i, id := range ids {
		if id == 0 {
			continue
		}
		if seen[id] {
			errs = append(errs, itemErr(CodeInvalidInput, i, "the product is named by an earlier item too"))
			ids[i] = 0
		}
		seen[id] = true
	}
	sortItemErrors(errs)
	return ids, errs, nil
}

// setStockSQL applies every item whose guard holds, in one statement, on
// rows the transaction has locked. before is the same snapshot as the
// UPDATE and, the rows being locked, their current values: it explains a
// refusal (the current level) and gives each movement its delta; the guard
// itself is the UPDATE's WHERE clause. An item sets one level; its
// product's total moves by as much.
var setStockSQL = `
	WITH items AS (
		SELECT * FROM unnest($1::bigint[], $2::integer[], $3::integer[], $5::bigint[]) AS i(product_id, new_stock, compare, location_id)
	), before AS (
		SELECT p.id, p.stock, p.held, l.stock AS level
		FROM products p
		JOIN items i ON i.product_id = p.id
		JOIN inventory_levels l ON l.product_id = p.id AND l.location_id = i.location_id
	), updated AS (
		UPDATE products p
		SET stock = p.stock + (i.new_stock - b.level), updated_at = now()
		FROM items i
		JOIN before b ON b.id = i.product_id
		WHERE p.id = i.product_id
		  AND (i.compare IS NULL OR b.level = i.compare)
		  AND p.stock::bigint + (i.new_stock - b.level) >= p.held
		  AND p.stock::bigint + (i.new_stock - b.level) <= 2147483647
		  AND b.level <> i.new_stock
		RETURNING p.id, p.sku, p.stock, p.held, p.group_id, i.location_id, i.new_stock, i.new_stock - b.level AS delta
	), leveled AS (
		UPDATE inventory_levels l
		SET stock = u.new_stock
		FROM updated u
		WHERE l.product_id = u.id AND l.location_id = u.location_id
	), moves AS (
		SELECT u.*, CASE WHEN u.delta > 0 THEN 'restock' ELSE 'adjustment' END AS kind
		FROM updated u
	), movement AS (
		INSERT INTO inventory_movements (product_id, location_id, delta, kind, reason)
		SELECT id, location_id, delta, kind, NULLIF($4, '') FROM moves
	), event AS (
		SELECT webhook_enqueue('STOCK_ADJUSTED', ` + stockAdjustedData("moves", "moves.delta", "moves.kind", "NULLIF($4, '')") + `)
		FROM moves
		ORDER BY moves.id
	)
	-- side reads event: PostgreSQL runs a SELECT CTE only if the query reads it.
	-- Live subscribers are notified by the products_notify_stock trigger.
	SELECT i.product_id, b.stock AS current_stock, b.held AS current_held, b.level AS current_level,
	       u.id IS NOT NULL AS updated, (SELECT count(*) FROM event) AS side
	FROM items i
	LEFT JOIN before b ON b.id = i.product_id
	LEFT JOIN updated u ON u.id = i.product_id`

// setStockTx locks the items' locations (FOR SHARE) and then their
// products in id order and applies the items; it returns the products of
// the items that applied, in item order, and the refusals.
func setStockTx(ctx context.Context, q queryer, in SetStockParams, ids []int64) ([]*Product, []*Error, error) {
	locs, refused, err := lockItemLocations(ctx, q, in.Items, ids)
	if err != nil {
		return nil, nil, err
	}
	var pids, lids []int64
	var stocks []int64
	var compares []*int64
	index := map[int64]int{}
	for i, id := range ids {
		if id <= 0 || locs[i] == 0 {
			continue
		}
		it := in.Items[i]
		index[id] = i
		pids = append(pids, id)
		lids = append(lids, locs[i])
		stocks = append(stocks, int64(it.Stock))
		if it.CompareStock != nil {
			c := int64(*it.CompareStock)
			compares = append(compares, &c)
		} else {
			compares = append(compares, nil)
		}
	}
	if len(pids) == 0 {
		return []*Product{}, refused, nil
	}
	// Ascending id: the lock order of every multi-product statement.
	var locked []int64
	if err := sqlxSelect(ctx, q, &locked, `SELECT id FROM products WHERE id = ANY($1) ORDER BY id FOR UPDATE`, pq.Array(pids)); err != nil {
		return nil, nil, err
	}
	// A location that never held the product starts at 0.
	const levels = `
		INSERT INTO inventory_levels (product_id, location_id, stock)
		SELECT i.product_id, i.location_id, 0
		FROM unnest($1::bigint[], $2::bigint[]) AS i(product_id, location_id)
		JOIN products p ON p.id = i.product_id
		ON CONFLICT (product_id, location_id) DO NOTHING`
	if _, err := q.ExecContext(ctx, levels, pq.Array(pids), pq.Array(lids)); err != nil {
		return nil, nil, translate(err)
	}
	var rows []struct {
		ProductID    int64 `db:"product_id"`
		CurrentStock *int  `db:"current_stock"`
		CurrentHeld  *int  `db:"current_held"`
		CurrentLevel *int  `db:"current_level"`
		Updated      bool  `db:"updated"`
		Side         int64 `db:"side"`
	}
	if err := sqlxSelect(ctx, q, &rows, setStockSQL, pq.Array(pids), pq.Array(stocks), int64Array(compares), in.Reason, pq.Array(lids)); err != nil {
		return nil, nil, err
	}
	var ok []int64
	for _, r := range rows {
		i := index[r.ProductID]
		it := in.Items[i]
		switch {
		case r.CurrentStock == nil:
			refused = append(refused, itemErr(CodeProductNotFound, i, "no product with this id"))
		case r.Updated || *r.CurrentLevel == it.Stock && (it.CompareStock == nil || *it.CompareStock == *r.CurrentLevel):
			ok = append(ok, r.ProductID)
		case it.CompareStock != nil && *it.CompareStock != *r.CurrentLevel:
			e := itemErr(CodeStockChanged, i, fmt.Sprintf("the stock is %d, not the %d compareStock expected", *r.CurrentLevel, *it.CompareStock))
			e.CurrentStock = r.CurrentLevel
			refused = append(refused, e)
		case int64(*r.CurrentStock)+int64(it.Stock-*r.CurrentLevel) > MaxStock:
			e := itemErr(CodeStockLimitExceeded, i, "the product's stock would exceed 2147483647")
			e.CurrentStock = r.CurrentLevel
			refused = append(refused, e)
		default:
			e := itemErr(CodeStockBelowHeld, i, "stock cannot fall below the units carts hold")
			e.CurrentStock = r.CurrentLevel
			avail := *r.CurrentStock - *r.CurrentHeld
			e.Available = &avail
			refused = append(refused, e)
		}
	}
	sortItemErrors(refused)
	var ps []*Product
	if len(ok) > 0 {
		if err := sqlxSelect(ctx, q, &ps, `SELECT `+productColumns+` FROM products WHERE id = ANY($1)`, pq.Array(ok)); err != nil {
			return nil, nil, err
		}
	}
	byID := make(map[int64]*Product, len(ps))
	for _, p := range ps {
		byID[p.ID] = p
	}
	products := make([]*Product, 0, len(ps))
	for _, id := range ids {
		if p := byID[id]; p != nil {
			products = append(products, p)
		}
	}
	return products, refused, nil
}

// lockItemLocations resolves and locks FOR SHARE (in id order) the
// locations the items name (0: the default location): locs[i] is the
// location of item i, 0 for an item refused here (LOCATION_NOT_FOUND, or
// INVALID_INPUT for an inactive location) or already refused (ids[i] 0).
func lockItemLocations(ctx context.Context, q queryer, items []SetStockItem, ids []int64) ([]int64, []*Error, error) {
	var want []int64
	for i, it := range items {
		if ids[i] > 0 && it.LocationID > 0 {
			want = append(want, it.LocationID)
		}
	}
	const stmt = `
		SELECT ` + locationColumns + `
		FROM locations
		WHERE id = ANY($1) OR is_default
		ORDER BY id
		FOR SHARE`
	var rows []Location
	if err := sqlxSelect(ctx, q, &rows, stmt, pq.Array(want)); err != nil {
		return nil, nil, err
	}
	byID := make(map[int64]Location, len(rows))
	var def Location
	for _, l := range rows {
		byID[l.ID] = l
		if l.IsDefault {
			def = l
		}
	}
	locs := make([]int64, len(items))
	var refused []*Error
	for i, it := range items {
		if ids[i] <= 0 {
			continue
		}
		l, found := def, true
		if it.LocationID != 0 {
			l, found = byID[it.LocationID]
		}
		switch {
		case !found:
			refused = append(refused, itemErr(CodeLocationNotFound, i, "no location with this id"))
		case !l.Active:
			refused = append(refused, itemErr(CodeInvalidInput, i, "the location is inactive: its stock cannot change"))
		default:
			locs[i] = l.ID
		}
	}
	return locs, refused, nil
}

// int64Array passes nullable integers as a PostgreSQL array.
type int64Array []*int64

func (a int64Array) Value() (any, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, v := range a {
		if i > 0 {
			b.WriteByte(',')
		}
		if v == nil {
			b.WriteString("NULL")
		} else {
			b.WriteString(strconv.FormatInt(*v, 10))
		}
	}
	b.WriteByte('}')
	return b.String(), nil
}

func mergeItemErrors(a, b []*Error) []*Error {
	out := append(append([]*Error(nil), a...), b...)
	sortItemErrors(out)
	return out
}

// sortItemErrors orders refusals by item index.
func sortItemErrors(errs []*Error) {
	idx := func(e *Error) int {
		if len(e.Field) < 3 {
			return -1
		}
		n, _ := strconv.Atoi(e.Field[2])
		return n
	}
	for i := 1; i < len(errs); i++ {
		for j := i; j > 0 && idx(errs[j]) < idx(errs[j-1]); j-- {
			errs[j], errs[j-1] = errs[j-1], errs[j]
		}
	}
}

// stockOutcome is a keyed setStock's stored answer: the products by id (a
// replay renders them as they are now) and the refusals.
type stockOutcome struct {
	ProductIDs []int64  `json:"productIds"`
	Errors     []*Error `json:"errors"`
}

func stockRequestHash(in SetStockParams) []byte {
	parts := []any{in.Reason, in.AllowPartial}
	for _, it := range in.Items {
		c := "-"
		if it.CompareStock != nil {
			c = strconv.Itoa(*it.CompareStock)
		}
		parts = append(parts, it.HasProductID, it.ProductID, it.SKU, it.Stock, c)
		if it.LocationID != 0 {
			parts = append(parts, "location", it.LocationID)
		}
	}
	return requestHash("setStock", parts...)
}

// productsInOrder reads the products with these ids, in this order (ids of
// products that no longer exist are left out).
func productsInOrder(ctx context.Context, q queryer, ids []int64) ([]*Product, error) {
	out := []*Product{}
	if len(ids) == 0 {
		return out, nil
	}
	var ps []*Product
	if err := sqlxSelect(ctx, q, &ps, `SELECT `+productColumns+` FROM products WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, err
	}
	byID := make(map[int64]*Product, len(ps))
	for _, p := range ps {
		byID[p.ID] = p
	}
	for _, id := range ids {
		if p := byID[id]; p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}
