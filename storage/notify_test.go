package storage_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// stockWatch is one LISTEN connection on a store's database, as a server
// instance holds, and the products it watches.
type stockWatch struct {
	s       *storage.Store
	events  <-chan storage.Event
	barrier int
}

func newStockWatch(t *testing.T, s *storage.Store, url string) *stockWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events, err := storage.Listen(ctx, url, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() {
		cancel()
		for range events { // the listener's goroutine has ended when it closes
		}
	})
	return &stockWatch{s: s, events: events}
}

// product creates a product with the given stock, watched unless unwatched.
func (w *stockWatch) product(t *testing.T, sku string, stock int, unwatched ...bool) *storage.Product {
	t.Helper()
	p := storagetest.MustProduct(t, w.s, sku, stock)
	if len(unwatched) == 0 {
		err := w.s.Watch(context.Background(), storage.ChannelStock, []string{strconv.FormatInt(p.ID, 10)}, time.Hour)
		require.NoError(t, err)
	}
	return p
}

// notified returns the ids of the stock notifications committed since the
// previous call, in order. A barrier notification, committed after them,
// marks the end: PostgreSQL delivers notifications in commit order, so no
// waiting for silence is needed to know that nothing else came.
func (w *stockWatch) notified(t *testing.T) []string {
	t.Helper()
	w.barrier++
	mark := fmt.Sprintf("barrier-%d", w.barrier)
	_, err := w.s.DB().Exec(`SELECT pg_notify($1, $2)`, storage.ChannelStock, mark)
	require.NoError(t, err)
	got := []string{}
	deadline := time.After(30 * time.Second) // a failure's bound, not a wait for silence
	for {
		select {
		case ev, ok := <-w.events:
			require.True(t, ok, "listener closed")
			require.False(t, ev.Resync, "listener reconnected: notifications may be lost")
			switch {
			case ev.Channel != storage.ChannelStock:
			case ev.ID == mark:
				return got
			default:
				got = append(got, ev.ID)
			}
		case <-deadline:
			t.Fatalf("barrier %s not delivered; stock notifications so far: %v", mark, got)
		}
	}
}

func ids(ps ...*storage.Product) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = strconv.FormatInt(p.ID, 10)
	}
	return out
}

