package storage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// defaultLocation is the location the migration creates.
const defaultLocation = int64(1)

// allocationsOf reads an order's allocations as product → location → units.
func allocationsOf(t *testing.T, s *storage.Store, orderID string) map[int64]map[int64]int {
	t.Helper()
	m, err := s.AllocationsByOrderIDs(context.Background(), []string{orderID})
	require.NoError(t, err)
	out := map[int64]map[int64]int{}
	for _, a := range m[orderID] {
		if out[a.ProductID] == nil {
			out[a.ProductID] = map[int64]int{}
		}
		out[a.ProductID][a.Location.ID] += a.Quantity
	}
	return out
}

// sellOne puts qty units of p in a fresh cart (allowPartial) and checks it
// out: the order, or nil when no unit could be reserved.
func sellOne(t *testing.T, s *storage.Store, p *storage.Product, qty int) *storage.Order {
	t.Helper()
	ctx := context.Background()
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: qty, AllowPartial: true})
	if code(err) == storage.CodeInsufficientStock {
		return nil
	}
	require.NoError(t, err)
	o, err := s.Checkout(ctx, c.ID, "ada@example.com", "")
	require.NoError(t, err)
	return o
}

// threeLocations makes a product whose units lie in three new locations
// (priorities 1, 2, 3), none at the default location.
func threeLocations(t *testing.T, s *storage.Store, sku string, levels [3]int) (*storage.Product, [3]*storage.Location) {
	t.Helper()
	p := storagetest.MustProduct(t, s, sku, 0)
	var locs [3]*storage.Location
	for i := range locs {
		locs[i] = storagetest.MustLocation(t, s, fmt.Sprintf("%s-L%d", sku, i+1), i+1)
		storagetest.MustStockAt(t, s, p.ID, locs[i].ID, levels[i])
	}
	return p, locs
}

// 200 shoppers race for a product whose 10 units lie 3/3/4 in three
// locations, some paying later (sold when the payment succeeds): exactly 10
// are sold, every level ends at 0 and every line is allocated in full.
func TestAllocationShoppersRace(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p, locs := threeLocations(t, s, "LOC-RACE", [3]int{3, 3, 4})

	var mu sync.Mutex
	var orders []string
	var fns []func()
	for i := 0; i < 200; i++ {
		fns = append(fns, func() {
			c, err := s.CreateCart(ctx)
			if !assert.NoError(t, err) {
				return
			}
			_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1 + i%3, AllowPartial: true})
			if code(err) == storage.CodeInsufficientStock {
				return
			}
			if !assert.NoError(t, err) {
				return
			}
			var o *storage.Order
			if i%4 == 0 {
				// Paid later: sold (and allocated) by the payment.
				o, _, err = s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, TTL: 15 * time.Minute})
				if assert.NoError(t, err) {
					_, err = s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_"+o.ID))
				}
			} else {
				o, err = s.Checkout(ctx, c.ID, "ada@example.com", "")
			}
			if assert.NoError(t, err) {
				mu.Lock()
				orders = append(orders, o.ID)
				mu.Unlock()
			}
		})
	}
	together(fns...)

	sold := 0
	lines, err := s.OrderLinesByOrderIDs(ctx, orders)
	require.NoError(t, err)
	for _, id := range orders {
		o, err := s.OrderByID(ctx, id)
		require.NoError(t, err)
		require.Equal(t, storage.OrderPlaced, o.Status)
		alloc := allocationsOf(t, s, id)
		for _, l := range lines[id] {
			sold += l.Quantity
			got := 0
			for _, n := range alloc[l.ProductID] {
				got += n
			}
			assert.Equal(t, l.Quantity, got, "order %s allocated in full", id)
		}
	}
	assert.Equal(t, 10, sold)
	after, err := s.ProductByID(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, after.Stock)
	assert.Equal(t, 0, after.Held)
	levels := storagetest.Levels(t, s, p.ID)
	for _, l := range locs {
		assert.Equal(t, 0, levels[l.ID], "level at %s", l.Name)
	}
	storagetest.AssertBooks(t, s)
}

