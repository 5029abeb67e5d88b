package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The scaling run (-replicas 1,2,4): the hot and spread scenarios with the
// storefront answer at each replica count, at the same total client counts,
// in one run, so every ratio compares cells measured minutes apart on the
// same machine.
//
// -topology cluster (the default) runs the production topology of
// scripts/cluster.sh: nginx in front of the replicas, PgBouncer in
// transaction mode between them and PostgreSQL, each replica's LISTEN
// connection straight to PostgreSQL. -topology direct starts the replicas
// itself, straight on PostgreSQL, and spreads the requests round robin in
// the client: the same contention on the product row without the proxy and
// the pooler, to tell their cost from the database's.

// topo is one replica count's running topology.
type topo struct {
	replicas int
	urls     []string // where the clients send requests (nginx, or every replica)
	pids     []int    // the replicas
	other    []int    // nginx and PgBouncer
	stop     func()
}

type scaleRow struct {
	scenario string
	clients  int
	replicas int
	st       *cellStats
}

// scalingEnv holds what every replica count shares.
type scalingEnv struct {
	o     *options
	root  string
	tmp   string
	bin   string
	dbURL string // direct to PostgreSQL: seeding, checks, wait events
	rows  []scaleRow
	notes []string
}

func runScaling(ctx context.Context, o *options) (int, error) {
	root, err := repoRoot()
	if err != nil {
		return 1, err
	}
	s := &scalingEnv{o: o, root: root}
	if s.tmp, err = os.MkdirTemp("", "holdbench-scaling-"); err != nil {
		return 1, err
	}
	defer os.RemoveAll(s.tmp)
	logf("building the server (go build) ...")
	if s.bin, err = buildServer(ctx, root, s.tmp); err != nil {
		return 1, err
	}
	if o.topology == "direct" {
		if o.db == "" {
			if o.db, err = devDBURL(root); err != nil {
				return 1, err
			}
		}
		name := "holdbench_scaling_" + time.Now().Format("20060102_150405")
		if s.dbURL, err = createBenchDB(ctx, o.db, name); err != nil {
			return 1, err
		}
		defer func() {
			if err := dropBenchDB(o.db, name); err != nil {
				logf("drop database %s: %v", name, err)
			}
		}()
	}

	// Seed the spread products once (the database outlives the topologies);
	// in the cluster topology the first `up` creates and migrates it.
	var spread []int64
	prefix := "hbs" + time.Now().Format("20060102150405") + "-"
	for _, n := range o.replicas {
		t, err := s.up(ctx, n)
		if err != nil {
			return 1, fmt.Errorf("%d replicas: %w", n, err)
		}
		err = func() error {
			defer t.stop()
			meta, err := openDB(s.dbURL, 3)
			if err != nil {
				return err
			}
			defer meta.Close()
			gql := newGQLClients(t.urls, o.adminToken, maxInt(o.clients))
			if slices.Contains(o.scenarios, "spread") && spread == nil {
				if spread, err = seedProducts(ctx, meta, prefix+"spread-", o.spreadN, 1_000_000_000, ""); err != nil {
					return err
				}
			}
			for _, sc := range o.scenarios {
				for _, clients := range o.clients {
					api := newAPISide(gql, shapeStorefront)
					var step stepFn
					var check []int64
					switch sc {
					case "hot":
						p, err := api.createProduct(ctx, fmt.Sprintf("%shot-%d-%d", prefix, n, clients), 1_000_000_000)
						if err != nil {
							return fmt.Errorf("create product via the API: %w", err)
						}
						step, check = addOne(p), []int64{p}
					case "spread":
						step, check = addRandom(spread), spread
					}
					st, err := runCell(ctx, cell{side: api, clients: clients, dur: o.duration, step: step,
						pids: t.pids, other: t.other, waits: meta})
					if err != nil {
						return err
					}
					st.check = checkProducts(ctx, meta, check)
					s.rows = append(s.rows, scaleRow{scenario: sc, clients: clients, replicas: n, st: st})
					logf("scaling %-6s %4d clients %d replicas: %8.0f/s p99 %7s replicas %s µs/op proxy+pool %s µs/op err %d oversell %s reservations/xact %s waits %s",
						sc, clients, n, st.rate(), ms(st.pct(99)), fmtUS(st.cpuPerOp(st.serverCPU)), fmtUS(st.cpuPerOp(st.otherCPU)),
						st.errs, st.check, perCommit(st), fmtWaits(st.waits, 4))
					if st.errSample != "" {
						logf("  first error: %s", st.errSample)
					}
				}
			}
			return nil
		}()
		if err != nil {
			return 1, err
		}
	}
	md := s.markdown()
	fmt.Println(md)
	if o.scalingOut != "" {
		if err := replaceBlock(o.scalingOut, md); err != nil {
			return 1, err
		}
		logf("wrote the table into %s", o.scalingOut)
	}
	code := 0
	for _, r := range s.rows {
		if !r.st.healthy() || r.st.ok == 0 {
			logf("FAIL: %s %d clients %d replicas: %s %s (ok %d)", r.scenario, r.clients, r.replicas, r.st.check, r.st.problem, r.st.ok)
			code = 1
		}
	}
	return code, nil
}

