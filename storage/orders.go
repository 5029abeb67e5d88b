package storage

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"time"
	"unicode"

	"github.com/lib/pq"
)

// Order statuses.
const (
	OrderPlaced    = "PLACED"
	OrderCancelled = "CANCELLED"
)

// Order is a checked-out cart. Its id is a bearer secret.
type Order struct {
	ID          string     `db:"id"`
	Seq         int64      `db:"seq"`
	CartID      string     `db:"cart_id"`
	Email       string     `db:"email"`
	Status      string     `db:"status"`
	Currency    string     `db:"currency"`
	CreatedAt   time.Time  `db:"created_at"`
	CancelledAt *time.Time `db:"cancelled_at"`
	// UpdatedAt changes with every change of the order (a trigger,
	// migrations/00011).
	UpdatedAt time.Time `db:"updated_at"`
	// CustomerID is the signed-in customer whose cart this was (nil: a
	// guest's).
	CustomerID *int64 `db:"customer_id"`
}

// OrderLine is a snapshot of what was sold.
type OrderLine struct {
	OrderID        string `db:"order_id"`
	ProductID      int64  `db:"product_id"`
	SKU            string `db:"sku"`
	Name           string `db:"name"`
	UnitPriceCents int64  `db:"unit_price_cents"`
	Currency       string `db:"currency"`
	Quantity       int    `db:"quantity"`
	// DiscountCents is the line's share of the order's discount.
	DiscountCents int64 `db:"discount_cents"`
}

const orderColumns = `id, seq, cart_id, email, status, currency, created_at, cancelled_at, updated_at, customer_id`

// MaxEmailLen is the longest address SMTP allows.
const MaxEmailLen = 254

// validEmail accepts a plain address, local@domain: what net/mail parses
// back to itself, without quotes (no quoted local part), and whose domain
// is a host name (validMailDomain): an IP literal (a@[127.0.0.1]) or bare
// address (a@127.0.0.1) is refused.
func validEmail(s string) bool {
	if len(s) > MaxEmailLen || strings.ContainsAny(s, " \t\r\n<>\"") {
		return false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && validMailDomain(s[at+1:])
}

// validMailDomain reports whether d is a host name with at least two
// labels: each 1-63 bytes of letters (any script, for internationalised
// names), digits and inner hyphens, the last not all digits.
func validMailDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r == '-' || r >= '0' && r <= '9' || unicode.IsLetter(r) || unicode.IsMark(r)) {
				return false
			}
		}
	}
	return strings.IndexFunc(labels[len(labels)-1], func(r rune) bool { return r < '0' || r > '9' }) >= 0
}

// Checkout turns a cart's holds into an order in ONE transaction: the cart
// row is locked first, then its products in ascending id order; for each
// line stock and held both drop by the quantity, the order and its line
// snapshots are inserted, the cart is marked checked out, and the order is
// allocated to locations (allocateOrder: the levels drop, with a sale in the
// ledger per location). Checking out a checked-out cart returns its order and
// sells nothing twice.
//
// A non-empty key makes the call idempotent (see AddToCartParams).
func (s *Store) Checkout(ctx context.Context, cartID, email, key string) (*Order, error) {
	email = strings.TrimSpace(email)
	if !validEmail(email) {
		return nil, userErr(CodeInvalidInput, "email must be a plain address such as ada@example.com", "input", "email")
	}
	if !ValidSecretID(cartID) {
		return nil, userErr(CodeCartNotFound, "no cart with this id", "input", "cartId")
	}
	var sold sale
	if key != "" {
		out, err := s.idempotent(ctx, cartID, key, "checkout", requestHash("checkout", email), func(ctx context.Context, tx *Tx) (*Outcome, error) {
			o, x, err := s.checkoutTx(ctx, tx, cartID, email)
			if err != nil {
				return nil, err
			}
			sold = x
			return &Outcome{OrderID: o.ID}, nil
		})
		if err != nil {
			return nil, err
		}
		if err := out.Err(); err != nil {
			return nil, err
		}
		if !out.Replayed {
			s.countSale(sold)
		}
		return s.OrderByID(ctx, out.OrderID)
	}
	var order *Order
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) (err error) {
		order, sold, err = s.checkoutTx(ctx, tx, cartID, email)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.countSale(sold)
	return order, nil
}

