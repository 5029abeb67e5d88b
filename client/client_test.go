package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
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
	storagetest.AssertBooks(t, store)
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

// dropFirstAnswers serves every request, but drops the connection instead
// of the answer the first time it sees a request's Idempotency-Key: the
// server applied it, the client never heard, and retries. dropped counts
// the answers lost.
func dropFirstAnswers(dropped *atomic.Int64) func(next http.Handler) http.Handler {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := r.Header.Get(client.IdempotencyHeader)
			mu.Lock()
			first := !seen[key]
			seen[key] = true
			mu.Unlock()
			if !first {
				next.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(httptest.NewRecorder(), r)
			dropped.Add(1)
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
		})
	}
}

// TestEveryRetriedMutationAppliesOnce: the client retries every request
// after a connection error with the same Idempotency-Key; each mutation
// it has, sent through a server that drops the first answer after
// applying it, takes effect once and answers as the first attempt did
// (adjustStock restocked twice, 3 -> 8 -> 13, and createWebhookEndpoint
// made two endpoints, before the server honoured the key).
func TestEveryRetriedMutationAppliesOnce(t *testing.T) {
	t.Parallel()
	var dropped atomic.Int64
	store, url := live(t, dropFirstAnswers(&dropped))
	c := client.New(url, client.Options{Token: token, BaseWait: time.Millisecond})
	ctx := context.Background()
	p := storagetest.MustProduct(t, store, "ONCE-1", 3)
	tested := map[string]bool{}

	tested["AdjustStock"] = true
	adj, err := client.AdjustStock(ctx, c, client.AdjustStockInput{ProductId: storage.FormatProductID(p.ID), Delta: 5})
	require.NoError(t, err)
	require.Empty(t, adj.AdjustStock.UserErrors)
	assert.Equal(t, 8, adj.AdjustStock.Product.Stock)
	cur, err := store.ProductByID(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 8, cur.Stock, "restocked once")

	tested["SetStock"] = true
	set, err := client.SetStock(ctx, c, client.SetStockInput{Items: []client.SetStockItem{{Sku: strp("ONCE-1"), Stock: 10, CompareStock: intp(8)}}})
	require.NoError(t, err)
	require.Empty(t, set.SetStock.UserErrors)
	assert.Equal(t, 10, set.SetStock.Products[0].Stock)

	tested["CreateWebhookEndpoint"] = true
	created, err := client.CreateWebhookEndpoint(ctx, c, client.CreateWebhookEndpointInput{
		Url: "https://93.184.215.14/hooks", Topics: []client.WebhookTopic{client.WebhookTopicStockAdjusted}})
	require.NoError(t, err)
	require.Empty(t, created.CreateWebhookEndpoint.UserErrors)
	require.NotNil(t, created.CreateWebhookEndpoint.Secret, "the retry still gets the secret")
	assert.Regexp(t, `^whsec_`, *created.CreateWebhookEndpoint.Secret)
	eps, err := store.WebhookEndpoints(ctx)
	require.NoError(t, err)
	require.Len(t, eps, 1, "one endpoint")
	id := created.CreateWebhookEndpoint.Endpoint.Id

	tested["UpdateWebhookEndpoint"] = true
	_, err = store.DB().Exec(`UPDATE webhook_endpoints SET disabled_at = now() WHERE id = $1`, eps[0].ID)
	require.NoError(t, err)
	enabled := true
	upd, err := client.UpdateWebhookEndpoint(ctx, c, client.UpdateWebhookEndpointInput{WebhookEndpointId: id, Enabled: &enabled})
	require.NoError(t, err)
	require.Empty(t, upd.UpdateWebhookEndpoint.UserErrors)
	assert.Nil(t, upd.UpdateWebhookEndpoint.Endpoint.DisabledAt)

	tested["RedeliverWebhook"] = true
	_, err = store.AdjustStock(ctx, p.ID, 1, "")
	require.NoError(t, err)
	ds, _, err := store.WebhookDeliveries(ctx, eps[0].ID, 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	_, err = store.DB().Exec(`UPDATE webhook_deliveries SET status = 'FAILED' WHERE id = $1`, ds[0].ID)
	require.NoError(t, err)
	re, err := client.RedeliverWebhook(ctx, c, storage.FormatProductID(ds[0].ID))
	require.NoError(t, err)
	require.NotNil(t, re.RedeliverWebhook)
	assert.Equal(t, "PENDING", re.RedeliverWebhook.Status)

	tested["DeleteWebhookEndpoint"] = true
	del, err := client.DeleteWebhookEndpoint(ctx, c, id)
	require.NoError(t, err)
	require.Empty(t, del.DeleteWebhookEndpoint.UserErrors, "the retry answers the endpoint deleted, not WEBHOOK_ENDPOINT_NOT_FOUND")
	assert.Equal(t, id, del.DeleteWebhookEndpoint.Endpoint.Id)

	assert.EqualValues(t, len(tested), dropped.Load(), "every first answer was lost")
	storagetest.AssertBooks(t, store)

	// Every mutation of the client is one of those.
	ops, err := os.ReadFile("operations.graphql")
	require.NoError(t, err)
	for _, m := range regexp.MustCompile(`(?m)^mutation (\w+)`).FindAllStringSubmatch(string(ops), -1) {
		assert.True(t, tested[m[1]], "mutation %s is retried by the client: test that it applies once", m[1])
	}
}

// An ERP reads an article's variants by the group's handle: each variant's
// sku, stock and options, in display order.
func TestProductGroupVariantsThroughTheClient(t *testing.T) {
	t.Parallel()
	store, url := live(t, nil)
	ctx := context.Background()
	g, err := store.CreateProductGroup(ctx, storage.NewProductGroup{Title: "ERP tee", Options: storage.ProductOptions{{Name: "Size", Values: []string{"S", "M"}}}})
	require.NoError(t, err)
	for _, size := range []string{"M", "S"} {
		_, err := store.CreateProduct(ctx, storage.NewProduct{SKU: "ERP-" + size, Name: "ERP tee " + size, PriceAmount: "9.00", Currency: "USD", Stock: 4,
			GroupID: &g.ID, SelectedOptions: storage.OptionSelection{"Size": size}})
		require.NoError(t, err)
	}
	c := client.New(url, client.Options{Token: token})
	res, err := client.ProductGroupVariants(ctx, c, "erp-tee")
	require.NoError(t, err)
	require.NotNil(t, res.ProductGroupByHandle)
	vs := res.ProductGroupByHandle.Variants
	require.Len(t, vs, 2)
	assert.Equal(t, "ERP-S", vs[0].Sku)
	assert.Equal(t, 4, vs[0].Stock)
	assert.Equal(t, "S", vs[0].SelectedOptions[0].Value)
	assert.Equal(t, "ERP-M", vs[1].Sku)
}
