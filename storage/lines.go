package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// lockCart takes the cart row's lock, the first lock of every cart
// operation: it serialises every change to the cart's lines, so statements
// that follow it in the transaction read the lines as they really are.
// It refuses carts that are missing, checked out or expired.
func lockCart(ctx context.Context, q queryer, cartID string) (status string, err error) {
	const stmt = `
		SELECT status, expires_at <= now() AS lapsed
		FROM carts
		WHERE id = $1
		FOR UPDATE`
	var row struct {
		Status string `db:"status"`
		Lapsed bool   `db:"lapsed"`
	}
	if err := sqlxGet(ctx, q, &row, stmt, cartID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", cartStateError(sql.NullString{}, sql.NullBool{})
		}
		return "", err
	}
	return row.Status, cartStateError(sql.NullString{String: row.Status, Valid: true}, sql.NullBool{Bool: row.Lapsed, Valid: true})
}

// touchCart extends a cart's life after a successful mutation and keeps its
// currency that of its lines (none once it is empty).
func (s *Store) touchCart(ctx context.Context, q queryer, cartID string, units, lines int) error {
	const stmt = `
		UPDATE carts
		SET updated_at = now(), expires_at = now() + $2 * interval '1 millisecond',
		    total_quantity = total_quantity + $3,
		    line_count = line_count + $4,
		    currency = (
			SELECT p.currency
			FROM cart_lines cl
			JOIN products p ON p.id = cl.product_id
			WHERE cl.cart_id = $1
			LIMIT 1)
		WHERE id = $1`
	_, err := q.ExecContext(ctx, stmt, cartID, s.opts.HoldTTL.Milliseconds(), units, lines)
	return translate(err)
}

// UpdateCartLine sets the absolute quantity of a product in a cart: an
// increase reserves the difference with the same guarded UPDATE as
// AddToCart, a decrease releases it, and 0 removes the line.
// A non-empty key makes the call idempotent (see AddToCartParams).
// Keyed calls return the snapshot their payload is rendered from.
func (s *Store) UpdateCartLine(ctx context.Context, cartID string, productID int64, quantity int, key string) (*CartSnapshot, error) {
	if quantity < 0 || quantity > MaxQuantity {
		return nil, userErr(CodeInvalidQuantity, "quantity must be zero (to remove the line) or positive", "input", "quantity")
	}
	return s.changeLine(ctx, cartID, productID, quantity, key, "updateCartLine")
}

// RemoveCartLine releases a whole line. Removing a product the cart does not
// hold succeeds and changes nothing but the cart's expiry.
func (s *Store) RemoveCartLine(ctx context.Context, cartID string, productID int64, key string) (*CartSnapshot, error) {
	return s.changeLine(ctx, cartID, productID, 0, key, "removeCartLine")
}

// changeLine sets a line's quantity to want, in one transaction (with the
// idempotency record when key is set).
func (s *Store) changeLine(ctx context.Context, cartID string, productID int64, want int, key, op string) (*CartSnapshot, error) {
	if !ValidSecretID(cartID) {
		return nil, userErr(CodeCartNotFound, "no cart with this id", "input", "cartId")
	}
	if key != "" {
		out, err := s.idempotent(ctx, cartID, key, op, requestHash(op, productID, want), func(tx *Tx) (*Outcome, error) {
			return &Outcome{}, s.changeLineTx(ctx, tx, cartID, productID, want)
		})
		if err != nil {
			return nil, err
		}
		return out.Snapshot, out.Err()
	}
	return nil, s.WithTx(ctx, func(tx *Tx) error { return s.changeLineTx(ctx, tx, cartID, productID, want) })
}

