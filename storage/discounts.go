package storage

import (
	"context"
	"errors"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Discount codes (docs/discounts.md). A code's uses are held like stock:
// applying a code to a cart takes a use (a discount_uses row, whose insert
// runs the guarded UPDATE of the code's counters, migrations/00026), the
// cart's order keeps it while it awaits payment, placing the order consumes
// it, and removing or replacing the code, the cart expiring, the payment
// expiring or the order being cancelled gives it back: each exactly once.

// Discount kinds.
const (
	DiscountPercentage  = "PERCENTAGE"
	DiscountFixedAmount = "FIXED_AMOUNT"
)

// Discount refusal codes.
const (
	CodeDiscountNotFound      Code = "DISCOUNT_CODE_NOT_FOUND"
	CodeDiscountNotActive     Code = "DISCOUNT_CODE_NOT_ACTIVE"
	CodeDiscountExhausted     Code = "DISCOUNT_CODE_EXHAUSTED"
	CodeDiscountAlreadyUsed   Code = "DISCOUNT_CODE_ALREADY_USED"
	CodeMinimumSubtotalNotMet Code = "MINIMUM_SUBTOTAL_NOT_MET"
	// CodeDiscountNotApplicable: no line of the cart is in the code's scope.
	CodeDiscountNotApplicable Code = "DISCOUNT_CODE_NOT_APPLICABLE"
)

// Constraints of migrations/00026 that translate maps to refusals.
const (
	discountUsesWithinConstraint = "discount_codes_uses_within"      // raised by a trigger, or an update of usage_limit
	discountOncePerCustomerIndex = "discount_uses_once_per_customer" // unique
	discountCodeKeyIndex         = "discount_codes_code_key"         // unique lower(code)
	discountPeriodConstraint     = "discount_codes_period"
	discountProductFK            = "discount_code_products_product_id_fkey"
	discountGroupFK              = "discount_code_groups_group_id_fkey"
	discountCollectionFK         = "discount_code_collections_collection_id_fkey"
)

func discountExhausted() *Error {
	return userErr(CodeDiscountExhausted, "this discount code has no use left", "code")
}

func discountAlreadyUsed() *Error {
	return userErr(CodeDiscountAlreadyUsed, "this discount code can be used once per customer, and this customer has used or holds it", "code")
}

// DiscountCode is a code as the admin sees it.
type DiscountCode struct {
	ID                   int64      `db:"id"`
	Code                 string     `db:"code"`
	Kind                 string     `db:"kind"`
	PercentBP            *int       `db:"percent_bp"`
	AmountCents          *int64     `db:"amount_cents"`
	Currency             *string    `db:"currency"`
	MinimumSubtotalCents *int64     `db:"minimum_subtotal_cents"`
	StartsAt             *time.Time `db:"starts_at"`
	EndsAt               *time.Time `db:"ends_at"`
	UsageLimit           *int       `db:"usage_limit"`
	OncePerCustomer      bool       `db:"once_per_customer"`
	UsesHeld             int        `db:"uses_held"`
	UsesCount            int        `db:"uses_count"`
	Active               bool       `db:"active"`
	CreatedAt            time.Time  `db:"created_at"`
	UpdatedAt            time.Time  `db:"updated_at"`
}

const discountColumns = `id, code, kind, percent_bp, amount_cents, currency, minimum_subtotal_cents, starts_at, ends_at,
	usage_limit, once_per_customer, uses_held, uses_count, active, created_at, updated_at`

// Value is the code's value as the API shows it: "15" or "12.5" (percent),
// "5.00" (amount).
func (d *DiscountCode) Value() string {
	if d.Kind == DiscountPercentage && d.PercentBP != nil {
		bp := *d.PercentBP
		s := strconv.Itoa(bp / 100)
		if f := bp % 100; f != 0 {
			s += "." + strings.TrimRight(leftPad2(int64(f)), "0")
		}
		return s
	}
	if d.AmountCents != nil {
		return FormatCents(big.NewInt(*d.AmountCents))
	}
	return ""
}

// MinimumSubtotal is the minimum as money (nil: none).
func (d *DiscountCode) MinimumSubtotal() *Money {
	if d.MinimumSubtotalCents == nil || d.Currency == nil {
		return nil
	}
	return MoneyOf(big.NewInt(*d.MinimumSubtotalCents), *d.Currency)
}

// DiscountScope is what a code applies to (all empty: every product).
type DiscountScope struct {
	ProductIDs    []int64
	GroupIDs      []int64
	CollectionIDs []int64
}

// MaxDiscountCodeLen bounds a code.
const MaxDiscountCodeLen = 64

var discountCodeRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// NewDiscountCode is the input of CreateDiscountCode.
type NewDiscountCode struct {
	Code, Kind, Value    string
	Currency             string // "" for none
	MinimumSubtotal      string // "" for none
	StartsAt, EndsAt     *time.Time
	UsageLimit           *int
	OncePerCustomer      bool
	ProductIDs, GroupIDs []int64
	CollectionIDs        []int64
}

// ParsePercent parses "15", "12.5" or "0.01" (at most two decimals,
// 0 < p ≤ 100) into basis points.
func ParsePercent(s string) (int, bool) {
	c, ok := ParsePrice(s)
	if !ok || c <= 0 || c > 10000 {
		return 0, false
	}
	return int(c), true
}

// CreateDiscountCode creates a code (admin).
func (s *Store) CreateDiscountCode(ctx context.Context, in NewDiscountCode) (*DiscountCode, error) {
	if !discountCodeRe.MatchString(in.Code) {
		return nil, userErr(CodeInvalidInput, "code must be 1-64 letters, digits, '-' or '_', starting with a letter or digit", "input", "code")
	}
	var bp *int
	var amount *int64
	switch in.Kind {
	case DiscountPercentage:
		v, ok := ParsePercent(in.Value)
		if !ok {
			return nil, userErr(CodeInvalidInput, "value must be a percentage above 0 and at most 100, with at most two decimals, such as \"15\"", "input", "value")
		}
		bp = &v
	case DiscountFixedAmount:
		v, ok := ParsePrice(in.Value)
		if !ok || v <= 0 {
			return nil, userErr(CodeInvalidInput, "value must be a positive amount with at most two decimals, such as \"5.00\"", "input", "value")
		}
		amount = &v
	default:
		return nil, userErr(CodeInvalidInput, "kind must be PERCENTAGE or FIXED_AMOUNT", "input", "kind")
	}
	var minimum *int64
	if in.MinimumSubtotal != "" {
		v, ok := ParsePrice(in.MinimumSubtotal)
		if !ok || v <= 0 {
			return nil, userErr(CodeInvalidInput, "minimumSubtotalAmount must be a positive amount with at most two decimals", "input", "minimumSubtotalAmount")
		}
		minimum = &v
	}
	var currency *string
	if in.Currency != "" {
		if !ValidCurrency(in.Currency) {
			return nil, userErr(CodeInvalidInput, "currencyCode must be a three-letter ISO 4217 code such as USD", "input", "currencyCode")
		}
		currency = &in.Currency
	} else if amount != nil || minimum != nil {
		return nil, userErr(CodeInvalidInput, "currencyCode is required for FIXED_AMOUNT and with a minimum subtotal", "input", "currencyCode")
	}
	if in.UsageLimit != nil && *in.UsageLimit < 0 {
		return nil, userErr(CodeInvalidInput, "usageLimit must be 0 or more", "input", "usageLimit")
	}
	if in.StartsAt != nil && in.EndsAt != nil && !in.StartsAt.Before(*in.EndsAt) {
		return nil, userErr(CodeInvalidInput, "endsAt must be after startsAt", "input", "endsAt")
	}
	var d DiscountCode
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		const insert = `
			INSERT INTO discount_codes (code, kind, percent_bp, amount_cents, currency, minimum_subtotal_cents,
			                            starts_at, ends_at, usage_limit, once_per_customer)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
			RETURNING ` + discountColumns
		if err := sqlxGet(ctx, tx.q, &d, insert, in.Code, in.Kind, bp, amount, currency, minimum,
			in.StartsAt, in.EndsAt, in.UsageLimit, in.OncePerCustomer); err != nil {
			return err
		}
		const scope = `
			WITH p AS (
				INSERT INTO discount_code_products (discount_code_id, product_id)
				SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING
			), g AS (
				INSERT INTO discount_code_groups (discount_code_id, group_id)
				SELECT $1, unnest($3::bigint[]) ON CONFLICT DO NOTHING
			)
			INSERT INTO discount_code_collections (discount_code_id, collection_id)
			SELECT $1, unnest($4::bigint[]) ON CONFLICT DO NOTHING`
		_, err := tx.q.ExecContext(ctx, scope, d.ID, pq.Array(orEmptyIDs(in.ProductIDs)), pq.Array(orEmptyIDs(in.GroupIDs)), pq.Array(orEmptyIDs(in.CollectionIDs)))
		return translate(err)
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func orEmptyIDs(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// DiscountCodeUpdate is the input of UpdateDiscountCode (nil: unchanged).
type DiscountCodeUpdate struct {
	Active     *bool
	EndsAt     *time.Time
	UsageLimit *int
}

// UpdateDiscountCode changes a code (admin). A usageLimit below the uses
// held and consumed is refused (INVALID_INPUT): uses already taken are
// never taken back.
func (s *Store) UpdateDiscountCode(ctx context.Context, id int64, in DiscountCodeUpdate) (*DiscountCode, error) {
	if in.UsageLimit != nil && *in.UsageLimit < 0 {
		return nil, userErr(CodeInvalidInput, "usageLimit must be 0 or more", "input", "usageLimit")
	}
	const q = `
		UPDATE discount_codes
		SET active = COALESCE($2, active), ends_at = COALESCE($3, ends_at),
		    usage_limit = COALESCE($4, usage_limit), updated_at = now()
		WHERE id = $1
		RETURNING ` + discountColumns
	var d DiscountCode
	err := s.retry(ctx, func(ctx context.Context) error {
		return sqlxGet(ctx, s.pool(), &d, q, id, in.Active, in.EndsAt, in.UsageLimit)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, userErr(CodeDiscountNotFound, "no discount code with this id", "input", "discountCodeId")
	}
	if errors.Is(err, discountExhausted()) {
		return nil, userErr(CodeInvalidInput, "usageLimit may not be below the uses held and consumed (usesHeld + usesCount)", "input", "usageLimit")
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// DiscountCodeByID returns a code, or nil.
func (s *Store) DiscountCodeByID(ctx context.Context, id int64) (*DiscountCode, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var d DiscountCode
	err := sqlxGet(ctx, s.pool(), &d, `SELECT `+discountColumns+` FROM discount_codes WHERE id = $1`, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// ListDiscountCodes returns up to first codes, newest first, older than id
// before (0: from the newest), and whether more follow.
func (s *Store) ListDiscountCodes(ctx context.Context, first int, before int64) ([]*DiscountCode, bool, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT ` + discountColumns + `
		FROM discount_codes
		WHERE $1::bigint = 0 OR id < $1
		ORDER BY id DESC
		LIMIT $2`
	var ds []*DiscountCode
	if err := sqlxSelect(ctx, s.pool(), &ds, q, before, first+1); err != nil {
		return nil, false, err
	}
	more := len(ds) > first
	if more {
		ds = ds[:first]
	}
	return ds, more, nil
}

// DiscountScopeOf returns a code's scope.
func (s *Store) DiscountScopeOf(ctx context.Context, id int64) (*DiscountScope, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT ARRAY(SELECT product_id FROM discount_code_products WHERE discount_code_id = $1 ORDER BY 1) AS products,
		       ARRAY(SELECT group_id FROM discount_code_groups WHERE discount_code_id = $1 ORDER BY 1) AS groups,
		       ARRAY(SELECT collection_id FROM discount_code_collections WHERE discount_code_id = $1 ORDER BY 1) AS collections`
	var row struct {
		Products    pq.Int64Array `db:"products"`
		Groups      pq.Int64Array `db:"groups"`
		Collections pq.Int64Array `db:"collections"`
	}
	if err := sqlxGet(ctx, s.pool(), &row, q, id); err != nil {
		return nil, err
	}
	return &DiscountScope{ProductIDs: row.Products, GroupIDs: row.Groups, CollectionIDs: row.Collections}, nil
}

// ApplyDiscountCode puts a code on the cart, replacing the one it had (its
// use is given back in the same transaction): the cart row is locked
// first, then the new use is taken with the code's guarded UPDATE
// (holdDiscountUse). A code whose conditions do not hold yet (minimum,
// scope) is applied all the same and shows applicable: false.
func (s *Store) ApplyDiscountCode(ctx context.Context, cartID, code string) error {
	if !ValidSecretID(cartID) {
		return cartNotFound()
	}
	if len(code) > MaxDiscountCodeLen || strings.TrimSpace(code) == "" {
		return userErr(CodeDiscountNotFound, "no discount code matches", "code")
	}
	return s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := lockCart(ctx, tx.q, cartID); err != nil {
			return err
		}
		var d struct {
			ID              int64  `db:"id"`
			Live            bool   `db:"live"`
			OncePerCustomer bool   `db:"once_per_customer"`
			CustomerID      *int64 `db:"customer_id"`
			Current         *int64 `db:"current"`
		}
		const find = `
			SELECT dc.id, dc.once_per_customer,
			       dc.active AND (dc.starts_at IS NULL OR dc.starts_at <= now()) AND (dc.ends_at IS NULL OR dc.ends_at > now()) AS live,
			       (SELECT customer_id FROM carts WHERE id = $2) AS customer_id,
			       (SELECT discount_code_id FROM discount_uses WHERE cart_id = $2) AS current
			FROM discount_codes dc
			WHERE lower(dc.code) = lower($1)`
		err := sqlxGet(ctx, tx.q, &d, find, strings.TrimSpace(code), cartID)
		if errors.Is(err, ErrNotFound) {
			return userErr(CodeDiscountNotFound, "no discount code matches", "code")
		}
		if err != nil {
			return err
		}
		if d.Current != nil && *d.Current == d.ID {
			return nil // already on the cart: it keeps its use
		}
		if !d.Live {
			return userErr(CodeDiscountNotActive, "this discount code is not active now", "code")
		}
		var customer *int64
		if d.OncePerCustomer {
			if d.CustomerID == nil {
				return userErr(CodeCustomerRequired, "this discount code is once per customer: sign in (a customer's cart) to use it", "code")
			}
			customer = d.CustomerID
		}
		if d.Current != nil {
			if err := releaseCartDiscount(ctx, tx.q, cartID); err != nil {
				return err
			}
		}
		if err := holdDiscountUse(ctx, tx.q, d.ID, cartID, customer); err != nil {
			return err
		}
		return cartChanged(ctx, tx.q, cartID)
	})
}

// RemoveDiscountCode takes the code off the cart and gives its use back.
// Removing a code the cart does not have is no error.
func (s *Store) RemoveDiscountCode(ctx context.Context, cartID, code string) error {
	const remove = `
		DELETE FROM discount_uses u
		USING discount_codes dc
		WHERE u.cart_id = $1 AND u.order_id IS NULL AND dc.id = u.discount_code_id AND lower(dc.code) = lower($2)`
	return s.removeFromCart(ctx, cartID, remove, strings.TrimSpace(code))
}

// removeFromCart runs remove ($1: the cart, $2: arg) on a locked cart and,
// if it removed anything, marks the cart changed; removing nothing is no
// error.
func (s *Store) removeFromCart(ctx context.Context, cartID, remove string, arg any) error {
	if !ValidSecretID(cartID) {
		return cartNotFound()
	}
	return s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := lockCart(ctx, tx.q, cartID); err != nil {
			return err
		}
		res, err := tx.q.ExecContext(ctx, remove, cartID, arg)
		if err != nil {
			return translate(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return cartChanged(ctx, tx.q, cartID)
	})
}

// cartChanged bumps the cart's updated_at and tells its live subscribers.
func cartChanged(ctx context.Context, q queryer, cartID string) error {
	if _, err := q.ExecContext(ctx, `UPDATE carts SET updated_at = now() WHERE id = $1`, cartID); err != nil {
		return translate(err)
	}
	return notify(ctx, q, ChannelCart, []string{cartID})
}

// holdDiscountUse takes one use of a code for a (locked) cart: the insert's
// trigger runs the guarded UPDATE of the code's row (uses_held + uses_count
// < usage_limit) and refuses with DISCOUNT_CODE_EXHAUSTED; a second use of
// a oncePerCustomer code by the customer violates the unique index
// (DISCOUNT_CODE_ALREADY_USED).
func holdDiscountUse(ctx context.Context, q queryer, codeID int64, cartID string, customerID *int64) error {
	const stmt = `
		INSERT INTO discount_uses (discount_code_id, cart_id, customer_id, state)
		VALUES ($1, $2, $3, 'held')`
	_, err := q.ExecContext(ctx, stmt, codeID, cartID, customerID)
	return translate(err)
}

// releaseCartDiscount gives back the use a (locked) cart holds, if any.
func releaseCartDiscount(ctx context.Context, q queryer, cartID string) error {
	_, err := q.ExecContext(ctx, `DELETE FROM discount_uses WHERE cart_id = $1 AND order_id IS NULL`, cartID)
	return translate(err)
}

// cartDiscountStatesSQL reads carts' codes with what pricing needs: whether
// the code is live by the database's clock, and which of the cart's
// products are in its scope.
const cartDiscountStatesSQL = `
	SELECT u.cart_id, ` + prefixedDiscountColumns + `,
	       dc.active AND (dc.starts_at IS NULL OR dc.starts_at <= now()) AND (dc.ends_at IS NULL OR dc.ends_at > now()) AS live,
	       NOT EXISTS (SELECT 1 FROM discount_code_products x WHERE x.discount_code_id = dc.id)
	       AND NOT EXISTS (SELECT 1 FROM discount_code_groups x WHERE x.discount_code_id = dc.id)
	       AND NOT EXISTS (SELECT 1 FROM discount_code_collections x WHERE x.discount_code_id = dc.id) AS all_products,
	       ARRAY(
	           SELECT cl.product_id
	           FROM cart_lines cl
	           JOIN products p ON p.id = cl.product_id
	           WHERE cl.cart_id = u.cart_id
	             AND (EXISTS (SELECT 1 FROM discount_code_products x WHERE x.discount_code_id = dc.id AND x.product_id = p.id)
	                  OR EXISTS (SELECT 1 FROM discount_code_groups x WHERE x.discount_code_id = dc.id AND x.group_id = p.group_id)
	                  OR EXISTS (SELECT 1 FROM discount_code_collections x
	                             JOIN collection_products cp ON cp.collection_id = x.collection_id
	                             WHERE x.discount_code_id = dc.id AND cp.product_id = p.id))
	       ) AS eligible
	FROM discount_uses u
	JOIN discount_codes dc ON dc.id = u.discount_code_id
	WHERE u.cart_id = ANY($1) AND u.order_id IS NULL`

const prefixedDiscountColumns = `dc.id, dc.code, dc.kind, dc.percent_bp, dc.amount_cents, dc.currency, dc.minimum_subtotal_cents,
	dc.starts_at, dc.ends_at, dc.usage_limit, dc.once_per_customer, dc.uses_held, dc.uses_count, dc.active, dc.created_at, dc.updated_at`

func cartDiscountStates(ctx context.Context, q queryer, cartIDs []string) (map[string]*CartDiscountState, error) {
	var rows []struct {
		CartDiscountState
		EligibleIDs pq.Int64Array `db:"eligible"`
	}
	if err := sqlxSelect(ctx, q, &rows, cartDiscountStatesSQL, pq.Array(cartIDs)); err != nil {
		return nil, err
	}
	out := make(map[string]*CartDiscountState, len(rows))
	for i := range rows {
		st := rows[i].CartDiscountState
		st.Eligible = rows[i].EligibleIDs
		out[st.CartID] = &st
	}
	return out, nil
}

// CartDiscountsByCartIDs loads the codes of many carts (carts without one
// are absent), for pricing their answers.
func (s *Store) CartDiscountsByCartIDs(ctx context.Context, cartIDs []string) (map[string]*CartDiscountState, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return cartDiscountStates(ctx, s.hotReader(), cartIDs)
}

// checkoutPricing prices a (locked) cart inside a checkout's transaction,
// from the database as it is now: nil when the cart has no code (its lines
// then carry no discount). With a code, the cart's products are locked
// (lock: FOR UPDATE, for checkout, which sells them; FOR SHARE for
// beginCheckout, which only needs their prices to stay put) in ascending id
// order, before the code's row is touched: carts, products, codes.
func checkoutPricing(ctx context.Context, q queryer, cartID, lock string) (*CartPricing, error) {
	states, err := cartDiscountStates(ctx, q, []string{cartID})
	if err != nil || states[cartID] == nil {
		return nil, err
	}
	stmt := `
		SELECT cl.product_id, cl.quantity, p.price_cents, p.currency
		FROM cart_lines cl
		JOIN products p ON p.id = cl.product_id
		WHERE cl.cart_id = $1
		ORDER BY p.id
		FOR ` + lock + ` OF p`
	var lines []*CartLine
	if err := sqlxSelect(ctx, q, &lines, stmt, cartID); err != nil {
		return nil, err
	}
	// Read again now that the products are locked: the scope and the
	// lines are what the sale will see.
	if states, err = cartDiscountStates(ctx, q, []string{cartID}); err != nil {
		return nil, err
	}
	return PriceCart(PriceLinesOf(lines), states[cartID]), nil
}

// discountArrays are a pricing's line discounts as statement arguments.
func discountArrays(p *CartPricing) (ids, cents pq.Int64Array) {
	ids, cents = pq.Int64Array{}, pq.Int64Array{}
	if p == nil {
		return
	}
	for id, c := range p.LineDiscounts {
		ids = append(ids, id)
		cents = append(cents, c)
	}
	return
}

// settleCheckoutDiscount records what the cart's code did for its new order:
// applicable, the order gets its discount row and the cart's use (held for
// an order awaiting payment, consumed for a placed one); otherwise the use
// is given back. Runs after the products are locked.
func settleCheckoutDiscount(ctx context.Context, q queryer, p *CartPricing, cartID, orderID string, placed bool) error {
	if p == nil || p.Code == nil {
		return nil
	}
	if !p.Applicable {
		return releaseCartDiscount(ctx, q, cartID)
	}
	state := "held"
	if placed {
		state = "consumed"
	}
	const stmt = `
		WITH moved AS (
			UPDATE discount_uses
			SET order_id = $2, state = $3
			WHERE cart_id = $1 AND order_id IS NULL
			RETURNING discount_code_id, customer_id
		)
		INSERT INTO order_discounts (order_id, discount_code_id, code, customer_id, amount_cents)
		SELECT $2, m.discount_code_id, $4, m.customer_id, $5
		FROM moved m`
	_, err := q.ExecContext(ctx, stmt, cartID, orderID, state, p.Code.Code, p.Discount.Int64())
	return translate(err)
}

// DiscountAuditRow is a code's books: its counters against its uses.
type DiscountAuditRow struct {
	DiscountCodeID int64  `db:"discount_code_id"`
	Code           string `db:"code"`
	UsageLimit     *int   `db:"usage_limit"`
	UsesHeld       int    `db:"uses_held"`
	UsesCount      int    `db:"uses_count"`
	// LiveHolds: held uses of active carts and of orders awaiting payment.
	LiveHolds int `db:"live_holds"`
	// ConsumedUses: consumed uses of placed orders.
	ConsumedUses int `db:"consumed_uses"`
	// StrayUses: uses of anything else (an expired cart, an order in
	// another state): none when the books are right.
	StrayUses int `db:"stray_uses"`
	// OrderMismatches: orders whose lines' discounts do not add up to
	// their discount row.
	OrderMismatches int  `db:"order_mismatches"`
	OK              bool `db:"ok"`
}

// DiscountAudit recomputes every code's counters from its uses (admin; one
// statement, one snapshot): uses_held = live holds, uses_count = consumed
// uses, their sum within usage_limit, no stray use, and every order's line
// discounts summing to its discount.
func (s *Store) DiscountAudit(ctx context.Context, first int, after int64, onlyProblems bool) ([]*DiscountAuditRow, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		WITH rows AS (
			SELECT dc.id AS discount_code_id, dc.code, dc.usage_limit, dc.uses_held, dc.uses_count,
			       (SELECT count(*) FROM discount_uses u
			        LEFT JOIN carts c ON c.id = u.cart_id AND u.order_id IS NULL
			        LEFT JOIN orders o ON o.id = u.order_id
			        WHERE u.discount_code_id = dc.id AND u.state = 'held'
			          AND (c.status = 'ACTIVE' OR o.status = 'PENDING_PAYMENT'))::integer AS live_holds,
			       (SELECT count(*) FROM discount_uses u JOIN orders o ON o.id = u.order_id
			        WHERE u.discount_code_id = dc.id AND u.state = 'consumed' AND o.status = 'PLACED')::integer AS consumed_uses,
			       (SELECT count(*) FROM discount_uses u
			        LEFT JOIN carts c ON c.id = u.cart_id AND u.order_id IS NULL
			        LEFT JOIN orders o ON o.id = u.order_id
			        WHERE u.discount_code_id = dc.id
			          AND NOT (u.state = 'held' AND (c.status = 'ACTIVE' OR o.status = 'PENDING_PAYMENT'))
			          AND NOT (u.state = 'consumed' AND o.status = 'PLACED'))::integer AS stray_uses,
			       (SELECT count(*) FROM order_discounts od
			        WHERE od.discount_code_id = dc.id
			          AND od.amount_cents <> (SELECT COALESCE(sum(l.discount_cents), 0) FROM order_lines l WHERE l.order_id = od.order_id))::integer AS order_mismatches
			FROM discount_codes dc
			WHERE dc.id > $1
			ORDER BY dc.id
		)
		SELECT *, (uses_held = live_holds AND uses_count = consumed_uses AND stray_uses = 0 AND order_mismatches = 0
		           AND (usage_limit IS NULL OR uses_held + uses_count <= usage_limit)) AS ok
		FROM rows
		WHERE NOT $3 OR NOT (uses_held = live_holds AND uses_count = consumed_uses AND stray_uses = 0 AND order_mismatches = 0
		                     AND (usage_limit IS NULL OR uses_held + uses_count <= usage_limit))
		ORDER BY discount_code_id
		LIMIT $2`
	var rows []*DiscountAuditRow
	if err := sqlxSelect(ctx, s.pool(), &rows, q, after, first, onlyProblems); err != nil {
		return nil, err
	}
	return rows, nil
}
