package live

import (
	"context"
	"strconv"
	"sync"

	"holdfast/storage"
)

// A Renderer turns a level into the bytes a subscriber is sent. Subscribers
// whose renderers have the same Key get the same bytes: the hub renders
// once per product level and key, whatever the number of subscribers.
type Renderer interface {
	Key() string
	Render(storage.StockLevel) []byte
}

// A FrameSink takes a subscription's frames. Frame must not block (the hub
// calls it with its lock held) and must not keep or change payload beyond
// reading it: the same bytes go to every subscriber of the key.
type FrameSink interface {
	Frame(productID int64, payload []byte)
}

// frameSub is one subscription served with shared frames.
type frameSub struct {
	r    Renderer
	sink FrameSink
	ids  []int64
}

// frameGroup is a product's subscribers with one renderer key.
type frameGroup struct {
	r    Renderer
	subs map[*frameSub]struct{}
}

type renderKey struct {
	id  int64
	key string
}

// WatchStockFrames delivers the levels of the given products to sink as
// frames rendered by r: first the current levels, then every change,
// coalesced per push interval. stop ends the subscription.
func (h *Hub) WatchStockFrames(ctx context.Context, ids []int64, r Renderer, sink FrameSink) (stop func(), err error) {
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = strconv.FormatInt(id, 10)
	}
	// Watch first, so no change after this point goes unnotified.
	if err := h.store.Watch(ctx, storage.ChannelStock, strs, h.watchTTL); err != nil {
		return nil, err
	}
	s := &frameSub{r: r, sink: sink, ids: ids}
	key := r.Key()
	h.mu.Lock()
	for _, id := range ids {
		groups := h.frames[id]
		if groups == nil {
			groups = map[string]*frameGroup{}
			h.frames[id] = groups
		}
		g := groups[key]
		if g == nil {
			g = &frameGroup{r: r, subs: map[*frameSub]struct{}{}}
			groups[key] = g
		}
		g.subs[s] = struct{}{}
	}
	h.firstFrames[s] = ids
	h.nFrames++
	h.mu.Unlock()
	h.poke()
	var once sync.Once
	return func() { once.Do(func() { h.unwatchFrames(s, key) }) }, nil
}

func (h *Hub) unwatchFrames(s *frameSub, key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nFrames--
	delete(h.firstFrames, s)
	for _, id := range s.ids {
		groups := h.frames[id]
		if g := groups[key]; g != nil {
			delete(g.subs, s)
			if len(g.subs) == 0 {
				delete(groups, key)
			}
		}
		if len(groups) == 0 {
			delete(h.frames, id)
			delete(h.lastPush, id)
		}
	}
}

// pushFrames hands the read levels to frame subscribers: everyone watching
// a dirty product, and new subscriptions their first levels. Each level is
// rendered once per renderer key. Called with h.mu held.
func (h *Hub) pushFrames(byID map[int64]storage.StockLevel, dirty map[int64]struct{}, first map[*frameSub][]int64) {
	rendered := map[renderKey][]byte{}
	render := func(l storage.StockLevel, r Renderer) []byte {
		k := renderKey{l.ProductID, r.Key()}
		b, ok := rendered[k]
		if !ok {
			b = r.Render(l)
			rendered[k] = b
		}
		return b
	}
	for id := range dirty {
		l, ok := byID[id]
		if !ok {
			continue
		}
		for _, g := range h.frames[id] {
			b := render(l, g.r)
			for s := range g.subs {
				s.sink.Frame(id, b)
			}
		}
	}
	for s, ids := range first {
		for _, id := range ids {
			if l, ok := byID[id]; ok {
				s.sink.Frame(id, render(l, s.r))
			}
		}
	}
}
