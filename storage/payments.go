package storage

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Checkout with payment (issue 13).
//
// BeginCheckout turns a cart into an order in PENDING_PAYMENT: the cart's
// lines become the order's lines and their units stay in products.held
// (held = live cart lines + lines of pending orders), so nothing is sold
// yet. From there exactly one transition happens, each a conditional
// UPDATE on the order row (WHERE status = ...) in a transaction that first
// locks that row, so every path below serialises on it, in one process or
// many:
//
//	PENDING_PAYMENT --succeeded--> PLACED           held units sold (ledger: sale)
//	PENDING_PAYMENT --failed/due--> PAYMENT_EXPIRED holds released, intent cancelled
//	PENDING_PAYMENT --cancelOrder--> CANCELLED      holds released, intent cancelled
//	PAYMENT_EXPIRED --succeeded--> PLACED           units re-reserved and sold, if free
//	PAYMENT_EXPIRED --succeeded--> REFUND_REQUIRED  otherwise; a refund is queued
//	CANCELLED (unpaid) --succeeded--> REFUND_REQUIRED
//	REFUND_REQUIRED --refund issued--> REFUNDED
//
// A provider event is recorded (payment_events, keyed by its id) in the
// transaction of the transition it causes, so a redelivered event changes
// nothing. Side effects at the provider that must follow a transition
// (cancel an intent, refund) are rows of payment_actions written in the
// same transaction and worked off by WorkPaymentAction.

// Order statuses of checkout with payment.
const (
	OrderPendingPayment = "PENDING_PAYMENT"
	OrderPaymentExpired = "PAYMENT_EXPIRED"
	OrderRefundRequired = "REFUND_REQUIRED"
	OrderRefunded       = "REFUNDED"
)

// Payment statuses.
const (
	PaymentPending   = "PENDING"
	PaymentSucceeded = "SUCCEEDED"
	PaymentFailed    = "FAILED"
	PaymentExpired   = "EXPIRED"
	PaymentRefunded  = "REFUNDED"
)

// Payment refusal codes.
const (
	// CodePaymentNotPending: the order has no payment that could take this
	// confirmation (none, another provider's, or confirmed with another
	// reference).
	CodePaymentNotPending Code = "PAYMENT_NOT_PENDING"
	// CodePaymentProviderUnavailable: the provider could not begin the
	// payment; the cart is as it was.
	CodePaymentProviderUnavailable Code = "PAYMENT_PROVIDER_UNAVAILABLE"
	// CodePaymentRequired: checkout without payment where the shop takes
	// payments.
	CodePaymentRequired Code = "PAYMENT_REQUIRED"
	// CodeDuplicatePaymentReference: confirmPayment with a reference that
	// already confirmed another order's manual payment.
	CodeDuplicatePaymentReference Code = "DUPLICATE_PAYMENT_REFERENCE"
)

// manualReferenceIndex makes a manual payment's reference confirm one
// order only (migrations/00014); translate maps its violation to
// duplicateReference.
const manualReferenceIndex = "payments_manual_reference_once"

func duplicateReference() *Error {
	return userErr(CodeDuplicatePaymentReference, "this reference already confirmed another order's payment", "input", "reference")
}

// PaymentRequired refuses an unpaid checkout on a shop that takes payments.
func PaymentRequired() *Error {
	return userErr(CodePaymentRequired, "this shop takes payment: begin the checkout with beginCheckout", "input", "cartId")
}

// Payment action kinds.
const (
	ActionCancel = "cancel"
	ActionRefund = "refund"
)

// Payment is an order's payment.
type Payment struct {
	OrderID      string     `db:"order_id"`
	Provider     string     `db:"provider"`
	Status       string     `db:"status"`
	AmountCents  int64      `db:"amount_cents"`
	Currency     string     `db:"currency"`
	Reference    *string    `db:"reference"`
	ClientSecret *string    `db:"client_secret"`
	DueAt        time.Time  `db:"due_at"`
	CreatedAt    time.Time  `db:"created_at"`
	UpdatedAt    time.Time  `db:"updated_at"`
	SucceededAt  *time.Time `db:"succeeded_at"`
}

const paymentColumns = `order_id, provider, status, amount_cents, currency, reference, client_secret, due_at, created_at, updated_at, succeeded_at`

// MaxReferenceLen bounds a payment reference.
const MaxReferenceLen = 255

// BeginCheckoutParams is the input of BeginCheckout.
type BeginCheckoutParams struct {
	CartID, Email string
	// IdempotencyKey makes the call idempotent like Checkout's.
	IdempotencyKey string
	// Provider names the payment provider that takes the payment.
	Provider string
	// TTL is how long the payment may take (PAYMENT_TTL): dueAt = now + TTL.
	// Required: package payments passes its own.
	TTL time.Duration
}

