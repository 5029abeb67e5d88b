//go:build faults

package faults

import (
	"sync"
	"testing"
)

// TestDiscountsAndGiftCardsTwoProcesses: two server processes on one
// database. 60 carts, half on each, apply a code limited to 10 at once:
// exactly 10 get it; they check out at once on both processes: 10 uses
// consumed, none held. Then one gift card of 50.00 on 10 carts of 20.00
// checking out at once on both processes, half with checkout and half with
// beginCheckout: exactly 50.00 taken, never below 0. The books (stock,
// uses, balances, payments against totals) are exact.
func TestDiscountsAndGiftCardsTwoProcesses(t *testing.T) {
	t.Parallel()
	dbURL := createDB(t)
	a, b := newServer(t, dbURL), newServer(t, dbURL)
	a.env = []string{"HOLD_TTL=120s", "PAYMENT_TTL=120s"}
	b.env = a.env
	a.start()
	b.start()
	bases := []string{a.base(), b.base()}

	p := gqlAs(t, a.base(), adminToken, "createProduct", `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"sku": "DISC-1", "name": "Mug", "priceAmount": "20.00", "currencyCode": "USD", "stock": 1000}})
	pid := p["product"].(map[string]any)["id"].(string)
	gqlAs(t, a.base(), adminToken, "createDiscountCode", `mutation($in: CreateDiscountCodeInput!) { createDiscountCode(input: $in) { discountCode { id } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"code": "First10", "kind": "PERCENTAGE", "value": "25", "usageLimit": 10}})

	newCart := func(base string) string {
		v := gqlAs(t, base, "", "createCart", `mutation { createCart { cart { id } } }`, nil)
		id := v["cart"].(map[string]any)["id"].(string)
		v = gqlAs(t, base, "", "addToCart", `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { id } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"cartId": id, "productId": pid, "quantity": 1}})
		if c := firstCode(v); c != "" {
			t.Fatalf("addToCart: %s", c)
		}
		return id
	}
	together := func(n int, fn func(i int)) {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				fn(i)
			}()
		}
		close(start)
		wg.Wait()
	}

	carts := make([]string, 60)
	for i := range carts {
		carts[i] = newCart(bases[i%2])
	}
	var mu sync.Mutex
	var won []int
	together(len(carts), func(i int) {
		v := gqlAs(t, bases[i%2], "", "cartApplyDiscountCode", `mutation($c: ID!, $code: String!) { cartApplyDiscountCode(cartId: $c, code: $code) { cart { id } userErrors { code } } }`,
			map[string]any{"c": carts[i], "code": "FIRST10"})
		switch c := firstCode(v); c {
		case "":
			mu.Lock()
			won = append(won, i)
			mu.Unlock()
		case "DISCOUNT_CODE_EXHAUSTED":
		default:
			t.Errorf("cartApplyDiscountCode: %s", c)
		}
	})
	if len(won) != 10 {
		t.Errorf("%d carts got the code, want 10", len(won))
	}
	together(len(won), func(k int) {
		i := won[k]
		v := gqlAs(t, bases[(i+1)%2], "", "checkout", `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id total { amount } } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"cartId": carts[i], "email": "ada@example.com"}})
		if c := firstCode(v); c != "" {
			t.Errorf("checkout: %s", c)
		} else if total := v["order"].(map[string]any)["total"].(map[string]any)["amount"]; total != "15.00" {
			t.Errorf("order total %v, want 15.00", total)
		}
	})
	db := openDB(t, dbURL)
	defer db.Close()
	var held, count int
	if err := db.QueryRow(`SELECT uses_held, uses_count FROM discount_codes WHERE code = 'First10'`).Scan(&held, &count); err != nil {
		t.Fatal(err)
	}
	if held != 0 || count != len(won) {
		t.Errorf("code: %d held, %d consumed; want 0, %d", held, count, len(won))
	}
	checkInvariants(t, dbURL)

	g := gqlAs(t, a.base(), adminToken, "createGiftCard", `mutation($in: CreateGiftCardInput!) { createGiftCard(input: $in) { code userErrors { code } } }`,
		map[string]any{"in": map[string]any{"initialValue": "50.00", "currencyCode": "USD"}})
	code, _ := g["code"].(string)
	cards := make([]string, 10)
	for i := range cards {
		cards[i] = newCart(bases[i%2])
		if c := firstCode(gqlAs(t, bases[i%2], "", "cartApplyGiftCard", `mutation($c: ID!, $code: String!) { cartApplyGiftCard(cartId: $c, code: $code) { cart { id } userErrors { code } } }`,
			map[string]any{"c": cards[i], "code": code})); c != "" {
			t.Fatalf("cartApplyGiftCard: %s", c)
		}
	}
	together(len(cards), func(i int) {
		op, q := "checkout", `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id } userErrors { code } } }`
		if i%4 >= 2 {
			op, q = "beginCheckout", `mutation($in: BeginCheckoutInput!) { beginCheckout(input: $in) { order { id } userErrors { code } } }`
		}
		if c := firstCode(gqlAs(t, bases[(i+1)%2], "", op, q, map[string]any{"in": map[string]any{"cartId": cards[i], "email": "ada@example.com"}})); c != "" {
			t.Errorf("%s: %s", op, c)
		}
	})
	var balance, heldCents, taken int64
	if err := db.QueryRow(`SELECT balance_cents, held_cents, (SELECT COALESCE(sum(amount_cents), 0) FROM order_gift_cards WHERE state IN ('held', 'captured'))
		FROM gift_cards`).Scan(&balance, &heldCents, &taken); err != nil {
		t.Fatal(err)
	}
	if taken != 5000 || balance-heldCents != 0 || balance < 0 {
		t.Errorf("gift card: balance %d, held %d, taken %d; want 5000 taken and nothing left", balance, heldCents, taken)
	}
	checkInvariants(t, dbURL)
	shutdownClean(t, a)
	shutdownClean(t, b)
}
