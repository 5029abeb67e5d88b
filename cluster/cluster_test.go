//go:build cluster

package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// The tests run in this order (go test runs a file's tests in order): the
// ones that change the topology come last, and each puts it back.

// requestBound is the replicas' REQUEST_TIMEOUT (the server's default): no
// answer, however refused, may take longer than that. A correctness bound,
// not a speed target.
const requestBound = 10 * time.Second

// createProduct creates a product through base and returns its GraphQL id
// and sku.
func createProduct(t *testing.T, base string, stock int) (id, sku string) {
	t.Helper()
	c := newClient(base, true, nil)
	defer c.Close()
	sku = fmt.Sprintf("C-%s-%x", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano()&0xffffffff)
	o, v := c.Do("createProduct", "createProduct", true, qCreateProduct, map[string]any{"in": map[string]any{
		"sku": sku, "name": "Cluster product " + sku, "priceAmount": "10.00", "currencyCode": "USD", "stock": stock,
	}})
	if o.Class != classOK {
		t.Fatalf("createProduct: %s %s", o.Key(), o.Detail)
	}
	var p struct{ Product struct{ ID string } }
	if err := json.Unmarshal(v, &p); err != nil || p.Product.ID == "" {
		t.Fatalf("createProduct: undecodable answer %s", v)
	}
	return p.Product.ID, sku
}

// books reads a product's stock, held units and the units its cart lines
// hold, straight from PostgreSQL.
func books(t *testing.T, sku string) (stock, held, lines, lineCount int) {
	t.Helper()
	db := openDB(t, dbURL)
	defer db.Close()
	err := db.QueryRow(`
		SELECT p.stock, p.held,
		       COALESCE((SELECT sum(quantity) FROM cart_lines cl WHERE cl.product_id = p.id), 0),
		       (SELECT count(*) FROM cart_lines cl WHERE cl.product_id = p.id)
		FROM products p WHERE p.sku = $1`, sku).Scan(&stock, &held, &lines, &lineCount)
	if err != nil {
		t.Fatalf("books of %s: %v", sku, err)
	}
	return stock, held, lines, lineCount
}

// TestFlashSaleThroughNginx: 120 shoppers, each on connections of its own,
// reserve one unit of a product with 20 in stock at once, through nginx
// and so across every replica. Exactly 20 get one; the others are told
// INSUFFICIENT_STOCK; the database holds exactly the 20.
func TestFlashSaleThroughNginx(t *testing.T) {
	need(t)
	const stock, shoppers = 20, 120
	pid, sku := createProduct(t, baseURL, stock)

	rec := &recorder{}
	carts := make([]string, shoppers)
	clients := make([]*client, shoppers)
	for i := range shoppers {
		clients[i] = newClient(baseURL, false, rec) // a fresh connection per request
		id, o := createCart(clients[i])
		if id == "" {
			t.Fatalf("createCart: %s %s", o.Key(), o.Detail)
		}
		carts[i] = id
	}
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range shoppers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			clients[i].Do("addToCart", "addToCart", false, qAddToCart, map[string]any{"in": map[string]any{
				"cartId": carts[i], "productId": pid, "quantity": 1,
			}})
		}()
	}
	close(gate)
	wg.Wait()

	outs := filter(rec.Snapshot(), func(o outcome) bool { return o.Op == "addToCart" })
	summarize(t, "flash sale", outs)
	requireNoFailures(t, "flash sale", outs)
	sold := count(outs, func(o outcome) bool { return o.Class == classOK })
	refused := count(outs, func(o outcome) bool { return o.Class == classUserError && o.Code == "INSUFFICIENT_STOCK" })
	if sold != stock || refused != shoppers-stock {
		t.Errorf("flash sale: %d reserved and %d refused INSUFFICIENT_STOCK, want %d and %d", sold, refused, stock, shoppers-stock)
	}
	requireEveryReplica(t, "flash sale", outs)

	gotStock, held, lines, lineCount := books(t, sku)
	if gotStock != stock || held != stock || lines != stock || lineCount != stock {
		t.Errorf("books of %s: stock=%d held=%d, cart lines hold %d in %d lines; want %d each", sku, gotStock, held, lines, lineCount, stock)
	}
	checkInvariants(t, dbURL)
}

