package blackbox

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	QCreateProduct = `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { code } } }`
	QCreateCart    = `mutation { createCart { cart { id } userErrors { code } } }`
	QAddToCart     = `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { id } userErrors { code available } } }`
	qUpdateLine    = `mutation($in: UpdateCartLineInput!) { updateCartLine(input: $in) { cart { id } userErrors { code } } }`
	QRemoveLine    = `mutation($in: RemoveCartLineInput!) { removeCartLine(input: $in) { cart { id } userErrors { code } } }`
	qCheckout      = `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id } userErrors { code } } }`
	qCancelOrder   = `mutation($in: CancelOrderInput!) { cancelOrder(input: $in) { order { id status } userErrors { code } } }`
	qBeginCheckout = `mutation($in: BeginCheckoutInput!) { beginCheckout(input: $in) { order { id status payment { status } } userErrors { code } } }`
	qConfirmPay    = `mutation($in: ConfirmPaymentInput!) { confirmPayment(input: $in) { order { id status } userErrors { code } } }`
	QAdjustStock   = `mutation($in: AdjustStockInput!) { adjustStock(input: $in) { product { id } userErrors { code } } }`
	qCreateLoc     = `mutation($in: CreateLocationInput!) { createLocation(input: $in) { location { id } userErrors { code } } }`
	qAudit         = `query($after: ID) { inventoryAudit(first: 500, after: $after) { product { id } stock ledgerStock held cartHeld pendingHeld levelStock badLevels allocationMismatches ok } }`
	qCreateCode    = `mutation($in: CreateDiscountCodeInput!) { createDiscountCode(input: $in) { discountCode { id } userErrors { code } } }`
	qApplyCode     = `mutation($c: ID!, $code: String!) { cartApplyDiscountCode(cartId: $c, code: $code) { cart { id total { amount } } userErrors { code } } }`
	qCreateCard    = `mutation($in: CreateGiftCardInput!) { createGiftCard(input: $in) { code userErrors { code } } }`
	qApplyCard     = `mutation($c: ID!, $code: String!) { cartApplyGiftCard(cartId: $c, code: $code) { cart { id total { amount } } userErrors { code } } }`
)

// World is a catalog and a pool of carts shared by the storm's workers.
type World struct {
	SKUs     []string
	Products []string // GraphQL ids, index-aligned with skus
	// Locations are the world's locations ("" names the default one): each
	// product's stock lies in all three, and the storm's adjustStock picks
	// one at random.
	Locations []string

	// Codes are discount codes the storm applies to carts: one limited to
	// a few uses, one once per customer is not (the storm's carts are
	// guests'), one unlimited.
	Codes []string
	// GiftCards are gift card codes the storm applies to carts (many
	// carts, a few cards: they run dry).
	GiftCards []string

	mu     sync.Mutex
	carts  []string
	orders []string
	unpaid []string // orders begun with payment (confirmed or not)
}

// SetupWorld creates two locations, nProducts products with the given
// stock, split over the default location and those two (a third in each,
// the default location holding the rest), and nCarts carts through the API
// (failing t on any error).
func SetupWorld(t *testing.T, base string, nProducts, stock, nCarts int) *World {
	t.Helper()
	c := NewClient(base, true, nil)
	defer c.Close()
	w := &World{Locations: []string{""}}
	tag := fmt.Sprintf("%x", time.Now().UnixNano()&0xffffff)
	for i := range 2 {
		o, v := c.Do("createLocation", "createLocation", true, qCreateLoc, map[string]any{"in": map[string]any{
			"name": fmt.Sprintf("storm %s %d", tag, i), "priority": i + 1,
		}})
		if o.Class != ClassOK {
			t.Fatalf("createLocation: %s %s", o.Key(), o.Detail)
		}
		var l struct{ Location struct{ ID string } }
		if err := json.Unmarshal(v, &l); err != nil {
			t.Fatalf("decode location: %v", err)
		}
		w.Locations = append(w.Locations, l.Location.ID)
	}
	third := stock / 3
	for i := range nProducts {
		sku := fmt.Sprintf("F-%s-%02d", tag, i)
		o, v := c.Do("createProduct", "createProduct", true, QCreateProduct, map[string]any{"in": map[string]any{
			"sku": sku, "name": "Fault product " + sku, "priceAmount": "10.00", "currencyCode": "USD", "stock": stock - 2*third,
		}})
		if o.Class != ClassOK {
			t.Fatalf("createProduct: %s %s", o.Key(), o.Detail)
		}
		var p struct{ Product struct{ ID string } }
		if err := json.Unmarshal(v, &p); err != nil {
			t.Fatalf("decode product: %v", err)
		}
		w.SKUs = append(w.SKUs, sku)
		w.Products = append(w.Products, p.Product.ID)
		for _, loc := range w.Locations[1:] {
			if third == 0 {
				break
			}
			o, _ := c.Do("adjustStock", "adjustStock", true, QAdjustStock, map[string]any{"in": map[string]any{
				"productId": p.Product.ID, "delta": third, "reason": "storm setup", "locationId": loc,
			}})
			if o.Class != ClassOK {
				t.Fatalf("adjustStock at location %s: %s %s", loc, o.Key(), o.Detail)
			}
		}
	}
	for i, in := range []map[string]any{
		{"code": "STORM-LIMITED-" + tag, "kind": "PERCENTAGE", "value": "10", "usageLimit": 5},
		{"code": "STORM-FIXED-" + tag, "kind": "FIXED_AMOUNT", "value": "3.00", "currencyCode": "USD", "minimumSubtotalAmount": "20.00"},
	} {
		o, _ := c.Do("createDiscountCode", "createDiscountCode", true, qCreateCode, map[string]any{"in": in})
		if o.Class != ClassOK {
			t.Fatalf("createDiscountCode %d: %s %s", i, o.Key(), o.Detail)
		}
		w.Codes = append(w.Codes, in["code"].(string))
	}
	for _, value := range []string{"25.00", "60.00"} {
		o, v := c.Do("createGiftCard", "createGiftCard", true, qCreateCard, map[string]any{"in": map[string]any{
			"initialValue": value, "currencyCode": "USD",
		}})
		var g struct{ Code string }
		if o.Class != ClassOK || json.Unmarshal(v, &g) != nil || g.Code == "" {
			t.Fatalf("createGiftCard: %s %s", o.Key(), o.Detail)
		}
		w.GiftCards = append(w.GiftCards, g.Code)
	}
	for range nCarts {
		id, o := CreateCart(c)
		if id == "" {
			t.Fatalf("createCart: %s %s", o.Key(), o.Detail)
		}
		w.carts = append(w.carts, id)
	}
	return w
}