// sale is what a checkout sold, for metrics.
type sale struct{ units, cents int64 }

func (s *Store) countSale(x sale) {
	if x.units > 0 {
		s.checkouts.Add(1)
		s.unitsSold.Add(x.units)
		s.salesCents.Add(x.cents)
	}
}

// checkoutTx is Checkout's transaction body. sold is zero when the cart was
// already checked out (the existing order is returned).
func (s *Store) checkoutTx(ctx context.Context, tx *Tx, cartID, email string) (_ *Order, sold sale, _ error) {
	var order Order
	err := func() error {
		status, err := lockCart(ctx, tx.q, cartID)
		if status == CartCheckedOut {
			return sqlxGet(ctx, tx.q, &order, `SELECT `+orderColumns+` FROM orders WHERE cart_id = $1`, cartID)
		}
		if err != nil {
			return err
		}
		var lines int
		if err := sqlxGet(ctx, tx.q, &lines, `SELECT count(*) FROM cart_lines WHERE cart_id = $1`, cartID); err != nil {
			return err
		}
		if lines == 0 {
			return userErr(CodeCartEmpty, "the cart has no lines to check out", "input", "cartId")
		}
		// A cart with a discount code is priced from the database as it is
		// now (its products locked first); nil when it has none.
		pricing, err := checkoutPricing(ctx, tx.q, cartID, "UPDATE")
		if err != nil {
			return err
		}
		discountIDs, discountCents := discountArrays(pricing)
		const sell = `
			WITH lines AS (
				SELECT product_id, quantity
				FROM cart_lines
				WHERE cart_id = $1
			), locked AS (
				-- Ascending id: the lock order of every multi-product statement.
				SELECT p.id, p.sku, p.name, p.price_cents, p.currency, l.quantity
				FROM products p
				JOIN lines l ON l.product_id = p.id
				ORDER BY p.id
				FOR UPDATE OF p
			), placed AS (
				INSERT INTO orders (id, cart_id, email, currency, customer_id)
				SELECT $2, $1, $3, (SELECT currency FROM locked ORDER BY id LIMIT 1),
				       (SELECT customer_id FROM carts WHERE id = $1)
				RETURNING ` + orderColumns + `
			), order_lines_written AS (
				INSERT INTO order_lines (order_id, product_id, sku, name, unit_price_cents, currency, quantity, discount_cents)
				SELECT $2, id, sku, name, price_cents, currency, quantity,
				       COALESCE((SELECT d.cents FROM unnest($4::bigint[], $5::bigint[]) AS d(id, cents) WHERE d.id = locked.id), 0)
				FROM locked
			), sold AS (
				UPDATE products p
				SET stock = p.stock - l.quantity, held = p.held - l.quantity, updated_at = now()
				FROM locked l
				WHERE p.id = l.id
			), emptied AS (
				DELETE FROM cart_lines
				WHERE cart_id = $1
			), checked_out AS (
				UPDATE carts
				SET status = 'CHECKED_OUT', updated_at = now(), total_quantity = 0, line_count = 0
				WHERE id = $1
			)
			-- cents only feeds a metric: clamped, never an overflow error.
			SELECT placed.*,
			       (SELECT sum(quantity) FROM locked) AS units,
			       LEAST((SELECT sum(price_cents::numeric * quantity) FROM locked), 9223372036854775807)::bigint AS cents
			FROM placed`
		var row struct {
			Order
			Units int64 `db:"units"`
			Cents int64 `db:"cents"`
		}
		if err := sqlxGet(ctx, tx.q, &row, sell, cartID, NewSecretID(), email, discountIDs, discountCents); err != nil {
			return err
		}
		order, sold = row.Order, sale{row.Units, row.Cents}
		// The sale's ledger movements are written per location, by the
		// allocation.
		if err := s.allocateOrder(ctx, tx.q, order.ID); err != nil {
			return err
		}
		if err := settleCheckoutDiscount(ctx, tx.q, pricing, cartID, order.ID, true); err != nil {
			return err
		}
		if _, err := takeGiftCards(ctx, tx.q, cartID, order.ID, true); err != nil {
			return err
		}
		if err := enqueueOrderEvent(ctx, tx.q, TopicOrderPlaced, order.ID); err != nil {
			return err
		}
		// A sale of held units leaves available as it was: the products'
		// watchers have nothing to learn (the products_notify_stock trigger).
		return notify(ctx, tx.q, ChannelCart, []string{cartID})
	}()
	if err != nil {
		return nil, sale{}, err
	}
	return &order, sold, nil
}

