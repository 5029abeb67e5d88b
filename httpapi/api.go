package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/rs/cors"
)

// APIConfig configures the chain in front of the GraphQL handler.
type APIConfig struct {
	AdminToken string
	Guard      GuardConfig
	// Origin allows a websocket's Origin (nil: the websocket library's
	// same-host check).
	Origin func(origin string) bool
	// MaxWebsocketsPerAddress caps open sockets per client address (0: the
	// default; negative: no cap).
	MaxWebsocketsPerAddress int
	Log                     *slog.Logger
	Metrics                 *Metrics // nil: no metrics
}

// API wraps the GraphQL handler in the transport's middleware: guard
// (outermost), admin token and Idempotency-Key header, websocket gate.
func API(cfg APIConfig, graphql http.Handler) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	h := NewWebsocketGate(cfg.Origin, cfg.MaxWebsocketsPerAddress).WithMetrics(cfg.Metrics).Wrap(graphql)
	h = Auth(cfg.AdminToken, h)
	return Guard(cfg.Guard, cfg.Log, cfg.Metrics.Observe, h)
}

// Routes are the server's endpoints.
type Routes struct {
	API        http.Handler // /graphql (see API)
	GraphiQL   http.Handler // the page at / and its assets under /graphiql/; nil: no playground
	Storefront http.Handler // the shop app under /shop/ (see package spa); nil: none
	Metrics    *Metrics     // /metrics, with the admin token
	AdminToken string
	// Ready reports whether the server can serve (database reachable and
	// migrated); /readyz calls it.
	Ready func(context.Context) error
	Drain *Drain
	CORS  *cors.Cors
	// StripeWebhook receives Stripe's events at POST /webhooks/stripe
	// (nil: not mounted). It verifies their signatures itself.
	StripeWebhook http.Handler
}

// NewRouter serves the routes behind CORS and the drain.
func NewRouter(rt Routes) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/graphql", rt.API)
	if rt.Metrics != nil {
		// Metrics (sales totals among them) are not public.
		mux.Handle("GET /metrics", RequireAdmin(rt.AdminToken, rt.Metrics.Handler()))
	}
	if rt.GraphiQL != nil {
		mux.Handle("GET /{$}", rt.GraphiQL)
		mux.Handle("GET /graphiql/", rt.GraphiQL)
	}
	if rt.StripeWebhook != nil {
		mux.Handle("POST /webhooks/stripe", rt.StripeWebhook)
	}
	if rt.Storefront != nil {
		// The mux redirects /shop to /shop/.
		mux.Handle("GET /shop/", rt.Storefront)
	}
	mux.HandleFunc("GET /healthz", Healthz)
	mux.HandleFunc("GET /readyz", Readyz(rt.Drain, rt.Ready))
	var h http.Handler = mux
	if rt.CORS != nil {
		h = rt.CORS.Handler(h)
	}
	return rt.Drain.Wrap(h)
}
