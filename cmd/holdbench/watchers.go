package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// The watchers scenario: N websocket subscribers watch the hot product's
// stock (stockChanged, one connection each) while -watcher-writers clients
// reserve it for the cell's duration. Without -url each cell gets a server
// of its own (same binary and database), so its RSS is that of N
// subscribers alone.

const watchSub = `subscription($ids: [ID!]!) { stockChanged(productIds: $ids) { productId available at } }`

// watchRow is one watchers cell.
type watchRow struct {
	subs       int
	connected  int
	dialErr    string
	st         *cellStats // the writers
	rss0MB     float64    // server RSS before the subscribers connected; -1 = not measured
	rssIdleMB  float64    // with every subscriber connected and served its first level
	final      int
	got        int // subscribers that received the final level
	lags       []time.Duration
	msgs       int64 // stock messages received during the writers' window
	msgsPerSub float64
}

// watcher is one subscriber: the last level it received and when.
type watcher struct {
	conn  *websocket.Conn
	level atomic.Int64
	at    atomic.Int64 // unix ns of the receipt of the last new level
	msgs  atomic.Int64
}

var availableKey = []byte(`"available":`)

// parseAvailable finds the level in a stockChanged message without
// decoding it (the load generator reads ~10 messages/s per subscriber).
func parseAvailable(b []byte) (int64, bool) {
	i := bytes.Index(b, availableKey)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(availableKey):]
	j := 0
	for j < len(b) && (b[j] == '-' || (b[j] >= '0' && b[j] <= '9')) {
		j++
	}
	n, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return n, err == nil
}

