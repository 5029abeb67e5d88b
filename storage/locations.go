package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Stock in several locations (migrations/00025, docs/locations.md).
//
// products.stock stays the sellable total and the reservation's arbiter;
// inventory_levels splits it over the locations. A level changes only
// under its product's row lock (lock order: location rows when taken,
// products in ascending id, levels), in the transaction that changes the
// product's stock by the same amount, with a ledger movement at the
// location. Units are allocated to locations when an order is sold
// (allocateOrder), not when they are reserved.

// Allocation strategies (ALLOCATION_STRATEGY).
const (
	// AllocatePriority takes units from the active locations with the
	// lowest priority number first (ties: the lowest id).
	AllocatePriority = "priority"
	// AllocateMostStock takes units from the active location holding the
	// most units of the product first (ties: priority, then id).
	AllocateMostStock = "most_stock"
)

// ValidAllocationStrategy reports whether s names an allocation strategy.
func ValidAllocationStrategy(s string) bool {
	return s == AllocatePriority || s == AllocateMostStock
}

// CodeLocationNotFound: no location with this id.
const CodeLocationNotFound Code = "LOCATION_NOT_FOUND"

// ErrAllocation: a sold order's units could not all be taken from the
// levels of its products' active locations. The product totals covered the
// order, so this is a broken invariant (a bug, or a level changed without
// its total); the transaction fails whole and nothing is sold.
var ErrAllocation = errors.New("storage: the order's units could not be allocated to locations")

// MaxLocationNameLen bounds a location's name.
const MaxLocationNameLen = 200

// Location is a place that holds stock: a warehouse, a store, a partner's
// depot.
type Location struct {
	ID        int64     `db:"id"`
	Name      string    `db:"name"`
	Priority  int       `db:"priority"`
	Active    bool      `db:"active"`
	IsDefault bool      `db:"is_default"`
	CreatedAt time.Time `db:"created_at"`
}

const locationColumns = `id, name, priority, active, is_default, created_at`

// InventoryLevel is a product's units at one location.
type InventoryLevel struct {
	ProductID int64 `db:"product_id"`
	Stock     int   `db:"stock"`
	Location  Location
}

// Allocation is how many units of an order line were taken from a
// location.
type Allocation struct {
	OrderID   string `db:"order_id"`
	ProductID int64  `db:"product_id"`
	Quantity  int    `db:"quantity"`
	Location  Location
}

func locationNotFound() *Error {
	return userErr(CodeLocationNotFound, "no location with this id", "input", "locationId")
}

// Locations lists every location, in id order.
func (s *Store) Locations(ctx context.Context) ([]*Location, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	out := []*Location{}
	if err := sqlxSelect(ctx, s.reader(), &out, `SELECT `+locationColumns+` FROM locations ORDER BY id`); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateLocation adds an active location.
func (s *Store) CreateLocation(ctx context.Context, name string, priority int) (*Location, error) {
	return s.CreateLocationKeyed(ctx, name, priority, "")
}

// CreateLocationKeyed is CreateLocation with an idempotency key ("" for
// none): a repeat with the key and the same input creates nothing and
// answers the location the first attempt created.
func (s *Store) CreateLocationKeyed(ctx context.Context, name string, priority int, key string) (*Location, error) {
	name = strings.TrimSpace(name)
	if name == "" || !validText(name, MaxLocationNameLen) {
		return nil, userErr(CodeInvalidInput, "name must be 1-200 characters of valid UTF-8", "input", "name")
	}
	const q = `
		INSERT INTO locations (name, priority)
		VALUES ($1, $2)
		RETURNING ` + locationColumns
	return adminKeyed(ctx, s, key, "createLocation", requestHash("createLocation", name, priority), func(ctx context.Context, q2 queryer) (*Location, error) {
		var l Location
		if err := sqlxGet(ctx, q2, &l, q, name, priority); err != nil {
			return nil, err
		}
		return &l, nil
	})
}

// LocationUpdate is the input of UpdateLocation; nil fields stay unchanged.
type LocationUpdate struct {
	ID       int64
	Name     *string
	Priority *int
	Active   *bool
	// IdempotencyKey ("" for none): a repeat with the key and the same
	// input changes nothing and answers what the first attempt answered.
	IdempotencyKey string
}

func (u LocationUpdate) hash() []byte {
	parts := []any{u.ID}
	if u.Name != nil {
		parts = append(parts, "name", *u.Name)
	}
	if u.Priority != nil {
		parts = append(parts, "priority", *u.Priority)
	}
	if u.Active != nil {
		parts = append(parts, "active", *u.Active)
	}
	return requestHash("updateLocation", parts...)
}

// UpdateLocation renames, reprioritises, deactivates or reactivates a
// location, in one transaction. Deactivating takes the location's units
// out of the sellable total: every level there falls to 0 and its
// product's stock by as much, with an adjustment in the ledger, only if
// every such product keeps stock >= held (else STOCK_BELOW_HELD and nothing
// changes). The default location cannot be deactivated.
func (s *Store) UpdateLocation(ctx context.Context, in LocationUpdate) (*Location, error) {
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if n == "" || !validText(n, MaxLocationNameLen) {
			return nil, userErr(CodeInvalidInput, "name must be 1-200 characters of valid UTF-8", "input", "name")
		}
		in.Name = &n
	}
	if in.ID <= 0 {
		return nil, locationNotFound()
	}
	return adminTx(ctx, s, in.IdempotencyKey, "updateLocation", in.hash(), func(ctx context.Context, tx *Tx) (*Location, error) {
		return updateLocationTx(ctx, tx, in)
	})
}

