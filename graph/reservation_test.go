package graph_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// race runs fn(i) for i in [0, n) on n goroutines released together.
func race(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
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

func TestFlashSale(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "DROP", 10)
	const shoppers = 200
	carts := make([]string, shoppers)
	for i := range carts {
		carts[i] = storagetest.MustCart(t, e.store).ID
	}

	var ok, refused atomic.Int64
	race(shoppers, func(i int) {
		payload, r := addToCart(t, e.srv.URL, carts[i], pid(p), 1)
		switch {
		case len(r.Errors) > 0:
			t.Errorf("GraphQL error: %+v", r.Errors)
		case len(payload.UserErrors) == 0:
			ok.Add(1)
		case payload.UserErrors[0].Code == "INSUFFICIENT_STOCK":
			refused.Add(1)
			assert.NotNil(t, payload.UserErrors[0].Available)
		default:
			t.Errorf("unexpected userError %+v", payload.UserErrors[0])
		}
	})
	assert.EqualValues(t, 10, ok.Load(), "exactly the stock is sold")
	assert.EqualValues(t, 190, refused.Load())

	books := storagetest.AssertBooks(t, e.store)
	require.Len(t, books, 1)
	assert.Equal(t, 10, books[0].Held)
	assert.Equal(t, 10, books[0].CartHeld)
	got, err := e.store.ProductByID(context.Background(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, got.Available())
}

func TestDoubleClick(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "TEN", 10)
	cartID := e.createCart(t)

	results := make([]cartPayload, 2)
	race(2, func(i int) { results[i], _ = addToCart(t, e.srv.URL, cartID, pid(p), 6) })

	var won, lost int
	for _, r := range results {
		if len(r.UserErrors) == 0 {
			won++
			continue
		}
		lost++
		assert.Equal(t, "INSUFFICIENT_STOCK", r.UserErrors[0].Code)
		if assert.NotNil(t, r.UserErrors[0].Available) {
			assert.Equal(t, 4, *r.UserErrors[0].Available)
		}
		// A failed addToCart returns the cart unchanged.
		require.NotNil(t, r.Cart)
		assert.Equal(t, cartID, r.Cart.ID)
	}
	assert.Equal(t, 1, won)
	assert.Equal(t, 1, lost)

	var out struct {
		Cart cart `json:"cart"`
	}
	decode(t, e.gql(t, "", `query($id: ID!) { cart(id: $id) { `+cartFields+` } }`, map[string]any{"id": cartID}), &out)
	require.Len(t, out.Cart.Lines, 1)
	assert.Equal(t, 6, out.Cart.Lines[0].Quantity)
	assert.Equal(t, "60.00", out.Cart.Subtotal.Amount)
	assert.Equal(t, 4, out.Cart.Lines[0].Product.Available)
	storagetest.AssertBooks(t, e.store)
}

// Two server instances (separate pools, separate handlers, as two processes
// would have) share one database: PostgreSQL alone arbitrates.
func TestTwoInstancesNoOversell(t *testing.T) {
	t.Parallel()
	e := setup(t)
	other := newServer(t, storagetest.OpenStore(t, e.dbURL, storagetest.Options()))
	urls := []string{e.srv.URL, other.URL}
	p := storagetest.MustProduct(t, e.store, "SHARED", 25)

	const shoppers = 120
	carts := make([]string, shoppers)
	for i := range carts {
		carts[i] = storagetest.MustCart(t, e.store).ID
	}
	var units atomic.Int64
	race(shoppers, func(i int) {
		qty := 1 + i%3
		payload, r := addToCart(t, urls[i%2], carts[i], pid(p), qty)
		if len(r.Errors) > 0 {
			t.Errorf("GraphQL error: %+v", r.Errors)
			return
		}
		if len(payload.UserErrors) == 0 {
			units.Add(int64(qty))
		} else {
			assert.Equal(t, "INSUFFICIENT_STOCK", payload.UserErrors[0].Code)
		}
	})
	books := storagetest.AssertBooks(t, e.store)
	assert.EqualValues(t, units.Load(), books[0].Held, "held equals the units granted")
	assert.LessOrEqual(t, books[0].Held, 25)
	// 120 requests for up to 3 units each must exhaust 25 units to within a
	// request's worth.
	assert.GreaterOrEqual(t, books[0].Held, 23)
}

