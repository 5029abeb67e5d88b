package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"holdfast/client"
	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
	"holdfast/webhooks"
)

// No goroutine is ignored: httptest.Server.Close closes its connections
// (and http.DefaultTransport's idle ones) and Store.Close its pools, so a
// test that leaves a server, a connection or a pool open fails here.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const token = "client-admin-token"

// live serves the real handler chain (transport middleware and GraphQL
// handler) on a fresh database, behind front (nil: none).
func live(t *testing.T, front func(next http.Handler) http.Handler) (*storage.Store, string) {
	t.Helper()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	h := httpapi.API(httpapi.APIConfig{AdminToken: token}, graph.NewHandler(graph.HandlerConfig{Store: store, AdminToken: token}))
	if front != nil {
		h = front(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return store, srv.URL
}

func intp(n int) *int       { return &n }
func strp(s string) *string { return &s }

func TestSetStockThroughTheClient(t *testing.T) {
	t.Parallel()
	store, url := live(t, nil)
	p := storagetest.MustProduct(t, store, "CLI-1", 5)
	c := client.New(url, client.Options{Token: token})
	ctx := context.Background()

	res, err := client.SetStock(ctx, c, client.SetStockInput{Items: []client.SetStockItem{{Sku: strp("CLI-1"), Stock: 9, CompareStock: intp(4)}}})
	require.NoError(t, err)
	require.Len(t, res.SetStock.UserErrors, 1)
	ue := res.SetStock.UserErrors[0]
	assert.Equal(t, client.ErrorCodeStockChanged, ue.Code)
	assert.Equal(t, []string{"input", "items", "0"}, ue.Field)
	assert.Equal(t, 5, *ue.CurrentStock)
	assert.Error(t, client.UserErrors(res.SetStock.UserErrors))

	res, err = client.SetStock(ctx, c, client.SetStockInput{Items: []client.SetStockItem{{ProductId: strp(storage.FormatProductID(p.ID)), Stock: 9, CompareStock: intp(5)}}, Reason: strp("recount")})
	require.NoError(t, err)
	require.Empty(t, res.SetStock.UserErrors)
	require.Len(t, res.SetStock.Products, 1)
	assert.Equal(t, 9, res.SetStock.Products[0].Stock)

	_, err = client.SetStock(ctx, client.New(url, client.Options{}), client.SetStockInput{Items: []client.SetStockItem{{Sku: strp("CLI-1"), Stock: 1}}})
	require.Error(t, err, "without the token")
	storagetest.AssertBooks(t, store.DB())
}

// TestRetriesReuseTheIdempotencyKey: 503 and 429 answers (with
// Retry-After) and a connection dropped after the server applied the
// mutation are retried with the same Idempotency-Key, so the stock is set
// once.
func TestRetriesReuseTheIdempotencyKey(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys []string
	var n atomic.Int64
	store, url := live(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			keys = append(keys, r.Header.Get(client.IdempotencyHeader))
			mu.Unlock()
			switch n.Add(1) {
			case 1:
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusServiceUnavailable)
			case 2:
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
			case 3:
				// The server does the work, then the connection drops
				// before the answer.
				next.ServeHTTP(httptest.NewRecorder(), r)
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			default:
				next.ServeHTTP(w, r)
			}
		})
	})
	p := storagetest.MustProduct(t, store, "RETRY-1", 5)
	c := client.New(url, client.Options{Token: token, BaseWait: time.Millisecond})
	res, err := client.SetStock(context.Background(), c, client.SetStockInput{Items: []client.SetStockItem{{Sku: strp("RETRY-1"), Stock: 8, CompareStock: intp(5)}}})
	require.NoError(t, err)
	require.Empty(t, res.SetStock.UserErrors, "the retry is answered from the first application, not refused as STOCK_CHANGED")
	assert.Equal(t, 8, res.SetStock.Products[0].Stock)
	require.Len(t, keys, 4)
	for _, k := range keys {
		assert.Equal(t, keys[0], k)
	}
	assert.NotEmpty(t, keys[0])
	var moves int
	require.NoError(t, store.DB().Get(&moves, `SELECT count(*) FROM inventory_movements WHERE product_id = $1`, p.ID))
	assert.Equal(t, 2, moves, "the opening stock and one sync")

	// The next call has a key of its own.
	_, err = client.Product(context.Background(), c, storage.FormatProductID(p.ID))
	require.NoError(t, err)
	assert.NotEqual(t, keys[0], keys[len(keys)-1])
}

