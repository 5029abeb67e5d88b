//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// gqlAs posts one operation to base with a bearer token ("" for none) and
// returns the data's field.
func gqlAs(t *testing.T, base, token, field, query string, vars map[string]any) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("%s: %v", field, err)
		return nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Data   map[string]map[string]any `json:"data"`
		Errors []map[string]any          `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) > 0 {
		t.Errorf("%s: %s", field, raw)
		return nil
	}
	return out.Data[field]
}

func firstCode(v map[string]any) string {
	ue, _ := v["userErrors"].([]any)
	if len(ue) == 0 {
		return ""
	}
	c, _ := ue[0].(map[string]any)["code"].(string)
	return c
}

// TestCustomerLimitTwoProcesses: one customer, signed in on two server
// processes, with carts on both; 50 concurrent adds of 1 of a product
// limited to 2 per customer, spread over the carts and the processes:
// exactly 2 are held. The same after checkout (the units stay counted) and
// after a cancellation (one comes back). The books, the per-customer
// counters included, are exact.
func TestCustomerLimitTwoProcesses(t *testing.T) {
	t.Parallel()
	dbURL := createDB(t)
	a, b := newServer(t, dbURL), newServer(t, dbURL)
	// The carts must outlive the races on a loaded machine: this test is
	// about the limit, not about expiry (the reaper's path has its own).
	for _, s := range []*server{a, b} {
		s.env = append(s.env, "HOLD_TTL=10m")
	}
	a.start()
	b.start()
	bases := []string{a.base(), b.base()}

	p := gqlAs(t, a.base(), adminToken, "createProduct", `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"sku": "ONE-PER", "name": "Limited drop", "priceAmount": "120.00", "currencyCode": "USD", "stock": 100, "limitPerCustomer": 2}})
	pid := p["product"].(map[string]any)["id"].(string)
	gqlAs(t, a.base(), "", "customerCreate", `mutation($in: CustomerCreateInput!) { customerCreate(input: $in) { customer { id } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"email": "drop@example.com", "password": "correct horse battery"}})
	tokens := make([]string, 2)
	for i, base := range bases {
		v := gqlAs(t, base, "", "customerAccessTokenCreate", `mutation($in: CustomerAccessTokenCreateInput!) { customerAccessTokenCreate(input: $in) { customerAccessToken { accessToken } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"email": "drop@example.com", "password": "correct horse battery"}})
		tokens[i] = v["customerAccessToken"].(map[string]any)["accessToken"].(string)
	}
	type device struct{ base, token, cart string }
	newDevices := func() []device {
		var ds []device
		for i, base := range bases {
			for range 2 {
				v := gqlAs(t, base, tokens[i], "createCart", `mutation { createCart { cart { id } } }`, nil)
				ds = append(ds, device{base, tokens[i], v["cart"].(map[string]any)["id"].(string)})
			}
		}
		return ds
	}
	race := func(ds []device) (granted int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range 50 {
			d := ds[i%len(ds)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				v := gqlAs(t, d.base, d.token, "addToCart", `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { id } userErrors { code available } } }`,
					map[string]any{"in": map[string]any{"cartId": d.cart, "productId": pid, "quantity": 1, "allowPartial": i%4 == 0}})
				if v == nil {
					return // gqlAs reported the failure; nothing was granted that we know of
				}
				switch c := firstCode(v); c {
				case "":
					mu.Lock()
					granted++
					mu.Unlock()
				case "PER_CUSTOMER_LIMIT":
				default:
					t.Errorf("addToCart: %s", c)
				}
			}()
		}
		wg.Wait()
		return granted
	}
	devices := newDevices()
	if n := race(devices); n != 2 {
		t.Errorf("first race: %d units held, want 2", n)
	}
	checkCustomerBooks(t, dbURL)

	// Check out every device's cart: the units stay counted.
	var orders []string
	for _, d := range devices {
		v := gqlAs(t, d.base, d.token, "checkout", `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id } userErrors { code } } }`,
			map[string]any{"in": map[string]any{"cartId": d.cart}})
		if firstCode(v) == "" {
			orders = append(orders, v["order"].(map[string]any)["id"].(string))
		}
	}
	if n := race(newDevices()); n != 0 {
		t.Errorf("after checkout: %d more units held, want 0", n)
	}
	// Cancel one order: its units come back to the customer's allowance.
	if len(orders) == 0 {
		t.Fatal("no order was placed")
	}
	v := gqlAs(t, a.base(), adminToken, "cancelOrder", `mutation($in: CancelOrderInput!) { cancelOrder(input: $in) { order { id lines { quantity } } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"orderId": orders[0]}})
	back := 0
	for _, l := range v["order"].(map[string]any)["lines"].([]any) {
		back += int(l.(map[string]any)["quantity"].(float64))
	}
	if n := race(newDevices()); n != back {
		t.Errorf("after cancelling an order of %d: %d units held, want %d", back, n, back)
	}
	checkCustomerBooks(t, dbURL)
	checkAuditAPI(t, a.base(), 1)
	shutdownClean(t, a)
	shutdownClean(t, b)
}

// checkCustomerBooks checks the per-customer counters (checkInvariants
// compares them with the carts and orders) and that none passed its limit.
func checkCustomerBooks(t *testing.T, dbURL string) {
	t.Helper()
	checkInvariants(t, dbURL)
	db := openDB(t, dbURL)
	defer db.Close()
	var over int
	if err := db.QueryRow(`SELECT count(*) FROM customer_product_limits u JOIN products p ON p.id = u.product_id WHERE u.used > p.limit_per_customer`).Scan(&over); err != nil {
		t.Fatal(err)
	}
	if over > 0 {
		t.Errorf("%d per-customer counters exceed their product's limit", over)
	}
}
