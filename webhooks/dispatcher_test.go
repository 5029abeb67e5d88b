package webhooks_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"holdfast/client"
	"holdfast/storage"
	"holdfast/storage/storagetest"
	"holdfast/webhooks"
)

// No goroutine is ignored: httptest.Server.Close closes its connections
// (and http.DefaultTransport's idle ones) and Store.Close its pools, so a
// test that leaves a server, a connection or a pool open fails here.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// received is one request a receiver got.
type received struct {
	EventID string
	Attempt int
	Topic   string
	Payload webhooks.Payload
	Status  int // what the receiver answered
}

// receiver is a partner's endpoint: it verifies every request's signature
// and answers what answer says (200 by default).
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret atomic.Value // string
	mu     sync.Mutex
	got    []received
	answer func(r received) int
	// inFlight counts concurrent requests per event id.
	inFlight map[string]int
	overlap  atomic.Int64
	delay    time.Duration
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t, inFlight: map[string]int{}}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	secret, _ := rc.secret.Load().(string)
	if err := client.VerifyWebhook(secret, r.Header.Get(client.SignatureHeader), body, 5*time.Minute); err != nil {
		rc.t.Errorf("signature: %v", err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var p webhooks.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		rc.t.Errorf("body %q: %v", body, err)
	}
	attempt, _ := strconv.Atoi(r.Header.Get(webhooks.AttemptHeader))
	rec := received{EventID: r.Header.Get(client.EventIDHeader), Attempt: attempt, Topic: r.Header.Get(webhooks.TopicHeader), Payload: p}
	if rec.EventID != p.ID || rec.Topic != p.Topic {
		rc.t.Errorf("headers %s/%s disagree with the body %s/%s", rec.EventID, rec.Topic, p.ID, p.Topic)
	}
	rc.mu.Lock()
	rc.inFlight[rec.EventID]++
	if rc.inFlight[rec.EventID] > 1 {
		rc.overlap.Add(1)
	}
	answer := rc.answer
	rc.mu.Unlock()
	time.Sleep(rc.delay)
	rec.Status = http.StatusOK
	if answer != nil {
		rec.Status = answer(rec)
	}
	rc.mu.Lock()
	rc.inFlight[rec.EventID]--
	rc.got = append(rc.got, rec)
	rc.mu.Unlock()
	w.WriteHeader(rec.Status)
}

func (rc *receiver) snapshot() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// delivered are the requests answered 2xx.
func (rc *receiver) delivered() []received {
	var out []received
	for _, r := range rc.snapshot() {
		if r.Status < 300 {
			out = append(out, r)
		}
	}
	return out
}

func options() webhooks.Options {
	return webhooks.Options{
		// Timeout only turns a hung receiver into a failure: an attempt cut
		// short on a loaded machine would be retried and counted twice.
		Interval: 10 * time.Millisecond, Timeout: 30 * time.Second, AllowPrivate: true,
		RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, RetryFor: time.Minute,
		DisableAfter: 10, Concurrency: 8,
	}
}

// subscribe creates an endpoint for the receiver on every topic but
// INVENTORY_LEVEL_CHANGED (or those given).
func subscribe(t *testing.T, s *storage.Store, rc *receiver, topics ...string) *storage.WebhookEndpoint {
	t.Helper()
	if len(topics) == 0 {
		// Every topic but the per-location one, whose events these tests
		// do not count.
		for _, t := range storage.Topics {
			if t != storage.TopicInventoryLevelChanged {
				topics = append(topics, t)
			}
		}
	}
	ep, secret, err := s.CreateWebhookEndpoint(context.Background(), rc.srv.URL+"/hook", topics)
	require.NoError(t, err)
	rc.secret.Store(secret)
	return ep
}

// run starts a dispatcher until the test ends.
func run(t *testing.T, s *storage.Store, opts webhooks.Options) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		webhooks.New(s, opts).Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func topics(rs []received) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Topic)
	}
	sort.Strings(out)
	return out
}

