package graph

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

const (
	codeConnectionLimit = "CONNECTION_LIMIT"
	codeUpgradeRequired = "UPGRADE_REQUIRED"
	// closeDuplicateID is graphql-transport-ws's close code for a subscribe
	// message whose id is already in use on the socket.
	closeDuplicateID       = 4409
	defaultMaxWSPerAddress = 100
)

// wsTransport is gqlgen's websocket transport with what HTTP requests get
// from the guard: each operation on the socket is logged, counted in the
// metrics, and (queries and mutations) bounded by the request timeout.
type wsTransport struct {
	transport.Websocket
	log     *slog.Logger
	observe func(*reqState, int)
	timeout time.Duration
}

func (t wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.Websocket.Do(w, r, &wsExecutor{GraphExecutor: exec, t: &t})
}

// wsExecutor gives every operation on a socket a request state of its own.
type wsExecutor struct {
	graphql.GraphExecutor
	t   *wsTransport
	ops sync.Map // *graphql.OperationContext -> *reqState
}

func (e *wsExecutor) CreateOperationContext(ctx context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	conn := stateFrom(ctx)
	st := &reqState{id: newRequestID(), start: time.Now(), transport: "websocket"}
	if conn != nil {
		st.clientIP = conn.clientIP
	}
	rc, errs := e.GraphExecutor.CreateOperationContext(context.WithValue(ctx, reqStateKey{}, st), p)
	if errs != nil {
		kind := "error:"
		code, _ := errs[0].Extensions["code"].(string)
		if refusalCodes[code] {
			kind = "refused:"
		}
		if code == "" {
			code = codeBadInput
		}
		st.setOutcome(kind + code)
		e.finish(st)
		return rc, errs
	}
	e.ops.Store(rc, st)
	return rc, nil
}

func (e *wsExecutor) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	v, _ := e.ops.LoadAndDelete(rc)
	st, _ := v.(*reqState)
	if st == nil {
		return e.GraphExecutor.DispatchOperation(ctx, rc)
	}
	ctx = context.WithValue(ctx, reqStateKey{}, st)
	cancel := func() {}
	if rc.Operation != nil && rc.Operation.Operation != ast.Subscription {
		ctx, cancel = context.WithTimeout(ctx, e.t.timeout)
	}
	responses, ctx := e.GraphExecutor.DispatchOperation(ctx, rc)
	var once sync.Once
	answered := false
	return func(ctx context.Context) *graphql.Response {
		resp := responses(ctx)
		if resp == nil && !answered && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			// gqlgen ends an expired operation silently; say why.
			resp = &graphql.Response{Errors: gqlerror.List{{
				Message: "the request timed out", Extensions: map[string]any{"code": codeTimeout, "requestId": st.id},
			}}}
			st.setOutcome("error:" + codeTimeout)
		}
		answered = answered || resp != nil
		if resp == nil {
			once.Do(func() { cancel(); e.finish(st) })
		}
		return resp
	}, ctx
}

// finish writes the operation's access-log line and metrics.
func (e *wsExecutor) finish(st *reqState) {
	e.t.observe(st, http.StatusOK)
	st.mu.Lock()
	outcome, op, opName := st.outcome, st.operation, st.opName
	st.mu.Unlock()
	if outcome == "" {
		outcome = "ok"
	}
	e.t.log.Info("request", "request_id", st.id, "transport", "websocket", "operation", op,
		"operation_name", opName, "outcome", outcome,
		"duration_ms", float64(time.Since(st.start).Microseconds())/1000)
}

// wsGate stands in front of the websocket transport: it answers a malformed
// upgrade with a coded JSON error (rather than the websocket library's plain
// text), refuses origins the CORS policy refuses, and caps the sockets one
// client address may hold open.
type wsGate struct {
	origin func(string) bool
	max    int // per client address; < 0: no cap

	mu     sync.Mutex
	byAddr map[string]int
}

func newWSGate(origin func(string) bool, max int) *wsGate {
	if max == 0 {
		max = defaultMaxWSPerAddress
	}
	return &wsGate{origin: origin, max: max, byAddr: map[string]int{}}
}

