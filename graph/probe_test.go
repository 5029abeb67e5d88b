package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/graph/live"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// The findings of issue 9's outside probe, one test each. Each failed
// before its fix.

// fragmentChain is levels of fragments F{i}_0 and F{i}_1 on Product, each
// spreading both fragments of the next level: 2^levels selections of id
// from a document of a few kilobytes.
func fragmentChain(levels int) string {
	var b strings.Builder
	b.WriteString(`{ product(id: "1") { ...F0_0 ...F0_1 } }`)
	for i := 0; i < levels; i++ {
		for j := 0; j < 2; j++ {
			if i == levels-1 {
				fmt.Fprintf(&b, " fragment F%d_%d on Product { id }", i, j)
				continue
			}
			fmt.Fprintf(&b, " fragment F%d_%d on Product { ...F%d_0 ...F%d_1 }", i, j, i+1, i+1)
		}
	}
	return b.String()
}

// cacheServer is the handler chain with a view of its query cache.
func cacheServer(t *testing.T, cfg graph.HandlerConfig) (*httptest.Server, func() (int, int, int64)) {
	t.Helper()
	h, stats := graph.NewHandlerWithCacheStats(cfg)
	srv := httptest.NewServer(httpapi.API(httpapi.APIConfig{AdminToken: cfg.AdminToken}, h))
	t.Cleanup(srv.Close)
	return srv, stats
}

// Findings 1-3: hostile documents are refused before gqlgen validates or
// caches them, with the codes the limits always gave.
func TestHostileDocumentsRefusedBeforeValidation(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	srv, stats := cacheServer(t, graph.HandlerConfig{Store: store, AdminToken: adminToken})

	distinctAliases := func(prefix string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := 0; b.Len() < 940<<10; i++ {
			fmt.Fprintf(&b, " %s%d: __typename", prefix, i)
		}
		return b.String() + " }"
	}
	cases := []struct {
		name, query, code string
	}{
		{"fragment chain of 20 levels", fragmentChain(20), "COMPLEXITY_LIMIT"},
		{"fragment chain of 25 levels", fragmentChain(25), "COMPLEXITY_LIMIT"},
		{"fragment chain of 60 levels", fragmentChain(60), "COMPLEXITY_LIMIT"},
		{"40,000 repeats of __typename", "{" + strings.Repeat(" __typename", 40_000) + " }", "ALIAS_LIMIT"},
		{"940 KB of distinct aliases", distinctAliases("a"), "ALIAS_LIMIT"},
		{"1,500 repeats in a nested set", `{ products { edges { node {` + strings.Repeat(" id", 1500) + ` } } } }`, "COMPLEXITY_LIMIT"},
		{"aliases hidden in a fragment spread 40 times", `{ product(id: "1") {` + strings.Repeat(" ...A", 40) + ` } } fragment A on Product { x: id }`, "ALIAS_LIMIT"},
		{"depth through fragments", depthFragments(30), "DEPTH_LIMIT"},
		{"2,000 directives", `{ __typename` + strings.Repeat(" @include(if: true)", 2000) + ` }`, "COMPLEXITY_LIMIT"},
		{"root fields through inline fragments", `{ ... on Query { a: __typename b: __typename c: __typename d: __typename e: __typename f: __typename g: __typename h: __typename i: __typename j: __typename k: __typename } }`, "ALIAS_LIMIT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, before := stats()
			status, _, r := raw(t, srv.URL, "application/json", gqlBody(tc.query, nil), nil)
			assert.Equal(t, http.StatusUnprocessableEntity, status)
			assert.Equal(t, tc.code, r.code(), "%+v", r.Errors)
			entries, _, after := stats()
			assert.Equal(t, before, after, "the document was refused before gqlgen parsed or validated it")
			assert.Zero(t, entries, "nothing refused is cached")
		})
	}

	t.Run("distinct 940 KB documents leave the cache empty", func(t *testing.T) {
		for i := 0; i < 8; i++ {
			status, _, r := raw(t, srv.URL, "application/json", gqlBody(distinctAliases(fmt.Sprintf("p%d_", i)), nil), nil)
			require.Equal(t, http.StatusUnprocessableEntity, status)
			require.Equal(t, "ALIAS_LIMIT", r.code())
		}
		entries, bytes, _ := stats()
		assert.Zero(t, entries)
		assert.Zero(t, bytes)
	})

	t.Run("an ordinary query is cached once and reused", func(t *testing.T) {
		q := `{ products(first: 2) { edges { node { id name } } } }`
		_, _, r := raw(t, srv.URL, "application/json", gqlBody(q, nil), nil)
		require.Empty(t, r.Errors)
		entries, bytes, _ := stats()
		assert.Equal(t, 1, entries)
		assert.Equal(t, len(q), bytes)
	})

	t.Run("a chain within the limits is answered", func(t *testing.T) {
		p := storagetest.MustProduct(t, store, "CHAIN", 1)
		q := strings.Replace(fragmentChain(8), `"1"`, fmt.Sprintf("%q", pid(p)), 1)
		_, _, r := raw(t, srv.URL, "application/json", gqlBody(q, nil), nil)
		require.Empty(t, r.Errors)
		assert.JSONEq(t, fmt.Sprintf(`{"product":{"id":%q}}`, pid(p)), string(r.Data))
	})
}

