package graph_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

const adminToken = "test-admin-token"

// No goroutine is ignored: httptest.Server.Close closes its connections
// (and http.DefaultTransport's idle ones) and Store.Close its pools, so a
// test that leaves a server, a connection or a pool open fails here.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// env is one test's world: a fresh database, a Store and the real HTTP
// handler chain in front of it.
type env struct {
	store *storage.Store
	dbURL string
	srv   *httptest.Server
}

func setup(t *testing.T) *env {
	t.Helper()
	store, u := storagetest.NewStore(t, storagetest.Options())
	e := &env{store: store, dbURL: u}
	e.srv = newServer(t, store)
	return e
}

func newServer(t *testing.T, store *storage.Store) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(newAPI(graph.HandlerConfig{
		Store: store, AdminToken: adminToken, Introspection: true,
	}, httpapi.APIConfig{}))
	t.Cleanup(srv.Close)
	return srv
}

// newAPI is the chain production runs in front of the store: the
// transport's middleware (httpapi) around the GraphQL handler. The admin
// token, unless api sets its own, is the GraphQL handler's.
func newAPI(cfg graph.HandlerConfig, api httpapi.APIConfig) http.Handler {
	if api.AdminToken == "" {
		api.AdminToken = cfg.AdminToken
	}
	if cfg.WebhookResolver == nil {
		cfg.WebhookResolver = testResolver
	}
	return httpapi.API(api, graph.NewHandler(cfg))
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Status int
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// post sends one GraphQL request to url and decodes the answer. It is safe
// to call from many goroutines (it reports failures with t.Errorf).
func post(t *testing.T, url, token, query string, vars map[string]any) gqlResponse {
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Errorf("request: %v", err)
		return gqlResponse{}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("post: %v", err)
		return gqlResponse{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out gqlResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Errorf("decode %q: %v", raw, err)
	}
	out.Status = resp.StatusCode
	return out
}

func (e *env) gql(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	return post(t, e.srv.URL, token, query, vars)
}

// decode unmarshals the response data into v, failing on GraphQL errors.
func decode(t *testing.T, r gqlResponse, v any) {
	t.Helper()
	require.Empty(t, r.Errors, "unexpected GraphQL errors")
	require.NoError(t, json.Unmarshal(r.Data, v))
}

type userError struct {
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	Field     []string `json:"field"`
	Available *int     `json:"available"`
}

type cartLine struct {
	Quantity int `json:"quantity"`
	Product  struct {
		ID        string `json:"id"`
		Available int    `json:"available"`
	} `json:"product"`
	LineTotal struct {
		Amount string `json:"amount"`
	} `json:"lineTotal"`
}

type cart struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"`
	TotalQuantity int        `json:"totalQuantity"`
	Lines         []cartLine `json:"lines"`
	Subtotal      struct {
		Amount       string `json:"amount"`
		CurrencyCode string `json:"currencyCode"`
	} `json:"subtotal"`
}

type cartPayload struct {
	Cart       *cart       `json:"cart"`
	UserErrors []userError `json:"userErrors"`
}

const cartFields = `id totalQuantity subtotal { amount currencyCode } lines { quantity lineTotal { amount } product { id available } }`

func (e *env) createCart(t *testing.T) string {
	t.Helper()
	var out struct {
		CreateCart cartPayload `json:"createCart"`
	}
	decode(t, e.gql(t, "", `mutation { createCart { cart { id } userErrors { code } } }`, nil), &out)
	require.NotNil(t, out.CreateCart.Cart)
	return out.CreateCart.Cart.ID
}

const addToCartMutation = `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { ` + cartFields + ` } userErrors { code message field available } } }`

// addToCart sends addToCart to url; safe from many goroutines.
func addToCart(t *testing.T, url, cartID, productID string, qty any) (cartPayload, gqlResponse) {
	r := post(t, url, "", addToCartMutation, map[string]any{
		"in": map[string]any{"cartId": cartID, "productId": productID, "quantity": qty},
	})
	var out struct {
		AddToCart cartPayload `json:"addToCart"`
	}
	if len(r.Errors) == 0 && r.Data != nil {
		if err := json.Unmarshal(r.Data, &out); err != nil {
			t.Errorf("decode: %v", err)
		}
	}
	return out.AddToCart, r
}

func pid(p *storage.Product) string { return fmt.Sprint(p.ID) }