// runStorm runs workers through base until at least n requests have
// completed (bounded by 90 s) and returns what they got.
func runStorm(t *testing.T, w *world, base string, workers, n int) []outcome {
	t.Helper()
	rec := &recorder{}
	c := newClient(base, true, rec)
	defer c.Close()
	s := w.StartStorm(c, workers, uint64(time.Now().UnixNano()))
	waitCount(t, rec, n, 90*time.Second)
	s.Halt()
	return rec.Snapshot()
}

// waitCount waits until rec holds at least n outcomes (failing t after
// limit: the load did not run).
func waitCount(t *testing.T, rec *recorder, n int, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for len(rec.Snapshot()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests completed in %s", len(rec.Snapshot()), n, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStormAcrossReplicas: reservations, line updates and removals,
// checkouts (plain and with payment), payment confirmations, cancellations
// and stock adjustments from many clients through nginx, so that every
// replica works on the same products at once. The books stay exact, and a
// healthy cluster answers every request.
func TestStormAcrossReplicas(t *testing.T) {
	need(t)
	w := setupWorld(t, baseURL, 4, 30, 24)
	outs := runStorm(t, w, baseURL, 16, 1500)
	summarize(t, "storm", outs)
	requireNoFailures(t, "storm", outs)
	requireEveryReplica(t, "storm", outs)
	checkInvariants(t, dbURL)
	checkAuditAPI(t, baseURL, -1)
}

// ---------------------------------------------------------------- websockets

type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

const stockSub = `subscription($ids: [ID!]!) { stockChanged(productIds: $ids) { productId available at } }`

// subscribeStock opens a graphql-transport-ws websocket to base and
// subscribes to the product's stock level; levels arrive on the channel
// (closed when the socket ends).
func subscribeStock(ctx context.Context, t *testing.T, base, productID string) <-chan int {
	t.Helper()
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		t.Fatalf("websocket to %s: %v", base, err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	if err := wsjson.Write(ctx, conn, wsMsg{Type: "connection_init", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatalf("connection_init: %v", err)
	}
	var ack wsMsg
	if err := wsjson.Read(ctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_ack from %s: got %q, %v", base, ack.Type, err)
	}
	payload, _ := json.Marshal(map[string]any{"query": stockSub, "variables": map[string]any{"ids": []string{productID}}})
	if err := wsjson.Write(ctx, conn, wsMsg{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	levels := make(chan int, 64)
	go func() {
		defer close(levels)
		for {
			var m wsMsg
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				return
			}
			switch m.Type {
			case "ping":
				_ = wsjson.Write(ctx, conn, wsMsg{Type: "pong"})
			case "next":
				var out struct {
					Data struct {
						StockChanged struct{ Available int } `json:"stockChanged"`
					} `json:"data"`
					Errors []gqlError `json:"errors"`
				}
				if json.Unmarshal(m.Payload, &out) != nil || len(out.Errors) > 0 {
					t.Errorf("subscription message from %s: %s", base, m.Payload)
					return
				}
				levels <- out.Data.StockChanged.Available
			default:
				t.Errorf("subscription message from %s: %s %s", base, m.Type, m.Payload)
				return
			}
		}
	}()
	return levels
}

// awaitLevel reads levels until want arrives (failing t if the socket ends
// or ctx does first).
func awaitLevel(ctx context.Context, t *testing.T, what string, levels <-chan int, want int) {
	t.Helper()
	var seen []int
	for {
		select {
		case l, ok := <-levels:
			if !ok {
				t.Fatalf("%s: the subscription ended before level %d arrived (levels seen: %v)", what, want, seen)
			}
			seen = append(seen, l)
			if l == want {
				t.Logf("%s: levels %v", what, seen)
				return
			}
		case <-ctx.Done():
			t.Fatalf("%s: level %d never arrived (levels seen: %v)", what, want, seen)
		}
	}
}

// TestSubscriberSeesOtherReplica: a subscriber on replica 1 (and one
// through nginx, over a proxied websocket upgrade) sees the stock changes
// made through replica 2, down to the final level; every replica listens
// on a connection of its own straight to PostgreSQL.
func TestSubscriberSeesOtherReplica(t *testing.T) {
	need(t)
	a, b := replicas[0], replicas[1]
	pid, _ := createProduct(t, b.url, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	onA := subscribeStock(ctx, t, a.url, pid)
	viaNginx := subscribeStock(ctx, t, baseURL, pid)
	awaitLevel(ctx, t, "replica 1, first level", onA, 10)
	awaitLevel(ctx, t, "nginx, first level", viaNginx, 10)

	c := newClient(b.url, true, nil)
	defer c.Close()
	cart, o := createCart(c)
	if cart == "" {
		t.Fatalf("createCart on replica 2: %s %s", o.Key(), o.Detail)
	}
	level := 10
	for _, step := range []struct {
		op    string
		delta int
	}{{"adjustStock", 5}, {"addToCart", 3}, {"adjustStock", -4}, {"addToCart", 2}} {
		var o outcome
		if step.op == "adjustStock" {
			o, _ = c.Do("adjustStock", "adjustStock", true, qAdjustStock, map[string]any{"in": map[string]any{
				"productId": pid, "delta": step.delta, "reason": "cluster test",
			}})
			level += step.delta
		} else {
			o, _ = c.Do("addToCart", "addToCart", false, qAddToCart, map[string]any{"in": map[string]any{
				"cartId": cart, "productId": pid, "quantity": step.delta,
			}})
			level -= step.delta
		}
		if o.Class != classOK {
			t.Fatalf("%s on replica 2: %s %s", step.op, o.Key(), o.Detail)
		}
	}
	awaitLevel(ctx, t, "replica 1", onA, level)
	awaitLevel(ctx, t, "nginx", viaNginx, level)

	// Each replica's LISTEN connection goes straight to PostgreSQL
	// (DATABASE_DIRECT_URL): through PgBouncer, which drops the
	// application_name startup parameter, it would not carry its name.
	db := openDB(t, dbURL)
	defer db.Close()
	var listeners int
	if err := db.QueryRow(`SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'holdfast-listener'`).Scan(&listeners); err != nil {
		t.Fatalf("pg_stat_activity: %v", err)
	}
	if listeners != len(replicas) {
		t.Errorf("%d LISTEN connections straight to PostgreSQL, want one per replica (%d)", listeners, len(replicas))
	}
}

// ---------------------------------------------------------------- topology

// readyz is the status of base's /readyz (0 when nothing answered).
func readyz(t *testing.T, base string) int {
	t.Helper()
	hc := &http.Client{Timeout: requestBound}
	resp, err := hc.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// steadyLoad runs shoppers through base that each create a cart, reserve a
// unit of product and release it, again and again (a cart of its own for
// every round: the per-cart rate limit never bites).
type steadyLoad struct {
	rec  *recorder
	stop chan struct{}
	wg   sync.WaitGroup
}

func startSteadyLoad(base, product string, shoppers int) *steadyLoad {
	l := &steadyLoad{rec: &recorder{}, stop: make(chan struct{})}
	for range shoppers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c := newClient(base, true, l.rec)
			defer c.Close()
			for {
				select {
				case <-l.stop:
					return
				default:
				}
				cart, _ := createCart(c)
				if cart == "" {
					continue // recorded as a failure
				}
				c.Do("addToCart", "addToCart", false, qAddToCart, map[string]any{"in": map[string]any{
					"cartId": cart, "productId": product, "quantity": 1,
				}})
				c.Do("removeCartLine", "removeCartLine", false, qRemoveLine, map[string]any{"in": map[string]any{
					"cartId": cart, "productId": product,
				}})
			}
		}()
	}
	return l
}

func (l *steadyLoad) halt() []outcome {
	close(l.stop)
	l.wg.Wait()
	return l.rec.Snapshot()
}

// TestRollingRestart restarts every replica in turn (SIGTERM, drain, exit,
// start, ready) under steady load through nginx: not one request fails
// (no transport error, no 5xx, no GraphQL error, no refusal), load runs
// through every restart, and nothing is oversold.
func TestRollingRestart(t *testing.T) {
	need(t)
	pid, sku := createProduct(t, baseURL, 1000)
	before := clusterEnv(t)["CLUSTER_PIDS"]
	load := startSteadyLoad(baseURL, pid, 6)
	waitCount(t, load.rec, 60, 30*time.Second)
	type window struct{ from, to time.Time }
	var windows []window
	for _, r := range replicas {
		from := time.Now()
		if err := clusterErr("restart-replica", fmt.Sprint(r.index)); err != nil {
			load.halt()
			t.Fatal(err)
		}
		windows = append(windows, window{from, time.Now()})
	}
	waitCount(t, load.rec, len(load.rec.Snapshot())+60, 30*time.Second)
	outs := load.halt()
	summarize(t, "rolling restart", outs)

	after := clusterEnv(t)["CLUSTER_PIDS"]
	for i, p := range strings.Fields(before) {
		if strings.Contains(" "+after+" ", " "+p+" ") {
			t.Errorf("replica %d still has pid %s: it was not restarted (pids before %q, after %q)", i+1, p, before, after)
		}
	}
	for i, w := range windows {
		n := count(outs, func(o outcome) bool { return !o.Start.Before(w.from) && !o.Start.After(w.to) })
		t.Logf("restart of replica %d took %s; %d requests started meanwhile", i+1, w.to.Sub(w.from).Round(time.Millisecond), n)
		if n == 0 {
			t.Errorf("no request started while replica %d restarted: the load did not run through it", i+1)
		}
	}
	requireNoFailures(t, "rolling restart", outs)
	if n := count(outs, func(o outcome) bool { return o.Class == classUserError }); n > 0 {
		t.Errorf("rolling restart: %d requests refused (userErrors), want none", n)
	}
	requireEveryReplica(t, "rolling restart", outs)
	stock, held, lines, _ := books(t, sku)
	if held != 0 || lines != 0 || stock != 1000 {
		t.Errorf("books of %s after the load: stock=%d held=%d (cart lines %d), want 1000, 0, 0", sku, stock, held, lines)
	}
	checkInvariants(t, dbURL)
}

// killSettle is how long after a kill -9 nginx may still send a request
// down a keep-alive connection the dead replica held: the kernel closed it,
// but nginx's worker has not yet read the close. nginx never resends a POST
// it has sent (that is what keeps a mutation from running twice), so such a
// request fails with nginx's 502. Only those may fail, and only this early.
const killSettle = time.Second

// TestKillReplicaMidStorm: kill -9 of replica 2 in the middle of a storm
// through nginx. Requests it had in flight may fail (counted, not
// required), and so may requests nginx sent to it on a keep-alive
// connection in the first killSettle after the kill (502 from nginx,
// upstream the dead replica, nothing else); every request after that is
// answered by the others; the books are exact. The replica is started
// again at the end.
func TestKillReplicaMidStorm(t *testing.T) {
	need(t)
	victim := replicas[1]
	t.Cleanup(func() {
		if err := clusterErr("start-replica", fmt.Sprint(victim.index)); err != nil {
			t.Error(err)
		}
	})
	w := setupWorld(t, baseURL, 4, 30, 24)
	rec := &recorder{}
	c := newClient(baseURL, true, rec)
	defer c.Close()
	s := w.StartStorm(c, 12, uint64(time.Now().UnixNano()))
	waitCount(t, rec, 300, 60*time.Second)
	cluster(t, "kill-replica", fmt.Sprint(victim.index))
	killed := time.Now()
	settled := killed.Add(killSettle)
	deadline := time.Now().Add(60 * time.Second)
	for count(rec.Snapshot(), func(o outcome) bool { return o.Start.After(settled) }) < 600 {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than 600 requests completed in the minute after the kill settled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.Halt()
	outs := rec.Snapshot()
	summarize(t, "kill -9 storm", outs)

	before := filter(outs, func(o outcome) bool { return o.Start.Before(killed) })
	settling := filter(outs, func(o outcome) bool { return !o.Start.Before(killed) && !o.Start.After(settled) })
	after := filter(outs, func(o outcome) bool { return o.Start.After(settled) })
	lost := count(before, func(o outcome) bool { return o.Class != classOK && o.Class != classUserError })
	stale := filter(settling, func(o outcome) bool { return o.Class != classOK && o.Class != classUserError })
	t.Logf("kill -9 of replica %d: %d requests started before it returned, %d of them failed (in flight on it: allowed); %d started in the next %s, %d of them failed on a connection to it; %d started after",
		victim.index, len(before), lost, len(settling), killSettle, len(stale), len(after))
	for _, o := range stale {
		if o.Upstream != victim.hostPort() || o.Status != 502 {
			t.Errorf("after kill -9: %s failed with %s (HTTP %d, upstream %q): only nginx's 502 from the dead replica may fail while nginx notices",
				o.Op, o.Key(), o.Status, o.Upstream)
		}
	}
	requireNoFailures(t, "after kill -9", after)
	by := servedBy(after)
	if by[victim.hostPort()] > 0 {
		t.Errorf("the killed replica %s answered %d requests after it died", victim.url, by[victim.hostPort()])
	}
	for _, r := range replicas {
		if r != victim && by[r.hostPort()] == 0 {
			t.Errorf("replica %s answered none of the %d requests after the kill (by replica: %v)", r.url, len(after), by)
		}
	}
	checkInvariants(t, dbURL)
	cluster(t, "start-replica", fmt.Sprint(victim.index))
}

// TestPgBouncerRestart: with PgBouncer stopped every request is refused
// with a typed SERVICE_UNAVAILABLE, fast (within REQUEST_TIMEOUT each),
// through nginx and on every replica, and /readyz says 503; once PgBouncer
// is back the replicas serve and are ready again by themselves (no replica
// restarted).
func TestPgBouncerRestart(t *testing.T) {
	need(t)
	pid, _ := createProduct(t, baseURL, 100)
	pidsBefore := clusterEnv(t)["CLUSTER_PIDS"]
	var stopped atomic.Bool
	t.Cleanup(func() {
		if stopped.Load() {
			if err := clusterErr("start-pgbouncer"); err != nil {
				t.Error(err)
			}
		}
	})
	cluster(t, "stop-pgbouncer")
	stopped.Store(true)

	rec := &recorder{}
	targets := []string{baseURL}
	for _, r := range replicas {
		targets = append(targets, r.url)
	}
	for _, base := range targets {
		c := newClient(base, true, rec)
		for range 3 {
			c.Do("createCart", "createCart", false, qCreateCart, nil)
			c.Do("product", "product", false, `query($id: ID!) { product(id: $id) { id available } }`, map[string]any{"id": pid})
		}
		c.Close()
	}
	outs := rec.Snapshot()
	summarize(t, "PgBouncer stopped", outs)
	for _, o := range outs {
		if o.Class != classGQLError || o.Code != "SERVICE_UNAVAILABLE" {
			t.Errorf("with PgBouncer stopped, %s got %s (HTTP %d, upstream %q): %s; want a GraphQL error coded SERVICE_UNAVAILABLE",
				o.Op, o.Key(), o.Status, o.Upstream, o.Detail)
		}
		if o.Dur > requestBound {
			t.Errorf("with PgBouncer stopped, %s took %s to be refused (bound: REQUEST_TIMEOUT %s)", o.Op, o.Dur.Round(time.Millisecond), requestBound)
		}
		if strings.Contains(o.Detail, "pq:") || strings.Contains(o.Detail, "dial tcp") {
			t.Errorf("with PgBouncer stopped, %s leaked driver text to the client: %q", o.Op, o.Detail)
		}
	}

	for _, r := range replicas {
		if code := readyz(t, r.url); code != 503 {
			t.Errorf("with PgBouncer stopped, %s/readyz answered %d, want 503", r.url, code)
		}
	}

	cluster(t, "start-pgbouncer")
	stopped.Store(false)
	for _, base := range targets {
		c := newClient(base, true, nil)
		deadline := time.Now().Add(30 * time.Second)
		var last outcome
		for {
			cart, o := createCart(c)
			if cart != "" {
				o, _ = c.Do("addToCart", "addToCart", false, qAddToCart, map[string]any{"in": map[string]any{
					"cartId": cart, "productId": pid, "quantity": 1,
				}})
				if o.Class == classOK {
					break
				}
			}
			last = o
			if time.Now().After(deadline) {
				t.Fatalf("%s still fails 30 s after PgBouncer came back: %s %s", base, last.Key(), last.Detail)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	for _, r := range replicas {
		deadline := time.Now().Add(30 * time.Second)
		for readyz(t, r.url) != 200 {
			if time.Now().After(deadline) {
				t.Fatalf("%s/readyz still fails 30 s after PgBouncer came back", r.url)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if after := clusterEnv(t)["CLUSTER_PIDS"]; after != pidsBefore {
		t.Errorf("replica pids changed from %q to %q: a replica restarted", pidsBefore, after)
	}
	checkInvariants(t, dbURL)
}
