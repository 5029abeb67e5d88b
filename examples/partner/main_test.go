package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	graphqlpkg "github.com/Khan/genqlient/graphql"
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

// The sync job runs against a live server and its store: every connection
// and pool must be closed when a test ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSyncJob runs the sync against a live server: a CSV with a header,
// a product sold between the job's read and its write (retried against
// the current stock), one below what carts hold, and one unknown SKU.
func TestSyncJob(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	const token = "example-token"
	srv := httptest.NewServer(httpapi.API(httpapi.APIConfig{AdminToken: token}, graph.NewHandler(graph.HandlerConfig{Store: store, AdminToken: token})))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	storagetest.MustProduct(t, store, "MUG", 3)
	tee := storagetest.MustProduct(t, store, "TEE", 10)
	cart := storagetest.MustCart(t, store)
	_, err := store.AddToCart(ctx, storage.AddToCartParams{CartID: cart.ID, ProductID: tee.ID, Quantity: 6})
	require.NoError(t, err)

	rows, err := readCSV(strings.NewReader("sku,stock\nMUG, 12\nTEE,4\nNOPE,1\n"))
	require.NoError(t, err)
	require.Len(t, rows, 3)
	// Between the job's read and its write, a unit of MUG is restocked.
	c := client.New(srv.URL+"/", client.Options{Token: token})
	first := true
	wrapped := doerFunc(func(ctx context.Context, req *graphqlRequest, resp *graphqlResponse) error {
		if req.OpName == "SetStock" && first {
			first = false
			_, err := store.AdjustStock(ctx, tee.ID-1, 1, "restock")
			require.NoError(t, err)
		}
		return c.MakeRequest(ctx, req, resp)
	})
	var out bytes.Buffer
	err = syncStock(ctx, wrapped, rows, "count", "", &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "2 of 3 rows refused")
	assert.Contains(t, out.String(), "MUG: stock 12 (available 12)")
	assert.Contains(t, out.String(), "TEE: refused, STOCK_BELOW_HELD")
	assert.Contains(t, out.String(), "NOPE: refused, PRODUCT_NOT_FOUND")
	storagetest.AssertBooks(t, store)
}

// TestSyncJobAtLocation syncs one location's counts: only its levels
// change, each product's stock by as much; a level moved by a sale
// between the job's read and its write is retried against the level the
// refusal reports.
func TestSyncJobAtLocation(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	const token = "example-token"
	srv := httptest.NewServer(httpapi.API(httpapi.APIConfig{AdminToken: token}, graph.NewHandler(graph.HandlerConfig{Store: store, AdminToken: token})))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	mug := storagetest.MustProduct(t, store, "MUG", 3) // at the default location
	tee := storagetest.MustProduct(t, store, "TEE", 0)
	depot := storagetest.MustLocation(t, store, "depot", 1)
	storagetest.MustStockAt(t, store, tee.ID, depot.ID, 5)
	loc := fmt.Sprint(depot.ID)

	rows, err := readCSV(strings.NewReader("sku,stock\nMUG,7\nTEE,9\n"))
	require.NoError(t, err)
	c := client.New(srv.URL+"/", client.Options{Token: token})
	first := true
	wrapped := doerFunc(func(ctx context.Context, req *graphqlRequest, resp *graphqlResponse) error {
		if req.OpName == "SetStock" && first {
			first = false
			// A depot unit of TEE is written off in between.
			_, err := store.AdjustStockAt(ctx, storage.AdjustStockParams{ProductID: tee.ID, LocationID: depot.ID, Delta: -1})
			require.NoError(t, err)
		}
		return c.MakeRequest(ctx, req, resp)
	})
	var out bytes.Buffer
	require.NoError(t, syncStock(ctx, wrapped, rows, "depot count", loc, &out))
	assert.Contains(t, out.String(), "MUG: stock 10 (available 10) after setting location "+loc)
	assert.Contains(t, out.String(), "TEE: stock 9 (available 9) after setting location "+loc)
	assert.Equal(t, map[int64]int{1: 3, depot.ID: 7}, storagetest.Levels(t, store, mug.ID))
	assert.Equal(t, map[int64]int{1: 0, depot.ID: 9}, storagetest.Levels(t, store, tee.ID))

	out.Reset()
	err = syncStock(ctx, c, rows, "count", "999", &out)
	require.Error(t, err)
	assert.Contains(t, out.String(), "MUG: refused, LOCATION_NOT_FOUND")
	storagetest.AssertBooks(t, store)
}

func TestReceiver(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	h := Receiver("whsec_x", slog.New(slog.NewJSONHandler(&logs, nil)))
	body := []byte(`{"id":"7","topic":"STOCK_LOW","createdAt":"2026-12-01T10:00:00Z","data":{"productId":"1"}}`)
	send := func(sig string) int {
		req := httptest.NewRequest(http.MethodPost, "/hooks", bytes.NewReader(body))
		req.Header.Set(client.SignatureHeader, sig)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	assert.Equal(t, http.StatusNoContent, send(webhooks.Sign("whsec_x", time.Now(), body)))
	assert.Equal(t, http.StatusNoContent, send(webhooks.Sign("whsec_x", time.Now(), body)), "a retry is acknowledged")
	assert.Equal(t, http.StatusBadRequest, send(webhooks.Sign("whsec_wrong", time.Now(), body)))
	assert.Equal(t, 1, strings.Count(logs.String(), `"msg":"event"`))
	assert.Contains(t, logs.String(), "duplicate event ignored")
}

type (
	graphqlRequest  = graphqlpkg.Request
	graphqlResponse = graphqlpkg.Response
)

// doerFunc is a graphql.Client from a function.
type doerFunc func(ctx context.Context, req *graphqlRequest, resp *graphqlResponse) error

func (f doerFunc) MakeRequest(ctx context.Context, req *graphqlRequest, resp *graphqlResponse) error {
	return f(ctx, req, resp)
}