// The priority strategy takes from the lowest priority number first (ties:
// the lowest id), splitting a line when one location cannot cover it;
// most_stock from the location holding the most.
func TestAllocationStrategies(t *testing.T) {
	t.Parallel()
	for _, strategy := range []string{storage.AllocatePriority, storage.AllocateMostStock} {
		t.Run(strategy, func(t *testing.T) {
			t.Parallel()
			opts := storagetest.Options()
			opts.AllocationStrategy = strategy
			s, _ := storagetest.NewStore(t, opts)
			p := storagetest.MustProduct(t, s, "PICK-ORDER", 0)
			far := storagetest.MustLocation(t, s, "far", 5)
			near := storagetest.MustLocation(t, s, "near", 1)
			twin := storagetest.MustLocation(t, s, "near twin", 1)
			storagetest.MustStockAt(t, s, p.ID, far.ID, 5)
			storagetest.MustStockAt(t, s, p.ID, near.ID, 2)
			storagetest.MustStockAt(t, s, p.ID, twin.ID, 4)
			storagetest.MustStockAt(t, s, p.ID, defaultLocation, 1) // priority 0

			o := sellOne(t, s, p, 4)
			require.NotNil(t, o)
			got := allocationsOf(t, s, o.ID)[p.ID]
			switch strategy {
			case storage.AllocatePriority:
				// Default (0) first, then near (1, lower id than its twin), then the twin.
				assert.Equal(t, map[int64]int{defaultLocation: 1, near.ID: 2, twin.ID: 1}, got)
			case storage.AllocateMostStock:
				// far holds 5: the whole line.
				assert.Equal(t, map[int64]int{far.ID: 4}, got)
			}

			o = sellOne(t, s, p, 5)
			require.NotNil(t, o)
			got = allocationsOf(t, s, o.ID)[p.ID]
			switch strategy {
			case storage.AllocatePriority:
				// Left: near 0, twin 3, far 5.
				assert.Equal(t, map[int64]int{twin.ID: 3, far.ID: 2}, got)
			case storage.AllocateMostStock:
				// Left: twin 4, near 2, default 1, far 1: twin, then near (2, by stock).
				assert.Equal(t, map[int64]int{twin.ID: 4, near.ID: 1}, got)
			}
			storagetest.AssertBooks(t, s)
		})
	}
}

// An order split over two locations and cancelled puts the units back
// where they came from, once.
func TestCancelSplitOrderRestoresLevels(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "SPLIT", 0)
	a := storagetest.MustLocation(t, s, "A", 1)
	b := storagetest.MustLocation(t, s, "B", 2)
	storagetest.MustStockAt(t, s, p.ID, a.ID, 2)
	storagetest.MustStockAt(t, s, p.ID, b.ID, 3)

	o := sellOne(t, s, p, 4)
	require.NotNil(t, o)
	assert.Equal(t, map[int64]int{a.ID: 2, b.ID: 2}, allocationsOf(t, s, o.ID)[p.ID])
	assert.Equal(t, map[int64]int{defaultLocation: 0, a.ID: 0, b.ID: 1}, storagetest.Levels(t, s, p.ID))
	storagetest.AssertBooks(t, s)

	_, err := s.CancelOrder(ctx, o.ID)
	require.NoError(t, err)
	assert.Equal(t, map[int64]int{defaultLocation: 0, a.ID: 2, b.ID: 3}, storagetest.Levels(t, s, p.ID))
	_, err = s.CancelOrder(ctx, o.ID)
	assert.Equal(t, storage.CodeOrderAlreadyCancelled, code(err))
	assert.Equal(t, map[int64]int{defaultLocation: 0, a.ID: 2, b.ID: 3}, storagetest.Levels(t, s, p.ID))
	after, err := s.ProductByID(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 5, after.Stock)
	storagetest.AssertBooks(t, s)
}

// A late payment re-reserves an expired order's units and allocates them;
// one that cannot is refunded and allocates nothing.
func TestLatePaymentAllocates(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p, locs := threeLocations(t, s, "LATE", [3]int{1, 1, 1})

	o := mustPending(t, s, 2, p)
	_, err := s.PaymentFailed(ctx, failed(o.ID, "evt_fail"), storage.PaymentFailed)
	require.NoError(t, err)
	tr, err := s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_late"))
	require.NoError(t, err)
	require.Equal(t, storage.OrderPlaced, tr.Order.Status)
	assert.Equal(t, map[int64]int{locs[0].ID: 1, locs[1].ID: 1}, allocationsOf(t, s, o.ID)[p.ID])

	// The last unit is sold; a second late payment finds nothing free.
	o2 := mustPending(t, s, 1, p)
	_, err = s.PaymentFailed(ctx, failed(o2.ID, "evt_fail2"), storage.PaymentFailed)
	require.NoError(t, err)
	require.NotNil(t, sellOne(t, s, p, 1))
	tr, err = s.PaymentSucceeded(ctx, succeeded(o2.ID, "evt_late2"))
	require.NoError(t, err)
	assert.Equal(t, storage.OrderRefundRequired, tr.Order.Status)
	assert.Empty(t, allocationsOf(t, s, o2.ID))
	assert.Equal(t, map[int64]int{defaultLocation: 0, locs[0].ID: 0, locs[1].ID: 0, locs[2].ID: 0}, storagetest.Levels(t, s, p.ID))
	storagetest.AssertBooks(t, s)
}

