package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

func writeFile(path string, b []byte) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return os.WriteFile(path, b, 0o644)
}

// commandLine reconstructs how holdbench was invoked.
func commandLine() string {
	parts := []string{"go run ./cmd/holdbench"}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t'\"$`\\") {
			a = strconv.Quote(a)
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

func cmdOutput(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func memTotal() string {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return fmt.Sprintf("%.1f GiB RAM", kb/1024/1024)
		}
	}
	return ""
}

func fmtRate(c *cellStats) string {
	if c == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f", c.rate())
}

// div formats a/b as a ratio; – when either is missing.
func div(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func fmtRatio(r *row) string {
	if r == nil || r.raw == nil {
		return "–"
	}
	return div(r.api.rate(), r.raw.rate())
}

func ratio(r *row) float64 {
	if r == nil || r.raw == nil || r.raw.rate() == 0 {
		return 0
	}
	return r.api.rate() / r.raw.rate()
}

// fmtAllocs is the server's heap allocations per request of an API cell.
func fmtAllocs(c *cellStats) string {
	if a := c.allocsPerOp(); a >= 0 {
		return fmt.Sprintf("%.0f", a)
	}
	return "n/a"
}

func fmtRSS(c *cellStats) string {
	if c == nil || c.rssMB < 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", c.rssMB)
}

func verdict(c *cellStats) string {
	if c == nil {
		return "–"
	}
	s := c.check.String()
	if c.problem != "" {
		if s == "none" {
			s = ""
		} else {
			s += "; "
		}
		s += "FAIL: " + c.problem
	}
	return s
}

func fmtMS(d time.Duration) string {
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}

// cell accessors that tolerate a missing side (-no-raw).
func p99(c *cellStats) time.Duration {
	if c == nil {
		return -1
	}
	return c.pct(99)
}

func fmtP99(c *cellStats) string {
	if c == nil || len(c.lat) == 0 {
		return "–"
	}
	return fmtMS(c.pct(99))
}

func srvCPU(c *cellStats) time.Duration {
	if c == nil {
		return -1
	}
	return c.cpuPerOp(c.serverCPU)
}

func ownCPU(c *cellStats) time.Duration {
	if c == nil {
		return -1
	}
	return c.cpuPerOp(c.selfCPU)
}

func fmtCPU(d time.Duration) string {
	if d < 0 {
		return "n/a"
	}
	return fmtUS(d)
}

func durRatio(a, b time.Duration) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	return div(float64(a), float64(b))
}

func pair(api, raw *cellStats, f func(*cellStats) int64) string {
	s := "–"
	if api != nil {
		s = fmt.Sprint(f(api))
	}
	if raw != nil {
		s += " / " + fmt.Sprint(f(raw))
	}
	return s
}

func (e *env) oversell(r *row) string {
	ov := verdict(r.api)
	if r.raw != nil {
		rv := verdict(r.raw)
		if !(ov == "none" && rv == "none") {
			ov = "API: " + ov + "; raw: " + rv
		}
	}
	if n := r.api.badRender + badRender(r.raw); n > 0 {
		ov += fmt.Sprintf("; RENDER CHECK FAILED %d", n)
	}
	return ov
}

func badRender(c *cellStats) int64 {
	if c == nil {
		return 0
	}
	return c.badRender
}

// scenarioOrder is the scenarios of the rows in the order they ran, and
// clientOrder the client counts of one.
func (e *env) scenarioOrder() []string {
	var out []string
	for _, r := range e.rows {
		if !slices.Contains(out, r.scenario) {
			out = append(out, r.scenario)
		}
	}
	return out
}

func (e *env) clientOrder(sc string) []int {
	var out []int
	for _, r := range e.rows {
		if r.scenario == sc && !slices.Contains(out, r.clients) {
			out = append(out, r.clients)
		}
	}
	return out
}

