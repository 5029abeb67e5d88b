package main

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"
)

// cellStats is what one side did in one cell (scenario x clients x shape).
type cellStats struct {
	side      string
	shape     string
	clients   int
	ok        int64 // successful operations (reservations, except in mixed and browse)
	refused   int64 // INSUFFICIENT_STOCK refusals
	errs      int64 // anything else: transport, GraphQL, unexpected userErrors, render checks
	badRender int64 // of errs: answers that failed the render check (see shape.go)
	elapsed   time.Duration
	lastOK    time.Duration // since the start, of the last success
	lat       []time.Duration
	errSample string
	opOK      map[string]int64
	check     checkResult
	rssMB     float64       // max server RSS during the cell; -1 = not measured
	serverCPU time.Duration // the server process's CPU during the cell; -1 = not measured
	selfCPU   time.Duration // holdbench's own CPU during the cell; -1 = not measured
	// serverAllocs is the server's heap allocations during the cell (its
	// go_memstats_mallocs_total, less what reading it costs); -1 = not
	// measured. renders are its holdfast_renders_total increments, by
	// series labels.
	serverAllocs float64
	renders      map[string]float64
	otherCPU     time.Duration // the cell's other processes (proxy, pooler); -1 = none
	waits        []waitShare   // PostgreSQL wait events of the cell's backends, when sampled
	commits      int64         // transactions the database committed during the cell; -1 = not counted
	problem      string        // a correctness problem besides the check (e.g. sold > stock)
	sellout      bool
	start        time.Time // when the clock started
}

// rate is successful operations per second: over the whole cell, or for a
// sell-out over the time until the last unit was sold.
func (c *cellStats) rate() float64 {
	if c == nil {
		return 0
	}
	d := c.elapsed
	if c.sellout {
		d = c.lastOK
	}
	if d <= 0 || c.ok == 0 {
		return 0
	}
	return float64(c.ok) / d.Seconds()
}

// requests is every operation sent during the cell, whatever its outcome.
func (c *cellStats) requests() int64 { return int64(len(c.lat)) }

// allocsPerOp is the server's allocations per request sent; -1 when not
// measured.
func (c *cellStats) allocsPerOp() float64 {
	if c == nil || c.serverAllocs < 0 || c.requests() == 0 {
		return -1
	}
	return c.serverAllocs / float64(c.requests())
}

// cpuPerOp is cpu divided by the requests sent; -1 when not measured.
func (c *cellStats) cpuPerOp(cpu time.Duration) time.Duration {
	if c == nil || cpu < 0 || c.requests() == 0 {
		return -1
	}
	return cpu / time.Duration(c.requests())
}

// pct is the p-th percentile latency (p in 0..100), nearest rank.
func (c *cellStats) pct(p float64) time.Duration {
	if c == nil || len(c.lat) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(c.lat)))) - 1
	i = min(max(i, 0), len(c.lat)-1)
	return c.lat[i]
}

// healthy: no correctness problem found.
func (c *cellStats) healthy() bool {
	return c != nil && (!c.check.ran || c.check.ok()) && c.problem == ""
}

type worker struct {
	id       int
	cart     string
	needCart bool
	rng      *rand.Rand
	// lines is what the worker's cart holds, as far as it knows: exactly,
	// while known (after an error it may not be: the server may have
	// committed what the client never heard of).
	lines     map[int64]int
	keys      []int64 // keys of lines, for picking one at random
	known     bool
	lat       []time.Duration
	ok        int64
	refused   int64
	errs      int64
	badRender int64
	lastOK    time.Duration
	errSample string
	opOK      map[string]int64
	// browse: the cursor of the next grid page and pages read in a row
	after string
	pages int
}

func (w *worker) setLine(p int64, q int) {
	if _, had := w.lines[p]; !had {
		w.keys = append(w.keys, p)
	}
	w.lines[p] = q
}

func (w *worker) dropLine(p int64) {
	delete(w.lines, p)
	if i := slices.Index(w.keys, p); i >= 0 {
		w.keys[i] = w.keys[len(w.keys)-1]
		w.keys = w.keys[:len(w.keys)-1]
	}
}

func (w *worker) resetCart() {
	w.needCart = true
	w.lines = map[int64]int{}
	w.keys = w.keys[:0]
	w.known = true
}

func (w *worker) fail(err error) {
	w.errs++
	if isRenderErr(err) {
		w.badRender++
	}
	if w.errSample == "" {
		w.errSample = err.Error()
	}
}

