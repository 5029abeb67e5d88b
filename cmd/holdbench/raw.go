package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"time"
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
// For the storefront shape it then reads what the answer renders, in one
// query (readCart): the cart row and its lines joined to their products.
// The other operations of the mixed scenario are straightforward equivalents
// (see each method), and so are the browse scenario's reads.
type rawSide struct {
	db  *sql.DB
	shp string
}

func (r *rawSide) name() string  { return "raw" }
func (r *rawSide) shape() string { return r.shp }

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

// answer completes a cart operation whose transaction has ended: for the
// storefront shape it reads the cart the answer renders (after refusals too,
// as the API answers with the cart then as well).
func (r *rawSide) answer(ctx context.Context, cart string, o outcome, err error) (outcome, *cartView, error) {
	if err != nil || r.shp != shapeStorefront {
		return o, nil, err
	}
	v, err := r.cart(ctx, cart)
	if err != nil {
		return o, nil, err
	}
	if v == nil {
		return o, nil, renderErr("cart %s not found", cart)
	}
	return o, v, nil
}

const rawCartSQL = `
	SELECT CASE WHEN c.status = 'ACTIVE' AND c.expires_at <= now() THEN 'EXPIRED' ELSE c.status END,
	       c.expires_at, cl.quantity, p.id, p.sku, p.name, p.price_cents, p.currency, p.stock - p.held
	FROM carts c
	LEFT JOIN cart_lines cl ON cl.cart_id = c.id AND c.status = 'ACTIVE' AND c.expires_at > now()
	LEFT JOIN products p ON p.id = cl.product_id
	WHERE c.id = $1
	ORDER BY cl.product_id`

// cart reads a cart as the storefront renders it, in one query; nil if
// there is none.
func (r *rawSide) cart(ctx context.Context, id string) (*cartView, error) {
	rows, err := r.db.QueryContext(ctx, rawCartSQL, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var v *cartView
	var sub int64
	currency := "USD"
	for rows.Next() {
		var (
			status       string
			expires      time.Time
			qty, avail   sql.NullInt64
			pid, cents   sql.NullInt64
			sku, name, c sql.NullString
		)
		if err := rows.Scan(&status, &expires, &qty, &pid, &sku, &name, &cents, &c, &avail); err != nil {
			return nil, err
		}
		if v == nil {
			v = &cartView{ID: id, Status: status, ExpiresAt: expires.UTC().Format(time.RFC3339Nano)}
		}
		if !qty.Valid {
			continue // a cart without lines
		}
		total := cents.Int64 * qty.Int64
		v.Lines = append(v.Lines, lineView{
			Quantity:  int(qty.Int64),
			LineTotal: moneyView{Amount: formatCents(total), CurrencyCode: c.String},
			Product: productView{
				ID: strconv.FormatInt(pid.Int64, 10), SKU: sku.String, Name: name.String,
				Price:     moneyView{Amount: formatCents(cents.Int64), CurrencyCode: c.String},
				Available: int(avail.Int64),
			},
		})
		v.TotalQuantity += int(qty.Int64)
		sub += total
		currency = c.String
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if v != nil {
		v.Subtotal = moneyView{Amount: formatCents(sub), CurrencyCode: currency}
	}
	return v, nil
}

// productsPage is the keyset page products(first:, after:) reads: first+1
// rows to know whether more follow. after is the last id of the previous
// page ("" for the first).
func (r *rawSide) productsPage(ctx context.Context, first int, after string) (*productPage, error) {
	var afterID int64
	if after != "" {
		var err error
		if afterID, err = strconv.ParseInt(after, 10, 64); err != nil {
			return nil, err
		}
	}
	rows, err := r.db.QueryContext(ctx, `
		SELECT id, name, price_cents, currency, stock - held
		FROM products WHERE id > $1 ORDER BY id LIMIT $2`, afterID, first+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	p := &productPage{}
	for rows.Next() {
		var (
			id, cents int64
			avail     int
			name, cur string
		)
		if err := rows.Scan(&id, &name, &cents, &cur, &avail); err != nil {
			return nil, err
		}
		if len(p.Edges) == first {
			p.PageInfo.HasNextPage = true
			break
		}
		p.Edges = append(p.Edges, struct {
			Node productView `json:"node"`
		}{productView{ID: strconv.FormatInt(id, 10), Name: name, Price: moneyView{Amount: formatCents(cents), CurrencyCode: cur}, Available: avail}})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if n := len(p.Edges); n > 0 {
		end := p.Edges[n-1].Node.ID
		p.PageInfo.EndCursor = &end
	}
	return p, nil
}

// product reads one product as the product page renders it; nil if none.
func (r *rawSide) product(ctx context.Context, id int64) (*productView, error) {
	var (
		cents int64
		p     productView
		desc  sql.NullString
	)
	err := r.db.QueryRowContext(ctx, `
		SELECT name, description, price_cents, currency, stock - held FROM products WHERE id = $1`, id).
		Scan(&p.Name, &desc, &cents, &p.Price.CurrencyCode, &p.Available)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p.ID = strconv.FormatInt(id, 10)
	p.Price.Amount = formatCents(cents)
	if desc.Valid {
		p.Description = &desc.String
	}
	return &p, nil
}

func (r *rawSide) add(ctx context.Context, cart string, product int64, qty int) (outcome, *cartView, error) {
	o, err := r.reserve(ctx, cart, product, qty)
	return r.answer(ctx, cart, o, err)
}

// reserve is the reservation transaction; the line records the product's
// currency, as the API's does.
func (r *rawSide) reserve(ctx context.Context, cart string, product int64, qty int) (outcome, error) {
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
func (r *rawSide) update(ctx context.Context, cart string, product int64, qty int) (outcome, *cartView, error) {
	o, err := r.setLine(ctx, cart, product, qty)
	return r.answer(ctx, cart, o, err)
}

func (r *rawSide) setLine(ctx context.Context, cart string, product int64, qty int) (outcome, error) {
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
func (r *rawSide) remove(ctx context.Context, cart string, product int64) (outcome, *cartView, error) {
	o, err := r.dropLine(ctx, cart, product)
	return r.answer(ctx, cart, o, err)
}

func (r *rawSide) dropLine(ctx context.Context, cart string, product int64) (outcome, error) {
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
		// The allocation, as the server's checkout does it: the benchmark's
		// stock lies at the default location (id 1).
		{`UPDATE inventory_levels l SET stock = l.stock - cl.quantity
		  FROM cart_lines cl WHERE cl.cart_id = $1 AND l.product_id = cl.product_id AND l.location_id = 1 AND l.stock >= cl.quantity`, []any{cart}},
		{`INSERT INTO order_line_allocations (order_id, product_id, location_id, quantity)
		  SELECT $1, product_id, 1, quantity FROM cart_lines WHERE cart_id = $2`, []any{order, cart}},
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