// BeginCheckout turns the cart into an order in PENDING_PAYMENT with a
// PENDING payment due TTL from now, in ONE transaction: the cart row is
// locked, its lines move to the order (their units stay held: nothing is
// sold, no product row is touched), and the cart is marked checked out.
// On a cart already checked out it returns the cart's order (pending,
// placed, or whatever became of it) and its payment (nil for an order
// placed by Checkout), changing nothing.
//
// The provider is called afterwards (see package payments): AttachIntent
// records what it answered, AbandonCheckout undoes this when it failed.
func (s *Store) BeginCheckout(ctx context.Context, in BeginCheckoutParams) (*Order, *Payment, error) {
	email := strings.TrimSpace(in.Email)
	if !validEmail(email) {
		return nil, nil, userErr(CodeInvalidInput, "email must be a plain address such as ada@example.com", "input", "email")
	}
	if !ValidSecretID(in.CartID) {
		return nil, nil, userErr(CodeCartNotFound, "no cart with this id", "input", "cartId")
	}
	if in.TTL <= 0 {
		return nil, nil, errors.New("storage: BeginCheckout without a TTL")
	}
	var orderID string
	if in.IdempotencyKey != "" {
		out, err := s.idempotent(ctx, in.CartID, in.IdempotencyKey, "beginCheckout", requestHash("beginCheckout", email), func(ctx context.Context, tx *Tx) (*Outcome, error) {
			o, err := s.beginCheckoutTx(ctx, tx, in.CartID, email, in.Provider, in.TTL)
			if err != nil {
				return nil, err
			}
			return &Outcome{OrderID: o.ID}, nil
		})
		if err != nil {
			return nil, nil, err
		}
		if err := out.Err(); err != nil {
			return nil, nil, err
		}
		orderID = out.OrderID
	} else {
		err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
			o, err := s.beginCheckoutTx(ctx, tx, in.CartID, email, in.Provider, in.TTL)
			if err == nil {
				orderID = o.ID
			}
			return err
		})
		if err != nil {
			return nil, nil, err
		}
	}
	order, err := s.OrderByID(ctx, orderID)
	if err != nil {
		return nil, nil, err
	}
	if order == nil {
		// A keyed replay of an attempt that was abandoned since: cannot
		// happen (AbandonCheckout deletes the key's record with the order).
		return nil, nil, userErr(CodeOrderNotFound, "the order of this checkout no longer exists", "input", "cartId")
	}
	p, err := s.PaymentByOrderID(ctx, orderID)
	if err != nil {
		return nil, nil, err
	}
	return order, p, nil
}

// beginCheckoutTx is BeginCheckout's transaction body.
func (s *Store) beginCheckoutTx(ctx context.Context, tx *Tx, cartID, email, provider string, ttl time.Duration) (*Order, error) {
	var order Order
	status, err := lockCart(ctx, tx.q, cartID)
	if status == CartCheckedOut {
		err := sqlxGet(ctx, tx.q, &order, `SELECT `+orderColumns+` FROM orders WHERE cart_id = $1`, cartID)
		return &order, err
	}
	if err != nil {
		return nil, err
	}
	var lines int
	if err := sqlxGet(ctx, tx.q, &lines, `SELECT count(*) FROM cart_lines WHERE cart_id = $1`, cartID); err != nil {
		return nil, err
	}
	if lines == 0 {
		return nil, userErr(CodeCartEmpty, "the cart has no lines to check out", "input", "cartId")
	}
	// A cart with a discount code is priced now, its products locked (in
	// ascending id, before codes and cards: their prices stay put, and an
	// order the cards pay entirely is sold at once); so are those of a cart
	// with gift cards.
	pricing, err := checkoutPricing(ctx, tx.q, cartID, "UPDATE")
	if err != nil {
		return nil, err
	}
	hasCards, err := cartHasGiftCards(ctx, tx.q, cartID)
	if err != nil {
		return nil, err
	}
	if hasCards && pricing == nil {
		const lockProducts = `
			SELECT p.id
			FROM cart_lines cl
			JOIN products p ON p.id = cl.product_id
			WHERE cl.cart_id = $1
			ORDER BY p.id
			FOR UPDATE OF p`
		var ids []int64
		if err := sqlxSelect(ctx, tx.q, &ids, lockProducts, cartID); err != nil {
			return nil, err
		}
	}
	discountIDs, discountCents := discountArrays(pricing)
	// The lines move from the cart to the order; their units stay in
	// products.held, now on the order's account, so no product row is
	// locked or written. Prices are the products' as of now.
	const pend = `
		WITH moved AS (
			DELETE FROM cart_lines
			WHERE cart_id = $1
			RETURNING product_id, quantity
		), priced AS (
			SELECT p.id, p.sku, p.name, p.price_cents, p.currency, m.quantity
			FROM products p
			JOIN moved m ON m.product_id = p.id
		), pending AS (
			INSERT INTO orders (id, cart_id, email, currency, status, customer_id)
			SELECT $2, $1, $3, (SELECT currency FROM priced ORDER BY id LIMIT 1), 'PENDING_PAYMENT',
			       (SELECT customer_id FROM carts WHERE id = $1)
			RETURNING ` + orderColumns + `
		), order_lines_written AS (
			INSERT INTO order_lines (order_id, product_id, sku, name, unit_price_cents, currency, quantity, discount_cents)
			SELECT $2, id, sku, name, price_cents, currency, quantity,
			       COALESCE((SELECT d.cents FROM unnest($6::bigint[], $7::bigint[]) AS d(id, cents) WHERE d.id = priced.id), 0)
			FROM priced
		), payment AS (
			-- What the customer owes: the lines less their discounts.
			INSERT INTO payments (order_id, provider, amount_cents, currency, due_at)
			SELECT id, $4, ((SELECT sum(price_cents::numeric * quantity) FROM priced)
			                - (SELECT COALESCE(sum(c), 0) FROM unnest($7::bigint[]) AS c))::bigint, currency,
			       now() + $5 * interval '1 millisecond'
			FROM pending
		), checked_out AS (
			UPDATE carts
			SET status = 'CHECKED_OUT', updated_at = now(), total_quantity = 0, line_count = 0
			WHERE id = $1
		)
		SELECT * FROM pending`
	if err := sqlxGet(ctx, tx.q, &order, pend, cartID, NewSecretID(), email, provider, ttl.Milliseconds(), discountIDs, discountCents); err != nil {
		return nil, err
	}
	if err := settleCheckoutDiscount(ctx, tx.q, pricing, cartID, order.ID, false); err != nil {
		return nil, err
	}
	if hasCards || pricing != nil {
		if err := s.payByGiftCards(ctx, tx.q, cartID, &order); err != nil {
			return nil, err
		}
	}
	if err := notify(ctx, tx.q, ChannelCart, []string{cartID}); err != nil {
		return nil, err
	}
	return &order, nil
}

