package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"holdfast/reqstate"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

const (
	// closeDuplicateID is graphql-transport-ws's close code for a subscribe
	// message whose id is already in use on the socket.
	closeDuplicateID       = 4409
	defaultMaxWSPerAddress = 100
)

// wsTransport is gqlgen's websocket transport with what HTTP requests get
// from the transport's guard (httpapi.Guard): each operation on the socket is logged, counted in the
// metrics, and (queries and mutations) bounded by the request timeout.
type wsTransport struct {
	transport.Websocket
	log     *slog.Logger
	metrics Metrics
	timeout time.Duration
}

func (t wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	t.Websocket.Do(w, r, &wsExecutor{GraphExecutor: exec, t: &t})
}

// wsExecutor gives every operation on a socket a request state of its own.
type wsExecutor struct {
	graphql.GraphExecutor
	t   *wsTransport
	ops sync.Map // *graphql.OperationContext -> *reqstate.State
}

func (e *wsExecutor) CreateOperationContext(ctx context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	addr := ""
	if conn := reqstate.From(ctx); conn != nil {
		addr = conn.ClientIP
	}
	st := reqstate.New(addr, "websocket")
	rc, errs := e.GraphExecutor.CreateOperationContext(reqstate.With(ctx, st), p)
	if errs != nil {
		kind := "error:"
		code, _ := errs[0].Extensions["code"].(string)
		if refusalCodes[code] {
			kind = "refused:"
		}
		if code == "" {
			code = codeBadInput
		}
		st.SetOutcome(kind + code)
		e.finish(st)
		return rc, errs
	}
	e.ops.Store(rc, st)
	return rc, nil
}

func (e *wsExecutor) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	v, _ := e.ops.LoadAndDelete(rc)
	st, _ := v.(*reqstate.State)
	if st == nil {
		return e.GraphExecutor.DispatchOperation(ctx, rc)
	}
	ctx = reqstate.With(ctx, st)
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
				Message: "the request timed out", Extensions: map[string]any{"code": codeTimeout, "requestId": st.ID},
			}}}
			st.SetOutcome("error:" + codeTimeout)
		}
		answered = answered || resp != nil
		if resp == nil {
			once.Do(func() { cancel(); e.finish(st) })
		}
		return resp
	}, ctx
}

// finish writes the operation's access-log line and metrics.
func (e *wsExecutor) finish(st *reqstate.State) {
	e.t.metrics.Observe(st, http.StatusOK)
	sum := st.Summary()
	e.t.log.Info("request", "request_id", st.ID, "transport", "websocket", "operation", sum.Operation,
		"operation_name", sum.OperationName, "outcome", sum.Outcome,
		"duration_ms", float64(time.Since(st.Start).Microseconds())/1000)
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

// subscribeMessage is a subscribe (or legacy start) message's payload, as
// gqlgen will decode it.
type subscribeMessage struct {
	Payload *graphql.RawParams `json:"payload"`
}

func (c *wsConn) NextReader() (int, io.Reader, error) {
	for {
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
		if json.Unmarshal(b, &m) != nil || m.ID == "" {
			return mt, bytes.NewReader(b), nil
		}
		c.mu.Lock()
		switch m.Type {
		case "subscribe", "start":
			if c.active[m.ID] {
				c.mu.Unlock()
				_ = c.WriteClose(closeDuplicateID, "Subscriber for "+truncate(m.ID, 64)+" already exists")
				return mt, nil, transport.ErrWebsocketClosed
			}
			var sub subscribeMessage
			if json.Unmarshal(b, &sub) != nil || sub.Payload == nil {
				// gqlgen would answer "invalid json" with no code: answer
				// here, and read on.
				c.mu.Unlock()
				if err := c.refuse(m.ID, "the subscribe payload must be an object of the form {\"query\": \"...\", \"variables\": {...}}"); err != nil {
					return mt, nil, err
				}
				continue
			}
			c.active[m.ID] = true
		case "complete", "stop":
			delete(c.active, m.ID)
		}
		c.mu.Unlock()
		return mt, bytes.NewReader(b), nil
	}
}

// refuse answers one operation with a coded error, in the socket's
// protocol: graphql-transport-ws sends a list of errors, graphql-ws one.
func (c *wsConn) refuse(id, msg string) error {
	e := map[string]any{"message": msg, "extensions": map[string]any{"code": codeBadRequest}}
	var payload any = []any{e}
	if c.Subprotocol() != "graphql-transport-ws" {
		payload = e
	}
	return c.WebsocketConn.WriteJSON(map[string]any{"id": id, "type": "error", "payload": payload})
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
