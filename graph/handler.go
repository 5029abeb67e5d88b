package graph

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/config"
	"holdfast/graph/gqltransport"
	"holdfast/graph/live"
	"holdfast/graph/loaders"
	"holdfast/payments"
	"holdfast/reqstate"
	"holdfast/storage"
	"holdfast/webhooks"
)

// The query and APQ caches keep documents up to queryCacheMaxDocument bytes
// of text, queryCacheBytes in all (a parsed document weighs ~25 times its
// text, so about 50 MB of parsed documents at most).
const (
	queryCacheMaxDocument = 32 << 10
	queryCacheBytes       = 2 << 20
)

// HandlerConfig is what the GraphQL handler needs. Zero limits take the
// defaults of package config.
type HandlerConfig struct {
	// CustomerTokenTTL is how long a customer access token lives
	// (CUSTOMER_TOKEN_TTL; 0: the default, 30 days).
	CustomerTokenTTL time.Duration
	Store            *storage.Store
	Log              *slog.Logger
	Introspection    bool
	// AdminToken is checked in a websocket's init payload (browsers cannot
	// set headers on websockets); HTTP requests are authenticated by the
	// transport.
	AdminToken string
	// Hub serves subscriptions; without one, subscriptions are refused.
	Hub                        *live.Hub
	MaxSubscriptionsPerConn    int
	MaxProductsPerSubscription int
	WebsocketKeepAlive         time.Duration
	// WebsocketWriteTimeout bounds one batch of writes to a socket; a
	// connection whose reader stalls longer is dropped (WS_WRITE_TIMEOUT).
	WebsocketWriteTimeout time.Duration
	// WebsocketMaxQueued bounds the bytes of messages (other than the
	// conflated stock frames) queued for one socket; past it the connection
	// is dropped (WS_QUEUE_BYTES).
	WebsocketMaxQueued int
	// WebsocketInitTimeout is how long a socket may go without its
	// connection_init before it is closed (graphql-transport-ws: 4408;
	// default 10 s).
	WebsocketInitTimeout time.Duration
	// RequestTimeout bounds each query and mutation on a websocket (HTTP
	// requests get theirs from the transport).
	RequestTimeout time.Duration
	Limits         LimitConfig
	// APQCacheSize bounds the automatic persisted query cache's entries
	// (its bytes are bounded too).
	APQCacheSize int
	// Metrics, if set, records reservations and the live frames
	// (NewMetrics).
	Metrics *Metrics
	// Observe, if set, records each websocket operation in the request
	// metrics (httpapi.Metrics.Observe; HTTP requests are recorded by the
	// transport).
	Observe func(st *reqstate.State, status int)
	// Shutdown, when done, closes every websocket (graceful stop).
	Shutdown context.Context
	// Payments takes beginCheckout's payments (default: the manual
	// provider over Store).
	Payments *payments.Service
	// WebhookAllowPrivate lets webhook endpoints be http:// and private
	// addresses (WEBHOOK_ALLOW_PRIVATE: tests, local development).
	WebhookAllowPrivate bool
	// WebhookResolver looks webhook hosts up when endpoints are created or
	// updated (default net.DefaultResolver; tests inject one).
	WebhookResolver webhooks.Resolver
	// GenericRender turns the compiled cart renderer off: every answer
	// through gqlgen's field execution (tests compare the two).
	GenericRender bool
}

func (cfg *HandlerConfig) setDefaults() {
	d := config.Defaults()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Payments == nil {
		cfg.Payments = payments.NewService(cfg.Store, payments.Manual{}, payments.Options{TTL: d.PaymentTTL, Log: cfg.Log})
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MaxSubscriptionsPerConn, d.MaxSubsPerConn)
	def(&cfg.MaxProductsPerSubscription, d.MaxProductsSub)
	def(&cfg.APQCacheSize, d.APQCacheSize)
	if cfg.WebsocketKeepAlive <= 0 {
		cfg.WebsocketKeepAlive = d.WSKeepAlive
	}
	if cfg.WebsocketWriteTimeout <= 0 {
		cfg.WebsocketWriteTimeout = d.WSWriteTimeout
	}
	def(&cfg.WebsocketMaxQueued, d.WSQueueBytes)
	if cfg.WebsocketInitTimeout <= 0 {
		cfg.WebsocketInitTimeout = gqltransport.DefaultInitTimeout
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = d.RequestTimeout
	}
}