// A cart of 50 lines costs the same number of queries as a cart of 1: the
// lines and their products are each loaded in one batch.
func TestCartQueryCountIsConstant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	small, big := e.createCart(t), e.createCart(t)
	for i := 0; i < 50; i++ {
		p := storagetest.MustProduct(t, e.store, "SKU-"+string(rune('A'+i%26))+string(rune('a'+i/26)), 5)
		if i == 0 {
			_, r := addToCart(t, e.srv.URL, small, pid(p), 1)
			require.Empty(t, r.Errors)
		}
		_, r := addToCart(t, e.srv.URL, big, pid(p), 1)
		require.Empty(t, r.Errors)
	}
	_ = ctx
	cost := func(id string) (int64, cart) {
		before := e.store.QueryCount()
		var out struct {
			Cart cart `json:"cart"`
		}
		decode(t, e.gql(t, "", `query($id: ID!) { cart(id: $id) { id totalQuantity subtotal { amount }
			lines { quantity lineTotal { amount } product { id sku name available price { amount } } } } }`,
			map[string]any{"id": id}), &out)
		return e.store.QueryCount() - before, out.Cart
	}
	smallCost, smallCart := cost(small)
	bigCost, bigCart := cost(big)
	require.Len(t, smallCart.Lines, 1)
	require.Len(t, bigCart.Lines, 50)
	assert.Equal(t, 50, bigCart.TotalQuantity)
	assert.Equal(t, "500.00", bigCart.Subtotal.Amount)
	assert.Equal(t, smallCost, bigCost, "query count must not grow with the number of lines")
	assert.LessOrEqual(t, bigCost, int64(2), "the cart, then its lines with their products")
}

// storefrontCart is the cart a storefront renders after "Add to cart".
const storefrontCart = `id status expiresAt totalQuantity subtotal { amount currencyCode }
	lines { quantity lineTotal { amount currencyCode } product { id sku name price { amount currencyCode } available } }`

// The answer a storefront renders costs the reservation statement and one
// read, whatever the cart's size; the minimal answer costs the reservation
// alone.
func TestMutationAnswerCostIsConstant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	small, big := e.createCart(t), e.createCart(t)
	var last *storage.Product
	for i := 0; i < 100; i++ {
		last = storagetest.MustProduct(t, e.store, fmt.Sprintf("BIG-%03d", i), 50)
		if i == 0 {
			_, r := addToCart(t, e.srv.URL, small, pid(last), 1)
			require.Empty(t, r.Errors)
		}
		_, r := addToCart(t, e.srv.URL, big, pid(last), 1)
		require.Empty(t, r.Errors)
	}
	cost := func(cartID, selection string) (int64, cart) {
		before := e.store.QueryCount()
		var out struct {
			AddToCart struct {
				Cart cart `json:"cart"`
			} `json:"addToCart"`
		}
		decode(t, e.gql(t, "", `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { `+selection+` } userErrors { code } warnings { code } } }`,
			map[string]any{"in": map[string]any{"cartId": cartID, "productId": pid(last), "quantity": 1}}), &out)
		return e.store.QueryCount() - before, out.AddToCart.Cart
	}
	smallCost, smallCart := cost(small, storefrontCart)
	bigCost, bigCart := cost(big, storefrontCart)
	require.Len(t, smallCart.Lines, 2)
	require.Len(t, bigCart.Lines, 100)
	assert.Equal(t, 101, bigCart.TotalQuantity)
	assert.Equal(t, int64(2), smallCost, "the reservation, then the lines with their products")
	assert.Equal(t, smallCost, bigCost, "an answer's cost does not grow with the cart")
	minimal, _ := cost(big, "id")
	assert.Equal(t, int64(1), minimal, "the reservation statement returns the cart")
	// A cart whose only line is the one reserved renders from the
	// reservation statement alone.
	first, only := cost(e.createCart(t), storefrontCart)
	assert.Equal(t, int64(1), first, "the reservation statement tells the whole one-line cart")
	require.Len(t, only.Lines, 1)
	assert.Equal(t, 1, only.TotalQuantity)
	assert.Equal(t, pid(last), only.Lines[0].Product.ID)
	assert.Equal(t, 50-5, only.Lines[0].Product.Available, "available as the reservation left it (5 units held)")
}

// A product's new name and price show in the very next answer after the
// change commits: nothing of the catalog is cached past a request.
func TestProductChangesShowInTheNextAnswer(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "RENAME", 10)
	c := e.createCart(t)
	read := func() (string, string) {
		var out struct {
			AddToCart struct {
				Cart struct {
					Lines []struct {
						Product struct {
							Name  string                  `json:"name"`
							Price struct{ Amount string } `json:"price"`
						} `json:"product"`
					} `json:"lines"`
				} `json:"cart"`
			} `json:"addToCart"`
		}
		decode(t, e.gql(t, "", `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { `+storefrontCart+` } } }`,
			map[string]any{"in": map[string]any{"cartId": c, "productId": pid(p), "quantity": 1}}), &out)
		l := out.AddToCart.Cart.Lines[0].Product
		return l.Name, l.Price.Amount
	}
	name, price := read()
	require.Equal(t, p.Name, name)
	require.Equal(t, "10.00", price)
	for i, want := range []string{"12.50", "9.99", "11.00"} {
		newName := fmt.Sprintf("Renamed %d", i)
		r := e.gql(t, adminToken, `mutation($in: UpdateProductInput!) { updateProduct(input: $in) { userErrors { code } } }`,
			map[string]any{"in": map[string]any{"productId": pid(p), "name": newName, "priceAmount": want}})
		require.Empty(t, r.Errors)
		name, price = read()
		assert.Equal(t, newName, name)
		assert.Equal(t, want, price)
	}
}