// scenarioDoc says what a scenario does, for its section.
func (e *env) scenarioDoc(sc string) string {
	switch sc {
	case "hot":
		return "Every client adds 1 unit of the same product (stock 10⁹, never runs out) to its cart, in a loop; a fresh product per cell. The cart has one line."
	case "sellout":
		return fmt.Sprintf("Like hot, on a product with stock %d: a flash sale. Clients keep going after it sells out, so most requests are refusals (the storefront answer still renders the cart). ops/s = units sold ÷ time until the last unit was sold; CPU/op is over every request.", e.o.selloutStock)
	case "spread":
		return fmt.Sprintf("Each request adds 1 unit of a product picked at random among %d (seeded by SQL with their ledger rows; separate sets for API and raw). A cart gains a line with almost every request, so at low client counts carts reach hundreds or thousands of lines within a cell, and the storefront answer renders them all (the benchmark server runs with MAX_CART_LINES lifted); bigcart is the steady 100-line case.", e.o.spreadN)
	case "mixed":
		return fmt.Sprintf("%d products; per request 60%% addToCart, 15%% updateCartLine (quantity 1–3), 10%% removeCartLine, 15%% checkout (its answer is the order id in both shapes) followed by a new cart; ops/s counts every successful operation. The raw side runs plain-SQL equivalents (update: lock line, guarded held change; remove: delete line, release; checkout: close cart, order + lines, lock products in id order, stock/held down, sale ledger rows, the allocation to the default location, delete lines), then for the storefront shape the cart read.", e.o.mixedN)
	case "bigcart":
		return fmt.Sprintf("Before the clock starts every cart gets 1 unit of each of %d products (by SQL, as the API's reservations would leave them: lines with their currency, the carts' totals, the products' held; separate sets for API and raw); then each request adds 1 unit of a random one of them, so the storefront answer renders %d lines.", e.o.bigcartLines, e.o.bigcartLines)
	case "browse":
		return fmt.Sprintf("What storefronts read most, no writes, as two shapes of their own, each with its raw baseline. The catalog: %d product groups of %d variants each (Colour × Size; prices grow with the size in two groups of three, so their priceRange has min < max; stock %d each, so availability never moves) and %d images each, seeded by SQL as the admin API would leave them; API and raw read the same rows. "+
			"*grid* is a catalog grid page: `productGroups(first: %d, after:)` with, per group, `%s`, and `pageInfo { hasNextPage endCursor }`; each client follows `endCursor` for up to %d pages from the start of the catalog, then starts over (images takes no arguments: the answer holds every image, though a grid shows the first). "+
			"*page* is a product page: `productGroupByHandle(handle:)` of a random group with `%s`. "+
			"The raw side reads the same rows in two queries per request: the groups (grid: the keyset page `WHERE id > $1 ORDER BY id LIMIT %d`, the extra row only to know whether more follow; page: by handle) `LEFT JOIN` their variants (price, `stock − held`, `selected_options`), then the groups' images (`WHERE group_id = ANY($1) ORDER BY group_id, position`); in Go it orders each variant's options and the variants as the server does (by the position of their value of each option in turn, then id), adds up `available` and takes `priceRange` from the group's stored lowest and highest variant price, as the server does. "+
			"Every answer is checked: a full page of %d groups unless it is the last, in id order; every group's variants exactly the seeded ones in display order, each with its options and a price in the range's currency; `available` = the sum of its variants'; `priceRange` = their lowest and highest price; its images; on the page the asked group with its description and options, each variant's `selectedOptions` naming them in order.",
			e.o.browseGroups, e.o.browseVariants, browseStock(e.o.browseVariants), browseImages,
			browsePageSize, selGroupGrid, browsePages, selGroupPage, browsePageSize+1, browsePageSize)
	}
	return ""
}

