// Command holdfast serves the Holdfast GraphQL commerce API.
//
//	holdfast [serve]   migrate the database and serve the API (default)
//	holdfast migrate   apply pending migrations and exit
//
// Configuration comes from the environment (package config; see
// docs/operations.md). This file opens the pool, runs the migrations and
// serves: build makes the handlers and workers, run serves until the
// context ends, stop drains and shuts down. wiring.go maps the
// configuration onto each package's options.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"holdfast/config"
	"holdfast/graph"
	"holdfast/graph/live"
	"holdfast/httpapi"
	"holdfast/httpapi/graphiql"
	"holdfast/httpapi/spa"
	"holdfast/migrations"
	"holdfast/payments"
	"holdfast/storage"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("holdfast stopped", "err", err.Error())
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := config.Load()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (make run starts a private PostgreSQL cluster under .data/ and sets it for you)")
	}
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if !storage.ValidAllocationStrategy(cfg.AllocationStrategy) {
		return fmt.Errorf("ALLOCATION_STRATEGY=%q: want %s or %s", cfg.AllocationStrategy, storage.AllocatePriority, storage.AllocateMostStock)
	}
	store, err := storage.Open(ctx, poolURL(cfg), cfg.DBMaxConns, storageOptions(cfg))
	if err != nil {
		return err
	}
	defer store.Close()
	if err := migrate(ctx, cfg, log); err != nil {
		return err
	}
	log.Info("database", "statements", statementMode(cfg.DBPrepare), "prepared_statements", cfg.DBPrepare,
		"pool", cfg.DBMaxConns, "read_pool", cfg.DBReadMaxConns, "direct_url_set", cfg.DatabaseDirectURL != "")

	switch cmd {
	case "migrate":
		log.Info("migrations applied")
		return nil
	case "serve":
		checkConnBudget(ctx, cfg, store, log)
		ln, err := net.Listen("tcp", cfg.ListenAddr)
		if err != nil {
			return err
		}
		return serve(ctx, cfg, store, ln, log)
	default:
		return fmt.Errorf("unknown command %q (want serve or migrate)", cmd)
	}
}

// serve serves the API on ln until ctx ends, then drains and stops.
func serve(ctx context.Context, cfg config.Config, store *storage.Store, ln net.Listener, log *slog.Logger) error {
	a, err := build(ctx, cfg, store, log)
	if err != nil {
		return err
	}
	defer a.stopWebsockets()
	if err := a.run(ctx, ln); err != nil {
		return err
	}
	log.Info("shutting down: draining requests and websockets", "deadline", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return a.stop(sctx)
}

// app is the server build made: its HTTP server and its workers, ready to
// run.
type app struct {
	cfg    config.Config
	log    *slog.Logger
	store  *storage.Store
	events <-chan storage.Event // the LISTEN connection's, until build's ctx ends
	hub    *live.Hub
	pay    *payments.Service
	srv    *http.Server
	routes httpapi.Routes
	drain  *httpapi.Drain
	// stopWebsockets ends every websocket: they outlive
	// http.Server.Shutdown's drain.
	stopWebsockets context.CancelFunc
	ln             net.Listener  // run's, closable twice (see stop)
	workers        chan struct{} // closed when run's workers have returned
	fresh          freshConns
}

// freshConns tracks the connections that have not sent a byte of a request
// yet (http.StateNew): a client's spare connections (an HTTP client that
// dialled for a request another connection then served, a browser's
// preconnect). http.Server.Shutdown counts such a connection as idle only
// after 5 s, so stop closes those that sent nothing through the drain delay
// itself.
type freshConns struct {
	mu    sync.Mutex
	conns map[net.Conn]time.Time
}

func (f *freshConns) track(c net.Conn, st http.ConnState) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if st == http.StateNew {
		if f.conns == nil {
			f.conns = map[net.Conn]time.Time{}
		}
		f.conns[c] = time.Now()
		return
	}
	delete(f.conns, c)
}

// closeOlder closes the connections still without a request that were
// accepted before cutoff.
func (f *freshConns) closeOlder(cutoff time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for c, at := range f.conns {
		if at.Before(cutoff) {
			_ = c.Close()
			delete(f.conns, c)
			n++
		}
	}
	return n
}