// up starts n replicas in the chosen topology.
func (s *scalingEnv) up(ctx context.Context, n int) (*topo, error) {
	o := s.o
	extra := make([]string, len(o.replicaEnv))
	for i, kv := range o.replicaEnv {
		extra[i] = strings.ReplaceAll(kv, "{cpus/replicas}", strconv.Itoa(max(1, runtime.NumCPU()/n)))
	}
	if o.topology == "direct" {
		t := &topo{replicas: n}
		var srvs []*server
		t.stop = func() {
			var wg sync.WaitGroup
			for _, srv := range srvs {
				wg.Add(1)
				go func() { defer wg.Done(); srv.stop() }()
			}
			wg.Wait()
		}
		for i := range n {
			env := make([]string, len(extra))
			for j, kv := range extra {
				env[j] = strings.ReplaceAll(kv, "{replica}", strconv.Itoa(i+1))
			}
			srv, err := startServerLog(ctx, s.bin, filepath.Join(s.tmp, fmt.Sprintf("replica-%d.log", i+1)), s.dbURL, o.adminToken, o.pool, env...)
			if err != nil {
				t.stop()
				return nil, err
			}
			srvs = append(srvs, srv)
			t.urls = append(t.urls, srv.baseURL)
			t.pids = append(t.pids, srv.pid())
		}
		logf("direct: %d replicas on %s", n, strings.Join(t.urls, " "))
		return t, nil
	}

	env := append(os.Environ(),
		"CLUSTER_REPLICAS="+strconv.Itoa(n),
		"CLUSTER_DIR="+o.clusterDir,
		"CLUSTER_PORT="+strconv.Itoa(o.clusterPort),
		"CLUSTER_DB="+o.clusterDB,
		"CLUSTER_BIN="+s.bin,
		"ADMIN_TOKEN="+o.adminToken,
		"CLUSTER_SERVER_ENV="+strings.Join(append(benchServerEnv(o.pool), extra...), " "),
	)
	script := filepath.Join(s.root, "scripts", "cluster.sh")
	sh := func(args ...string) ([]byte, error) {
		cmd := exec.CommandContext(ctx, script, args...)
		cmd.Dir = s.root
		cmd.Env = env
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return out, fmt.Errorf("scripts/cluster.sh %s: %w", strings.Join(args, " "), err)
		}
		return out, nil
	}
	// A cluster left over (another replica count) goes first.
	if _, err := sh("down"); err != nil {
		return nil, err
	}
	if _, err := sh("up"); err != nil {
		return nil, err
	}
	out, err := sh("env")
	if err != nil {
		_, _ = sh("down")
		return nil, err
	}
	vars := parseShellAssignments(out)
	t := &topo{replicas: n, stop: func() {
		if _, err := sh("down"); err != nil {
			logf("%v", err)
		}
	}}
	t.urls = []string{vars["CLUSTER_URL"]}
	t.pids = atoiList(vars["CLUSTER_PIDS"])
	t.other = append(atoiList(vars["CLUSTER_NGINX_PID"]), atoiList(vars["CLUSTER_PGBOUNCER_PID"])...)
	t.other = append(t.other, nginxWorkers(t.other)...)
	s.dbURL = vars["CLUSTER_DATABASE_URL"]
	if t.urls[0] == "" || len(t.pids) != n || s.dbURL == "" {
		t.stop()
		return nil, fmt.Errorf("scripts/cluster.sh env: want CLUSTER_URL, %d CLUSTER_PIDS and CLUSTER_DATABASE_URL, got %q", n, out)
	}
	logf("cluster: nginx %s in front of %d replicas (pids %v), PgBouncer; proxy and pooler pids %v", t.urls[0], n, t.pids, t.other)
	return t, nil
}