// updateLocationTx is UpdateLocation's transaction body: it locks the
// location, empties it when it is deactivated, and writes the change.
func updateLocationTx(ctx context.Context, tx *Tx, in LocationUpdate) (*Location, error) {
	var cur Location
	// FOR NO KEY UPDATE: it waits for (and then excludes) the stock changes
	// at the location, which take it FOR SHARE, but not for the sales that
	// allocate from it, whose allocation and ledger rows only take FOR KEY
	// SHARE (their foreign keys) while they hold products this transaction
	// may be waiting for.
	err := sqlxGet(ctx, tx.q, &cur, `SELECT `+locationColumns+` FROM locations WHERE id = $1 FOR NO KEY UPDATE`, in.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, locationNotFound()
	}
	if err != nil {
		return nil, err
	}
	if in.Active != nil && !*in.Active && cur.Active {
		if cur.IsDefault {
			return nil, userErr(CodeInvalidInput, "the default location cannot be deactivated", "input", "active")
		}
		if err := emptyLocation(ctx, tx.q, cur); err != nil {
			return nil, err
		}
	}
	const q = `
		UPDATE locations
		SET name = COALESCE($2, name), priority = COALESCE($3, priority), active = COALESCE($4, active)
		WHERE id = $1
		RETURNING ` + locationColumns
	var out Location
	if err := sqlxGet(ctx, tx.q, &out, q, in.ID, in.Name, in.Priority, in.Active); err != nil {
		return nil, err
	}
	return &out, nil
}

// emptyLocation takes every unit at location loc (whose row the
// transaction has locked FOR NO KEY UPDATE, so no stock change can add units
// there) out of the sellable total.
func emptyLocation(ctx context.Context, q queryer, loc Location) error {
	// Ascending id: the lock order of every multi-product statement.
	const lock = `
		SELECT p.id
		FROM products p
		JOIN inventory_levels l ON l.product_id = p.id
		WHERE l.location_id = $1 AND l.stock > 0
		ORDER BY p.id
		FOR UPDATE OF p`
	var ids []int64
	if err := sqlxSelect(ctx, q, &ids, lock, loc.ID); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	// The rows are locked: this statement's snapshot is their current state.
	stmt := `
		WITH lv AS (
			SELECT product_id, stock
			FROM inventory_levels
			WHERE location_id = $1 AND stock > 0
		), total AS (
			UPDATE products p
			SET stock = p.stock - lv.stock, updated_at = now()
			FROM lv
			WHERE p.id = lv.product_id AND p.stock - lv.stock >= p.held
			RETURNING p.id, p.sku, p.stock, p.held, p.group_id, lv.stock AS removed
		), zeroed AS (
			UPDATE inventory_levels l
			SET stock = 0
			FROM total
			WHERE l.product_id = total.id AND l.location_id = $1
		), movement AS (
			INSERT INTO inventory_movements (product_id, location_id, delta, kind, reason)
			SELECT id, $1, -removed, 'adjustment', $2
			FROM total
		), event AS (
			SELECT webhook_enqueue('STOCK_ADJUSTED', ` + stockAdjustedData("total", "(-total.removed)", "'adjustment'", "$2") + `)
			FROM total
			ORDER BY total.id
		)
		SELECT (SELECT count(*) FROM lv) AS levels, (SELECT count(*) FROM total) AS emptied,
		       (SELECT min(lv.product_id) FROM lv LEFT JOIN total ON total.id = lv.product_id WHERE total.id IS NULL) AS refused,
		       (SELECT count(*) FROM event) AS side`
	var row struct {
		Levels  int    `db:"levels"`
		Emptied int    `db:"emptied"`
		Refused *int64 `db:"refused"`
		Side    int64  `db:"side"`
	}
	if err := sqlxGet(ctx, q, &row, stmt, loc.ID, "location deactivated: "+loc.Name); err != nil {
		return err
	}
	if row.Emptied != row.Levels {
		msg := "deactivating would leave a product with less stock than carts hold"
		if row.Refused != nil {
			msg = fmt.Sprintf("deactivating would leave product %d with less stock than carts hold", *row.Refused)
		}
		return userErr(CodeStockBelowHeld, msg, "input", "active")
	}
	return nil
}