// payByGiftCards holds what a new pending order's gift cards pay and asks
// the provider only for the rest; when nothing is left to pay (the cards,
// or the discount, cover everything) the order is sold and PLACED at once,
// with no payment (the provider is never called).
func (s *Store) payByGiftCards(ctx context.Context, q queryer, cartID string, order *Order) error {
	taken, err := takeGiftCards(ctx, q, cartID, order.ID, false)
	if err != nil {
		return err
	}
	var rest int64
	const pay = `UPDATE payments SET amount_cents = amount_cents - $2 WHERE order_id = $1 RETURNING amount_cents`
	if err := sqlxGet(ctx, q, &rest, pay, order.ID, taken); err != nil {
		return err
	}
	if rest > 0 {
		return nil
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM payments WHERE order_id = $1`, order.ID); err != nil {
		return translate(err)
	}
	units, err := s.sellHeld(ctx, q, order.ID)
	if err != nil {
		return err
	}
	if err := enqueueOrderEvent(ctx, q, TopicOrderPlaced, order.ID); err != nil {
		return err
	}
	s.checkouts.Add(1)
	s.unitsSold.Add(units)
	return sqlxGet(ctx, q, order, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, order.ID)
}

// AttachIntent records the provider's reference and client secret on a
// payment that has none yet (or already this reference). It returns nil
// when there is no such payment: the checkout was abandoned meanwhile
// (AbandonCheckout), and the secret must not reach the shopper.
func (s *Store) AttachIntent(ctx context.Context, orderID, reference, clientSecret string) (*Payment, error) {
	const q = `
		UPDATE payments
		SET reference = $2, client_secret = NULLIF($3, ''), updated_at = now()
		WHERE order_id = $1 AND (reference IS NULL OR reference = $2)
		RETURNING ` + paymentColumns
	var p Payment
	err := s.retry(ctx, func(ctx context.Context) error {
		return sqlxGet(ctx, s.pool(), &p, q, orderID, reference, clientSecret)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// AbandonCheckout undoes BeginCheckout when the provider could not begin
// the payment: if the order is still PENDING_PAYMENT with a pending
// payment that no provider reference was recorded for, its lines go back
// to the cart (their units still held, now on the cart's account again),
// the cart is ACTIVE again with its old expiry, and the order, its payment
// and the idempotency record that names it are deleted. It reports whether
// it did so; false means the checkout went on meanwhile (another attempt
// recorded an intent, the payment was decided) and nothing changed.
func (s *Store) AbandonCheckout(ctx context.Context, orderID string) (bool, error) {
	var done bool
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		done = false
		var cartID string
		err := sqlxGet(ctx, tx.q, &cartID, `SELECT cart_id FROM orders WHERE id = $1`, orderID)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		// Lock order: the cart row first, as everywhere; then the order.
		if _, err := tx.q.ExecContext(ctx, `SELECT 1 FROM carts WHERE id = $1 FOR UPDATE`, cartID); err != nil {
			return translate(err)
		}
		const check = `
			SELECT o.status = 'PENDING_PAYMENT' AND p.status = 'PENDING' AND p.reference IS NULL
			FROM orders o
			JOIN payments p ON p.order_id = o.id
			WHERE o.id = $1
			FOR UPDATE OF o, p`
		var abandonable bool
		if err := sqlxGet(ctx, tx.q, &abandonable, check, orderID); err != nil || !abandonable {
			if errors.Is(err, ErrNotFound) {
				return nil
			}
			return err
		}
		const restore = `
			WITH gone AS (
				DELETE FROM order_lines
				WHERE order_id = $1
				RETURNING product_id, quantity, currency
			), back AS (
				INSERT INTO cart_lines (cart_id, product_id, quantity, currency)
				SELECT $2, product_id, quantity, currency
				FROM gone
			)
			UPDATE carts
			SET status = 'ACTIVE', updated_at = now(),
			    total_quantity = (SELECT COALESCE(sum(quantity), 0) FROM gone),
			    line_count = (SELECT count(*) FROM gone)
			WHERE id = $2`
		if _, err := tx.q.ExecContext(ctx, restore, orderID, cartID); err != nil {
			return translate(err)
		}
		const forget = `
			WITH keys AS (
				DELETE FROM idempotency_keys
				WHERE cart_id = $2 AND response->>'orderId' = $1
			), payment AS (
				DELETE FROM payments
				WHERE order_id = $1
			)
			DELETE FROM orders
			WHERE id = $1`
		if _, err := tx.q.ExecContext(ctx, forget, orderID, cartID); err != nil {
			return translate(err)
		}
		done = true
		return notify(ctx, tx.q, ChannelCart, []string{cartID})
	})
	return done, err
}

// PaymentEvent is news from a payment provider about an order's payment.
type PaymentEvent struct {
	// Provider must be the payment's provider.
	Provider string
	// EventID is the provider's id of the event ("" for none: the manual
	// provider). An id seen before makes the call change nothing.
	EventID   string
	EventType string
	OrderID   string
	// Reference is the provider's id of the payment; on success it is
	// recorded if the payment has none. With no EventID (the manual
	// provider) a payment that succeeded with another reference refuses
	// (PAYMENT_NOT_PENDING).
	Reference string
	// MatchReference makes the event apply only if Reference is the
	// reference recorded for the order's payment (PAYMENT_NOT_PENDING
	// otherwise, changing nothing): a provider's event names its payment,
	// and the order id it carries (a Stripe intent's metadata, which can
	// be set on any intent of the account) is no proof that the payment
	// is this order's.
	MatchReference bool
}

// PaymentTransition says what a payment event did.
type PaymentTransition struct {
	// Order is the order as the event left it.
	Order *Order
	// From is the order's status before; From == Order.Status when the
	// event changed nothing.
	From string
	// Duplicate is set when the event id was seen before.
	Duplicate bool
	// Units are the units the event sold (or released).
	Units int64
}

// Changed reports whether the event changed the order.
func (t *PaymentTransition) Changed() bool { return t.Order != nil && t.From != t.Order.Status }

// orderState is an order row, locked, with its payment's status.
type orderState struct {
	Status        string `db:"status"`
	CartID        string `db:"cart_id"`
	PaymentStatus *string
	Provider      *string
	Reference     *string
}

// lockOrder locks the order row, the first lock of every payment
// transition (and of cancelOrder), then reads its payment; nil if there is
// no such order. The payment is read by a statement of its own, after the
// lock is granted: at READ COMMITTED it then sees what the transaction
// that held the lock committed (a join in the locking statement would
// show the payment row as of before the wait).
func lockOrder(ctx context.Context, q queryer, orderID string) (*orderState, error) {
	var st orderState
	err := sqlxGet(ctx, q, &st, `SELECT status, cart_id FROM orders WHERE id = $1 FOR UPDATE`, orderID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p struct {
		Status    string  `db:"status"`
		Provider  string  `db:"provider"`
		Reference *string `db:"reference"`
	}
	err = sqlxGet(ctx, q, &p, `SELECT status, provider, reference FROM payments WHERE order_id = $1`, orderID)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, err
	default:
		st.PaymentStatus, st.Provider, st.Reference = &p.Status, &p.Provider, p.Reference
	}
	return &st, nil
}

func orderNotFound() *Error {
	return userErr(CodeOrderNotFound, "no order with this id", "input", "orderId")
}

func notPending(msg string) *Error {
	return userErr(CodePaymentNotPending, msg, "input", "orderId")
}

// paymentTx runs a payment event's transition: it locks the order, checks
// that the event is for this order's payment, records the event id (a
// duplicate ends here, changing nothing) and runs apply, all in one
// transaction.
func (s *Store) paymentTx(ctx context.Context, ev PaymentEvent, apply func(tx *Tx, st *orderState) (units int64, err error)) (*PaymentTransition, error) {
	if !ValidSecretID(ev.OrderID) {
		return nil, orderNotFound()
	}
	var tr PaymentTransition
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		tr = PaymentTransition{}
		st, err := lockOrder(ctx, tx.q, ev.OrderID)
		if err != nil {
			return err
		}
		if st == nil {
			return orderNotFound()
		}
		tr.From = st.Status
		if st.PaymentStatus == nil {
			return notPending("the order was placed without a payment")
		}
		if *st.Provider != ev.Provider {
			return notPending("the order's payment is taken by the " + *st.Provider + " provider")
		}
		if ev.MatchReference && (st.Reference == nil || *st.Reference != ev.Reference) {
			return notPending("the event is not about the payment recorded for this order")
		}
		if ev.EventID != "" {
			const record = `
				INSERT INTO payment_events (provider, event_id, order_id, type)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (provider, event_id) DO NOTHING
				RETURNING true`
			var fresh bool
			err := sqlxGet(ctx, tx.q, &fresh, record, ev.Provider, ev.EventID, ev.OrderID, ev.EventType)
			if errors.Is(err, ErrNotFound) {
				tr.Duplicate = true
			} else if err != nil {
				return err
			}
		}
		if !tr.Duplicate {
			if tr.Units, err = apply(tx, st); err != nil {
				return err
			}
		}
		var o Order
		if err := sqlxGet(ctx, tx.q, &o, `SELECT `+orderColumns+` FROM orders WHERE id = $1`, ev.OrderID); err != nil {
			return err
		}
		tr.Order = &o
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &tr, nil
}

// PaymentSucceeded applies a successful payment, once:
//
//   - PENDING_PAYMENT: the held units are sold (stock and held fall, the
//     order is allocated to locations, a sale in the ledger per location)
//     and the order is PLACED;
//   - PAYMENT_EXPIRED: the units are re-reserved and sold with the guarded
//     UPDATE (stock - held >= quantity) if every line still can be, and the
//     order is PLACED; otherwise it is REFUND_REQUIRED and a refund queued;
//   - CANCELLED before it was paid: REFUND_REQUIRED and a refund queued;
//   - already succeeded: nothing changes (with no event id and another
//     reference: PAYMENT_NOT_PENDING).
func (s *Store) PaymentSucceeded(ctx context.Context, ev PaymentEvent) (*PaymentTransition, error) {
	if !validText(ev.Reference, MaxReferenceLen) {
		return nil, userErr(CodeInvalidInput, "reference must be at most 255 characters of valid UTF-8", "input", "reference")
	}
	tr, err := s.paymentTx(ctx, ev, func(tx *Tx, st *orderState) (int64, error) {
		switch *st.PaymentStatus {
		case PaymentSucceeded, PaymentRefunded:
			if ev.EventID == "" && ev.Reference != "" && (st.Reference == nil || *st.Reference != ev.Reference) {
				return 0, notPending("the payment already succeeded with another reference")
			}
			return 0, nil
		case PaymentPending:
			if err := markSucceeded(ctx, tx.q, ev.OrderID, ev.Reference, PaymentPending); err != nil {
				return 0, err
			}
			units, err := s.sellHeld(ctx, tx.q, ev.OrderID)
			if err != nil {
				return 0, err
			}
			return units, paidEvents(ctx, tx.q, ev.OrderID, true)
		}
		// FAILED or EXPIRED: money arrived for an order whose holds are gone.
		if err := markSucceeded(ctx, tx.q, ev.OrderID, ev.Reference, *st.PaymentStatus); err != nil {
			return 0, err
		}
		if st.Status == OrderPaymentExpired {
			units, ok, err := s.sellAgain(ctx, tx.q, ev.OrderID)
			if err != nil {
				return units, err
			}
			if err := paidEvents(ctx, tx.q, ev.OrderID, ok); err != nil {
				return 0, err
			}
			if ok {
				return units, nil
			}
		} else if err := paidEvents(ctx, tx.q, ev.OrderID, false); err != nil {
			return 0, err
		}
		return 0, requireRefund(ctx, tx.q, ev.OrderID, st.Status)
	})
	if err == nil && tr.Changed() && tr.Order.Status == OrderPlaced {
		s.checkouts.Add(1)
		s.unitsSold.Add(tr.Units)
	}
	return tr, err
}

// paidEvents writes the webhooks of a payment that succeeded, in its
// transaction: ORDER_PAID always (the money arrived), ORDER_PLACED when the
// order is now sold.
func paidEvents(ctx context.Context, q queryer, orderID string, placed bool) error {
	if err := enqueueOrderEvent(ctx, q, TopicOrderPaid, orderID); err != nil {
		return err
	}
	if placed {
		return enqueueOrderEvent(ctx, q, TopicOrderPlaced, orderID)
	}
	return nil
}

// markSucceeded moves the payment from status `from` to SUCCEEDED,
// recording reference if it has none.
func markSucceeded(ctx context.Context, q queryer, orderID, reference, from string) error {
	const stmt = `
		UPDATE payments
		SET status = 'SUCCEEDED', succeeded_at = now(), updated_at = now(),
		    reference = COALESCE(reference, NULLIF($2, ''))
		WHERE order_id = $1 AND status = $3`
	_, err := q.ExecContext(ctx, stmt, orderID, reference, from)
	return translate(err)
}

// sellHeld sells a pending order's held units: the order becomes PLACED
// only if it was PENDING_PAYMENT, and only then do its products (locked in
// ascending id order) lose the units from stock and held, and is the order
// allocated to locations (allocateOrder: the sales in the ledger, per
// location), all in the caller's transaction.
func (s *Store) sellHeld(ctx context.Context, q queryer, orderID string) (int64, error) {
	const stmt = `
		WITH placed AS (
			UPDATE orders
			SET status = 'PLACED'
			WHERE id = $1 AND status = 'PENDING_PAYMENT'
			RETURNING id
		), locked AS (
			SELECT p.id, l.quantity
			FROM products p
			JOIN order_lines l ON l.product_id = p.id
			JOIN placed ON placed.id = l.order_id
			ORDER BY p.id
			FOR UPDATE OF p
		), sold AS (
			UPDATE products p
			SET stock = p.stock - l.quantity, held = p.held - l.quantity, updated_at = now()
			FROM locked l
			WHERE p.id = l.id
			RETURNING p.id, l.quantity
		)
		SELECT id, quantity FROM sold`
	units, err := moveUnits(ctx, q, stmt, orderID)
	if err != nil || units == 0 {
		return units, err
	}
	return units, s.allocateOrder(ctx, q, orderID)
}

// sellAgain sells an expired order's units from what is free now, with the
// reservation's guard (stock - held >= quantity) on each product row
// (locked in ascending id order): every line or none, the savepoint
// undoing a partial sale. ok reports whether the order is PLACED; it is
// then allocated to locations (allocateOrder) in the same transaction.
func (s *Store) sellAgain(ctx context.Context, q queryer, orderID string) (units int64, ok bool, err error) {
	if _, err := q.ExecContext(ctx, `SAVEPOINT sell_again`); err != nil {
		return 0, false, translate(err)
	}
	const stmt = `
		WITH lines AS (
			SELECT product_id, quantity
			FROM order_lines
			WHERE order_id = $1
		), locked AS (
			SELECT p.id, l.quantity
			FROM products p
			JOIN lines l ON l.product_id = p.id
			ORDER BY p.id
			FOR UPDATE OF p
		), sold AS (
			UPDATE products p
			SET stock = p.stock - l.quantity, updated_at = now()
			FROM locked l
			WHERE p.id = l.id AND p.stock - p.held >= l.quantity
			RETURNING p.id, l.quantity
		)
		SELECT (SELECT count(*) FROM sold) AS sold,
		       (SELECT count(*) FROM lines) AS lines,
		       (SELECT COALESCE(sum(quantity), 0) FROM sold) AS units`
	var row struct {
		Sold  int   `db:"sold"`
		Lines int   `db:"lines"`
		Units int64 `db:"units"`
	}
	if err := sqlxGet(ctx, q, &row, stmt, orderID); err != nil {
		return 0, false, err
	}
	if row.Sold != row.Lines {
		_, err := q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT sell_again`)
		return 0, false, translate(err)
	}
	// The order's discount use and gift card amounts are taken again by
	// the status change (migrations/00026, 00027), with their guards: a use
	// or an amount no longer free refuses, as stock that is gone does.
	res, err := q.ExecContext(ctx, `UPDATE orders SET status = 'PLACED' WHERE id = $1 AND status = 'PAYMENT_EXPIRED'`, orderID)
	if err != nil {
		err = translate(err)
		if errors.Is(err, discountExhausted()) || errors.Is(err, discountAlreadyUsed()) || errors.Is(err, giftCardEmpty()) {
			_, err := q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT sell_again`)
			return 0, false, translate(err)
		}
		return 0, false, err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		_, err := q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT sell_again`)
		return 0, false, translate(err)
	}
	if err := s.allocateOrder(ctx, q, orderID); err != nil {
		return 0, false, err
	}
	return row.Units, true, nil
}

