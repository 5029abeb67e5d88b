package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Gift cards (docs/giftcards.md). Applying a card to a cart reserves
// nothing (the total can still change); checkout takes min(balance − held,
// what is owed) from each applied card, in ascending card id, with one
// conditional UPDATE per card inside its transaction (debited at once), and
// beginCheckout holds it instead (debited when the payment succeeds,
// released when it fails or expires, migrations/00027). When the cards
// cover everything, beginCheckout places the order with no payment.

// Gift card refusal codes.
const (
	CodeGiftCardNotFound         Code = "GIFT_CARD_NOT_FOUND"
	CodeGiftCardEmpty            Code = "GIFT_CARD_EMPTY"
	CodeGiftCardCurrencyMismatch Code = "GIFT_CARD_CURRENCY_MISMATCH"
)

// giftCardHeldConstraint is raised by the take (gift_card_take) and by the
// CHECK of migrations/00027.
const giftCardHeldConstraint = "gift_cards_held_within"

func giftCardEmpty() *Error {
	return userErr(CodeGiftCardEmpty, "the gift card has nothing left to spend", "code")
}

func giftCardNotFound() *Error {
	return userErr(CodeGiftCardNotFound, "no usable gift card has this code", "code")
}

// GiftCard is a card as the admin sees it (never its code).
type GiftCard struct {
	ID                int64      `db:"id"`
	LastCharacters    string     `db:"last_characters"`
	Currency          string     `db:"currency"`
	InitialValueCents int64      `db:"initial_value_cents"`
	BalanceCents      int64      `db:"balance_cents"`
	HeldCents         int64      `db:"held_cents"`
	ExpiresAt         *time.Time `db:"expires_at"`
	Disabled          bool       `db:"disabled"`
	CreatedAt         time.Time  `db:"created_at"`
}

const giftCardColumns = `id, last_characters, currency, initial_value_cents, balance_cents, held_cents, expires_at, disabled, created_at`

// InitialValue, Balance and Held as money.
func (g *GiftCard) InitialValue() *Money { return MoneyOf(big.NewInt(g.InitialValueCents), g.Currency) }

// Balance is what the card is worth.
func (g *GiftCard) Balance() *Money { return MoneyOf(big.NewInt(g.BalanceCents), g.Currency) }

// Held is what orders awaiting payment hold of the balance.
func (g *GiftCard) Held() *Money { return MoneyOf(big.NewInt(g.HeldCents), g.Currency) }

// giftCardAlphabet has no 0/O, 1/I/L: 31 unambiguous characters.
const giftCardAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// GiftCardCodeLen is the length of a generated code (16 characters of 31:
// about 79 bits).
const GiftCardCodeLen = 16

// newGiftCardCode draws a code from crypto/rand, without bias (bytes past
// the last whole multiple of the alphabet's size are drawn again).
func newGiftCardCode() string {
	out := make([]byte, 0, GiftCardCodeLen)
	buf := make([]byte, 32)
	limit := byte(256 - 256%len(giftCardAlphabet))
	for len(out) < GiftCardCodeLen {
		if _, err := rand.Read(buf); err != nil {
			panic(err)
		}
		for _, c := range buf {
			if c < limit && len(out) < GiftCardCodeLen {
				out = append(out, giftCardAlphabet[int(c)%len(giftCardAlphabet)])
			}
		}
	}
	return string(out)
}

// normalizeGiftCardCode upper-cases a code and drops spaces and dashes.
func normalizeGiftCardCode(code string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, code)
}

func giftCardHash(code string) []byte {
	h := sha256.Sum256([]byte(normalizeGiftCardCode(code)))
	return h[:]
}

// CreateGiftCard issues a card (admin) and returns it with its code, which
// is stored only hashed: this is the one time it is seen.
func (s *Store) CreateGiftCard(ctx context.Context, initialValue, currency string, expiresAt *time.Time) (*GiftCard, string, error) {
	cents, ok := ParsePrice(initialValue)
	if !ok || cents <= 0 {
		return nil, "", userErr(CodeInvalidInput, "initialValue must be a positive amount with at most two decimals", "input", "initialValue")
	}
	if !ValidCurrency(currency) {
		return nil, "", userErr(CodeInvalidInput, "currencyCode must be a three-letter ISO 4217 code such as USD", "input", "currencyCode")
	}
	code := newGiftCardCode()
	const q = `
		INSERT INTO gift_cards (code_hash, last_characters, currency, initial_value_cents, balance_cents, expires_at)
		VALUES ($1, $2, $3, $4, $4, $5)
		RETURNING ` + giftCardColumns
	var g GiftCard
	err := s.retry(ctx, func(ctx context.Context) error {
		return sqlxGet(ctx, s.pool(), &g, q, giftCardHash(code), code[len(code)-4:], currency, cents, expiresAt)
	})
	if err != nil {
		return nil, "", err
	}
	return &g, code, nil
}

