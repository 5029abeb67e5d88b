package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
)

// rawSide is the baseline: the same operations as plain transactions issued
// from Go over database/sql + lib/pq, no HTTP, no GraphQL. The reservation
// is exactly
//
//	BEGIN;
//	UPDATE products SET held = held + $n WHERE id = $1 AND stock - held >= $n RETURNING currency;
//	-- 1 row: INSERT INTO cart_lines ... ON CONFLICT DO UPDATE (upsert)
//	-- 0 rows: ROLLBACK (a refusal)
//	COMMIT;
//
// The other operations of the mixed scenario are straightforward equivalents
// (see each method).
type rawSide struct{ db *sql.DB }

func (r *rawSide) name() string { return "raw" }

// newSecretID returns 24 URL-safe characters, the shape of Holdfast's ids.
func newSecretID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newCart creates the cart with the currency of every product holdbench
// creates: a line records its product's currency (migrations/00008), and its
// foreign key to carts (id, currency) then needs the cart's, which the raw
// reservation thus never has to write.
func (r *rawSide) newCart(ctx context.Context) (string, error) {
	id := newSecretID()
	_, err := r.db.ExecContext(ctx, `INSERT INTO carts (id, expires_at, currency) VALUES ($1, now() + interval '1 hour', 'USD')`, id)
	return id, err
}

func rollback(tx *sql.Tx, err error) error {
	if rerr := tx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) && err == nil {
		return rerr
	}
	return err
}

func (r *rawSide) add(ctx context.Context, cart string, product int64, qty int) (outcome, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	var currency string
	err = tx.QueryRowContext(ctx, `UPDATE products SET held = held + $2 WHERE id = $1 AND stock - held >= $2 RETURNING currency`, product, qty).Scan(&currency)
	if errors.Is(err, sql.ErrNoRows) {
		return refused, rollback(tx, nil)
	}
	if err != nil {
		return 0, rollback(tx, err)
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO cart_lines (cart_id, product_id, quantity, currency) VALUES ($1, $2, $3, $4)
		ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = cart_lines.quantity + EXCLUDED.quantity`,
		cart, product, qty, currency); err != nil {
		return 0, rollback(tx, err)
	}
	return granted, tx.Commit()
}

// update sets a line's quantity: lock the line, move held by the difference
// (guarded like add when it grows), write the line.
func (r *rawSide) update(ctx context.Context, cart string, product int64, qty int) (outcome, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	var old int
	err = tx.QueryRowContext(ctx, `SELECT quantity FROM cart_lines WHERE cart_id = $1 AND product_id = $2 FOR UPDATE`, cart, product).Scan(&old)
	if err != nil {
		return 0, rollback(tx, fmt.Errorf("update: line: %w", err))
	}
	if d := qty - old; d != 0 {
		res, err := tx.ExecContext(ctx, `UPDATE products SET held = held + $2 WHERE id = $1 AND stock - held >= $2`, product, d)
		if err != nil {
			return 0, rollback(tx, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return refused, rollback(tx, nil)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE cart_lines SET quantity = $3, updated_at = now() WHERE cart_id = $1 AND product_id = $2`, cart, product, qty); err != nil {
		return 0, rollback(tx, err)
	}
	return granted, tx.Commit()
}

// remove deletes a line and releases its hold.
func (r *rawSide) remove(ctx context.Context, cart string, product int64) (outcome, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	var q int
	err = tx.QueryRowContext(ctx, `DELETE FROM cart_lines WHERE cart_id = $1 AND product_id = $2 RETURNING quantity`, cart, product).Scan(&q)
	if err != nil {
		return 0, rollback(tx, fmt.Errorf("remove: line: %w", err))
	}
	if _, err := tx.ExecContext(ctx, `UPDATE products SET held = held - $2 WHERE id = $1`, product, q); err != nil {
		return 0, rollback(tx, err)
	}
	return granted, tx.Commit()
}

// checkout turns the cart's holds into a sale: close the cart, write the
// order and its lines, lock the products in id order, move held out of
// stock, append the sale to the ledger, drop the lines.
func (r *rawSide) checkout(ctx context.Context, cart, email string) (outcome, error) {
	tx, err := r.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	order := newSecretID()
	steps := []struct {
		q    string
		args []any
	}{
		{`UPDATE carts SET status = 'CHECKED_OUT', updated_at = now() WHERE id = $1 AND status = 'ACTIVE'`, []any{cart}},
		{`INSERT INTO orders (id, cart_id, email, currency) VALUES ($1, $2, $3, 'USD')`, []any{order, cart, email}},
		{`SELECT 1 FROM products WHERE id IN (SELECT product_id FROM cart_lines WHERE cart_id = $1) ORDER BY id FOR UPDATE`, []any{cart}},
		{`INSERT INTO order_lines (order_id, product_id, sku, name, unit_price_cents, currency, quantity)
		  SELECT $1, p.id, p.sku, p.name, p.price_cents, p.currency, cl.quantity
		  FROM cart_lines cl JOIN products p ON p.id = cl.product_id WHERE cl.cart_id = $2`, []any{order, cart}},
		{`UPDATE products p SET stock = p.stock - cl.quantity, held = p.held - cl.quantity
		  FROM cart_lines cl WHERE cl.cart_id = $1 AND p.id = cl.product_id`, []any{cart}},
		{`INSERT INTO inventory_movements (product_id, delta, kind, order_id)
		  SELECT product_id, -quantity, 'sale', $1 FROM cart_lines WHERE cart_id = $2`, []any{order, cart}},
		{`DELETE FROM cart_lines WHERE cart_id = $1`, []any{cart}},
	}
	for i, s := range steps {
		res, err := tx.ExecContext(ctx, s.q, s.args...)
		if err != nil {
			return 0, rollback(tx, err)
		}
		if i == 0 {
			if n, _ := res.RowsAffected(); n != 1 {
				return 0, rollback(tx, errors.New("checkout: cart not active"))
			}
		}
	}
	return granted, tx.Commit()
}