// requireRefund marks a paid order that cannot be served REFUND_REQUIRED
// (from status `from`) and queues its refund.
func requireRefund(ctx context.Context, q queryer, orderID, from string) error {
	const stmt = `
		WITH marked AS (
			UPDATE orders
			SET status = 'REFUND_REQUIRED'
			WHERE id = $1 AND status = $2
			RETURNING id
		)
		INSERT INTO payment_actions (order_id, kind)
		SELECT id, 'refund' FROM marked
		ON CONFLICT (order_id, kind) DO NOTHING`
	_, err := q.ExecContext(ctx, stmt, orderID, from)
	return translate(err)
}

// moveUnits runs a statement returning (id, quantity) per product it
// changed and sums the quantities.
func moveUnits(ctx context.Context, q queryer, stmt string, args ...any) (int64, error) {
	var rows []struct {
		ID       int64 `db:"id"`
		Quantity int64 `db:"quantity"`
	}
	if err := sqlxSelect(ctx, q, &rows, stmt, args...); err != nil {
		return 0, err
	}
	var units int64
	for _, r := range rows {
		units += r.Quantity
	}
	return units, nil
}

// PaymentFailed applies a failed (paymentStatus FAILED) or cancelled
// (EXPIRED) payment, once: a PENDING_PAYMENT order becomes PAYMENT_EXPIRED
// and its holds are released; a failed payment's intent is cancelled at
// the provider (queued). In any other state nothing changes: a failure
// after a success (a first attempt's, delivered late) does not undo it.
func (s *Store) PaymentFailed(ctx context.Context, ev PaymentEvent, paymentStatus string) (*PaymentTransition, error) {
	if paymentStatus != PaymentFailed && paymentStatus != PaymentExpired {
		return nil, errors.New("storage: PaymentFailed: status must be FAILED or EXPIRED")
	}
	tr, err := s.paymentTx(ctx, ev, func(tx *Tx, st *orderState) (int64, error) {
		if st.Status != OrderPendingPayment {
			return 0, nil
		}
		_, units, err := expirePending(ctx, tx.q, []string{ev.OrderID}, OrderPaymentExpired, paymentStatus, paymentStatus == PaymentFailed)
		return units, err
	})
	if err == nil && tr.Changed() {
		s.unitsReleased.Add(tr.Units)
	}
	return tr, err
}