// depthFragments nests n fragments on __Type, each one level deeper.
func depthFragments(n int) string {
	var b strings.Builder
	b.WriteString(`{ __schema { types { ...T1 } } }`)
	for i := 1; i <= n; i++ {
		if i == n {
			fmt.Fprintf(&b, " fragment T%d on __Type { name }", i)
			continue
		}
		fmt.Fprintf(&b, " fragment T%d on __Type { ofType { ...T%d } }", i, i+1)
	}
	return b.String()
}

// The GraphiQL introspection query (graphql-js getIntrospectionQuery) fits
// every limit: the playground must keep working.
func TestIntrospectionQueryFitsTheLimits(t *testing.T) {
	t.Parallel()
	e := setup(t)
	_, _, r := raw(t, e.srv.URL, "application/json", gqlBody(introspectionQuery, nil), nil)
	require.Empty(t, r.Errors)
	assert.Contains(t, string(r.Data), `"queryType":{"name":"Query"}`)
}

const introspectionQuery = `query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`

// Finding 4: a well-formed id that matches no product is null, not an
// internal error, under any alias.
func TestUnknownProductIsNull(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "KNOWN", 1)
	r := e.gql(t, "", fmt.Sprintf(`{ a: product(id: "987654") { id } b: product(id: %q) { id } c: product(id: "x") { id } }`, pid(p)), nil)
	require.Empty(t, r.Errors)
	assert.JSONEq(t, fmt.Sprintf(`{"a":null,"b":{"id":%q},"c":null}`, pid(p)), string(r.Data))
}

// Finding 6: guards that look at root fields see through fragments.
func TestRootFieldGuardsSeeThroughFragments(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	srv := httptest.NewServer(newAPI(graph.HandlerConfig{
		Store: store, AdminToken: adminToken,
		Limits: graph.LimitConfig{PerCart: httpapi.NewKeyedLimiter(0.001, 3)},
	}, httpapi.APIConfig{}))
	t.Cleanup(srv.Close)
	p := storagetest.MustProduct(t, store, "FRAG", 100)

	forms := map[string]string{
		"inline fragment": `mutation($in: RemoveCartLineInput!) { ... on Mutation { removeCartLine(input: $in) { userErrors { code } } } }`,
		"named fragment":  `mutation($in: RemoveCartLineInput!) { ...M } fragment M on Mutation { removeCartLine(input: $in) { userErrors { code } } }`,
		"plain":           `mutation($in: RemoveCartLineInput!) { removeCartLine(input: $in) { userErrors { code } } }`,
	}
	for name, q := range forms {
		t.Run("per-cart rate limit, "+name, func(t *testing.T) {
			c := storagetest.MustCart(t, store).ID
			vars := map[string]any{"in": map[string]any{"cartId": c, "productId": pid(p)}}
			limited := 0
			for i := 0; i < 6; i++ {
				r := post(t, srv.URL, "", q, vars)
				if r.code() == "RATE_LIMITED" {
					assert.Equal(t, http.StatusTooManyRequests, r.Status)
					limited++
				}
			}
			assert.Equal(t, 3, limited, "burst 3, then refused")
		})
	}

	t.Run("the Idempotency-Key header is not applied to two mutations in a fragment", func(t *testing.T) {
		c := storagetest.MustCart(t, store).ID
		q := `mutation($in: AddToCartInput!) { ...M } fragment M on Mutation {
			a: addToCart(input: $in) { cart { totalQuantity } userErrors { code } }
			b: addToCart(input: $in) { cart { totalQuantity } userErrors { code } } }`
		body := gqlBody(q, map[string]any{"in": map[string]any{"cartId": c, "productId": pid(p), "quantity": 1}})
		_, _, r := raw(t, srv.URL, "application/json", body, http.Header{"Idempotency-Key": {"k-frag-1"}})
		require.Empty(t, r.Errors)
		assert.JSONEq(t, `{"a":{"cart":{"totalQuantity":1},"userErrors":[]},"b":{"cart":{"totalQuantity":2},"userErrors":[]}}`, string(r.Data))
	})
}