// TestStockNotifications: every operation that changes a watched product's
// available units (stock - held) notifies its watchers once, whichever
// statement made the change, and nothing else does. The notification
// comes from the products_notify_stock trigger, so a statement cannot
// forget it (before the trigger, each statement carried its own pg_notify
// and CancelOrder's restock had none).
func TestStockNotifications(t *testing.T) {
	t.Parallel()
	s, url := storagetest.NewStore(t, storagetest.Options())
	w := newStockWatch(t, s, url)
	ctx := context.Background()
	add := func(t *testing.T, c *storage.Cart, p *storage.Product, qty int) {
		t.Helper()
		res, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: qty})
		require.NoError(t, err)
		require.Equal(t, qty, res.Reserved)
	}

	t.Run("addToCart", func(t *testing.T) {
		p := w.product(t, "N-ADD", 10)
		w.notified(t)
		add(t, storagetest.MustCart(t, s), p, 2)
		require.Equal(t, ids(p), w.notified(t))
	})
	t.Run("addToCart allowPartial", func(t *testing.T) {
		p := w.product(t, "N-PARTIAL", 3)
		w.notified(t)
		res, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: storagetest.MustCart(t, s).ID, ProductID: p.ID, Quantity: 5, AllowPartial: true})
		require.NoError(t, err)
		require.Equal(t, 3, res.Reserved)
		require.Equal(t, ids(p), w.notified(t))
	})
	t.Run("coalesced batch", func(t *testing.T) {
		p := w.product(t, "N-BATCH", 10)
		a, b := storagetest.MustCart(t, s), storagetest.MustCart(t, s)
		w.notified(t)
		_, errs := s.RunBatch(ctx, p.ID, []storage.AddToCartParams{
			{CartID: a.ID, ProductID: p.ID, Quantity: 1}, {CartID: b.ID, ProductID: p.ID, Quantity: 2}})
		require.Equal(t, []error{nil, nil}, errs)
		require.Equal(t, ids(p), w.notified(t), "one notification for the batch")
	})
	t.Run("refused reservation", func(t *testing.T) {
		p := w.product(t, "N-REFUSED", 1)
		w.notified(t)
		_, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: storagetest.MustCart(t, s).ID, ProductID: p.ID, Quantity: 2})
		require.Error(t, err)
		require.Empty(t, w.notified(t))
	})
	t.Run("unwatched product", func(t *testing.T) {
		p := w.product(t, "N-UNWATCHED", 10, true)
		w.notified(t)
		add(t, storagetest.MustCart(t, s), p, 1)
		require.Empty(t, w.notified(t))
	})
	t.Run("updateCartLine and removeCartLine", func(t *testing.T) {
		p := w.product(t, "N-LINE", 10)
		c := storagetest.MustCart(t, s)
		add(t, c, p, 2)
		w.notified(t)
		_, err := s.UpdateCartLine(ctx, c.ID, p.ID, 5, "")
		require.NoError(t, err)
		require.Equal(t, ids(p), w.notified(t), "grown")
		_, err = s.UpdateCartLine(ctx, c.ID, p.ID, 1, "")
		require.NoError(t, err)
		require.Equal(t, ids(p), w.notified(t), "shrunk")
		_, err = s.UpdateCartLine(ctx, c.ID, p.ID, 1, "")
		require.NoError(t, err)
		require.Empty(t, w.notified(t), "unchanged")
		_, err = s.RemoveCartLine(ctx, c.ID, p.ID, "")
		require.NoError(t, err)
		require.Equal(t, ids(p), w.notified(t), "removed")
	})
	t.Run("adjustStock", func(t *testing.T) {
		p := w.product(t, "N-ADJUST", 10)
		w.notified(t)
		_, err := s.AdjustStock(ctx, p.ID, -3, "count")
		require.NoError(t, err)
		require.Equal(t, ids(p), w.notified(t))
	})
	t.Run("setStock", func(t *testing.T) {
		p, q, same := w.product(t, "N-SET-1", 10), w.product(t, "N-SET-2", 10), w.product(t, "N-SET-3", 10)
		w.notified(t)
		_, err := s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{
			{ProductID: p.ID, HasProductID: true, Stock: 20},
			{ProductID: q.ID, HasProductID: true, Stock: 5},
			{ProductID: same.ID, HasProductID: true, Stock: 10}}})
		require.NoError(t, err)
		require.ElementsMatch(t, ids(p, q), w.notified(t))
	})
	t.Run("reaper", func(t *testing.T) {
		p, q := w.product(t, "N-REAP-1", 10), w.product(t, "N-REAP-2", 10)
		c := storagetest.MustCart(t, s)
		add(t, c, p, 1)
		add(t, c, q, 2)
		w.notified(t)
		// The hold runs out (set in the database, not waited for).
		_, err := s.DB().Exec(`UPDATE carts SET expires_at = now() - interval '1 second' WHERE id = $1`, c.ID)
		require.NoError(t, err)
		n, err := s.ReapExpired(ctx, storage.ReaperBatch)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.ElementsMatch(t, ids(p, q), w.notified(t))
	})
	t.Run("checkout and cancelOrder", func(t *testing.T) {
		p := w.product(t, "N-ORDER", 10)
		c := storagetest.MustCart(t, s)
		add(t, c, p, 2)
		w.notified(t)
		o, err := s.Checkout(ctx, c.ID, "ada@example.com", "")
		require.NoError(t, err)
		// Held units sold: stock and held fall alike, available is unchanged.
		require.Empty(t, w.notified(t), "checkout")
		_, err = s.CancelOrder(ctx, o.ID)
		require.NoError(t, err)
		require.Equal(t, ids(p), w.notified(t), "cancelOrder restocks")
	})
	t.Run("payment succeeds", func(t *testing.T) {
		p := w.product(t, "N-PAID", 10)
		c := storagetest.MustCart(t, s)
		add(t, c, p, 2)
		w.notified(t)
		o, _, err := s.BeginCheckout(ctx, storage.BeginCheckoutParams{CartID: c.ID, Email: "ada@example.com", Provider: testProvider, TTL: time.Hour})
		require.NoError(t, err)
		require.Empty(t, w.notified(t), "beginCheckout keeps the holds")
		_, err = s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_n_paid"))
		require.NoError(t, err)
		require.Empty(t, w.notified(t), "held units sold")
	})
	t.Run("payment fails, then succeeds late", func(t *testing.T) {
		p := w.product(t, "N-LATE", 10)
		o := mustPending(t, s, 2, p)
		w.notified(t)
		_, err := s.PaymentFailed(ctx, failed(o.ID, "evt_n_failed"), storage.PaymentFailed)
		require.NoError(t, err)
		require.Equal(t, ids(p), w.notified(t), "holds released")
		_, err = s.PaymentSucceeded(ctx, succeeded(o.ID, "evt_n_late"))
		require.NoError(t, err)
		require.Equal(t, ids(p), w.notified(t), "sold again from what is free")
	})
	t.Run("any statement", func(t *testing.T) {
		// Not only the store's statements: an operator's hand-written
		// correction notifies as well.
		p := w.product(t, "N-RAW", 10)
		w.notified(t)
		_, err := s.DB().Exec(`UPDATE products SET held = held + 1 WHERE id = $1`, p.ID)
		require.NoError(t, err)
		require.Equal(t, ids(p), w.notified(t), "held")
		_, err = s.DB().Exec(`UPDATE products SET name = 'Renamed' WHERE id = $1`, p.ID)
		require.NoError(t, err)
		require.Empty(t, w.notified(t), "another column")
		_, err = s.DB().Exec(`UPDATE products SET stock = stock + 1, held = held + 1 WHERE id = $1`, p.ID)
		require.NoError(t, err)
		require.Empty(t, w.notified(t), "available unchanged")
	})
	t.Run("one notification per transaction", func(t *testing.T) {
		p := w.product(t, "N-TX", 10)
		w.notified(t)
		tx, err := s.DB().BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		for range 3 {
			_, err := tx.ExecContext(ctx, `UPDATE products SET stock = stock + 1 WHERE id = $1`, p.ID)
			require.NoError(t, err)
		}
		require.NoError(t, tx.Commit())
		require.Equal(t, ids(p), w.notified(t))
	})
}