// expirePending ends the given (locked) orders that are still
// PENDING_PAYMENT: the order takes orderStatus, its payment paymentStatus,
// its lines' units leave held (products locked in ascending id order), and
// with cancelIntent a cancel action is queued. It returns the orders it
// ended and the units released.
func expirePending(ctx context.Context, q queryer, orderIDs []string, orderStatus, paymentStatus string, cancelIntent bool) ([]string, int64, error) {
	const stmt = `
		WITH ended AS (
			UPDATE orders
			SET status = $2, cancelled_at = CASE WHEN $2 = 'CANCELLED' THEN now() END
			WHERE id = ANY($1) AND status = 'PENDING_PAYMENT'
			RETURNING id
		), payment AS (
			UPDATE payments
			SET status = $3, updated_at = now()
			WHERE order_id IN (SELECT id FROM ended) AND status = 'PENDING'
		), per_product AS (
			SELECT l.product_id, sum(l.quantity)::integer AS qty
			FROM order_lines l
			JOIN ended e ON e.id = l.order_id
			GROUP BY l.product_id
		), locked AS (
			SELECT p.id, pp.qty
			FROM products p
			JOIN per_product pp ON pp.product_id = p.id
			ORDER BY p.id
			FOR UPDATE OF p
		), released AS (
			UPDATE products p
			SET held = p.held - locked.qty, updated_at = now()
			FROM locked
			WHERE p.id = locked.id
			RETURNING p.id, locked.qty
		), actions AS (
			INSERT INTO payment_actions (order_id, kind)
			SELECT id, 'cancel' FROM ended WHERE $4
			ON CONFLICT (order_id, kind) DO NOTHING
		)
		SELECT (SELECT array_agg(id) FROM ended) AS orders,
		       (SELECT COALESCE(sum(qty), 0) FROM released) AS units`
	var row struct {
		Orders pq.StringArray `db:"orders"`
		Units  int64          `db:"units"`
	}
	if err := sqlxGet(ctx, q, &row, stmt, pq.Array(orderIDs), orderStatus, paymentStatus, cancelIntent); err != nil {
		return nil, 0, err
	}
	return row.Orders, row.Units, nil
}

