package graph_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/graph/live"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// watchServer is one instance (pool, LISTEN connection, hub) whose
// handler serves both an httptest server and, for tests that need a socket
// with no buffer at all, a pipe listener; its metrics are readable.
type watchServer struct {
	store *storage.Store
	srv   *httptest.Server
	reg   *prometheus.Registry
	pipes *pipeListener
	hub   *live.Hub
}

func newWatchServer(t *testing.T, cfg graph.HandlerConfig) *watchServer {
	t.Helper()
	dbURL := storagetest.URL(t)
	store := storagetest.OpenStore(t, dbURL, storagetest.Options())
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.DiscardHandler)
	events, err := storage.Listen(ctx, dbURL+"&application_name=holdfast-listener", log)
	require.NoError(t, err)
	hub := live.New(store, log, 50*time.Millisecond)
	done := make(chan struct{})
	go func() { hub.Run(ctx, events); close(done) }()
	reg := prometheus.NewRegistry()
	metrics := httpapi.NewMetrics(reg)
	cfg.Store, cfg.AdminToken, cfg.Hub = store, adminToken, hub
	cfg.Metrics, cfg.Observe = graph.NewMetrics(reg), metrics.Observe
	h := newAPI(cfg, httpapi.APIConfig{MaxWebsocketsPerAddress: -1, Metrics: metrics})
	w := &watchServer{store: store, srv: httptest.NewServer(h), reg: reg, pipes: newPipeListener(), hub: hub}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{})
	go func() { _ = hs.Serve(w.pipes); close(served) }()
	t.Cleanup(func() {
		w.srv.CloseClientConnections()
		w.srv.Close()
		_ = hs.Close()
		<-served
		cancel()
		<-done
		for range events { // let the listener goroutine finish
		}
	})
	return w
}

// counter reads a counter's value (summed over its labels).
func (w *watchServer) counter(t *testing.T, name string) int {
	t.Helper()
	mfs, err := w.reg.Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return int(sum)
}

// pipeListener hands the HTTP server one end of a net.Pipe per dial: a
// socket with no buffer, so a client that stops reading blocks the
// server's very next write.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dialPipe opens a websocket over the pipe listener, acknowledged.
func (w *watchServer) dialPipe(t *testing.T) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	client := &http.Client{Transport: &http.Transport{DialContext: w.pipes.dial}}
	conn, resp, err := websocket.Dial(ctx, "ws://127.0.0.1/", &websocket.DialOptions{
		HTTPClient: client, Subprotocols: []string{"graphql-transport-ws"},
	})
	require.NoError(t, err)
	if resp.Body != nil {
		resp.Body.Close()
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	c := &wsClient{t: t, conn: conn, ctx: ctx}
	require.NoError(t, wsjson.Write(ctx, conn, wsMsg{Type: "connection_init", Payload: json.RawMessage(`{}`)}))
	require.Equal(t, "connection_ack", c.next(5*time.Second).Type)
	return c
}

// awaitLevel reads stock levels until one equals want; safe from any
// goroutine (it reports with t.Errorf and returns false).
func (c *wsClient) awaitLevel(want int, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	for {
		var m wsMsg
		if err := wsjson.Read(ctx, c.conn, &m); err != nil {
			c.t.Errorf("waiting for level %d: %v", want, err)
			return false
		}
		if m.Type == "ping" {
			_ = wsjson.Write(ctx, c.conn, wsMsg{Type: "pong"})
			continue
		}
		var out struct {
			Data struct {
				StockChanged level `json:"stockChanged"`
			} `json:"data"`
		}
		if m.Type != "next" || json.Unmarshal(m.Payload, &out) != nil {
			c.t.Errorf("waiting for level %d: got %s %s", want, m.Type, m.Payload)
			return false
		}
		if out.Data.StockChanged.Available == want {
			return true
		}
	}
}

// subscribers opens n stockChanged subscriptions on p, one connection
// each, and waits for each to have the current level.
func (w *watchServer) subscribers(t *testing.T, n int, p *storage.Product, want int) []*wsClient {
	t.Helper()
	subs := make([]*wsClient, n)
	for i := range subs {
		subs[i] = dialWS(t, w.srv)
		subs[i].subscribe("s", stockSub, map[string]any{"ids": []string{pid(p)}})
	}
	all(t, subs, want)
	return subs
}

// all waits, concurrently, until every subscriber has seen level want.
func all(t *testing.T, subs []*wsClient, want int) {
	t.Helper()
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() { s.awaitLevel(want, 20*time.Second) })
	}
	wg.Wait()
	require.False(t, t.Failed(), "every subscriber sees level %d", want)
}