// want is the lines the worker's cart must render, nil when not known.
func (w *worker) want() map[int64]int {
	if !w.known {
		return nil
	}
	return w.lines
}

// answered checks the answer of a cart operation on product p: for the
// storefront shape the whole cart (checkCart, against what the worker knows
// it holds; and after a successful change p's line is there, or gone after
// a removal, known or not), for the minimal one that it is this cart's, when
// there is an answer (the API's; the raw minimal side reads nothing). An
// error forgets what the cart holds.
func (w *worker) answered(s side, o outcome, v *cartView, err error, p int64, removed bool) error {
	if err == nil {
		if s.shape() == shapeStorefront {
			err = checkCart(v, w.cart, w.want())
			if err == nil && o == granted && hasLine(v, p) == removed {
				err = renderErr("product %d's line: present %v after a successful change (removal: %v)", p, !removed, removed)
			}
		} else if v != nil && v.ID != w.cart {
			err = renderErr("answer is for cart %q, not %q", v.ID, w.cart)
		}
	}
	if err != nil {
		w.known = false
	}
	return err
}

func hasLine(v *cartView, p int64) bool {
	id := pid(p)
	for i := range v.Lines {
		if v.Lines[i].Product.ID == id {
			return true
		}
	}
	return false
}

// stepFn performs one timed operation for a worker and names it.
type stepFn func(ctx context.Context, s side, w *worker) (op string, o outcome, err error)

// cell is one side's run in one cell.
type cell struct {
	side    side
	clients int
	dur     time.Duration
	step    stepFn
	// prepare, if set, runs once the workers have their carts, before the
	// clock starts (bigcart and browse fill the carts there).
	prepare func(ctx context.Context, ws []*worker) error
	pid     int // the server process, for CPU and RSS; 0 = not measured
	// pids, when set, replace pid: every replica of a scaling run (their
	// CPU and RSS summed), and others to watch: proxy and pooler.
	pids  []int
	other []int
	// waits, when set, samples PostgreSQL's wait events during the clock.
	waits *sql.DB
	// noCart: the workers need no cart (browse reads the catalog only).
	noCart bool
	// metrics, when set, reads the server's counters (go_memstats_mallocs_total
	// and the render counts, see metrics.go) around the clock.
	metrics func(context.Context) (serverCounters, error)
}

// runCell runs c.clients workers against c.side for c.dur, each with its own
// cart (created before the clock starts), and collects their results, the
// server's CPU and maximum RSS and holdbench's own CPU during the clock.
func runCell(ctx context.Context, c cell) (*cellStats, error) {
	s, clients := c.side, c.clients
	workers := make([]*worker, clients)
	var wg sync.WaitGroup
	errc := make(chan error, clients)
	for i := range workers {
		w := &worker{id: i, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))), lines: map[int64]int{}, known: true, opOK: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			if c.noCart {
				return
			}
			cart, err := s.newCart(ctx)
			if err != nil {
				errc <- fmt.Errorf("%s: create cart: %w", s.name(), err)
				return
			}
			w.cart = cart
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	if c.prepare != nil {
		if err := c.prepare(ctx, workers); err != nil {
			return nil, fmt.Errorf("%s: prepare the carts: %w", s.name(), err)
		}
	}

	pids := c.pids
	if len(pids) == 0 {
		pids = []int{c.pid}
	}
	var scrape *counterDelta
	if c.metrics != nil {
		scrape = startCounters(ctx, c.metrics)
	}
	rss := sampleRSS(pids...)
	cpu := startCPU(pids...)
	otherCPU := startCPU(c.other...)
	var ws *waitSampler
	if c.waits != nil {
		ws = sampleWaits(ctx, c.waits)
	}
	start := time.Now()
	deadline := start.Add(c.dur)
	finish := make([]time.Duration, clients)
	for i, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { finish[i] = time.Since(start) }()
			w.lat = make([]time.Duration, 0, 1024)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if w.needCart {
					cart, err := s.newCart(ctx)
					if err != nil {
						w.fail(fmt.Errorf("create cart: %w", err))
						time.Sleep(time.Millisecond)
						continue
					}
					w.cart, w.needCart = cart, false
				}
				t0 := time.Now()
				op, o, err := c.step(ctx, s, w)
				d := time.Since(t0)
				w.lat = append(w.lat, d)
				switch {
				case err != nil:
					if ctx.Err() != nil {
						return
					}
					w.fail(fmt.Errorf("%s: %w", op, err))
					time.Sleep(time.Millisecond) // no hot spin on a failing server
				case o == refused:
					w.refused++
				default:
					w.ok++
					w.opOK[op]++
					w.lastOK = t0.Add(d).Sub(start)
				}
			}
		}()
	}
	wg.Wait()
	serverCPU, selfCPU := cpu.stop()
	allocs, renders := float64(-1), map[string]float64(nil)
	if scrape != nil {
		allocs, renders = scrape.stop(ctx)
	}
	otherUsed, _ := otherCPU.stop()
	rssMB := rss.stop()
	var waits []waitShare
	commits := int64(-1)
	if ws != nil {
		waits = ws.stop()
		commits = ws.commits
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	st := &cellStats{side: s.name(), shape: s.shape(), clients: clients, opOK: map[string]int64{}, start: start,
		rssMB: rssMB, serverCPU: serverCPU, selfCPU: selfCPU, otherCPU: otherUsed, waits: waits, commits: commits,
		serverAllocs: allocs, renders: renders}
	n := 0
	for _, w := range workers {
		n += len(w.lat)
	}
	st.lat = make([]time.Duration, 0, n)
	for i, w := range workers {
		st.ok += w.ok
		st.refused += w.refused
		st.errs += w.errs
		st.badRender += w.badRender
		st.lastOK = max(st.lastOK, w.lastOK)
		st.elapsed = max(st.elapsed, finish[i])
		st.lat = append(st.lat, w.lat...)
		if st.errSample == "" {
			st.errSample = w.errSample
		}
		for k, v := range w.opOK {
			st.opOK[k] += v
		}
	}
	sort.Slice(st.lat, func(i, j int) bool { return st.lat[i] < st.lat[j] })
	return st, nil
}

