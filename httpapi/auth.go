package httpapi

import (
	"net/http"
	"strings"

	"holdfast/reqstate"
)

// Auth marks the request as admin when it carries
// "Authorization: Bearer <token>" with the configured token (an empty token
// disables admin access), and carries its Idempotency-Key header along.
func Auth(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		ctx := r.Context()
		if tok := reqstate.BearerToken(auth); strings.HasPrefix(tok, reqstate.CustomerTokenPrefix) {
			// A customer's token: never the admin's (the prefix says so).
			ctx = reqstate.WithCustomerToken(reqstate.WithAdmin(ctx, false), tok)
		} else {
			ctx = reqstate.WithAdmin(ctx, reqstate.BearerMatches(token, auth))
		}
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			ctx = reqstate.WithIdempotencyHeader(ctx, k)
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// RequireAdmin serves next only to requests with the admin token; others get
// 401 with a coded JSON error.
func RequireAdmin(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !reqstate.BearerMatches(token, r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="holdfast"`)
			reqstate.Refuse(w, reqstate.From(r.Context()), http.StatusUnauthorized, reqstate.CodeUnauthenticated,
				"this endpoint requires the admin token (Authorization: Bearer <ADMIN_TOKEN>)")
			return
		}
		next.ServeHTTP(w, r)
	})
}
