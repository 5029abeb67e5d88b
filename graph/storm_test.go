package graph_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/payments"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// TestStorm drives random adds, updates, removes, checkouts, checkouts
// with payment, (late) payment confirmations, stock adjustments (at one of
// three locations; a level below 0 is refused) and cancellations from 32
// workers through the HTTP API while two reapers (on
// two pools, as two processes) expire carts and unpaid orders. Afterwards
// every product's books must balance.
//
// Nothing here depends on the machine's speed: each worker runs a fixed
// number of operations (not for a duration), and holds and payments live
// for an hour, so nothing lapses by itself. Expiry is part of the storm as
// operations of its own: a worker sets a cart's expiresAt, or an unpaid
// order's dueAt, into the past in SQL, and the running reapers (or a
// mutation that meets it first) take it from there. At the end every
// remaining hold is made to lapse and the reaper drains them all.
func TestStorm(t *testing.T) {
	t.Parallel()
	e := expiring(t, time.Hour)
	e.srv = httptest.NewServer(newAPI(graph.HandlerConfig{
		Store: e.store, AdminToken: adminToken,
		Payments: payments.NewService(e.store, payments.Manual{}, payments.Options{TTL: time.Hour}),
	}, httpapi.APIConfig{}))
	t.Cleanup(e.srv.Close)
	const (
		products = 20
		carts    = 300
		workers  = 32
		initial  = 40
	)
	perWorker := 16
	if testing.Short() {
		perWorker = 6
	}
	// Three locations: each product's initial units lie in all of them,
	// and adjustStock acts on one at random ("" : the default location).
	locs := []string{""}
	var locIDs []int64
	for i := range 2 {
		l := storagetest.MustLocation(t, e.store, fmt.Sprintf("storm %d", i), i+1)
		locs, locIDs = append(locs, fmt.Sprint(l.ID)), append(locIDs, l.ID)
	}
	pids := make([]string, products)
	for i := range pids {
		p := storagetest.MustProduct(t, e.store, fmt.Sprintf("STORM-%02d", i), initial-26)
		for _, id := range locIDs {
			storagetest.MustStockAt(t, e.store, p.ID, id, 13)
		}
		pids[i] = pid(p)
	}
	var cartMu sync.Mutex
	cartIDs := make([]string, carts)
	for i := range cartIDs {
		cartIDs[i] = storagetest.MustCart(t, e.store).ID
	}
	var orderMu sync.Mutex
	var orders, unpaid []string

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var reapers sync.WaitGroup
	for _, st := range []*storage.Store{e.store, storagetest.OpenStore(t, e.dbURL, storagetest.Options())} {
		reapers.Add(1)
		go func() {
			defer reapers.Done()
			st.RunReaper(ctx, 50*time.Millisecond, slog.New(slog.DiscardHandler))
		}()
	}

	// Refusals the storm may legitimately meet.
	okCodes := map[string]bool{"": true, "INSUFFICIENT_STOCK": true, "CART_EXPIRED": true, "CART_CHECKED_OUT": true,
		"CART_EMPTY": true, "STOCK_BELOW_HELD": true, "ORDER_ALREADY_CANCELLED": true,
		// Payments: a confirmation of an order already confirmed under
		// another reference; a cancellation of a refunded order.
		"PAYMENT_NOT_PENDING": true, "INVALID_INPUT": true}
	var adjusted [products]atomic.Int64
	var ops, refusals atomic.Int64
	var codesMu sync.Mutex
	codes := map[string]int{}
	var lapsed atomic.Int64
	race(workers, func(w int) {
		rng := rand.New(rand.NewPCG(uint64(w), 42))
		for range perWorker {
			slot := rng.IntN(carts)
			cartMu.Lock()
			c := cartIDs[slot]
			cartMu.Unlock()
			pi := rng.IntN(products)
			var name string
			var in map[string]any
			switch op := rng.IntN(100); {
			case op < 38:
				name, in = "addToCart", map[string]any{"cartId": c, "productId": pids[pi], "quantity": 1 + rng.IntN(3), "allowPartial": rng.IntN(2) == 0}
			case op < 52:
				name, in = "updateCartLine", map[string]any{"cartId": c, "productId": pids[pi], "quantity": rng.IntN(5)}
			case op < 62:
				name, in = "removeCartLine", map[string]any{"cartId": c, "productId": pids[pi]}
			case op < 69:
				name, in = "checkout", map[string]any{"cartId": c, "email": "storm@example.com"}
			case op < 77:
				name, in = "beginCheckout", map[string]any{"cartId": c, "email": "storm@example.com"}
			case op < 85:
				name, in = "adjustStock", map[string]any{"productId": pids[pi], "delta": rng.IntN(16) - 5, "reason": "storm"}
				if l := locs[rng.IntN(len(locs))]; l != "" {
					in["locationId"] = l
				}
			case op < 88:
				// The cart's holds lapse now: the reapers, or the next
				// mutation of the cart, meet it expired.
				lapse(t, e.store, `UPDATE carts SET expires_at = now() - interval '1 second' WHERE id = $1`, c, &lapsed)
				continue
			case op < 90:
				// An unpaid order's payment falls due now.
				orderMu.Lock()
				if len(unpaid) == 0 {
					orderMu.Unlock()
					continue
				}
				o := unpaid[rng.IntN(len(unpaid))]
				orderMu.Unlock()
				lapse(t, e.store, `UPDATE payments SET due_at = now() - interval '1 second' WHERE order_id = $1 AND status = 'PENDING'`, o, &lapsed)
				continue
			case op < 95:
				orderMu.Lock()
				if len(unpaid) == 0 {
					orderMu.Unlock()
					continue
				}
				o := unpaid[rng.IntN(len(unpaid))]
				orderMu.Unlock()
				// The same reference again, or another; each order its
				// own (a reference confirms one order).
				name, in = "confirmPayment", map[string]any{"orderId": o, "reference": fmt.Sprintf("ref-%s-%d", o[:8], rng.IntN(2))}
			default:
				orderMu.Lock()
				if len(orders) == 0 {
					orderMu.Unlock()
					continue
				}
				o := orders[rng.IntN(len(orders))]
				orderMu.Unlock()
				name, in = "cancelOrder", map[string]any{"orderId": o}
			}
			m, r := mutate(t, e.srv.URL, name, in)
			ops.Add(1)
			if len(r.Errors) > 0 {
				t.Errorf("%s: GraphQL error %+v", name, r.Errors)
				continue
			}
			code := codeOf(m)
			if !okCodes[code] && !(name == "adjustStock" && code == "INVALID_QUANTITY") ||
				code == "INVALID_INPUT" && name != "cancelOrder" && name != "adjustStock" {
				t.Errorf("%s: unexpected refusal %s: %s", name, code, m.UserErrors[0].Message)
			}
			if code != "" {
				refusals.Add(1)
				codesMu.Lock()
				codes[name+":"+code]++
				codesMu.Unlock()
			}
			switch {
			case name == "adjustStock" && code == "":
				adjusted[pi].Add(int64(in["delta"].(int)))
			case (name == "checkout" || name == "beginCheckout") && code == "":
				orderMu.Lock()
				orders = append(orders, m.Order.ID)
				if name == "beginCheckout" {
					unpaid = append(unpaid, m.Order.ID)
				}
				orderMu.Unlock()
			}
			// A spent cart is replaced by a fresh one.
			if code == "CART_EXPIRED" || code == "CART_CHECKED_OUT" || ((name == "checkout" || name == "beginCheckout") && code == "") {
				// (t.Errorf, not a Must helper: this is not the test's goroutine.)
				fresh, err := e.store.CreateCart(context.Background())
				if err != nil {
					t.Errorf("create cart: %v", err)
					continue
				}
				cartMu.Lock()
				if cartIDs[slot] == c {
					cartIDs[slot] = fresh.ID
				}
				cartMu.Unlock()
			}
		}
	})
	cancel()
	reapers.Wait()
	t.Logf("storm: %d operations, %d refusals, %d orders, %d holds made to lapse; refusals: %v",
		ops.Load(), refusals.Load(), len(orders), lapsed.Load(), codes)
	require.NotEmpty(t, orders, "the storm placed orders")

	// Every hold still running lapses; the reaper releases them all.
	_, err := e.store.DB().Exec(`UPDATE carts SET expires_at = now() - interval '1 second' WHERE status = 'ACTIVE'`)
	require.NoError(t, err)
	_, err = e.store.DB().Exec(`UPDATE payments SET due_at = now() - interval '1 second' WHERE status = 'PENDING'`)
	require.NoError(t, err)
	for {
		n, err := e.store.ReapExpired(context.Background(), storage.ReaperBatch)
		require.NoError(t, err)
		m, err := e.store.ReapPayments(context.Background(), storage.ReaperBatch)
		require.NoError(t, err)
		if n == 0 && m == 0 {
			break
		}
	}

	books := storagetest.AssertBooks(t, e.store)
	// Stock + units of PLACED orders = initial + adjustments, with the
	// sales counted from the orders, not the ledger: a cancelled order gave
	// its units back, and orders that never were placed (awaiting payment,
	// expired, refunded) never took any.
	var sales []struct {
		ProductID int64 `db:"product_id"`
		Sold      int   `db:"sold"`
	}
	require.NoError(t, e.store.DB().Select(&sales, `
		SELECT ol.product_id, sum(ol.quantity)::int AS sold
		FROM order_lines ol JOIN orders o ON o.id = ol.order_id
		WHERE o.status = 'PLACED'
		GROUP BY ol.product_id`))
	sold := map[int64]int{}
	for _, s := range sales {
		sold[s.ProductID] = s.Sold
	}
	for i, b := range books {
		want := initial + int(adjusted[i].Load())
		assert.Equal(t, want, b.Stock+sold[b.ProductID], "product %d: stock + placed = initial + adjustments", b.ProductID)
		assert.Zero(t, b.Held, "product %d: nothing is held once every hold has lapsed", b.ProductID)
	}
	var statuses []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	require.NoError(t, e.store.DB().Select(&statuses, `SELECT status, count(*) AS n FROM orders GROUP BY status ORDER BY status`))
	t.Logf("orders by status: %+v", statuses)
}

// lapse runs one UPDATE that makes a hold run out (a cart's expiresAt or a
// payment's dueAt set in the past) for id; safe from any goroutine.
func lapse(t *testing.T, s *storage.Store, q, id string, n *atomic.Int64) {
	res, err := s.DB().Exec(q, id)
	if err != nil {
		t.Errorf("lapse %s: %v", id, err)
		return
	}
	if k, _ := res.RowsAffected(); k > 0 {
		n.Add(k)
	}
}
