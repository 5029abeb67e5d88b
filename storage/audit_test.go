package storage_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// The audit pages by product id, each row's sums its own (cart lines and
// pending orders included), and keeps the rows that are not ok on request.
func TestInventoryAuditPages(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	var ps []*storage.Product
	for i := 0; i < 4; i++ {
		ps = append(ps, storagetest.MustProduct(t, s, fmt.Sprintf("AUD-%d", i), 10))
	}
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: ps[1].ID, Quantity: 3})
	require.NoError(t, err)
	mustPending(t, s, 2, ps[2])
	_, err = s.DB().Exec(`UPDATE products SET stock = stock + 1 WHERE id = $1`, ps[3].ID)
	require.NoError(t, err)

	page, err := s.InventoryAudit(ctx, storage.AuditParams{First: 2})
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, storage.AuditRow{ProductID: ps[0].ID, Stock: 10, LedgerStock: 10, LevelStock: 10, OK: true}, *page[0])
	assert.Equal(t, storage.AuditRow{ProductID: ps[1].ID, Stock: 10, LedgerStock: 10, LevelStock: 10, Held: 3, CartHeld: 3, OK: true}, *page[1])

	page, err = s.InventoryAudit(ctx, storage.AuditParams{First: 2, After: ps[1].ID})
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, storage.AuditRow{ProductID: ps[2].ID, Stock: 10, LedgerStock: 10, LevelStock: 10, Held: 2, PendingHeld: 2, OK: true}, *page[0])
	assert.Equal(t, storage.AuditRow{ProductID: ps[3].ID, Stock: 11, LedgerStock: 10, LevelStock: 10}, *page[1])

	page, err = s.InventoryAudit(ctx, storage.AuditParams{First: 100, OnlyProblems: true})
	require.NoError(t, err)
	require.Len(t, page, 1)
	assert.Equal(t, ps[3].ID, page[0].ProductID)

	for _, p := range []storage.AuditParams{{First: 0}, {First: storage.MaxAuditPage + 1}, {First: 1, After: -1}} {
		_, err := s.InventoryAudit(ctx, p)
		assert.ErrorIs(t, err, storage.ErrBadPage, "%+v", p)
	}
}
