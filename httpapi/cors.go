package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/rs/cors"
)

// CORSPolicy allows the configured origins; with none configured, only
// localhost origins (any port), which is what local development needs. The
// returned allowed func is the same rule, for websocket upgrades (which
// CORS does not cover).
func CORSPolicy(origins []string, credentials bool) (*cors.Cors, func(origin string) bool) {
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