// adjustStock and setStock act on one level and the total: a level never
// falls below 0, the total never below held, compareStock compares the
// level, an unknown location is LOCATION_NOT_FOUND.
func TestStockChangesPerLocation(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "PER-LOC", 4) // at the default location
	w := storagetest.MustLocation(t, s, "warehouse", 1)

	got, err := s.AdjustStockAt(ctx, storage.AdjustStockParams{ProductID: p.ID, LocationID: w.ID, Delta: 6, Reason: "delivery"})
	require.NoError(t, err)
	assert.Equal(t, 10, got.Stock)
	assert.Equal(t, map[int64]int{defaultLocation: 4, w.ID: 6}, storagetest.Levels(t, s, p.ID))

	// The total could fall by 7, the warehouse's level cannot.
	_, err = s.AdjustStockAt(ctx, storage.AdjustStockParams{ProductID: p.ID, LocationID: w.ID, Delta: -7})
	assert.Equal(t, storage.CodeInvalidInput, code(err))
	// Without a location: the default location.
	got, err = s.AdjustStock(ctx, p.ID, -4, "broken")
	require.NoError(t, err)
	assert.Equal(t, 6, got.Stock)
	assert.Equal(t, map[int64]int{defaultLocation: 0, w.ID: 6}, storagetest.Levels(t, s, p.ID))

	// Carts hold 5: the warehouse may lose 1, not 2.
	c := storagetest.MustCart(t, s)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 5})
	require.NoError(t, err)
	_, err = s.AdjustStockAt(ctx, storage.AdjustStockParams{ProductID: p.ID, LocationID: w.ID, Delta: -2})
	assert.Equal(t, storage.CodeStockBelowHeld, code(err))
	res, err := s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{{HasProductID: true, ProductID: p.ID, LocationID: w.ID, Stock: 4}}})
	require.NoError(t, err)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, storage.CodeStockBelowHeld, res.Errors[0].Code)
	assert.Equal(t, 6, *res.Errors[0].CurrentStock, "the level")

	// compareStock compares the level, not the total.
	res, err = s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{{HasProductID: true, ProductID: p.ID, LocationID: w.ID, Stock: 5, CompareStock: intp(6)}}})
	require.NoError(t, err)
	require.Empty(t, res.Errors)
	assert.Equal(t, 5, res.Products[0].Stock)
	res, err = s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{{HasProductID: true, ProductID: p.ID, Stock: 3, CompareStock: intp(5)}}})
	require.NoError(t, err)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, storage.CodeStockChanged, res.Errors[0].Code)
	assert.Equal(t, 0, *res.Errors[0].CurrentStock, "the default location's level")

	// Unknown and malformed locations.
	_, err = s.AdjustStockAt(ctx, storage.AdjustStockParams{ProductID: p.ID, LocationID: 999, Delta: 1})
	assert.Equal(t, storage.CodeLocationNotFound, code(err))
	_, err = s.AdjustStockAt(ctx, storage.AdjustStockParams{ProductID: p.ID, LocationID: -1, Delta: 1})
	assert.Equal(t, storage.CodeLocationNotFound, code(err))
	res, err = s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{{HasProductID: true, ProductID: p.ID, LocationID: 999, Stock: 3}}})
	require.NoError(t, err)
	require.Len(t, res.Errors, 1)
	assert.Equal(t, storage.CodeLocationNotFound, res.Errors[0].Code)
	assert.Equal(t, []string{"input", "items", "0"}, res.Errors[0].Field)
	_, err = s.UpdateLocation(ctx, storage.LocationUpdate{ID: 999, Name: strp("x")})
	assert.Equal(t, storage.CodeLocationNotFound, code(err))
	storagetest.AssertBooks(t, s)
}

func strp(s string) *string { return &s }

