package graph

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

type adminKey struct{}

// authMiddleware marks the request as admin when it carries
// "Authorization: Bearer <token>" with the configured token. The comparison
// is constant-time over fixed-length digests, so neither the token's content
// nor its length leaks through timing. An empty configured token disables
// admin access altogether.
func authMiddleware(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admin := token != "" && checkBearer(token, r.Header.Get("Authorization"))
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), adminKey{}, admin)))
	})
}

// RequireAdmin serves next only to requests with the admin token; others get
// 401 with a coded JSON error.
func RequireAdmin(token string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token == "" || !checkBearer(token, r.Header.Get("Authorization")) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="holdfast"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"message":"this endpoint requires the admin token (Authorization: Bearer <ADMIN_TOKEN>)","extensions":{"code":"UNAUTHENTICATED"}}]}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkBearer compares "Bearer <token>" with the admin token in constant
// time (over fixed-length digests, so the length does not leak either).
func checkBearer(token, header string) bool {
	got, ok := bearer(header)
	if !ok {
		return false
	}
	want := sha256.Sum256([]byte(token))
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], want[:]) == 1
}

func bearer(h string) (string, bool) {
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// IsAdmin reports whether the request authenticated with the admin token.
func IsAdmin(ctx context.Context) bool {
	admin, _ := ctx.Value(adminKey{}).(bool)
	return admin
}

func errUnauthenticated() error {
	return &gqlerror.Error{
		Message:    "this field requires the admin token (Authorization: Bearer <ADMIN_TOKEN>)",
		Extensions: map[string]any{"code": "UNAUTHENTICATED"},
	}
}

// adminDirective implements @admin: it refuses, loudly, before the field's
// resolver runs.
func adminDirective(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	if !IsAdmin(ctx) {
		return nil, errUnauthenticated()
	}
	return next(ctx)
}

type idemHeaderKey struct{}

// idempotencyHeader carries the Idempotency-Key header into the request's
// context.
func idempotencyHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			r = r.WithContext(context.WithValue(r.Context(), idemHeaderKey{}, k))
		}
		next.ServeHTTP(w, r)
	})
}

// idempotencyKey is the input's key, else the Idempotency-Key header when
// the operation has a single root field (a header cannot say which of
// several mutations it belongs to, so it is ignored for those).
func idempotencyKey(ctx context.Context, fromInput *string) string {
	if fromInput != nil {
		if *fromInput == "" {
			return "\x00" // present but empty: refused as invalid
		}
		return *fromInput
	}
	k, _ := ctx.Value(idemHeaderKey{}).(string)
	if k == "" || !graphql.HasOperationContext(ctx) {
		return ""
	}
	if len(rootFields(graphql.GetOperationContext(ctx))) != 1 {
		return ""
	}
	return k
}
