package storage

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/lib/pq"
)

// Customer is a shopper's account. PasswordHash never leaves this package's
// callers that check credentials: no GraphQL type carries it.
type Customer struct {
	ID           int64     `db:"id"`
	Email        string    `db:"email"`
	PasswordHash string    `db:"password_hash" json:"-"`
	FirstName    *string   `db:"first_name"`
	LastName     *string   `db:"last_name"`
	CreatedAt    time.Time `db:"created_at"`
	UpdatedAt    time.Time `db:"updated_at"`
}

// Customer error codes (issue 24).
const (
	CodeEmailTaken         Code = "EMAIL_TAKEN"
	CodeInvalidCredentials Code = "INVALID_CREDENTIALS"
	CodePasswordTooWeak    Code = "PASSWORD_TOO_WEAK"
	CodeCustomerRequired   Code = "CUSTOMER_REQUIRED"
	CodePerCustomerLimit   Code = "PER_CUSTOMER_LIMIT"
	CodeResetTokenInvalid  Code = "RESET_TOKEN_INVALID"
)

// CustomerTokenPrefix starts every customer access token, so that the
// transport tells one from the admin token without reading the database.
const CustomerTokenPrefix = "hfc_"

// ResetTokenTTL is how long a password reset token stays valid.
const ResetTokenTTL = time.Hour

// Password bounds (NIST SP 800-63B: at least 8, no composition rules, a
// generous maximum).
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

// Argon2id with OWASP's parameters (m = 19 MiB, t = 2, p = 1).
const (
	argonMemory  = 19 * 1024
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// hashSlots bounds the Argon2id computations running at once (each takes
// 19 MiB and a core for tens of milliseconds): a login flood queues here
// instead of pinning every CPU and the memory.
var hashSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

func withHashSlot(ctx context.Context, f func()) error {
	select {
	case hashSlots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-hashSlots }()
	f()
	return nil
}

// HashPassword returns the PHC string of password under Argon2id with a
// fresh random salt.
func HashPassword(ctx context.Context, password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	var key []byte
	if err := withHashSlot(ctx, func() { key = argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen) }); err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// passwordVerifications counts VerifyPassword's hash computations, so that
// tests can tell that an unknown email costs the same work as a wrong
// password without timing it to the microsecond.
var passwordVerifications atomic.Int64

// PasswordVerifications is how many password hashes were verified so far.
func PasswordVerifications() int64 { return passwordVerifications.Load() }

// VerifyPassword compares password with a PHC string in constant time. A
// malformed hash never matches.
func VerifyPassword(ctx context.Context, phc, password string) (bool, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, nil
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, nil
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 256*1024 || t == 0 || t > 10 || p == 0 {
		return false, nil
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, nil
	}
	var got []byte
	passwordVerifications.Add(1)
	if err := withHashSlot(ctx, func() { got = argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want))) }); err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummyHash is verified for an unknown email, so that signing in with one
// takes as long as with a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, err := HashPassword(context.Background(), "holdfast-dummy-password")
	if err != nil {
		panic(err)
	}
	return h
})

// newToken returns a bearer token (prefix + 256 random bits, base64url)
// and its SHA-256, which is all the database keeps.
func newToken(prefix string) (string, []byte) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	tok := prefix + base64.RawURLEncoding.EncodeToString(b)
	return tok, tokenHash(tok)
}