// Deactivating a location takes its units out of the total only if carts
// keep their units; it is never allocated from, its stock cannot change,
// and a cancelled order's units allocated there do not come back.
func TestDeactivateLocation(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "DEACT", 2)
	shop := storagetest.MustLocation(t, s, "shop", 1)
	storagetest.MustStockAt(t, s, p.ID, shop.ID, 3)

	// Sold from the default location first (priority 0), then the shop.
	o := sellOne(t, s, p, 3)
	require.NotNil(t, o)
	assert.Equal(t, map[int64]int{defaultLocation: 2, shop.ID: 1}, allocationsOf(t, s, o.ID)[p.ID])

	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	_, err = s.UpdateLocation(ctx, storage.LocationUpdate{ID: shop.ID, Active: boolp(false)})
	assert.Equal(t, storage.CodeStockBelowHeld, code(err))
	l, err := s.Locations(ctx)
	require.NoError(t, err)
	require.Len(t, l, 2)
	assert.True(t, l[1].Active, "nothing changed")

	_, err = s.RemoveCartLine(ctx, c.ID, p.ID, "")
	require.NoError(t, err)
	got, err := s.UpdateLocation(ctx, storage.LocationUpdate{ID: shop.ID, Active: boolp(false), Name: strp("shop (closed)")})
	require.NoError(t, err)
	assert.False(t, got.Active)
	assert.Equal(t, "shop (closed)", got.Name)
	after, err := s.ProductByID(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 0, after.Stock)
	assert.Equal(t, map[int64]int{defaultLocation: 0, shop.ID: 0}, storagetest.Levels(t, s, p.ID))
	storagetest.AssertBooks(t, s)

	_, err = s.AdjustStockAt(ctx, storage.AdjustStockParams{ProductID: p.ID, LocationID: shop.ID, Delta: 1})
	assert.Equal(t, storage.CodeInvalidInput, code(err))

	// The cancelled order's unit from the closed shop stays out.
	_, err = s.CancelOrder(ctx, o.ID)
	require.NoError(t, err)
	after, err = s.ProductByID(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, after.Stock)
	assert.Equal(t, map[int64]int{defaultLocation: 2, shop.ID: 0}, storagetest.Levels(t, s, p.ID))
	storagetest.AssertBooks(t, s)

	_, err = s.UpdateLocation(ctx, storage.LocationUpdate{ID: defaultLocation, Active: boolp(false)})
	assert.Equal(t, storage.CodeInvalidInput, code(err))
	_, err = s.UpdateLocation(ctx, storage.LocationUpdate{ID: shop.ID, Active: boolp(true)})
	require.NoError(t, err)
	storagetest.MustStockAt(t, s, p.ID, shop.ID, 1)
	storagetest.AssertBooks(t, s)
}

// Checkouts race setStock and adjustStock on single locations, and a
// location's deactivation: every books check holds after each round.
func TestCheckoutsRaceStockChangesPerLocation(t *testing.T) {
	t.Parallel()
	// The third location is closed every other round: its stock cannot
	// change then (INVALID_INPUT).
	inactive := func(i int) storage.Code {
		if i == 2 {
			return storage.CodeInvalidInput
		}
		return storage.CodeStockBelowHeld
	}
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p, locs := threeLocations(t, s, "LOC-SYNC", [3]int{3, 3, 4})
	var refused atomic.Int32
	for round := 0; round < 10; round++ {
		var fns []func()
		for i := 0; i < 12; i++ {
			fns = append(fns, func() {
				c, err := s.CreateCart(ctx)
				if !assert.NoError(t, err) {
					return
				}
				_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1 + i%2, AllowPartial: true})
				if code(err) == storage.CodeInsufficientStock {
					return
				}
				if assert.NoError(t, err) {
					_, err = s.Checkout(ctx, c.ID, "ada@example.com", "")
					assert.NoError(t, err)
				}
			})
		}
		for i, l := range locs {
			fns = append(fns, func() {
				res, err := s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{{HasProductID: true, ProductID: p.ID, LocationID: l.ID, Stock: (round + i) % 4}}})
				if assert.NoError(t, err) && len(res.Errors) > 0 {
					refused.Add(1)
					allowed(t, res.Errors[0], storage.CodeStockBelowHeld, inactive(i))
				}
			}, func() {
				_, err := s.AdjustStockAt(ctx, storage.AdjustStockParams{ProductID: p.ID, LocationID: l.ID, Delta: 1 + i})
				allowed(t, err, inactive(i))
			})
		}
		fns = append(fns, func() {
			// Closing and reopening the third location.
			_, err := s.UpdateLocation(ctx, storage.LocationUpdate{ID: locs[2].ID, Active: boolp(round%2 == 1)})
			allowed(t, err, storage.CodeStockBelowHeld)
		})
		together(fns...)
		storagetest.AssertBooks(t, s)
	}
	t.Logf("setStock refused below held %d times", refused.Load())
	// One lock order: no transaction had to be chosen as a deadlock victim
	// (and retried). The statistics may lag, never overcount.
	var deadlocks int64
	require.NoError(t, s.DB().Get(&deadlocks, `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`))
	assert.Zero(t, deadlocks, "deadlocks")
}

