package storage_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

func boolp(b bool) *bool { return &b }

// TestAdjustStockKeyed: adjustStock sent twice with one key restocks once
// (3 -> 8, not 13) and both attempts answer 8; the key with another delta
// is refused and changes nothing; without a key each call applies.
func TestAdjustStockKeyed(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "KEYED-ADJ", 3)

	first, err := s.AdjustStockKeyed(ctx, p.ID, 5, "delivery", "adj-1")
	require.NoError(t, err)
	assert.Equal(t, 8, first.Stock)
	again, err := s.AdjustStockKeyed(ctx, p.ID, 5, "delivery", "adj-1")
	require.NoError(t, err)
	assert.Equal(t, first, again, "the retry answers what the first attempt did")
	cur, err := s.ProductByID(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 8, cur.Stock)

	_, err = s.AdjustStockKeyed(ctx, p.ID, 6, "delivery", "adj-1")
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeIdempotencyKeyReused})
	_, err = s.AdjustStockKeyed(ctx, p.ID, 5, "delivery", "bad key")
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeInvalidInput})

	// A refusal is an answer too: replayed, nothing written.
	_, err = s.AdjustStockKeyed(ctx, p.ID, -100, "", "adj-2")
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeStockBelowHeld})
	_, err = s.AdjustStockKeyed(ctx, p.ID, -100, "", "adj-2")
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeStockBelowHeld})

	var moves int
	require.NoError(t, s.DB().Get(&moves, `SELECT count(*) FROM inventory_movements WHERE product_id = $1`, p.ID))
	assert.Equal(t, 2, moves, "the opening stock and one restock")
	storagetest.AssertBooks(t, s)
}

// TestAdjustStockKeyedConcurrently: attempts with one key that arrive
// together apply once, and every one answers the same.
func TestAdjustStockKeyedConcurrently(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "KEYED-RACE", 3)
	const n = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	stocks := make([]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			got, err := s.AdjustStockKeyed(ctx, p.ID, 5, "", "adj-race")
			errs[i] = err
			if err == nil {
				stocks[i] = got.Stock
			}
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i])
		assert.Equal(t, 8, stocks[i])
	}
	storagetest.AssertBooks(t, s)
}

// TestCreateProductKeyed: a retried createProduct answers the product it
// created, not DUPLICATE_SKU.
func TestCreateProductKeyed(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	in := storage.NewProduct{SKU: "KEYED-NEW", Name: "Keyed", PriceAmount: "1.00", Currency: "USD", Stock: 4, IdempotencyKey: "cp-1"}
	first, err := s.CreateProduct(ctx, in)
	require.NoError(t, err)
	again, err := s.CreateProduct(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID)
	assert.Equal(t, first.Handle, again.Handle)

	other := in
	other.Stock = 5
	_, err = s.CreateProduct(ctx, other)
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeIdempotencyKeyReused})
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM products`))
	assert.Equal(t, 1, n)
	storagetest.AssertBooks(t, s)
}

// TestCreateCartKeyed: the same key answers the same cart, as it is now;
// a short key (createCart's keys are shared by every client) is refused.
func TestCreateCartKeyed(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	const key = "cart:5f0c7a3e-8d1b-4f7e-9c2a-1b3d5e7f9a0b"
	first, err := s.CreateCartKeyed(ctx, key)
	require.NoError(t, err)
	p := storagetest.MustProduct(t, s, "KEYED-CART", 5)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: first.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	again, err := s.CreateCartKeyed(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID)
	other, err := s.CreateCartKeyed(ctx, key+"-2")
	require.NoError(t, err)
	assert.NotEqual(t, first.ID, other.ID)

	_, err = s.CreateCartKeyed(ctx, "short-key")
	var se *storage.Error
	require.ErrorAs(t, err, &se)
	assert.Equal(t, storage.CodeInvalidInput, se.Code)
	assert.Equal(t, []string{"idempotencyKey"}, se.Field)
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM carts`))
	assert.Equal(t, 2, n)
}

// TestWebhookEndpointMutationsKeyed: createWebhookEndpoint twice with one
// key makes one endpoint and answers its secret both times; a retried
// delete answers the endpoint, not WEBHOOK_ENDPOINT_NOT_FOUND.
func TestWebhookEndpointMutationsKeyed(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	topics := []string{storage.TopicStockAdjusted}
	ep, secret, err := s.CreateWebhookEndpointKeyed(ctx, "https://partner.example/h", topics, "ep-1")
	require.NoError(t, err)
	ep2, secret2, err := s.CreateWebhookEndpointKeyed(ctx, "https://partner.example/h", topics, "ep-1")
	require.NoError(t, err)
	assert.Equal(t, ep.ID, ep2.ID)
	assert.Equal(t, secret, secret2)
	_, _, err = s.CreateWebhookEndpointKeyed(ctx, "https://partner.example/other", topics, "ep-1")
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeIdempotencyKeyReused})
	eps, err := s.WebhookEndpoints(ctx)
	require.NoError(t, err)
	require.Len(t, eps, 1)

	for range 2 {
		del, err := s.DeleteWebhookEndpointKeyed(ctx, ep.ID, "del-1")
		require.NoError(t, err)
		assert.Equal(t, ep.ID, del.ID)
	}
	_, err = s.DeleteWebhookEndpointKeyed(ctx, ep.ID, "del-2")
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeWebhookEndpointNotFound})
}

