//go:build faults

package faults

import (
	"fmt"
	"sync"
	"testing"
)

// TestLocationsTwoProcesses: a product's 10 units lie 3/3/4 in three
// locations; 200 shoppers, spread over two server processes (one
// allocating by priority, the other by most_stock), each add 1 unit and
// check out at once. Exactly 10 are sold, every level ends at 0, each
// location gave exactly what it held, and the books (SQL and
// inventoryAudit) are exact.
func TestLocationsTwoProcesses(t *testing.T) {
	t.Parallel()
	dbURL := createDB(t)
	a, b := newServer(t, dbURL), newServer(t, dbURL)
	// Holds outlive the race: every unit reserved is checked out.
	a.env = []string{"HOLD_TTL=60s", "ALLOCATION_STRATEGY=priority", "RATE_LIMIT_CART=-1"}
	b.env = []string{"HOLD_TTL=60s", "ALLOCATION_STRATEGY=most_stock", "RATE_LIMIT_CART=-1"}
	a.start()
	b.start()
	bases := []string{a.base(), b.base()}

	p := gqlAs(t, a.base(), adminToken, "createProduct", `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"sku": "SPLIT-10", "name": "Split drop", "priceAmount": "20.00", "currencyCode": "USD", "stock": 0}})
	pid := p["product"].(map[string]any)["id"].(string)
	held := map[string]int{}
	for i, n := range []int{3, 3, 4} {
		l := gqlAs(t, a.base(), adminToken, "createLocation", `mutation($in: CreateLocationInput!) { createLocation(input: $in) { location { id } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"name": fmt.Sprintf("depot %d", i+1), "priority": i + 1}})
		lid := l["location"].(map[string]any)["id"].(string)
		held[lid] = n
		s := gqlAs(t, a.base(), adminToken, "setStock", `mutation($in: SetStockInput!) { setStock(input: $in) { products { stock } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"items": []map[string]any{{"productId": pid, "stock": n, "locationId": lid}}}})
		if c := firstCode(s); c != "" {
			t.Fatalf("setStock at %s: %s", lid, c)
		}
	}

	var mu sync.Mutex
	var orders []string
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 200 {
		base := bases[i%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c := gqlAs(t, base, "", "createCart", `mutation { createCart { cart { id } } }`, nil)
			if c == nil {
				return
			}
			cart := c["cart"].(map[string]any)["id"].(string)
			v := gqlAs(t, base, "", "addToCart", `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { id } userErrors { code } } }`,
				map[string]any{"in": map[string]any{"cartId": cart, "productId": pid, "quantity": 1}})
			switch code := firstCode(v); code {
			case "":
			case "INSUFFICIENT_STOCK":
				return
			default:
				t.Errorf("addToCart: %s", code)
				return
			}
			o := gqlAs(t, base, "", "checkout", `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id } userErrors { code } } }`,
				map[string]any{"in": map[string]any{"cartId": cart, "email": "shopper@example.com"}})
			if code := firstCode(o); code != "" {
				t.Errorf("checkout: %s", code)
				return
			}
			mu.Lock()
			orders = append(orders, o["order"].(map[string]any)["id"].(string))
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	if len(orders) != 10 {
		t.Errorf("%d orders placed, want 10", len(orders))
	}

	levels := gqlAs(t, a.base(), adminToken, "product", `query($id: ID!) { product(id: $id) { stock inventoryLevels { location { id } stock } } }`,
		map[string]any{"id": pid})
	if s := levels["stock"].(float64); s != 0 {
		t.Errorf("stock %v after the race, want 0", s)
	}
	for _, l := range levels["inventoryLevels"].([]any) {
		lv := l.(map[string]any)
		if s := lv["stock"].(float64); s != 0 {
			t.Errorf("location %v: level %v after the race, want 0", lv["location"], s)
		}
	}
	db := openDB(t, dbURL)
	defer db.Close()
	rows, err := db.Query(`SELECT location_id::text, sum(quantity)::integer FROM order_line_allocations GROUP BY location_id`)
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]int{}
	for rows.Next() {
		var lid string
		var n int
		if err := rows.Scan(&lid, &n); err != nil {
			t.Fatal(err)
		}
		taken[lid] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for lid, n := range held {
		if taken[lid] != n {
			t.Errorf("location %s gave %d units, held %d", lid, taken[lid], n)
		}
	}
	checkInvariants(t, dbURL)
	checkAuditAPI(t, a.base(), 1)
	shutdownClean(t, a)
	shutdownClean(t, b)
}