// Finding 7: each root mutation's answer reads what the ones before it
// wrote.
func TestSecondRootMutationSeesTheFirst(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "TWOROOTS", 10)
	c := e.createCart(t)
	q := fmt.Sprintf(`mutation {
		a: addToCart(input: {cartId: %q, productId: %q, quantity: 1}) { cart { totalQuantity lines { quantity } } }
		b: addToCart(input: {cartId: %q, productId: %q, quantity: 2}) { cart { totalQuantity lines { quantity } } } }`, c, pid(p), c, pid(p))
	r := e.gql(t, "", q, nil)
	require.Empty(t, r.Errors)
	assert.JSONEq(t, `{"a":{"cart":{"totalQuantity":1,"lines":[{"quantity":1}]}},"b":{"cart":{"totalQuantity":3,"lines":[{"quantity":3}]}}}`, string(r.Data))
}

// Finding 11: every refusal carries extensions.code and no Go text.
func TestEveryRefusalIsCoded(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "CODED", 5)
	c := e.createCart(t)

	get := func(t *testing.T, params url.Values, hdr http.Header) (int, gqlResponse) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"?"+params.Encode(), nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var out gqlResponse
		require.NoError(t, json.Unmarshal(b, &out), "JSON: %q", b)
		return resp.StatusCode, out
	}
	goText := []string{"map[", "interface", "struct", "float64", "json:", "Go ", "string as"}
	noGoText := func(t *testing.T, r gqlResponse) {
		t.Helper()
		require.NotEmpty(t, r.Errors)
		for _, s := range goText {
			assert.NotContains(t, r.Errors[0].Message, s)
		}
		assert.NotEmpty(t, r.code(), "extensions.code")
	}

	t.Run("a mutation over GET", func(t *testing.T) {
		status, r := get(t, url.Values{"query": {`mutation { createCart { cart { id } } }`}}, nil)
		assert.Equal(t, http.StatusMethodNotAllowed, status)
		assert.Equal(t, "METHOD_NOT_ALLOWED", r.code())
		noGoText(t, r)
	})
	t.Run("bad variables on GET", func(t *testing.T) {
		status, r := get(t, url.Values{"query": {`query($id: ID!) { product(id: $id) { id } }`}, "variables": {`[1`}}, nil)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "BAD_REQUEST", r.code())
		noGoText(t, r)
	})
	t.Run("extensions not an object on GET", func(t *testing.T) {
		status, r := get(t, url.Values{"query": {`{ __typename }`}, "extensions": {`5`}}, nil)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "BAD_REQUEST", r.code())
	})
	t.Run("a query over GET works", func(t *testing.T) {
		status, r := get(t, url.Values{"query": {`{ __typename }`}}, nil)
		assert.Equal(t, http.StatusOK, status)
		assert.Empty(t, r.Errors)
	})
	t.Run("Content-Type application/graphql-response+json", func(t *testing.T) {
		status, _, r := raw(t, e.srv.URL, "application/graphql-response+json", gqlBody(`{ __typename }`, nil), nil)
		assert.Equal(t, http.StatusOK, status)
		assert.Empty(t, r.Errors)
		assert.JSONEq(t, `{"__typename":"Query"}`, string(r.Data))
	})
	t.Run(`"extensions": 5`, func(t *testing.T) {
		status, _, r := raw(t, e.srv.URL, "application/json", []byte(`{"query": "{ __typename }", "extensions": 5}`), nil)
		assert.Equal(t, http.StatusBadRequest, status)
		assert.Equal(t, "BAD_REQUEST", r.code())
		noGoText(t, r)
	})
	t.Run("a float variable for an Int", func(t *testing.T) {
		_, _, r := raw(t, e.srv.URL, "application/json", []byte(fmt.Sprintf(
			`{"query": "mutation($in: AddToCartInput!) { addToCart(input: $in) { userErrors { code } } }", "variables": {"in": {"cartId": %q, "productId": %q, "quantity": 1.5}}}`, c, pid(p))), nil)
		noGoText(t, r)
		assert.Contains(t, r.Errors[0].Message, "Int")
	})
	for name, hdr := range map[string]http.Header{
		"an upgrade that is not a websocket": {"Upgrade": {"h2c"}, "Connection": {"Upgrade"}},
		"a websocket upgrade without a key":  {"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Version": {"13"}},
		"a websocket upgrade of version 8":   {"Upgrade": {"websocket"}, "Connection": {"Upgrade"}, "Sec-Websocket-Version": {"8"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}},
	} {
		t.Run(name, func(t *testing.T) {
			status, r := get(t, url.Values{}, hdr)
			assert.GreaterOrEqual(t, status, 400)
			assert.Less(t, status, 500)
			noGoText(t, r)
		})
	}
}

