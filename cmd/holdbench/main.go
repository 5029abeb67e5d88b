// Command holdbench benchmarks a Holdfast server over HTTP/GraphQL and, in the
// same run, the raw-SQL baseline: the identical per-reservation transaction
// (BEGIN; conditional UPDATE; upsert; COMMIT) issued straight from Go over a
// pool of the same size, at the same concurrency, with no HTTP and no GraphQL.
//
//	go run ./cmd/holdbench [flags]          (or: make bench BENCH_ARGS="...")
//
// Without -url it builds the server from the repository, creates a fresh
// database holdbench_<timestamp> on the PostgreSQL server of -db, starts the
// server against it on a free port, and stops the server and drops the
// database at the end (unless -keep). With -url it drives that server and
// uses -db as is (for the raw baseline, seeding and the oversell checks).
//
// Every cart scenario runs with each response shape of -shapes (see shape.go):
// storefront asks the mutations for what a cart page renders (the cart, its
// totals, every line with its product), minimal for cart { id } and the
// userErrors. The raw baseline of the storefront shape reads the same in
// one query after its transaction. Answers are checked (they add up, and
// hold the lines the client put in the cart), so a broken render cannot
// pass for a fast one.
//
// Scenarios (one cart per client, except in browse):
//
//	hot      every client adds 1 unit of ONE product (stock 1e9) in a loop
//	sellout  the same on a product with -sellout-stock units: a flash sale
//	spread   each request adds 1 unit of a random one of 10,000 products
//	mixed    60% add, 15% updateCartLine, 10% removeCartLine, 15% checkout
//	bigcart  every cart holds 100 lines; each request adds 1 unit of one of them
//	browse   reads what storefronts read most, in shapes of its own
//	         (-browse-shapes; see browse.go): grid, a catalog grid page of
//	         20 product groups (productGroups, each group's price range,
//	         available, images and every variant's options, price and
//	         available), following endCursor for up to 5 pages; page, a
//	         product page (productGroupByHandle of a random group, with its
//	         description, options and variants). The raw baseline reads the
//	         same rows in two queries (groups joined to their variants, then
//	         their images). -browse-groups groups of -browse-variants
//	         variants, seeded by SQL
//	watchers -watchers N websocket subscribers watch the hot product's stock
//	         while -watcher-writers clients reserve it (its own table; see
//	         watchers.go)
//
// Each cell also reports the server's CPU per operation (from
// /proc/<pid>/stat) and holdbench's own, and for API cells the server's
// heap allocations per operation (go_memstats_mallocs_total from its
// /metrics, read before and after the clock; see metrics.go). Results go to a markdown table
// (-out) and an SVG plot (-plot).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	clients        []int
	duration       time.Duration
	scenarios      []string
	url            string
	db             string
	pool           int
	out            string
	plot           string
	smoke          bool
	keep           bool
	strict         bool
	adminToken     string
	selloutStock   int
	spreadN        int
	mixedN         int
	bigcartLines   int
	browseGroups   int
	browseVariants int
	browseShapes   []string
	shapes         []string
	noRaw          bool
	// The scaling run (scaling.go).
	replicas       []int
	topology       string
	scalingOut     string
	clusterDir     string
	clusterPort    int
	clusterDB      string
	replicaEnv     []string
	watchers       []int
	watcherWriters int
	pprofAddr      string
}

