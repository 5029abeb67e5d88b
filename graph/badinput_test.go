package graph_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

// Every bad input gets its documented error, and the database is byte for
// byte what it was before.
func TestAddToCartBadInput(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "BAD-INPUT", 10)
	cartID := e.createCart(t)
	_, r := addToCart(t, e.srv.URL, cartID, pid(p), 2)
	require.Empty(t, r.Errors)

	cases := []struct {
		name      string
		cartID    string
		productID string
		qty       any
		userCode  string // expected userErrors[0].code
		gqlCode   string // or expected errors[0].extensions.code
		available *int
	}{
		{name: "zero quantity", cartID: cartID, productID: pid(p), qty: 0, userCode: "INVALID_QUANTITY"},
		{name: "negative quantity", cartID: cartID, productID: pid(p), qty: -1, userCode: "INVALID_QUANTITY"},
		{name: "quantity beyond Int32", cartID: cartID, productID: pid(p), qty: 2147483648, gqlCode: "BAD_USER_INPUT"},
		{name: "fractional quantity", cartID: cartID, productID: pid(p), qty: 1.5, gqlCode: "GRAPHQL_VALIDATION_FAILED"},
		{name: "string quantity", cartID: cartID, productID: pid(p), qty: "3", gqlCode: "BAD_USER_INPUT"},
		{name: "oversize quantity", cartID: cartID, productID: pid(p), qty: 2147483647, userCode: "INSUFFICIENT_STOCK", available: ptr(8)},
		{name: "more than available", cartID: cartID, productID: pid(p), qty: 9, userCode: "INSUFFICIENT_STOCK", available: ptr(8)},
		{name: "malformed product id", cartID: cartID, productID: "12abc", qty: 1, userCode: "PRODUCT_NOT_FOUND"},
		{name: "negative product id", cartID: cartID, productID: "-1", qty: 1, userCode: "PRODUCT_NOT_FOUND"},
		{name: "unknown product", cartID: cartID, productID: "999999", qty: 1, userCode: "PRODUCT_NOT_FOUND"},
		{name: "unknown cart", cartID: "AAAAAAAAAAAAAAAAAAAAAAAA", productID: pid(p), qty: 1, userCode: "CART_NOT_FOUND"},
		{name: "malformed cart id", cartID: "not a cart", productID: pid(p), qty: 1, userCode: "CART_NOT_FOUND"},
		{name: "huge cart id", cartID: strings.Repeat("x", 10<<10), productID: pid(p), qty: 1, userCode: "CART_NOT_FOUND"},
		{name: "sql in ids", cartID: "'; DROP TABLE carts; --", productID: "1 OR 1=1", qty: 1, userCode: "CART_NOT_FOUND"},
	}
	before := storagetest.Snapshot(t, e.store.DB())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			payload, r := addToCart(t, e.srv.URL, tc.cartID, tc.productID, tc.qty)
			assert.Less(t, r.Status, 500, "never a 5xx for input")
			if tc.gqlCode != "" {
				require.NotEmpty(t, r.Errors)
				assert.Equal(t, tc.gqlCode, r.code())
				return
			}
			require.Empty(t, r.Errors)
			require.Len(t, payload.UserErrors, 1)
			ue := payload.UserErrors[0]
			assert.Equal(t, tc.userCode, ue.Code)
			assert.NotEmpty(t, ue.Message)
			assert.Equal(t, tc.available, ue.Available)
			if tc.userCode != "CART_NOT_FOUND" {
				require.NotNil(t, payload.Cart, "the cart comes back unchanged")
				assert.Equal(t, 2, payload.Cart.TotalQuantity)
			} else {
				assert.Nil(t, payload.Cart)
			}
		})
	}
	assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()), "refused requests changed the database")
}

func ptr(i int) *int { return &i }

const createProductMutation = `mutation($in: CreateProductInput!) { createProduct(input: $in) {
	product { id sku name description price { amount currencyCode } available stock held }
	userErrors { code message field } } }`