// build checks the configuration, seeds the demo catalog if asked, opens
// the LISTEN connection (closed when ctx ends) and builds the handlers.
func build(ctx context.Context, cfg config.Config, store *storage.Store, log *slog.Logger) (*app, error) {
	proxies, err := httpapi.ParseTrustedProxies(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("TRUSTED_PROXIES: %w", err)
	}
	if len(proxies) > 0 {
		log.Info("client addresses from X-Forwarded-For", "trusted_proxies", proxies)
	}
	raiseOpenFilesLimit(log)
	if err := seedDemo(ctx, cfg, store, log); err != nil {
		return nil, err
	}
	if cfg.AdminToken == "" {
		log.Warn("ADMIN_TOKEN is not set: admin operations are disabled")
	}
	// LISTEN needs a session of its own: straight to PostgreSQL, never
	// through a pooler in transaction mode.
	events, err := storage.Listen(ctx, listenerURL(cfg.DirectURL()), log)
	if err != nil {
		return nil, fmt.Errorf("listen for changes: %w", err)
	}
	provider, webhookSecret, err := paymentProvider(cfg)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, store: store, events: events, hub: newHub(cfg, store, log), drain: &httpapi.Drain{}}
	a.pay = payments.NewService(store, provider, paymentsOptions(cfg, log))
	log.Info("payments", "provider", provider.Name(), "ttl", cfg.PaymentTTL.String())
	if err := a.buildRoutes(proxies, provider, webhookSecret); err != nil {
		return nil, err
	}
	a.srv = &http.Server{
		Handler:           httpapi.NewRouter(a.routes),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ConnState:         a.fresh.track,
	}
	return a, nil
}

// buildRoutes builds the endpoints: the GraphQL handler behind the
// transport, metrics, readiness, the drain, and the optional ones.
func (a *app) buildRoutes(proxies httpapi.TrustedProxies, provider payments.Provider, webhookSecret string) error {
	cfg := a.cfg
	reg := prometheus.NewRegistry()
	metrics := httpapi.NewMetrics(reg)
	registerStoreMetrics(reg, a.store, a.hub)
	checker, err := migrations.NewChecker(a.store.DB().DB)
	if err != nil {
		return err
	}
	var storefront http.Handler
	if cfg.StorefrontDir != "" {
		if storefront, err = spa.Handler(cfg.StorefrontDir, "/shop/"); err != nil {
			return fmt.Errorf("STOREFRONT_DIR: %w", err)
		}
	}
	shutdown, stopWebsockets := context.WithCancel(context.Background())
	a.stopWebsockets = stopWebsockets

	gc := graphConfig(cfg)
	gc.Store, gc.Log, gc.Hub, gc.Payments = a.store, a.log, a.hub, a.pay
	gc.Metrics, gc.Observe, gc.Shutdown = graph.NewMetrics(reg), metrics.Observe, shutdown
	corsPolicy, originAllowed := httpapi.CORSPolicy(cfg.CORSOrigins, cfg.CORSCredentials)
	api := apiConfig(cfg, proxies, originAllowed)
	api.Log, api.Metrics = a.log, metrics
	a.routes = httpapi.Routes{
		API:        httpapi.API(api, graph.NewHandler(gc)),
		Storefront: storefront,
		Metrics:    metrics,
		AdminToken: cfg.AdminToken,
		Ready:      ready(a.store, checker),
		Drain:      a.drain,
		CORS:       corsPolicy,
	}
	if cfg.GraphiQL {
		a.routes.GraphiQL = graphiql.Handler("/graphql")
	}
	if provider.Name() == payments.StripeName {
		a.routes.StripeWebhook = &payments.StripeWebhook{Store: a.store, Secret: webhookSecret, Log: a.log, Service: a.pay}
	}
	return nil
}