var allScenarios = []string{"hot", "sellout", "spread", "mixed", "bigcart", "browse", "watchers"}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdbench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code, err := run(ctx, o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "holdbench:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

func parseFlags(args []string) (*options, error) {
	fs := flag.NewFlagSet("holdbench", flag.ContinueOnError)
	o := &options{}
	clients := fs.String("clients", "1,16,64,256", "comma-separated concurrent client counts (one cell each)")
	fs.DurationVar(&o.duration, "duration", 5*time.Second, "measured duration of each cell (API and raw each)")
	scenarios := fs.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios: "+strings.Join(allScenarios, ","))
	fs.StringVar(&o.url, "url", "", "base URL of an already running Holdfast (e.g. http://127.0.0.1:8080); empty = build and start one")
	fs.StringVar(&o.db, "db", os.Getenv("DATABASE_URL"), "PostgreSQL URL (default $DATABASE_URL, else scripts/devdb.sh url); without -url a fresh database is created on its server")
	fs.IntVar(&o.pool, "pool", 20, "database pool size: the server's DB_MAX_CONNS and the raw baseline's pool")
	fs.StringVar(&o.out, "out", "docs/benchmarks.md", "markdown report to write")
	fs.StringVar(&o.plot, "plot", "docs/benchmarks.svg", "SVG plot to write (empty = none)")
	shapes := fs.String("shapes", strings.Join(allShapes, ","), "comma-separated response shapes of the cart mutations: "+strings.Join(allShapes, ","))
	fs.BoolVar(&o.smoke, "smoke", false, "seconds-long CI smoke: clients 4, duration 500ms, every scenario and shape, 1,000 spread products, sell-out stock 100, output to a temp dir unless -out/-plot are given; exit 1 on oversell, a cell with zero successful operations or an answer that fails its render check")
	fs.BoolVar(&o.keep, "keep", false, "keep the benchmark database (and the server log) instead of dropping it")
	fs.BoolVar(&o.strict, "strict", false, "exit 1 when a target FAILs")
	fs.StringVar(&o.adminToken, "admin-token", os.Getenv("ADMIN_TOKEN"), "admin token (default $ADMIN_TOKEN, else dev-admin-token)")
	fs.IntVar(&o.selloutStock, "sellout-stock", 500, "stock of the sell-out product")
	fs.IntVar(&o.spreadN, "spread-products", 10000, "number of products in the spread scenario")
	fs.IntVar(&o.mixedN, "mixed-products", 100, "number of products in the mixed scenario")
	fs.IntVar(&o.bigcartLines, "bigcart-lines", 100, "lines (distinct products) in every cart of the bigcart scenario")
	fs.IntVar(&o.browseGroups, "browse-groups", 200, "product groups in the browse scenario's catalog")
	fs.IntVar(&o.browseVariants, "browse-variants", 12, "variants of each browse group (Colour x Size, up to 4 sizes; 12 = 3 colours x 4 sizes), at most 400")
	browseShapes := fs.String("browse-shapes", strings.Join(allBrowseShapes, ","), "comma-separated shapes of the browse scenario: "+strings.Join(allBrowseShapes, ","))
	fs.BoolVar(&o.noRaw, "no-raw", false, "skip the raw-SQL baseline")
	replicas := fs.String("replicas", "", "scaling run: comma-separated replica counts (e.g. 1,2,4); hot and spread with the storefront answer at each, the first count the baseline (see scaling.go)")
	fs.StringVar(&o.topology, "topology", "cluster", "scaling run: cluster (nginx + PgBouncer, scripts/cluster.sh) or direct (replicas straight on PostgreSQL, round robin in the client)")
	fs.StringVar(&o.scalingOut, "scaling-out", "docs/scaling.md", "scaling run: markdown file whose holdbench:replicas block is rewritten (empty = stdout only)")
	fs.StringVar(&o.clusterDir, "cluster-dir", ".data/bench-cluster", "scaling run: CLUSTER_DIR of the benchmark's cluster")
	fs.IntVar(&o.clusterPort, "cluster-port", 8290, "scaling run: CLUSTER_PORT (nginx) of the benchmark's cluster")
	replicaEnv := fs.String("replica-env", "", "scaling run: space-separated NAME=value assignments for every replica (e.g. GOMAXPROCS=1); {cpus/replicas} in a value is replaced by max(1, CPUs ÷ replicas), {replica} (direct topology only) by the replica number")
	fs.StringVar(&o.clusterDB, "cluster-db", "holdbench_cluster", "scaling run: CLUSTER_DB of the benchmark's cluster")
	watchers := fs.String("watchers", "1,1000,5000,10000", "comma-separated subscriber counts of the watchers scenario (one cell each)")
	fs.StringVar(&o.pprofAddr, "watchers-pprof", "", "serve net/http/pprof on this address from each watchers cell's server (one cell at a time), to profile the fan-out")
	fs.IntVar(&o.watcherWriters, "watcher-writers", 32, "clients reserving the watched product in the watchers scenario")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: holdbench [flags]\n\nBenchmarks Holdfast's cart mutations and storefront reads over GraphQL against a raw-SQL baseline.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *replicas != "" {
		for _, f := range strings.Split(*replicas, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 1 {
				return nil, fmt.Errorf("-replicas: %q is not a positive integer", f)
			}
			o.replicas = append(o.replicas, n)
		}
		if o.topology != "cluster" && o.topology != "direct" {
			return nil, fmt.Errorf("-topology: want cluster or direct, got %q", o.topology)
		}
		o.replicaEnv = strings.Fields(*replicaEnv)
		if !set["scenarios"] {
			*scenarios = "hot,spread"
		}
		if !set["clients"] {
			*clients = "64,256"
		}
	}
	if o.smoke {
		if !set["clients"] {
			*clients = "4"
		}
		if !set["duration"] {
			o.duration = 500 * time.Millisecond
		}
		if !set["spread-products"] {
			o.spreadN = 1000
		}
		if !set["watchers"] {
			*watchers = "1,200"
		}
		if !set["sellout-stock"] {
			o.selloutStock = 100 // sells out within the cell: refusals get rendered too
		}
		if !set["out"] || !set["plot"] {
			dir, err := os.MkdirTemp("", "holdbench-smoke-")
			if err != nil {
				return nil, err
			}
			if !set["out"] {
				o.out = filepath.Join(dir, "benchmarks.md")
			}
			if !set["plot"] {
				o.plot = filepath.Join(dir, "benchmarks.svg")
			}
		}
	}
	if o.adminToken == "" {
		o.adminToken = "dev-admin-token"
	}
	for _, s := range strings.Split(*clients, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-clients: %q is not a positive integer", s)
		}
		o.clients = append(o.clients, n)
	}
	if len(o.clients) == 0 {
		return nil, errors.New("-clients: none given")
	}
	for _, s := range strings.Split(*watchers, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-watchers: %q is not a positive integer", s)
		}
		o.watchers = append(o.watchers, n)
	}
	if len(o.watchers) == 0 {
		return nil, errNoWatchers
	}
	if o.watcherWriters < 1 {
		return nil, errors.New("-watcher-writers must be at least 1")
	}
	for _, s := range strings.Split(*scenarios, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		ok := false
		for _, a := range allScenarios {
			ok = ok || a == s
		}
		if !ok {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (want %s)", s, strings.Join(allScenarios, ","))
		}
		if len(o.replicas) > 0 && s != "hot" && s != "spread" {
			return nil, fmt.Errorf("-scenarios: the scaling run (-replicas) has hot and spread, not %q", s)
		}
		o.scenarios = append(o.scenarios, s)
	}
	if len(o.scenarios) == 0 {
		return nil, errors.New("-scenarios: none given")
	}
	for _, s := range strings.Split(*shapes, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allShapes, s) {
			return nil, fmt.Errorf("-shapes: unknown shape %q (want %s)", s, strings.Join(allShapes, ","))
		}
		if !slices.Contains(o.shapes, s) {
			o.shapes = append(o.shapes, s)
		}
	}
	if len(o.shapes) == 0 {
		return nil, errors.New("-shapes: none given")
	}
	for _, s := range strings.Split(*browseShapes, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !slices.Contains(allBrowseShapes, s) {
			return nil, fmt.Errorf("-browse-shapes: unknown shape %q (want %s)", s, strings.Join(allBrowseShapes, ","))
		}
		if !slices.Contains(o.browseShapes, s) {
			o.browseShapes = append(o.browseShapes, s)
		}
	}
	if len(o.browseShapes) == 0 {
		return nil, errors.New("-browse-shapes: none given")
	}
	if o.duration <= 0 {
		return nil, errors.New("-duration must be positive")
	}
	if o.pool < 1 {
		return nil, errors.New("-pool must be at least 1")
	}
	if o.selloutStock < 1 || o.spreadN < 1 || o.mixedN < 1 || o.bigcartLines < 1 || o.browseGroups < 1 || o.browseVariants < 1 {
		return nil, errors.New("-sellout-stock, -spread-products, -mixed-products, -bigcart-lines, -browse-groups and -browse-variants must be positive")
	}
	if o.browseVariants > 400 {
		return nil, errors.New("-browse-variants: at most 400 (4 sizes x 100 colours, a group's most option values)")
	}
	return o, nil
}

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "holdbench: "+format+"\n", args...)
}
