package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/lib/pq"
)

// Cart statuses.
const (
	CartActive     = "ACTIVE"
	CartExpired    = "EXPIRED"
	CartCheckedOut = "CHECKED_OUT"
	// CartMerged: a guest cart whose lines moved into a customer's cart
	// (MergedInto) when the customer attached it.
	CartMerged = "MERGED"
)

// Cart is a shopper's cart. Its id is a bearer secret.
type Cart struct {
	ID        string    `db:"id"`
	Status    string    `db:"status"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
	ExpiresAt time.Time `db:"expires_at"`
	// CustomerID owns the cart (nil: a guest cart, its id is the bearer
	// secret); a customer's cart answers only to that customer's token.
	CustomerID *int64 `db:"customer_id" json:",omitempty"`
	// MergedInto is the customer cart a MERGED cart's lines went to.
	MergedInto *string `db:"merged_into" json:",omitempty"`
}

// CartLine is one product held by a cart, with the product's current price.
type CartLine struct {
	// CartID is not stored in snapshots (it is the snapshot's cart's).
	CartID     string `db:"cart_id" json:"-"`
	ProductID  int64  `db:"product_id"`
	Quantity   int    `db:"quantity"`
	PriceCents int64  `db:"price_cents"`
	Currency   string `db:"currency"`
	// ProductStock and ProductHeld are set on a CartSnapshot's lines only:
	// the product's stock figures as the mutation left them, so that a
	// replay shows the same available units as the first answer.
	ProductStock *int `db:"product_stock" json:",omitempty"`
	ProductHeld  *int `db:"product_held" json:",omitempty"`
	// Product is the line's product, read with the line (by
	// CartLinesByCartIDs), so that rendering a cart of any size costs one
	// query; nil when the line came from elsewhere.
	Product *Product `db:"p" json:"-"`
}

// MaxQuantity bounds one request's quantity (a GraphQL Int is 32-bit; stock
// can never exceed it either).
const MaxQuantity = 1<<31 - 1

const cartColumns = `id, status, created_at, updated_at, expires_at, customer_id, merged_into`

// createCartSQL opens a cart; $3 is the signed-in customer who owns it (0:
// a guest cart).
const createCartSQL = `
	INSERT INTO carts (id, expires_at, customer_id)
	VALUES ($1, now() + $2 * interval '1 millisecond', NULLIF($3::bigint, 0))
	RETURNING ` + cartColumns

// CreateCart opens an empty cart that expires HoldTTL from now; made by a
// signed-in customer (WithViewer), it is theirs.
func (s *Store) CreateCart(ctx context.Context) (*Cart, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var c Cart
	viewer := viewerArg(ctx)
	err := s.retry(ctx, func(ctx context.Context) error {
		return sqlxGet(ctx, s.pool(), &c, createCartSQL, NewSecretID(), s.opts.HoldTTL.Milliseconds(), viewer)
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// MinCreateCartKeyLen: a createCart key finds its cart for whoever sends
// it again, so it must be as hard to guess as a secret (a UUID is 36).
const MinCreateCartKeyLen = 16

// CreateCartKeyed is CreateCart with an idempotency key ("" for none): a
// repeat with the key creates nothing and answers the same cart, as it is
// now. Keys of createCart belong to no cart: they are shared by every
// client, so one shorter than MinCreateCartKeyLen is refused.
func (s *Store) CreateCartKeyed(ctx context.Context, key string) (*Cart, error) {
	if key == "" {
		return s.CreateCart(ctx)
	}
	keyErr := func() error {
		return userErr(CodeInvalidInput, "idempotencyKey must be 16-255 characters of letters, digits, '-', '_', '.' or ':' (a random one: it finds the cart)", "idempotencyKey")
	}
	if len(key) < MinCreateCartKeyLen || !ValidIdempotencyKey(key) {
		return nil, keyErr()
	}
	var first Cart
	viewer := viewerArg(ctx)
	id, replayed, err := runKeyed(ctx, s, createCartScope, key, "createCart", requestHash("createCart", viewer), func(ctx context.Context, tx *Tx) (string, error) {
		if err := sqlxGet(ctx, tx.q, &first, createCartSQL, NewSecretID(), s.opts.HoldTTL.Milliseconds(), viewer); err != nil {
			return "", err
		}
		return first.ID, nil
	})
	if err != nil {
		return nil, err
	}
	if !replayed {
		return &first, nil
	}
	return s.CartByID(ctx, id)
}

// CartByID returns the cart, or nil when there is none. A cart past its
// expiry shows as EXPIRED (with no lines: its holds are no longer valid)
// even before the reaper has released them; reading never writes.
//
// A customer's cart reads as nil unless ctx carries that customer
// (WithViewer), exactly as an unknown id.
func (s *Store) CartByID(ctx context.Context, id string) (*Cart, error) {
	c, err := s.CartByIDAnyOwner(ctx, id)
	if err != nil || c == nil || !visibleTo(ctx, c) {
		return nil, err
	}
	return c, nil
}

// CartByIDAnyOwner is CartByID without the owner check, for the server's
// own readers (the live hub pushes to subscribers checked when they
// subscribed).
func (s *Store) CartByIDAnyOwner(ctx context.Context, id string) (*Cart, error) {
	if !ValidSecretID(id) {
		return nil, nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return readCart(ctx, s.hotReader(), id)
}

// readCart reads a cart row as clients see it (a lapsed ACTIVE cart reads
// as EXPIRED), on the pool or in a transaction; nil if there is none.
func readCart(ctx context.Context, q queryer, cartID string) (*Cart, error) {
	const stmt = `
		SELECT id,
		       CASE WHEN status = 'ACTIVE' AND expires_at <= now() THEN 'EXPIRED' ELSE status END AS status,
		       created_at, updated_at, expires_at, customer_id, merged_into
		FROM carts
		WHERE id = $1`
	var c Cart
	if err := sqlxGet(ctx, q, &c, stmt, cartID); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return &c, nil
}

// AddToCartParams is the input of AddToCart.
type AddToCartParams struct {
	CartID    string
	ProductID int64
	Quantity  int
	// AllowPartial reserves what is available when it is less than Quantity
	// (but more than zero) instead of refusing.
	AllowPartial bool
	// IdempotencyKey, when set, makes a repeat of this request answer with
	// the first attempt's outcome instead of reserving again.
	IdempotencyKey string
}

// Reservation says what AddToCart granted.
type Reservation struct {
	Requested int
	Reserved  int
	// Cart is the cart as the reservation left it (nil on a refusal).
	Cart *Cart `json:"-"`
	// Lines are the cart's lines with their products as the reservation
	// left them, when its statement could tell them all (the reserved line
	// is the cart's only one); nil otherwise, and the cart's lines are read.
	Lines []*CartLine `json:"-"`
	// Snapshot is set for keyed requests: see CartSnapshot.
	Snapshot *CartSnapshot `json:"-"`
}

// reservedLine is what a reservation statement says of the line it wrote.
type reservedLine struct {
	LineCount    sql.NullInt64 `db:"line_count"`
	LineQuantity sql.NullInt64 `db:"line_quantity"`
	ProductJSON  []byte        `db:"product_json"`
}

// lines renders the cart's lines from the statement alone when the
// reserved line is the cart's only one (lineCount 1); nil otherwise, or if
// anything is missing.
func (r reservedLine) lines(cartID string, lineCount int) []*CartLine {
	if lineCount != 1 || !r.LineQuantity.Valid || len(r.ProductJSON) == 0 {
		return nil
	}
	p := new(Product)
	if json.Unmarshal(r.ProductJSON, p) != nil {
		return nil
	}
	return []*CartLine{{CartID: cartID, ProductID: p.ID, Quantity: int(r.LineQuantity.Int64),
		PriceCents: p.PriceCents, Currency: p.Currency, Product: p}}
}

// nullableCart scans a cart from an outer join.
type nullableCart struct {
	ID        sql.NullString `db:"id"`
	Status    sql.NullString `db:"status"`
	CreatedAt sql.NullTime   `db:"created_at"`
	UpdatedAt sql.NullTime   `db:"updated_at"`
	ExpiresAt sql.NullTime   `db:"expires_at"`
}

func (n nullableCart) cart() *Cart {
	if !n.ID.Valid {
		return nil
	}
	return &Cart{ID: n.ID.String, Status: n.Status.String, CreatedAt: n.CreatedAt.Time, UpdatedAt: n.UpdatedAt.Time, ExpiresAt: n.ExpiresAt.Time}
}

// addToCartSQL is the whole reservation as ONE statement, so it is one
// transaction (PostgreSQL wraps a lone statement in its own) and one network
// round trip. The order of its parts is the point:
//
//  1. cart locks the cart row first (one lock order everywhere: cart, then
//     products), and only an active, unexpired cart passes.
//  2. reserved is the guard: the conditional UPDATE takes the hot product
//     row's lock only after the cart is settled. At READ COMMITTED, if
//     another transaction changed the row meanwhile, PostgreSQL waits for it
//     and re-evaluates the WHERE clause ("stock - held >= $3", the cart's
//     currency) on the newest row version, so no interleaving of any number
//     of processes can push held past stock or mix currencies in a cart.
//  3. line upserts the cart line and cart_touched bumps the cart's expiry,
//     both only when reserved granted: a refused reservation changes
//     nothing, expiry included, and the statement returns no row.
//  4. The anti-hoarding caps ride on the same writes: cart_cap_add (see
//     migrations/00007) computes the line's and the cart's new totals from
//     the latest row versions (the upsert's conflict row, the locked cart
//     row) against $5 units per line, $6 units per cart and $7 lines per
//     cart, and a CHECK constraint fails the whole statement when one would
//     be exceeded: the cap is checked where the reservation happens, never
//     read first in Go.
//  5. The line records the product's currency; the cart takes it if it had
//     none. Foreign keys (migrations/00008) make the database refuse a line
//     whose currency is not its cart's or its product's.
//  6. notify_cart notifies live subscribers of the cart, if any instance
//     watches it; the product's are notified by the products_notify_stock
//     trigger (migrations/00015) when reserved changes its available units.
//     PostgreSQL delivers both at commit.
//
// Because nothing follows the UPDATE but the line upsert, the cart row's
// update and the commit itself, all inside one statement, the product row
// is locked for as short a time as PostgreSQL allows: no client round trip
// happens while it is held (a BEGIN/UPDATE/INSERT/COMMIT transaction would
// hold it across three).
var addToCartSQL = `
	WITH cart AS (
		SELECT id, currency
		FROM carts
		WHERE id = $1 AND status = 'ACTIVE' AND expires_at > now()
		  AND (customer_id IS NULL OR customer_id = $8)
		FOR UPDATE
	), reserved AS (
		-- Joining cart locks the cart row before this locks the product row.
		UPDATE products
		SET held = held + $3, updated_at = now()
		FROM cart
		WHERE products.id = $2
		  AND products.stock - products.held >= $3
		  AND (cart.currency IS NULL OR cart.currency = products.currency)
		RETURNING products.id, products.currency, $3::integer AS granted,
		          ` + productJSON("products") + ` AS product_json
` + reservationTail

// addToCartPartialSQL is addToCartSQL for allowPartial: product locks the
// product row (after the cart, as everywhere) and reserved grants
// LEAST(asked, available) computed from that locked row, so the amount is
// decided by the database, never read first and written later. reserved
// keeps the guard all the same: under concurrent stock adjustments the
// locked row's available and the row reserved finally updates were seen to
// differ (the CHECK constraint caught it), so the grant is re-checked on the
// row being written; if it no longer fits, nothing is written and the
// request is diagnosed and retried.
var addToCartPartialSQL = `
	WITH cart AS (
		SELECT id, currency
		FROM carts
		WHERE id = $1 AND status = 'ACTIVE' AND expires_at > now()
		  AND (customer_id IS NULL OR customer_id = $8)
		FOR UPDATE
	), product AS (
		-- Joining cart locks the cart row before this locks the product row.
		SELECT products.id, products.stock - products.held AS available
		FROM products
		JOIN cart ON cart.currency IS NULL OR cart.currency = products.currency
		WHERE products.id = $2
		FOR UPDATE OF products
	), reserved AS (
		UPDATE products
		SET held = held + LEAST($3, product.available), updated_at = now()
		FROM product
		WHERE products.id = product.id AND product.available > 0
		  AND products.stock - products.held >= LEAST($3, product.available)
		RETURNING products.id, products.currency, LEAST($3, product.available)::integer AS granted,
		          ` + productJSON("products") + ` AS product_json
` + reservationTail

// reservationTail is what both reservation statements do once reserved
// granted: the cart line, the cart's expiry and totals (with the caps), and
// the cart's notification. It returns one row when units were reserved, none
// otherwise.
const reservationTail = `
	), line AS (
		INSERT INTO cart_lines (cart_id, product_id, quantity, currency)
		SELECT $1, id, cart_cap_add(0, granted, $5), currency FROM reserved
		ON CONFLICT (cart_id, product_id)
		DO UPDATE SET quantity = cart_cap_add(cart_lines.quantity, EXCLUDED.quantity, $5),
			currency = EXCLUDED.currency, updated_at = now()
		RETURNING quantity
	), cart_touched AS (
		UPDATE carts
		SET updated_at = now(), expires_at = now() + $4 * interval '1 millisecond',
		    currency = COALESCE(carts.currency, reserved.currency),
		    total_quantity = cart_cap_add(carts.total_quantity, reserved.granted, $6),
		    -- A line holding exactly the grant is new: an existing one held at least a unit more.
		    line_count = cart_cap_add(carts.line_count, (line.quantity = reserved.granted)::integer, $7)
		FROM reserved, line
		WHERE carts.id = $1
		RETURNING carts.id, carts.status, carts.created_at, carts.updated_at, carts.expires_at, carts.line_count
	), notify_cart AS (
		SELECT pg_notify('holdfast_cart', w.id)
		FROM cart_touched
		JOIN watches w ON w.channel = 'holdfast_cart' AND w.id = cart_touched.id AND w.until > now()
	)
	-- notified reads notify_cart: PostgreSQL runs a SELECT CTE only if the query reads it.
	-- The product as reserved left it and the line's quantity let the caller
	-- render a cart whose only line this is without reading it again.
	SELECT reserved.granted, cart_touched.*, reserved.product_json, line.quantity AS line_quantity,
	       (SELECT count(*) FROM notify_cart) AS notified
	FROM reserved, cart_touched, line`

// AddToCart reserves quantity units of a product for a cart. It either
// reserves (all, or with AllowPartial what is available) and extends the
// cart's expiry, or returns an *Error and changes nothing.
func (s *Store) AddToCart(ctx context.Context, in AddToCartParams) (Reservation, error) {
	res := Reservation{Requested: in.Quantity}
	if in.Quantity < 1 || in.Quantity > MaxQuantity {
		return res, userErr(CodeInvalidQuantity, "quantity must be a positive integer", "input", "quantity")
	}
	if !ValidSecretID(in.CartID) {
		return res, userErr(CodeCartNotFound, "no cart with this id", "input", "cartId")
	}
	if in.IdempotencyKey != "" {
		return s.addToCartKeyed(ctx, in)
	}
	if in.AllowPartial || in.ProductID <= 0 || s.opts.MaxBatch == 1 {
		return s.reserveOne(ctx, in)
	}
	return s.reserve(ctx, in)
}

// addToCartKeyed is AddToCart under an idempotency key: the key's record and
// the reservation share one transaction (keyed requests are not coalesced).
// Its reservation carries the cart as the first attempt left it.
func (s *Store) addToCartKeyed(ctx context.Context, in AddToCartParams) (Reservation, error) {
	hash := requestHash("addToCart", in.ProductID, in.Quantity, in.AllowPartial)
	out, err := s.idempotent(ctx, in.CartID, in.IdempotencyKey, "addToCart", hash, func(ctx context.Context, tx *Tx) (*Outcome, error) {
		res, err := s.reserveOn(ctx, tx.q, in)
		if err != nil {
			return nil, err
		}
		return &Outcome{Reservation: &res}, nil
	})
	if err != nil {
		return Reservation{Requested: in.Quantity}, err
	}
	res := Reservation{Requested: in.Quantity}
	if out.Reservation != nil {
		res = *out.Reservation
	}
	res.Snapshot = out.Snapshot
	return res, out.Err()
}

// reserveOne runs one reservation on its own (addToCartSQL or its partial
// variant) as a prepared autocommit statement.
func (s *Store) reserveOne(ctx context.Context, in AddToCartParams) (Reservation, error) {
	return s.reserveOn(ctx, nil, in)
}

// reserveOn runs one reservation, in transaction q, or on its own when q is
// nil.
func (s *Store) reserveOn(ctx context.Context, q queryer, in AddToCartParams) (Reservation, error) {
	res := Reservation{Requested: in.Quantity}
	stmt := addToCartSQL
	if in.AllowPartial {
		stmt = addToCartPartialSQL
	}
	diag := q
	if diag == nil {
		diag = s.pool()
	}
	// A refusal is re-diagnosed with a fresh snapshot; if stock was released
	// in between, the reservation is simply tried again (bounded).
	for attempt := 0; ; attempt++ {
		var out struct {
			Granted  int   `db:"granted"`
			Notified int64 `db:"notified"`
			Cart
			reservedLine
		}
		args := []any{in.CartID, in.ProductID, in.Quantity, s.opts.HoldTTL.Milliseconds(),
			s.opts.MaxLineQuantity, s.opts.MaxCartQuantity, s.opts.MaxCartLines, viewerArg(ctx)}
		var err error
		if q != nil {
			// A refusal that fails the statement (a cap, a currency key)
			// aborts the caller's transaction; idempotent() rolls back to
			// its savepoint to record it.
			err = sqlxGet(ctx, q, &out, stmt, args...)
		} else {
			err = s.retry(ctx, func(ctx context.Context) error {
				return s.getPrepared(ctx, &out, stmt, args...)
			})
		}
		if err == nil {
			res.Reserved = out.Granted
			res.Cart = &out.Cart
			res.Lines = out.lines(in.CartID, int(out.LineCount.Int64))
			return res, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return res, err
		}
		// No row: nothing was reserved.
		// A cart of another owner reads as no cart at all, whatever its
		// state.
		derr := s.checkOwner(ctx, diag, in.CartID)
		if derr == nil {
			derr = s.diagnoseRefusal(ctx, diag, in.CartID, in.ProductID, in.Quantity, in.AllowPartial)
		}
		if derr != nil {
			return res, derr
		}
		if attempt == 2 {
			// Contended three times over: refuse with what is available now.
			return res, s.insufficientNow(ctx, diag, in.ProductID)
		}
	}
}

// diagnoseRefusal explains why a guarded statement reserved nothing, reading
// a fresh snapshot (taken after the refusal, so `available` is current).
// It returns nil when nothing stands in the way any more.
func (s *Store) diagnoseRefusal(ctx context.Context, q queryer, cartID string, productID int64, quantity int, partial bool) error {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const diagnoseSQL = `
		SELECT
			(SELECT status FROM carts WHERE id = $1) AS cart_status,
			(SELECT expires_at <= now() FROM carts WHERE id = $1) AS cart_lapsed,
			(SELECT stock - held FROM products WHERE id = $2) AS available,
			COALESCE((SELECT currency FROM carts WHERE id = $1) <> (SELECT currency FROM products WHERE id = $2), false) AS mismatch`
	var d struct {
		CartStatus sql.NullString `db:"cart_status"`
		CartLapsed sql.NullBool   `db:"cart_lapsed"`
		Available  sql.NullInt64  `db:"available"`
		Mismatch   bool           `db:"mismatch"`
	}
	if err := sqlxGet(ctx, q, &d, diagnoseSQL, cartID, productID); err != nil {
		return err
	}
	if err := cartStateError(d.CartStatus, d.CartLapsed); err != nil {
		return err
	}
	switch {
	case !d.Available.Valid:
		return userErr(CodeProductNotFound, "no product with this id", "input", "productId")
	case d.Mismatch:
		return cartCurrencyErr()
	case int(d.Available.Int64) < quantity && !(partial && d.Available.Int64 > 0):
		return insufficient(int(d.Available.Int64))
	}
	return nil
}

// cartStateError maps a cart row's state to the refusal a mutation gets.
func cartStateError(status sql.NullString, lapsed sql.NullBool) error {
	switch {
	case !status.Valid:
		return userErr(CodeCartNotFound, "no cart with this id", "input", "cartId")
	case status.String == CartCheckedOut:
		return userErr(CodeCartCheckedOut, "the cart has been checked out", "input", "cartId")
	case status.String == CartMerged:
		return userErr(CodeCartCheckedOut, "the cart was merged into the customer's cart (cartAttachCustomer): use that one", "input", "cartId")
	case status.String == CartExpired || lapsed.Bool:
		return userErr(CodeCartExpired, "the cart has expired and its holds were released", "input", "cartId")
	}
	return nil
}

// CartLinesByCartIDs loads the live lines of many carts, each with its
// product, in one query on the read pool (an expired cart's lines are holds
// no longer, so it has none). What it reads was committed before it ran.
func (s *Store) CartLinesByCartIDs(ctx context.Context, cartIDs []string) (map[string][]*CartLine, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	q := `
		SELECT cl.cart_id, cl.product_id, cl.quantity, p.price_cents, p.currency, ` + lineProductColumns + `
		FROM cart_lines cl
		JOIN carts c ON c.id = cl.cart_id
		JOIN products p ON p.id = cl.product_id
		WHERE cl.cart_id = ANY($1)
		  AND c.status = 'ACTIVE' AND c.expires_at > now()
		ORDER BY cl.cart_id, cl.product_id`
	lines, err := scanCartLines(ctx, s.hotReader(), q, pq.Array(cartIDs))
	if err != nil {
		return nil, err
	}
	out := make(map[string][]*CartLine, len(cartIDs))
	for _, id := range cartIDs {
		out[id] = []*CartLine{}
	}
	for _, l := range lines {
		out[l.CartID] = append(out[l.CartID], l)
	}
	return out, nil
}

// scanCartLines reads lines with their products (the columns of
// CartLinesByCartIDs) with plain Scan: sqlx's reflection, per row and
// field, was a fifth of the server's CPU on a 100-line cart's answer. A
// line and its product are allocated together.
func scanCartLines(ctx context.Context, q queryer, query string, args ...any) ([]*CartLine, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var lines []*CartLine
	for rows.Next() {
		lp := new(struct {
			CartLine
			p Product
		})
		l, p := &lp.CartLine, &lp.p
		l.Product = p
		dest := append([]any{&l.CartID, &l.ProductID, &l.Quantity, &l.PriceCents, &l.Currency}, p.scanDest()...)
		if err := rows.Scan(dest...); err != nil {
			return nil, translate(err)
		}
		lines = append(lines, l)
	}
	return lines, translate(rows.Err())
}