// ReapPayments expires up to limit pending orders whose payment is past
// its dueAt: their holds are released, they become PAYMENT_EXPIRED and
// their intents' cancellation is queued. Several instances may run it at
// once: SKIP LOCKED hands each order to one of them, and a confirmation
// that holds the order's lock is skipped (it decides; the next pass sees
// the order no longer pending).
func (s *Store) ReapPayments(ctx context.Context, limit int) (int, error) {
	var n int
	var units int64
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		const pick = `
			SELECT o.id
			FROM orders o
			JOIN payments p ON p.order_id = o.id
			WHERE p.status = 'PENDING' AND p.due_at <= now() AND o.status = 'PENDING_PAYMENT'
			ORDER BY p.due_at
			LIMIT $1
			FOR UPDATE OF o SKIP LOCKED`
		var ids []string
		if err := sqlxSelect(ctx, tx.q, &ids, pick, limit); err != nil {
			return err
		}
		n, units = 0, 0
		if len(ids) == 0 {
			return nil
		}
		ended, u, err := expirePending(ctx, tx.q, ids, OrderPaymentExpired, PaymentExpired, true)
		n, units = len(ended), u
		return err
	})
	if err == nil {
		s.unitsReleased.Add(units)
	}
	return n, err
}

// cancelPending cancels a locked PENDING_PAYMENT order: holds released,
// payment EXPIRED, the intent's cancellation queued.
func cancelPending(ctx context.Context, q queryer, orderID string) error {
	_, _, err := expirePending(ctx, q, []string{orderID}, OrderCancelled, PaymentExpired, true)
	return err
}

