package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// row is one line of the report: a scenario at a client count with one
// response shape, both sides.
type row struct {
	scenario string
	clients  int
	shape    string
	api, raw *cellStats
}

type env struct {
	o        *options
	gql      *gqlClient
	rawDB    *sql.DB
	meta     *sql.DB // seeding and checks
	srv      *server // nil with -url
	prefix   string  // sku prefix, unique per run
	notes    []string
	rows     []*row
	started  time.Time
	pgVer    string
	dbTarget string // where the database lives, for the report
	watch    []*watchRow
	// What the watchers scenario needs to start servers of its own.
	bin, tmp, benchDB, baseURL string
}

func run(ctx context.Context, o *options) (int, error) {
	if len(o.replicas) > 0 {
		return runScaling(ctx, o)
	}
	e := &env{o: o, started: time.Now()}
	runID := e.started.Format("20060102_150405")
	e.prefix = "hb" + strings.ReplaceAll(runID, "_", "") + "-"

	root, err := repoRoot()
	if err != nil && o.url == "" {
		return 1, err
	}
	if o.db == "" {
		if root == "" {
			return 1, errors.New("-db (or DATABASE_URL) is required outside the repository")
		}
		logf("no -db or DATABASE_URL: using the private dev cluster (scripts/devdb.sh url)")
		if o.db, err = devDBURL(root); err != nil {
			return 1, err
		}
	}

	benchDB := o.db
	baseURL := o.url
	if o.url == "" {
		tmp, err := os.MkdirTemp("", "holdbench-")
		if err != nil {
			return 1, err
		}
		keepTmp := false
		defer func() {
			if !keepTmp {
				os.RemoveAll(tmp)
			}
		}()
		logf("building the server (go build) ...")
		bin, err := buildServer(ctx, root, tmp)
		if err != nil {
			return 1, err
		}
		e.bin, e.tmp = bin, tmp
		dbName := "holdbench_" + runID
		if benchDB, err = createBenchDB(ctx, o.db, dbName); err != nil {
			return 1, err
		}
		logf("created database %s", dbName)
		defer func() {
			if o.keep {
				logf("kept database %s (%s)", dbName, redact(benchDB))
				return
			}
			if err := dropBenchDB(o.db, dbName); err != nil {
				logf("drop database %s: %v", dbName, err)
			} else {
				logf("dropped database %s", dbName)
			}
		}()
		srv, err := startServer(ctx, bin, tmp, benchDB, o.adminToken, o.pool)
		if err != nil {
			keepTmp = true
			return 1, err
		}
		e.srv = srv
		defer func() {
			srv.stop()
			if o.keep {
				keepTmp = true
				logf("server log kept: %s", srv.logPath)
			}
		}()
		baseURL = srv.baseURL
		e.dbTarget = "fresh database " + dbName + " (dropped afterwards)"
		logf("server pid %d on %s (DB_MAX_CONNS=%d)", srv.pid(), baseURL, o.pool)
	} else {
		e.dbTarget = "the database of -db, as is"
		if err := waitReady(ctx, baseURL, 10*time.Second, nil); err != nil {
			return 1, err
		}
	}

	e.benchDB, e.baseURL = benchDB, baseURL
	if e.meta, err = openDB(benchDB, 2); err != nil {
		return 1, fmt.Errorf("connect to the benchmark database: %w", err)
	}
	defer e.meta.Close()
	rawDB, err := openDB(benchDB, o.pool)
	if err != nil {
		return 1, err
	}
	defer rawDB.Close()
	e.rawDB = rawDB
	e.gql = newGQLClient(baseURL, o.adminToken, maxInt(o.clients))
	e.pgVer = pgVersion(ctx, e.meta)

	for _, sc := range o.scenarios {
		if err := e.scenario(ctx, sc); err != nil {
			if ctx.Err() != nil {
				return 130, errors.New("interrupted")
			}
			return 1, fmt.Errorf("%s: %w", sc, err)
		}
	}

	md := e.markdown()
	if err := writeFile(o.out, []byte(md)); err != nil {
		return 1, err
	}
	fmt.Println(md)
	logf("wrote %s", o.out)
	if o.plot != "" {
		if err := writeFile(o.plot, []byte(e.svg())); err != nil {
			return 1, err
		}
		logf("wrote %s", o.plot)
	}

	code := 0
	if o.smoke {
		for _, r := range e.rows {
			for _, c := range []*cellStats{r.api, r.raw} {
				if c == nil {
					continue
				}
				if !c.healthy() {
					logf("SMOKE FAIL: %s %s %s at %d clients: oversell check: %s %s", r.scenario, r.shape, c.side, r.clients, c.check, c.problem)
					code = 1
				}
				if c.ok == 0 {
					logf("SMOKE FAIL: %s %s %s at %d clients: zero successful operations (first error: %s)", r.scenario, r.shape, c.side, r.clients, c.errSample)
					code = 1
				}
				if c.badRender > 0 {
					logf("SMOKE FAIL: %s %s %s at %d clients: %d answers failed the render check (first error: %s)", r.scenario, r.shape, c.side, r.clients, c.badRender, c.errSample)
					code = 1
				}
			}
		}
		for _, r := range e.watch {
			if !r.ok() {
				logf("SMOKE FAIL: watchers at %d subscribers: %d connected (first error: %s), %d got the final level, %d reservations", r.subs, r.connected, r.dialErr, r.got, r.st.ok)
				code = 1
			}
		}
		if code == 0 {
			logf("smoke OK")
		}
	}
	if o.strict {
		for _, t := range e.targets() {
			if t.status == "FAIL" {
				code = 1
			}
		}
	}
	return code, nil
}

