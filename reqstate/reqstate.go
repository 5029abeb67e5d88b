// Package reqstate is the request-scoped state that the transport layer
// (httpapi) and the GraphQL layer (graph) both need: who is asking (request
// id, client address, admin or not, the Idempotency-Key header) and what the
// GraphQL layer found out for the access log and metrics (the operation, its
// outcome, an HTTP status a refusal wants); and what both write the same
// way: the error codes (codes.go), the upgrade check, the refusal and the
// access-log line (http.go). It imports nothing of ours.
package reqstate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"sync"
	"time"
)

// State is one request's (or one websocket operation's) state. The exported
// fields are set when it is made and only read afterwards; the rest is
// written through methods, from any goroutine. Methods on a nil *State do
// nothing, so code outside a request need not check.
type State struct {
	ID        string
	ClientIP  string
	Start     time.Time
	Transport string // "" for HTTP, "websocket" for an operation on a socket

	mu         sync.Mutex
	status     int
	retryAfter time.Duration
	operation  string
	opName     string
	outcome    string
}

// New starts the state of a request from clientIP.
func New(clientIP, transport string) *State {
	return &State{ID: newID(), ClientIP: clientIP, Start: time.Now(), Transport: transport}
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type stateKey struct{}

// With returns ctx carrying st.
func With(ctx context.Context, st *State) context.Context {
	return context.WithValue(ctx, stateKey{}, st)
}

// From returns the request's state, or nil outside a request.
func From(ctx context.Context) *State {
	s, _ := ctx.Value(stateKey{}).(*State)
	return s
}

// RequestID returns the request's id ("" outside a request).
func RequestID(ctx context.Context) string {
	if s := From(ctx); s != nil {
		return s.ID
	}
	return ""
}

// SetStatus asks for an HTTP status for the response (the first one asked
// for wins), with a Retry-After when retryAfter > 0.
func (s *State) SetStatus(code int, retryAfter time.Duration) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status == 0 {
		s.status, s.retryAfter = code, retryAfter
	}
}

// Status is what SetStatus asked for (0 if nothing).
func (s *State) Status() (int, time.Duration) {
	if s == nil {
		return 0, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status, s.retryAfter
}

// SetOutcome records how the request ended ("refused:CODE",
// "user_error:CODE", "error:CODE"); the first outcome other than "ok" wins.
func (s *State) SetOutcome(outcome string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outcome == "" || s.outcome == "ok" {
		s.outcome = outcome
	}
}

// SetOperation records the operation: label is bounded (operation type and
// root field, from the schema), name is the client's operationName.
func (s *State) SetOperation(label, name string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.operation = label
	if len(name) <= 64 {
		s.opName = name
	}
}

// Summary is what the access log and metrics report of a request.
type Summary struct {
	Operation, OperationName, Outcome string
}

// Summary reads the state as it is now; Outcome is "ok" when nothing said
// otherwise.
func (s *State) Summary() Summary {
	if s == nil {
		return Summary{Outcome: "ok"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Summary{Operation: s.operation, OperationName: s.opName, Outcome: s.outcome}
	if out.Outcome == "" {
		out.Outcome = "ok"
	}
	return out
}

type adminKey struct{}

// WithAdmin returns ctx saying whether the caller presented the admin token.
func WithAdmin(ctx context.Context, admin bool) context.Context {
	return context.WithValue(ctx, adminKey{}, admin)
}

// IsAdmin reports whether the request authenticated with the admin token.
func IsAdmin(ctx context.Context) bool {
	admin, _ := ctx.Value(adminKey{}).(bool)
	return admin
}

// BearerMatches compares "Bearer <token>" with the admin token in constant
// time, over fixed-length digests so that neither the token's content nor
// its length leaks through timing. An empty token matches nothing.
func BearerMatches(token, header string) bool {
	const prefix = "bearer "
	if token == "" || len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return false
	}
	want := sha256.Sum256([]byte(token))
	got := sha256.Sum256([]byte(strings.TrimSpace(header[len(prefix):])))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

type customerTokenKey struct{}

// WithCustomerToken returns ctx carrying the customer access token the
// request presented (see CustomerToken).
func WithCustomerToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, customerTokenKey{}, token)
}

// CustomerToken is the customer access token of the request ("" if none):
// a bearer token with the customer prefix "hfc_". Which customer it
// names (if any) is for the GraphQL layer to find out; the admin token is
// told apart by the prefix alone, without reading the database.
func CustomerToken(ctx context.Context) string {
	t, _ := ctx.Value(customerTokenKey{}).(string)
	return t
}

// CustomerTokenPrefix starts every customer access token.
const CustomerTokenPrefix = "hfc_"

// BearerToken is the token of an "Authorization: Bearer <token>" header
// ("" if there is none).
func BearerToken(header string) string {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return ""
	}
	return strings.TrimSpace(header[len(prefix):])
}

type idemKey struct{}

// WithIdempotencyHeader returns ctx carrying the request's Idempotency-Key
// header.
func WithIdempotencyHeader(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idemKey{}, key)
}

// IdempotencyHeader is the request's Idempotency-Key header ("" if none).
func IdempotencyHeader(ctx context.Context) string {
	k, _ := ctx.Value(idemKey{}).(string)
	return k
}
