package storage_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// A coalesced batch whose member would push its cart's total past the int4
// limit refuses that member by the cap and serves the others (issue 9).
func TestBatchCartTotalNearInt32(t *testing.T) {
	t.Parallel()
	opts := storagetest.Options()
	opts.MaxLineQuantity, opts.MaxCartQuantity = 2_000_000_000, 2_000_000_000
	s, _ := storagetest.NewStore(t, opts)
	ctx := context.Background()
	a := storagetest.MustProduct(t, s, "HUGE-A", storage.MaxStock)
	b := storagetest.MustProduct(t, s, "HUGE-B", storage.MaxStock)
	full, other := storagetest.MustCart(t, s), storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: full.ID, ProductID: a.ID, Quantity: 2_000_000_000})
	require.NoError(t, err)

	res, errs := s.RunBatch(ctx, b.ID, []storage.AddToCartParams{
		{CartID: full.ID, ProductID: b.ID, Quantity: 2_000_000_000},
		{CartID: other.ID, ProductID: b.ID, Quantity: 1},
	})
	assert.Equal(t, storage.CodeCartLimitExceeded, codeOf(errs[0]), "%v", errs[0])
	assert.NoError(t, errs[1])
	assert.Equal(t, 1, res[1].Reserved)
	books := storagetest.AssertBooks(t, s)
	assert.Equal(t, 1, books[1].Held)
}