// lockLocation resolves a location for a stock change (0: the default
// location) and locks its row FOR SHARE, so that it cannot be deactivated
// before the change commits; it refuses an unknown (LOCATION_NOT_FOUND) or
// inactive (INVALID_INPUT) location.
func lockLocation(ctx context.Context, q queryer, id int64) (int64, error) {
	if id < 0 {
		return 0, locationNotFound()
	}
	var l Location
	err := sqlxGet(ctx, q, &l, `SELECT `+locationColumns+` FROM locations WHERE CASE WHEN $1 = 0 THEN is_default ELSE id = $1 END FOR SHARE`, id)
	if errors.Is(err, ErrNotFound) {
		return 0, locationNotFound()
	}
	if err != nil {
		return 0, err
	}
	if !l.Active {
		return 0, userErr(CodeInvalidInput, "the location is inactive: its stock cannot change", "input", "locationId")
	}
	return l.ID, nil
}

// allocationSQL takes an order's units from its products' levels at the
// active locations, in the strategy's order (the ORDER BY placeholder),
// splitting a line over locations when one cannot cover it: per level one
// conditional UPDATE that cannot take it below 0, an allocation row and a
// sale in the ledger at the location. Its products are locked by the
// transaction, so the plan (a running sum over the levels as they are) is
// current; the guard is the UPDATE's WHERE all the same.
const allocationSQL = `
	WITH lines AS (
		SELECT product_id, quantity
		FROM order_lines
		WHERE order_id = $1
	), candidates AS (
		SELECT l.product_id, l.location_id, l.stock, ln.quantity,
		       sum(l.stock) OVER (PARTITION BY l.product_id ORDER BY %s
		                          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto
		FROM inventory_levels l
		JOIN locations loc ON loc.id = l.location_id AND loc.active
		JOIN lines ln ON ln.product_id = l.product_id
		WHERE l.stock > 0
	), plan AS (
		SELECT product_id, location_id, LEAST(stock, quantity - (upto - stock))::integer AS take
		FROM candidates
		WHERE upto - stock < quantity
	), taken AS (
		UPDATE inventory_levels l
		SET stock = l.stock - plan.take
		FROM plan
		WHERE l.product_id = plan.product_id AND l.location_id = plan.location_id AND l.stock >= plan.take
		RETURNING l.product_id, l.location_id, plan.take
	), allocated AS (
		INSERT INTO order_line_allocations (order_id, product_id, location_id, quantity)
		SELECT $1, product_id, location_id, take
		FROM taken
	), ledger AS (
		INSERT INTO inventory_movements (product_id, location_id, delta, kind, order_id)
		SELECT product_id, location_id, -take, 'sale', $1
		FROM taken
	)
	SELECT (SELECT COALESCE(sum(take), 0) FROM taken) AS allocated,
	       (SELECT COALESCE(sum(quantity), 0) FROM lines) AS ordered`

var (
	allocatePrioritySQL  = fmt.Sprintf(allocationSQL, `loc.priority, loc.id`)
	allocateMostStockSQL = fmt.Sprintf(allocationSQL, `l.stock DESC, loc.priority, loc.id`)
)

// allocateOrder allocates a just-sold order's lines to locations by the
// store's strategy, in the transaction that sold it (its products locked,
// their stock already lowered by the lines): it returns ErrAllocation,
// failing that transaction, when the levels cannot cover every line.
func (s *Store) allocateOrder(ctx context.Context, q queryer, orderID string) error {
	stmt := allocatePrioritySQL
	if s.opts.AllocationStrategy == AllocateMostStock {
		stmt = allocateMostStockSQL
	}
	var row struct {
		Allocated int64 `db:"allocated"`
		Ordered   int64 `db:"ordered"`
	}
	if err := sqlxGet(ctx, q, &row, stmt, orderID); err != nil {
		return err
	}
	if row.Allocated != row.Ordered {
		return fmt.Errorf("%w: order %s: %d of %d units", ErrAllocation, orderID, row.Allocated, row.Ordered)
	}
	return nil
}

