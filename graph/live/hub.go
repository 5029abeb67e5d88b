// Package live fans database change notifications out to GraphQL
// subscribers.
//
// Each server instance holds one LISTEN connection (storage.Listen). A
// notification carries only an id; the hub marks it dirty and, every push
// interval, re-reads the current values of everything dirty in one pass and
// hands each subscriber the latest value per product or cart. Reads happen
// after the notification, in one sequential loop, so the last value a
// subscriber gets is never older than the last committed change. After the
// listener reconnects, everything watched is re-read and re-sent.
package live

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"holdfast/storage"
)

// Hub is one instance's subscription fan-out.
type Hub struct {
	store    *storage.Store
	log      *slog.Logger
	interval time.Duration
	watchTTL time.Duration

	mu            sync.Mutex
	products      map[int64]map[*Sub]struct{}
	carts         map[string]map[*Sub]struct{}
	dirtyProducts map[int64]struct{}
	dirtyCarts    map[string]struct{}
	// New subscriptions' first values, read for them alone.
	firstProducts map[*Sub][]int64
	firstCarts    map[*Sub]string
	// Subscriptions served with shared frames (WatchStockFrames), by
	// product and renderer key, and their first levels still to send.
	frames      map[int64]map[string]*frameGroup
	firstFrames map[*frameSub][]int64
	nFrames     int
	expiry      map[string]*time.Timer
	wake        chan struct{}

	// Pacing of products with a large audience (SetLargeAudience): a
	// product watched by at least largeAudience subscriptions is pushed at
	// most every largeInterval.
	largeAudience int
	largeInterval time.Duration
	lastPush      map[int64]time.Time
	now           func() time.Time
}

// New builds a hub that pushes at most every interval (STOCK_PUSH_INTERVAL:
// the server passes config's).
func New(store *storage.Store, log *slog.Logger, interval time.Duration) *Hub {
	if interval <= 0 {
		panic("live: a push interval of " + interval.String())
	}
	return &Hub{
		store:         store,
		log:           log,
		interval:      interval,
		watchTTL:      time.Minute,
		products:      map[int64]map[*Sub]struct{}{},
		carts:         map[string]map[*Sub]struct{}{},
		dirtyProducts: map[int64]struct{}{},
		dirtyCarts:    map[string]struct{}{},
		firstProducts: map[*Sub][]int64{},
		firstCarts:    map[*Sub]string{},
		frames:        map[int64]map[string]*frameGroup{},
		firstFrames:   map[*frameSub][]int64{},
		expiry:        map[string]*time.Timer{},
		wake:          make(chan struct{}, 1),
		lastPush:      map[int64]time.Time{},
		now:           time.Now,
	}
}

// SetLargeAudience paces the products that at least audience subscriptions
// watch: each is pushed at most every interval (longer than the hub's own)
// instead of every push interval. During a drop thousands of shoppers watch
// one product, and every push is one write per subscriber: halving the
// pushes halves the fan-out's share of the CPU the sale needs, while each
// shopper still sees the level within interval of the last change. Call it
// before Run; audience <= 0 or interval <= the push interval turns it off.
func (h *Hub) SetLargeAudience(audience int, interval time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.largeAudience, h.largeInterval = audience, interval
}

// audience counts the subscriptions of a product. Called with h.mu held.
func (h *Hub) audience(id int64) int {
	n := len(h.products[id])
	for _, g := range h.frames[id] {
		n += len(g.subs)
	}
	return n
}

// paced takes out of dirty the products with a large audience pushed too
// recently: they stay dirty for a later flush. Called with h.mu held.
func (h *Hub) paced(dirty map[int64]struct{}) map[int64]struct{} {
	later := map[int64]struct{}{}
	if h.largeAudience <= 0 || h.largeInterval <= h.interval {
		return later
	}
	now := h.now()
	for id := range dirty {
		if h.audience(id) < h.largeAudience {
			delete(h.lastPush, id)
			continue
		}
		// Half a tick of slack: ticks are not exact, and a push due at the
		// next tick must not slip to the one after.
		if now.Sub(h.lastPush[id]) < h.largeInterval-h.interval/2 {
			later[id] = struct{}{}
			delete(dirty, id)
			continue
		}
		h.lastPush[id] = now
	}
	return later
}

// Sub is one subscription's mailbox: the latest pending value per product
// (or the latest cart), and a signal that something is pending.
type Sub struct {
	mu     sync.Mutex
	levels map[int64]storage.StockLevel
	cart   *storage.Cart
	signal chan struct{}
}

func newSub() *Sub {
	return &Sub{levels: map[int64]storage.StockLevel{}, signal: make(chan struct{}, 1)}
}

func (s *Sub) poke() {
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Run consumes database events until ctx ends or events closes.
func (h *Hub) Run(ctx context.Context, events <-chan storage.Event) {
	tick := time.NewTicker(h.interval)
	defer tick.Stop()
	refresh := time.NewTicker(h.watchTTL / 3)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			h.mark(ev)
			if ev.Resync {
				// The database may have restarted: its UNLOGGED watches
				// table is then empty, so register ours again at once.
				h.refreshWatches(ctx)
			}
		case <-h.wake:
			h.flush(ctx)
		case <-tick.C:
			h.flush(ctx)
		case <-refresh.C:
			h.refreshWatches(ctx)
		}
	}
}