// PaymentByOrderID returns the order's payment, or nil.
func (s *Store) PaymentByOrderID(ctx context.Context, orderID string) (*Payment, error) {
	m, err := s.PaymentsByOrderIDs(ctx, []string{orderID})
	if err != nil {
		return nil, err
	}
	return m[orderID], nil
}

// PaymentsByOrderIDs loads the payments of many orders in one query
// (orders without one are absent from the map).
func (s *Store) PaymentsByOrderIDs(ctx context.Context, orderIDs []string) (map[string]*Payment, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var ps []*Payment
	if err := sqlxSelect(ctx, s.pool(), &ps, `SELECT `+paymentColumns+` FROM payments WHERE order_id = ANY($1)`, pq.Array(orderIDs)); err != nil {
		return nil, err
	}
	out := make(map[string]*Payment, len(ps))
	for _, p := range ps {
		out[p.OrderID] = p
	}
	return out, nil
}

// PaymentAction is a side effect at the provider that a committed
// transition requires: cancel an intent, or refund a payment.
type PaymentAction struct {
	ID          int64   `db:"id"`
	OrderID     string  `db:"order_id"`
	Kind        string  `db:"kind"`
	Attempts    int     `db:"attempts"`
	Provider    string  `db:"provider"`
	Reference   *string `db:"reference"`
	AmountCents int64   `db:"amount_cents"`
	Currency    string  `db:"currency"`
}

