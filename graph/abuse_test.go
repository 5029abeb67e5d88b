package graph_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// raw sends body with the given content type and returns status, headers
// and the decoded GraphQL response.
func raw(t *testing.T, url, contentType string, body []byte, header http.Header) (int, http.Header, gqlResponse) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	require.NoError(t, json.Unmarshal(b, &out), "every refusal is JSON: %q", b)
	return resp.StatusCode, resp.Header, out
}

func gqlBody(query string, vars map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return b
}

// The abuse suite: each hostile request is refused with its code and a
// fitting status, the database does not change, and memory stays bounded.
func TestAbuseIsRefused(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "ABUSE", 10)
	c := e.createCart(t)
	before := storagetest.Snapshot(t, e.store.DB())

	deep := "{ __schema { types { " + strings.Repeat("ofType { ", 48) + "name" + strings.Repeat(" }", 48) + " } } }"
	var aliases strings.Builder
	aliases.WriteString("mutation {")
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&aliases, ` a%d: addToCart(input: {cartId: %q, productId: %q, quantity: 1}) { userErrors { code } }`, i, c, pid(p))
	}
	aliases.WriteString("}")
	bomb := `{ orders(first: 100) { edges { node { lines { product { id } } } } } a: products(first: 100) { edges { node { id } } } }`

	cases := []struct {
		name        string
		contentType string
		body        []byte
		status      int
		code        string
	}{
		{"10 MB body", "application/json", bytes.Repeat([]byte("x"), 10<<20), 413, "PAYLOAD_TOO_LARGE"},
		{"depth 50", "application/json", gqlBody(deep, nil), 422, "DEPTH_LIMIT"},
		{"1000 aliases of addToCart", "application/json", gqlBody(aliases.String(), nil), 422, "ALIAS_LIMIT"},
		{"complexity bomb", "application/json", gqlBody(bomb, nil), 422, "COMPLEXITY_LIMIT"},
		{"malformed JSON", "application/json", []byte(`{"query": "{ products { edges`), 400, "BAD_REQUEST"},
		{"variables not an object", "application/json", []byte(`{"query": "{ __typename }", "variables": [1]}`), 400, "BAD_REQUEST"},
		{"batched array", "application/json", []byte(`[{"query": "{ __typename }"}, {"query": "{ __typename }"}]`), 400, "BATCHING_NOT_SUPPORTED"},
		{"text/plain", "text/plain", gqlBody("{ __typename }", nil), 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"form", "application/x-www-form-urlencoded", []byte("query=%7B__typename%7D"), 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"no content type", "", gqlBody("{ __typename }", nil), 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"unknown operation", "application/json", []byte(`{"query": "query A { __typename }", "operationName": "B"}`), 422, "GRAPHQL_VALIDATION_FAILED"},
		{"not GraphQL", "application/json", gqlBody("DROP TABLE products;", nil), 422, "GRAPHQL_PARSE_FAILED"},
		{"unknown field", "application/json", gqlBody("{ deleteEverything }", nil), 422, "GRAPHQL_VALIDATION_FAILED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, r := raw(t, e.srv.URL, tc.contentType, tc.body, nil)
			assert.Equal(t, tc.status, status)
			require.NotEmpty(t, r.Errors)
			assert.Equal(t, tc.code, r.code())
			assert.NotEmpty(t, hdr.Get("X-Request-Id"))
			assert.Equal(t, "nosniff", hdr.Get("X-Content-Type-Options"))
			assert.NotContains(t, r.Errors[0].Message, "xxxxxxxx", "bodies are not echoed")
		})
	}

	t.Run("SQL-looking strings in every string input", func(t *testing.T) {
		inj := "'; DROP TABLE products; --"
		for name, in := range map[string]map[string]any{
			"addToCart":      {"cartId": inj, "productId": inj, "quantity": 1, "idempotencyKey": inj},
			"updateCartLine": {"cartId": inj, "productId": inj, "quantity": 1},
			"removeCartLine": {"cartId": inj, "productId": inj},
			"checkout":       {"cartId": c, "email": inj},
			"cancelOrder":    {"orderId": inj},
			"adjustStock":    {"productId": inj, "delta": 1, "reason": inj},
			"updateProduct":  {"productId": pid(p), "name": strings.Repeat(inj, 20), "priceAmount": inj, "currencyCode": inj},
		} {
			m, r := mutate(t, e.srv.URL, name, in)
			require.Empty(t, r.Errors, name)
			assert.NotEmpty(t, m.UserErrors, name)
		}
		r := e.gql(t, adminToken, createProductMutation, map[string]any{"in": map[string]any{
			"sku": inj, "name": inj, "description": inj, "priceAmount": inj, "currencyCode": inj, "stock": 1}})
		require.Empty(t, r.Errors)
		assert.Contains(t, string(r.Data), "INVALID_INPUT")
		var q struct{ Cart, Order json.RawMessage }
		decode(t, e.gql(t, "", `query($id: ID!) { cart(id: $id) { id } order(id: $id) { id } }`, map[string]any{"id": inj}), &q)
		assert.Equal(t, "null", string(q.Cart))
	})

	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()), "abuse changed the database")

	// The big bodies are cut at the limit, not read: the handler consumes
	// at most the limit (and a read buffer) of a 10 MB body.
	for i := 0; i < 3; i++ {
		body := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte("y"), 10<<20))}
		req := httptest.NewRequest(http.MethodPost, "/graphql", body)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(rec, req)
		require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
		assert.LessOrEqual(t, body.n, int64(1<<20+64<<10), "bytes read of a 10 MB body")
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	srv := httptest.NewServer(newAPI(graph.HandlerConfig{
		Store: store, AdminToken: adminToken,
		// Bursts of 3, then one request per 1000 s: however slowly the
		// machine sends the first three, no token comes back meanwhile.
		Limits: graph.LimitConfig{PerCart: httpapi.NewKeyedLimiter(0.001, 3)},
	}, httpapi.APIConfig{}))
	t.Cleanup(srv.Close)
	p := storagetest.MustProduct(t, store, "RATE", 100)
	c := storagetest.MustCart(t, store)
	body := gqlBody(addToCartMutation, map[string]any{"in": map[string]any{"cartId": c.ID, "productId": pid(p), "quantity": 1}})
	for i := 0; i < 3; i++ {
		status, _, r := raw(t, srv.URL, "application/json", body, nil)
		require.Equal(t, 200, status)
		require.Empty(t, r.Errors)
	}
	before := storagetest.Snapshot(t, store.DB())
	status, hdr, r := raw(t, srv.URL, "application/json", body, nil)
	assert.Equal(t, 429, status)
	assert.Equal(t, "RATE_LIMITED", r.code())
	assert.NotEmpty(t, hdr.Get("Retry-After"))
	assert.Equal(t, before, storagetest.Snapshot(t, store.DB()))

	// Admins are not rate limited; another cart has its own budget.
	status, _, r = raw(t, srv.URL, "application/json", body, http.Header{"Authorization": {"Bearer " + adminToken}})
	assert.Equal(t, 200, status)
	assert.Empty(t, r.Errors)
	other := storagetest.MustCart(t, store)
	status, _, _ = raw(t, srv.URL, "application/json",
		gqlBody(addToCartMutation, map[string]any{"in": map[string]any{"cartId": other.ID, "productId": pid(p), "quantity": 1}}), nil)
	assert.Equal(t, 200, status)
}