func (h *Hub) mark(ev storage.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case ev.Resync:
		for id := range h.products {
			h.dirtyProducts[id] = struct{}{}
		}
		for id := range h.frames {
			h.dirtyProducts[id] = struct{}{}
		}
		for id := range h.carts {
			h.dirtyCarts[id] = struct{}{}
		}
	case ev.Channel == storage.ChannelStock:
		if id, err := strconv.ParseInt(ev.ID, 10, 64); err == nil {
			_, watched := h.products[id]
			_, framed := h.frames[id]
			if watched || framed {
				h.dirtyProducts[id] = struct{}{}
			}
		}
	case ev.Channel == storage.ChannelCart:
		if _, watched := h.carts[ev.ID]; watched {
			h.dirtyCarts[ev.ID] = struct{}{}
		}
	}
}

// flush re-reads everything dirty (for all its subscribers) and the first
// values of new subscriptions (for them alone), and hands the values over.
func (h *Hub) flush(ctx context.Context) {
	h.mu.Lock()
	if len(h.dirtyProducts) == 0 && len(h.dirtyCarts) == 0 && len(h.firstProducts) == 0 && len(h.firstCarts) == 0 && len(h.firstFrames) == 0 {
		h.mu.Unlock()
		return
	}
	later := h.paced(h.dirtyProducts)
	want := map[int64]struct{}{}
	for id := range h.dirtyProducts {
		want[id] = struct{}{}
	}
	for _, ids := range h.firstProducts {
		for _, id := range ids {
			want[id] = struct{}{}
		}
	}
	for _, ids := range h.firstFrames {
		for _, id := range ids {
			want[id] = struct{}{}
		}
	}
	pids := make([]int64, 0, len(want))
	for id := range want {
		pids = append(pids, id)
	}
	dirtyP := h.dirtyProducts
	firstP := h.firstProducts
	firstF := h.firstFrames
	h.dirtyProducts, h.firstProducts, h.firstFrames = later, map[*Sub][]int64{}, map[*frameSub][]int64{}
	carts := map[string]struct{}{}
	for id := range h.dirtyCarts {
		carts[id] = struct{}{}
	}
	for _, id := range h.firstCarts {
		carts[id] = struct{}{}
	}
	dirtyC := h.dirtyCarts
	firstC := h.firstCarts
	h.dirtyCarts, h.firstCarts = map[string]struct{}{}, map[*Sub]string{}
	h.mu.Unlock()

	if len(pids) > 0 {
		levels, err := h.store.StockLevels(ctx, pids)
		if err != nil {
			h.retryLater(dirtyP, firstP, dirtyC, firstC, err)
			h.mu.Lock()
			for s, ids := range firstF {
				h.firstFrames[s] = append(h.firstFrames[s], ids...)
			}
			h.mu.Unlock()
			return
		}
		byID := make(map[int64]storage.StockLevel, len(levels))
		for _, l := range levels {
			byID[l.ProductID] = l
		}
		h.mu.Lock()
		for id := range dirtyP {
			if l, ok := byID[id]; ok {
				for s := range h.products[id] {
					s.put(l)
				}
			}
		}
		for s, ids := range firstP {
			for _, id := range ids {
				if l, ok := byID[id]; ok {
					s.put(l)
				}
			}
		}
		h.pushFrames(byID, dirtyP, firstF)
		h.mu.Unlock()
	}
	for id := range carts {
		c, err := h.store.CartByIDAnyOwner(ctx, id)
		if err != nil {
			h.retryLater(nil, nil, dirtyC, firstC, err)
			return
		}
		if c == nil {
			continue
		}
		h.mu.Lock()
		if _, all := dirtyC[id]; all {
			for s := range h.carts[id] {
				s.putCart(c)
			}
		} else {
			for s, cid := range firstC {
				if cid == id {
					s.putCart(c)
				}
			}
		}
		if c.Status == storage.CartActive && len(h.carts[id]) > 0 {
			h.scheduleExpiry(id, c.ExpiresAt)
		}
		h.mu.Unlock()
	}
}

func (s *Sub) put(l storage.StockLevel) {
	s.mu.Lock()
	s.levels[l.ProductID] = l
	s.mu.Unlock()
	s.poke()
}

func (s *Sub) putCart(c *storage.Cart) {
	s.mu.Lock()
	s.cart = c
	s.mu.Unlock()
	s.poke()
}

// scheduleExpiry re-reads a watched cart when its holds run out, so its
// subscribers learn at once that it expired (the reaper may come later).
// Called with h.mu held.
func (h *Hub) scheduleExpiry(id string, at time.Time) {
	if t := h.expiry[id]; t != nil {
		t.Stop()
	}
	h.expiry[id] = time.AfterFunc(time.Until(at)+5*time.Millisecond, func() {
		h.mark(storage.Event{Channel: storage.ChannelCart, ID: id})
		h.poke()
	})
}

