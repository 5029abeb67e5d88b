package graph

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/graph/live"
	"holdfast/graph/loaders"
	"holdfast/storage"
)

// The query and APQ caches keep documents up to queryCacheMaxDocument bytes
// of text, queryCacheBytes in all (a parsed document weighs ~25 times its
// text, so about 50 MB of parsed documents at most).
const (
	queryCacheMaxDocument = 32 << 10
	queryCacheBytes       = 2 << 20
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
	MaxSubscriptionsPerConn int
	// MaxWebsocketsPerAddress caps open sockets per client address
	// (default 100; negative: no cap).
	MaxWebsocketsPerAddress    int
	MaxProductsPerSubscription int
	WebsocketKeepAlive         time.Duration
	Limits                     LimitConfig
	Guard                      GuardConfig
	// APQCacheSize bounds the automatic persisted query cache's entries
	// (default 1000; its bytes are bounded too).
	APQCacheSize int
	// Metrics, if set, records requests and reservations.
	Metrics *Metrics
	// Shutdown, when done, closes every websocket (graceful stop).
	Shutdown context.Context
}

// NewHandler builds the /graphql handler: the exact chain production runs,
// so tests exercise it end to end.
func NewHandler(cfg HandlerConfig) http.Handler {
	h, _ := newHandler(cfg)
	return h
}

// newHandler also returns the query cache, for tests.
func newHandler(cfg HandlerConfig) (http.Handler, *boundedCache[*ast.QueryDocument]) {
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
		// Origins are checked by the gate below, against the CORS allowlist
		// (with no allowlist, the library's same-host check applies).
		accept := websocket.AcceptOptions{InsecureSkipVerify: cfg.Origin != nil}
		srv.AddTransport(wsTransport{
			Websocket: transport.Websocket{
				Implementation:        wsImplementation{transport.CoderWebsocketImplementation{AcceptOptions: accept}},
				InitFunc:              wsInit(cfg.AdminToken, cfg.Shutdown),
				InitTimeout:           10 * time.Second,
				KeepAlivePingInterval: cfg.WebsocketKeepAlive, // graphql-ws "ka"
				PingPongInterval:      cfg.WebsocketKeepAlive, // graphql-transport-ws ping
				MissingPongOk:         true,                   // keep quiet clients connected
			},
			log:     cfg.Log,
			observe: cfg.Metrics.observe,
			timeout: cfg.Guard.requestTimeout(),
		})
	}
	srv.AddTransport(transport.Options{})
	srv.AddTransport(getTransport{})
	srv.AddTransport(postTransport{})
	// Both caches are bounded by bytes: a refused or oversized document is
	// never kept (see cache.go and doclimits.go).
	queryCache := newBoundedCache[*ast.QueryDocument](1000, queryCacheMaxDocument, queryCacheBytes)
	srv.SetQueryCache(queryCache)
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: newBoundedCache[string](cfg.APQCacheSize, queryCacheMaxDocument, queryCacheBytes)})
	lim := newLimits(cfg.Limits, queryCache)
	srv.Use(lim) // after APQ, which may fill in the query text
	srv.SetParserTokenLimit(lim.cfg.MaxTokens)
	// Mutations run one after another: each root mutation must read what
	// the previous one wrote, never a value the request cached before it.
	srv.AroundRootFields(func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Mutation {
			if l := loaders.From(ctx); l != nil {
				l.Reset()
			}
		}
		return next(ctx)
	})
	srv.SetErrorPresenter(errorPresenter(cfg.Log))
	srv.SetRecoverFunc(recoverFunc(cfg.Log))

	var h http.Handler = srv
	h = loaders.Middleware(cfg.Store, h)
	h = newWSGate(cfg.Origin, cfg.MaxWebsocketsPerAddress).wrap(h)
	h = idempotencyHeader(h)
	h = authMiddleware(cfg.AdminToken, h)
	h = guard(cfg.Guard, cfg.Log, cfg.Metrics.observe, h)
	return h, queryCache
}
