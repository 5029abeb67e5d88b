package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

// testResolver looks webhook hosts up without the network: the names it
// knows, and NXDOMAIN for any other.
var testResolver = mapResolver{
	"partner.example.com":  "93.184.215.14",
	"loopback.example.com": "127.0.0.1",
}

type mapResolver map[string]string

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := m[strings.ToLower(host)]; ok {
		return []netip.Addr{netip.MustParseAddr(a)}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, Server: "127.0.0.53:53", IsNotFound: true}
}

// postKeyed is post with an Idempotency-Key header.
func postKeyed(t *testing.T, url, token, key, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	return out
}

// TestAdminMutationsHonourIdempotencyKey: admin mutations sent twice with
// one Idempotency-Key (or idempotencyKey input) apply once and answer the
// same: adjustStock restocked twice (3 -> 8 -> 13) and
// createWebhookEndpoint made two endpoints before.
func TestAdminMutationsHonourIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := setup(t)

	t.Run("adjustStock", func(t *testing.T) {
		p := storagetest.MustProduct(t, e.store, "KEY-ADJ", 3)
		const adjust = `mutation($in: AdjustStockInput!) { adjustStock(input: $in) { product { stock } userErrors { code } } }`
		in := map[string]any{"in": map[string]any{"productId": pid(p), "delta": 5}}
		a := postKeyed(t, e.srv.URL, adminToken, "adj-hdr-1", adjust, in)
		b := postKeyed(t, e.srv.URL, adminToken, "adj-hdr-1", adjust, in)
		require.Empty(t, a.Errors)
		assert.JSONEq(t, `{"adjustStock":{"product":{"stock":8},"userErrors":[]}}`, string(a.Data))
		assert.JSONEq(t, string(a.Data), string(b.Data))
		// The input's key, and the same key with another delta.
		in = map[string]any{"in": map[string]any{"productId": pid(p), "delta": 1, "idempotencyKey": "adj-in-1"}}
		a, b = e.gql(t, adminToken, adjust, in), e.gql(t, adminToken, adjust, in)
		assert.JSONEq(t, `{"adjustStock":{"product":{"stock":9},"userErrors":[]}}`, string(a.Data))
		assert.JSONEq(t, string(a.Data), string(b.Data))
		in["in"].(map[string]any)["delta"] = 2
		assert.JSONEq(t, `{"adjustStock":{"product":null,"userErrors":[{"code":"IDEMPOTENCY_KEY_REUSED"}]}}`, string(e.gql(t, adminToken, adjust, in).Data))
		cur, err := e.store.ProductByID(context.Background(), p.ID)
		require.NoError(t, err)
		assert.Equal(t, 9, cur.Stock)
	})
	t.Run("createWebhookEndpoint", func(t *testing.T) {
		vars := map[string]any{"in": map[string]any{"url": "https://partner.example.com/keyed", "topics": []string{"STOCK_LOW"}}}
		a := postKeyed(t, e.srv.URL, adminToken, "ep-hdr-1", createEndpoint, vars)
		b := postKeyed(t, e.srv.URL, adminToken, "ep-hdr-1", createEndpoint, vars)
		require.Empty(t, a.Errors)
		assert.Contains(t, string(a.Data), `"secret":"whsec_`)
		assert.JSONEq(t, string(a.Data), string(b.Data), "the same endpoint and secret")
		eps, err := e.store.WebhookEndpoints(context.Background())
		require.NoError(t, err)
		n := 0
		for _, ep := range eps {
			if ep.URL == "https://partner.example.com/keyed" {
				n++
			}
		}
		assert.Equal(t, 1, n)
	})
	t.Run("createProduct", func(t *testing.T) {
		const create = `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id sku stock } userErrors { code } } }`
		vars := map[string]any{"in": map[string]any{"sku": "KEY-NEW", "name": "Keyed", "priceAmount": "2.00", "currencyCode": "USD", "stock": 4}}
		a := postKeyed(t, e.srv.URL, adminToken, "cp-hdr-1", create, vars)
		b := postKeyed(t, e.srv.URL, adminToken, "cp-hdr-1", create, vars)
		require.Empty(t, a.Errors)
		assert.Contains(t, string(a.Data), `"userErrors":[]`)
		assert.JSONEq(t, string(a.Data), string(b.Data), "not DUPLICATE_SKU")
	})
}