func (g *wsGate) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" {
			next.ServeHTTP(w, r)
			return
		}
		st := stateFrom(r.Context())
		if status, msg := badUpgrade(r); status != 0 {
			code := codeBadRequest
			if status == http.StatusUpgradeRequired {
				code = codeUpgradeRequired
				w.Header().Set("Upgrade", "websocket")
				w.Header().Set("Connection", "Upgrade")
			}
			refuse(w, st, status, code, msg)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && g.origin != nil && !g.origin(o) {
			refuse(w, st, http.StatusForbidden, "ORIGIN_NOT_ALLOWED", "websocket connections from this origin are not allowed")
			return
		}
		addr := ""
		if st != nil {
			addr = st.clientIP
		}
		if !g.claim(addr) {
			refuse(w, st, http.StatusTooManyRequests, codeConnectionLimit, "too many websocket connections from this address")
			return
		}
		defer g.release(addr)
		next.ServeHTTP(w, r)
	})
}

func (g *wsGate) claim(addr string) bool {
	if g.max < 0 {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byAddr[addr] >= g.max {
		return false
	}
	g.byAddr[addr]++
	return true
}

func (g *wsGate) release(addr string) {
	if g.max < 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.byAddr[addr] <= 1 {
		delete(g.byAddr, addr)
		return
	}
	g.byAddr[addr]--
}

// badUpgrade checks a websocket handshake as RFC 6455 asks (the checks the
// websocket library makes), returning the status and message to refuse it
// with, or 0.
func badUpgrade(r *http.Request) (int, string) {
	switch {
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return http.StatusUpgradeRequired, "only websocket upgrades are supported (Upgrade: websocket)"
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return http.StatusUpgradeRequired, "a websocket handshake needs Connection: Upgrade"
	case r.Method != http.MethodGet:
		return http.StatusMethodNotAllowed, "a websocket handshake must be a GET request"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return http.StatusBadRequest, "unsupported websocket version: only 13 is supported"
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return http.StatusBadRequest, "a websocket handshake needs one Sec-WebSocket-Key"
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes, base64-encoded"
	}
	return 0, ""
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// wsImplementation wraps the websocket library's connections to enforce what
// gqlgen does not: graphql-transport-ws requires a subscribe whose id is
// already active to close the socket with 4409.
type wsImplementation struct {
	inner transport.WebsocketImplementation
}

func (i wsImplementation) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	c, err := i.inner.Accept(w, r, o)
	if err != nil {
		return nil, err
	}
	return &wsConn{WebsocketConn: c, active: map[string]bool{}}, nil
}

type wsConn struct {
	transport.WebsocketConn
	mu     sync.Mutex
	active map[string]bool
}

var (
	_ transport.WebsocketReadLimiter   = (*wsConn)(nil)
	_ transport.WebsocketReadDeadliner = (*wsConn)(nil)
)

// envelope is the part of a graphql-ws / graphql-transport-ws message that
// says what it is.
type envelope struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func (c *wsConn) NextReader() (int, io.Reader, error) {
	mt, r, err := c.WebsocketConn.NextReader()
	if err != nil {
		return mt, r, err
	}
	// The read limit set on the connection bounds this read.
	b, err := io.ReadAll(r)
	if err != nil {
		return mt, nil, err
	}
	var m envelope
	if json.Unmarshal(b, &m) == nil && m.ID != "" {
		c.mu.Lock()
		switch m.Type {
		case "subscribe", "start":
			if c.active[m.ID] {
				c.mu.Unlock()
				_ = c.WebsocketConn.WriteClose(closeDuplicateID, "Subscriber for "+truncate(m.ID, 64)+" already exists")
				return mt, nil, transport.ErrWebsocketClosed
			}
			c.active[m.ID] = true
		case "complete", "stop":
			delete(c.active, m.ID)
		}
		c.mu.Unlock()
	}
	return mt, bytes.NewReader(b), nil
}

func (c *wsConn) WriteJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// Only a complete or an error ends an id; most frames are neither.
	var m envelope
	if (bytes.Contains(b, []byte(`"complete"`)) || bytes.Contains(b, []byte(`"error"`))) &&
		json.Unmarshal(b, &m) == nil && m.ID != "" && (m.Type == "complete" || m.Type == "error") {
		c.mu.Lock()
		delete(c.active, m.ID)
		c.mu.Unlock()
	}
	return c.WebsocketConn.WriteJSON(json.RawMessage(b))
}

func (c *wsConn) SetReadLimit(n int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(n)
	}
}

func (c *wsConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return errors.ErrUnsupported
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