// INVENTORY_LEVEL_CHANGED carries the location and the level; ORDER_PLACED
// carries the lines' allocations.
func TestLocationEvents(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	_, _, err := s.CreateWebhookEndpoint(ctx, "http://127.0.0.1:1/unused", []string{storage.TopicInventoryLevelChanged, storage.TopicOrderPlaced})
	require.NoError(t, err)
	p := storagetest.MustProduct(t, s, "EVT", 0)
	w := storagetest.MustLocation(t, s, "warehouse", 1)
	storagetest.MustStockAt(t, s, p.ID, w.ID, 3)
	o := sellOne(t, s, p, 2)
	require.NotNil(t, o)

	var raw []string
	require.NoError(t, s.DB().Select(&raw, `SELECT data::text FROM webhook_events WHERE topic = 'INVENTORY_LEVEL_CHANGED' ORDER BY id`))
	require.Len(t, raw, 2)
	var ev struct {
		ProductID    string `json:"productId"`
		LocationID   string `json:"locationId"`
		LocationName string `json:"locationName"`
		Stock        int    `json:"stock"`
		Delta        int    `json:"delta"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw[1]), &ev))
	assert.Equal(t, fmt.Sprint(p.ID), ev.ProductID)
	assert.Equal(t, fmt.Sprint(w.ID), ev.LocationID)
	assert.Equal(t, "warehouse", ev.LocationName)
	assert.Equal(t, 1, ev.Stock)
	assert.Equal(t, -2, ev.Delta)

	var placed string
	require.NoError(t, s.DB().Get(&placed, `SELECT data::text FROM webhook_events WHERE topic = 'ORDER_PLACED'`))
	var data struct {
		Lines []struct {
			Allocations []struct {
				LocationID string `json:"locationId"`
				Quantity   int    `json:"quantity"`
			} `json:"allocations"`
		} `json:"lines"`
	}
	require.NoError(t, json.Unmarshal([]byte(placed), &data))
	require.Len(t, data.Lines, 1)
	require.Len(t, data.Lines[0].Allocations, 1)
	assert.Equal(t, fmt.Sprint(w.ID), data.Lines[0].Allocations[0].LocationID)
	assert.Equal(t, 2, data.Lines[0].Allocations[0].Quantity)
}

// A level changed without its product's total fails at commit (the
// inventory_levels_sum constraint trigger).
func TestLevelSumEnforced(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "SUM", 3)
	_, err := s.DB().Exec(`UPDATE inventory_levels SET stock = stock + 1 WHERE product_id = $1`, p.ID)
	require.ErrorContains(t, err, "differs from the sum of its levels")
	_, err = s.DB().Exec(`UPDATE inventory_levels SET stock = -1 WHERE product_id = $1`, p.ID)
	require.Error(t, err)
	storagetest.AssertBooks(t, s)
}

// createLocation and updateLocation honour an idempotency key: a repeat
// creates nothing more and answers what the first attempt answered.
func TestLocationsKeyed(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	a, err := s.CreateLocationKeyed(ctx, "depot", 3, "loc-1")
	require.NoError(t, err)
	b, err := s.CreateLocationKeyed(ctx, "depot", 3, "loc-1")
	require.NoError(t, err)
	assert.Equal(t, a.ID, b.ID)
	_, err = s.CreateLocationKeyed(ctx, "depot 2", 3, "loc-1")
	assert.Equal(t, storage.CodeIdempotencyKeyReused, code(err))
	all, err := s.Locations(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 2)

	p := storagetest.MustProduct(t, s, "KEYED-LOC", 0)
	storagetest.MustStockAt(t, s, p.ID, a.ID, 2)
	got, err := s.UpdateLocation(ctx, storage.LocationUpdate{ID: a.ID, Active: boolp(false), IdempotencyKey: "close-1"})
	require.NoError(t, err)
	assert.False(t, got.Active)
	_, err = s.UpdateLocation(ctx, storage.LocationUpdate{ID: a.ID, Active: boolp(true)})
	require.NoError(t, err)
	storagetest.MustStockAt(t, s, p.ID, a.ID, 2)
	// The replay changes nothing: the reopened depot keeps its 2 units.
	again, err := s.UpdateLocation(ctx, storage.LocationUpdate{ID: a.ID, Active: boolp(false), IdempotencyKey: "close-1"})
	require.NoError(t, err)
	assert.False(t, again.Active, "the first attempt's answer")
	assert.Equal(t, map[int64]int{defaultLocation: 0, a.ID: 2}, storagetest.Levels(t, s, p.ID))
	storagetest.AssertBooks(t, s)
}