func TestCartCaps(t *testing.T) {
	t.Parallel()
	opts := storagetest.Options()
	opts.MaxLineQuantity, opts.MaxCartQuantity, opts.MaxCartLines = 5, 8, 2
	store, u := storagetest.NewStore(t, opts)
	e := &env{store: store, dbURL: u, srv: newServer(t, store)}
	a := storagetest.MustProduct(t, store, "CAP-A", 100)
	b := storagetest.MustProduct(t, store, "CAP-B", 100)
	small := storagetest.MustProduct(t, store, "CAP-SMALL", 3)
	cart := e.createCart(t)
	add := func(p *storage.Product, q int, key string) mutationResult {
		in := map[string]any{"cartId": cart, "productId": pid(p), "quantity": q}
		if key != "" {
			in["idempotencyKey"] = key
		}
		return e.mustMutate(t, "addToCart", in)
	}
	require.Empty(t, add(a, 4, "").UserErrors)
	require.Empty(t, add(b, 4, "").UserErrors)

	// The keyed refusal is remembered for its retries: all else stays.
	before := storagetest.Snapshot(t, store.DB(), "idempotency_keys")
	assert.Equal(t, "CART_LIMIT_EXCEEDED", codeOf(add(a, 2, "")), "line cap: 4 + 2 > 5")
	assert.Equal(t, "CART_LIMIT_EXCEEDED", codeOf(add(a, 2, "k-line")), "same through the keyed path")
	assert.Equal(t, "CART_LIMIT_EXCEEDED", codeOf(e.mustMutate(t, "updateCartLine", map[string]any{"cartId": cart, "productId": pid(a), "quantity": 6})))
	assert.Equal(t, "INSUFFICIENT_STOCK", codeOf(add(small, 50, "")), "stock is judged before caps")
	assert.Equal(t, "CART_LIMIT_EXCEEDED", codeOf(add(a, 1, "")), "cart cap: 8 units")
	assert.Equal(t, before, storagetest.Snapshot(t, store.DB(), "idempotency_keys"))
	storagetest.AssertBooks(t, store)

	// The lines cap alone: three products of one unit in a cart of two lines.
	cart3 := e.createCart(t)
	for _, p := range []*storage.Product{a, b} {
		require.Empty(t, e.mustMutate(t, "addToCart", map[string]any{"cartId": cart3, "productId": pid(p), "quantity": 1}).UserErrors)
	}
	m := e.mustMutate(t, "addToCart", map[string]any{"cartId": cart3, "productId": pid(small), "quantity": 1})
	assert.Equal(t, "CART_LIMIT_EXCEEDED", codeOf(m), "lines cap: 3 lines > 2")
	m = e.mustMutate(t, "updateCartLine", map[string]any{"cartId": cart3, "productId": pid(small), "quantity": 1})
	assert.Equal(t, "CART_LIMIT_EXCEEDED", codeOf(m))
	storagetest.AssertBooks(t, store)

	// Concurrent attempts cannot overshoot a cap together.
	cart2 := e.createCart(t)
	race(20, func(int) {
		mutate(t, e.srv.URL, "addToCart", map[string]any{"cartId": cart2, "productId": pid(b), "quantity": 1})
	})
	var held int
	require.NoError(t, store.DB().Get(&held, `SELECT quantity FROM cart_lines WHERE cart_id = $1`, cart2))
	assert.Equal(t, 5, held, "20 concurrent adds of 1 stop exactly at the line cap")

	var top struct {
		TopHolders []struct {
			Cart     struct{ ID string } `json:"cart"`
			Quantity int                 `json:"quantity"`
		} `json:"topHolders"`
	}
	decode(t, e.gql(t, adminToken, `{ topHolders(first: 5) { cart { id } quantity lines } }`, nil), &top)
	require.Len(t, top.TopHolders, 3)
	assert.Equal(t, cart, top.TopHolders[0].Cart.ID)
	assert.Equal(t, 8, top.TopHolders[0].Quantity)
	decode(t, e.gql(t, adminToken, `query($p: ID) { topHolders(productId: $p) { cart { id } quantity } }`, map[string]any{"p": pid(b)}), &top)
	require.Len(t, top.TopHolders, 3)
	assert.Equal(t, 5, top.TopHolders[0].Quantity)
	assert.Equal(t, "UNAUTHENTICATED", e.gql(t, "", `{ topHolders { quantity } }`, nil).code())
}