// run starts the hub, the side listeners and the workers, and serves on ln
// until ctx ends (nil) or serving fails.
func (a *app) run(ctx context.Context, ln net.Listener) error {
	go a.hub.Run(ctx, a.events)
	if a.cfg.MetricsAddr != "" {
		go listen(a.log, "metrics", a.cfg.MetricsAddr, a.routes.Metrics.Handler())
	}
	if a.cfg.PprofAddr != "" {
		pm := http.NewServeMux()
		pm.HandleFunc("/debug/pprof/", pprof.Index)
		pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pm.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go listen(a.log, "pprof", a.cfg.PprofAddr, pm)
	}
	a.startWorkers(ctx)
	a.announce(ln.Addr())

	a.ln = &onceCloseListener{Listener: ln}
	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(a.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

// startWorkers runs the reaper, the payment actions and the webhook
// dispatcher until ctx ends; a.workers is closed once all have returned.
func (a *app) startWorkers(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { a.store.RunReaper(ctx, a.cfg.ReaperInterval, a.log) })
	wg.Go(func() { a.pay.RunActions(ctx, a.cfg.PaymentActionsInterval) })
	wg.Go(func() { runWebhooks(ctx, a.cfg.Webhooks, a.store, a.log) })
	a.workers = make(chan struct{})
	go func() {
		wg.Wait()
		close(a.workers)
	}()
}

// announce logs where the server listens, and prints it for a human.
func (a *app) announce(ln net.Addr) {
	addr := displayAddr(ln)
	a.log.Info("holdfast listening", "addr", ln.String(), "graphiql", "http://"+addr+"/", "graphql", "http://"+addr+"/graphql")
	fmt.Fprintf(os.Stderr, "\n  GraphiQL:  http://%s/\n  GraphQL:   http://%s/graphql\n", addr, addr)
	if a.routes.Storefront != nil {
		fmt.Fprintf(os.Stderr, "  Shop:      http://%s/shop/\n", addr)
	}
	fmt.Fprintln(os.Stderr)
}

// stop drains and stops a server whose run's ctx has ended (so the workers
// and the LISTEN connection are stopping), by ctx's deadline: first it
// tells load balancers (readyz) and keep-alive clients (responses now carry
// Connection: close) to go elsewhere, ends the websockets, serves through
// the drain delay, then shuts the HTTP server down and waits for the
// workers.
func (a *app) stop(ctx context.Context) error {
	a.drain.Start()
	if a.cfg.ShutdownRefuseNew {
		// Refused now, a connection is retried elsewhere by the proxy with
		// nothing sent; accepted and then cut off at the end of the drain,
		// a request on it would be lost. Closing the listener resets only
		// what sits in its accept queue at this instant; keep-alive
		// connections make new ones rare until now, and every response
		// from here on closes its connection instead.
		_ = a.ln.Close()
	}
	a.stopWebsockets()
	drainStart := time.Now()
	select {
	case <-time.After(a.cfg.ShutdownDrainDelay):
	case <-ctx.Done():
	}
	// A connection that sent nothing through the whole drain is a spare,
	// not a request on its way: closed now, not waited for 5 s.
	a.fresh.closeOlder(drainStart)
	err := a.srv.Shutdown(ctx)
	<-a.workers
	a.log.Info("stopped")
	return err
}

// seedDemo loads the demo catalog if SEED_DEMO asks for it.
func seedDemo(ctx context.Context, cfg config.Config, store *storage.Store, log *slog.Logger) error {
	if !cfg.SeedDemo {
		return nil
	}
	n, err := store.SeedDemo(ctx)
	if err != nil {
		return fmt.Errorf("seed demo catalog: %w", err)
	}
	if n > 0 {
		log.Info("seeded demo catalog", "products", n)
	}
	return nil
}

// migrate applies pending migrations over a session connection straight to
// PostgreSQL (DATABASE_DIRECT_URL, else DATABASE_URL): the session advisory
// lock that serialises replicas starting together would, through a pooler
// in transaction mode, be taken and released on whichever server connections
// the pooler picked.
func migrate(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	db, err := sql.Open("postgres", withConnectTimeout(cfg.DirectURL()))
	if err != nil {
		return fmt.Errorf("migrations: open: %w", err)
	}
	defer db.Close()
	return migrations.Up(ctx, db, log)
}

// statementMode says, for the start-up log, how the hot statements are sent.
func statementMode(prepare bool) string {
	if prepare {
		return "prepared once per connection (DB_PREPARE=true)"
	}
	return "unprepared (DB_PREPARE=false, for PgBouncer transaction pooling)"
}

// raiseOpenFilesLimit lifts the soft limit on open files to the hard limit:
// every websocket subscriber holds a socket.
func raiseOpenFilesLimit(log *slog.Logger) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		log.Warn("open files limit unknown", "err", err.Error())
		return
	}
	if lim.Cur < lim.Max {
		old := lim.Cur
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			log.Warn("open files limit not raised", "soft", old, "hard", lim.Max, "err", err.Error())
			return
		}
	}
	log.Info("open files limit", "soft", lim.Cur, "hard", lim.Max)
}

