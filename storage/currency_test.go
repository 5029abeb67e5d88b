package storage_test

import (
	"context"
	"testing"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// One currency per cart is the database's rule, not only the statements':
// SQL that bypasses the storage package cannot mix currencies either.
func TestDatabaseKeepsOneCurrencyPerCart(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	usd := storagetest.MustProduct(t, s, "USD-1", 5)
	eur, err := s.CreateProduct(ctx, storage.NewProduct{SKU: "EUR-1", Name: "Euro", PriceAmount: "1.00", Currency: "EUR", Stock: 5})
	require.NoError(t, err)
	c := storagetest.MustCart(t, s)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: usd.ID, Quantity: 1})
	require.NoError(t, err)

	fk := func(err error) string {
		e := pq.As(err, pqerror.ForeignKeyViolation)
		if e == nil {
			return ""
		}
		return e.Constraint
	}
	_, err = s.DB().Exec(`INSERT INTO cart_lines (cart_id, product_id, quantity, currency) VALUES ($1, $2, 1, 'EUR')`, c.ID, eur.ID)
	assert.Equal(t, "cart_lines_cart_currency_fkey", fk(err), "a EUR line in a USD cart: %v", err)
	_, err = s.DB().Exec(`INSERT INTO cart_lines (cart_id, product_id, quantity, currency) VALUES ($1, $2, 1, 'USD')`, c.ID, eur.ID)
	assert.Equal(t, "cart_lines_product_currency_fkey", fk(err), "a line priced unlike its product: %v", err)
	_, err = s.DB().Exec(`UPDATE products SET currency = 'EUR' WHERE id = $1`, usd.ID)
	assert.Equal(t, "cart_lines_product_currency_fkey", fk(err), "a held product changing currency: %v", err)
	_, err = s.DB().Exec(`UPDATE carts SET currency = 'EUR' WHERE id = $1`, c.ID)
	assert.Equal(t, "cart_lines_cart_currency_fkey", fk(err), "a cart changing currency under its lines: %v", err)

	// Emptied, the cart forgets its currency and takes another.
	_, err = s.UpdateCartLine(ctx, c.ID, usd.ID, 0, "")
	require.NoError(t, err)
	_, err = s.UpdateCartLine(ctx, c.ID, eur.ID, 2, "")
	require.NoError(t, err)
	var currency string
	require.NoError(t, s.DB().Get(&currency, `SELECT currency FROM carts WHERE id = $1`, c.ID))
	assert.Equal(t, "EUR", currency)
	storagetest.AssertBooks(t, s)
}
