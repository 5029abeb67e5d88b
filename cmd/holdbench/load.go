package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"
)

// cellStats is what one side did in one cell (scenario x clients).
type cellStats struct {
	side      string
	clients   int
	ok        int64 // successful operations (reservations, except in mixed)
	refused   int64 // INSUFFICIENT_STOCK refusals
	errs      int64 // anything else: transport, GraphQL or unexpected userErrors
	elapsed   time.Duration
	lastOK    time.Duration // since the start, of the last success
	lat       []time.Duration
	errSample string
	opOK      map[string]int64
	check     checkResult
	rssMB     float64 // max server RSS during the cell; -1 = not measured
	problem   string  // a correctness problem besides the check (e.g. sold > stock)
	sellout   bool
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
	id        int
	cart      string
	needCart  bool
	rng       *rand.Rand
	lines     map[int64]int
	keys      []int64 // keys of lines, for picking one at random
	lat       []time.Duration
	ok        int64
	refused   int64
	errs      int64
	lastOK    time.Duration
	errSample string
	opOK      map[string]int64
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
}

func (w *worker) fail(err error) {
	w.errs++
	if w.errSample == "" {
		w.errSample = err.Error()
	}
}

// stepFn performs one timed operation for a worker and names it.
type stepFn func(ctx context.Context, s side, w *worker) (op string, o outcome, err error)

// runCell runs clients workers against s for dur, each with its own cart
// (created before the clock starts), and collects their results.
func runCell(ctx context.Context, s side, clients int, dur time.Duration, step stepFn) (*cellStats, error) {
	workers := make([]*worker, clients)
	var wg sync.WaitGroup
	errc := make(chan error, clients)
	for i := range workers {
		w := &worker{id: i, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))), lines: map[int64]int{}, opOK: map[string]int64{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
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

	start := time.Now()
	deadline := start.Add(dur)
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
				op, o, err := step(ctx, s, w)
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
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	st := &cellStats{side: s.name(), clients: clients, opOK: map[string]int64{}, rssMB: -1}
	n := 0
	for _, w := range workers {
		n += len(w.lat)
	}
	st.lat = make([]time.Duration, 0, n)
	for i, w := range workers {
		st.ok += w.ok
		st.refused += w.refused
		st.errs += w.errs
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

// addOne is the hot/sellout step: one unit of one product.
func addOne(product int64) stepFn {
	return func(ctx context.Context, s side, w *worker) (string, outcome, error) {
		o, err := s.add(ctx, w.cart, product, 1)
		return "add", o, err
	}
}

// addRandom is the spread step: one unit of a random product.
func addRandom(products []int64) stepFn {
	return func(ctx context.Context, s side, w *worker) (string, outcome, error) {
		o, err := s.add(ctx, w.cart, products[w.rng.IntN(len(products))], 1)
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
			err error
		)
		switch op {
		case "add":
			p := products[w.rng.IntN(len(products))]
			if o, err = s.add(ctx, w.cart, p, 1); err == nil && o == granted {
				w.setLine(p, w.lines[p]+1)
			}
		case "update":
			p := w.keys[w.rng.IntN(len(w.keys))]
			q := 1 + w.rng.IntN(3)
			if o, err = s.update(ctx, w.cart, p, q); err == nil && o == granted {
				w.setLine(p, q)
			}
		case "remove":
			p := w.keys[w.rng.IntN(len(w.keys))]
			if o, err = s.remove(ctx, w.cart, p); err == nil && o == granted {
				w.dropLine(p)
			}
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