func TestStockFrameRenderedOncePerPush(t *testing.T) {
	t.Parallel()
	w := newWatchServer(t, graph.HandlerConfig{})
	p := storagetest.MustProduct(t, w.store, "SHARED", 100)
	cart := storagetest.MustCart(t, w.store)
	const n = 50
	subs := w.subscribers(t, n, p, 100)
	// Frames handed to connections: written, or replaced unwritten. The
	// written count moves after the write, so it is awaited, not read.
	frames := func() int {
		return w.counter(t, "holdfast_live_frames_sent_total") + w.counter(t, "holdfast_live_frames_conflated_total")
	}
	require.Eventually(t, func() bool { return frames() == n }, 30*time.Second, 5*time.Millisecond,
		"each subscriber was handed its first level once")

	rendered := w.counter(t, "holdfast_live_frames_rendered_total")
	_, r := addToCart(t, w.srv.URL, cart.ID, pid(p), 3)
	require.Empty(t, r.Errors)
	all(t, subs, 97)

	renders := w.counter(t, "holdfast_live_frames_rendered_total") - rendered
	require.GreaterOrEqual(t, renders, 1)
	require.Eventually(t, func() bool { return frames() == n+n*renders }, 30*time.Second, 5*time.Millisecond,
		"each of %d renders is the frame of all %d subscribers (frames: %d)", renders, n, frames())
}

func TestStockFrameMatchesSelection(t *testing.T) {
	t.Parallel()
	w := newWatchServer(t, graph.HandlerConfig{})
	p := storagetest.MustProduct(t, w.store, "ALIAS", 10)
	ws := dialWS(t, w.srv)
	ws.subscribe("a", `subscription($ids: [ID!]!) { s: stockChanged(productIds: $ids) { n: available id: productId __typename } }`,
		map[string]any{"ids": []string{pid(p)}})
	m := ws.next(5 * time.Second)
	require.Equal(t, "next", m.Type)
	assert.JSONEq(t, `{"data":{"s":{"n":10,"id":"`+pid(p)+`","__typename":"StockLevel"}}}`, string(m.Payload))
	assert.Equal(t, `{"data":{"s":{"n":10,"id":"`+pid(p)+`","__typename":"StockLevel"}}}`, string(m.Payload), "fields in selection order")
	before := w.counter(t, "holdfast_live_frames_rendered_total")
	require.Equal(t, 1, before, "this selection took the fast path")

	// A fragment takes gqlgen's path, with the same answer.
	ws.subscribe("b", `subscription($ids: [ID!]!) { s: stockChanged(productIds: $ids) { ... on StockLevel { n: available id: productId __typename } } }`,
		map[string]any{"ids": []string{pid(p)}})
	m = ws.next(5 * time.Second)
	require.Equal(t, "next", m.Type)
	assert.Equal(t, "b", m.ID)
	assert.JSONEq(t, `{"data":{"s":{"n":10,"id":"`+pid(p)+`","__typename":"StockLevel"}}}`, string(m.Payload))
	assert.Equal(t, before, w.counter(t, "holdfast_live_frames_rendered_total"))
}

func TestStalledSubscriberIsConflatedAndDelaysNoOne(t *testing.T) {
	t.Parallel()
	// The write timeout is far longer than the test: the stalled socket is
	// there for every change, however long the machine takes over them.
	w := newWatchServer(t, graph.HandlerConfig{WebsocketWriteTimeout: time.Hour})
	p := storagetest.MustProduct(t, w.store, "STALL", 100)
	cart := storagetest.MustCart(t, w.store)

	// A subscriber that never reads again: the server's first write to its
	// socket (a pipe, no buffer) blocks.
	stalled := w.dialPipe(t)
	stalled.subscribe("s", stockSub, map[string]any{"ids": []string{pid(p)}})
	// Registered before anything changes, so that it is handed its first
	// level and then every change (it cannot read to say it has them).
	require.Eventually(t, func() bool { return w.hub.Subscriptions() == 1 }, 30*time.Second, 5*time.Millisecond,
		"the stalled subscription is registered")
	good := w.subscribers(t, 3, p, 100)

	const changes = 5
	for i := 1; i <= changes; i++ {
		_, r := addToCart(t, w.srv.URL, cart.ID, pid(p), 1)
		require.Empty(t, r.Errors)
		all(t, good, 100-i) // nobody waits for the stalled reader
	}
	// The stalled subscription is handed 1+changes frames; one at most is
	// in its blocked write and one pending: the rest are replaced, not
	// buffered. The good subscribers may see the last push before it is
	// queued for the stalled one, so wait for the count rather than read it.
	require.Eventually(t, func() bool {
		return w.counter(t, "holdfast_live_frames_conflated_total") >= changes-1
	}, 30*time.Second, 10*time.Millisecond, "frames for the stalled reader are conflated")
	assert.Zero(t, w.counter(t, "holdfast_live_connections_dropped_total"), "within its write timeout the stalled socket stays")
}

