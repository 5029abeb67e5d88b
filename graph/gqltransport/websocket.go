package gqltransport

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"holdfast/reqstate"
)

const (
	graphqlTransportWS = "graphql-transport-ws"

	// graphql-transport-ws's close codes: a malformed or unexpected message
	// (4400), an operation before connection_init (4401), no
	// connection_init in time (4408), a subscribe whose id is already in use
	// on the socket (4409), a second connection_init (4429).
	closeBadRequest          = 4400
	closeUnauthorized        = 4401
	closeInitTimeout         = 4408
	closeDuplicateID         = 4409
	closeTooManyInitRequests = 4429

	// DefaultInitTimeout is how long a socket may go without its
	// connection_init (WebsocketConfig.InitTimeout).
	DefaultInitTimeout = 10 * time.Second
)

// wsTransport is gqlgen's websocket transport with what HTTP requests get
// from the transport's guard (httpapi.Guard): each operation on the socket is logged, counted in the
// metrics, and (queries and mutations) bounded by the request timeout.
type wsTransport struct {
	transport.Websocket
	impl    wsImplementation
	log     *slog.Logger
	observe func(*reqstate.State, int)
	timeout time.Duration
	fast    FastPath
}

func (t wsTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	e := &wsExecutor{GraphExecutor: exec, t: &t, header: r.Header}
	ws := t.Websocket
	impl := t.impl
	impl.accepted = func(c *wsConn) {
		e.conn = c
		if t.fast != nil {
			c.onSubscribe, c.onComplete = e.subscribeFast, e.completeFast
		}
	}
	ws.Implementation = impl
	// The context connection_init gives the connection (gqlgen's, after
	// InitFunc) is the one the fast path's subscriptions run in.
	initFunc := ws.InitFunc
	ws.InitFunc = func(ctx context.Context, p transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		var ack *transport.InitPayload
		var err error
		if initFunc != nil {
			ctx, ack, err = initFunc(ctx, p)
		}
		if err == nil {
			e.initCtx.Store(&ctx)
		}
		return ctx, ack, err
	}
	ws.Do(w, r, e)
	e.stopFast()
	if e.conn != nil {
		e.conn.closeIfOpen()
	}
}

// wsExecutor gives every operation on a socket a request state of its own,
// and serves the subscriptions it can on the fast path (fastsub.go).
type wsExecutor struct {
	graphql.GraphExecutor
	t      *wsTransport
	conn   *wsConn
	header http.Header
	ops    sync.Map // *graphql.OperationContext -> its *reqstate.State, until dispatched
	// initCtx is the connection's context after connection_init.
	initCtx atomic.Pointer[context.Context]

	fmu sync.Mutex
	// fast: the subscriptions the fast path serves, by id.
	fast map[string]*fastEntry
	// pre: an operation the reader created for a subscribe message the
	// fast path did not take, handed to gqlgen's CreateOperationContext of
	// the same message.
	pre *preCreated
}

func (e *wsExecutor) CreateOperationContext(ctx context.Context, p *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	if pre := e.takePreCreated(); pre != nil {
		return pre.rc, pre.errs
	}
	addr := ""
	if conn := reqstate.From(ctx); conn != nil {
		addr = conn.ClientIP
	}
	st := reqstate.New(addr, "websocket")
	rc, errs := e.GraphExecutor.CreateOperationContext(reqstate.With(ctx, st), p)
	if errs != nil {
		code, _ := errs[0].Extensions["code"].(string)
		if code == "" {
			code = reqstate.CodeBadInput
		}
		st.SetOutcome(reqstate.ErrorOutcome(code))
		e.finish(st)
		return rc, errs
	}
	e.ops.Store(rc, st)
	return rc, nil
}

func (e *wsExecutor) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	v, ok := e.ops.LoadAndDelete(rc)
	if !ok {
		return e.GraphExecutor.DispatchOperation(ctx, rc)
	}
	st := v.(*reqstate.State)
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
				Message: "the request timed out", Extensions: map[string]any{"code": reqstate.CodeTimeout, "requestId": st.ID},
			}}}
			st.SetOutcome("error:" + reqstate.CodeTimeout)
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
	e.t.observe(st, http.StatusOK)
	reqstate.LogAccess(e.t.log, st, []any{"transport", "websocket"})
}
