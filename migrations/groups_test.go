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

// 00017 leaves the products that exist before it as they are, ungrouped and
// sellable, and rolls back cleanly.
func TestProductGroupsMigrationKeepsProducts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("postgres", storagetest.EmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, migrations.UpTo(ctx, db, 15))
	_, err = db.ExecContext(ctx, `INSERT INTO products (sku, handle, name, price_cents, currency, stock) VALUES ('OLD-1', 'old-tee', 'Old tee', 100, 'USD', 3)`)
	require.NoError(t, err)
	require.NoError(t, migrations.Up(ctx, db, nil))

	var grouped bool
	require.NoError(t, db.QueryRowContext(ctx, `SELECT group_id IS NOT NULL OR selected_options IS NOT NULL FROM products WHERE sku = 'OLD-1'`).Scan(&grouped))
	assert.False(t, grouped)
	res, err := db.ExecContext(ctx, `UPDATE products SET held = held + 2 WHERE sku = 'OLD-1' AND stock - held >= 2`)
	require.NoError(t, err)
	n, _ := res.RowsAffected()
	assert.EqualValues(t, 1, n, "the reservation works as before")

	require.NoError(t, migrations.DownTo(ctx, db, 15))
	var cols int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'products' AND column_name IN ('group_id', 'selected_options')`).Scan(&cols))
	assert.Zero(t, cols)
	require.NoError(t, migrations.Up(ctx, db, nil))
}
