package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/lib/pq"
)

// Carts that belong to a customer (issue 24).
//
// The signed-in customer of a request travels in its context (WithViewer).
// Every cart statement checks the owner where it finds the cart: the
// reservation statements' cart CTE, the batch's eligibility, lockCart (the
// first lock of every other cart operation), CartByID. A customer's cart
// answers only to that customer; to anyone else it is an unknown id.

type viewerKey struct{}

// WithViewer returns ctx carrying the signed-in customer of the request.
func WithViewer(ctx context.Context, customerID int64) context.Context {
	return context.WithValue(ctx, viewerKey{}, customerID)
}

// ViewerFrom is the signed-in customer of ctx (0: none).
func ViewerFrom(ctx context.Context) int64 {
	id, _ := ctx.Value(viewerKey{}).(int64)
	return id
}

// viewerArg is the viewer as a statement argument (0: none; no customer
// has id 0).
func viewerArg(ctx context.Context) int64 { return ViewerFrom(ctx) }

// visibleTo says whether ctx's viewer may see the cart.
func visibleTo(ctx context.Context, c *Cart) bool {
	return c.CustomerID == nil || *c.CustomerID == ViewerFrom(ctx)
}

// checkOwner answers CART_NOT_FOUND when the cart belongs to a customer
// other than ctx's viewer.
func (s *Store) checkOwner(ctx context.Context, q queryer, cartID string) error {
	var owner sql.NullInt64
	err := sqlxGet(ctx, q, &owner, `SELECT customer_id FROM carts WHERE id = $1`, cartID)
	if errors.Is(err, ErrNotFound) {
		return nil // diagnosed as missing by the caller
	}
	if err != nil {
		return err
	}
	if owner.Valid && owner.Int64 != ViewerFrom(ctx) {
		return cartNotFound()
	}
	return nil
}

func cartNotFound() *Error {
	return userErr(CodeCartNotFound, "no cart with this id", "input", "cartId")
}

// Merge warnings (CartWarning codes).
const (
	WarningCartMerged           = "CART_MERGED"
	WarningMergeQuantityReduced = "MERGE_QUANTITY_REDUCED"
)

// MergeWarning is what attaching a cart did differently from keeping it
// whole.
type MergeWarning struct {
	Code      string
	Message   string
	ProductID int64
	// CartID is, on CART_MERGED, the cart the lines went to.
	CartID              string
	Requested, Reserved int
}

// AttachResult says what AttachCart did.
type AttachResult struct {
	// CartID is the customer's cart now: the attached cart itself, or the
	// cart it merged into.
	CartID   string
	Warnings []MergeWarning
}

