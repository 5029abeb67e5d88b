package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	gojson "github.com/goccy/go-json"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/lib/pq"
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
// (see each method). The browse scenario's reads (groupsPage,
// groupByHandle) take two queries each: the groups joined to their
// variants, then the groups' images.
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

// rawGridSQL is the grid's page of groups (keyset on id, as the API's
// default listing) with their variants, in one query: first+1 groups to
// know whether more follow, the extra one without its variants.
const rawGridSQL = `
	SELECT g.id, g.title, g.handle, g.options, g.min_price_cents, g.max_price_cents, g.currency, g.rn,
	       v.id, v.price_cents, v.stock - v.held, v.selected_options
	FROM (SELECT id, title, handle, options, min_price_cents, max_price_cents, currency, row_number() OVER (ORDER BY id) AS rn
	      FROM product_groups WHERE id > $1 ORDER BY id LIMIT $2 + 1) g
	LEFT JOIN products v ON v.group_id = g.id AND g.rn <= $2
	ORDER BY g.id, v.id`

// rawPageSQL is a product page's group and its variants, in one query.
const rawPageSQL = `
	SELECT g.id, g.title, g.handle, g.description, g.options, g.min_price_cents, g.max_price_cents, g.currency,
	       v.id, v.sku, v.price_cents, v.stock - v.held, v.selected_options
	FROM product_groups g
	LEFT JOIN products v ON v.group_id = g.id
	WHERE g.handle = $1
	ORDER BY v.id`

// rawImagesSQL is the images of the groups of $1, in display order.
const rawImagesSQL = `
	SELECT group_id, url, alt_text FROM product_group_images
	WHERE group_id = ANY($1) ORDER BY group_id, position`

// rawGroup builds a group's answer from its rows as the server does: its
// options from the group's jsonb, each variant's selectedOptions in the
// options' order, the variants in display order (by the position of their
// value of each option in turn, then by id), available the sum of the
// variants', priceRange the group's stored lowest and highest variant
// price (kept by the database's triggers) in its currency (XXX without
// variants).
type rawGroup struct {
	v   *groupView
	pos []map[string]int // per option: value -> position
	key [][]int          // per variant: its values' positions
}

func newRawGroup(id int64, title, handle string, desc sql.NullString, options []byte, lo, hi int64, currency sql.NullString) (*rawGroup, error) {
	g := &rawGroup{v: &groupView{ID: strconv.FormatInt(id, 10), Title: title, Handle: handle, Images: []imageView{}}}
	if desc.Valid {
		g.v.Description = &desc.String
	}
	if err := gojson.Unmarshal(options, &g.v.Options); err != nil {
		return nil, fmt.Errorf("group %d: options: %w", id, err)
	}
	g.pos = make([]map[string]int, len(g.v.Options))
	for i, o := range g.v.Options {
		g.pos[i] = make(map[string]int, len(o.Values))
		for j, val := range o.Values {
			g.pos[i][val] = j
		}
	}
	cur := "XXX"
	if currency.Valid {
		cur = currency.String
	}
	g.v.PriceRange = priceRangeView{Min: moneyView{formatCents(lo), cur}, Max: moneyView{formatCents(hi), cur}}
	return g, nil
}

func (g *rawGroup) addVariant(id int64, sku string, cents int64, available int, selected []byte) error {
	var sel map[string]string
	if err := gojson.Unmarshal(selected, &sel); err != nil {
		return fmt.Errorf("variant %d: selected_options: %w", id, err)
	}
	v := variantView{ID: strconv.FormatInt(id, 10), SKU: sku, Available: available,
		Price:           moneyView{formatCents(cents), g.v.PriceRange.Min.CurrencyCode},
		SelectedOptions: make([]selectedOptionView, 0, len(g.v.Options))}
	key := make([]int, len(g.v.Options))
	for i, o := range g.v.Options {
		if val, ok := sel[o.Name]; ok {
			v.SelectedOptions = append(v.SelectedOptions, selectedOptionView{o.Name, val})
			key[i] = g.pos[i][val]
		}
	}
	g.v.Variants = append(g.v.Variants, v)
	g.key = append(g.key, key)
	g.v.Available += available
	return nil
}

