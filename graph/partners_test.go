package graph_test

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

const createEndpoint = `mutation($in: CreateWebhookEndpointInput!) {
	createWebhookEndpoint(input: $in) { endpoint { id url topics disabledAt } secret userErrors { code field message } } }`

func TestWebhookEndpointsAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	in := func(url string) map[string]any {
		return map[string]any{"in": map[string]any{"url": url, "topics": []string{"ORDER_PLACED", "STOCK_LOW"}}}
	}
	type payload struct {
		CreateWebhookEndpoint struct {
			Endpoint *struct {
				ID     string   `json:"id"`
				Topics []string `json:"topics"`
			} `json:"endpoint"`
			Secret     *string     `json:"secret"`
			UserErrors []userError `json:"userErrors"`
		} `json:"createWebhookEndpoint"`
	}

	t.Run("admin only", func(t *testing.T) {
		r := e.gql(t, "", createEndpoint, in("https://partner.example.com/h"))
		assert.Equal(t, "UNAUTHENTICATED", r.code())
	})
	t.Run("private addresses refused without WEBHOOK_ALLOW_PRIVATE", func(t *testing.T) {
		for _, u := range []string{"http://127.0.0.1:9/h", "https://10.1.2.3/h", "https://169.254.169.254/", "https://localhost/h", "http://partner.example.com/h"} {
			var out payload
			decode(t, e.gql(t, adminToken, createEndpoint, in(u)), &out)
			assert.Nil(t, out.CreateWebhookEndpoint.Endpoint, u)
			require.Len(t, out.CreateWebhookEndpoint.UserErrors, 1, u)
			assert.Equal(t, "INVALID_INPUT", out.CreateWebhookEndpoint.UserErrors[0].Code)
			assert.Equal(t, []string{"input", "url"}, out.CreateWebhookEndpoint.UserErrors[0].Field)
		}
	})
	t.Run("create, list, delete", func(t *testing.T) {
		var out payload
		decode(t, e.gql(t, adminToken, createEndpoint, in("https://partner.example.com/h")), &out)
		require.Empty(t, out.CreateWebhookEndpoint.UserErrors)
		require.NotNil(t, out.CreateWebhookEndpoint.Secret)
		assert.Regexp(t, `^whsec_[A-Za-z0-9_-]{43}$`, *out.CreateWebhookEndpoint.Secret)
		id := out.CreateWebhookEndpoint.Endpoint.ID
		var list struct {
			WebhookEndpoints []struct {
				ID     string   `json:"id"`
				URL    string   `json:"url"`
				Topics []string `json:"topics"`
			} `json:"webhookEndpoints"`
		}
		decode(t, e.gql(t, adminToken, `{ webhookEndpoints { id url topics } }`, nil), &list)
		require.Len(t, list.WebhookEndpoints, 1)
		assert.Equal(t, []string{"ORDER_PLACED", "STOCK_LOW"}, list.WebhookEndpoints[0].Topics)
		var del struct {
			DeleteWebhookEndpoint struct {
				Endpoint   *struct{ ID string } `json:"endpoint"`
				Secret     *string              `json:"secret"`
				UserErrors []userError          `json:"userErrors"`
			} `json:"deleteWebhookEndpoint"`
		}
		const deleteEndpoint = `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { endpoint { id } secret userErrors { code } } }`
		decode(t, e.gql(t, adminToken, deleteEndpoint, map[string]any{"id": id}), &del)
		require.Empty(t, del.DeleteWebhookEndpoint.UserErrors)
		assert.Nil(t, del.DeleteWebhookEndpoint.Secret, "the secret is shown once")
		decode(t, e.gql(t, adminToken, deleteEndpoint, map[string]any{"id": id}), &del)
		require.Len(t, del.DeleteWebhookEndpoint.UserErrors, 1)
		assert.Equal(t, "WEBHOOK_ENDPOINT_NOT_FOUND", del.DeleteWebhookEndpoint.UserErrors[0].Code)
	})
	t.Run("private addresses with WEBHOOK_ALLOW_PRIVATE", func(t *testing.T) {
		store, _ := storagetest.NewStore(t, storagetest.Options())
		srv := newServerWith(t, graph.HandlerConfig{Store: store, AdminToken: adminToken, WebhookAllowPrivate: true})
		var out payload
		decode(t, post(t, srv, adminToken, createEndpoint, in("http://127.0.0.1:9/h")), &out)
		require.Empty(t, out.CreateWebhookEndpoint.UserErrors)
		require.NotNil(t, out.CreateWebhookEndpoint.Endpoint)

		// Its deliveries page (none yet) and a delivery that does not exist.
		var ds struct {
			WebhookDeliveries struct {
				Edges []any `json:"edges"`
			} `json:"webhookDeliveries"`
			RedeliverWebhook *struct{ ID string } `json:"redeliverWebhook"`
		}
		r := post(t, srv, adminToken, `query($id: ID!) { webhookDeliveries(endpointId: $id, first: 5) { edges { cursor node { id eventId topic status attempts } } pageInfo { hasNextPage } } }`,
			map[string]any{"id": out.CreateWebhookEndpoint.Endpoint.ID})
		decode(t, r, &ds)
		assert.Empty(t, ds.WebhookDeliveries.Edges)
		decode(t, post(t, srv, adminToken, `mutation { redeliverWebhook(deliveryId: "999") { id } }`, nil), &ds)
		assert.Nil(t, ds.RedeliverWebhook)
	})
}