// AttachCart gives a guest cart to the signed-in customer of ctx. When the
// customer has no other live cart, the cart becomes theirs. When they
// have one, the guest cart merges into it in ONE transaction: both carts
// are locked (ascending id: two attaches of the same carts never
// deadlock, and a concurrent addToCart or checkout of either waits), the
// products concerned are locked in ascending id, and each guest line moves
// to the customer cart without its units ever being released: quantities of
// the same product add up, and the caps (units per line, units per cart,
// lines per cart, the product's limitPerCustomer) keep what fits; only the
// rest is released (MERGE_QUANTITY_REDUCED). The guest cart ends MERGED
// with merged_into set (CART_MERGED names the cart it went to).
//
// Attaching the customer's own cart changes nothing; a cart of another
// customer, or one not ACTIVE, is refused as lockCart refuses it.
func (s *Store) AttachCart(ctx context.Context, cartID string) (*AttachResult, error) {
	viewer := ViewerFrom(ctx)
	if viewer == 0 {
		return nil, userErr(CodeCustomerRequired, "sign in first: cartAttachCustomer needs a customer token")
	}
	if !ValidSecretID(cartID) {
		return nil, cartNotFound()
	}
	var out *AttachResult
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		out = &AttachResult{CartID: cartID}
		// The customer's live cart, if any (not this one). Locked below,
		// in id order with the guest cart.
		var target sql.NullString
		err := sqlxGet(ctx, tx.q, &target, `
			SELECT (SELECT id FROM carts
			        WHERE customer_id = $1 AND status = 'ACTIVE' AND expires_at > now() AND id <> $2
			        ORDER BY updated_at DESC, id LIMIT 1)`, viewer, cartID)
		if err != nil {
			return err
		}
		ids := []string{cartID}
		if target.Valid {
			ids = append(ids, target.String)
		}
		sort.Strings(ids)
		type locked struct {
			ID         string        `db:"id"`
			Status     string        `db:"status"`
			Lapsed     bool          `db:"lapsed"`
			CustomerID sql.NullInt64 `db:"customer_id"`
		}
		var rows []locked
		if err := sqlxSelect(ctx, tx.q, &rows, `
			SELECT id, status, expires_at <= now() AS lapsed, customer_id
			FROM carts WHERE id = ANY($1) ORDER BY id FOR UPDATE`, pq.Array(ids)); err != nil {
			return err
		}
		var guest, dest *locked
		for i := range rows {
			if rows[i].ID == cartID {
				guest = &rows[i]
			} else {
				dest = &rows[i]
			}
		}
		if guest == nil || (guest.CustomerID.Valid && guest.CustomerID.Int64 != viewer) {
			return cartNotFound()
		}
		if err := cartStateError(sql.NullString{String: guest.Status, Valid: true}, sql.NullBool{Bool: guest.Lapsed, Valid: true}); err != nil {
			return err
		}
		if guest.Status == CartMerged {
			return userErr(CodeCartCheckedOut, "the cart was merged into another", "input", "cartId")
		}
		if guest.CustomerID.Valid {
			return nil // the customer's own cart: nothing to attach
		}
		// The target may have changed between the read and the lock (a
		// concurrent checkout, expiry or attach): merge only into a cart
		// still live and still the customer's; otherwise the guest cart
		// simply becomes theirs.
		if dest == nil || dest.Status != CartActive || dest.Lapsed || !dest.CustomerID.Valid || dest.CustomerID.Int64 != viewer {
			_, err := tx.q.ExecContext(ctx, `UPDATE carts SET customer_id = $2, updated_at = now() WHERE id = $1`, cartID, viewer)
			if err != nil {
				return translate(err)
			}
			return notify(ctx, tx.q, ChannelCart, []string{cartID})
		}
		warnings, err := s.mergeInto(ctx, tx.q, cartID, dest.ID)
		if err != nil {
			return err
		}
		out.CartID = dest.ID
		out.Warnings = append([]MergeWarning{{Code: WarningCartMerged, CartID: dest.ID,
			Message: "the cart was merged into the customer's cart " + dest.ID}}, warnings...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mergeInto moves every line of the (locked) cart from into the (locked)
// cart to, product rows locked in ascending id first. Units that fit stay
// held (held is untouched for them); the rest are released.
func (s *Store) mergeInto(ctx context.Context, q queryer, from, to string) ([]MergeWarning, error) {
	type line struct {
		ProductID int64         `db:"product_id"`
		Qty       int           `db:"qty"`
		Have      int           `db:"have"`
		Currency  string        `db:"currency"`
		Limit     sql.NullInt64 `db:"lim"`
		Used      int           `db:"used"`
	}
	var lines []line
	// Lock the products first (ascending id, the lock order of every
	// multi-product statement); what a limit allows is read under them: a
	// customer's counter only changes under its product's row lock.
	if err := sqlxSelect(ctx, q, &lines, `
		WITH locked AS (
			SELECT p.id, p.limit_per_customer
			FROM products p
			WHERE p.id IN (SELECT product_id FROM cart_lines WHERE cart_id = $1)
			ORDER BY p.id
			FOR UPDATE OF p
		)
		SELECT g.product_id, g.quantity AS qty, COALESCE(d.quantity, 0) AS have, g.currency,
		       l.limit_per_customer AS lim,
		       COALESCE((SELECT used FROM customer_product_limits u
		                 WHERE u.product_id = g.product_id AND u.customer_id = (SELECT customer_id FROM carts WHERE id = $2)), 0) AS used
		FROM cart_lines g
		JOIN locked l ON l.id = g.product_id
		LEFT JOIN cart_lines d ON d.cart_id = $2 AND d.product_id = g.product_id
		WHERE g.cart_id = $1
		ORDER BY g.product_id`, from, to); err != nil {
		return nil, err
	}
	var cart struct {
		Total    int            `db:"total_quantity"`
		Lines    int            `db:"line_count"`
		Currency sql.NullString `db:"currency"`
	}
	if err := sqlxGet(ctx, q, &cart, `SELECT total_quantity, line_count, currency FROM carts WHERE id = $1`, to); err != nil {
		return nil, err
	}
	var warnings []MergeWarning
	type move struct {
		ProductID     int64
		Keep, Release int
	}
	var moves []move
	for _, l := range lines {
		keep := l.Qty
		reason := ""
		if cart.Currency.Valid && l.Currency != cart.Currency.String {
			keep, reason = 0, "priced in another currency than the customer's cart"
		}
		if room := s.opts.MaxLineQuantity - l.Have; keep > room {
			keep, reason = max(room, 0), "MAX_LINE_QUANTITY"
		}
		if room := s.opts.MaxCartQuantity - cart.Total; keep > room {
			keep, reason = max(room, 0), "MAX_CART_QUANTITY"
		}
		if keep > 0 && l.Have == 0 && cart.Lines >= s.opts.MaxCartLines {
			keep, reason = 0, "MAX_CART_LINES"
		}
		if l.Limit.Valid {
			// The guest's units are not counted yet; the customer may
			// take what their allowance leaves.
			if room := int(l.Limit.Int64) - l.Used; keep > room {
				keep, reason = max(room, 0), "the product's limit per customer"
			}
		}
		if keep > 0 {
			cart.Total += keep
			if l.Have == 0 {
				cart.Lines++
			}
			if !cart.Currency.Valid {
				cart.Currency = sql.NullString{String: l.Currency, Valid: true}
			}
		}
		moves = append(moves, move{l.ProductID, keep, l.Qty - keep})
		if keep < l.Qty {
			warnings = append(warnings, MergeWarning{Code: WarningMergeQuantityReduced, ProductID: l.ProductID,
				Requested: l.Qty, Reserved: keep,
				Message: fmt.Sprintf("merging kept %d of %d units (%s); the rest were released", keep, l.Qty, reason)})
		}
	}
	pids := make([]int64, len(moves))
	keeps := make([]int64, len(moves))
	releases := make([]int64, len(moves))
	for i, m := range moves {
		pids[i], keeps[i], releases[i] = m.ProductID, int64(m.Keep), int64(m.Release)
	}
	// One statement: the guest lines go, the kept units join the customer's
	// lines (held unchanged for them), the rest leave held; both carts'
	// totals are set. The cart_lines triggers count the limited units for
	// the customer (migrations/00024).
	const stmt = `
		WITH m AS (
			SELECT * FROM unnest($3::bigint[], $4::integer[], $5::integer[]) AS m(product_id, keep, release)
		), gone AS (
			DELETE FROM cart_lines WHERE cart_id = $1
		), released AS (
			UPDATE products p SET held = p.held - m.release, updated_at = now()
			FROM m WHERE p.id = m.product_id AND m.release > 0
		), kept AS (
			INSERT INTO cart_lines (cart_id, product_id, quantity, currency)
			SELECT $2, m.product_id, m.keep, p.currency
			FROM m JOIN products p ON p.id = m.product_id
			WHERE m.keep > 0
			ON CONFLICT (cart_id, product_id)
			DO UPDATE SET quantity = cart_lines.quantity + EXCLUDED.quantity, updated_at = now()
		), guest AS (
			UPDATE carts SET status = 'MERGED', merged_into = $2, updated_at = now(), total_quantity = 0, line_count = 0
			WHERE id = $1
		)
		UPDATE carts
		SET total_quantity = $6, line_count = $7, currency = $8, updated_at = now(),
		    expires_at = GREATEST(expires_at, now() + $9 * interval '1 millisecond')
		WHERE id = $2`
	var cur *string
	if cart.Currency.Valid {
		cur = &cart.Currency.String
	}
	if _, err := q.ExecContext(ctx, stmt, from, to, pq.Array(pids), pq.Array(keeps), pq.Array(releases),
		cart.Total, cart.Lines, cur, s.opts.HoldTTL.Milliseconds()); err != nil {
		return nil, translate(err)
	}
	return warnings, notify(ctx, q, ChannelCart, []string{from, to})
}