// retryLater puts back what a failed flush could not read.
func (h *Hub) retryLater(dirtyP map[int64]struct{}, firstP map[*Sub][]int64, dirtyC map[string]struct{}, firstC map[*Sub]string, err error) {
	if h.log != nil {
		h.log.Warn("live: reading current values failed; will retry", "err", err.Error())
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range dirtyP {
		h.dirtyProducts[id] = struct{}{}
	}
	for s, ids := range firstP {
		h.firstProducts[s] = append(h.firstProducts[s], ids...)
	}
	for id := range dirtyC {
		h.dirtyCarts[id] = struct{}{}
	}
	for s, id := range firstC {
		h.firstCarts[s] = id
	}
}

func (h *Hub) poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// refreshWatches keeps this instance's watches alive in the database.
func (h *Hub) refreshWatches(ctx context.Context) {
	h.mu.Lock()
	pids := make([]string, 0, len(h.products)+len(h.frames))
	for id := range h.products {
		pids = append(pids, strconv.FormatInt(id, 10))
	}
	for id := range h.frames {
		if _, dup := h.products[id]; !dup {
			pids = append(pids, strconv.FormatInt(id, 10))
		}
	}
	cids := make([]string, 0, len(h.carts))
	for id := range h.carts {
		cids = append(cids, id)
	}
	h.mu.Unlock()
	if err := h.store.Watch(ctx, storage.ChannelStock, pids, h.watchTTL); err != nil && h.log != nil {
		h.log.Warn("live: refreshing watches failed", "err", err.Error())
	}
	if err := h.store.Watch(ctx, storage.ChannelCart, cids, h.watchTTL); err != nil && h.log != nil {
		h.log.Warn("live: refreshing watches failed", "err", err.Error())
	}
}

// Subscriptions counts live subscriptions.
func (h *Hub) Subscriptions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	subs := map[*Sub]struct{}{}
	for _, set := range h.products {
		for s := range set {
			subs[s] = struct{}{}
		}
	}
	n := len(subs) + h.nFrames
	for _, set := range h.carts {
		n += len(set)
	}
	return n
}

// SubscribeStock delivers the levels of the given products: first their
// current levels, then every change, coalesced per push interval. The
// channel closes when ctx ends.
func (h *Hub) SubscribeStock(ctx context.Context, ids []int64) (<-chan storage.StockLevel, error) {
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.FormatInt(id, 10)
	}
	// Watch first, so no change after this point goes unnotified.
	if err := h.store.Watch(ctx, storage.ChannelStock, strs, h.watchTTL); err != nil {
		return nil, err
	}
	s := newSub()
	h.mu.Lock()
	for _, id := range ids {
		if h.products[id] == nil {
			h.products[id] = map[*Sub]struct{}{}
		}
		h.products[id][s] = struct{}{}
	}
	h.firstProducts[s] = ids // the current levels come first
	h.mu.Unlock()
	h.poke()

	out := make(chan storage.StockLevel)
	go func() {
		defer close(out)
		defer func() {
			h.mu.Lock()
			delete(h.firstProducts, s)
			for _, id := range ids {
				delete(h.products[id], s)
				if len(h.products[id]) == 0 {
					delete(h.products, id)
					delete(h.lastPush, id)
				}
			}
			h.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.signal:
			}
			s.mu.Lock()
			pending := make([]storage.StockLevel, 0, len(s.levels))
			for _, l := range s.levels {
				pending = append(pending, l)
			}
			clear(s.levels)
			s.mu.Unlock()
			slices.SortFunc(pending, func(a, b storage.StockLevel) int { return cmp.Compare(a.ProductID, b.ProductID) })
			for _, l := range pending {
				select {
				case out <- l:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// SubscribeCart delivers the cart now and after each change, coalesced per
// push interval, until ctx ends.
func (h *Hub) SubscribeCart(ctx context.Context, cartID string) (<-chan *storage.Cart, error) {
	if err := h.store.Watch(ctx, storage.ChannelCart, []string{cartID}, h.watchTTL); err != nil {
		return nil, err
	}
	s := newSub()
	h.mu.Lock()
	if h.carts[cartID] == nil {
		h.carts[cartID] = map[*Sub]struct{}{}
	}
	h.carts[cartID][s] = struct{}{}
	h.firstCarts[s] = cartID // the current cart comes first
	h.mu.Unlock()
	h.poke()

	out := make(chan *storage.Cart)
	go func() {
		defer close(out)
		defer func() {
			h.mu.Lock()
			delete(h.firstCarts, s)
			delete(h.carts[cartID], s)
			if len(h.carts[cartID]) == 0 {
				delete(h.carts, cartID)
				if t := h.expiry[cartID]; t != nil {
					t.Stop()
					delete(h.expiry, cartID)
				}
			}
			h.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.signal:
			}
			s.mu.Lock()
			c := s.cart
			s.cart = nil
			s.mu.Unlock()
			if c == nil {
				continue
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