// TestCreateCartIdempotencyKey: createCart with a key (argument or
// header) answers the same cart on a retry.
func TestCreateCartIdempotencyKey(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const create = `mutation($k: String) { createCart(idempotencyKey: $k) { cart { id totalQuantity } userErrors { code field } } }`
	type out struct {
		CreateCart struct {
			Cart       *cart       `json:"cart"`
			UserErrors []userError `json:"userErrors"`
		} `json:"createCart"`
	}
	var a, b, c out
	key := map[string]any{"k": "cart-8c1f2a9e-3b4d-4e5f-a6b7-c8d9e0f1a2b3"}
	decode(t, e.gql(t, "", create, key), &a)
	decode(t, e.gql(t, "", create, key), &b)
	require.NotNil(t, a.CreateCart.Cart)
	assert.Equal(t, a.CreateCart.Cart.ID, b.CreateCart.Cart.ID)

	decode(t, postKeyed(t, e.srv.URL, "", "cart-hdr-0123456789abcdef", create, nil), &a)
	decode(t, postKeyed(t, e.srv.URL, "", "cart-hdr-0123456789abcdef", create, nil), &b)
	decode(t, e.gql(t, "", create, nil), &c)
	require.NotNil(t, a.CreateCart.Cart)
	assert.Equal(t, a.CreateCart.Cart.ID, b.CreateCart.Cart.ID)
	assert.NotEqual(t, a.CreateCart.Cart.ID, c.CreateCart.Cart.ID, "no key: a new cart")

	for _, k := range []string{"short", "", "not a key at all!"} {
		decode(t, e.gql(t, "", create, map[string]any{"k": k}), &a)
		assert.Nil(t, a.CreateCart.Cart, k)
		require.Len(t, a.CreateCart.UserErrors, 1, k)
		assert.Equal(t, "INVALID_INPUT", a.CreateCart.UserErrors[0].Code)
		assert.Equal(t, []string{"idempotencyKey"}, a.CreateCart.UserErrors[0].Field)
	}
}

const updateEndpoint = `mutation($in: UpdateWebhookEndpointInput!) {
	updateWebhookEndpoint(input: $in) { endpoint { id url topics disabledAt } secret userErrors { code field message } } }`

type endpointPayload struct {
	Endpoint *struct {
		ID         string   `json:"id"`
		URL        string   `json:"url"`
		Topics     []string `json:"topics"`
		DisabledAt *string  `json:"disabledAt"`
	} `json:"endpoint"`
	Secret     *string     `json:"secret"`
	UserErrors []userError `json:"userErrors"`
}

