package storage

import "context"

// Movement kinds in the inventory ledger written from Go (checkout and
// cancellation write 'sale' and 'cancellation' rows in their own SQL).
const (
	MoveInitial    = "initial"
	MoveRestock    = "restock"
	MoveAdjustment = "adjustment"
)

type movement struct {
	ProductID int64
	Delta     int
	Kind      string
	Reason    string
	OrderID   *string
}

// recordMovement appends one ledger row. It must run in the transaction that
// changes the product's stock by the same delta.
func recordMovement(ctx context.Context, q queryer, m movement) error {
	const stmt = `
		INSERT INTO inventory_movements (product_id, delta, kind, reason, order_id)
		VALUES ($1, $2, $3, NULLIF($4, ''), $5)`
	_, err := q.ExecContext(ctx, stmt, m.ProductID, m.Delta, m.Kind, m.Reason, m.OrderID)
	return translate(err)
}