func TestRetriesGiveUp(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	_, url := live(t, func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
		})
	})
	c := client.New(url, client.Options{Token: token, MaxAttempts: 3, BaseWait: time.Millisecond})
	_, err := client.Product(context.Background(), c, "1")
	require.Error(t, err)
	assert.EqualValues(t, 3, n.Load())
}

func TestOrdersFeedThroughTheClient(t *testing.T) {
	t.Parallel()
	store, url := live(t, nil)
	ctx := context.Background()
	p := storagetest.MustProduct(t, store, "CLI-FEED", 5)
	cart := storagetest.MustCart(t, store)
	_, err := store.AddToCart(ctx, storage.AddToCartParams{CartID: cart.ID, ProductID: p.ID, Quantity: 2})
	require.NoError(t, err)
	o, err := store.Checkout(ctx, cart.ID, "cli@example.com", "")
	require.NoError(t, err)
	time.Sleep(storage.FeedLag + 100*time.Millisecond)
	c := client.New(url, client.Options{Token: token})
	res, err := client.OrdersFeed(ctx, c, time.Now().Add(-time.Hour), nil, intp(10), nil)
	require.NoError(t, err)
	require.Len(t, res.Orders.Edges, 1)
	n := res.Orders.Edges[0].Node
	assert.Equal(t, o.ID, n.Id)
	assert.Equal(t, "20.00", n.Total.Amount)
	assert.Equal(t, client.OrderStatusPlaced, n.Status)
	res, err = client.OrdersFeed(ctx, c, time.Now().Add(-time.Hour), res.Orders.PageInfo.EndCursor, intp(10), nil)
	require.NoError(t, err)
	assert.Empty(t, res.Orders.Edges, "resuming from the end cursor: nothing new")
	one, err := client.Order(ctx, c, o.ID)
	require.NoError(t, err)
	require.Len(t, one.Order.Lines, 1)
	assert.Equal(t, "CLI-FEED", one.Order.Lines[0].Sku)
}

func TestVerifyWebhook(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"1","topic":"STOCK_LOW","createdAt":"2026-01-01T00:00:00Z","data":{}}`)
	const secret = "whsec_test"
	now := time.Now()
	h := webhooks.Sign(secret, now, body)
	assert.NoError(t, client.VerifyWebhook(secret, h, body, 5*time.Minute))
	assert.ErrorIs(t, client.VerifyWebhook("whsec_other", h, body, 5*time.Minute), client.ErrSignatureMismatch)
	assert.ErrorIs(t, client.VerifyWebhook(secret, h, append([]byte(" "), body...), 5*time.Minute), client.ErrSignatureMismatch)
	old := webhooks.Sign(secret, now.Add(-time.Hour), body)
	assert.ErrorIs(t, client.VerifyWebhook(secret, old, body, 5*time.Minute), client.ErrSignatureExpired)
	assert.NoError(t, client.VerifyWebhook(secret, old, body, 0), "no tolerance: any time")
	for _, bad := range []string{"", "t=1", "v1=00", "t=x,v1=00", "t=1,v1=zz", "garbage"} {
		assert.ErrorIs(t, client.VerifyWebhook(secret, bad, body, 0), client.ErrBadSignatureHeader, bad)
	}
	// A rotated secret: either signature may match.
	assert.NoError(t, client.VerifyWebhook(secret, h+",v1="+"00", body, time.Minute))
}
