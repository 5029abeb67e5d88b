package live

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// receive waits for the next level on ch; the deadline only turns a hang
// into a failure.
func receive(t *testing.T, ch <-chan storage.StockLevel) storage.StockLevel {
	t.Helper()
	select {
	case l := <-ch:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no level arrived")
		return storage.StockLevel{}
	}
}

// A product with a large audience is pushed at most every large interval;
// a product with a small one at every push. The clock is the test's: flush
// runs by hand at chosen instants, so nothing depends on timing.
func TestLargeAudiencePacing(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	crowded := storagetest.MustProduct(t, store, "CROWD", 100)
	quiet := storagetest.MustProduct(t, store, "QUIET", 100)

	h := New(store, nil, 50*time.Millisecond)
	h.SetLargeAudience(3, 200*time.Millisecond)
	t0 := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	clock := t0
	h.now = func() time.Time { return clock }

	var crowd []<-chan storage.StockLevel
	for range 3 {
		ch, err := h.SubscribeStock(ctx, []int64{crowded.ID})
		require.NoError(t, err)
		crowd = append(crowd, ch)
	}
	few, err := h.SubscribeStock(ctx, []int64{quiet.ID})
	require.NoError(t, err)
	h.flush(ctx) // first levels
	for _, ch := range crowd {
		assert.Equal(t, 100, receive(t, ch).Available)
	}
	assert.Equal(t, 100, receive(t, few).Available)

	change := func(delta int) {
		t.Helper()
		for _, p := range []*storage.Product{crowded, quiet} {
			_, err := store.AdjustStock(ctx, p.ID, delta, "test")
			require.NoError(t, err)
			h.mark(storage.Event{Channel: storage.ChannelStock, ID: strconv.FormatInt(p.ID, 10)})
		}
	}
	dirty := func(id int64) bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		_, ok := h.dirtyProducts[id]
		return ok
	}

	change(1)
	h.flush(ctx) // t0: the crowded product's first change goes at once
	for _, ch := range crowd {
		assert.Equal(t, 101, receive(t, ch).Available)
	}
	assert.Equal(t, 101, receive(t, few).Available)

	change(1)
	clock = t0.Add(50 * time.Millisecond)
	h.flush(ctx) // one tick later: the quiet product goes, the crowded one waits
	assert.Equal(t, 102, receive(t, few).Available)
	assert.False(t, dirty(quiet.ID))
	assert.True(t, dirty(crowded.ID), "pushed 50 ms after the last push of a product with a large audience")

	change(1)
	clock = t0.Add(100 * time.Millisecond)
	h.flush(ctx)
	assert.Equal(t, 103, receive(t, few).Available)
	assert.True(t, dirty(crowded.ID), "still within its 200 ms")

	clock = t0.Add(175 * time.Millisecond) // half a tick early is on time
	h.flush(ctx)
	assert.False(t, dirty(crowded.ID))
	for _, ch := range crowd {
		assert.Equal(t, 103, receive(t, ch).Available, "the latest level, the intermediate one conflated")
	}
}