// TestUpdateWebhookEndpointAPI: a disabled endpoint is enabled again; a
// new URL goes through the creation's checks.
func TestUpdateWebhookEndpointAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var created struct {
		CreateWebhookEndpoint endpointPayload `json:"createWebhookEndpoint"`
	}
	decode(t, e.gql(t, adminToken, createEndpoint, map[string]any{"in": map[string]any{"url": "https://partner.example.com/h", "topics": []string{"ORDER_PLACED"}}}), &created)
	require.NotNil(t, created.CreateWebhookEndpoint.Endpoint)
	id := created.CreateWebhookEndpoint.Endpoint.ID
	_, err := e.store.DB().Exec(`UPDATE webhook_endpoints SET disabled_at = now(), consecutive_failures = 10 WHERE id = $1`, id)
	require.NoError(t, err)

	update := func(token string, in map[string]any) (endpointPayload, gqlResponse) {
		in["webhookEndpointId"] = id
		r := e.gql(t, token, updateEndpoint, map[string]any{"in": in})
		var out struct {
			UpdateWebhookEndpoint endpointPayload `json:"updateWebhookEndpoint"`
		}
		if len(r.Errors) == 0 {
			require.NoError(t, json.Unmarshal(r.Data, &out))
		}
		return out.UpdateWebhookEndpoint, r
	}
	_, r := update("", map[string]any{"enabled": true})
	assert.Equal(t, "UNAUTHENTICATED", r.code())

	out, _ := update(adminToken, map[string]any{"enabled": true})
	require.Empty(t, out.UserErrors)
	assert.Nil(t, out.Endpoint.DisabledAt)
	assert.Nil(t, out.Secret, "the secret is shown once, at creation")
	var failures int
	require.NoError(t, e.store.DB().Get(&failures, `SELECT consecutive_failures FROM webhook_endpoints WHERE id = $1`, id))
	assert.Zero(t, failures)

	out, _ = update(adminToken, map[string]any{"url": "https://partner.example.com/v2", "topics": []string{"STOCK_LOW", "ORDER_PAID"}})
	require.Empty(t, out.UserErrors)
	assert.Equal(t, "https://partner.example.com/v2", out.Endpoint.URL)
	assert.Equal(t, []string{"STOCK_LOW", "ORDER_PAID"}, out.Endpoint.Topics)

	for _, u := range []string{"https://127.1/h", "https://loopback.example.com/h", "http://partner.example.com/h"} {
		out, _ = update(adminToken, map[string]any{"url": u})
		require.Len(t, out.UserErrors, 1, u)
		assert.Equal(t, "INVALID_INPUT", out.UserErrors[0].Code)
		assert.Equal(t, []string{"input", "url"}, out.UserErrors[0].Field)
	}
	eps, err := e.store.WebhookEndpoints(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "https://partner.example.com/v2", eps[0].URL, "a refused update changes nothing")

	r = e.gql(t, adminToken, updateEndpoint, map[string]any{"in": map[string]any{"webhookEndpointId": "999", "enabled": true}})
	assert.Contains(t, string(r.Data), `"code":"WEBHOOK_ENDPOINT_NOT_FOUND"`)
	assert.Contains(t, string(r.Data), `"field":["input","webhookEndpointId"]`)
}

// TestWebhookURLSpellingsRefusedAtCreation: every spelling of a loopback
// host that a resolver or inet_aton would read is refused when the
// endpoint is created, as delivery refuses it, with INVALID_INPUT on
// input.url; none is stored.
func TestWebhookURLSpellingsRefusedAtCreation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, host := range []string{
		"0x7f000001", "2130706433", "127.1", "0177.0.0.1", "0", "127.0.0.1.", "localhost.",
		"foo.localhost.", "foo.localhost", "LOCALHOST", "１２７.０.０.１", "loopback.example.com", "[::ffff:7f00:1]",
	} {
		u := "https://" + host + "/hooks"
		var out struct {
			CreateWebhookEndpoint endpointPayload `json:"createWebhookEndpoint"`
		}
		decode(t, e.gql(t, adminToken, createEndpoint, map[string]any{"in": map[string]any{"url": u, "topics": []string{"ORDER_PLACED"}}}), &out)
		assert.Nil(t, out.CreateWebhookEndpoint.Endpoint, u)
		require.Len(t, out.CreateWebhookEndpoint.UserErrors, 1, u)
		ue := out.CreateWebhookEndpoint.UserErrors[0]
		assert.Equal(t, "INVALID_INPUT", ue.Code, u)
		assert.Equal(t, []string{"input", "url"}, ue.Field, u)
		assert.NotContains(t, ue.Message, "127.0.0.53", u)
	}
	eps, err := e.store.WebhookEndpoints(context.Background())
	require.NoError(t, err)
	assert.Empty(t, eps)
}
