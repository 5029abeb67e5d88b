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
// answer; make bench-render).
func BenchmarkStorefrontCart(b *testing.B) {
	store, _ := storagetest.NewStore(b, storagetest.Options())
	h := newAPI(graph.HandlerConfig{Store: store}, httpapi.APIConfig{})
	for _, n := range []int{1, 100} {
		c := storagetest.MustCart(b, store)
		for i := 0; i < n; i++ {
			p := storagetest.MustProduct(b, store, fmt.Sprintf("R%d-%03d", n, i), 1000)
			if _, err := store.AddToCart(b.Context(), storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1}); err != nil {
				b.Fatal(err)
			}
		}
		body := string(gqlBody(`query($id: ID!) { cart(id: $id) { `+storefrontCart+` } }`, map[string]any{"id": c.ID}))
		b.Run(fmt.Sprintf("%d lines", n), func(b *testing.B) {
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