// scenario runs every client count of one scenario, for every shape API
// then raw.
func (e *env) scenario(ctx context.Context, sc string) error {
	if sc == "watchers" {
		return e.watchers(ctx)
	}
	o := e.o
	var (
		apiSet, rawSet []int64
		ops            mixedOps
		cat            *browseCatalog
	)
	seed := func(n, stock int) error {
		var err error
		if apiSet, err = seedProducts(ctx, e.meta, e.prefix+sc+"-api-", n, stock, ""); err != nil {
			return err
		}
		if rawSet, err = seedProducts(ctx, e.meta, e.prefix+sc+"-raw-", n, stock, ""); err != nil {
			return err
		}
		logf("%s: seeded %d products for the API and %d for raw", sc, n, n)
		return nil
	}
	var err error
	switch sc {
	case "spread":
		err = seed(o.spreadN, 1_000_000_000)
	case "mixed":
		if err = seed(o.mixedN, 1_000_000); err == nil {
			ops = e.probeMixed(ctx, apiSet[0])
		}
	case "bigcart":
		err = seed(o.bigcartLines, 1_000_000_000)
	case "browse":
		if cat, err = seedBrowseCatalog(ctx, e.meta, e.prefix, o.browseGroups, o.browseVariants); err == nil {
			logf("%s: seeded %d product groups of %d variants and %d images each (API and raw read the same)", sc, o.browseGroups, o.browseVariants, browseImages)
		}
	}
	if err != nil {
		return err
	}
	shapes := o.shapes
	if sc == "browse" {
		shapes = o.browseShapes // reads: shapes of their own (browse.go)
	}
	pidToSample := 0
	if e.srv != nil {
		pidToSample = e.srv.pid()
	}

	for _, n := range o.clients {
		for _, shape := range shapes {
			r := &row{scenario: sc, clients: n, shape: shape}
			api, raw := newAPISide(e.gql, shape), &rawSide{db: e.rawDB, shp: shape}
			var apiStep, rawStep stepFn
			var apiPrep, rawPrep func(context.Context, []*worker) error
			var apiCheck, rawCheck []int64
			noCart := false
			switch sc {
			case "hot", "sellout":
				stock := 1_000_000_000
				if sc == "sellout" {
					stock = o.selloutStock
				}
				ap, err := api.createProduct(ctx, fmt.Sprintf("%s%s-%d-%s-api", e.prefix, sc, n, shape), stock)
				if err != nil {
					return fmt.Errorf("create product via the API: %w", err)
				}
				rp, err := seedProducts(ctx, e.meta, fmt.Sprintf("%s%s-%d-%s-raw-", e.prefix, sc, n, shape), 1, stock, "")
				if err != nil {
					return err
				}
				apiStep, rawStep = addOne(ap), addOne(rp[0])
				apiCheck, rawCheck = []int64{ap}, rp
			case "spread", "bigcart":
				apiStep, rawStep = addRandom(apiSet), addRandom(rawSet)
				apiCheck, rawCheck = apiSet, rawSet
				if sc == "bigcart" {
					apiPrep, rawPrep = e.fillCarts(apiSet, len(apiSet)), e.fillCarts(rawSet, len(rawSet))
				}
			case "mixed":
				apiStep, rawStep = mixedStep(apiSet, ops), mixedStep(rawSet, ops)
				apiCheck, rawCheck = apiSet, rawSet
			case "browse":
				apiStep = browseGridStep(cat)
				if shape == shapePage {
					apiStep = browsePageStep(cat)
				}
				rawStep, noCart = apiStep, true
				apiCheck, rawCheck = cat.variants, cat.variants
			}

			st, err := runCell(ctx, cell{side: api, clients: n, dur: o.duration, step: apiStep, prepare: apiPrep, pid: pidToSample,
				noCart: noCart, metrics: e.gql.metricsReader()})
			if err != nil {
				return err
			}
			st.check = checkProducts(ctx, e.meta, apiCheck)
			e.finishCell(sc, st)
			r.api = st
			if e.srv != nil && !e.srv.alive() {
				return fmt.Errorf("the server exited during the run: %w\n%s", e.srv.waitErr, tail(e.srv.logPath, 30))
			}

			if !o.noRaw {
				st, err := runCell(ctx, cell{side: raw, clients: n, dur: o.duration, step: rawStep, prepare: rawPrep, noCart: noCart})
				if err != nil {
					return err
				}
				st.check = checkProducts(ctx, e.meta, rawCheck)
				e.finishCell(sc, st)
				r.raw = st
			}
			e.rows = append(e.rows, r)
			rawPart := "raw not run (-no-raw)"
			if r.raw != nil {
				rawPart = fmt.Sprintf("raw %8.0f/s p99 %7s cpu %s µs/op", r.raw.rate(), ms(r.raw.pct(99)), fmtUS(r.raw.cpuPerOp(r.raw.selfCPU)))
			}
			logf("%-8s %4d clients %-10s  api %8.0f/s p99 %7s cpu %s+%s µs/op allocs %s/op refused %6d err %d  |  %s  |  oversell api=%s raw=%s",
				sc, n, shape, r.api.rate(), ms(r.api.pct(99)), fmtUS(r.api.cpuPerOp(r.api.serverCPU)), fmtUS(r.api.cpuPerOp(r.api.selfCPU)), fmtAllocs(r.api),
				r.api.refused, r.api.errs, rawPart, r.api.check, rawCheckStr(r.raw))
			if r.api.errSample != "" {
				logf("  api first error: %s", r.api.errSample)
			}
			if r.raw != nil && r.raw.errSample != "" {
				logf("  raw first error: %s", r.raw.errSample)
			}
		}
	}
	return nil
}