func newServerWith(t *testing.T, cfg graph.HandlerConfig) string {
	t.Helper()
	srv := httptest.NewServer(newAPI(cfg, httpapi.APIConfig{}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const setStockMutation = `mutation($in: SetStockInput!) {
	setStock(input: $in) { products { id sku stock held available lowStockThreshold } userErrors { code field message currentStock available } } }`

func TestSetStockAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "API-SYNC", 8)
	type out struct {
		SetStock struct {
			Products []struct {
				ID    string `json:"id"`
				Stock int    `json:"stock"`
			} `json:"products"`
			UserErrors []struct {
				userError
				CurrentStock *int `json:"currentStock"`
			} `json:"userErrors"`
		} `json:"setStock"`
	}
	var o out
	decode(t, e.gql(t, adminToken, setStockMutation, map[string]any{"in": map[string]any{
		"items": []map[string]any{{"sku": "API-SYNC", "stock": 12, "compareStock": 7}},
	}}), &o)
	require.Len(t, o.SetStock.UserErrors, 1)
	ue := o.SetStock.UserErrors[0]
	assert.Equal(t, "STOCK_CHANGED", ue.Code)
	assert.Equal(t, []string{"input", "items", "0"}, ue.Field)
	require.NotNil(t, ue.CurrentStock)
	assert.Equal(t, 8, *ue.CurrentStock)

	decode(t, e.gql(t, adminToken, setStockMutation, map[string]any{"in": map[string]any{
		"items": []map[string]any{{"productId": pid(p), "stock": 12, "compareStock": 8}}, "reason": "count",
	}}), &o)
	require.Empty(t, o.SetStock.UserErrors)
	require.Len(t, o.SetStock.Products, 1)
	assert.Equal(t, 12, o.SetStock.Products[0].Stock)

	r := e.gql(t, "", setStockMutation, map[string]any{"in": map[string]any{"items": []map[string]any{{"sku": "API-SYNC", "stock": 1}}}})
	assert.Equal(t, "UNAUTHENTICATED", r.code())
	storagetest.AssertBooks(t, e.store)
}

func TestLowStockThresholdAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var created struct {
		CreateProduct struct {
			Product struct {
				ID                string `json:"id"`
				LowStockThreshold *int   `json:"lowStockThreshold"`
			} `json:"product"`
		} `json:"createProduct"`
	}
	decode(t, e.gql(t, adminToken, `mutation { createProduct(input: {sku: "LOW-1", name: "Low", priceAmount: "1.00", currencyCode: "USD", stock: 9, lowStockThreshold: 2}) { product { id lowStockThreshold } } }`, nil), &created)
	require.NotNil(t, created.CreateProduct.Product.LowStockThreshold)
	assert.Equal(t, 2, *created.CreateProduct.Product.LowStockThreshold)
	id := created.CreateProduct.Product.ID
	type upd struct {
		UpdateProduct struct {
			Product *struct {
				Name              string `json:"name"`
				LowStockThreshold *int   `json:"lowStockThreshold"`
			} `json:"product"`
			UserErrors []userError `json:"userErrors"`
		} `json:"updateProduct"`
	}
	const update = `mutation($in: UpdateProductInput!) { updateProduct(input: $in) { product { name lowStockThreshold } userErrors { code field } } }`
	var u upd
	decode(t, e.gql(t, adminToken, update, map[string]any{"in": map[string]any{"productId": id, "name": "Renamed"}}), &u)
	require.NotNil(t, u.UpdateProduct.Product.LowStockThreshold, "absent leaves it")
	assert.Equal(t, 2, *u.UpdateProduct.Product.LowStockThreshold)
	decode(t, e.gql(t, adminToken, update, map[string]any{"in": map[string]any{"productId": id, "lowStockThreshold": 5}}), &u)
	assert.Equal(t, 5, *u.UpdateProduct.Product.LowStockThreshold)
	decode(t, e.gql(t, adminToken, update, map[string]any{"in": map[string]any{"productId": id, "lowStockThreshold": nil}}), &u)
	assert.Nil(t, u.UpdateProduct.Product.LowStockThreshold, "null clears it")
	decode(t, e.gql(t, adminToken, update, map[string]any{"in": map[string]any{"productId": id, "lowStockThreshold": -1}}), &u)
	require.Len(t, u.UpdateProduct.UserErrors, 1)
	assert.Equal(t, []string{"input", "lowStockThreshold"}, u.UpdateProduct.UserErrors[0].Field)

	r := e.gql(t, "", `query($id: ID!) { product(id: $id) { lowStockThreshold } }`, map[string]any{"id": id})
	assert.Equal(t, "UNAUTHENTICATED", r.code(), "admin only, like stock")
}

func TestOrdersFeedAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := t.Context()
	p := storagetest.MustProduct(t, e.store, "FEED-API", 10)
	var ids []string
	for range 3 {
		c := storagetest.MustCart(t, e.store)
		_, err := e.store.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
		require.NoError(t, err)
		o, err := e.store.Checkout(ctx, c.ID, "feed@example.com", "")
		require.NoError(t, err)
		ids = append(ids, o.ID)
	}
	_, err := e.store.CancelOrder(ctx, ids[0])
	require.NoError(t, err)
	time.Sleep(storage.FeedLag + 100*time.Millisecond)

	type page struct {
		Orders struct {
			Edges []struct {
				Cursor string `json:"cursor"`
				Node   struct {
					ID        string    `json:"id"`
					Status    string    `json:"status"`
					UpdatedAt time.Time `json:"updatedAt"`
				} `json:"node"`
			} `json:"edges"`
			PageInfo struct {
				HasNextPage bool    `json:"hasNextPage"`
				EndCursor   *string `json:"endCursor"`
			} `json:"pageInfo"`
		} `json:"orders"`
	}
	const feed = `query($since: Time, $after: String, $status: [OrderStatus!]) {
		orders(first: 2, after: $after, updatedAfter: $since, status: $status) { edges { cursor node { id status updatedAt } } pageInfo { hasNextPage endCursor } } }`
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339Nano)
	var p1, p2 page
	decode(t, e.gql(t, adminToken, feed, map[string]any{"since": since}), &p1)
	require.Len(t, p1.Orders.Edges, 2)
	assert.True(t, p1.Orders.PageInfo.HasNextPage)
	decode(t, e.gql(t, adminToken, feed, map[string]any{"since": since, "after": *p1.Orders.PageInfo.EndCursor}), &p2)
	require.Len(t, p2.Orders.Edges, 1)
	assert.False(t, p2.Orders.PageInfo.HasNextPage)
	got := []string{p1.Orders.Edges[0].Node.ID, p1.Orders.Edges[1].Node.ID, p2.Orders.Edges[0].Node.ID}
	assert.Equal(t, []string{ids[1], ids[2], ids[0]}, got, "oldest change first: the cancelled order last")
	assert.Equal(t, "CANCELLED", p2.Orders.Edges[0].Node.Status)

	var placed page
	decode(t, e.gql(t, adminToken, feed, map[string]any{"since": since, "status": []string{"CANCELLED"}}), &placed)
	require.Len(t, placed.Orders.Edges, 1)
	assert.Equal(t, ids[0], placed.Orders.Edges[0].Node.ID)

	// Without updatedAfter: newest first, as before, with the status filter.
	var newest page
	decode(t, e.gql(t, adminToken, `{ orders(first: 5) { edges { node { id status updatedAt } } } }`, nil), &newest)
	require.Len(t, newest.Orders.Edges, 3)
	assert.Equal(t, ids[2], newest.Orders.Edges[0].Node.ID)
	decode(t, e.gql(t, adminToken, `{ orders(first: 5, status: [PLACED]) { edges { node { id } } } }`, nil), &newest)
	require.Len(t, newest.Orders.Edges, 2)

	r := e.gql(t, adminToken, feed, map[string]any{"since": since, "after": "bm90LWEtY3Vyc29y"})
	assert.Equal(t, "BAD_USER_INPUT", r.code())
}