// done sorts the variants (read in id order) into display order.
func (g *rawGroup) done() *groupView {
	idx := make([]int, len(g.v.Variants))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return slices.Compare(g.key[idx[a]], g.key[idx[b]]) < 0 })
	vs := make([]variantView, len(idx))
	for i, j := range idx {
		vs[i] = g.v.Variants[j]
	}
	if len(vs) == 0 {
		vs = []variantView{}
	}
	g.v.Variants = vs
	return g.v
}

// images reads the images of groups (by id) into them, in one query.
func (r *rawSide) images(ctx context.Context, groups map[int64]*groupView) error {
	ids := make([]int64, 0, len(groups))
	for id := range groups {
		ids = append(ids, id)
	}
	rows, err := r.db.QueryContext(ctx, rawImagesSQL, pq.Array(ids))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			img imageView
			alt sql.NullString
		)
		if err := rows.Scan(&id, &img.URL, &alt); err != nil {
			return err
		}
		if alt.Valid {
			img.AltText = &alt.String
		}
		g := groups[id]
		g.Images = append(g.Images, img)
	}
	return rows.Err()
}

// groupsPage is the grid's page: the groups and their variants in one
// query, their images in another. after is the last group id of the
// previous page ("" for the first).
func (r *rawSide) groupsPage(ctx context.Context, first int, after string) (*groupPage, error) {
	var afterID int64
	if after != "" {
		var err error
		if afterID, err = strconv.ParseInt(after, 10, 64); err != nil {
			return nil, err
		}
	}
	rows, err := r.db.QueryContext(ctx, rawGridSQL, afterID, first)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	p := &groupPage{Edges: make([]groupEdge, 0, first)}
	var (
		g     *rawGroup
		gid   int64
		built []*groupView
	)
	byID := make(map[int64]*groupView, first)
	for rows.Next() {
		var (
			id, lo, hi, rn int64
			title, handle  string
			options, sel   []byte
			cur            sql.NullString
			vid, cents     sql.NullInt64
			avail          sql.NullInt64
		)
		if err := rows.Scan(&id, &title, &handle, &options, &lo, &hi, &cur, &rn, &vid, &cents, &avail, &sel); err != nil {
			return nil, err
		}
		if rn > int64(first) {
			p.PageInfo.HasNextPage = true
			continue
		}
		if g == nil || id != gid {
			if g != nil {
				built = append(built, g.done())
			}
			if g, err = newRawGroup(id, title, handle, sql.NullString{}, options, lo, hi, cur); err != nil {
				return nil, err
			}
			gid = id
			byID[id] = g.v
		}
		if vid.Valid {
			if err := g.addVariant(vid.Int64, "", cents.Int64, int(avail.Int64), sel); err != nil {
				return nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if g != nil {
		built = append(built, g.done())
	}
	if len(built) > 0 {
		if err := r.images(ctx, byID); err != nil {
			return nil, err
		}
		end := strconv.FormatInt(gid, 10)
		p.PageInfo.EndCursor = &end
	}
	for _, v := range built {
		p.Edges = append(p.Edges, groupEdge{Node: *v})
	}
	return p, nil
}

// groupByHandle is a product page: the group and its variants in one
// query, its images in another; nil if there is none.
func (r *rawSide) groupByHandle(ctx context.Context, handle string) (*groupView, error) {
	rows, err := r.db.QueryContext(ctx, rawPageSQL, handle)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var g *rawGroup
	var gid int64
	for rows.Next() {
		var (
			id, lo, hi   int64
			title, h     string
			desc, cur    sql.NullString
			options, sel []byte
			vid, cents   sql.NullInt64
			avail        sql.NullInt64
			sku          sql.NullString
		)
		if err := rows.Scan(&id, &title, &h, &desc, &options, &lo, &hi, &cur, &vid, &sku, &cents, &avail, &sel); err != nil {
			return nil, err
		}
		if g == nil {
			if g, err = newRawGroup(id, title, h, desc, options, lo, hi, cur); err != nil {
				return nil, err
			}
			gid = id
		}
		if vid.Valid {
			if err := g.addVariant(vid.Int64, sku.String, cents.Int64, int(avail.Int64), sel); err != nil {
				return nil, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if g == nil {
		return nil, nil
	}
	v := g.done()
	return v, r.images(ctx, map[int64]*groupView{gid: v})
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
