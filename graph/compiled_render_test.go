package graph_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
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

// rawPost sends one request and returns the body exactly as written.
func rawPost(t *testing.T, url, query string, vars map[string]any) []byte {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
	return raw
}

// cartRenders reads holdfast_renders_total{type="Cart",path} from reg.
func cartRenders(t *testing.T, reg *prometheus.Registry, path string) int {
	t.Helper()
	return renders(t, reg, "Cart", path)
}

// renders reads holdfast_renders_total{type,path} from reg.
func renders(t *testing.T, reg *prometheus.Registry, typ, path string) int {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "holdfast_renders_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["type"] == typ && labels["path"] == path {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	return 0
}

// renderServers serves store twice: with the compiled renderer (its
// metrics in reg) and with GenericRender.
func renderServers(t *testing.T, store *storage.Store) (compiled, generic string, reg *prometheus.Registry) {
	t.Helper()
	reg = prometheus.NewRegistry()
	serve := func(generic bool, metrics *graph.Metrics) string {
		srv := httptest.NewServer(newAPI(graph.HandlerConfig{
			Store: store, AdminToken: adminToken, GenericRender: generic, Metrics: metrics,
		}, httpapi.APIConfig{}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	return serve(false, graph.NewMetrics(reg)), serve(true, nil), reg
}

// storefrontBlocks returns the storefront's operations.ts blocks (an
// operation or a fragment each) that declare one of names.
func storefrontBlocks(t testing.TB, names ...string) string {
	t.Helper()
	src, err := os.ReadFile("../examples/storefront/src/operations.ts")
	require.NoError(t, err)
	var doc strings.Builder
	found := 0
	for _, m := range regexp.MustCompile("(?s)graphql\\(`(.*?)`\\)").FindAllStringSubmatch(string(src), -1) {
		for _, n := range names {
			if regexp.MustCompile(`(query|mutation|fragment) ` + n + `\b`).MatchString(m[1]) {
				doc.WriteString(m[1])
				found++
			}
		}
	}
	require.Equal(t, len(names), found, "every block was found: %v", names)
	return doc.String()
}

// The compiled cart renderer writes exactly the bytes gqlgen's field
// execution writes, for every cart selection the project's clients send
// (the storefront's documents, the benchmark's storefront and minimal
// shapes) and for the shapes a compiler gets wrong first: aliases,
// __typename, fragments, fields asked twice, nulls, strings that need
// escaping; and selections it must hand to gqlgen (a directive, a field it
// cannot write) still answer the same. Mutations are compared through the
// query of the same selection that follows them (nothing changes the cart
// in between), each side rendered by the other path.
func TestCompiledRenderIsByteIdentical(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	compiled, generic, reg := renderServers(t, store)

	desc := "Line one\nline \"two\" <b>&amp;</b> \u2028 é \\ end"
	odd, err := store.CreateProduct(ctx, storage.NewProduct{
		SKU: "ODD-1", Name: `Mug "Quote" & <tag> é ✓`, Description: &desc, PriceAmount: "0.99", Currency: "USD", Stock: 50,
		Images: []storage.NewImage{{URL: "https://img.example/mug-1.png", AltText: &desc}, {URL: "https://img.example/mug-2.png"}},
	})
	require.NoError(t, err)
	plain := storagetest.MustProduct(t, store, "PLAIN-1", 50)
	third := storagetest.MustProduct(t, store, "PLAIN-2", 50)
	cart := storagetest.MustCart(t, store)
	for _, p := range []*storage.Product{odd, plain} {
		_, err := store.AddToCart(ctx, storage.AddToCartParams{CartID: cart.ID, ProductID: p.ID, Quantity: 3})
		require.NoError(t, err)
	}
	empty := storagetest.MustCart(t, store)
	discounted := storagetest.MustCart(t, store)
	for _, p := range []*storage.Product{odd, plain} {
		_, err := store.AddToCart(ctx, storage.AddToCartParams{CartID: discounted.ID, ProductID: p.ID, Quantity: 2})
		require.NoError(t, err)
	}
	admin := func(q string, vars map[string]any) map[string]any {
		var out struct {
			Data   map[string]any `json:"data"`
			Errors []any          `json:"errors"`
		}
		body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, compiled, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		require.Empty(t, out.Errors)
		return out.Data
	}
	admin(`mutation { createDiscountCode(input: {code: "TENOFF", kind: PERCENTAGE, value: "10"}) { userErrors { code } } }`, nil)
	gc := admin(`mutation { createGiftCard(input: {initialValue: "1.00", currencyCode: "USD"}) { code userErrors { code } } }`, nil)
	giftCode := gc["createGiftCard"].(map[string]any)["code"].(string)
	for _, m := range []string{
		`mutation($c: ID!) { cartApplyDiscountCode(cartId: $c, code: "tenoff") { userErrors { code } } }`,
		`mutation($c: ID!, $g: String!) { cartApplyGiftCard(cartId: $c, code: $g) { userErrors { code } } }`,
	} {
		out := admin(m, map[string]any{"c": discounted.ID, "g": giftCode})
		for _, v := range out {
			assert.Empty(t, v.(map[string]any)["userErrors"], m)
		}
	}

	const benchCart = storefrontCart
	queries := []string{
		`query($id: ID!) { cart(id: $id) { ` + benchCart + ` } }`,
		`query($id: ID!) { cart(id: $id) { id } }`,
		`query($id: ID!) { cart(id: $id) { __typename i: id ...F lines { product { ... on Product { name } name sku __typename }
			q: quantity } lines { lineTotal { amount __typename } product { description handle } } } }
			fragment F on Cart { subtotal { currencyCode amount } totalQuantity status createdAt updatedAt expiresAt }`,
		`query($id: ID!) { a: cart(id: $id) { id totalQuantity } b: cart(id: $id) { lines { quantity } } }`,
		// Handed to gqlgen: a directive, a field the plan cannot write.
		`query($id: ID!, $yes: Boolean = true) { cart(id: $id) { id lines @include(if: $yes) { quantity } } }`,
		`query($id: ID!) { cart(id: $id) { id discountTotal { amount } total { amount currencyCode }
			discounts { code applicable reason amount { amount currencyCode } }
			giftCards { lastCharacters amountUsed { amount } balanceAfter { amount currencyCode } }
			lines { discountedTotal { amount } product { images { url altText __typename } } } } }`,
		`query($id: ID!) { cart(id: $id) { id lines { product { images { url } collections { id } } } } }`,
		`query($id: ID!) { cart(id: $id) { id } missing: cart(id: "no-such-cart") { id } }`,
	}
	for _, id := range []string{cart.ID, empty.ID, discounted.ID} {
		for _, q := range queries {
			vars := map[string]any{"id": id}
			assert.Equal(t, string(rawPost(t, generic, q, vars)), string(rawPost(t, compiled, q, vars)), q)
		}
	}
	sfCart := storefrontBlocks(t, "Cart", "CartFields")
	for _, id := range []string{cart.ID, empty.ID, discounted.ID} {
		vars := map[string]any{"id": id}
		before := cartRenders(t, reg, "compiled")
		want := string(rawPost(t, generic, sfCart, vars))
		assert.Equal(t, want, string(rawPost(t, compiled, sfCart, vars)), "the storefront's Cart query")
		assert.Equal(t, before+1, cartRenders(t, reg, "compiled"), "the storefront's cart took the compiled path")
		if id == discounted.ID {
			assert.Contains(t, want, `"code":"TENOFF","applicable":true`)
			assert.Contains(t, want, `"giftCards":[{"lastCharacters":"`+giftCode[len(giftCode)-4:]+`"`)
		}
	}
	// The benchmark's shape takes it; a directive hands the cart to gqlgen.
	for _, c := range []struct {
		q, path string
	}{
		{queries[0], "compiled"},
		{queries[4], "generic"},
	} {
		before := cartRenders(t, reg, c.path)
		rawPost(t, compiled, c.q, map[string]any{"id": cart.ID})
		assert.Equal(t, before+1, cartRenders(t, reg, c.path), c.q)
	}

	// Mutations: the cart in the answer, rendered by one path, equals the
	// cart of the query right after it, rendered by the other.
	add := `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { ` + benchCart + ` }
		userErrors { code message field available } warnings { code message } } }`
	query := `query($id: ID!) { cart(id: $id) { ` + benchCart + ` } }`
	for _, c := range []struct{ mutate, read string }{{compiled, generic}, {generic, compiled}} {
		var out struct {
			Data struct {
				AddToCart struct {
					Cart json.RawMessage `json:"cart"`
				} `json:"addToCart"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(rawPost(t, c.mutate, add, map[string]any{"in": map[string]any{
			"cartId": cart.ID, "productId": third.ID, "quantity": 1,
		}}), &out))
		var read struct {
			Data struct {
				Cart json.RawMessage `json:"cart"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(rawPost(t, c.read, query, map[string]any{"id": cart.ID}), &read))
		require.NotEmpty(t, out.Data.AddToCart.Cart)
		assert.Equal(t, string(read.Data.Cart), string(out.Data.AddToCart.Cart))
	}

	// The compiled path was taken (the bench's shapes, the plain ones) and
	// handed the others back.
	assert.Positive(t, cartRenders(t, reg, "compiled"))
	assert.Positive(t, cartRenders(t, reg, "generic"))
}

// The same for product groups: the storefront's catalog grid (GroupCard),
// its product page (ProductGroupByHandle) and the benchmark's grid, by
// the compiled renderer and by gqlgen.
func TestCompiledGroupRenderIsByteIdentical(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	compiled, generic, reg := renderServers(t, store)

	desc := "Soft \"cotton\" <3 & more\n\u2028"
	alt := "Front, in \"Black\""
	coll, err := store.CreateCollection(ctx, storage.NewCollection{Title: "Summer & Sun"})
	require.NoError(t, err)
	var handles []string
	for gi, title := range []string{`Tee "Classic" é`, "Cap", "Empty group"} {
		g, err := store.CreateProductGroup(ctx, storage.NewProductGroup{Title: title, Description: &desc, Options: storage.ProductOptions{
			{Name: "Size", Values: []string{"S", "M", "L"}}, {Name: "Colour", Values: []string{"Black", "White"}},
		}, Images: []storage.NewImage{{URL: "/g1.png", AltText: &alt}, {URL: "/g2.png"}}})
		require.NoError(t, err)
		handles = append(handles, g.Handle)
		if gi == 2 {
			continue // no variants: price range 0.00 XXX
		}
		limit := 1
		for si, size := range []string{"L", "S", "M"} {
			for ci, colour := range []string{"White", "Black"} {
				np := storage.NewProduct{
					SKU: fmt.Sprintf("G%d-%s-%s", gi, size, colour), Name: title + " " + size, Currency: "USD", Stock: 5 + si,
					PriceAmount: fmt.Sprintf("%d.%02d", 10+si, 5*ci), GroupID: &g.ID,
					SelectedOptions: storage.OptionSelection{"Size": size, "Colour": colour},
				}
				if ci == 0 {
					np.Images = []storage.NewImage{{URL: "/v.png", AltText: &alt}}
					np.LimitPerCustomer = &limit
				}
				p, err := store.CreateProduct(ctx, np)
				require.NoError(t, err)
				if si == 0 && gi == 0 {
					_, err = store.AddProductsToCollection(ctx, coll.ID, []int64{p.ID})
					require.NoError(t, err)
				}
			}
		}
	}

	grid := `query($a: String) { productGroups(first: 20, after: $a) { edges { cursor node { id title handle
		priceRange { min { amount currencyCode } max { amount currencyCode } } available images { url altText }
		variants { id selectedOptions { name value } price { amount currencyCode } available } } }
		pageInfo { hasNextPage endCursor } } }`
	page := `query($h: String!) { productGroupByHandle(handle: $h) { __typename id title handle description createdAt
		options { name values } priceRange { min { amount } max { amount currencyCode } } available images { url altText }
		variants { id sku createdAt limitPerCustomer selectedOptions { value name __typename } price { amount currencyCode }
		available images { url } } } }`
	docs := []struct {
		name, q string
		vars    map[string]any
	}{
		{"the benchmark's grid", grid, nil},
		{"a product page", page, map[string]any{"h": handles[0]}},
		{"a group without variants", page, map[string]any{"h": handles[2]}},
		{"the storefront's catalog groups", storefrontBlocks(t, "CatalogGroups", "GroupCard"), map[string]any{"first": 12}},
	}
	for _, h := range handles {
		docs = append(docs, struct {
			name, q string
			vars    map[string]any
		}{"the storefront's product page", storefrontBlocks(t, "ProductGroupByHandle"), map[string]any{"handle": h}})
	}
	for _, d := range docs {
		before := renders(t, reg, "ProductGroup", "compiled")
		want := string(rawPost(t, generic, d.q, d.vars))
		assert.Equal(t, want, string(rawPost(t, compiled, d.q, d.vars)), d.name)
		assert.Greater(t, renders(t, reg, "ProductGroup", "compiled"), before, "%s took the compiled path", d.name)
	}
	// A variant's selected options follow the group's option order (Size,
	// then Colour), whatever the order the variant was created with.
	assert.Contains(t, string(rawPost(t, compiled, page, map[string]any{"h": handles[0]})),
		`"selectedOptions":[{"value":"L","name":"Size","__typename":"SelectedOption"},{"value":"White","name":"Colour","__typename":"SelectedOption"}]`)
}