func (e *env) markdown() string {
	o := e.o
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("# Holdfast benchmarks\n\n")
	w("Generated by `cmd/holdbench` on %s with\n\n    %s\n\n", e.started.UTC().Format("2006-01-02 15:04 UTC"), commandLine())
	if args := strings.TrimPrefix(strings.TrimPrefix(commandLine(), "go run ./cmd/holdbench"), " "); args != "" {
		w("(the same as `make bench BENCH_ARGS='%s'`). ", args)
	} else {
		w("(the same as `make bench`). ")
	}
	w("`make bench` with no arguments runs every scenario and shape at clients 1,16,64,256 for 5 s per cell; `go run ./cmd/holdbench -h` lists the flags.\n\n")
	w("- Machine: %d CPUs", runtime.NumCPU())
	if m := cpuModel(); m != "" {
		w(" (%s)", m)
	}
	if m := memTotal(); m != "" {
		w(", %s", m)
	}
	w(", %s/%s\n", runtime.GOOS, runtime.GOARCH)
	gv := cmdOutput(goBinary(), "version")
	if gv == "" {
		gv = runtime.Version()
	}
	w("- Go: `%s`\n", gv)
	w("- PostgreSQL: `%s`\n", e.pgVer)
	if rev := cmdOutput("git", "describe", "--always", "--dirty"); rev != "" {
		w("- Holdfast revision: `%s`\n", rev)
	}
	if e.srv != nil {
		w("- Server: built and started by holdbench with DB_MAX_CONNS=%d, HOLD_TTL=1h, on %s.\n", o.pool, e.dbTarget)
	} else {
		w("- Server: the one at `%s` (its settings are its own; its RSS and CPU not measured); data in %s.\n", o.url, e.dbTarget)
	}
	w("- Each cell: %s of N concurrent clients, one cart each, one HTTP keep-alive connection each, looping without think time; then the same for the raw baseline over a pool of %d connections. Cells run one after the other, never at once: per client count, each shape API then raw. Load generator, server and PostgreSQL share the machine.\n\n", o.duration, o.pool)

	w("## How to read this\n\n")
	w("- **Shapes.** A storefront renders the cart from the mutation's answer after \"Add to cart\", so *storefront* asks `addToCart`, `updateCartLine` and `removeCartLine` for the cart page: `cart { %s }`, `userErrors { code message field available }`, `warnings { code message }`. *minimal* asks for `cart { id }` and the userErrors only, which no storefront sends. Every scenario runs both in the same run; *storefront ÷ minimal* is what rendering the cart costs (ops/s below 1× = slower, CPU and p99 above 1× = dearer). The browse scenario has shapes of its own, *grid* and *page* (see its section).\n", selCart)
	w("- **Raw baseline.** The same operations as plain SQL from Go (`database/sql` + `lib/pq`), no HTTP, no GraphQL, over the same pool size. The reservation is one transaction: `BEGIN; UPDATE products SET held = held + $n WHERE id = $1 AND stock - held >= $n RETURNING currency;` then, if a row was updated, `INSERT INTO cart_lines (cart_id, product_id, quantity, currency) … ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = cart_lines.quantity + EXCLUDED.quantity; COMMIT` (else `ROLLBACK`, a refusal). For the storefront shape it then reads what the answer renders in one query, after refusals too: the cart row (status, expires_at) `LEFT JOIN` its lines `LEFT JOIN` their products (id, sku, name, price_cents, currency, stock − held), totals added up in Go. Raw carts are created with currency USD, the only one the benchmark uses, so their lines' currency foreign key holds without writing the cart row.\n")
	w("- **ops/s** = successful operations per second: reservations in hot, sellout, spread and bigcart, every successful operation in mixed and browse. *API/raw* = API ops/s ÷ raw ops/s of the same shape.\n")
	w("- **CPU µs/op** = CPU time spent during the cell's measured window ÷ requests sent (refusals included). *server*: the Holdfast process holdbench started (utime + stime of `/proc/<pid>/stat`, in clock ticks of 1/%d s; n/a with `-url`). *holdbench*: the load generator's own (getrusage), which in an API cell is the HTTP client and JSON decoding, and in a raw cell the whole Go side of the baseline (`database/sql`, `lib/pq`, building the answer). PostgreSQL's CPU is not counted on either side. On one machine the sides compete for the same cores, and loopback networking is partly charged to the sending process.\n", clockTicks())
	w("- **server allocs/op** = the server's heap allocations during an API cell's measured window (`go_memstats_mallocs_total` from its `/metrics`, read before and after the clock, less what one read allocates) ÷ requests sent; n/a when `/metrics` cannot be read (raw cells have no server).\n")
	w("- **p99** = 99th percentile latency of every request of the cell, in ms. **RSS** = the server's maximum resident memory during the cell (sampled every 200 ms).\n")
	w("- **Checks.** Every answer is checked: a storefront cart must be the client's, add up (`totalQuantity` = the sum of its lines' quantities, each `lineTotal` = price × quantity, `subtotal` = their sum) and hold exactly the lines the client put in it (non-empty after a successful add), so a broken render cannot pass for a fast one; a failed check counts as an error (*RENDER CHECK FAILED* in the oversell column). The browse answers are checked as its section says. *Oversell* is checked in the database after each cell, API and raw: `held <= stock`, `held = sum(quantity)` of the product's cart lines, `stock = sum(delta)` of its ledger (`none` = all hold).\n\n")

	if len(e.rows) > 0 {
		e.rowsMarkdown(w)
	}
	e.watchersMarkdown(w)

	notes := e.scenarioNotes()
	if len(notes) > 0 {
		w("### Notes\n\n")
		for _, n := range notes {
			w("- %s\n", n)
		}
		w("\n")
	}

	w("## Targets\n\n")
	w("| target | measured | result |\n|---|---|---|\n")
	for _, t := range e.targets() {
		w("| %s | %s | %s |\n", t.name, t.measured, t.status)
	}
	w("\n")

	if o.plot != "" {
		rel, err := filepath.Rel(filepath.Dir(absPath(o.out)), absPath(o.plot))
		if err != nil {
			rel = o.plot
		}
		w("## Plot\n\n![operations/s against clients, hot and bigcart, API and raw, storefront and minimal](%s)\n", filepath.ToSlash(rel))
	}
	return b.String()
}

