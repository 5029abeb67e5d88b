package graph_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

// A cart holds a USD product; adding a second product races an admin
// changing that product's currency. Whatever the interleaving, exactly one
// of the two wins, the other is refused with CURRENCY_MISMATCH, and the
// cart never holds two currencies (issue 9).
func TestCurrencyChangeRacesCartLine(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const rounds = 60
	for i := 0; i < rounds; i++ {
		a := storagetest.MustProduct(t, e.store, fmt.Sprintf("CUR-A-%d", i), 10)
		b := storagetest.MustProduct(t, e.store, fmt.Sprintf("CUR-B-%d", i), 10)
		c := e.createCart(t)
		require.Empty(t, e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(a), "quantity": 1}).UserErrors)

		// Every path that adds units to a line: updateCartLine (plain and
		// keyed) and addToCart.
		line := map[string]any{"cartId": c, "productId": pid(b), "quantity": 1}
		op := "updateCartLine"
		switch i % 3 {
		case 1:
			line["idempotencyKey"] = fmt.Sprintf("cur-%d", i)
		case 2:
			op = "addToCart"
		}
		var lineRes, prodRes mutationResult
		race(2, func(j int) {
			var r gqlResponse
			if j == 0 {
				lineRes, r = mutate(t, e.srv.URL, op, line)
			} else {
				prodRes, r = mutate(t, e.srv.URL, "updateProduct", map[string]any{"productId": pid(b), "currencyCode": "EUR"})
			}
			assert.Empty(t, r.Errors, "round %d: GraphQL errors", i)
		})
		lineOK, prodOK := codeOf(lineRes) == "", codeOf(prodRes) == ""
		assert.NotEqual(t, lineOK, prodOK, "round %d: exactly one wins (%s: %q, updateProduct: %q)", i, op, codeOf(lineRes), codeOf(prodRes))
		if !lineOK {
			assert.Equal(t, "CURRENCY_MISMATCH", codeOf(lineRes), "round %d", i)
		}
		if !prodOK {
			assert.Equal(t, "CURRENCY_MISMATCH", codeOf(prodRes), "round %d", i)
		}

		var currencies []string
		require.NoError(t, e.store.DB().Select(&currencies, `
			SELECT DISTINCT p.currency
			FROM cart_lines cl
			JOIN products p ON p.id = cl.product_id
			WHERE cl.cart_id = $1`, c))
		assert.Len(t, currencies, 1, "round %d: the cart holds one currency", i)
		var q struct {
			Cart cart `json:"cart"`
		}
		decode(t, e.gql(t, "", `query($id: ID!) { cart(id: $id) { `+cartFields+` } }`, map[string]any{"id": c}), &q)
		want := 2
		if !lineOK {
			want = 1
		}
		assert.Equal(t, want, q.Cart.TotalQuantity, "round %d", i)
		assert.Equal(t, "USD", q.Cart.Subtotal.CurrencyCode, "round %d", i)
	}
	storagetest.AssertBooks(t, e.store)
}