// add adds qty units of p to the worker's cart and checks the answer.
func (w *worker) add(ctx context.Context, s side, p int64, qty int) (outcome, error) {
	o, v, err := s.add(ctx, w.cart, p, qty)
	if err == nil && o == granted {
		w.setLine(p, w.lines[p]+qty)
	}
	return o, w.answered(s, o, v, err, p, false)
}

// addOne is the hot/sellout step: one unit of one product.
func addOne(product int64) stepFn {
	return func(ctx context.Context, s side, w *worker) (string, outcome, error) {
		o, err := w.add(ctx, s, product, 1)
		return "add", o, err
	}
}

// addRandom is the spread and bigcart step: one unit of a random product.
func addRandom(products []int64) stepFn {
	return func(ctx context.Context, s side, w *worker) (string, outcome, error) {
		o, err := w.add(ctx, s, products[w.rng.IntN(len(products))], 1)
		return "add", o, err
	}
}

// mixedOps says which of the later mutations the mixed scenario uses.
type mixedOps struct{ update, remove, checkout bool }

// mixedStep: 60% add, 15% update, 10% remove, 15% checkout (then a new
// cart). An operation that needs a line (or the mutation is unavailable)
// becomes an add. After an error the worker starts over with a new cart, as
// its idea of the cart's lines may be wrong.
func mixedStep(products []int64, ops mixedOps) stepFn {
	return func(ctx context.Context, s side, w *worker) (string, outcome, error) {
		r := w.rng.IntN(100)
		op := "add"
		switch {
		case r < 60:
		case r < 75 && ops.update:
			op = "update"
		case r >= 75 && r < 85 && ops.remove:
			op = "remove"
		case r >= 85 && ops.checkout:
			op = "checkout"
		}
		if len(w.keys) == 0 {
			op = "add"
		}
		var (
			o   outcome
			v   *cartView
			err error
		)
		switch op {
		case "add":
			o, err = w.add(ctx, s, products[w.rng.IntN(len(products))], 1)
		case "update":
			p := w.keys[w.rng.IntN(len(w.keys))]
			q := 1 + w.rng.IntN(3)
			if o, v, err = s.update(ctx, w.cart, p, q); err == nil && o == granted {
				w.setLine(p, q)
			}
			err = w.answered(s, o, v, err, p, false)
		case "remove":
			p := w.keys[w.rng.IntN(len(w.keys))]
			if o, v, err = s.remove(ctx, w.cart, p); err == nil && o == granted {
				w.dropLine(p)
			}
			err = w.answered(s, o, v, err, p, true)
		case "checkout":
			if o, err = s.checkout(ctx, w.cart, fmt.Sprintf("bench+%d@example.com", w.id)); err == nil && o == granted {
				w.resetCart()
			}
		}
		if err != nil {
			w.resetCart()
		}
		return op, o, err
	}
}
