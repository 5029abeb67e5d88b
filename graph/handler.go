package graph

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/graph/live"
	"holdfast/graph/loaders"
	"holdfast/storage"
)

// HandlerConfig is what the GraphQL handler needs.
type HandlerConfig struct {
	Store         *storage.Store
	Log           *slog.Logger
	AdminToken    string
	Introspection bool
	// Hub serves subscriptions; without one, subscriptions are refused.
	Hub *live.Hub
	// Origin allows a websocket's Origin (nil: same host only).
	Origin func(origin string) bool
	// Limits (zero: defaults).
	MaxSubscriptionsPerConn    int
	MaxProductsPerSubscription int
	WebsocketKeepAlive         time.Duration
	Limits                     LimitConfig
	Guard                      GuardConfig
	// APQCacheSize bounds the automatic persisted query cache (default 1000).
	APQCacheSize int
	// Metrics, if set, records requests and reservations.
	Metrics *Metrics
	// Shutdown, when done, closes every websocket (graceful stop).
	Shutdown context.Context
}

// NewHandler builds the /graphql handler: the exact chain production runs,
// so tests exercise it end to end.
func NewHandler(cfg HandlerConfig) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxSubscriptionsPerConn <= 0 {
		cfg.MaxSubscriptionsPerConn = defaultMaxSubscriptionsPerConn
	}
	if cfg.MaxProductsPerSubscription <= 0 {
		cfg.MaxProductsPerSubscription = defaultMaxProductsPerSub
	}
	if cfg.WebsocketKeepAlive <= 0 {
		cfg.WebsocketKeepAlive = 10 * time.Second
	}
	if cfg.APQCacheSize <= 0 {
		cfg.APQCacheSize = 1000
	}
	gqlCfg := Config{
		Resolvers: &Resolver{
			Store:                      cfg.Store,
			Log:                        cfg.Log,
			Hub:                        cfg.Hub,
			Metrics:                    cfg.Metrics,
			MaxSubscriptionsPerConn:    cfg.MaxSubscriptionsPerConn,
			MaxProductsPerSubscription: cfg.MaxProductsPerSubscription,
		},
		Directives: DirectiveRoot{Admin: adminDirective},
	}
	complexityCosts(&gqlCfg.Complexity)
	srv := handler.New(NewExecutableSchema(gqlCfg))
	if cfg.Hub != nil {
		accept := websocket.AcceptOptions{}
		if cfg.Origin != nil {
			accept.InsecureSkipVerify = true // origin checked below, against the CORS allowlist
		}
		srv.AddTransport(transport.Websocket{
			Implementation:        transport.CoderWebsocketImplementation{AcceptOptions: accept},
			InitFunc:              wsInit(cfg.AdminToken, cfg.Shutdown),
			InitTimeout:           10 * time.Second,
			KeepAlivePingInterval: cfg.WebsocketKeepAlive, // graphql-ws "ka"
			PingPongInterval:      cfg.WebsocketKeepAlive, // graphql-transport-ws ping
			MissingPongOk:         true,                   // keep quiet clients connected
		})
	}
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](cfg.APQCacheSize)})
	srv.Use(newLimits(cfg.Limits))
	srv.SetErrorPresenter(errorPresenter(cfg.Log))
	srv.SetRecoverFunc(recoverFunc(cfg.Log))

	var h http.Handler = srv
	h = loaders.Middleware(cfg.Store, h)
	if cfg.Origin != nil {
		h = checkWebsocketOrigin(cfg.Origin, h)
	}
	h = idempotencyHeader(h)
	h = authMiddleware(cfg.AdminToken, h)
	h = guard(cfg.Guard, cfg.Log, cfg.Metrics.observe, h)
	return h
}

// checkWebsocketOrigin refuses websocket upgrades from origins the CORS
// policy would refuse (a browser sends Origin; other clients may not).
func checkWebsocketOrigin(allow func(string) bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); o != "" && r.Header.Get("Upgrade") != "" && !allow(o) {
			http.Error(w, "origin not allowed", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}