// ActionResult is what became of an attempt at a payment action.
type ActionResult int

// Action results.
const (
	// ActionDone: the provider did it (or it was already done).
	ActionDone ActionResult = iota
	// ActionRetry: a passing failure; the action is tried again later.
	ActionRetry
	// ActionFailed: the provider refuses for good; the action stops with
	// its error recorded (a refund's order stays REFUND_REQUIRED).
	ActionFailed
	// ActionManual: the provider cannot do it (the manual provider cannot
	// refund): someone must, by hand; the order stays REFUND_REQUIRED.
	ActionManual
)

// maxActionBackoff bounds the wait between attempts at an action.
const maxActionBackoff = 10 * time.Minute

// WorkPaymentAction claims one due action of provider's payments (FOR
// UPDATE SKIP LOCKED: each action goes to one worker at a time, across
// processes), runs do while holding the claim, and records the result in
// the same transaction: a done refund makes the payment and a
// REFUND_REQUIRED order REFUNDED. A crash before the commit leaves the
// action pending, to be tried again: do must be idempotent (the providers
// use the order id in their idempotency keys). It reports whether there
// was an action to work.
func (s *Store) WorkPaymentAction(ctx context.Context, provider string, do func(context.Context, *PaymentAction) (ActionResult, error)) (bool, error) {
	var worked bool
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		worked = false
		const claim = `
			SELECT a.id, a.order_id, a.kind, a.attempts, p.provider, p.reference, p.amount_cents, p.currency
			FROM payment_actions a
			JOIN payments p ON p.order_id = a.order_id
			WHERE a.state = 'PENDING' AND a.next_attempt_at <= now() AND p.provider = $1
			ORDER BY a.next_attempt_at, a.id
			LIMIT 1
			FOR UPDATE OF a SKIP LOCKED`
		var a PaymentAction
		err := sqlxGet(ctx, tx.q, &a, claim, provider)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		worked = true
		result, doErr := do(ctx, &a)
		msg := ""
		if doErr != nil {
			msg = doErr.Error()
			if len(msg) > 1000 {
				msg = msg[:1000]
			}
		}
		switch result {
		case ActionDone:
			const done = `UPDATE payment_actions SET state = 'DONE', done_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1`
			if _, err := tx.q.ExecContext(ctx, done, a.ID); err != nil {
				return translate(err)
			}
			if a.Kind != ActionRefund {
				return nil
			}
			// The order row first, as every transition locks it.
			if _, err := tx.q.ExecContext(ctx, `SELECT 1 FROM orders WHERE id = $1 FOR UPDATE`, a.OrderID); err != nil {
				return translate(err)
			}
			const refunded = `
				WITH payment AS (
					UPDATE payments
					SET status = 'REFUNDED', updated_at = now()
					WHERE order_id = $1 AND status = 'SUCCEEDED'
				)
				UPDATE orders
				SET status = 'REFUNDED'
				WHERE id = $1 AND status = 'REFUND_REQUIRED'`
			_, err := tx.q.ExecContext(ctx, refunded, a.OrderID)
			return translate(err)
		case ActionRetry:
			backoff := time.Second << min(a.Attempts, 10)
			backoff = min(backoff, maxActionBackoff)
			const later = `
				UPDATE payment_actions
				SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() + $3 * interval '1 millisecond'
				WHERE id = $1`
			_, err := tx.q.ExecContext(ctx, later, a.ID, msg, backoff.Milliseconds())
			return translate(err)
		default:
			state := "FAILED"
			if result == ActionManual {
				state = "MANUAL"
			}
			const stop = `UPDATE payment_actions SET state = $2, done_at = now(), attempts = attempts + 1, last_error = $3 WHERE id = $1`
			_, err := tx.q.ExecContext(ctx, stop, a.ID, state, msg)
			return translate(err)
		}
	})
	return worked, err
}