func api(r *row) *cellStats {
	if r == nil {
		return nil
	}
	return r.api
}

func raw(r *row) *cellStats {
	if r == nil {
		return nil
	}
	return r.raw
}

func absPath(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// scenarioNotes: what sold out when, what mixed did, the errors.
func (e *env) scenarioNotes() []string {
	var notes []string
	for _, r := range e.rows {
		switch r.scenario {
		case "sellout":
			s := fmt.Sprintf("sellout at %d clients, %s: API sold %d/%d in %.2f s", r.clients, r.shape, r.api.ok, e.o.selloutStock, r.api.lastOK.Seconds())
			if r.raw != nil {
				s += fmt.Sprintf("; raw sold %d/%d in %.2f s", r.raw.ok, e.o.selloutStock, r.raw.lastOK.Seconds())
			}
			notes = append(notes, s+".")
		case "mixed":
			s := fmt.Sprintf("%s at %d clients, %s, successful operations: API %s", r.scenario, r.clients, r.shape, fmtOps(r.api.opOK))
			if r.raw != nil {
				s += "; raw " + fmtOps(r.raw.opOK)
			}
			notes = append(notes, s+".")
		case "browse":
			if len(r.api.renders) > 0 {
				notes = append(notes, fmt.Sprintf("browse %s at %d clients: the server rendered %s (holdfast_renders_total during the API cell).", r.shape, r.clients, fmtOps(r.api.renders)))
			}
		}
		for _, c := range []*cellStats{r.api, r.raw} {
			if c != nil && c.errSample != "" {
				notes = append(notes, fmt.Sprintf("%s %s %s at %d clients: %d errors (%d failed render checks), first: `%s`", r.scenario, r.shape, c.side, r.clients, c.errs, c.badRender, strings.ReplaceAll(c.errSample, "`", "'")))
			}
		}
	}
	return append(notes, e.notes...)
}

func fmtOps[N int64 | float64](m map[string]N) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %v", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

type target struct{ name, measured, status string }

// listTargets are issue 26's: lists at the speed of the SQL under them,
// the hot product's storefront answer as cheap as the minimal one, and the
// server's memory in every cell.
func (e *env) listTargets() []target {
	var ts []target
	for _, c := range []struct {
		sc, shape string
		min       float64
	}{{"browse", shapeGrid, 0.7}, {"browse", shapePage, 0.7}, {"bigcart", "storefront", 0.7}, {"spread", "storefront", 1.0}} {
		name := fmt.Sprintf("%s %s, 64 clients: API ≥ %.1f× raw", c.sc, c.shape, c.min)
		if r := e.find(c.sc, 64, c.shape); r == nil || r.raw == nil {
			ts = append(ts, target{name, "–", "not run"})
		} else {
			ts = append(ts, target{name, fmtRatio(r), passFail(ratio(r) >= c.min)})
		}
	}
	name := "hot, 64 clients: storefront ≥ 0.8× minimal (API)"
	if s, m := e.find("hot", 64, "storefront"), e.find("hot", 64, "minimal"); s == nil || m == nil || m.api.rate() == 0 {
		ts = append(ts, target{name, "–", "not run"})
	} else {
		q := s.api.rate() / m.api.rate()
		ts = append(ts, target{name, fmt.Sprintf("%.2f×", q), passFail(q >= 0.8)})
	}
	rss, worst := -1.0, ""
	for _, r := range e.rows {
		if r.api.rssMB > rss {
			rss, worst = r.api.rssMB, fmt.Sprintf("%s %s, %d clients", r.scenario, r.shape, r.clients)
		}
	}
	switch {
	case len(e.rows) == 0:
	case rss < 0:
		ts = append(ts, target{"server RSS ≤ 150 MB in every cell", "n/a (-url)", "not measured"})
	default:
		ts = append(ts, target{"server RSS ≤ 150 MB in every cell", fmt.Sprintf("%.0f MB (max: %s)", rss, worst), passFail(rss <= 150)})
	}
	return ts
}

func (e *env) find(sc string, n int, shape string) *row {
	for _, r := range e.rows {
		if r.scenario == sc && r.clients == n && r.shape == shape {
			return r
		}
	}
	return nil
}

func passFail(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// targets are judged for each shape run.
func (e *env) targets() []target {
	var ts []target
	for _, shape := range e.o.shapes {
		for _, n := range []int{64, 256} {
			r := e.find("hot", n, shape)
			name := fmt.Sprintf("hot, %d clients, %s", n, shape)
			if r == nil {
				ts = append(ts, target{name + ": API ≥ 5× raw, zero oversell, p99 ≤ 100 ms", "–", "not run"})
				continue
			}
			if r.raw == nil {
				ts = append(ts, target{name + ": API ≥ 5× raw", "–", "not run (-no-raw)"})
			} else {
				ts = append(ts, target{name + ": API ≥ 5× raw", fmtRatio(r), passFail(ratio(r) >= 5)})
			}
			clean := r.api.healthy() && (r.raw == nil || r.raw.healthy())
			ts = append(ts, target{name + ": zero oversell", "API " + verdict(r.api) + ", raw " + verdict(r.raw), passFail(clean)})
			p := r.api.pct(99)
			ts = append(ts, target{name + ": API p99 ≤ 100 ms", fmtMS(p) + " ms", passFail(p <= 100*time.Millisecond && len(r.api.lat) > 0)})
		}
		name := "spread, 64 clients, " + shape + ": API ≥ 0.7× raw"
		if r := e.find("spread", 64, shape); r == nil || r.raw == nil {
			ts = append(ts, target{name, "–", "not run"})
		} else {
			ts = append(ts, target{name, fmtRatio(r), passFail(ratio(r) >= 0.7)})
		}
	}
	ts = append(ts, e.listTargets()...)
	var rss float64 = -1
	ran256 := false
	for _, r := range e.rows {
		if r.clients == 256 {
			ran256 = true
			rss = max(rss, r.api.rssMB)
		}
	}
	switch {
	case !ran256:
		ts = append(ts, target{"server RSS ≤ 150 MB at 256 clients", "–", "not run"})
	case rss < 0:
		ts = append(ts, target{"server RSS ≤ 150 MB at 256 clients", "n/a (-url)", "not measured"})
	default:
		ts = append(ts, target{"server RSS ≤ 150 MB at 256 clients", fmt.Sprintf("%.0f MB (max over scenarios)", rss), passFail(rss <= 150)})
	}
	bad, badR := 0, 0
	for _, r := range e.rows {
		for _, c := range []*cellStats{r.api, r.raw} {
			if c != nil && !c.healthy() {
				bad++
			}
			if c != nil && c.badRender > 0 {
				badR++
			}
		}
	}
	ts = append(ts, e.watchTargets()...)
	ts = append(ts, target{"zero oversell in every cell (all scenarios and shapes, API and raw)", fmt.Sprintf("%d of %d cells with a problem", bad, e.cellCount()), passFail(bad == 0)})
	ts = append(ts, target{"every answer passes its render check (all cells)", fmt.Sprintf("%d of %d cells with a failed check", badR, e.cellCount()), passFail(badR == 0)})
	return ts
}

func (e *env) cellCount() int {
	n := 0
	for _, r := range e.rows {
		n++
		if r.raw != nil {
			n++
		}
	}
	return n
}

// rowsMarkdown writes the summary and the per-scenario tables of the
// cart and browse scenarios.
func (e *env) rowsMarkdown(w func(string, ...any)) {
	w("## Summary (ops/s)\n\n")
	scenarios := e.scenarioOrder()
	if slices.ContainsFunc(scenarios, func(sc string) bool { return sc != "browse" }) {
		w("| scenario | clients | API storefront | API minimal | API storefront ÷ minimal | raw storefront | raw minimal | raw storefront ÷ minimal | API/raw storefront | API/raw minimal |\n")
		w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		for _, sc := range scenarios {
			if sc == "browse" {
				continue
			}
			for _, n := range e.clientOrder(sc) {
				sf, mn := e.find(sc, n, shapeStorefront), e.find(sc, n, shapeMinimal)
				w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |\n", sc, n,
					fmtRate(api(sf)), fmtRate(api(mn)), div(api(sf).rate(), api(mn).rate()),
					fmtRate(raw(sf)), fmtRate(raw(mn)), div(raw(sf).rate(), raw(mn).rate()),
					fmtRatio(sf), fmtRatio(mn))
			}
		}
		w("\n")
	}
	if slices.Contains(scenarios, "browse") {
		w("Browse (reads; shapes of its own, see its section):\n\n")
		w("| scenario | clients | shape | API ops/s | raw ops/s | API/raw | server CPU µs/op | server allocs/op |\n")
		w("|---|--:|---|--:|--:|--:|--:|--:|\n")
		for _, n := range e.clientOrder("browse") {
			for _, shape := range allBrowseShapes {
				if r := e.find("browse", n, shape); r != nil {
					w("| browse | %d | %s | %s | %s | %s | %s | %s |\n", n, shape, fmtRate(r.api), fmtRate(r.raw), fmtRatio(r), fmtCPU(srvCPU(r.api)), fmtAllocs(r.api))
				}
			}
		}
		w("\n")
	}

	w("## Results by scenario\n\n")
	for _, sc := range e.scenarioOrder() {
		w("### %s\n\n%s\n\n", sc, e.scenarioDoc(sc))
		w("| clients | shape | API ops/s | raw ops/s | API/raw | API p99 ms | raw p99 ms | server CPU µs/op | server allocs/op | holdbench CPU µs/op (API) | holdbench CPU µs/op (raw) | RSS MB | refusals API / raw | errors API / raw | oversell |\n")
		w("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n")
		shapes := allShapes
		if sc == "browse" {
			shapes = allBrowseShapes
		}
		for _, n := range e.clientOrder(sc) {
			var byShape []*row
			for _, shape := range shapes {
				r := e.find(sc, n, shape)
				if r == nil {
					continue
				}
				byShape = append(byShape, r)
				w("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", n, shape,
					fmtRate(r.api), fmtRate(r.raw), fmtRatio(r), fmtP99(r.api), fmtP99(r.raw),
					fmtCPU(srvCPU(r.api)), fmtAllocs(r.api), fmtCPU(ownCPU(r.api)), fmtCPU(ownCPU(r.raw)), fmtRSS(r.api),
					pair(r.api, r.raw, func(c *cellStats) int64 { return c.refused }),
					pair(r.api, r.raw, func(c *cellStats) int64 { return c.errs }), e.oversell(r))
			}
			if len(byShape) == 2 && sc != "browse" {
				sf, mn := byShape[0], byShape[1]
				w("| %d | *storefront ÷ minimal* | *%s* | *%s* | | *%s* | *%s* | *%s* | *%s* | *%s* | *%s* | | | | |\n", n,
					div(sf.api.rate(), mn.api.rate()), div(raw(sf).rate(), raw(mn).rate()),
					durRatio(p99(sf.api), p99(mn.api)), durRatio(p99(sf.raw), p99(mn.raw)),
					durRatio(srvCPU(sf.api), srvCPU(mn.api)), div(sf.api.allocsPerOp(), mn.api.allocsPerOp()),
					durRatio(ownCPU(sf.api), ownCPU(mn.api)), durRatio(ownCPU(sf.raw), ownCPU(mn.raw)))
			}
		}
		w("\n")
	}
}
