package migrations_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/migrations"
	"holdfast/storage/storagetest"
)

// 00010 gives the products that exist before it handles of their own:
// the slug of the name plus the id, unique and valid whatever the names.
func TestCatalogMigrationBackfillsHandles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("postgres", storagetest.EmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, migrations.UpTo(ctx, db, 8))

	names := []string{"Holdfast T-shirt, black, M", "日本", "--Mug--", "Mug", "Mug", strings.Repeat("x", 300)}
	for i, name := range names {
		_, err := db.ExecContext(ctx, `INSERT INTO products (sku, name, price_cents, currency, stock) VALUES ($1, $2, 100, 'USD', 1)`,
			"SKU-"+string(rune('A'+i)), name)
		require.NoError(t, err)
	}
	require.NoError(t, migrations.Up(ctx, db, nil))

	rows, err := db.QueryContext(ctx, `SELECT handle FROM products ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var handles []string
	for rows.Next() {
		var h string
		require.NoError(t, rows.Scan(&h))
		handles = append(handles, h)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"holdfast-t-shirt-black-m-1", "product-2", "mug-3", "mug-4", "mug-5", strings.Repeat("x", 235) + "-6"}, handles)

	_, err = db.ExecContext(ctx, `UPDATE products SET handle = 'mug-3' WHERE id = 4`)
	assert.ErrorContains(t, err, "products_handle_key", "handles are unique")
	_, err = db.ExecContext(ctx, `UPDATE products SET handle = 'Mug' WHERE id = 4`)
	assert.ErrorContains(t, err, "products_handle_format")
}
