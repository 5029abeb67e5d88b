package storage_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// TestStressNoInternalErrors mixes every stock-changing operation on a few
// hot products: every error must be a business refusal, never a database
// error (a constraint violation would mean a guard let something through).
func TestStressNoInternalErrors(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	var products []int64
	for i := 0; i < 3; i++ {
		products = append(products, storagetest.MustProduct(t, s, fmt.Sprint("HOT-", i), 20).ID)
	}
	carts := make([]string, 40)
	for i := range carts {
		carts[i] = storagetest.MustCart(t, s).ID
	}
	var mu sync.Mutex
	var orders []string
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for time.Now().Before(deadline) {
				mu.Lock()
				c := carts[rng.IntN(len(carts))]
				mu.Unlock()
				p := products[rng.IntN(len(products))]
				var err error
				op := rng.IntN(8)
				switch op {
				case 0, 1:
					_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c, ProductID: p, Quantity: 1 + rng.IntN(3)})
				case 2:
					_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c, ProductID: p, Quantity: 1 + rng.IntN(5), AllowPartial: true})
				case 3:
					_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c, ProductID: p, Quantity: 1, IdempotencyKey: fmt.Sprint("k", rng.IntN(1000))})
				case 4:
					_, err = s.UpdateCartLine(ctx, c, p, rng.IntN(4), "")
				case 5:
					var o *storage.Order
					o, err = s.Checkout(ctx, c, "a@example.com", "")
					if err == nil {
						mu.Lock()
						orders = append(orders, o.ID)
						mu.Unlock()
						// (no Must helper: this is not the test's goroutine)
						nc, cerr := s.CreateCart(ctx)
						if cerr != nil {
							t.Errorf("create cart: %v", cerr)
							continue
						}
						mu.Lock()
						carts[rng.IntN(len(carts))] = nc.ID
						mu.Unlock()
					}
				case 6:
					_, err = s.AdjustStock(ctx, p, rng.IntN(11)-6, "stress")
				case 7:
					mu.Lock()
					var o string
					if len(orders) > 0 {
						o = orders[rng.IntN(len(orders))]
					}
					mu.Unlock()
					if o != "" {
						_, err = s.CancelOrder(ctx, o)
					}
				}
				var se *storage.Error
				if err != nil && !errors.As(err, &se) {
					t.Errorf("op %d: %v", op, err)
				}
			}
		}()
	}
	wg.Wait()
	storagetest.AssertBooks(t, s)
}
