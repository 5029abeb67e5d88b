package graph

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Error codes of refusals decided before GraphQL execution.
const (
	codePayloadTooLarge   = "PAYLOAD_TOO_LARGE"
	codeUnsupportedMedia  = "UNSUPPORTED_MEDIA_TYPE"
	codeBadRequest        = "BAD_REQUEST"
	codeBatchingDisabled  = "BATCHING_NOT_SUPPORTED"
	codeMethodNotAllowed  = "METHOD_NOT_ALLOWED"
	defaultMaxBodyBytes   = 1 << 20
	defaultRequestTimeout = 10 * time.Second
)

// reqState is what one request's layers tell each other: the request id,
// the client address, the operation for logs and metrics, and an HTTP
// status that a refusal inside GraphQL execution wants (429, 503, ...).
type reqState struct {
	id        string
	clientIP  string
	start     time.Time
	transport string // "" for HTTP, "websocket" for an operation on a socket

	mu         sync.Mutex
	status     int
	retryAfter time.Duration
	operation  string // bounded: operation type and root field, for metrics
	opName     string // the client's operationName, truncated, for logs
	outcome    string
}

type reqStateKey struct{}

func stateFrom(ctx context.Context) *reqState {
	s, _ := ctx.Value(reqStateKey{}).(*reqState)
	return s
}

// RequestID returns the request's id ("" outside a request).
func RequestID(ctx context.Context) string {
	if s := stateFrom(ctx); s != nil {
		return s.id
	}
	return ""
}

// setStatus asks for an HTTP status (the first one asked for wins).
func (s *reqState) setStatus(code int, retryAfter time.Duration) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status == 0 {
		s.status, s.retryAfter = code, retryAfter
	}
}

func (s *reqState) setOutcome(outcome string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outcome == "" || s.outcome == "ok" {
		s.outcome = outcome
	}
}

// statusWriter applies the status a refusal asked for when the response
// starts, and records what was written.
type statusWriter struct {
	http.ResponseWriter
	state   *reqState
	code    int
	written int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code != 0 {
		return
	}
	w.state.mu.Lock()
	if w.state.status != 0 {
		code = w.state.status
		if w.state.retryAfter > 0 {
			secs := int((w.state.retryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
	}
	w.state.mu.Unlock()
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.WriteHeader(http.StatusOK)
	}
	n, err := w.ResponseWriter.Write(b)
	w.written += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (websockets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// GuardConfig bounds what a request may be.
type GuardConfig struct {
	MaxBodyBytes   int64
	RequestTimeout time.Duration
}

func (c GuardConfig) requestTimeout() time.Duration {
	if c.RequestTimeout <= 0 {
		return defaultRequestTimeout
	}
	return c.RequestTimeout
}

// guard is the outermost layer of /graphql: request id, access log,
// security headers, body size, content type, JSON shape, batching policy
// and the per-request timeout. Everything it refuses gets a JSON GraphQL
// error with an extensions.code and a fitting HTTP status, and never
// reaches the executor.
func guard(cfg GuardConfig, log *slog.Logger, observe func(*reqState, int), next http.Handler) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = defaultMaxBodyBytes
	}
	cfg.RequestTimeout = cfg.requestTimeout()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := &reqState{id: newRequestID(), clientIP: clientIP(r), start: time.Now()}
		w.Header().Set("X-Request-Id", st.id)
		setSecurityHeaders(w.Header())
		sw := &statusWriter{ResponseWriter: w, state: st}
		ctx := context.WithValue(r.Context(), reqStateKey{}, st)
		websocket := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		defer func() {
			if websocket {
				// A socket's life is not one request: its operations are
				// logged and counted one by one (see websocket.go); this
				// line records the connection (or its refusal).
				st.mu.Lock()
				outcome := st.outcome
				st.mu.Unlock()
				if outcome == "" {
					outcome = "ok"
				}
				log.Info("websocket", "request_id", st.id, "status", sw.code, "outcome", outcome,
					"duration_ms", float64(time.Since(st.start).Microseconds())/1000)
				return
			}
			observe(st, sw.code)
			st.mu.Lock()
			outcome, op, opName := st.outcome, st.operation, st.opName
			st.mu.Unlock()
			if outcome == "" {
				outcome = "ok"
			}
			log.Info("request", "request_id", st.id, "method", r.Method, "status", sw.code,
				"operation", op, "operation_name", opName, "outcome", outcome,
				"duration_ms", float64(time.Since(st.start).Microseconds())/1000, "bytes", sw.written)
		}()
		if websocket {
			next.ServeHTTP(sw, r.WithContext(ctx))
			return
		}

		switch r.Method {
		case http.MethodPost:
			mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
			if err != nil || (mt != "application/json" && mt != "application/graphql-response+json") {
				refuse(sw, st, http.StatusUnsupportedMediaType, codeUnsupportedMedia, "POST bodies must be application/json")
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(sw, r.Body, cfg.MaxBodyBytes))
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					refuse(sw, st, http.StatusRequestEntityTooLarge, codePayloadTooLarge,
						"request body exceeds "+strconv.FormatInt(cfg.MaxBodyBytes, 10)+" bytes")
					return
				}
				refuse(sw, st, http.StatusBadRequest, codeBadRequest, "could not read the request body")
				return
			}
			trimmed := bytes.TrimLeft(body, " \t\r\n")
			if len(trimmed) > 0 && trimmed[0] == '[' {
				refuse(sw, st, http.StatusBadRequest, codeBatchingDisabled,
					"batched (array) requests are not supported: send one operation per request")
				return
			}
			var probe struct {
				Query         *string         `json:"query"`
				OperationName *string         `json:"operationName"`
				Variables     json.RawMessage `json:"variables"`
				Extensions    json.RawMessage `json:"extensions"`
			}
			if err := json.Unmarshal(body, &probe); err != nil {
				refuse(sw, st, http.StatusBadRequest, codeBadRequest, "the request body is not a JSON object of the form {\"query\": ..., \"variables\": {...}}")
				return
			}
			if v := bytes.TrimSpace(probe.Variables); len(v) > 0 && v[0] != '{' && string(v) != "null" {
				refuse(sw, st, http.StatusBadRequest, codeBadRequest, "variables must be a JSON object")
				return
			}
			if v := bytes.TrimSpace(probe.Extensions); len(v) > 0 && v[0] != '{' && string(v) != "null" {
				refuse(sw, st, http.StatusBadRequest, codeBadRequest, "extensions must be a JSON object")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		case http.MethodGet, http.MethodOptions:
		default:
			sw.Header().Set("Allow", "GET, POST, OPTIONS")
			refuse(sw, st, http.StatusMethodNotAllowed, codeMethodNotAllowed, "use POST (or GET for queries)")
			return
		}
		ctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// refuse answers with one GraphQL error, before any execution.
func refuse(w http.ResponseWriter, st *reqState, status int, code, msg string) {
	st.setOutcome("refused:" + code)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{
			"message":    msg,
			"extensions": map[string]any{"code": code, "requestId": st.id},
		}},
	})
}

// setSecurityHeaders: the API serves JSON only; nothing of it should be
// sniffed, framed or leak a referrer.
func setSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// clientIP is the peer address. Forwarded headers are not trusted: put the
// rate limits behind a proxy only with that proxy's own limits.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