func TestCreateProductValidationAndAuth(t *testing.T) {
	t.Parallel()
	e := setup(t)
	valid := func() map[string]any {
		return map[string]any{"sku": "SKU-1", "name": "Thing", "priceAmount": "19.90", "currencyCode": "EUR", "stock": 7}
	}
	with := func(k string, v any) map[string]any {
		in := valid()
		in[k] = v
		return in
	}

	t.Run("auth", func(t *testing.T) {
		storagetest.MustProduct(t, e.store, "AUTH-1", 1) // so that a product's stock is asked for
		before := storagetest.Snapshot(t, e.store.DB())
		for _, token := range []string{"", "wrong-token", adminToken + "x"} {
			r := e.gql(t, token, createProductMutation, map[string]any{"in": valid()})
			require.NotEmpty(t, r.Errors, "token %q", token)
			assert.Equal(t, "UNAUTHENTICATED", r.code())
		}
		// stock and held are admin-only fields, refused loudly.
		r := e.gql(t, "", `{ products { edges { node { id stock } } } }`, nil)
		require.NotEmpty(t, r.Errors, "stock without the admin token")
		assert.Equal(t, "UNAUTHENTICATED", r.code())
		assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))
	})

	t.Run("creates", func(t *testing.T) {
		r := e.gql(t, adminToken, createProductMutation, map[string]any{"in": with("description", "A fine thing")})
		var out struct {
			CreateProduct struct {
				Product struct {
					ID    string `json:"id"`
					Price struct {
						Amount       string `json:"amount"`
						CurrencyCode string `json:"currencyCode"`
					} `json:"price"`
					Available, Stock, Held int
				} `json:"product"`
				UserErrors []userError `json:"userErrors"`
			} `json:"createProduct"`
		}
		decode(t, r, &out)
		require.Empty(t, out.CreateProduct.UserErrors)
		assert.Equal(t, "19.90", out.CreateProduct.Product.Price.Amount)
		assert.Equal(t, "EUR", out.CreateProduct.Product.Price.CurrencyCode)
		assert.Equal(t, 7, out.CreateProduct.Product.Stock)
		assert.Equal(t, 7, out.CreateProduct.Product.Available)

		// stock is refused without the token, with a code.
		r = e.gql(t, "", `query($id: ID!) { product(id: $id) { id available stock } }`, map[string]any{"id": out.CreateProduct.Product.ID})
		require.NotEmpty(t, r.Errors)
		assert.Equal(t, "UNAUTHENTICATED", r.code())
		r = e.gql(t, "", `query($id: ID!) { product(id: $id) { id available } }`, map[string]any{"id": out.CreateProduct.Product.ID})
		require.Empty(t, r.Errors)
	})

	cases := []struct {
		name  string
		in    map[string]any
		code  string
		field string
	}{
		{"negative stock", with("stock", -1), "INVALID_INPUT", "stock"},
		{"bad price", with("priceAmount", "12,50"), "INVALID_INPUT", "priceAmount"},
		{"three decimals", with("priceAmount", "1.999"), "INVALID_INPUT", "priceAmount"},
		{"negative price", with("priceAmount", "-1.00"), "INVALID_INPUT", "priceAmount"},
		{"exponent price", with("priceAmount", "1e3"), "INVALID_INPUT", "priceAmount"},
		{"bad currency", with("currencyCode", "usd"), "INVALID_INPUT", "currencyCode"},
		{"empty name", with("name", "   "), "INVALID_INPUT", "name"},
		{"empty sku", with("sku", ""), "INVALID_INPUT", "sku"},
		{"sql sku", with("sku", "x'; DROP TABLE products; --"), "INVALID_INPUT", "sku"},
		{"long name", with("name", strings.Repeat("n", 201)), "INVALID_INPUT", "name"},
		{"duplicate sku", with("sku", "SKU-1"), "DUPLICATE_SKU", "sku"},
	}
	t.Run("invalid", func(t *testing.T) {
		// The "creates" subtest made SKU-1; the cases must change nothing.
		before := storagetest.Snapshot(t, e.store.DB())
		for _, tc := range cases {
			r := e.gql(t, adminToken, createProductMutation, map[string]any{"in": tc.in})
			var out struct {
				CreateProduct struct {
					Product    json.RawMessage `json:"product"`
					UserErrors []userError     `json:"userErrors"`
				} `json:"createProduct"`
			}
			decode(t, r, &out)
			if assert.Len(t, out.CreateProduct.UserErrors, 1, tc.name) {
				assert.Equal(t, tc.code, out.CreateProduct.UserErrors[0].Code, tc.name)
				assert.Equal(t, []string{"input", tc.field}, out.CreateProduct.UserErrors[0].Field, tc.name)
			}
			assert.Equal(t, "null", string(out.CreateProduct.Product), tc.name)
		}
		assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))
	})
}

func TestProductsPagination(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, sku := range []string{"A", "B", "C", "D", "E"} {
		storagetest.MustProduct(t, e.store, sku, 1)
	}
	type page struct {
		Products struct {
			Edges []struct {
				Cursor string               `json:"cursor"`
				Node   struct{ Sku string } `json:"node"`
			} `json:"edges"`
			PageInfo struct {
				HasNextPage bool    `json:"hasNextPage"`
				EndCursor   *string `json:"endCursor"`
			} `json:"pageInfo"`
		} `json:"products"`
	}
	const q = `query($first: Int, $after: String) { products(first: $first, after: $after) {
		edges { cursor node { sku } } pageInfo { hasNextPage endCursor } } }`
	var skus []string
	var after any
	for i := 0; i < 5; i++ {
		var p page
		decode(t, e.gql(t, "", q, map[string]any{"first": 2, "after": after}), &p)
		for _, edge := range p.Products.Edges {
			skus = append(skus, edge.Node.Sku)
		}
		if !p.Products.PageInfo.HasNextPage {
			break
		}
		after = *p.Products.PageInfo.EndCursor
	}
	assert.Equal(t, []string{"A", "B", "C", "D", "E"}, skus)

	for _, bad := range []map[string]any{{"first": 0}, {"first": 101}, {"first": -5}, {"after": "garbage!"}} {
		r := e.gql(t, "", q, bad)
		require.NotEmpty(t, r.Errors, "%v", bad)
		assert.Equal(t, "BAD_USER_INPUT", r.code(), "%v", bad)
	}
}