// Past the write timeout the server drops a stalled connection, and the
// others carry on.
func TestStalledSubscriberIsDropped(t *testing.T) {
	t.Parallel()
	// Room for the client to read its connection_ack; the subscription's
	// first frame then waits out the timeout.
	w := newWatchServer(t, graph.HandlerConfig{WebsocketWriteTimeout: 2 * time.Second})
	p := storagetest.MustProduct(t, w.store, "DROP", 100)
	cart := storagetest.MustCart(t, w.store)
	stalled := w.dialPipe(t)
	stalled.subscribe("s", stockSub, map[string]any{"ids": []string{pid(p)}})
	good := w.subscribers(t, 3, p, 100)

	require.Eventually(t, func() bool {
		return w.counter(t, "holdfast_live_connections_dropped_total") == 1
	}, 30*time.Second, 10*time.Millisecond)
	_, r := addToCart(t, w.srv.URL, cart.ID, pid(p), 1)
	require.Empty(t, r.Errors)
	all(t, good, 99)

	// The dropped client finds its socket closed.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if _, _, err := stalled.conn.Read(ctx); err != nil {
			require.NotErrorIs(t, err, context.DeadlineExceeded, "the server closed the stalled socket")
			break
		}
	}
}

func TestManySubscribersAfterListenerReconnect(t *testing.T) {
	t.Parallel()
	w := newWatchServer(t, graph.HandlerConfig{})
	p := storagetest.MustProduct(t, w.store, "RECONNECT", 50)
	cart := storagetest.MustCart(t, w.store)
	subs := w.subscribers(t, 100, p, 50)

	var killed int
	require.NoError(t, w.store.DB().Get(&killed, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'holdfast-listener' AND datname = current_database()`))
	require.Equal(t, 1, killed)

	_, r := addToCart(t, w.srv.URL, cart.ID, pid(p), 8)
	require.Empty(t, r.Errors)
	all(t, subs, 42)
}

// A stockChanged subscription the fast path serves is taken by the
// connection's reader before gqlgen: it holds no goroutine of its own, so
// an idle watcher costs the connection's reader and gqlgen's close watcher
// only (it was four goroutines: those two, gqlgen's keep-alive and its
// operation goroutine). Not parallel: it counts the process's goroutines.
func TestFastSubscriptionsHoldNoGoroutine(t *testing.T) {
	w := newWatchServer(t, graph.HandlerConfig{WebsocketKeepAlive: time.Hour})
	p := storagetest.MustProduct(t, w.store, "IDLE", 10)
	// The first connection warms what every later one shares (pools,
	// caches, the writer pool's workers).
	w.subscribers(t, 1, p, 10)
	before := runtime.NumGoroutine()
	const n = 40
	w.subscribers(t, n, p, 10)
	after := runtime.NumGoroutine()
	require.Equal(t, n+1, w.hub.Subscriptions())
	// Writer-pool workers that have not yet noticed the queue is empty
	// come and go: a margin for them, far below one more per connection.
	assert.LessOrEqual(t, after-before, 2*n+8, "goroutines for %d idle watchers: %d", n, after-before)
}

// A client's complete ends a fast-path subscription: the server answers
// complete (as gqlgen does for the operations it serves), the hub forgets
// it, and the id may be used again.
func TestFastSubscriptionComplete(t *testing.T) {
	t.Parallel()
	w := newWatchServer(t, graph.HandlerConfig{})
	p := storagetest.MustProduct(t, w.store, "DONE", 10)
	ws := dialWS(t, w.srv)
	ws.subscribe("a", stockSub, map[string]any{"ids": []string{pid(p)}})
	require.Equal(t, 10, ws.level(10*time.Second).Available)
	require.Equal(t, 1, w.hub.Subscriptions())

	require.NoError(t, wsjson.Write(ws.ctx, ws.conn, wsMsg{ID: "a", Type: "complete"}))
	m := ws.next(10 * time.Second)
	assert.Equal(t, wsMsg{ID: "a", Type: "complete"}, m)
	require.Eventually(t, func() bool { return w.hub.Subscriptions() == 0 }, 10*time.Second, 5*time.Millisecond)

	ws.subscribe("a", stockSub, map[string]any{"ids": []string{pid(p)}})
	m = ws.next(10 * time.Second)
	assert.Equal(t, "next", m.Type, "the id is free again: %s", m.Payload)
	assert.Equal(t, "a", m.ID)
	require.Equal(t, 1, w.hub.Subscriptions())
}

// The keep-alive is the connection's timer: a graphql-transport-ws socket
// that is sent nothing else gets pings.
func TestWebsocketKeepAlivePings(t *testing.T) {
	t.Parallel()
	w := newWatchServer(t, graph.HandlerConfig{WebsocketKeepAlive: 20 * time.Millisecond})
	ws := dialWS(t, w.srv)
	ctx, cancel := context.WithTimeout(ws.ctx, 20*time.Second)
	defer cancel()
	for range 2 {
		var m wsMsg
		require.NoError(t, wsjson.Read(ctx, ws.conn, &m))
		assert.Equal(t, wsMsg{Type: "ping"}, m)
	}
}
