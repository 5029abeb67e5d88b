package graph_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// BenchmarkStorefrontCart renders the cart a storefront shows, of 1 and of
// 100 lines, through the whole handler chain (CPU and allocations per
// answer; make bench-render): the benchmark's storefront selection and the
// example storefront's own (CartFields, with discounts, gift cards and
// images), each by the compiled renderer and by gqlgen's field execution
// (GenericRender).
func BenchmarkStorefrontCart(b *testing.B) {
	store, _ := storagetest.NewStore(b, storagetest.Options())
	handlers := map[string]http.Handler{
		"compiled": newAPI(graph.HandlerConfig{Store: store}, httpapi.APIConfig{}),
		"generic":  newAPI(graph.HandlerConfig{Store: store, GenericRender: true}, httpapi.APIConfig{}),
	}
	docs := map[string]string{
		"bench":      `query($id: ID!) { cart(id: $id) { ` + storefrontCart + ` } }`,
		"storefront": storefrontBlocks(b, "Cart", "CartFields"),
	}
	for _, n := range []int{1, 100} {
		c := storagetest.MustCart(b, store)
		for i := 0; i < n; i++ {
			p := storagetest.MustProduct(b, store, fmt.Sprintf("R%d-%03d", n, i), 1000)
			if _, err := store.AddToCart(b.Context(), storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1}); err != nil {
				b.Fatal(err)
			}
		}
		for _, doc := range []string{"bench", "storefront"} {
			body := string(gqlBody(docs[doc], map[string]any{"id": c.ID}))
			for _, path := range []string{"compiled", "generic"} {
				h := handlers[path]
				b.Run(fmt.Sprintf("%d lines/%s/%s", n, doc, path), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						rec := benchPost(h, body)
						if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"totalQuantity":`+fmt.Sprint(n)) {
							b.Fatalf("%d %s", rec.Code, rec.Body.String())
						}
					}
				})
			}
		}
	}
}

// BenchmarkCatalogGrid renders what a storefront's catalog and product
// pages read: a page of 20 product groups of 12 variants each (every
// variant's id, options, price and availability) and one group's page,
// by the compiled renderer and by gqlgen's field execution.
func BenchmarkCatalogGrid(b *testing.B) {
	store, _ := storagetest.NewStore(b, storagetest.Options())
	handlers := map[string]http.Handler{
		"compiled": newAPI(graph.HandlerConfig{Store: store}, httpapi.APIConfig{}),
		"generic":  newAPI(graph.HandlerConfig{Store: store, GenericRender: true}, httpapi.APIConfig{}),
	}
	var handle string
	for i := range 20 {
		g, err := store.CreateProductGroup(b.Context(), storage.NewProductGroup{Title: fmt.Sprintf("Grid tee %02d", i), Options: storage.ProductOptions{
			{Name: "Colour", Values: []string{"Black", "White", "Red"}}, {Name: "Size", Values: []string{"S", "M", "L", "XL"}},
		}, Images: []storage.NewImage{{URL: "/g1.png"}, {URL: "/g2.png"}}})
		if err != nil {
			b.Fatal(err)
		}
		handle = g.Handle
		for _, c := range []string{"Black", "White", "Red"} {
			for si, sz := range []string{"S", "M", "L", "XL"} {
				if _, err := store.CreateProduct(b.Context(), storage.NewProduct{
					SKU: fmt.Sprintf("GRID-%02d-%s-%s", i, c, sz), Name: "Grid tee " + sz, PriceAmount: fmt.Sprintf("%d.00", 20+si),
					Currency: "USD", Stock: 100, GroupID: &g.ID, SelectedOptions: storage.OptionSelection{"Colour": c, "Size": sz},
				}); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	docs := map[string]string{
		"grid": string(gqlBody(`{ productGroups(first: 20) { edges { node { id title handle
			priceRange { min { amount currencyCode } max { amount currencyCode } } available images { url altText }
			variants { id selectedOptions { name value } price { amount currencyCode } available } } }
			pageInfo { hasNextPage endCursor } } }`, nil)),
		"page": string(gqlBody(`query($h: String!) { productGroupByHandle(handle: $h) { id title handle description
			options { name values } priceRange { min { amount currencyCode } max { amount currencyCode } } available
			images { url altText } variants { id sku selectedOptions { name value } price { amount currencyCode } available } } }`,
			map[string]any{"h": handle})),
	}
	for _, doc := range []string{"grid", "page"} {
		for _, path := range []string{"compiled", "generic"} {
			h, body := handlers[path], docs[doc]
			b.Run(doc+"/"+path, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rec := benchPost(h, body)
					if rec.Code != 200 || strings.Contains(rec.Body.String(), `"errors"`) || !strings.Contains(rec.Body.String(), `"selectedOptions":[{`) {
						b.Fatalf("%d %s", rec.Code, rec.Body.String())
					}
				}
			})
		}
	}
}

// benchPost sends one GraphQL request through h.
func benchPost(h http.Handler, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return rec
}