func CreateCart(c *Client) (string, Outcome) {
	o, v := c.Do("createCart", "createCart", false, QCreateCart, nil)
	if o.Class != ClassOK {
		return "", o
	}
	var p struct{ Cart struct{ ID string } }
	if err := json.Unmarshal(v, &p); err != nil {
		o.Detail = "undecodable createCart answer: " + err.Error()
		return "", o
	}
	return p.Cart.ID, o
}

// Storm runs workers that fire random mutations until halted.
type Storm struct {
	w    *World
	c    *Client
	stop chan struct{}
	wg   sync.WaitGroup
	// left, when set, is how many steps the workers have yet to take
	// between them (RunStorm).
	left *atomic.Int64
}

func (w *World) StartStorm(c *Client, workers int, seed uint64) *Storm {
	s := &Storm{w: w, c: c, stop: make(chan struct{})}
	for i := range workers {
		s.wg.Add(1)
		go s.worker(rand.New(rand.NewPCG(seed, uint64(i))))
	}
	return s
}

// RunStorm is the storm bounded by operation count rather than time: its
// workers take ops steps between them (retries and cart replacements
// included in a step), and RunStorm returns when they have.
func (w *World) RunStorm(c *Client, workers int, seed uint64, ops int) {
	s := &Storm{w: w, c: c, stop: make(chan struct{}), left: &atomic.Int64{}}
	s.left.Store(int64(ops))
	for i := range workers {
		s.wg.Add(1)
		go s.worker(rand.New(rand.NewPCG(seed, uint64(i))))
	}
	s.wg.Wait()
}

// Halt stops the workers and waits for their in-flight requests.
func (s *Storm) Halt() {
	close(s.stop)
	s.wg.Wait()
}

