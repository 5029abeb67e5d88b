package storage_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

func intp(n int) *int { return &n }

// subscribeAll makes an endpoint on every topic but
// INVENTORY_LEVEL_CHANGED (locations_test.go has its own), so events are
// written.
func subscribeAll(t *testing.T, s *storage.Store) {
	t.Helper()
	_, _, err := s.CreateWebhookEndpoint(context.Background(), "http://127.0.0.1:1/unused", topicsButLevels())
	require.NoError(t, err)
}

// topicsButLevels is every topic but INVENTORY_LEVEL_CHANGED.
func topicsButLevels() []string {
	var out []string
	for _, t := range storage.Topics {
		if t != storage.TopicInventoryLevelChanged {
			out = append(out, t)
		}
	}
	return out
}

// events lists the outbox's topics for a key, in id order.
func events(t *testing.T, db *sqlx.DB, key string) []string {
	t.Helper()
	var out []string
	require.NoError(t, db.Select(&out, `SELECT topic FROM webhook_events WHERE key = $1 ORDER BY id`, key))
	return out
}

func productKey(p *storage.Product) string { return "product:" + storage.FormatProductID(p.ID) }

func TestSetStock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	subscribeAll(t, s)
	a := storagetest.MustProduct(t, s, "SYNC-A", 10)
	b := storagetest.MustProduct(t, s, "SYNC-B", 10)
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: b.ID, Quantity: 4})
	require.NoError(t, err)

	t.Run("all or nothing", func(t *testing.T) {
		before := storagetest.Snapshot(t, s.DB())
		res, err := s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{
			{HasProductID: true, ProductID: a.ID, Stock: 20, CompareStock: intp(10)},
			{SKU: "SYNC-B", Stock: 7, CompareStock: intp(9)}, // it is 10
			{SKU: "SYNC-B", Stock: 1},                        // named twice
			{SKU: "NOPE", Stock: 1},
		}})
		require.NoError(t, err)
		assert.Empty(t, res.Products)
		require.Len(t, res.Errors, 2, "validation refusals come first, without a transaction")
		assert.Equal(t, storage.CodeInvalidInput, res.Errors[0].Code)
		assert.Equal(t, []string{"input", "items", "2"}, res.Errors[0].Field)
		assert.Equal(t, storage.CodeProductNotFound, res.Errors[1].Code)
		assert.Equal(t, []string{"input", "items", "3"}, res.Errors[1].Field)

		res, err = s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{
			{HasProductID: true, ProductID: a.ID, Stock: 20, CompareStock: intp(10)},
			{SKU: "SYNC-B", Stock: 7, CompareStock: intp(9)},
		}})
		require.NoError(t, err)
		assert.Empty(t, res.Products)
		require.Len(t, res.Errors, 1)
		e := res.Errors[0]
		assert.Equal(t, storage.CodeStockChanged, e.Code)
		assert.Equal(t, []string{"input", "items", "1"}, e.Field)
		require.NotNil(t, e.CurrentStock)
		assert.Equal(t, 10, *e.CurrentStock)
		assert.Equal(t, before, storagetest.Snapshot(t, s.DB()), "a refused call changes nothing")
	})

	t.Run("below held", func(t *testing.T) {
		res, err := s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{{SKU: "SYNC-B", Stock: 3}}})
		require.NoError(t, err)
		require.Len(t, res.Errors, 1)
		assert.Equal(t, storage.CodeStockBelowHeld, res.Errors[0].Code)
		assert.Equal(t, 10, *res.Errors[0].CurrentStock)
		assert.Equal(t, 6, *res.Errors[0].Available)
	})

	t.Run("partial", func(t *testing.T) {
		res, err := s.SetStock(ctx, storage.SetStockParams{AllowPartial: true, Reason: "cycle count", Items: []storage.SetStockItem{
			{SKU: "SYNC-B", Stock: 3}, // below held
			{HasProductID: true, ProductID: a.ID, Stock: 25, CompareStock: intp(10)}, // applies
			{SKU: "SYNC-B", Stock: 4, CompareStock: intp(10)},                        // named twice
		}})
		require.NoError(t, err)
		require.Len(t, res.Products, 1)
		assert.Equal(t, 25, res.Products[0].Stock)
		require.Len(t, res.Errors, 2)
		assert.Equal(t, []string{"input", "items", "0"}, res.Errors[0].Field)
		assert.Equal(t, []string{"input", "items", "2"}, res.Errors[1].Field)
		var reason string
		require.NoError(t, s.DB().Get(&reason, `SELECT reason FROM inventory_movements WHERE product_id = $1 ORDER BY id DESC LIMIT 1`, a.ID))
		assert.Equal(t, "cycle count", reason)
		assert.Equal(t, []string{"STOCK_ADJUSTED"}, events(t, s.DB(), productKey(a)))
	})

	t.Run("unchanged and sold out", func(t *testing.T) {
		res, err := s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{
			{HasProductID: true, ProductID: a.ID, Stock: 25, CompareStock: intp(25)}, // no change, no movement
			{SKU: "SYNC-B", Stock: 4}, // available 0: sold out
		}})
		require.NoError(t, err)
		require.Empty(t, res.Errors)
		require.Len(t, res.Products, 2)
		assert.Equal(t, a.ID, res.Products[0].ID, "item order")
		assert.Equal(t, 0, res.Products[1].Available())
		assert.Equal(t, []string{"STOCK_ADJUSTED"}, events(t, s.DB(), productKey(a)))
		assert.Equal(t, []string{"STOCK_ADJUSTED", "PRODUCT_SOLD_OUT"}, events(t, s.DB(), productKey(b)))
	})

	t.Run("idempotency key", func(t *testing.T) {
		in := storage.SetStockParams{IdempotencyKey: "sync-1", Items: []storage.SetStockItem{{SKU: "SYNC-A", Stock: 30, CompareStock: intp(25)}}}
		first, err := s.SetStock(ctx, in)
		require.NoError(t, err)
		require.Empty(t, first.Errors)
		again, err := s.SetStock(ctx, in)
		require.NoError(t, err)
		require.Empty(t, again.Errors, "the replay answers like the first call, not STOCK_CHANGED")
		require.Len(t, again.Products, 1)
		assert.Equal(t, 30, again.Products[0].Stock)
		in.Items[0].Stock = 31
		_, err = s.SetStock(ctx, in)
		assert.ErrorIs(t, err, &storage.Error{Code: storage.CodeIdempotencyKeyReused})
	})
	storagetest.AssertBooks(t, s)
}

