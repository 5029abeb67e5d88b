package storage

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Idempotency keys.
//
// A client may send an idempotency key with a cart mutation. The key is
// claimed, scoped to the cart, by the first statement of the mutation's
// transaction; the outcome (success or refusal) is stored in the same
// transaction as the effect. A repeat with the same key and input gets the
// stored outcome and changes nothing; the same key with other input is
// refused with IDEMPOTENCY_KEY_REUSED. Two attempts that arrive together
// serialise on the cart row, which the claim locks: the second waits for
// the first to commit and then answers from its record.

// CodeIdempotencyKeyReused: the key was used before with different input.
const CodeIdempotencyKeyReused Code = "IDEMPOTENCY_KEY_REUSED"

// MaxIdempotencyKeyLen bounds a key.
const MaxIdempotencyKeyLen = 255

// ValidIdempotencyKey: 1-255 characters of letters, digits and - _ . :
func ValidIdempotencyKey(k string) bool {
	if k == "" || len(k) > MaxIdempotencyKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

func invalidKey() *Error {
	return userErr(CodeInvalidInput, "idempotencyKey must be 1-255 characters of letters, digits, '-', '_', '.' or ':'", "input", "idempotencyKey")
}

// Outcome is what an idempotent mutation answered, as stored and replayed.
type Outcome struct {
	// Replayed is true when this outcome comes from an earlier attempt.
	Replayed    bool          `json:"-"`
	Reservation *Reservation  `json:"reservation,omitempty"`
	Snapshot    *CartSnapshot `json:"snapshot,omitempty"`
	OrderID     string        `json:"orderId,omitempty"`
	Error       *Error        `json:"error,omitempty"`
}

// CartSnapshot is a cart as a mutation left it: the row and its live lines
// (product id, quantity, unit price, currency, and the product's stock and
// held), read in the mutation's transaction. A keyed mutation's payload is
// rendered from it, first time and on every replay alike, so a retry gets
// the first attempt's status, quantities, line totals, subtotal, available
// units and userErrors. The lines' product rows are not kept (a description
// alone may be 5,000 characters, kept for the key's whole lifetime): their
// other fields (sku, name, description, price) render as the product is
// when the answer is rendered. A record is therefore small, about 110 bytes
// a line, bounded by MAX_CART_LINES whatever the products hold.
type CartSnapshot struct {
	Cart  *Cart       `json:"cart"`
	Lines []*CartLine `json:"lines"`
}

// snapshotCart reads a CartSnapshot within the transaction (nil if the cart
// does not exist).
func snapshotCart(ctx context.Context, q queryer, cartID string) (*CartSnapshot, error) {
	c, err := readCart(ctx, q, cartID)
	if err != nil || c == nil || !visibleTo(ctx, c) {
		// Another customer's cart is no cart to this request.
		return nil, err
	}
	snap := &CartSnapshot{Cart: c, Lines: []*CartLine{}}
	if c.Status != CartActive {
		return snap, nil
	}
	const lines = `
		SELECT cl.cart_id, cl.product_id, cl.quantity, p.price_cents, p.currency,
		       p.stock AS product_stock, p.held AS product_held
		FROM cart_lines cl
		JOIN products p ON p.id = cl.product_id
		WHERE cl.cart_id = $1
		ORDER BY cl.product_id`
	if err := sqlxSelect(ctx, q, &snap.Lines, lines, cartID); err != nil {
		return nil, err
	}
	return snap, nil
}

// Err returns the stored refusal, if any, as an error.
func (o *Outcome) Err() error {
	if o.Error == nil {
		return nil
	}
	return o.Error
}

// requestHash hashes the operation's normalised input.
func requestHash(op string, parts ...any) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s", op)
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%v", p)
	}
	return h.Sum(nil)
}

// errNoCart: a cart-scoped key names a cart that does not exist.
var errNoCart = errors.New("storage: no such cart")

// keyScope is an idempotency key's namespace, idempotency_keys.scope (the
// values its CHECK constraint allows, migrations/00016).
type keyScope string

const (
	// cartScope: a cart mutation's key, one namespace per cart (cart_id).
	cartScope keyScope = "cart"
	// adminScope: the admin mutations (setStock, adjustStock,
	// createProduct, the webhook endpoints...); the operation name tells
	// them apart, and one key is one mutation's.
	adminScope keyScope = "admin"
	// createCartScope: createCart.
	createCartScope keyScope = "createCart"
)

// keyCart is the cart_id of a key in scope: the cart in the cart scope,
// NULL in the others.
func keyCart(scope keyScope, cartID string) sql.NullString {
	return sql.NullString{String: cartID, Valid: scope == cartScope}
}

