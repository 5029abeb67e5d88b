package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

// TestEmailIsAPlainAddress: checkout's and beginCheckout's email must be
// local@host.name. An IP literal (a@[127.0.0.1]), a bare address, a quoted
// local part and other odd forms are INVALID_INPUT on input.email and
// change nothing; ordinary and internationalised addresses are accepted.
func TestEmailIsAPlainAddress(t *testing.T) {
	t.Parallel()
	e := paying(t, time.Hour)
	p := storagetest.MustProduct(t, e.store, "MAIL-1", 10)
	bad := []string{
		"a@[127.0.0.1]", "a@[IPv6:::1]", "a@127.0.0.1", "a@1.2.3.4", `"a b"@example.com`, `"a"@example.com`,
		"a@-example.com", "a@example-.com", "a@ex_ample.com", "a@example", "a@.example.com",
		"a(comment)@example.com", "a@\u200bexample.com",
	}
	for _, mutation := range []string{"checkout", "beginCheckout"} {
		t.Run(mutation, func(t *testing.T) {
			c := e.createCart(t)
			e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 1})
			before := storagetest.Snapshot(t, e.store.DB())
			for _, email := range bad {
				m := e.mustMutate(t, mutation, map[string]any{"cartId": c, "email": email})
				require.Len(t, m.UserErrors, 1, email)
				assert.Equal(t, "INVALID_INPUT", m.UserErrors[0].Code, email)
				assert.Equal(t, []string{"input", "email"}, m.UserErrors[0].Field, email)
				assert.Nil(t, m.Order, email)
			}
			assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()))
		})
	}
	for _, email := range []string{"ada+shop@mail.example.co.uk", "ada.lovelace@bücher.de", "o'brien@example.com"} {
		c := e.createCart(t)
		e.mustMutate(t, "addToCart", map[string]any{"cartId": c, "productId": pid(p), "quantity": 1})
		m := e.mustMutate(t, "beginCheckout", map[string]any{"cartId": c, "email": email})
		require.Empty(t, m.UserErrors, email)
		assert.Equal(t, email, m.Order.Email)
	}
}