// TestSetStockRacesReservationsAndAdjustments: stock syncs with and without
// compareStock against reservations, releases and adjustments of the same
// products: the books stay exact and no sync applies to a stock it did not
// see.
func TestSetStockRacesReservationsAndAdjustments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	subscribeAll(t, s)
	var ps []*storage.Product
	for i := range 4 {
		ps = append(ps, storagetest.MustProduct(t, s, "RACE-"+strconv.Itoa(i), 20))
	}
	var wg sync.WaitGroup
	var applied, changed atomic.Int64
	// A fixed number of operations each (not a duration: on a slow machine
	// a short window might see no sync applied).
	const ops = 40
	for w := range 4 {
		wg.Add(3)
		go func() { // syncs, compare-and-set from what was read
			defer wg.Done()
			for range ops {
				p := ps[rand.IntN(len(ps))]
				cur, err := s.ProductByID(ctx, p.ID)
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				items := []storage.SetStockItem{{HasProductID: true, ProductID: p.ID, Stock: cur.Held + rand.IntN(20), CompareStock: intp(cur.Stock)}}
				if w%2 == 0 {
					items = append(items, storage.SetStockItem{SKU: ps[(int(p.ID)+1)%len(ps)].SKU, Stock: 15 + rand.IntN(10)})
				}
				res, err := s.SetStock(ctx, storage.SetStockParams{Items: items, AllowPartial: w%2 == 1})
				if err != nil {
					t.Errorf("setStock: %v", err)
					return
				}
				if len(res.Errors) == 0 {
					applied.Add(1)
				}
				for _, e := range res.Errors {
					allowed(t, e, storage.CodeStockChanged, storage.CodeStockBelowHeld)
					if e.Code == storage.CodeStockChanged {
						changed.Add(1)
					}
				}
			}
		}()
		go func() { // shoppers
			defer wg.Done()
			for range ops {
				c := storagetest.MustCart(t, s)
				_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: ps[rand.IntN(len(ps))].ID, Quantity: 1 + rand.IntN(3)})
				allowed(t, err, storage.CodeInsufficientStock)
				if rand.IntN(2) == 0 {
					_, err = s.RemoveCartLine(ctx, c.ID, ps[0].ID, "")
					allowed(t, err, storage.CodeProductNotFound)
				} else if err == nil {
					_, err = s.Checkout(ctx, c.ID, "race@example.com", "")
					allowed(t, err, storage.CodeCartEmpty)
				}
			}
		}()
		go func() { // adjustments
			defer wg.Done()
			for range ops {
				_, err := s.AdjustStock(ctx, ps[rand.IntN(len(ps))].ID, rand.IntN(5)-2+boolInt(rand.IntN(2) == 0), "")
				allowed(t, err, storage.CodeStockBelowHeld, storage.CodeInvalidQuantity)
			}
		}()
	}
	wg.Wait()
	t.Logf("syncs applied %d, refused as changed %d", applied.Load(), changed.Load())
	assert.Positive(t, applied.Load())
	storagetest.AssertBooks(t, s)
	// Every product's crossing events alternate: never two sold-outs in a row.
	for _, p := range ps {
		last := ""
		for _, topic := range events(t, s.DB(), productKey(p)) {
			if topic == storage.TopicProductSoldOut || topic == storage.TopicProductBackInStock {
				assert.NotEqual(t, last, topic, "product %d", p.ID)
				last = topic
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestStockEventsFromTheBatch: the coalesced batch statement fires the
// sold-out crossing once, from the trigger.
func TestStockEventsFromTheBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	subscribeAll(t, s)
	p := storagetest.MustProduct(t, s, "BATCH-EV", 5)
	var ins []storage.AddToCartParams
	for range 4 {
		ins = append(ins, storage.AddToCartParams{CartID: storagetest.MustCart(t, s).ID, ProductID: p.ID, Quantity: 2})
	}
	_, errs := s.RunBatch(ctx, p.ID, ins)
	granted := 0
	for _, err := range errs {
		if err == nil {
			granted++
		}
	}
	assert.Equal(t, 2, granted)
	assert.Empty(t, events(t, s.DB(), productKey(p)), "1 left: not sold out")
	_, errs = s.RunBatch(ctx, p.ID, []storage.AddToCartParams{
		{CartID: storagetest.MustCart(t, s).ID, ProductID: p.ID, Quantity: 1},
		{CartID: storagetest.MustCart(t, s).ID, ProductID: p.ID, Quantity: 1},
	})
	assert.NoError(t, errs[0])
	assert.Equal(t, []string{"PRODUCT_SOLD_OUT"}, events(t, s.DB(), productKey(p)))
}

// TestNoEventsWithoutEndpoints: with no endpoint subscribed, nothing is
// written to the outbox.
func TestNoEventsWithoutEndpoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "QUIET", 1)
	_, err := s.AdjustStock(ctx, p.ID, -1, "")
	require.NoError(t, err)
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM webhook_events`))
	assert.Zero(t, n)
}

// TestOrderPaidHelper: the helper payments calls writes ORDER_PAID for the
// order, keyed like its other events.
func TestOrderPaidHelper(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	subscribeAll(t, s)
	p := storagetest.MustProduct(t, s, "PAID", 3)
	c := storagetest.MustCart(t, s)
	_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)
	o, err := s.Checkout(ctx, c.ID, "pay@example.com", "")
	require.NoError(t, err)
	require.NoError(t, s.WithTx(ctx, func(ctx context.Context, tx *storage.Tx) error {
		return storage.EnqueueOrderEvent(ctx, tx, storage.TopicOrderPaid, o.ID)
	}))
	require.NoError(t, s.WithTx(ctx, func(ctx context.Context, tx *storage.Tx) error {
		return storage.EnqueueEvent(ctx, tx, storage.TopicOrderPaid, map[string]any{"orderId": o.ID, "custom": true})
	}))
	assert.Equal(t, []string{"ORDER_PLACED", "ORDER_PAID", "ORDER_PAID"}, events(t, s.DB(), "order:"+o.ID))
}

// TestOrderFeedUnderConcurrentCheckouts: a partner pages the feed while
// orders are placed and cancelled, and while a transaction that started
// early changes an order late: it sees every order exactly once per
// change, never skipping the late one.
func TestOrderFeedUnderConcurrentCheckouts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	p := storagetest.MustProduct(t, s, "FEED", 1000)
	checkout := func() *storage.Order {
		c := storagetest.MustCart(t, s)
		_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
		require.NoError(t, err)
		o, err := s.Checkout(ctx, c.ID, "feed@example.com", "")
		require.NoError(t, err)
		return o
	}
	early := checkout()
	start := time.Now().Add(-time.Hour)

	// A transaction starts now and changes the early order only at the
	// end: its updated_at is its start, older than the orders placed
	// meanwhile.
	slow, err := s.DB().BeginTxx(ctx, nil)
	require.NoError(t, err)
	var slowStart time.Time
	require.NoError(t, slow.Get(&slowStart, `SELECT now()`))

	type seen struct {
		id, status, email string
		at                time.Time
	}
	var mu sync.Mutex
	var got []seen
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() { // the partner: pages until told to stop, then drains
		defer close(readerDone)
		var cur *storage.FeedCursor
		for drained := false; !drained; {
			select {
			case <-stop:
				drained = true
			default:
			}
			for {
				os, more, err := s.OrderFeed(ctx, storage.OrderFeedParams{First: 7, After: cur, UpdatedAfter: start})
				if err != nil {
					t.Errorf("feed: %v", err)
					return
				}
				mu.Lock()
				for _, o := range os {
					got = append(got, seen{o.ID, o.Status, o.Email, o.UpdatedAt})
				}
				mu.Unlock()
				if len(os) > 0 {
					last := os[len(os)-1]
					cur = &storage.FeedCursor{UpdatedAt: last.UpdatedAt, Seq: last.Seq}
				}
				if !more {
					break
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	var placed []*storage.Order
	var wg sync.WaitGroup
	var pmu sync.Mutex
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				o := checkout()
				pmu.Lock()
				placed = append(placed, o)
				pmu.Unlock()
			}
		}()
	}
	wg.Wait()
	_, err = slow.Exec(`UPDATE orders SET email = 'late@example.com' WHERE id = $1`, early.ID)
	require.NoError(t, err)
	require.NoError(t, slow.Commit())
	for _, o := range placed[:5] {
		_, err := s.CancelOrder(ctx, o.ID)
		require.NoError(t, err)
	}
	// Past the feed's lag, everything is final: the reader drains.
	time.Sleep(storage.FeedLag + 300*time.Millisecond)
	close(stop)
	<-readerDone

	// No repeats: one order in one state (updated_at) is served once.
	type version struct {
		id string
		at time.Time
	}
	served := map[version]int{}
	lastSeen := map[string]seen{}
	for _, g := range got {
		served[version{g.id, g.at}]++
		lastSeen[g.id] = g
	}
	for v, n := range served {
		assert.Equal(t, 1, n, "order %s at %s served %d times", v.id, v.at, n)
	}
	// No gaps: the last state the partner saw of every order is its
	// state now, the late change of the early order included.
	var all []*storage.Order
	require.NoError(t, s.DB().Select(&all, `SELECT id, status, email, updated_at FROM orders`))
	require.Len(t, all, len(placed)+1)
	for _, o := range all {
		g, ok := lastSeen[o.ID]
		require.True(t, ok, "order %s never served", o.ID)
		assert.Equal(t, o.Status, g.status)
		assert.Equal(t, o.Email, g.email)
		assert.True(t, o.UpdatedAt.Equal(g.at), "order %s: last served at %s, changed at %s", o.ID, g.at, o.UpdatedAt)
	}
	assert.Equal(t, "late@example.com", lastSeen[early.ID].email)
	assert.True(t, lastSeen[early.ID].at.Equal(slowStart), "the late change carries its transaction's start")
}

// TestPurgeWebhooks: finished deliveries past the retention go, with their
// events; pending ones stay, however old.
func TestPurgeWebhooks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	subscribeAll(t, s)
	p := storagetest.MustProduct(t, s, "PURGE", 10)
	for range 3 {
		_, err := s.AdjustStock(ctx, p.ID, 1, "")
		require.NoError(t, err)
	}
	_, err := s.DB().Exec(`UPDATE webhook_deliveries SET created_at = now() - interval '8 days'`)
	require.NoError(t, err)
	_, err = s.DB().Exec(`UPDATE webhook_events SET created_at = now() - interval '8 days'`)
	require.NoError(t, err)
	_, err = s.DB().Exec(`UPDATE webhook_deliveries SET status = 'DELIVERED' WHERE id IN (SELECT min(id) FROM webhook_deliveries)`)
	require.NoError(t, err)
	n, err := s.PurgeWebhooks(ctx, 7*24*time.Hour, 100)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "one delivery and its event")
	var left int
	require.NoError(t, s.DB().Get(&left, `SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING'`))
	assert.Equal(t, 2, left)
}