// restoreAllocationsSQL returns a cancelled order's units to the levels
// they were allocated from, with a cancellation in the ledger at each
// location, in the transaction that cancels it (its products locked, their
// stock raised by the units it returns). Units allocated from a location
// deactivated since do not come back into the sellable total: their
// cancellation is followed by an adjustment that writes them off again at
// that location (a closed location holds nothing; adjustStock at a
// reactivated location brings units back).
const restoreAllocationsSQL = `
	WITH back AS (
		SELECT a.product_id, a.location_id, a.quantity, loc.active
		FROM order_line_allocations a
		JOIN locations loc ON loc.id = a.location_id
		WHERE a.order_id = $1
	), restored AS (
		UPDATE inventory_levels l
		SET stock = l.stock + back.quantity
		FROM back
		WHERE back.active AND l.product_id = back.product_id AND l.location_id = back.location_id
		RETURNING l.product_id
	), ledger AS (
		INSERT INTO inventory_movements (product_id, location_id, delta, kind, order_id)
		SELECT product_id, location_id, quantity, 'cancellation', $1
		FROM back
	), written_off AS (
		INSERT INTO inventory_movements (product_id, location_id, delta, kind, reason)
		SELECT product_id, location_id, -quantity, 'adjustment', 'cancelled order: its location is inactive'
		FROM back
		WHERE NOT active
	)
	SELECT count(*) FROM restored`

// lockAllocationLocations locks FOR SHARE the locations an order's units
// were allocated from (before its products: the lock order), so none is
// deactivated while the units go back.
func lockAllocationLocations(ctx context.Context, q queryer, orderID string) error {
	const stmt = `
		SELECT id FROM locations
		WHERE id IN (SELECT location_id FROM order_line_allocations WHERE order_id = $1)
		ORDER BY id
		FOR SHARE`
	var ids []int64
	return sqlxSelect(ctx, q, &ids, stmt, orderID)
}

// LevelsByProductIDs loads the inventory levels of many products, each in
// location id order.
func (s *Store) LevelsByProductIDs(ctx context.Context, ids []int64) (map[int64][]*InventoryLevel, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT l.product_id, l.stock,
		       loc.id AS "location.id", loc.name AS "location.name", loc.priority AS "location.priority",
		       loc.active AS "location.active", loc.is_default AS "location.is_default", loc.created_at AS "location.created_at"
		FROM inventory_levels l
		JOIN locations loc ON loc.id = l.location_id
		WHERE l.product_id = ANY($1)
		ORDER BY l.product_id, loc.id`
	var rows []*InventoryLevel
	if err := sqlxSelect(ctx, s.reader(), &rows, q, pq.Array(ids)); err != nil {
		return nil, err
	}
	out := make(map[int64][]*InventoryLevel, len(ids))
	for _, id := range ids {
		out[id] = []*InventoryLevel{}
	}
	for _, r := range rows {
		out[r.ProductID] = append(out[r.ProductID], r)
	}
	return out, nil
}

// AllocationsByOrderIDs loads the allocations of many orders' lines, keyed
// by line, each in location id order.
func (s *Store) AllocationsByOrderIDs(ctx context.Context, ids []string) (map[string][]*Allocation, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT a.order_id, a.product_id, a.quantity,
		       loc.id AS "location.id", loc.name AS "location.name", loc.priority AS "location.priority",
		       loc.active AS "location.active", loc.is_default AS "location.is_default", loc.created_at AS "location.created_at"
		FROM order_line_allocations a
		JOIN locations loc ON loc.id = a.location_id
		WHERE a.order_id = ANY($1)
		ORDER BY a.order_id, a.product_id, loc.id`
	var rows []*Allocation
	if err := sqlxSelect(ctx, s.reader(), &rows, q, pq.Array(ids)); err != nil {
		return nil, err
	}
	out := make(map[string][]*Allocation, len(ids))
	for _, id := range ids {
		out[id] = []*Allocation{}
	}
	for _, r := range rows {
		out[r.OrderID] = append(out[r.OrderID], r)
	}
	return out, nil
}