// claimRecord is the one claim of an idempotency key: it claims (scope,
// cartID, key) for this transaction and returns nil, or returns the stored
// response of an earlier attempt with the same operation and input, or
// refuses a key used with another (IDEMPOTENCY_KEY_REUSED). cartID names
// the cart in the cart scope (the key is claimed only while the cart
// exists, errNoCart otherwise) and is ignored in the others. An expired
// record is reclaimed. Two attempts that arrive together serialise on the
// key's unique index (a cart key's on the cart row first): the second
// waits for the first to commit and then answers from its record.
//
// A cart-scoped claim locks the cart row (FOR UPDATE, as every cart
// mutation does first anyway): the record's foreign key would otherwise
// take a KEY SHARE lock on it, and two keyed mutations of one cart holding
// that would deadlock when each then locks the cart for its change.
func claimRecord(ctx context.Context, q queryer, scope keyScope, cartID, key, op string, hash []byte, ttl time.Duration) (json.RawMessage, error) {
	const claim = `
		INSERT INTO idempotency_keys (scope, cart_id, key, operation, request_hash, response, expires_at)
		SELECT $1, $2, $3, $4, $5, 'null', now() + $6 * interval '1 millisecond'
		WHERE $2::text IS NULL OR EXISTS (SELECT 1 FROM carts WHERE id = $2 FOR UPDATE)
		ON CONFLICT (scope, coalesce(cart_id, ''), key) DO UPDATE
		SET operation = EXCLUDED.operation, request_hash = EXCLUDED.request_hash,
		    response = 'null', created_at = now(), expires_at = EXCLUDED.expires_at
		WHERE idempotency_keys.expires_at <= now()
		RETURNING true`
	const read = `
		SELECT operation, request_hash, response FROM idempotency_keys
		WHERE scope = $1 AND coalesce(cart_id, '') = coalesce($2, '') AND key = $3`
	cart := keyCart(scope, cartID)
	for attempt := 0; ; attempt++ {
		var claimed bool
		err := sqlxGet(ctx, q, &claimed, claim, scope, cart, key, op, hash, ttl.Milliseconds())
		if err == nil {
			return nil, nil
		}
		if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		// Someone used the key before (and committed: the INSERT waited),
		// or the cart does not exist.
		var rec struct {
			Operation   string          `db:"operation"`
			RequestHash []byte          `db:"request_hash"`
			Response    json.RawMessage `db:"response"`
		}
		err = sqlxGet(ctx, q, &rec, read, scope, cart, key)
		if errors.Is(err, ErrNotFound) {
			if cart.Valid {
				c, err := readCart(ctx, q, cartID)
				if err != nil {
					return nil, err
				}
				if c == nil {
					return nil, errNoCart
				}
			}
			if attempt == 0 {
				continue // the record expired and was reaped meanwhile: claim it now
			}
		}
		if err != nil {
			return nil, err
		}
		if rec.Operation != op || string(rec.RequestHash) != string(hash) {
			return nil, userErr(CodeIdempotencyKeyReused, "this idempotency key was already used with a different input", "input", "idempotencyKey")
		}
		return rec.Response, nil
	}
}

// storeRecord records the response (marshalled to JSON) under the key
// claimRecord claimed.
func storeRecord(ctx context.Context, q queryer, scope keyScope, cartID, key string, response any) error {
	b, err := json.Marshal(response)
	if err != nil {
		return err
	}
	const update = `
		UPDATE idempotency_keys SET response = $4
		WHERE scope = $1 AND coalesce(cart_id, '') = coalesce($2, '') AND key = $3`
	// As text: lib/pq's binary_parameters (DB_PREPARE=false) sends a []byte
	// in binary format, which jsonb does not accept.
	_, err = q.ExecContext(ctx, update, scope, keyCart(scope, cartID), key, string(b))
	return translate(err)
}

// inputHash hashes an operation's input as JSON (pointers are followed,
// fields tagged json:"-", the key among them, left out).
func inputHash(op string, in any) []byte {
	// The inputs are plain data (strings, numbers, slices and pointers of
	// them), which always marshal.
	b, _ := json.Marshal(in)
	return requestHash(op, string(b))
}

// claimKey claims (cartID, key) for this transaction, or returns the stored
// outcome of an earlier attempt. A cart that does not exist gets
// CART_NOT_FOUND and no record: cart ids are random secrets that only
// CreateCart makes, so nothing could ever make the request succeed, and
// remembering it would only let anyone fill the table.
func (s *Store) claimKey(ctx context.Context, tx *Tx, cartID, key, op string, hash []byte) (*Outcome, error) {
	raw, err := claimRecord(ctx, tx.q, cartScope, cartID, key, op, hash, s.opts.IdempotencyTTL)
	if errors.Is(err, errNoCart) {
		return &Outcome{Error: userErr(CodeCartNotFound, "no cart with this id", "input", "cartId")}, nil
	}
	if err != nil || raw == nil {
		return nil, err
	}
	var out Outcome
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("storage: idempotency record: %w", err)
	}
	if snap := out.Snapshot; snap != nil && snap.Cart != nil {
		for _, l := range snap.Lines {
			l.CartID = snap.Cart.ID
		}
	}
	out.Replayed = true
	return &out, nil
}

// storeOutcome records the outcome under the claimed key.
func storeOutcome(ctx context.Context, tx *Tx, cartID, key string, out *Outcome) error {
	return storeRecord(ctx, tx.q, cartScope, cartID, key, out)
}