// parseShellAssignments reads NAME=value lines (values optionally quoted
// with ' or "), as `scripts/cluster.sh env` prints them.
func parseShellAssignments(b []byte) map[string]string {
	vars := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(sc.Text()), "export "))
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.HasPrefix(k, "#") {
			continue
		}
		if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		vars[k] = v
	}
	return vars
}

func atoiList(s string) []int {
	var out []int
	for _, f := range strings.Fields(s) {
		if n, err := strconv.Atoi(f); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// nginxWorkers finds the children of the given processes (nginx's workers),
// from /proc.
func nginxWorkers(parents []int) []int {
	if len(parents) == 0 {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, err := strconv.Atoi(f[1]); err == nil && slices.Contains(parents, ppid) {
			out = append(out, pid)
		}
	}
	return out
}

// waitShare is one wait event's share of the active backends' samples.
type waitShare struct {
	event string
	share float64
}

// waitSampler samples pg_stat_activity every 10 ms during a cell: what the
// benchmark database's active client backends are waiting on ("CPU" when
// nothing), the wait-event profile of the run.
type waitSampler struct {
	cancel   context.CancelFunc
	done     chan struct{}
	counts   map[string]int
	total    int
	db       *sql.DB
	commits0 int64
	commits  int64 // transactions committed in the database during the cell
}

func xactCommits(db *sql.DB) int64 {
	var n int64
	_ = db.QueryRow(`SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n)
	return n
}

func sampleWaits(ctx context.Context, db *sql.DB) *waitSampler {
	ctx, cancel := context.WithCancel(ctx)
	w := &waitSampler{cancel: cancel, done: make(chan struct{}), counts: map[string]int{}, db: db}
	w.commits0 = xactCommits(db)
	const q = `
		SELECT COALESCE(wait_event_type || ':' || wait_event, 'CPU')
		FROM pg_stat_activity
		WHERE datname = current_database() AND state = 'active'
		  AND backend_type = 'client backend' AND pid <> pg_backend_pid()`
	go func() {
		defer close(w.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			rows, err := db.QueryContext(ctx, q)
			if err == nil {
				for rows.Next() {
					var ev string
					if rows.Scan(&ev) == nil {
						w.counts[ev]++
						w.total++
					}
				}
				rows.Close()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *waitSampler) stop() []waitShare {
	w.cancel()
	<-w.done
	// Backends report their counters at most once a second (and when they
	// go idle, a second later): wait for the cell's to arrive.
	time.Sleep(1100 * time.Millisecond)
	w.commits = xactCommits(w.db) - w.commits0
	out := make([]waitShare, 0, len(w.counts))
	for ev, n := range w.counts {
		out = append(out, waitShare{ev, float64(n) / float64(max(w.total, 1))})
	}
	slices.SortFunc(out, func(a, b waitShare) int {
		if a.share != b.share {
			if a.share > b.share {
				return -1
			}
			return 1
		}
		return strings.Compare(a.event, b.event)
	})
	return out
}

func fmtWaits(ws []waitShare, n int) string {
	if len(ws) == 0 {
		return "n/a"
	}
	parts := make([]string, 0, n)
	for _, w := range ws[:min(n, len(ws))] {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", w.event, 100*w.share))
	}
	return strings.Join(parts, ", ")
}

const (
	scalingBegin = "<!-- holdbench:replicas:begin -->"
	scalingEnd   = "<!-- holdbench:replicas:end -->"
)

func (s *scalingEnv) markdown() string {
	o := s.o
	var b strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&b, f, a...) }
	host, _ := os.Hostname()
	w("%s\n", scalingBegin)
	w("Measured %s on %s (%d CPUs) with `go run ./cmd/holdbench -replicas %s -topology %s -clients %s -duration %s%s` (storefront answer; %s cells).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), host, runtime.NumCPU(), joinInts(o.replicas), o.topology, joinInts(o.clients), o.duration, replicaEnvFlag(o.replicaEnv), strings.Join(o.scenarios, " and "))
	w("| scenario | clients | replicas | reservations/s | × 1 replica | p50 | p99 | replicas CPU µs/op | nginx+PgBouncer CPU µs/op | holdbench CPU µs/op | reservations per transaction | errors | books | PostgreSQL wait events (share of active backends) |\n")
	w("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n")
	base := map[string]float64{}
	for _, r := range s.rows {
		if r.replicas == o.replicas[0] {
			base[fmt.Sprintf("%s/%d", r.scenario, r.clients)] = r.st.rate()
		}
	}
	rows := slices.Clone(s.rows)
	slices.SortStableFunc(rows, func(a, b scaleRow) int {
		if c := strings.Compare(a.scenario, b.scenario); c != 0 {
			return c
		}
		if a.clients != b.clients {
			return a.clients - b.clients
		}
		return a.replicas - b.replicas
	})
	for _, r := range rows {
		st := r.st
		ratio := "—"
		if bse := base[fmt.Sprintf("%s/%d", r.scenario, r.clients)]; bse > 0 && r.replicas != o.replicas[0] {
			ratio = fmt.Sprintf("%.2f", st.rate()/bse)
		}
		other := "n/a"
		if o.topology != "direct" {
			other = fmtUS(st.cpuPerOp(st.otherCPU))
		}
		w("| %s | %d | %d | %.0f | %s | %s | %s | %s | %s | %s | %s | %d | %s | %s |\n", r.scenario, r.clients, r.replicas, st.rate(), ratio,
			ms(st.pct(50)), ms(st.pct(99)), fmtUS(st.cpuPerOp(st.serverCPU)), other, fmtUS(st.cpuPerOp(st.selfCPU)), perCommit(st), st.errs, st.check, fmtWaits(st.waits, 4))
	}
	w("\n× 1 replica is the cell's throughput over the %d-replica cell of the same scenario and client count. *reservations per transaction*: successful reservations ÷ transactions the database committed during the cell (pg_stat_database's xact_commit, so every transaction counts, read-only ones included: in spread each reservation is one write and one read that renders the multi-line cart, hence 0.5; in hot a one-line cart renders from the reservation itself, so the figure is how many reservations a batch carried). *books*: after each cell, held ≤ stock, held = the sum of cart lines and stock = the sum of movements on the cell's products. Wait events are sampled from `pg_stat_activity` every 10 ms; `CPU` means an active backend waiting on nothing. `Lock:transactionid` is a reservation waiting for another transaction's lock on the product row; `IO:WALSync`/`LWLock:WALWrite` the commit's WAL flush; `Client:ClientRead` a backend idle in a transaction, waiting for its client.\n", o.replicas[0])
	for _, n := range s.notes {
		w("\n%s\n", n)
	}
	w("%s\n", scalingEnd)
	return b.String()
}

// replaceBlock writes block into path between the scaling markers
// (appending it when the file has none).
func replaceBlock(path, block string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, scalingBegin), strings.Index(s, scalingEnd)
	if i >= 0 && j > i {
		s = s[:i] + strings.TrimSuffix(block, "\n") + s[j+len(scalingEnd):]
	} else {
		s = strings.TrimRight(s, "\n") + "\n\n" + block
	}
	return writeFile(path, []byte(s))
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

func replicaEnvFlag(env []string) string {
	if len(env) == 0 {
		return ""
	}
	return " -replica-env '" + strings.Join(env, " ") + "'"
}

// perCommit is the cell's successful reservations per committed transaction
// (read-only ones included).
func perCommit(st *cellStats) string {
	if st.commits <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", float64(st.ok)/float64(st.commits))
}