// CancelOrder puts a placed order's units back in stock, once, and queues
// the refund of its payment if it was paid. It refuses
// (STOCK_LIMIT_EXCEEDED) when a product's stock would pass what an integer
// holds, and then changes nothing. An order awaiting its payment is
// cancelled too: its holds are released and its intent cancelled; an
// expired one is only closed; a refunded one (or one awaiting its refund)
// is refused.
func (s *Store) CancelOrder(ctx context.Context, orderID string) (*Order, error) {
	return s.CancelOrderKeyed(ctx, orderID, "")
}

// CancelOrderKeyed is CancelOrder with an idempotency key ("" for none): a
// repeat answers the order as the first attempt cancelled it, not
// ORDER_ALREADY_CANCELLED.
func (s *Store) CancelOrderKeyed(ctx context.Context, orderID, key string) (*Order, error) {
	if !ValidSecretID(orderID) {
		return nil, userErr(CodeOrderNotFound, "no order with this id", "input", "orderId")
	}
	var order Order
	cancelTx := func(ctx context.Context, tx *Tx) error {
		st, err := lockOrder(ctx, tx.q, orderID)
		switch {
		case err != nil:
			return err
		case st == nil:
			return orderNotFound()
		case st.Status == OrderCancelled:
			return userErr(CodeOrderAlreadyCancelled, "the order is already cancelled", "input", "orderId")
		case st.Status == OrderPendingPayment:
			// Not paid yet: its holds are released and its intent
			// cancelled (queued); a payment that succeeds all the same
			// makes it REFUND_REQUIRED (see PaymentSucceeded).
			if err := cancelPending(ctx, tx.q, orderID); err != nil {
				return err
			}
			return sqlxGet(ctx, tx.q, &order, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, orderID)
		case st.Status == OrderPaymentExpired:
			// Nothing is held or sold: it is only closed, so that a late
			// payment is refunded instead of re-reserving the units.
			const closeExpired = `UPDATE orders SET status = 'CANCELLED', cancelled_at = now() WHERE id = $1 AND status = 'PAYMENT_EXPIRED' RETURNING ` + orderColumns
			return sqlxGet(ctx, tx.q, &order, closeExpired, orderID)
		case st.Status != OrderPlaced:
			return userErr(CodeInvalidInput, "the order was paid but never placed: it awaits or has had its refund", "input", "orderId")
		}
		// The locations the units go back to, then the products: the lock
		// order.
		if err := lockAllocationLocations(ctx, tx.q, orderID); err != nil {
			return err
		}
		// Every line restocks, or the order stays placed: restocked skips a
		// product whose stock would overflow, the order is cancelled only if
		// no line was skipped, and otherwise the refusal rolls back the
		// transaction, the lines restocked so far included. A product gets
		// back its units allocated from active locations; the levels and the
		// ledger follow (restoreAllocationsSQL, run next).
		const restore = `
			WITH back AS (
				SELECT a.product_id, sum(a.quantity) AS quantity
				FROM order_line_allocations a
				JOIN locations loc ON loc.id = a.location_id AND loc.active
				WHERE a.order_id = $1
				GROUP BY a.product_id
			), locked AS (
				SELECT p.id, COALESCE(b.quantity, 0) AS quantity
				FROM products p
				JOIN order_lines l ON l.product_id = p.id AND l.order_id = $1
				LEFT JOIN back b ON b.product_id = p.id
				ORDER BY p.id
				FOR UPDATE OF p
			), restocked AS (
				UPDATE products p
				SET stock = p.stock + l.quantity, updated_at = now()
				FROM locked l
				WHERE p.id = l.id AND p.stock::bigint + l.quantity <= 2147483647
				RETURNING p.id, l.quantity
			), cancelled AS (
				UPDATE orders
				SET status = 'CANCELLED', cancelled_at = now()
				WHERE id = $1 AND status = 'PLACED' AND (SELECT count(*) FROM restocked) = (SELECT count(*) FROM locked)
				RETURNING ` + orderColumns + `
			), refund AS (
				-- A paid order's money goes back (package payments issues it).
				INSERT INTO payment_actions (order_id, kind)
				SELECT c.id, 'refund'
				FROM cancelled c
				JOIN payments p ON p.order_id = c.id AND p.status = 'SUCCEEDED'
				ON CONFLICT (order_id, kind) DO NOTHING
			)
			SELECT * FROM cancelled`
		err = sqlxGet(ctx, tx.q, &order, restore, orderID)
		if errors.Is(err, ErrNotFound) {
			// The order is locked and placed: only the stock guard refuses.
			return userErr(CodeStockLimitExceeded, "cancelling would take a product's stock past 2147483647 units", "input", "orderId")
		}
		if err != nil {
			return err
		}
		var restored int64
		if err := sqlxGet(ctx, tx.q, &restored, restoreAllocationsSQL, orderID); err != nil {
			return err
		}
		return enqueueOrderEvent(ctx, tx.q, TopicOrderCancelled, orderID)
	}
	return adminTx(ctx, s, key, "cancelOrder", requestHash("cancelOrder", orderID), func(ctx context.Context, tx *Tx) (*Order, error) {
		if err := cancelTx(ctx, tx); err != nil {
			return nil, err
		}
		o := order
		return &o, nil
	})
}