func dialWatcher(ctx context.Context, url string, product int64) (*watcher, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, url, &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPClient:   &http.Client{Transport: &http.Transport{Proxy: nil, DisableCompression: true}},
	})
	if err != nil {
		return nil, err
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	w := &watcher{conn: conn}
	w.level.Store(-1)
	fail := func(err error) (*watcher, error) { _ = conn.CloseNow(); return nil, err }
	if err := conn.Write(dctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{}}`)); err != nil {
		return fail(err)
	}
	_, b, err := conn.Read(dctx)
	if err != nil {
		return fail(err)
	}
	if !bytes.Contains(b, []byte(`"connection_ack"`)) {
		return fail(fmt.Errorf("expected connection_ack, got %.200s", b))
	}
	payload, _ := json.Marshal(map[string]any{"query": watchSub, "variables": map[string]any{"ids": []string{pid(product)}}})
	if err := conn.Write(dctx, websocket.MessageText, []byte(`{"id":"1","type":"subscribe","payload":`+string(payload)+`}`)); err != nil {
		return fail(err)
	}
	for {
		_, b, err := conn.Read(dctx)
		if err != nil {
			return fail(err)
		}
		if n, ok := parseAvailable(b); ok {
			w.level.Store(n)
			w.at.Store(time.Now().UnixNano())
			break
		}
		if !bytes.Contains(b, []byte(`"ping"`)) && !bytes.Contains(b, []byte(`"pong"`)) {
			return fail(fmt.Errorf("expected the first level, got %.200s", b))
		}
	}
	go w.read(ctx)
	return w, nil
}

// read counts messages and records each new level's receipt until the
// connection closes.
func (w *watcher) read(ctx context.Context) {
	var buf bytes.Buffer
	for {
		_, r, err := w.conn.Reader(ctx)
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		b := buf.Bytes()
		n, ok := parseAvailable(b)
		if !ok {
			if bytes.Contains(b, []byte(`"type":"ping"`)) {
				_ = w.conn.Write(ctx, websocket.MessageText, []byte(`{"type":"pong"}`))
			}
			continue
		}
		w.msgs.Add(1)
		if n != w.level.Load() {
			w.at.Store(time.Now().UnixNano())
			w.level.Store(n)
		}
	}
}

// raiseOwnFileLimit lifts holdbench's soft open-files limit to the hard one
// (every subscriber is a socket).
func raiseOwnFileLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}

func (e *env) watchers(ctx context.Context) error {
	raiseOwnFileLimit()
	for _, n := range e.o.watchers {
		r, err := e.watchCell(ctx, n)
		if err != nil {
			return err
		}
		e.watch = append(e.watch, r)
		p50, p99 := r.lagPct(50), r.lagPct(99)
		logf("watchers %6d subscribers (%d connected): writers %6.0f/s %s of 1-subscriber, final level at %d/%d subscribers, lag p50 %s p99 %s, %.1f msgs/sub/s, server cpu %s cores, holdbench %s cores, RSS idle %s max %s",
			n, r.connected, r.st.rate(), e.watchRatio(r), r.got, r.connected, ms(p50), ms(p99), r.msgsPerSub,
			cores(r.st.serverCPU, r.st.elapsed), cores(r.st.selfCPU, r.st.elapsed), fmtMB(r.rssIdleMB), fmtMB(r.st.rssMB))
		if r.dialErr != "" {
			logf("  first dial error: %s", r.dialErr)
		}
	}
	return nil
}

func (e *env) watchCell(ctx context.Context, n int) (*watchRow, error) {
	o := e.o
	gql, baseURL, pidToSample := e.gql, e.baseURL, 0
	if e.srv != nil {
		// A server of its own, so RSS is this cell's subscribers'.
		dir := filepath.Join(e.tmp, fmt.Sprintf("watchers-%d", n))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		var extra []string
		if o.pprofAddr != "" {
			// The run's first server holds PPROF_ADDR from the environment.
			extra = append(extra, "PPROF_ADDR="+o.pprofAddr)
		}
		srv, err := startServerLog(ctx, e.bin, filepath.Join(dir, "server.log"), e.benchDB, o.adminToken, o.pool, extra...)
		if err != nil {
			return nil, err
		}
		defer srv.stop()
		baseURL, pidToSample = srv.baseURL, srv.pid()
		gql = newGQLClient(baseURL, o.adminToken, o.watcherWriters)
	}
	api := newAPISide(gql, shapeMinimal)
	product, err := api.createProduct(ctx, fmt.Sprintf("%swatchers-%d", e.prefix, n), 1_000_000_000)
	if err != nil {
		return nil, fmt.Errorf("create product via the API: %w", err)
	}
	r := &watchRow{subs: n, rss0MB: -1, rssIdleMB: -1}
	if pidToSample > 0 {
		if kb, err := rssKB(pidToSample); err == nil {
			r.rss0MB = float64(kb) / 1024
		}
	}

	// Connect the subscribers, 64 dials at a time.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(strings.TrimRight(baseURL, "/"), "http") + "/graphql"
	ws := make([]*watcher, n)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		next   atomic.Int64
		dialed = make([]bool, n)
	)
	for range min(64, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				w, err := dialWatcher(wctx, wsURL, product)
				if err != nil {
					mu.Lock()
					if r.dialErr == "" {
						r.dialErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				ws[i], dialed[i] = w, true
			}
		})
	}
	wg.Wait()
	defer func() {
		var cw sync.WaitGroup
		for _, w := range ws {
			if w != nil {
				cw.Go(func() { _ = w.conn.CloseNow() })
			}
		}
		cw.Wait()
	}()
	live := ws[:0:0]
	for i, w := range ws {
		if dialed[i] {
			live = append(live, w)
		}
	}
	r.connected = len(live)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if pidToSample > 0 {
		if kb, err := rssKB(pidToSample); err == nil {
			r.rssIdleMB = float64(kb) / 1024
		}
	}

	var before int64
	for _, w := range live {
		before += w.msgs.Load()
	}
	st, err := runCell(ctx, cell{side: api, clients: o.watcherWriters, dur: o.duration, step: addOne(product), pid: pidToSample})
	if err != nil {
		return nil, err
	}
	r.st = st
	for _, w := range live {
		r.msgs += w.msgs.Load()
	}
	r.msgs -= before
	if r.connected > 0 && st.elapsed > 0 {
		r.msgsPerSub = float64(r.msgs) / float64(r.connected) / st.elapsed.Seconds()
	}

	// The final level, and when each subscriber had it.
	if err := e.meta.QueryRowContext(ctx, `SELECT stock - held FROM products WHERE id = $1`, product).Scan(&r.final); err != nil {
		return nil, err
	}
	lastCommit := st.start.Add(st.lastOK)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if !slices.ContainsFunc(live, func(w *watcher) bool { return w.level.Load() != int64(r.final) }) {
			break
		}
		time.Sleep(5 * time.Millisecond) // polling the subscribers, not synchronising
	}
	for _, w := range live {
		if w.level.Load() == int64(r.final) {
			r.got++
			r.lags = append(r.lags, max(0, time.Unix(0, w.at.Load()).Sub(lastCommit)))
		}
	}
	slices.Sort(r.lags)
	return r, nil
}

// lagPct is the p-th percentile of the final level's delivery lag over the
// subscribers that received it (nearest rank).
func (r *watchRow) lagPct(p float64) time.Duration {
	if len(r.lags) == 0 {
		return 0
	}
	i := int(float64(len(r.lags))*p/100+0.999999) - 1
	return r.lags[min(max(i, 0), len(r.lags)-1)]
}

// ok: every subscriber connected and received the final level.
func (r *watchRow) ok() bool {
	return r.connected == r.subs && r.got == r.connected && r.st != nil && r.st.ok > 0
}

func (e *env) watchBase() *watchRow {
	for _, r := range e.watch {
		if r.subs == 1 {
			return r
		}
	}
	return nil
}

func (e *env) watchRatio(r *watchRow) string {
	b := e.watchBase()
	if b == nil || b.st.rate() == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", r.st.rate()/b.st.rate())
}

// srvPerMsg is the server CPU per delivered message beyond what the
// 1-subscriber cell spent per reservation (the writers' share).
func (e *env) srvPerMsg(r *watchRow) string {
	b := e.watchBase()
	if b == nil || r == b || r.msgs == 0 || r.st.serverCPU < 0 || b.st.cpuPerOp(b.st.serverCPU) < 0 {
		return "n/a"
	}
	extra := r.st.serverCPU - time.Duration(r.st.requests())*b.st.cpuPerOp(b.st.serverCPU)
	return fmt.Sprintf("%.1f", float64(extra)/float64(r.msgs)/float64(time.Microsecond))
}

func cores(cpu, elapsed time.Duration) string {
	if cpu < 0 || elapsed <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", cpu.Seconds()/elapsed.Seconds())
}

func fmtMB(mb float64) string {
	if mb < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", mb)
}

func (e *env) rssPerSubKB(r *watchRow) string {
	if r.rssIdleMB < 0 || r.rss0MB < 0 || r.connected == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", (r.rssIdleMB-r.rss0MB)*1024/float64(r.connected))
}

func (e *env) watchersMarkdown(w func(string, ...any)) {
	if len(e.watch) == 0 {
		return
	}
	w("## watchers\n\n")
	w("N websocket subscribers (one connection each, graphql-transport-ws, `stockChanged(productIds: [hot]) { productId available at }`) watch one product while %d writers reserve it (`addToCart` of 1 unit, minimal shape, as in hot) for %s. Without `-url` each cell has a freshly started server, so its RSS is that of N subscribers. ", e.o.watcherWriters, e.o.duration)
	w("*÷ 1 sub* = the writers' reservations/s ÷ those of the 1-subscriber cell of this run. *lag* = from the last successful reservation's answer (the last commit) to a subscriber's receipt of the final level, p50/p99 over the subscribers; *got final* = subscribers that received it within 10 s. *msgs/sub/s* = stock messages each subscriber received per second while the writers ran (pushes are conflated to one per STOCK_PUSH_INTERVAL). *server*, *holdbench* = CPU cores each process used during the writers' window (holdbench runs the writers and reads every subscriber's messages). *server µs/msg* = (server CPU − requests × the 1-subscriber cell's server CPU per request) ÷ messages delivered. *RSS idle* = server RSS with every subscriber connected and served its first level; *KB/sub* = (RSS idle − RSS before connecting) ÷ subscribers; *RSS max* = the maximum while the writers ran.\n\n")
	w("| subscribers | connected | reservations/s | ÷ 1 sub | lag p50 ms | lag p99 ms | got final | msgs/sub/s | server cores | holdbench cores | server µs/msg | RSS before MB | RSS idle MB | KB/sub (idle) | RSS max MB |\n")
	w("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, r := range e.watch {
		w("| %d | %d | %.0f | %s | %s | %s | %d/%d | %.1f | %s | %s | %s | %s | %s | %s | %s |\n",
			r.subs, r.connected, r.st.rate(), e.watchRatio(r), fmtMS(r.lagPct(50)), fmtMS(r.lagPct(99)), r.got, r.connected,
			r.msgsPerSub, cores(r.st.serverCPU, r.st.elapsed), cores(r.st.selfCPU, r.st.elapsed), e.srvPerMsg(r),
			fmtMB(r.rss0MB), fmtMB(r.rssIdleMB), e.rssPerSubKB(r), fmtMB(r.st.rssMB))
	}
	w("\n")
	for _, r := range e.watch {
		if r.dialErr != "" {
			w("- %d subscribers: %d failed to connect, first error: `%s`\n", r.subs, r.subs-r.connected, strings.ReplaceAll(r.dialErr, "`", "'"))
		}
		if r.st.errSample != "" {
			w("- %d subscribers: writers had %d errors, first: `%s`\n", r.subs, r.st.errs, strings.ReplaceAll(r.st.errSample, "`", "'"))
		}
	}
	w("\n")
}