func tokenHash(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// IsCustomerToken says whether a bearer token is a customer's (by its
// prefix alone).
func IsCustomerToken(tok string) bool { return strings.HasPrefix(tok, CustomerTokenPrefix) }

func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// checkPassword applies the password rules: 8-256 characters, not the
// email itself.
func checkPassword(password, email string) error {
	n := utf8.RuneCountInString(password)
	if !utf8.ValidString(password) || n < MinPasswordLen || n > MaxPasswordLen {
		return userErr(CodePasswordTooWeak, "the password must be 8 to 256 characters", "input", "password")
	}
	if strings.EqualFold(strings.TrimSpace(password), email) {
		return userErr(CodePasswordTooWeak, "the password must not be the email address", "input", "password")
	}
	return nil
}

func invalidCredentials() *Error {
	return userErr(CodeInvalidCredentials, "the email or the password is wrong")
}

// NewCustomer is the input of CreateCustomer.
type NewCustomer struct {
	Email, Password     string
	FirstName, LastName *string
}

const customerColumns = `id, email, password_hash, first_name, last_name, created_at, updated_at`

// MaxCustomerNameLen bounds first and last names.
const MaxCustomerNameLen = 200

// CreateCustomer signs a customer up. The password is hashed before the
// email is looked at, so a taken email answers (EMAIL_TAKEN) after the same
// work as a free one.
func (s *Store) CreateCustomer(ctx context.Context, in NewCustomer) (*Customer, error) {
	email := normalizeEmail(in.Email)
	if !validEmail(email) {
		return nil, userErr(CodeInvalidInput, "email must be a plain address such as ada@example.com", "input", "email")
	}
	if err := checkPassword(in.Password, email); err != nil {
		return nil, err
	}
	for _, n := range []*string{in.FirstName, in.LastName} {
		if n != nil && !validText(*n, MaxCustomerNameLen) {
			return nil, userErr(CodeInvalidInput, "names must be at most 200 characters of valid UTF-8", "input")
		}
	}
	hash, err := HashPassword(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		INSERT INTO customers (email, password_hash, first_name, last_name)
		VALUES ($1, $2, NULLIF($3, ''), NULLIF($4, ''))
		ON CONFLICT (email) DO NOTHING
		RETURNING ` + customerColumns
	var c Customer
	err = s.retry(ctx, func(ctx context.Context) error {
		return sqlxGet(ctx, s.pool(), &c, q, email, hash, in.FirstName, in.LastName)
	})
	if errors.Is(err, ErrNotFound) {
		return nil, userErr(CodeEmailTaken, "an account with this email already exists", "input", "email")
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// CustomerToken is an access token as issued: the token itself is shown
// once and never stored.
type CustomerToken struct {
	Token     string
	ExpiresAt time.Time
}

// customerByEmail reads a customer by (normalized) email; nil if none.
func (s *Store) customerByEmail(ctx context.Context, email string) (*Customer, error) {
	var c Customer
	err := sqlxGet(ctx, s.pool(), &c, `SELECT `+customerColumns+` FROM customers WHERE email = $1`, email)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// SignIn checks a customer's credentials and issues an access token valid
// for ttl. An unknown email and a wrong password answer the same
// (INVALID_CREDENTIALS) after the same work: a dummy hash is verified for
// the unknown email.
func (s *Store) SignIn(ctx context.Context, email, password string, ttl time.Duration) (*CustomerToken, error) {
	email = normalizeEmail(email)
	var c *Customer
	if validEmail(email) {
		var err error
		if c, err = s.customerByEmail(ctx, email); err != nil {
			return nil, err
		}
	}
	hash := dummyHash()
	if c != nil {
		hash = c.PasswordHash
	}
	ok, err := VerifyPassword(ctx, hash, password)
	if err != nil {
		return nil, err
	}
	if c == nil || !ok {
		return nil, invalidCredentials()
	}
	return s.issueToken(ctx, s.pool(), c.ID, ttl)
}

// issueToken stores a new access token's hash for the customer.
func (s *Store) issueToken(ctx context.Context, q queryer, customerID int64, ttl time.Duration) (*CustomerToken, error) {
	tok, h := newToken(CustomerTokenPrefix)
	var exp time.Time
	err := sqlxGet(ctx, q, &exp, `
		INSERT INTO customer_tokens (token_hash, customer_id, expires_at)
		VALUES ($1, $2, now() + $3 * interval '1 millisecond')
		RETURNING expires_at`, h, customerID, ttl.Milliseconds())
	if err != nil {
		return nil, err
	}
	return &CustomerToken{Token: tok, ExpiresAt: exp}, nil
}

// CustomerByToken returns the customer an unexpired access token belongs
// to, or nil.
func (s *Store) CustomerByToken(ctx context.Context, tok string) (*Customer, error) {
	if !IsCustomerToken(tok) || len(tok) > 128 {
		return nil, nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var c Customer
	err := sqlxGet(ctx, s.pool(), &c, `
		SELECT c.id, c.email, c.password_hash, c.first_name, c.last_name, c.created_at, c.updated_at
		FROM customer_tokens t
		JOIN customers c ON c.id = t.customer_id
		WHERE t.token_hash = $1 AND t.expires_at > now()`, tokenHash(tok))
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// RevokeCustomerToken deletes an access token; it reports whether there
// was one.
func (s *Store) RevokeCustomerToken(ctx context.Context, tok string) (bool, error) {
	if !IsCustomerToken(tok) {
		return false, nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	res, err := s.pool().ExecContext(ctx, `DELETE FROM customer_tokens WHERE token_hash = $1`, tokenHash(tok))
	if err != nil {
		return false, translate(err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// TopicCustomerPasswordReset carries a password reset token to the shop's
// mailer (a signed webhook).
const TopicCustomerPasswordReset = "CUSTOMER_PASSWORD_RESET"

// RecoverCustomer issues a single-use reset token (valid ResetTokenTTL,
// stored hashed) for the account with this email and writes it to the
// outbox as a CUSTOMER_PASSWORD_RESET event; for an unknown email it does
// nothing. The caller answers the same either way.
func (s *Store) RecoverCustomer(ctx context.Context, email string) error {
	email = normalizeEmail(email)
	if !validEmail(email) {
		return nil
	}
	return s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		var c Customer
		err := sqlxGet(ctx, tx.q, &c, `SELECT `+customerColumns+` FROM customers WHERE email = $1`, email)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		tok, h := newToken("hfr_")
		var exp time.Time
		if err := sqlxGet(ctx, tx.q, &exp, `
			INSERT INTO customer_reset_tokens (token_hash, customer_id, expires_at)
			VALUES ($1, $2, now() + $3 * interval '1 millisecond')
			RETURNING expires_at`, h, c.ID, ResetTokenTTL.Milliseconds()); err != nil {
			return err
		}
		return enqueueEvent(ctx, tx.q, TopicCustomerPasswordReset, map[string]any{
			"customerId": fmt.Sprint(c.ID), "email": c.Email, "resetToken": tok, "expiresAt": exp,
		})
	})
}

// ResetPassword sets a new password with a reset token (single use, within
// its hour), revokes every access token of the customer and issues a new
// one, in one transaction. A reset token that is unknown, used or expired
// is RESET_TOKEN_INVALID.
func (s *Store) ResetPassword(ctx context.Context, resetToken, password string, ttl time.Duration) (*CustomerToken, error) {
	invalid := userErr(CodeResetTokenInvalid, "the reset token is invalid, used or expired", "resetToken")
	if len(resetToken) > 128 {
		return nil, invalid
	}
	h := tokenHash(resetToken)
	var email string
	err := sqlxGet(ctx, s.pool(), &email, `
		SELECT c.email FROM customer_reset_tokens r JOIN customers c ON c.id = r.customer_id
		WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > now()`, h)
	if errors.Is(err, ErrNotFound) {
		return nil, invalid
	}
	if err != nil {
		return nil, err
	}
	if err := checkPassword(password, email); err != nil {
		var se *Error
		if errors.As(err, &se) {
			se.Field = []string{"password"}
		}
		return nil, err
	}
	hash, err := HashPassword(ctx, password)
	if err != nil {
		return nil, err
	}
	var out *CustomerToken
	err = s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		var customerID int64
		err := sqlxGet(ctx, tx.q, &customerID, `
			UPDATE customer_reset_tokens SET used_at = now()
			WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
			RETURNING customer_id`, h)
		if errors.Is(err, ErrNotFound) {
			return invalid
		}
		if err != nil {
			return err
		}
		const set = `
			WITH revoked AS (DELETE FROM customer_tokens WHERE customer_id = $1)
			UPDATE customers SET password_hash = $2, updated_at = now() WHERE id = $1`
		if _, err := tx.q.ExecContext(ctx, set, customerID, hash); err != nil {
			return translate(err)
		}
		out, err = s.issueToken(ctx, tx.q, customerID, ttl)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CustomerByID returns a customer, or nil.
func (s *Store) CustomerByID(ctx context.Context, id int64) (*Customer, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var c Customer
	err := sqlxGet(ctx, s.reader(), &c, `SELECT `+customerColumns+` FROM customers WHERE id = $1`, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ListCustomers returns up to first customers, newest first, with ids
// below before (0: from the newest), whose email or names contain query
// (case-insensitive; "" for all), and whether more follow.
func (s *Store) ListCustomers(ctx context.Context, first int, before int64, query string) ([]*Customer, bool, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	pattern := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.TrimSpace(query)) + "%"
	const q = `
		SELECT ` + customerColumns + `
		FROM customers
		WHERE ($1::bigint = 0 OR id < $1)
		  AND ($3 = '%%' OR email ILIKE $3 OR first_name ILIKE $3 OR last_name ILIKE $3)
		ORDER BY id DESC
		LIMIT $2`
	var cs []*Customer
	if err := sqlxSelect(ctx, s.reader(), &cs, q, before, first+1, pattern); err != nil {
		return nil, false, err
	}
	more := len(cs) > first
	if more {
		cs = cs[:first]
	}
	return cs, more, nil
}

// CustomersByIDs loads many customers in one query.
func (s *Store) CustomersByIDs(ctx context.Context, ids []int64) (map[int64]*Customer, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var cs []*Customer
	if err := sqlxSelect(ctx, s.reader(), &cs, `SELECT `+customerColumns+` FROM customers WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, err
	}
	out := make(map[int64]*Customer, len(cs))
	for _, c := range cs {
		out[c.ID] = c
	}
	return out, nil
}

// ListCustomerOrders is ListOrders for one customer's orders.
func (s *Store) ListCustomerOrders(ctx context.Context, customerID int64, first int, before int64) ([]*Order, bool, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT ` + orderColumns + `
		FROM orders
		WHERE customer_id = $3 AND ($1::bigint = 0 OR seq < $1)
		ORDER BY seq DESC
		LIMIT $2`
	var os []*Order
	if err := sqlxSelect(ctx, s.reader(), &os, q, before, first+1, customerID); err != nil {
		return nil, false, err
	}
	more := len(os) > first
	if more {
		os = os[:first]
	}
	return os, more, nil
}

// ActiveCart is the customer's most recently changed live cart, or nil.
func (s *Store) ActiveCart(ctx context.Context, customerID int64) (*Cart, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var c Cart
	err := sqlxGet(ctx, s.reader(), &c, `
		SELECT `+cartColumns+`
		FROM carts
		WHERE customer_id = $1 AND status = 'ACTIVE' AND expires_at > now()
		ORDER BY updated_at DESC, id
		LIMIT 1`, customerID)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// ReapCustomerTokens deletes expired access tokens and expired or used
// reset tokens, up to limit of each; it returns how many it deleted.
func (s *Store) ReapCustomerTokens(ctx context.Context, limit int) (int64, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		WITH t AS (
			DELETE FROM customer_tokens WHERE token_hash IN (
				SELECT token_hash FROM customer_tokens WHERE expires_at <= now() LIMIT $1)
			RETURNING 1
		), r AS (
			DELETE FROM customer_reset_tokens WHERE token_hash IN (
				SELECT token_hash FROM customer_reset_tokens WHERE expires_at <= now() OR used_at IS NOT NULL LIMIT $1)
			RETURNING 1
		)
		SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM r)`
	var n int64
	err := sqlxGet(ctx, s.pool(), &n, q, limit)
	return n, err
}
