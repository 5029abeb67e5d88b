// Package httpapi is Holdfast's HTTP transport: the middleware every request
// passes (request id, client address (behind trusted proxies), access log,
// security headers, body limit, media type, batching policy, timeout, admin
// token, Idempotency-Key header), the
// websocket gate (handshake, origin, sockets per address), CORS, metrics,
// rate-limit buckets, health and readiness, and the drain on shutdown. It
// knows nothing of GraphQL: the GraphQL handler is handed to it, and both
// share request state through package reqstate.
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"holdfast/config"
	"holdfast/reqstate"
)

// statusWriter applies the status a refusal inside GraphQL asked for (429,
// 503, ...) when the response starts, and records what was written.
type statusWriter struct {
	http.ResponseWriter
	state   *reqstate.State
	code    int
	written int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code != 0 {
		return
	}
	if status, retryAfter := w.state.Status(); status != 0 {
		code = status
		if retryAfter > 0 {
			secs := int((retryAfter + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
		}
	}
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

// GuardConfig bounds what a request may be (zero values: the defaults).
type GuardConfig struct {
	MaxBodyBytes   int64
	RequestTimeout time.Duration
	// TrustedProxies decide the client address every request state carries
	// (see TrustedProxies.ClientAddr); empty, it is the peer's.
	TrustedProxies TrustedProxies
}

func (c GuardConfig) withDefaults() GuardConfig {
	d := config.Defaults()
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = d.RequestTimeout
	}
	return c
}

// Guard is the outermost layer of /graphql: request id, access log,
// security headers, body size, content type, JSON shape, batching policy
// and the per-request timeout. Everything it refuses gets a JSON GraphQL
// error with an extensions.code and a fitting HTTP status, and never
// reaches the GraphQL handler. observe (may be nil) records each finished
// request in the metrics.
func Guard(cfg GuardConfig, log *slog.Logger, observe func(*reqstate.State, int), next http.Handler) http.Handler {
	cfg = cfg.withDefaults()
	if observe == nil {
		observe = func(*reqstate.State, int) {}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := reqstate.New(cfg.TrustedProxies.ClientAddr(r), "")
		w.Header().Set("X-Request-Id", st.ID)
		SetSecurityHeaders(w.Header())
		sw := &statusWriter{ResponseWriter: w, state: st}
		ctx := reqstate.With(r.Context(), st)
		websocket := reqstate.IsUpgrade(r)
		defer func() {
			if websocket {
				// A socket's life is not one request: its operations are
				// logged and counted one by one by the GraphQL layer; this
				// line records the connection (or its refusal).
				log.Info("websocket", "request_id", st.ID, "client", st.ClientIP, "status", sw.code, "outcome", st.Summary().Outcome,
					"duration_ms", reqstate.Millis(time.Since(st.Start)))
				return
			}
			observe(st, sw.code)
			reqstate.LogAccess(log, st, []any{"client", st.ClientIP, "method", r.Method, "status", sw.code}, "bytes", sw.written)
		}()
		if websocket {
			next.ServeHTTP(sw, r.WithContext(ctx))
			return
		}

		switch r.Method {
		case http.MethodPost:
			body, ok := readBody(sw, r, st, cfg.MaxBodyBytes)
			if !ok {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		case http.MethodGet, http.MethodOptions:
		default:
			sw.Header().Set("Allow", "GET, POST, OPTIONS")
			reqstate.Refuse(sw, st, http.StatusMethodNotAllowed, reqstate.CodeMethodNotAllowed, "use POST (or GET for queries)")
			return
		}
		ctx, cancel := context.WithTimeout(ctx, cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(sw, r.WithContext(ctx))
	})
}

// readBody reads and checks a POST body: a JSON object of at most max bytes
// whose variables and extensions, if present, are objects. It answers the
// refusal itself and returns ok=false.
func readBody(w http.ResponseWriter, r *http.Request, st *reqstate.State, max int64) ([]byte, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && mt != "application/graphql-response+json") {
		reqstate.Refuse(w, st, http.StatusUnsupportedMediaType, reqstate.CodeUnsupportedMedia, "POST bodies must be application/json")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reqstate.Refuse(w, st, http.StatusRequestEntityTooLarge, reqstate.CodePayloadTooLarge,
				"request body exceeds "+strconv.FormatInt(max, 10)+" bytes")
			return nil, false
		}
		reqstate.Refuse(w, st, http.StatusBadRequest, reqstate.CodeBadRequest, "could not read the request body")
		return nil, false
	}
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
		reqstate.Refuse(w, st, http.StatusBadRequest, reqstate.CodeBatchingDisabled,
			"batched (array) requests are not supported: send one operation per request")
		return nil, false
	}
	var probe struct {
		Query         *string         `json:"query"`
		OperationName *string         `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		reqstate.Refuse(w, st, http.StatusBadRequest, reqstate.CodeBadRequest, `the request body is not a JSON object of the form {"query": ..., "variables": {...}}`)
		return nil, false
	}
	for name, v := range map[string]json.RawMessage{"variables": probe.Variables, "extensions": probe.Extensions} {
		if v = bytes.TrimSpace(v); len(v) > 0 && v[0] != '{' && string(v) != "null" {
			reqstate.Refuse(w, st, http.StatusBadRequest, reqstate.CodeBadRequest, name+" must be a JSON object")
			return nil, false
		}
	}
	return body, true
}

// SetSecurityHeaders: the API serves JSON only; nothing of it should be
// sniffed, framed or leak a referrer.
func SetSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
}
