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

// 00014 makes a manual payment's reference confirm one order. A database
// where one reference already confirmed two orders stops the migration
// with a message naming the reference (never an order id), changing
// nothing; once the references are corrected it applies.
func TestManualReferenceMigrationStopsOnDuplicates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("postgres", storagetest.EmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, migrations.UpTo(ctx, db, 13))

	for _, id := range []string{"order-a", "order-b", "order-c"} {
		_, err := db.ExecContext(ctx, `INSERT INTO carts (id, status, expires_at) VALUES ($1, 'CHECKED_OUT', now())`, "cart-"+id)
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO orders (id, cart_id, email, currency) VALUES ($1, $2, 'a@example.com', 'USD')`, id, "cart-"+id)
		require.NoError(t, err)
	}
	for _, p := range [][3]string{{"order-a", "manual", "BANK-1"}, {"order-b", "manual", "BANK-1"}, {"order-c", "stripe", "pi_1"}} {
		_, err := db.ExecContext(ctx, `INSERT INTO payments (order_id, provider, status, amount_cents, currency, reference, due_at, succeeded_at)
			VALUES ($1, $2, 'SUCCEEDED', 100, 'USD', $3, now(), now())`, p[0], p[1], p[2])
		require.NoError(t, err)
	}
	err = migrations.Up(ctx, db, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "'BANK-1'")
	assert.NotContains(t, err.Error(), "order-")

	_, err = db.ExecContext(ctx, `UPDATE payments SET reference = 'BANK-1b' WHERE order_id = 'order-b'`)
	require.NoError(t, err)
	require.NoError(t, migrations.Up(ctx, db, nil))
	_, err = db.ExecContext(ctx, `UPDATE payments SET reference = 'BANK-1' WHERE order_id = 'order-b'`)
	assert.ErrorContains(t, err, "payments_manual_reference_once")
	_, err = db.ExecContext(ctx, `UPDATE payments SET reference = 'BANK-1' WHERE order_id = 'order-c'`)
	assert.NoError(t, err, "only manual references are unique")
}