// TestUpdateWebhookEndpoint: a disabled endpoint is enabled again with its
// failure count reset; url and topics change; an unknown id is refused.
func TestUpdateWebhookEndpoint(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	ep, _, err := s.CreateWebhookEndpoint(ctx, "https://partner.example/h", []string{storage.TopicStockAdjusted})
	require.NoError(t, err)
	_, err = s.DB().Exec(`UPDATE webhook_endpoints SET disabled_at = now(), consecutive_failures = 10 WHERE id = $1`, ep.ID)
	require.NoError(t, err)

	got, err := s.UpdateWebhookEndpoint(ctx, ep.ID, storage.WebhookEndpointUpdate{Enabled: boolp(true)})
	require.NoError(t, err)
	assert.Nil(t, got.DisabledAt)
	assert.Equal(t, "https://partner.example/h", got.URL)
	var failures int
	require.NoError(t, s.DB().Get(&failures, `SELECT consecutive_failures FROM webhook_endpoints WHERE id = $1`, ep.ID))
	assert.Zero(t, failures)

	url := "https://partner.example/v2"
	got, err = s.UpdateWebhookEndpoint(ctx, ep.ID, storage.WebhookEndpointUpdate{URL: &url, Topics: []string{storage.TopicOrderPlaced, storage.TopicOrderPlaced}})
	require.NoError(t, err)
	assert.Equal(t, url, got.URL)
	assert.Equal(t, []string{storage.TopicOrderPlaced}, got.Topics)
	assert.Nil(t, got.DisabledAt, "absent enabled leaves the state")

	got, err = s.UpdateWebhookEndpoint(ctx, ep.ID, storage.WebhookEndpointUpdate{Enabled: boolp(false)})
	require.NoError(t, err)
	assert.NotNil(t, got.DisabledAt)

	_, err = s.UpdateWebhookEndpoint(ctx, ep.ID, storage.WebhookEndpointUpdate{Topics: []string{}})
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeInvalidInput})
	_, err = s.UpdateWebhookEndpoint(ctx, ep.ID+100, storage.WebhookEndpointUpdate{Enabled: boolp(true)})
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeWebhookEndpointNotFound})
}

// TestCancelOrderAndCollectionsKeyed: a retried cancelOrder answers the
// order it cancelled (not ORDER_ALREADY_CANCELLED) and restocks once; a
// retried createCollection makes one collection; a retried
// deleteCollection answers success, not COLLECTION_NOT_FOUND.
func TestCancelOrderAndCollectionsKeyed(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "KEYED-CANCEL", 5)
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	o, err := s.Checkout(ctx, c.ID, "ada@example.com", "")
	require.NoError(t, err)

	first, err := s.CancelOrderKeyed(ctx, o.ID, "cancel-1")
	require.NoError(t, err)
	again, err := s.CancelOrderKeyed(ctx, o.ID, "cancel-1")
	require.NoError(t, err)
	assert.Equal(t, first.ID, again.ID)
	assert.Equal(t, storage.OrderCancelled, again.Status)
	_, err = s.CancelOrderKeyed(ctx, o.ID, "cancel-2")
	assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeOrderAlreadyCancelled})
	cur, err := s.ProductByID(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 5, cur.Stock, "restocked once")
	storagetest.AssertBooks(t, s)

	in := storage.NewCollection{Title: "Keyed drops", IdempotencyKey: "coll-1"}
	col, err := s.CreateCollection(ctx, in)
	require.NoError(t, err)
	col2, err := s.CreateCollection(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, col.ID, col2.ID)
	assert.Equal(t, "keyed-drops", col2.Handle)
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM collections`))
	assert.Equal(t, 1, n)

	require.NoError(t, s.DeleteCollectionKeyed(ctx, col.ID, "del-coll-1"))
	require.NoError(t, s.DeleteCollectionKeyed(ctx, col.ID, "del-coll-1"))
	assert.ErrorIs(t, s.DeleteCollectionKeyed(ctx, col.ID, "del-coll-2"), &storage.Error{Code: storage.CodeCollectionNotFound})
}
