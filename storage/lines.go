package storage

import (
	"context"
	"database/sql"
	"errors"
)

// lockCart takes the cart row's lock, the first lock of every cart
// operation: it serialises every change to the cart's lines, so statements
// that follow it in the transaction read the lines as they really are.
// It refuses carts that are missing, checked out, merged or expired, and a
// customer's cart to anyone but that customer (ctx's viewer) as missing.
func lockCart(ctx context.Context, q queryer, cartID string) (status string, err error) {
	const stmt = `
		SELECT status, expires_at <= now() AS lapsed
		FROM carts
		WHERE id = $1 AND (customer_id IS NULL OR customer_id = $2)
		FOR UPDATE`
	var row struct {
		Status string `db:"status"`
		Lapsed bool   `db:"lapsed"`
	}
	if err := sqlxGet(ctx, q, &row, stmt, cartID, viewerArg(ctx)); err != nil {
		if errors.Is(err, ErrNotFound) {
			return "", cartStateError(sql.NullString{}, sql.NullBool{})
		}
		return "", err
	}
	return row.Status, cartStateError(sql.NullString{String: row.Status, Valid: true}, sql.NullBool{Bool: row.Lapsed, Valid: true})
}

// touchCart extends a cart's life after a successful mutation that added no
// units, moves its running totals by units and lines, and forgets its
// currency once it has no lines left.
func (s *Store) touchCart(ctx context.Context, q queryer, cartID string, units, lines int) error {
	const stmt = `
		UPDATE carts
		SET updated_at = now(), expires_at = now() + $2 * interval '1 millisecond',
		    total_quantity = total_quantity + $3,
		    line_count = line_count + $4,
		    currency = CASE WHEN EXISTS (SELECT 1 FROM cart_lines WHERE cart_id = $1) THEN currency END
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
		out, err := s.idempotent(ctx, cartID, key, op, requestHash(op, productID, want), func(ctx context.Context, tx *Tx) (*Outcome, error) {
			return &Outcome{}, s.changeLineTx(ctx, tx, cartID, productID, want)
		})
		if err != nil {
			return nil, err
		}
		return out.Snapshot, out.Err()
	}
	return nil, s.WithTx(ctx, func(ctx context.Context, tx *Tx) error { return s.changeLineTx(ctx, tx, cartID, productID, want) })
}

// changeLineTx moves a line from its current quantity to want: cart lock, a
// read of the line (stable: we hold the cart), then the move. Growing
// reserves the difference with the reservation statement itself (see
// addToCartSQL), so its guards decide on the locked rows, exactly as for
// addToCart: stock, the cart's currency, the caps. Shrinking releases the
// difference. A refusal writes nothing: the guarded statement refuses as a
// whole, and the transaction is rolled back (to its savepoint when keyed).
func (s *Store) changeLineTx(ctx context.Context, tx *Tx, cartID string, productID int64, want int) error {
	if _, err := lockCart(ctx, tx.q, cartID); err != nil {
		return err
	}
	const read = `
		SELECT
			EXISTS (SELECT 1 FROM products WHERE id = $2) AS product_exists,
			COALESCE((SELECT quantity FROM cart_lines WHERE cart_id = $1 AND product_id = $2), 0) AS current`
	var cur struct {
		ProductExists bool `db:"product_exists"`
		Current       int  `db:"current"`
	}
	if err := sqlxGet(ctx, tx.q, &cur, read, cartID, productID); err != nil {
		return err
	}
	if !cur.ProductExists {
		return userErr(CodeProductNotFound, "no product with this id", "input", "productId")
	}
	delta := want - cur.Current
	if delta > 0 {
		// The line holds cur.Current units until we commit (the cart is
		// locked), so adding delta makes it exactly want.
		_, err := s.reserveOn(ctx, tx.q, AddToCartParams{CartID: cartID, ProductID: productID, Quantity: delta})
		return err
	}
	lines := 0
	if delta < 0 {
		const shrink = `
			WITH released AS (
				UPDATE products
				SET held = held - $3, updated_at = now()
				WHERE id = $2
			), removed AS (
				DELETE FROM cart_lines
				WHERE cart_id = $1 AND product_id = $2 AND $4 = 0
			)
			UPDATE cart_lines
			SET quantity = $4, updated_at = now()
			WHERE cart_id = $1 AND product_id = $2 AND $4 > 0`
		if _, err := tx.q.ExecContext(ctx, shrink, cartID, productID, -delta, want); err != nil {
			return translate(err)
		}
		if want == 0 {
			lines = -1
		}
	}
	if err := s.touchCart(ctx, tx.q, cartID, delta, lines); err != nil {
		return err
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