// fillCarts returns a prepare step that puts perCart distinct products of
// set (all of them in bigcart), 1 unit each, in every worker's cart, by SQL,
// and tells the workers.
func (e *env) fillCarts(set []int64, perCart int) func(context.Context, []*worker) error {
	return func(ctx context.Context, ws []*worker) error {
		carts := make([]string, 0, len(ws)*perCart)
		products := make([]int64, 0, len(ws)*perCart)
		for _, w := range ws {
			pick := set
			if perCart < len(set) {
				pick = make([]int64, perCart)
				for i, j := range w.rng.Perm(len(set))[:perCart] {
					pick[i] = set[j]
				}
			}
			for _, p := range pick {
				carts = append(carts, w.cart)
				products = append(products, p)
				w.setLine(p, 1)
			}
		}
		return seedCartLines(ctx, e.meta, carts, products)
	}
}

func rawCheckStr(c *cellStats) string {
	if c == nil {
		return "n/a"
	}
	return c.check.String()
}

// finishCell adds scenario-specific verdicts to a cell.
func (e *env) finishCell(sc string, st *cellStats) {
	if sc != "sellout" {
		return
	}
	st.sellout = true
	stock := int64(e.o.selloutStock)
	if st.ok > stock {
		st.problem = fmt.Sprintf("clients were granted %d units of %d", st.ok, stock)
	}
	if st.check.ran && st.check.err == nil && st.check.held != st.ok && st.errs == 0 {
		st.problem = strings.TrimPrefix(st.problem+fmt.Sprintf("; held %d but clients were granted %d", st.check.held, st.ok), "; ")
	}
}

// probeMixed finds out which of updateCartLine, removeCartLine and checkout
// the API offers (schema introspection, then one real call each).
func (e *env) probeMixed(ctx context.Context, product int64) mixedOps {
	api := newAPISide(e.gql, shapeMinimal)
	fields, ierr := e.gql.mutationFields(ctx)
	has := func(f string) bool { return ierr != nil || fields[f] }
	ops := mixedOps{update: has("updateCartLine"), remove: has("removeCartLine"), checkout: has("checkout")}
	var missing []string
	for f, ok := range map[string]bool{"updateCartLine": ops.update, "removeCartLine": ops.remove, "checkout": ops.checkout} {
		if !ok {
			missing = append(missing, f)
		}
	}
	cart, err := api.newCart(ctx)
	if err == nil {
		_, _, err = api.add(ctx, cart, product, 1)
	}
	if err != nil {
		e.notes = append(e.notes, "mixed: probing the API failed ("+err.Error()+"); mixed runs add-only")
		return mixedOps{}
	}
	disable := func(name string, ok *bool, err error) {
		if *ok && err != nil {
			*ok = false
			missing = append(missing, name+" (probe: "+err.Error()+")")
		}
	}
	if ops.update {
		_, _, err := api.update(ctx, cart, product, 2)
		disable("updateCartLine", &ops.update, err)
	}
	if ops.remove {
		_, _, err := api.remove(ctx, cart, product)
		disable("removeCartLine", &ops.remove, err)
		if err == nil {
			_, _, _ = api.add(ctx, cart, product, 1)
		}
	}
	if ops.checkout {
		_, err := api.checkout(ctx, cart, "probe@example.com")
		disable("checkout", &ops.checkout, err)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		msg := "mixed: not available in the API, replaced by adds (on both sides): " + strings.Join(missing, ", ")
		e.notes = append(e.notes, msg)
		logf("%s", msg)
	}
	return ops
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
}

// fmtUS writes a CPU time per operation in µs; n/a when not measured.
func fmtUS(d time.Duration) string {
	if d < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", float64(d)/float64(time.Microsecond))
}