// lockedBuffer collects log output from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wsServer is a server with a hub whose log and metrics the test reads.
func wsServer(t *testing.T, cfg graph.HandlerConfig, api httpapi.APIConfig) (*httptest.Server, *lockedBuffer, *prometheus.Registry) {
	t.Helper()
	store, dbURL := storagetest.NewStore(t, storagetest.Options())
	ctx, cancel := context.WithCancel(context.Background())
	quiet := slog.New(slog.DiscardHandler)
	events, err := storage.Listen(ctx, dbURL+"&application_name=holdfast-listener", quiet)
	require.NoError(t, err)
	hub := live.New(store, quiet, 50*time.Millisecond)
	done := make(chan struct{})
	go func() { hub.Run(ctx, events); close(done) }()
	logs := &lockedBuffer{}
	reg := prometheus.NewRegistry()
	cfg.Store, cfg.Hub, cfg.AdminToken = store, hub, adminToken
	cfg.Log = slog.New(slog.NewJSONHandler(logs, nil))
	metrics := httpapi.NewMetrics(reg)
	cfg.Metrics, cfg.Observe = graph.NewMetrics(reg), metrics.Observe
	api.Metrics, api.Log = metrics, cfg.Log
	srv := httptest.NewServer(newAPI(cfg, api))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		<-done
		for range events {
		}
	})
	return srv, logs, reg
}

// Finding 10: operations over a websocket are logged, counted and bounded
// by the request timeout like HTTP requests.
func TestWebsocketOperationsAreLoggedCountedAndTimed(t *testing.T) {
	t.Parallel()
	srv, logs, reg := wsServer(t, graph.HandlerConfig{}, httpapi.APIConfig{})
	ws := dialWS(t, srv)
	payload, _ := json.Marshal(map[string]any{"query": `mutation { createCart { cart { id } } }`})
	require.NoError(t, wsjson.Write(ws.ctx, ws.conn, wsMsg{ID: "1", Type: "subscribe", Payload: payload}))
	assert.Equal(t, "next", ws.next(5*time.Second).Type)
	assert.Equal(t, "complete", ws.next(5*time.Second).Type)

	require.Eventually(t, func() bool {
		return strings.Contains(logs.String(), `"transport":"websocket","operation":"mutation.createCart"`)
	}, 5*time.Second, 10*time.Millisecond, "an access-log line for the operation: %s", logs.String())
	n := testutil.ToFloat64(mustCounter(t, reg, "mutation.createCart"))
	assert.InDelta(t, 1.0, n, 0)

	t.Run("the request timeout applies", func(t *testing.T) {
		srv, _, _ := wsServer(t, graph.HandlerConfig{RequestTimeout: time.Nanosecond}, httpapi.APIConfig{})
		ws := dialWS(t, srv)
		payload, _ := json.Marshal(map[string]any{"query": `{ products { edges { node { id } } } }`})
		require.NoError(t, wsjson.Write(ws.ctx, ws.conn, wsMsg{ID: "1", Type: "subscribe", Payload: payload}))
		m := ws.next(5 * time.Second)
		assert.Contains(t, string(m.Payload), `"TIMEOUT"`)
	})
}

