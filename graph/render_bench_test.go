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
						rec := httptest.NewRecorder()
						req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
						h.ServeHTTP(rec, req)
						if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"totalQuantity":`+fmt.Sprint(n)) {
							b.Fatalf("%d %s", rec.Code, rec.Body.String())
						}
					}
				})
			}
		}
	}
}