// NewHandler builds the GraphQL handler: gqlgen's executor with its
// transports, limits, caches and error presenter, and the per-request
// dataloaders. The transport's middleware (httpapi.API) goes in front.
func NewHandler(cfg HandlerConfig) http.Handler {
	h, _, _ := newHandler(cfg)
	return h
}

// newHandler also returns the query and APQ caches, for tests.
func newHandler(cfg HandlerConfig) (http.Handler, *boundedCache[*ast.QueryDocument], *boundedCache[string]) {
	cfg.setDefaults()
	resolver := &Resolver{
		Store:                      cfg.Store,
		Log:                        cfg.Log,
		Hub:                        cfg.Hub,
		Metrics:                    cfg.Metrics,
		Payments:                   cfg.Payments,
		MaxSubscriptionsPerConn:    cfg.MaxSubscriptionsPerConn,
		MaxProductsPerSubscription: cfg.MaxProductsPerSubscription,
		WebhookAllowPrivate:        cfg.WebhookAllowPrivate,
		WebhookResolver:            cfg.WebhookResolver,
		CustomerTokenTTL:           cfg.CustomerTokenTTL,
		SignInPerAddress:           cfg.Limits.SignInPerAddress,
		SignInPerEmail:             cfg.Limits.SignInPerEmail,
		SignInLimitLoopback:        cfg.Limits.LimitLoopback,
		GiftCardGuessPerCart:       cfg.Limits.GiftCardGuessPerCart,
		GiftCardGuessPerAddress:    cfg.Limits.GiftCardGuessPerAddress,
	}
	gqlCfg := Config{
		Resolvers:  resolver,
		Directives: DirectiveRoot{Admin: adminDirective},
	}
	srv := handler.New(NewExecutableSchema(gqlCfg))
	if cfg.Hub != nil {
		srv.AddTransport(gqltransport.NewWebsocket(gqltransport.WebsocketConfig{
			Log:            cfg.Log,
			Observe:        cfg.Observe,
			Metrics:        cfg.Metrics,
			Init:           wsInit(cfg.AdminToken, cfg.Shutdown),
			KeepAlive:      cfg.WebsocketKeepAlive,
			WriteTimeout:   cfg.WebsocketWriteTimeout,
			MaxQueued:      cfg.WebsocketMaxQueued,
			InitTimeout:    cfg.WebsocketInitTimeout,
			RequestTimeout: cfg.RequestTimeout,
			FastPath:       resolver.stockFastPath(cfg.Metrics),
		}))
	}
	srv.AddTransport(transport.Options{})
	srv.AddTransport(gqltransport.GET{})
	srv.AddTransport(gqltransport.POST{})
	// Both caches are bounded by bytes: a refused or oversized document is
	// never kept (see cache.go and doclimits.go).
	const queryCacheDocuments = 1000
	queryCache := newBoundedCache[*ast.QueryDocument](queryCacheDocuments, queryCacheMaxDocument, queryCacheBytes)
	if !cfg.GenericRender {
		resolver.renderPlans = newRenderPlans(queryCacheDocuments)
	}
	srv.SetQueryCache(queryCache)
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	// The limits come before APQ: a document sent with its hash is checked
	// before APQ sees it, and one sent as a hash alone was stored only after
	// it passed them. APQ's cache stores nothing itself: the document is
	// stored once the operation passed validation and every limit
	// (apqCommit, last), so a refused document is never kept.
	lim := newLimits(cfg.Limits, queryCache)
	srv.Use(lim)
	apq := newBoundedCache[string](cfg.APQCacheSize, queryCacheMaxDocument, queryCacheBytes)
	srv.Use(extension.AutomaticPersistedQuery{Cache: apqPending{apq}})
	srv.Use(apqCommit{cache: apq})
	srv.SetParserTokenLimit(lim.cfg.MaxTokens)
	// Mutations run one after another: each root mutation must read what
	// the previous one wrote, never a value the request cached before it.
	// A customer token names its customer once per operation: the
	// storage statements check cart owners against it (storage.WithViewer).
	srv.AroundOperations(resolver.withCustomer)
	srv.AroundRootFields(func(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
		if refuseAdminField(ctx) {
			return graphql.Null
		}
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Mutation {
			if l := loaders.From(ctx); l != nil {
				l.Reset()
			}
		}
		return next(ctx)
	})
	srv.SetErrorPresenter(errorPresenter(cfg.Log))
	srv.SetRecoverFunc(recoverFunc(cfg.Log))

	return loaders.Middleware(cfg.Store, srv), queryCache, apq
}
