package migrations_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/migrations"
	"holdfast/storage/storagetest"
)

// keyRows lists idempotency_keys as "scope cart key operation" (cart "-"
// for NULL; scope "-" before 00016), in order.
func keyRows(t *testing.T, db *sql.DB, withScope bool) []string {
	t.Helper()
	q := `SELECT '- ' || cart_id || ' ' || key || ' ' || operation FROM idempotency_keys ORDER BY 1`
	if withScope {
		q = `SELECT scope || ' ' || coalesce(cart_id, '-') || ' ' || key || ' ' || operation FROM idempotency_keys ORDER BY 1`
	}
	rows, err := db.Query(q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// 00016 moves an idempotency key's scope out of cart_id ('~admin',
// '~createCart', the older '~setStock') into its own column; cart_id keeps
// the cart of a cart key and references it. Records nothing could claim
// again go; Down writes the rest back the old way.
func TestIdempotencyScopeMigrationConvertsKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("postgres", storagetest.EmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, migrations.UpTo(ctx, db, 15))

	for _, id := range []string{"cart-a", "cart-b"} {
		_, err := db.ExecContext(ctx, `INSERT INTO carts (id, expires_at) VALUES ($1, now() + interval '1 hour')`, id)
		require.NoError(t, err)
	}
	old := [][3]string{
		{"cart-a", "k1", "addToCart"},
		{"cart-b", "k1", "checkout"},
		{"~admin", "k1", "adjustStock"},
		{"~createCart", "k1", "createCart"},
		{"~setStock", "k2", "setStock"},
		{"~setStock", "k1", "setStock"},  // shadowed by ~admin's k1: goes
		{"cart-gone", "k3", "addToCart"}, // no such cart: goes
		{"~other", "k4", "other"},        // no such scope: goes
	}
	for _, r := range old {
		_, err := db.ExecContext(ctx, `INSERT INTO idempotency_keys (cart_id, key, operation, request_hash, response, expires_at)
			VALUES ($1, $2, $3, '\x00', 'null', now() + interval '1 hour')`, r[0], r[1], r[2])
		require.NoError(t, err)
	}

	require.NoError(t, migrations.Up(ctx, db, nil))
	assert.Equal(t, []string{
		"admin - k1 adjustStock",
		"admin - k2 setStock",
		"cart cart-a k1 addToCart",
		"cart cart-b k1 checkout",
		"createCart - k1 createCart",
	}, keyRows(t, db, true))

	insert := func(scope, cart any, key string) error {
		_, err := db.ExecContext(ctx, `INSERT INTO idempotency_keys (scope, cart_id, key, operation, request_hash, response, expires_at)
			VALUES ($1, $2, $3, 'op', '\x00', 'null', now() + interval '1 hour')`, scope, cart, key)
		return err
	}
	assert.ErrorContains(t, insert("admin", nil, "k1"), "idempotency_keys_scope_cart_key", "one k1 in the admin scope")
	assert.ErrorContains(t, insert("cart", "cart-a", "k1"), "idempotency_keys_scope_cart_key", "one k1 per cart")
	assert.ErrorContains(t, insert("cart", nil, "k5"), "idempotency_keys_cart_scope_check")
	assert.ErrorContains(t, insert("admin", "cart-a", "k5"), "idempotency_keys_cart_scope_check")
	assert.ErrorContains(t, insert("cart", "cart-gone", "k5"), "idempotency_keys_cart_id_fkey")
	assert.ErrorContains(t, insert("~admin", nil, "k5"), "idempotency_keys_scope_check")
	assert.NoError(t, insert("createCart", nil, "k2"), "scopes are apart")

	require.NoError(t, migrations.DownTo(ctx, db, 15))
	assert.Equal(t, []string{
		"- cart-a k1 addToCart",
		"- cart-b k1 checkout",
		"- ~admin k1 adjustStock",
		"- ~admin k2 setStock",
		"- ~createCart k1 createCart",
		"- ~createCart k2 op",
	}, keyRows(t, db, false))
	require.NoError(t, migrations.Up(ctx, db, nil), "and up again")
}