func TestPersistedQueries(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const q = `{ products(first: 1) { edges { node { id } } } }`
	sum := sha256.Sum256([]byte(q))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}}
	hashOnly, _ := json.Marshal(map[string]any{"extensions": ext})
	_, _, r := raw(t, e.srv.URL, "application/json", hashOnly, nil)
	assert.Equal(t, "PERSISTED_QUERY_NOT_FOUND", r.code())
	full, _ := json.Marshal(map[string]any{"query": q, "extensions": ext})
	_, _, r = raw(t, e.srv.URL, "application/json", full, nil)
	assert.Empty(t, r.Errors)
	_, _, r = raw(t, e.srv.URL, "application/json", hashOnly, nil)
	assert.Empty(t, r.Errors, "the hash alone now runs the query")
}

func TestMetricsAndRequestIDs(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	reg := prometheus.NewRegistry()
	metrics := httpapi.NewMetrics(reg)
	srv := httptest.NewServer(newAPI(graph.HandlerConfig{Store: store, AdminToken: adminToken, Metrics: graph.NewMetrics(reg), Observe: metrics.Observe},
		httpapi.APIConfig{Metrics: metrics}))
	t.Cleanup(srv.Close)
	p := storagetest.MustProduct(t, store, "MET", 1)
	c1, c2 := storagetest.MustCart(t, store), storagetest.MustCart(t, store)
	_, r := addToCart(t, srv.URL, c1.ID, pid(p), 1)
	require.Empty(t, r.Errors)
	_, r = addToCart(t, srv.URL, c2.ID, pid(p), 1)
	require.Empty(t, r.Errors)
	out, err := reg.Gather()
	require.NoError(t, err)
	text := fmt.Sprint(out)
	assert.Contains(t, text, "holdfast_reservations_total")
	assert.Contains(t, text, "mutation.addToCart")
	assert.Contains(t, text, "INSUFFICIENT_STOCK")
	assert.NotContains(t, text, c1.ID[:12], "no cart id in metrics")
}

// A database error reaches the client as "internal error" with the request
// id, never as SQL or driver text.
func TestInternalErrorsHideDetail(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, err := e.store.DB().Exec(`ALTER TABLE products RENAME TO products_gone`)
	require.NoError(t, err)
	status, hdr, r := raw(t, e.srv.URL, "application/json", gqlBody(`{ products { edges { node { id } } } }`, nil), nil)
	assert.Less(t, status, 500)
	require.NotEmpty(t, r.Errors)
	assert.Equal(t, "internal error", r.Errors[0].Message)
	assert.Equal(t, "INTERNAL_SERVER_ERROR", r.code())
	assert.Equal(t, hdr.Get("X-Request-Id"), r.Errors[0].Extensions["requestId"])
	body, _ := json.Marshal(r)
	for _, leak := range []string{"relation", "pq:", "products_gone", "SELECT", "storage:"} {
		assert.NotContains(t, string(body), leak)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