func (s *Storm) worker(rng *rand.Rand) {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		default:
		}
		if s.left != nil && s.left.Add(-1) < 0 {
			return
		}
		o := s.step(rng)
		switch o.Class {
		case ClassOK, ClassUserError:
		case ClassTransport:
			time.Sleep(20 * time.Millisecond) // server down: don't spin
		default:
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (s *Storm) cart(rng *rand.Rand) (int, string) {
	s.w.mu.Lock()
	defer s.w.mu.Unlock()
	i := rng.IntN(len(s.w.carts))
	return i, s.w.carts[i]
}

// replaceCart swaps a finished (checked out, expired) cart for a new one.
func (s *Storm) replaceCart(i int, old string) {
	id, _ := CreateCart(s.c)
	if id == "" {
		return
	}
	s.w.mu.Lock()
	if s.w.carts[i] == old {
		s.w.carts[i] = id
	}
	s.w.mu.Unlock()
}

func (s *Storm) step(rng *rand.Rand) Outcome {
	w := s.w
	ci, cart := s.cart(rng)
	product := w.Products[rng.IntN(len(w.Products))]
	var o Outcome
	var v json.RawMessage
	switch p := rng.IntN(100); {
	case p < 35:
		in := map[string]any{
			"cartId": cart, "productId": product, "quantity": 1 + rng.IntN(3),
			"allowPartial": rng.IntN(2) == 0, "idempotencyKey": fmt.Sprintf("k-%016x", rng.Uint64()),
		}
		o, _ = s.c.Do("addToCart", "addToCart", false, QAddToCart, map[string]any{"in": in})
		if o.Class == ClassTransport && o.Code != "refused" || o.Class == ClassGQLError {
			// The request may or may not have taken effect: retrying with
			// the same key must not reserve twice.
			time.Sleep(50 * time.Millisecond)
			o, _ = s.c.Do("addToCart(retry)", "addToCart", false, QAddToCart, map[string]any{"in": in})
		}
	case p < 50:
		o, _ = s.c.Do("updateCartLine", "updateCartLine", false, qUpdateLine, map[string]any{"in": map[string]any{
			"cartId": cart, "productId": product, "quantity": rng.IntN(5),
		}})
	case p < 52 && len(w.GiftCards) > 0:
		o, _ = s.c.Do("cartApplyGiftCard", "cartApplyGiftCard", false, qApplyCard, map[string]any{
			"c": cart, "code": w.GiftCards[rng.IntN(len(w.GiftCards))],
		})
	case p < 54 && len(w.Codes) > 0:
		// Apply a discount code (the limited one runs out; applying
		// another replaces the cart's).
		o, _ = s.c.Do("cartApplyDiscountCode", "cartApplyDiscountCode", false, qApplyCode, map[string]any{
			"c": cart, "code": w.Codes[rng.IntN(len(w.Codes))],
		})
	case p < 60:
		o, _ = s.c.Do("removeCartLine", "removeCartLine", false, QRemoveLine, map[string]any{"in": map[string]any{
			"cartId": cart, "productId": product,
		}})
	case p < 75:
		// Plain checkout, or checkout with payment (the manual provider;
		// PAYMENT_TTL is short, so some expire before they are confirmed).
		op, q := "checkout", qCheckout
		if p >= 68 {
			op, q = "beginCheckout", qBeginCheckout
		}
		o, v = s.c.Do(op, op, false, q, map[string]any{"in": map[string]any{
			"cartId": cart, "email": "a@example.com",
		}})
		if o.Class == ClassOK {
			var p struct{ Order struct{ ID string } }
			if json.Unmarshal(v, &p) == nil && p.Order.ID != "" { // an undecodable answer is counted by do
				w.mu.Lock()
				w.orders = append(w.orders, p.Order.ID)
				if op == "beginCheckout" {
					w.unpaid = append(w.unpaid, p.Order.ID)
				}
				w.mu.Unlock()
			}
			s.replaceCart(ci, cart)
		}
	case p < 82:
		delta := rng.IntN(9) - 3
		if delta == 0 {
			delta = 1
		}
		in := map[string]any{"productId": product, "delta": delta, "reason": "fault storm"}
		if n := len(w.Locations); n > 0 {
			if loc := w.Locations[rng.IntN(n)]; loc != "" {
				in["locationId"] = loc
			}
		}
		o, _ = s.c.Do("adjustStock", "adjustStock", true, QAdjustStock, map[string]any{"in": in})
	case p < 91:
		// Confirm a payment: on time, late (after the reaper expired it),
		// again, or under another reference; retried after a transport
		// failure, which must not sell twice.
		w.mu.Lock()
		order := ""
		if n := len(w.unpaid); n > 0 {
			order = w.unpaid[rng.IntN(n)]
		}
		w.mu.Unlock()
		if order == "" {
			return s.step(rng)
		}
		// Each order its own references: a reference confirms one order.
		in := map[string]any{"orderId": order, "reference": fmt.Sprintf("ref-%s-%d", order[:8], rng.IntN(2))}
		o, _ = s.c.Do("confirmPayment", "confirmPayment", true, qConfirmPay, map[string]any{"in": in})
		if o.Class == ClassTransport && o.Code != "refused" || o.Class == ClassGQLError {
			time.Sleep(50 * time.Millisecond)
			o, _ = s.c.Do("confirmPayment(retry)", "confirmPayment", true, qConfirmPay, map[string]any{"in": in})
		}
	default:
		w.mu.Lock()
		order := ""
		if n := len(w.orders); n > 0 {
			order = w.orders[rng.IntN(n)]
		}
		w.mu.Unlock()
		if order == "" {
			return s.step(rng)
		}
		o, _ = s.c.Do("cancelOrder", "cancelOrder", true, qCancelOrder, map[string]any{"in": map[string]any{"orderId": order}})
	}
	if o.Class == ClassUserError {
		switch o.Code {
		case "CART_EXPIRED", "CART_CHECKED_OUT", "CART_NOT_FOUND":
			s.replaceCart(ci, cart)
		}
	}
	return o
}