// ready: the database answers and every migration is applied.
func ready(store *storage.Store, checker *migrations.Checker) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := store.Ping(ctx); err != nil {
			return errors.New("database unreachable")
		}
		if ok, err := checker.Migrated(ctx); err != nil || !ok {
			return errors.New("database not migrated")
		}
		return nil
	}
}

// registerStoreMetrics exports the pool's and the store's counters and the
// number of live subscriptions.
func registerStoreMetrics(reg *prometheus.Registry, store *storage.Store, hub *live.Hub) {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stats := func(name, help string, f func(storage.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(store.Stats())) })
	}
	if store.ReadDB() != store.DB() {
		reg.MustRegister(collectors.NewDBStatsCollector(store.ReadDB().DB, "holdfast_read"))
	}
	reg.MustRegister(
		collectors.NewDBStatsCollector(store.DB().DB, "holdfast"),
		stats("holdfast_db_connect_refusals_total", "Connections PostgreSQL refused (too many clients, starting up, not listening), waited out or answered SERVICE_UNAVAILABLE.", func(s storage.Stats) int64 { return s.ConnectRefusals }),
		stats("holdfast_reaper_carts_expired_total", "Carts expired by the reaper.", func(s storage.Stats) int64 { return s.CartsExpired }),
		stats("holdfast_reaper_units_released_total", "Held units released by the reaper.", func(s storage.Stats) int64 { return s.UnitsReleased }),
		stats("holdfast_checkouts_total", "Orders placed.", func(s storage.Stats) int64 { return s.Checkouts }),
		stats("holdfast_checkout_units_total", "Units sold by checkouts.", func(s storage.Stats) int64 { return s.UnitsSold }),
		stats("holdfast_checkout_value_cents_total", "Value of orders placed, in cents (all currencies summed).", func(s storage.Stats) int64 { return s.SalesCents }),
		stats("holdfast_reservation_batches_total", "Coalesced reservation batches (more than one request in one statement).", func(s storage.Stats) int64 { return s.Batches }),
		stats("holdfast_reservation_batch_joins_total", "Reservations that joined a batch while it waited for its product row's lock.", func(s storage.Stats) int64 { return s.BatchJoins }),
		stats("holdfast_reservation_batch_fallbacks_total", "Batches that failed and fell back to per-request reservations.", func(s storage.Stats) int64 { return s.BatchFallbacks }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "holdfast_subscriptions",
			Help: "Live subscriptions on this instance.",
		}, func() float64 { return float64(hub.Subscriptions()) }),
	)
}

// listen serves h on a side listener (metrics, pprof), never the public one.
func listen(log *slog.Logger, what, addr string, h http.Handler) {
	log.Info(what+" listening", "addr", addr)
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Warn(what+" listener stopped", "err", err.Error())
	}
}

// withConnectTimeout bounds how long opening a connection may take, so a
// database that does not answer makes requests fail fast instead of hang.
func withConnectTimeout(dsn string) string {
	return withParam(dsn, "connect_timeout", "3", false)
}

// poolURL is DATABASE_URL for the pool. With DB_PREPARE=false it adds
// lib/pq's binary_parameters=yes: lib/pq otherwise sends a statement with
// parameters as Parse+Describe+Sync, then Bind+Execute+Sync, and a pooler in
// transaction mode may hand the second half (outside a transaction) to
// another server connection, where the unnamed statement does not exist
// ("unnamed prepared statement does not exist"). binary_parameters sends all
// of it in one message sequence ending in a single Sync.
func poolURL(cfg config.Config) string {
	u := withConnectTimeout(cfg.DatabaseURL)
	if !cfg.DBPrepare {
		u = withParam(u, "binary_parameters", "yes", false)
	}
	return u
}

// listenerURL names the LISTEN connection so operators (and tests) can
// find it in pg_stat_activity.
func listenerURL(dsn string) string {
	return withParam(dsn, "application_name", "holdfast-listener", true)
}

// withParam sets a connection parameter in a URL or key=value DSN; unless
// replace, a value already there stays.
func withParam(dsn, key, value string, replace bool) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		if replace || q.Get(key) == "" {
			q.Set(key, value)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	if !replace && strings.Contains(dsn, key+"=") {
		return dsn
	}
	return dsn + " " + key + "=" + value
}

func displayAddr(a net.Addr) string {
	s := a.String()
	for _, any := range []string{"[::]:", "0.0.0.0:"} {
		if port, ok := strings.CutPrefix(s, any); ok {
			return "localhost:" + port
		}
	}
	return s
}