// changeLineTx moves a line from its current quantity to want: cart lock, a
// read of the line (stable: we hold the cart), then one statement that
// moves held by the difference (guarded by stock - held when it grows) and
// writes the line. Every refusal is decided before anything is written.
func (s *Store) changeLineTx(ctx context.Context, tx *Tx, cartID string, productID int64, want int) error {
	if _, err := lockCart(ctx, tx.q, cartID); err != nil {
		return err
	}
	const read = `
		SELECT
			(SELECT total_quantity FROM carts WHERE id = $1) AS total_quantity,
			(SELECT line_count FROM carts WHERE id = $1) AS line_count,
			EXISTS (SELECT 1 FROM products WHERE id = $2) AS product_exists,
			COALESCE((SELECT quantity FROM cart_lines WHERE cart_id = $1 AND product_id = $2), 0) AS current,
			COALESCE((SELECT currency FROM carts WHERE id = $1) <> (SELECT currency FROM products WHERE id = $2), false) AS mismatch`
	var cur struct {
		TotalQuantity int  `db:"total_quantity"`
		LineCount     int  `db:"line_count"`
		ProductExists bool `db:"product_exists"`
		Current       int  `db:"current"`
		Mismatch      bool `db:"mismatch"`
	}
	if err := sqlxGet(ctx, tx.q, &cur, read, cartID, productID); err != nil {
		return err
	}
	if !cur.ProductExists {
		return userErr(CodeProductNotFound, "no product with this id", "input", "productId")
	}
	delta := want - cur.Current
	lines := 0
	switch {
	case cur.Current == 0 && want > 0:
		lines = 1
	case cur.Current > 0 && want == 0:
		lines = -1
	}
	// Caps: the cart row is locked, so these totals are the truth, and every
	// refusal is decided before anything is written. Stock comes first: a
	// request that stock could not serve anyway is INSUFFICIENT_STOCK.
	var capRefusal *Error
	switch {
	case delta > 0 && want > s.opts.MaxLineQuantity:
		capRefusal = capErr(lineCapMsg(s.opts.MaxLineQuantity))
	case delta > 0 && cur.TotalQuantity+delta > s.opts.MaxCartQuantity:
		capRefusal = capErr(fmt.Sprintf("a cart may hold at most %d units", s.opts.MaxCartQuantity))
	case lines > 0 && cur.LineCount+1 > s.opts.MaxCartLines:
		capRefusal = capErr(fmt.Sprintf("a cart may hold at most %d lines", s.opts.MaxCartLines))
	}
	if capRefusal != nil {
		avail, err := availableNow(ctx, tx.q, productID)
		if err != nil {
			return err
		}
		if avail < delta {
			return insufficient(avail)
		}
		return capRefusal
	}
	switch {
	case delta > 0 && cur.Mismatch:
		return userErr(CodeCurrencyMismatch, "the cart already holds products priced in another currency", "input", "productId")
	case delta > 0:
		const grow = `
			WITH p AS (
				UPDATE products
				SET held = held + $3, updated_at = now()
				WHERE id = $2 AND stock - held >= $3
				RETURNING id
			)
			INSERT INTO cart_lines (cart_id, product_id, quantity)
			SELECT $1, id, $4 FROM p
			ON CONFLICT (cart_id, product_id)
			DO UPDATE SET quantity = EXCLUDED.quantity, updated_at = now()`
		res, err := tx.q.ExecContext(ctx, grow, cartID, productID, delta, want)
		if err != nil {
			return translate(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return s.insufficientNow(ctx, tx.q, productID)
		}
	case delta < 0:
		const shrink = `
			WITH p AS (
				UPDATE products
				SET held = held - $3, updated_at = now()
				WHERE id = $2
				RETURNING id
			), d AS (
				DELETE FROM cart_lines
				WHERE cart_id = $1 AND product_id = $2 AND $4 = 0
			)
			UPDATE cart_lines
			SET quantity = $4, updated_at = now()
			WHERE cart_id = $1 AND product_id = $2 AND $4 > 0`
		if _, err := tx.q.ExecContext(ctx, shrink, cartID, productID, -delta, want); err != nil {
			return translate(err)
		}
	}
	if err := s.touchCart(ctx, tx.q, cartID, delta, lines); err != nil {
		return err
	}
	if delta != 0 {
		if err := notifyProducts(ctx, tx.q, productID); err != nil {
			return err
		}
	}
	return notify(ctx, tx.q, ChannelCart, []string{cartID})
}

// insufficientNow builds INSUFFICIENT_STOCK with the units that could be
// reserved right now (a fresh statement, so a fresh snapshot).
func (s *Store) insufficientNow(ctx context.Context, q queryer, productID int64) error {
	avail, err := availableNow(ctx, q, productID)
	if err != nil {
		return err
	}
	return insufficient(avail)
}

// availableNow reads stock - held in a fresh statement.
func availableNow(ctx context.Context, q queryer, productID int64) (int, error) {
	var avail int
	err := sqlxGet(ctx, q, &avail, `SELECT stock - held FROM products WHERE id = $1`, productID)
	return avail, err
}