// GiftCardByID returns a card, or nil.
func (s *Store) GiftCardByID(ctx context.Context, id int64) (*GiftCard, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var g GiftCard
	err := sqlxGet(ctx, s.pool(), &g, `SELECT `+giftCardColumns+` FROM gift_cards WHERE id = $1`, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return &g, err
}

// DisableGiftCard switches a card off (admin): it can no longer be applied
// or taken from; what pending orders hold of it stays theirs.
func (s *Store) DisableGiftCard(ctx context.Context, id int64) (*GiftCard, error) {
	var g GiftCard
	err := s.retry(ctx, func(ctx context.Context) error {
		return sqlxGet(ctx, s.pool(), &g, `UPDATE gift_cards SET disabled = true WHERE id = $1 RETURNING `+giftCardColumns, id)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, userErr(CodeGiftCardNotFound, "no gift card with this id", "giftCardId")
	}
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// AdjustGiftCard moves a card's balance by amount ("5.00" or "-5.00"),
// with a ledger row (admin). A debit below what pending orders hold (or
// below 0) is refused (INVALID_INPUT) by the card's CHECK constraint.
func (s *Store) AdjustGiftCard(ctx context.Context, id int64, amount, reason string) (*GiftCard, error) {
	neg := strings.HasPrefix(amount, "-")
	cents, ok := ParsePrice(strings.TrimPrefix(amount, "-"))
	if !ok || cents == 0 {
		return nil, userErr(CodeInvalidInput, "amount must be a non-zero amount with at most two decimals, such as \"5.00\" or \"-5.00\"", "amount")
	}
	if neg {
		cents = -cents
	}
	if reason = strings.TrimSpace(reason); reason == "" || !validText(reason, MaxReasonLen) {
		return nil, userErr(CodeInvalidInput, "reason must be 1-500 characters", "reason")
	}
	const q = `
		WITH moved AS (
			UPDATE gift_cards
			SET balance_cents = balance_cents + $2
			WHERE id = $1
			RETURNING ` + giftCardColumns + `
		), ledger AS (
			INSERT INTO gift_card_movements (gift_card_id, delta_cents, kind, reason)
			SELECT id, $2, 'adjustment', $3 FROM moved
		)
		SELECT * FROM moved`
	var g GiftCard
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		return sqlxGet(ctx, tx.q, &g, q, id, cents, reason)
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, userErr(CodeGiftCardNotFound, "no gift card with this id", "giftCardId")
	case errors.Is(err, giftCardEmpty()):
		return nil, userErr(CodeInvalidInput, "the balance may not go below 0 or below what pending orders hold", "amount")
	case err != nil:
		return nil, err
	}
	return &g, nil
}

// ApplyGiftCard records a card on the cart (reserving nothing). Refusals:
// GIFT_CARD_NOT_FOUND (unknown, disabled or expired), GIFT_CARD_EMPTY (its
// balance less holds is 0), GIFT_CARD_CURRENCY_MISMATCH (the cart holds
// products in another currency). Applying a card twice changes nothing.
func (s *Store) ApplyGiftCard(ctx context.Context, cartID, code string) error {
	if !ValidSecretID(cartID) {
		return cartNotFound()
	}
	if len(code) > 64 {
		return giftCardNotFound()
	}
	return s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		if _, err := lockCart(ctx, tx.q, cartID); err != nil {
			return err
		}
		var g struct {
			ID        int64   `db:"id"`
			Usable    bool    `db:"usable"`
			Available int64   `db:"available"`
			Mismatch  bool    `db:"mismatch"`
			Currency  *string `db:"cart_currency"`
		}
		const find = `
			SELECT g.id, NOT g.disabled AND (g.expires_at IS NULL OR g.expires_at > now()) AS usable,
			       g.balance_cents - g.held_cents AS available,
			       COALESCE(c.currency <> g.currency, false) AS mismatch, c.currency AS cart_currency
			FROM gift_cards g, carts c
			WHERE g.code_hash = $1 AND c.id = $2`
		err := sqlxGet(ctx, tx.q, &g, find, giftCardHash(code), cartID)
		switch {
		case errors.Is(err, ErrNotFound):
			return giftCardNotFound()
		case err != nil:
			return err
		case !g.Usable:
			return giftCardNotFound()
		case g.Mismatch:
			return userErr(CodeGiftCardCurrencyMismatch, "the gift card is in another currency than the cart", "code")
		case g.Available <= 0:
			return giftCardEmpty()
		}
		res, err := tx.q.ExecContext(ctx, `INSERT INTO cart_gift_cards (cart_id, gift_card_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, cartID, g.ID)
		if err != nil {
			return translate(err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return cartChanged(ctx, tx.q, cartID)
	})
}

// RemoveGiftCard takes the cards whose code ends with lastCharacters off
// the cart (none is no error).
func (s *Store) RemoveGiftCard(ctx context.Context, cartID, lastCharacters string) error {
	const remove = `
		DELETE FROM cart_gift_cards c
		USING gift_cards g
		WHERE c.cart_id = $1 AND g.id = c.gift_card_id AND g.last_characters = upper($2)`
	return s.removeFromCart(ctx, cartID, remove, strings.TrimSpace(lastCharacters))
}

// CartGiftCard is a card applied to a cart, as pricing needs it.
type CartGiftCard struct {
	CartID         string `db:"cart_id"`
	GiftCardID     int64  `db:"gift_card_id"`
	LastCharacters string `db:"last_characters"`
	Currency       string `db:"currency"`
	// Available is balance − held (what an order could take now).
	Available int64 `db:"available"`
	Usable    bool  `db:"usable"`
}

// GiftCardUse is what a card would pay of a cart's total.
type GiftCardUse struct {
	LastCharacters       string
	Currency             string
	UsedCents, LeftCents int64
}

// SpendGiftCards spreads what is owed over the cards, in ascending card id:
// each pays min(available, what is still owed). A card that is unusable or
// in another currency pays nothing.
func SpendGiftCards(owed *big.Int, currency string, cards []*CartGiftCard) (uses []GiftCardUse, total *big.Int) {
	left := new(big.Int).Set(owed)
	total = new(big.Int)
	for _, c := range cards {
		u := GiftCardUse{LastCharacters: c.LastCharacters, Currency: c.Currency, LeftCents: max(c.Available, 0)}
		if c.Usable && c.Currency == currency && c.Available > 0 && left.Sign() > 0 {
			take := big.NewInt(c.Available)
			if take.Cmp(left) > 0 {
				take.Set(left)
			}
			u.UsedCents = take.Int64()
			u.LeftCents -= u.UsedCents
			left.Sub(left, take)
			total.Add(total, take)
		}
		uses = append(uses, u)
	}
	return uses, total
}

// CartGiftCardsByCartIDs loads the cards applied to many carts, each
// cart's in ascending card id.
func (s *Store) CartGiftCardsByCartIDs(ctx context.Context, cartIDs []string) (map[string][]*CartGiftCard, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT c.cart_id, g.id AS gift_card_id, g.last_characters, g.currency, g.balance_cents - g.held_cents AS available,
		       NOT g.disabled AND (g.expires_at IS NULL OR g.expires_at > now()) AS usable
		FROM cart_gift_cards c
		JOIN gift_cards g ON g.id = c.gift_card_id
		WHERE c.cart_id = ANY($1)
		ORDER BY c.cart_id, g.id`
	var rows []*CartGiftCard
	if err := sqlxSelect(ctx, s.hotReader(), &rows, q, pq.Array(cartIDs)); err != nil {
		return nil, err
	}
	out := make(map[string][]*CartGiftCard, len(cartIDs))
	for _, r := range rows {
		out[r.CartID] = append(out[r.CartID], r)
	}
	return out, nil
}

// cartHasGiftCards reports whether a (locked) cart has cards applied.
func cartHasGiftCards(ctx context.Context, q queryer, cartID string) (bool, error) {
	var has bool
	err := sqlxGet(ctx, q, &has, `SELECT EXISTS (SELECT 1 FROM cart_gift_cards WHERE cart_id = $1)`, cartID)
	return has, err
}

// takeGiftCards takes what the new order owes (its lines less their
// discounts) from the cart's cards, in ascending card id, each with its row
// locked and the take computed from that locked row; the order_gift_cards
// insert runs the guarded UPDATE (migrations/00027): captured for a placed
// order, held for one awaiting payment. It returns what the cards took.
func takeGiftCards(ctx context.Context, q queryer, cartID, orderID string, placed bool) (int64, error) {
	state := "held"
	if placed {
		state = "captured"
	}
	const stmt = `
		WITH owed AS (
			SELECT COALESCE(sum(unit_price_cents::numeric * quantity - discount_cents), 0)
			       - COALESCE((SELECT sum(amount_cents) FROM order_gift_cards WHERE order_id = $1), 0) AS cents,
			       (SELECT currency FROM orders WHERE id = $1) AS currency
			FROM order_lines
			WHERE order_id = $1
		), card AS (
			SELECT g.id, LEAST(g.balance_cents - g.held_cents, owed.cents)::bigint AS take
			FROM gift_cards g, owed
			WHERE g.id = $2 AND NOT g.disabled AND (g.expires_at IS NULL OR g.expires_at > now())
			  AND g.currency = owed.currency
			FOR UPDATE OF g
		)
		INSERT INTO order_gift_cards (order_id, gift_card_id, amount_cents, state)
		SELECT $1, id, take, $3 FROM card WHERE take > 0
		RETURNING amount_cents`
	var ids []int64
	// Ascending id: the lock order of gift cards.
	if err := sqlxSelect(ctx, q, &ids, `SELECT gift_card_id FROM cart_gift_cards WHERE cart_id = $1 ORDER BY gift_card_id`, cartID); err != nil {
		return 0, err
	}
	var total int64
	for _, id := range ids {
		var taken []int64
		if err := sqlxSelect(ctx, q, &taken, stmt, orderID, id, state); err != nil {
			return 0, err
		}
		for _, t := range taken {
			total += t
		}
	}
	return total, nil
}

// GiftCardTotalsByOrderIDs loads what gift cards paid of many orders
// (orders without are absent).
func (s *Store) GiftCardTotalsByOrderIDs(ctx context.Context, orderIDs []string) (map[string]int64, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var rows []struct {
		OrderID string `db:"order_id"`
		Cents   int64  `db:"cents"`
	}
	const q = `SELECT order_id, sum(amount_cents)::bigint AS cents FROM order_gift_cards WHERE order_id = ANY($1) GROUP BY order_id`
	if err := sqlxSelect(ctx, s.reader(), &rows, q, pq.Array(orderIDs)); err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.OrderID] = r.Cents
	}
	return out, nil
}

// GiftCardAuditRow is a card's books, in minor units of Currency.
type GiftCardAuditRow struct {
	GiftCardID   int64  `db:"gift_card_id"`
	Currency     string `db:"currency"`
	BalanceCents int64  `db:"balance_cents"`
	// LedgerBalanceCents is initial + the sum of its movements.
	LedgerBalanceCents int64 `db:"ledger_balance_cents"`
	HeldCents          int64 `db:"held_cents"`
	// LiveHoldsCents is what orders awaiting payment hold of it.
	LiveHoldsCents int64 `db:"live_holds_cents"`
	// StrayHolds: held rows of orders not awaiting payment (0 when ok).
	StrayHolds int  `db:"stray_holds"`
	OK         bool `db:"ok"`
}

// Balance, LedgerBalance, Held and LiveHolds as money.
func (r *GiftCardAuditRow) Balance() *Money { return MoneyOf(big.NewInt(r.BalanceCents), r.Currency) }

// LedgerBalance is initial + the sum of the card's movements.
func (r *GiftCardAuditRow) LedgerBalance() *Money {
	return MoneyOf(big.NewInt(r.LedgerBalanceCents), r.Currency)
}

// Held is what the card records as held.
func (r *GiftCardAuditRow) Held() *Money { return MoneyOf(big.NewInt(r.HeldCents), r.Currency) }

// LiveHolds is what orders awaiting payment hold of the card.
func (r *GiftCardAuditRow) LiveHolds() *Money {
	return MoneyOf(big.NewInt(r.LiveHoldsCents), r.Currency)
}

// GiftCardAudit recomputes every card (admin; one statement): balance =
// initial + movements, held = holds of orders awaiting payment, 0 ≤ held ≤
// balance, no hold left on an order in another state.
func (s *Store) GiftCardAudit(ctx context.Context, first int, after int64, onlyProblems bool) ([]*GiftCardAuditRow, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		WITH rows AS (
			SELECT g.id AS gift_card_id, g.currency, g.balance_cents, g.held_cents,
			       g.initial_value_cents + COALESCE((SELECT sum(m.delta_cents) FROM gift_card_movements m WHERE m.gift_card_id = g.id), 0) AS ledger_balance_cents,
			       COALESCE((SELECT sum(o.amount_cents) FROM order_gift_cards o JOIN orders x ON x.id = o.order_id
			                 WHERE o.gift_card_id = g.id AND o.state = 'held' AND x.status = 'PENDING_PAYMENT'), 0)::bigint AS live_holds_cents,
			       (SELECT count(*) FROM order_gift_cards o JOIN orders x ON x.id = o.order_id
			        WHERE o.gift_card_id = g.id AND o.state = 'held' AND x.status <> 'PENDING_PAYMENT')::integer AS stray_holds
			FROM gift_cards g
			WHERE g.id > $1
		), checked AS (
			SELECT *, (balance_cents = ledger_balance_cents AND held_cents = live_holds_cents AND stray_holds = 0
			           AND held_cents >= 0 AND held_cents <= balance_cents) AS ok
			FROM rows
		)
		SELECT * FROM checked
		WHERE NOT $3 OR NOT ok
		ORDER BY gift_card_id
		LIMIT $2`
	var rows []*GiftCardAuditRow
	if err := sqlxSelect(ctx, s.pool(), &rows, q, after, first, onlyProblems); err != nil {
		return nil, err
	}
	return rows, nil
}