// OrderByID returns the order, or nil.
func (s *Store) OrderByID(ctx context.Context, id string) (*Order, error) {
	if !ValidSecretID(id) {
		return nil, nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var o Order
	if err := sqlxGet(ctx, s.reader(), &o, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, id); err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return &o, nil
}

// ListOrders returns up to first orders, newest first, older than the order
// with sequence number before (0: from the newest), and whether more follow.
func (s *Store) ListOrders(ctx context.Context, first int, before int64) ([]*Order, bool, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT ` + orderColumns + `
		FROM orders
		WHERE $1::bigint = 0 OR seq < $1
		ORDER BY seq DESC
		LIMIT $2`
	var os []*Order
	if err := sqlxSelect(ctx, s.reader(), &os, q, before, first+1); err != nil {
		return nil, false, err
	}
	more := len(os) > first
	if more {
		os = os[:first]
	}
	return os, more, nil
}

// OrderLinesByOrderIDs loads the lines of many orders in one query.
func (s *Store) OrderLinesByOrderIDs(ctx context.Context, ids []string) (map[string][]*OrderLine, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT order_id, product_id, sku, name, unit_price_cents, currency, quantity, discount_cents
		FROM order_lines
		WHERE order_id = ANY($1)
		ORDER BY order_id, product_id`
	var lines []*OrderLine
	if err := sqlxSelect(ctx, s.reader(), &lines, q, pq.Array(ids)); err != nil {
		return nil, err
	}
	out := make(map[string][]*OrderLine, len(ids))
	for _, id := range ids {
		out[id] = []*OrderLine{}
	}
	for _, l := range lines {
		out[l.OrderID] = append(out[l.OrderID], l)
	}
	return out, nil
}
