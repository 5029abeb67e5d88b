// Command holdfast serves the Holdfast GraphQL commerce API.
//
//	holdfast [serve]   migrate the database and serve the API (default)
//	holdfast migrate   apply pending migrations and exit
//
// Configuration comes from the environment; see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/cors"

	"holdfast/graph"
	"holdfast/graph/live"
	"holdfast/httpapi/graphiql"
	"holdfast/migrations"
	"holdfast/storage"
)

type config struct {
	DatabaseURL     string        `env:"DATABASE_URL"`
	ListenAddr      string        `env:"LISTEN_ADDR" envDefault:":8080"`
	AdminToken      string        `env:"ADMIN_TOKEN"`
	CORSOrigins     []string      `env:"CORS_ORIGINS" envSeparator:","`
	HoldTTL         time.Duration `env:"HOLD_TTL" envDefault:"15m"`
	ReaperInterval  time.Duration `env:"REAPER_INTERVAL" envDefault:"2s"`
	DBMaxConns      int           `env:"DB_MAX_CONNS" envDefault:"20"`
	Introspection   bool          `env:"GRAPHQL_INTROSPECTION" envDefault:"true"`
	GraphiQL        bool          `env:"GRAPHIQL" envDefault:"true"`
	SeedDemo        bool          `env:"SEED_DEMO" envDefault:"false"`
	DefaultCurrency string        `env:"DEFAULT_CURRENCY" envDefault:"USD"`
	LogLevel        slog.Level    `env:"LOG_LEVEL" envDefault:"INFO"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// ShutdownDrainDelay is how long a stopping server keeps serving (with
	// keep-alives off and /readyz failing) before it closes its listener.
	ShutdownDrainDelay time.Duration `env:"SHUTDOWN_DRAIN_DELAY" envDefault:"500ms"`
	// PprofAddr, if set (e.g. 127.0.0.1:6060), serves net/http/pprof there,
	// on its own listener, never on the public one.
	PprofAddr string `env:"PPROF_ADDR"`
	// MetricsAddr, if set (e.g. 127.0.0.1:9090), serves /metrics there
	// without auth; on the public listener /metrics needs the admin token.
	MetricsAddr    string        `env:"METRICS_ADDR"`
	MaxWSPerIP     int           `env:"WS_MAX_CONNECTIONS_PER_IP" envDefault:"100"`
	IdempotencyTTL time.Duration `env:"IDEMPOTENCY_TTL" envDefault:"24h"`
	StockPush      time.Duration `env:"STOCK_PUSH_INTERVAL" envDefault:"100ms"`
	MaxSubsPerConn int           `env:"MAX_SUBSCRIPTIONS_PER_CONNECTION" envDefault:"20"`
	MaxProductsSub int           `env:"MAX_PRODUCTS_PER_SUBSCRIPTION" envDefault:"100"`
	WSKeepAlive    time.Duration `env:"WS_KEEPALIVE" envDefault:"10s"`

	MaxBodyBytes    int64         `env:"MAX_BODY_BYTES" envDefault:"1048576"`
	RequestTimeout  time.Duration `env:"REQUEST_TIMEOUT" envDefault:"10s"`
	MaxComplexity   int           `env:"MAX_COMPLEXITY" envDefault:"1000"`
	MaxDepth        int           `env:"MAX_DEPTH" envDefault:"12"`
	MaxRootFields   int           `env:"MAX_ROOT_FIELDS" envDefault:"10"`
	MaxAliases      int           `env:"MAX_ALIASES" envDefault:"30"`
	MaxTokens       int           `env:"MAX_QUERY_TOKENS" envDefault:"15000"`
	APQCacheSize    int           `env:"APQ_CACHE_SIZE" envDefault:"1000"`
	RateIP          float64       `env:"RATE_LIMIT_IP" envDefault:"1000"`
	RateIPBurst     int           `env:"RATE_LIMIT_IP_BURST" envDefault:"2000"`
	RateCart        float64       `env:"RATE_LIMIT_CART" envDefault:"50"`
	RateCartBurst   int           `env:"RATE_LIMIT_CART_BURST" envDefault:"500"`
	RateLoopback    bool          `env:"RATE_LIMIT_LOOPBACK" envDefault:"false"`
	CORSCredentials bool          `env:"CORS_ALLOW_CREDENTIALS" envDefault:"false"`
	MaxLineQuantity int           `env:"MAX_LINE_QUANTITY" envDefault:"1000"`
	MaxCartQuantity int           `env:"MAX_CART_QUANTITY" envDefault:"10000"`
	MaxCartLines    int           `env:"MAX_CART_LINES" envDefault:"200"`
}

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(os.Args[1:], log); err != nil {
		log.Error("holdfast stopped", "err", err.Error())
		os.Exit(1)
	}
}

func run(args []string, log *slog.Logger) error {
	cfg, err := env.ParseAs[config]()
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set (make run starts a private PostgreSQL cluster under .data/ and sets it for you)")
	}
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, err := storage.Open(ctx, withConnectTimeout(cfg.DatabaseURL), cfg.DBMaxConns, storage.Options{
		HoldTTL:         cfg.HoldTTL,
		DefaultCurrency: cfg.DefaultCurrency,
		IdempotencyTTL:  cfg.IdempotencyTTL,
		MaxLineQuantity: cfg.MaxLineQuantity,
		MaxCartQuantity: cfg.MaxCartQuantity,
		MaxCartLines:    cfg.MaxCartLines,
	})
	if err != nil {
		return err
	}
	defer store.Close()
	if err := migrations.Up(ctx, store.DB().DB, log); err != nil {
		return err
	}

	switch cmd {
	case "migrate":
		log.Info("migrations applied")
		return nil
	case "serve":
		return serve(ctx, cfg, store, log)
	default:
		return fmt.Errorf("unknown command %q (want serve or migrate)", cmd)
	}
}

func serve(ctx context.Context, cfg config, store *storage.Store, log *slog.Logger) error {
	if cfg.SeedDemo {
		n, err := store.SeedDemo(ctx)
		if err != nil {
			return fmt.Errorf("seed demo catalog: %w", err)
		}
		if n > 0 {
			log.Info("seeded demo catalog", "products", n)
		}
	}
	if cfg.AdminToken == "" {
		log.Warn("ADMIN_TOKEN is not set: admin operations are disabled")
	}

	events, err := storage.Listen(ctx, listenerURL(cfg.DatabaseURL), log)
	if err != nil {
		return fmt.Errorf("listen for changes: %w", err)
	}
	hub := live.New(store, log, cfg.StockPush)
	go hub.Run(ctx, events)

	cors, originAllowed := corsPolicy(cfg.CORSOrigins, cfg.CORSCredentials)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := graph.NewMetrics(reg, store, hub)
	// Websockets outlive http.Server.Shutdown's drain: this context ends them.
	wsCtx, stopWebsockets := context.WithCancel(context.Background())
	defer stopWebsockets()

	mux := http.NewServeMux()
	mux.Handle("/graphql", graph.NewHandler(graph.HandlerConfig{
		Store:                      store,
		Log:                        log,
		AdminToken:                 cfg.AdminToken,
		Introspection:              cfg.Introspection,
		Hub:                        hub,
		Origin:                     originAllowed,
		MaxSubscriptionsPerConn:    cfg.MaxSubsPerConn,
		MaxWebsocketsPerAddress:    cfg.MaxWSPerIP,
		MaxProductsPerSubscription: cfg.MaxProductsSub,
		WebsocketKeepAlive:         cfg.WSKeepAlive,
		Limits: graph.LimitConfig{
			MaxComplexity:             cfg.MaxComplexity,
			MaxDepth:                  cfg.MaxDepth,
			MaxRootFields:             cfg.MaxRootFields,
			MaxAliases:                cfg.MaxAliases,
			MaxTokens:                 cfg.MaxTokens,
			MutationsPerSecondPerIP:   cfg.RateIP,
			MutationBurstPerIP:        cfg.RateIPBurst,
			MutationsPerSecondPerCart: cfg.RateCart,
			MutationBurstPerCart:      cfg.RateCartBurst,
			LimitLoopback:             cfg.RateLoopback,
		},
		Guard:        graph.GuardConfig{MaxBodyBytes: cfg.MaxBodyBytes, RequestTimeout: cfg.RequestTimeout},
		APQCacheSize: cfg.APQCacheSize,
		Metrics:      metrics,
		Shutdown:     wsCtx,
	}))
	// Metrics (sales totals among them) are not public: on this listener
	// they need the admin token; METRICS_ADDR serves them on a private one.
	metricsHandler := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	mux.Handle("GET /metrics", graph.RequireAdmin(cfg.AdminToken, metricsHandler))
	if cfg.MetricsAddr != "" {
		mm := http.NewServeMux()
		mm.Handle("GET /metrics", metricsHandler)
		go func() {
			log.Info("metrics listening", "addr", cfg.MetricsAddr)
			if err := http.ListenAndServe(cfg.MetricsAddr, mm); err != nil {
				log.Warn("metrics listener stopped", "err", err.Error())
			}
		}()
	}
	if cfg.GraphiQL {
		// GraphiQL and all it loads are embedded: no CDN, strict CSP.
		gi := graphiql.Handler("/graphql")
		mux.Handle("GET /{$}", gi)
		mux.Handle("GET "+graphiql.AssetsPath, gi)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok\n"))
	})
	var draining atomic.Bool
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if draining.Load() {
			http.Error(w, "not ready: shutting down", http.StatusServiceUnavailable)
			return
		}
		pctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(pctx); err != nil {
			http.Error(w, "not ready: database unreachable", http.StatusServiceUnavailable)
			return
		}
		if pending, err := migrations.Pending(pctx, store.DB().DB); err != nil || pending {
			http.Error(w, "not ready: database not migrated", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})

	if cfg.PprofAddr != "" {
		pm := http.NewServeMux()
		pm.HandleFunc("/debug/pprof/", pprof.Index)
		pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pm.HandleFunc("/debug/pprof/trace", pprof.Trace)
		go func() {
			log.Info("pprof listening", "addr", cfg.PprofAddr)
			if err := http.ListenAndServe(cfg.PprofAddr, pm); err != nil {
				log.Warn("pprof stopped", "err", err.Error())
			}
		}()
	}

	reaperDone := make(chan struct{})
	go func() {
		defer close(reaperDone)
		store.RunReaper(ctx, cfg.ReaperInterval, log)
	}()

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	api := cors.Handler(mux)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if draining.Load() {
				w.Header().Set("Connection", "close")
			}
			api.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("holdfast listening", "addr", ln.Addr().String(), "graphiql", "http://"+displayAddr(ln.Addr())+"/", "graphql", "http://"+displayAddr(ln.Addr())+"/graphql")
	fmt.Fprintf(os.Stderr, "\n  GraphiQL:  http://%s/\n  GraphQL:   http://%s/graphql\n\n", displayAddr(ln.Addr()), displayAddr(ln.Addr()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests and websockets", "deadline", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// First tell load balancers (readyz) and keep-alive clients (responses
	// now carry Connection: close) to go elsewhere, so that closing idle
	// connections does not race a client's next request on them; then stop.
	// (SetKeepAlivesEnabled(false) would close idle connections at once,
	// which is exactly that race.)
	draining.Store(true)
	stopWebsockets()
	select {
	case <-time.After(cfg.ShutdownDrainDelay):
	case <-sctx.Done():
	}
	err = srv.Shutdown(sctx)
	<-reaperDone
	log.Info("stopped")
	return err
}

// withConnectTimeout bounds how long opening a connection may take, so a
// database that does not answer makes requests fail fast instead of hang.
func withConnectTimeout(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		if q.Get("connect_timeout") == "" {
			q.Set("connect_timeout", "3")
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	if !strings.Contains(dsn, "connect_timeout") {
		return dsn + " connect_timeout=3"
	}
	return dsn
}

// listenerURL names the LISTEN connection so operators (and tests) can
// find it in pg_stat_activity.
func listenerURL(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("application_name", "holdfast-listener")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " application_name=holdfast-listener"
}

// corsPolicy allows the configured origins; with none configured, only
// localhost origins (any port), which is what local development needs. The
// same rule guards websocket upgrades.
func corsPolicy(origins []string, credentials bool) (*cors.Cors, func(origin string) bool) {
	allowed := func(origin string) bool {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			return false
		}
		h := u.Hostname()
		return h == "localhost" || h == "127.0.0.1" || h == "::1"
	}
	if len(origins) > 0 {
		set := map[string]bool{}
		for _, o := range origins {
			set[strings.TrimRight(strings.TrimSpace(o), "/")] = true
		}
		allowed = func(origin string) bool { return set["*"] || set[origin] }
	}
	return cors.New(cors.Options{
		AllowOriginFunc: allowed,
		AllowedMethods:  []string{http.MethodGet, http.MethodPost, http.MethodOptions},
		AllowedHeaders:  []string{"Content-Type", "Authorization", "Idempotency-Key"},
		ExposedHeaders:  []string{"X-Request-Id", "Retry-After"},
		// Credentials (cookies) only when configured, and never with "*".
		AllowCredentials: credentials && len(origins) > 0 && !slices.Contains(origins, "*"),
		MaxAge:           600,
	}), allowed
}

func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") {
		return "localhost:" + strings.TrimPrefix(s, "[::]:")
	}
	if strings.HasPrefix(s, "0.0.0.0:") {
		return "localhost:" + strings.TrimPrefix(s, "0.0.0.0:")
	}
	return s
}
