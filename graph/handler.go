package graph

import (
	"log/slog"
	"net/http"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/graph/loaders"
	"holdfast/storage"
)

// HandlerConfig is what the GraphQL handler needs.
type HandlerConfig struct {
	Store         *storage.Store
	Log           *slog.Logger
	AdminToken    string
	Introspection bool
}

// NewHandler builds the /graphql handler: the exact chain production runs,
// so tests exercise it end to end.
func NewHandler(cfg HandlerConfig) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	schema := NewExecutableSchema(Config{
		Resolvers:  &Resolver{Store: cfg.Store, Log: cfg.Log},
		Directives: DirectiveRoot{Admin: adminDirective},
	})
	srv := handler.New(schema)
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	if cfg.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.SetErrorPresenter(errorPresenter(cfg.Log))
	srv.SetRecoverFunc(recoverFunc(cfg.Log))

	var h http.Handler = srv
	h = loaders.Middleware(cfg.Store, h)
	h = idempotencyHeader(h)
	h = authMiddleware(cfg.AdminToken, h)
	return h
}
