package graph

import "net/http"

// NewHandlerWithCacheStats is NewHandler plus a view of its query cache:
// entries, stored bytes, and lookups (gqlgen looks a document up just
// before it validates it, so a refused document that never reached
// validation leaves lookups unchanged).
func NewHandlerWithCacheStats(cfg HandlerConfig) (http.Handler, func() (entries, bytes int, lookups int64)) {
	h, c, _ := newHandler(cfg)
	return h, c.stats
}

// NewHandlerWithCaches is NewHandler plus views of its query cache and its
// APQ cache (entries, stored bytes, lookups).
func NewHandlerWithCaches(cfg HandlerConfig) (h http.Handler, query, apq func() (entries, bytes int, lookups int64)) {
	h, q, a := newHandler(cfg)
	return h, q.stats, a.stats
}
