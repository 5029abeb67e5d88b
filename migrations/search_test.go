package migrations_test

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/migrations"
	"holdfast/storage/storagetest"
)

// 00012 moves the long descriptions of the products that exist before it
// out of line (toast_tuple_target), where they were stored compressed in
// the row, and gives every product its search document.
func TestSearchMigrationMovesLongDescriptionsOutOfLine(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sql.Open("postgres", storagetest.EmptyURL(t))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, migrations.UpTo(ctx, db, 11))

	rng := rand.New(rand.NewPCG(21, 12))
	words := strings.Fields("walnut oak linen wool brass glass clay hand turned oiled woven tray bowl board shelf lamp small deep warm soft the a of and with for")
	var b strings.Builder
	for b.Len() < 2000 {
		b.WriteString(words[rng.IntN(len(words))] + " ")
	}
	desc := b.String()
	_, err = db.ExecContext(ctx, `INSERT INTO products (sku, handle, name, description, price_cents, currency, stock) VALUES ('LONG-1', 'long-1', 'Long', $1, 100, 'USD', 1)`, desc)
	require.NoError(t, err)
	outOfLine := func() int64 { // bytes of products' TOAST table
		t.Helper()
		var n int64
		require.NoError(t, db.QueryRowContext(ctx, `SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'products'::regclass`).Scan(&n))
		return n
	}
	require.Zero(t, outOfLine(), "stored compressed in the row before 00012")

	require.NoError(t, migrations.Up(ctx, db, nil))
	assert.Positive(t, outOfLine(), "out of line after it")
	var got string
	var found bool
	require.NoError(t, db.QueryRowContext(ctx, `
		SELECT p.description, ps.search_vector @@ to_tsquery('simple', 'walnut')
		FROM products p JOIN product_search ps ON ps.product_id = p.id`).Scan(&got, &found))
	assert.Equal(t, desc, got)
	assert.True(t, found)
}