// watchTargets: issue 16's, judged at 5,000 and 10,000 subscribers.
func (e *env) watchTargets() []target {
	if !slices.Contains(e.o.scenarios, "watchers") {
		return nil
	}
	var ts []target
	find := func(n int) *watchRow {
		for _, r := range e.watch {
			if r.subs == n {
				return r
			}
		}
		return nil
	}
	base := e.watchBase()
	if r := find(5000); r == nil || base == nil {
		ts = append(ts, target{"watchers, 5,000 subscribers: writers ≥ 0.8× the 1-subscriber rate, lag p99 ≤ 250 ms, RSS ≤ 150 MB + 20 KB/subscriber", "–", "not run"})
	} else {
		q := r.st.rate() / base.st.rate()
		ts = append(ts, target{"watchers, 5,000 subscribers: writers ≥ 0.8× the 1-subscriber rate", e.watchRatio(r), passFail(q >= 0.8)})
		ts = append(ts, target{"watchers, 5,000 subscribers: every subscriber has the final level, p99 ≤ 250 ms", fmt.Sprintf("%d/%d, p99 %s ms", r.got, r.subs, fmtMS(r.lagPct(99))), passFail(r.ok() && r.lagPct(99) <= 250*time.Millisecond)})
		limit := 150 + 20*float64(r.subs)/1024
		if r.st.rssMB < 0 {
			ts = append(ts, target{"watchers, 5,000 subscribers: RSS ≤ 150 MB + 20 KB/subscriber", "n/a (-url)", "not measured"})
		} else {
			ts = append(ts, target{"watchers, 5,000 subscribers: RSS ≤ 150 MB + 20 KB/subscriber", fmt.Sprintf("%.0f MB (limit %.0f)", max(r.st.rssMB, r.rssIdleMB), limit), passFail(max(r.st.rssMB, r.rssIdleMB) <= limit)})
		}
	}
	if r := find(10000); r == nil {
		ts = append(ts, target{"watchers, 10,000 subscribers connect and receive", "–", "not run"})
	} else {
		ts = append(ts, target{"watchers, 10,000 subscribers connect and receive", fmt.Sprintf("%d connected, %d got the final level", r.connected, r.got), passFail(r.ok())})
	}
	return ts
}

var errNoWatchers = errors.New("-watchers: none given")