func pending(t *testing.T, s *storage.Store) int {
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM webhook_deliveries WHERE status = 'PENDING'`))
	return n
}

// TestEveryTopicFiresOncePerChange walks a product through every change a
// webhook reports and checks that each fires exactly once, signed, with
// the payload's fields, and one product's events in commit order.
func TestEveryTopicFiresOncePerChange(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	rc := newReceiver(t)
	subscribe(t, s, rc)
	three := 3
	p, err := s.CreateProduct(ctx, storage.NewProduct{SKU: "HOOK-1", Name: "Hook", PriceAmount: "2.50", Currency: "USD", Stock: 5, LowStockThreshold: &three})
	require.NoError(t, err)

	_, err = s.AdjustStock(ctx, p.ID, 1, "found one") // 6: STOCK_ADJUSTED
	require.NoError(t, err)
	c := storagetest.MustCart(t, s)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 3}) // 3 left: STOCK_LOW
	require.NoError(t, err)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 3}) // 0: PRODUCT_SOLD_OUT
	require.NoError(t, err)
	order, err := s.Checkout(ctx, c.ID, "ada@example.com", "") // ORDER_PLACED
	require.NoError(t, err)
	_, err = s.CancelOrder(ctx, order.ID) // ORDER_CANCELLED, 6 back: PRODUCT_BACK_IN_STOCK
	require.NoError(t, err)
	res, err := s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{{SKU: "HOOK-1", Stock: 10}}, Reason: "count"}) // STOCK_ADJUSTED
	require.NoError(t, err)
	require.Empty(t, res.Errors)

	run(t, s, options())
	want := []string{"ORDER_CANCELLED", "ORDER_PLACED", "PRODUCT_BACK_IN_STOCK", "PRODUCT_SOLD_OUT", "STOCK_ADJUSTED", "STOCK_ADJUSTED", "STOCK_LOW"}
	eventually(t, "every event", func() bool { return len(rc.delivered()) >= len(want) })
	time.Sleep(100 * time.Millisecond) // nothing more may come
	got := rc.delivered()
	assert.Equal(t, want, topics(got))
	assert.Len(t, rc.snapshot(), len(want), "each delivered on its first attempt")

	// One product's events arrive in the order of their changes.
	var productTopics []string
	last := 0
	for _, r := range got {
		id, _ := strconv.Atoi(r.EventID)
		var data map[string]any
		require.NoError(t, json.Unmarshal(r.Payload.Data, &data))
		if data["productId"] == storage.FormatProductID(p.ID) && data["orderId"] == nil {
			assert.Greater(t, id, last, "events of one key in commit order")
			last = id
			productTopics = append(productTopics, r.Topic)
		}
		assert.False(t, r.Payload.CreatedAt.IsZero())
		switch r.Topic {
		case "ORDER_PLACED":
			assert.Equal(t, order.ID, data["orderId"])
			assert.Equal(t, "15.00", data["total"])
			assert.Equal(t, "PLACED", data["status"])
		case "ORDER_CANCELLED":
			assert.Equal(t, "CANCELLED", data["status"])
		case "PRODUCT_SOLD_OUT":
			assert.EqualValues(t, 0, data["available"])
		case "STOCK_LOW":
			assert.EqualValues(t, 3, data["available"])
			assert.EqualValues(t, 3, data["lowStockThreshold"])
		}
	}
	assert.Equal(t, []string{"STOCK_ADJUSTED", "STOCK_LOW", "PRODUCT_SOLD_OUT", "PRODUCT_BACK_IN_STOCK", "STOCK_ADJUSTED"}, productTopics)
	assert.Zero(t, pending(t, s))
	storagetest.AssertBooks(t, s)
}

// TestReceiverDownThenUp: a receiver that fails for a while gets the event
// retried with the same event id and signed anew, and delivered once when
// it answers 2xx.
func TestReceiverDownThenUp(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	rc := newReceiver(t)
	var calls atomic.Int64
	rc.answer = func(received) int {
		if calls.Add(1) <= 4 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	}
	ep := subscribe(t, s, rc, storage.TopicStockAdjusted)
	p := storagetest.MustProduct(t, s, "DOWN-1", 3)
	_, err := s.AdjustStock(context.Background(), p.ID, 2, "")
	require.NoError(t, err)

	run(t, s, options())
	eventually(t, "the delivery", func() bool { return len(rc.delivered()) == 1 })
	time.Sleep(150 * time.Millisecond)
	got := rc.snapshot()
	require.Len(t, got, 5)
	for i, r := range got {
		assert.Equal(t, got[0].EventID, r.EventID, "the same event id on every attempt")
		assert.Equal(t, i+1, r.Attempt)
	}
	ds, _, err := s.WebhookDeliveries(context.Background(), ep.ID, 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	assert.Equal(t, storage.DeliveryDelivered, ds[0].Status)
	assert.Equal(t, 5, ds[0].Attempts)
	require.NotNil(t, ds[0].LastStatusCode)
	assert.Equal(t, http.StatusNoContent, *ds[0].LastStatusCode)
	assert.NotNil(t, ds[0].DeliveredAt)

	// Redelivery sends the same event again.
	_, err = s.RedeliverWebhook(context.Background(), ds[0].ID)
	require.NoError(t, err)
	eventually(t, "the redelivery", func() bool { return len(rc.delivered()) == 2 })
	assert.Equal(t, got[0].EventID, rc.delivered()[1].EventID)
}

// TestDeadDispatcherAttemptIsRetried: a dispatcher that claimed a delivery
// and died (its claim is made here and never recorded) only delays it: once
// the lease runs out, another dispatcher delivers it, same event id.
func TestDeadDispatcherAttemptIsRetried(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	rc := newReceiver(t)
	subscribe(t, s, rc)
	p := storagetest.MustProduct(t, s, "DEAD-1", 3)
	_, err := s.AdjustStock(context.Background(), p.ID, 2, "")
	require.NoError(t, err)

	// Taken before the claim: the lease runs out 300 ms after the claim's
	// transaction began, so at least that long after start, however long
	// the claim took to answer.
	start := time.Now()
	claimed, err := s.ClaimDeliveries(context.Background(), 10, 300*time.Millisecond)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	run(t, s, options())
	eventually(t, "the delivery", func() bool { return len(rc.delivered()) == 1 })
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond, "not before the lease ran out")
	r := rc.delivered()[0]
	assert.Equal(t, strconv.FormatInt(claimed[0].EventID, 10), r.EventID)
	assert.Equal(t, 2, r.Attempt, "the dead dispatcher's attempt counts")
	// The receiver has the request before the dispatcher records it.
	var status string
	eventually(t, "the delivery recorded", func() bool {
		require.NoError(t, s.DB().Get(&status, `SELECT status FROM webhook_deliveries WHERE id = $1`, claimed[0].ID))
		return status == storage.DeliveryDelivered
	})
	// The dead dispatcher's late result is ignored: the attempt is gone.
	require.NoError(t, s.RecordDelivery(context.Background(), claimed[0].ID, claimed[0].Attempt,
		storage.DeliveryResult{StatusCode: 500, Error: "late", NextAttempt: time.Now()}, 10))
	require.NoError(t, s.DB().Get(&status, `SELECT status FROM webhook_deliveries WHERE id = $1`, claimed[0].ID))
	assert.Equal(t, storage.DeliveryDelivered, status)
}

// TestTwoDispatchersShareTheOutbox: dispatchers on two pools (two server
// processes) against a receiver that fails a third of the attempts: every
// event is delivered exactly once, no attempt is ever in flight twice, and
// each product's events arrive in commit order.
func TestTwoDispatchersShareTheOutbox(t *testing.T) {
	t.Parallel()
	s, u := storagetest.NewStore(t, storagetest.Options())
	s2 := storagetest.OpenStore(t, u, storagetest.Options())
	ctx := context.Background()
	rc := newReceiver(t)
	rc.delay = 2 * time.Millisecond
	var n atomic.Int64
	rc.answer = func(received) int {
		if n.Add(1)%3 == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}
	subscribe(t, s, rc, storage.TopicStockAdjusted)
	const products, adjustments = 6, 15
	var ps []*storage.Product
	for i := range products {
		ps = append(ps, storagetest.MustProduct(t, s, "TWO-"+strconv.Itoa(i), 100))
	}
	opts := options()
	opts.RetryBase, opts.RetryMax = 5*time.Millisecond, 20*time.Millisecond
	opts.Batch = 5
	run(t, s, opts)
	run(t, s2, opts)
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range adjustments {
				if _, err := s.AdjustStock(ctx, p.ID, 1, ""); err != nil {
					t.Errorf("adjust: %v", err)
				}
			}
		}()
	}
	wg.Wait()
	eventually(t, "every event", func() bool { return len(rc.delivered()) >= products*adjustments && pending(t, s) == 0 })
	time.Sleep(100 * time.Millisecond)
	got := rc.delivered()
	assert.Len(t, got, products*adjustments, "each event delivered once")
	seen := map[string]bool{}
	lastPerProduct := map[any]int{}
	for _, r := range got {
		assert.False(t, seen[r.EventID], "event %s delivered twice", r.EventID)
		seen[r.EventID] = true
		var data map[string]any
		require.NoError(t, json.Unmarshal(r.Payload.Data, &data))
		id, _ := strconv.Atoi(r.EventID)
		assert.Greater(t, id, lastPerProduct[data["productId"]], "product %v: events out of order", data["productId"])
		lastPerProduct[data["productId"]] = id
	}
	assert.Zero(t, rc.overlap.Load(), "an event was in flight twice at once")
	assert.Greater(t, len(rc.snapshot()), len(got), "some attempts failed and were retried")
}

// TestEndpointDisabledAfterFailedDeliveries: deliveries that fail for good
// (here at once: no retry window) disable the endpoint after DisableAfter
// in a row, and a disabled endpoint gets no new events.
func TestEndpointDisabledAfterFailedDeliveries(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	rc := newReceiver(t)
	rc.answer = func(received) int { return http.StatusGone }
	ep := subscribe(t, s, rc, storage.TopicStockAdjusted)
	p := storagetest.MustProduct(t, s, "GONE-1", 3)
	opts := options()
	opts.RetryFor = time.Millisecond
	opts.DisableAfter = 3
	run(t, s, opts)
	for range 3 {
		_, err := s.AdjustStock(ctx, p.ID, 1, "")
		require.NoError(t, err)
	}
	eventually(t, "the endpoint disabled", func() bool {
		eps, err := s.WebhookEndpoints(ctx)
		require.NoError(t, err)
		return eps[0].DisabledAt != nil
	})
	_, err := s.AdjustStock(ctx, p.ID, 1, "")
	require.NoError(t, err)
	ds, _, err := s.WebhookDeliveries(ctx, ep.ID, 10, 0)
	require.NoError(t, err)
	require.Len(t, ds, 3, "no delivery for a disabled endpoint")
	for _, d := range ds {
		assert.Equal(t, storage.DeliveryFailed, d.Status)
		assert.Equal(t, "answered 410 Gone", *d.LastError)
	}
}

// TestReenabledEndpointResumes: an endpoint disabled after failed
// deliveries, enabled again by updateWebhookEndpoint, starts with no
// failures counted and gets the next events, delivered to the receiver.
func TestReenabledEndpointResumes(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	rc := newReceiver(t)
	var down atomic.Bool
	down.Store(true)
	rc.answer = func(received) int {
		if down.Load() {
			return http.StatusGone
		}
		return http.StatusOK
	}
	ep := subscribe(t, s, rc, storage.TopicStockAdjusted)
	p := storagetest.MustProduct(t, s, "BACK-1", 3)
	opts := options()
	opts.RetryFor = time.Millisecond
	opts.DisableAfter = 2
	run(t, s, opts)
	for range 2 {
		_, err := s.AdjustStock(ctx, p.ID, 1, "")
		require.NoError(t, err)
	}
	eventually(t, "the endpoint disabled", func() bool {
		eps, err := s.WebhookEndpoints(ctx)
		require.NoError(t, err)
		return eps[0].DisabledAt != nil
	})
	require.Empty(t, rc.delivered())

	down.Store(false)
	enabled := true
	got, err := s.UpdateWebhookEndpoint(ctx, ep.ID, storage.WebhookEndpointUpdate{Enabled: &enabled})
	require.NoError(t, err)
	assert.Nil(t, got.DisabledAt)
	var failures int
	require.NoError(t, s.DB().Get(&failures, `SELECT consecutive_failures FROM webhook_endpoints WHERE id = $1`, ep.ID))
	assert.Zero(t, failures)

	_, err = s.AdjustStock(ctx, p.ID, 1, "after")
	require.NoError(t, err)
	eventually(t, "the next event delivered", func() bool { return len(rc.delivered()) == 1 })
	d := rc.delivered()[0]
	assert.Equal(t, storage.TopicStockAdjusted, d.Topic)
	// The receiver sees the request before the dispatcher records the
	// answer: wait for the record, not for a moment.
	var ds []*storage.WebhookDelivery
	eventually(t, "the newest delivery recorded as delivered", func() bool {
		ds, _, err = s.WebhookDeliveries(ctx, ep.ID, 10, 0)
		require.NoError(t, err)
		return len(ds) == 3 && ds[0].Status == storage.DeliveryDelivered
	})
}

// TestLastErrorHidesResolverAddress: a delivery to a host the resolver
// cannot find records "could not resolve host", not the Go error that
// names the server's resolver (lookup x on 127.0.0.53:53: no such host);
// one to a host resolving inside the network records no address either.
func TestLastErrorHidesResolverAddress(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	gone, _, err := s.CreateWebhookEndpoint(ctx, "https://gone.example.com/hook", []string{storage.TopicStockAdjusted})
	require.NoError(t, err)
	internal, _, err := s.CreateWebhookEndpoint(ctx, "https://internal.example.com/hook", []string{storage.TopicStockAdjusted})
	require.NoError(t, err)
	p := storagetest.MustProduct(t, s, "NXDOMAIN-1", 3)
	opts := options()
	opts.AllowPrivate = false
	opts.Client = webhooks.ClientWith(2*time.Second, false, resolver)
	opts.RetryFor = time.Millisecond
	run(t, s, opts)
	_, err = s.AdjustStock(ctx, p.ID, 1, "")
	require.NoError(t, err)
	ipPort := regexp.MustCompile(`\d{1,3}(\.\d{1,3}){3}|:\d+\b`)
	for ep, want := range map[int64]string{
		gone.ID:     "could not resolve host: no such host",
		internal.ID: "refused: the host is, or resolves to, an address that is not public",
	} {
		var last string
		eventually(t, "the delivery failed", func() bool {
			ds, _, err := s.WebhookDeliveries(ctx, ep, 10, 0)
			require.NoError(t, err)
			if len(ds) == 1 && ds[0].Status == storage.DeliveryFailed && ds[0].LastError != nil {
				last = *ds[0].LastError
				return true
			}
			return false
		})
		assert.Equal(t, want, last)
		assert.NotRegexp(t, ipPort, last)
	}
}