func mustCounter(t *testing.T, reg *prometheus.Registry, op string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "holdfast_graphql_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "operation" && l.GetValue() == op {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no holdfast_graphql_requests_total{operation=%q}", op)
	return nil
}

// Finding 12: a duplicate subscription id closes the socket with 4409, and
// one address may hold only so many sockets.
func TestWebsocketProtocolGuards(t *testing.T) {
	t.Parallel()

	t.Run("duplicate subscription id", func(t *testing.T) {
		// The first subscription is live (it has its first level) when the
		// second one with its id arrives: one that had already ended, on an
		// error, would have freed the id.
		w := newWatchServer(t, graph.HandlerConfig{})
		p := storagetest.MustProduct(t, w.store, "DUP", 5)
		ws := dialWS(t, w.srv)
		vars := map[string]any{"ids": []string{pid(p)}}
		ws.subscribe("dup", stockSub, vars)
		require.Equal(t, 5, ws.level(10*time.Second).Available)
		ws.subscribe("dup", stockSub, vars)
		var status websocket.StatusCode
		for {
			_, _, err := ws.conn.Read(ws.ctx)
			if err != nil {
				status = websocket.CloseStatus(err)
				break
			}
		}
		assert.Equal(t, websocket.StatusCode(4409), status)
	})

	t.Run("sockets per address", func(t *testing.T) {
		// A server of its own: a socket of another subtest gives its place
		// back only when its close handshake ends, some time after the
		// subtest.
		srv, _, _ := wsServer(t, graph.HandlerConfig{}, httpapi.APIConfig{MaxWebsocketsPerAddress: 2})
		a := dialWS(t, srv)
		b := dialWS(t, srv)
		_, _ = a, b
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		require.Error(t, err)
		require.NotNil(t, resp)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		a.conn.Close(websocket.StatusNormalClosure, "")
		require.Eventually(t, func() bool {
			c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
			if resp != nil && resp.Body != nil {
				resp.Body.Close()
			}
			if err != nil {
				return false
			}
			c.Close(websocket.StatusNormalClosure, "")
			return true
		}, 5*time.Second, 20*time.Millisecond, "a closed socket frees its place")
	})
}

// A subscribe message whose payload gqlgen cannot decode gets a coded
// error for its id, and the socket stays usable.
func TestWebsocketBadPayloadIsCoded(t *testing.T) {
	t.Parallel()
	srv, _, _ := wsServer(t, graph.HandlerConfig{}, httpapi.APIConfig{})
	ws := dialWS(t, srv)
	require.NoError(t, wsjson.Write(ws.ctx, ws.conn, wsMsg{ID: "bad", Type: "subscribe", Payload: json.RawMessage(`{"query": 5}`)}))
	m := ws.next(5 * time.Second)
	assert.Equal(t, "error", m.Type)
	assert.Equal(t, "bad", m.ID)
	assert.Contains(t, string(m.Payload), `"code":"BAD_REQUEST"`)
	payload, _ := json.Marshal(map[string]any{"query": `{ __typename }`})
	require.NoError(t, wsjson.Write(ws.ctx, ws.conn, wsMsg{ID: "good", Type: "subscribe", Payload: payload}))
	assert.Equal(t, "next", ws.next(5*time.Second).Type)
}