// idempotent runs op once per (cartID, key) in one transaction with the
// key's record. A refusal is recorded and replayed like a success; whatever
// op wrote before refusing is rolled back to a savepoint first. A request
// for a cart that does not exist is refused without a record (claimKey).
func (s *Store) idempotent(ctx context.Context, cartID, key, op string, hash []byte, run func(ctx context.Context, tx *Tx) (*Outcome, error)) (*Outcome, error) {
	if !ValidIdempotencyKey(key) {
		return nil, invalidKey()
	}
	var out *Outcome
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		prev, err := s.claimKey(ctx, tx, cartID, key, op, hash)
		if err != nil || prev != nil {
			out = prev
			return err
		}
		// A refusal may come from a statement the database failed (a cap's
		// CHECK, a currency key): the savepoint keeps the transaction usable
		// to record it, and guarantees the refusal wrote nothing.
		if _, err := tx.q.ExecContext(ctx, `SAVEPOINT refusal`); err != nil {
			return translate(err)
		}
		out, err = run(ctx, tx)
		var se *Error
		if errors.As(err, &se) {
			if _, err := tx.q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT refusal`); err != nil {
				return translate(err)
			}
			out = &Outcome{Error: se}
		} else if err != nil {
			return err
		}
		if out.OrderID == "" {
			if out.Snapshot, err = snapshotCart(ctx, tx.q, cartID); err != nil {
				return err
			}
		}
		return storeOutcome(ctx, tx, cartID, key, out)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReapIdempotencyKeys deletes up to limit expired keys.
func (s *Store) ReapIdempotencyKeys(ctx context.Context, limit int) (int, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		DELETE FROM idempotency_keys
		WHERE ctid IN (
			SELECT ctid FROM idempotency_keys
			WHERE expires_at <= now()
			LIMIT $1)`
	res, err := s.pool().ExecContext(ctx, q, limit)
	if err != nil {
		return 0, translate(err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// keyedOutcome is what a keyed mutation outside a cart stored: its value,
// or its refusal.
type keyedOutcome[T any] struct {
	Value T      `json:"value"`
	Error *Error `json:"error,omitempty"`
}

// runKeyed runs run once per (scope, key), in one transaction with the
// key's record, like idempotent does for cart mutations: a repeat with the
// same operation and input gets the stored value (replayed true) or the
// stored refusal and changes nothing; the key with another input is
// IDEMPOTENCY_KEY_REUSED. A refusal (*Error) is recorded and replayed like
// a success; whatever run wrote before refusing is rolled back to a
// savepoint first. run may run more than once (WithTx retries), never for
// a replay.
func runKeyed[T any](ctx context.Context, s *Store, scope keyScope, key, op string, hash []byte, run func(ctx context.Context, tx *Tx) (T, error)) (value T, replayed bool, err error) {
	if !ValidIdempotencyKey(key) {
		return value, false, invalidKey()
	}
	var out keyedOutcome[T]
	err = s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		out, replayed = keyedOutcome[T]{}, false
		raw, err := claimRecord(ctx, tx.q, scope, "", key, op, hash, s.opts.IdempotencyTTL)
		if err != nil {
			return err
		}
		if raw != nil {
			replayed = true
			if err := json.Unmarshal(raw, &out); err != nil {
				return fmt.Errorf("storage: idempotency record: %w", err)
			}
			return nil
		}
		if _, err := tx.q.ExecContext(ctx, `SAVEPOINT keyed`); err != nil {
			return translate(err)
		}
		v, err := run(ctx, tx)
		var se *Error
		if errors.As(err, &se) {
			if _, err := tx.q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT keyed`); err != nil {
				return translate(err)
			}
			out.Error = se
		} else if err != nil {
			return err
		} else {
			out.Value = v
		}
		return storeRecord(ctx, tx.q, scope, "", key, out)
	})
	switch {
	case err != nil:
		return value, false, err
	case out.Error != nil:
		return value, replayed, out.Error
	}
	return out.Value, replayed, nil
}

// adminKeyed runs an admin mutation's statement(s): on the pool without a
// key, else once per key in the admin scope (runKeyed).
func adminKeyed[T any](ctx context.Context, s *Store, key, op string, hash []byte, run func(ctx context.Context, q queryer) (T, error)) (T, error) {
	if key == "" {
		ctx, cancel := s.withTimeout(ctx)
		defer cancel()
		return run(ctx, s.pool())
	}
	v, _, err := runKeyed(ctx, s, adminScope, key, op, hash, func(ctx context.Context, tx *Tx) (T, error) { return run(ctx, tx.q) })
	return v, err
}

// adminTx runs fn in a transaction: its own without a key, else the key's
// (runKeyed, admin scope).
func adminTx[T any](ctx context.Context, s *Store, key, op string, hash []byte, fn func(ctx context.Context, tx *Tx) (T, error)) (T, error) {
	if key == "" {
		var v T
		err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
			var err error
			v, err = fn(ctx, tx)
			return err
		})
		return v, err
	}
	v, _, err := runKeyed(ctx, s, adminScope, key, op, hash, fn)
	return v, err
}
