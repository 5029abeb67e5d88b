package gqltransport

import (
	"context"
	"encoding/json"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"holdfast/reqstate"
)

// The fast path's side of the transport. A drop puts thousands of
// subscribers on one product; gqlgen would execute the selection set,
// marshal the response and write it under its connection's lock once per
// subscriber per push. A subscription the FastPath takes (package graph
// decides which: its fastpath.go) gets a fastSub: the hub renders each
// payload once per level and selection, and every subscriber's writer
// sends the same bytes, wrapped in an envelope whose prefix
// ({"id":…,"type":"next","payload":) is built once per subscription: no
// marshalling per subscriber.

// A FrameSink takes a subscription's frames (live.FrameSink). Frame must
// not block.
type FrameSink interface {
	Frame(productID int64, payload []byte)
}

// fastSub is one fast-path subscription on a connection.
type fastSub struct {
	conn   *wsConn
	prefix []byte
	done   atomic.Bool
}

func newFastSub(c *wsConn, id string) *fastSub {
	typ := "next"
	if c.Subprotocol() != "graphql-transport-ws" {
		typ = "data" // graphql-ws
	}
	quoted, _ := json.Marshal(id)
	prefix := make([]byte, 0, len(quoted)+40)
	prefix = append(prefix, `{"id":`...)
	prefix = append(prefix, quoted...)
	prefix = append(prefix, `,"type":"`+typ+`","payload":`...)
	return &fastSub{conn: c, prefix: prefix}
}

// Frame queues the shared payload for the connection's writer.
func (s *fastSub) Frame(product int64, payload []byte) {
	if !s.done.Load() {
		s.conn.queueFrame(s, product, payload)
	}
}

func (s *fastSub) ended() bool { return s.done.Load() }

// envelope appends the subscription's message around payload to dst.
func (s *fastSub) envelope(dst, payload []byte) []byte {
	dst = append(dst, s.prefix...)
	dst = append(dst, payload...)
	return append(dst, '}')
}

// The reader's side of the fast path. A subscription gqlgen serves holds a
// goroutine for its whole life (it waits for the subscription's end), and
// the subscribe message is parsed and validated on the connection's reader
// goroutine, whose stack then stays at that depth for as long as the
// socket is open. At a drop's scale (thousands of idle watchers) those
// stacks were most of the server's memory. So the reader offers every
// subscribe message to subscribeFast first: the operation is created on a
// short-lived goroutine and, when the fast path takes it, served with no
// goroutine at all (its frames are queued by the hub, written by the
// writer pool, and a complete message or the socket's end stops it). An
// operation the fast path declines goes on to gqlgen as before, and
// gqlgen's CreateOperationContext for that message gets the operation (or
// the errors) already made, so nothing is parsed, validated, counted or
// logged twice.

// fastEntry is a subscription the fast path serves.
type fastEntry struct {
	sub  *fastSub
	stop func()
	st   *reqstate.State
}

// preCreated is an operation created by the reader for gqlgen.
type preCreated struct {
	id   string
	rc   *graphql.OperationContext
	errs gqlerror.List
}

// subscribeFast offers a subscribe message (already checked by the reader)
// to the fast path; false: gqlgen serves it.
func (e *wsExecutor) subscribeFast(id string, p *graphql.RawParams) (taken bool) {
	ctxp := e.initCtx.Load()
	if ctxp == nil || e.conn == nil {
		return false
	}
	e.fmu.Lock()
	e.pre = nil
	e.fmu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if recover() != nil {
				// gqlgen's path makes the operation again, and answers.
				e.fmu.Lock()
				e.pre = nil
				e.fmu.Unlock()
				taken = false
			}
		}()
		taken = e.tryFast(*ctxp, id, p)
	}()
	<-done
	return taken
}

func (e *wsExecutor) tryFast(ctx context.Context, id string, p *graphql.RawParams) bool {
	p.Headers = e.header
	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := e.CreateOperationContext(ctx, p)
	if errs != nil || rc == nil || rc.Operation == nil || rc.Operation.Operation != ast.Subscription {
		e.setPreCreated(id, rc, errs)
		return false
	}
	v, ok := e.ops.Load(rc)
	if !ok {
		e.setPreCreated(id, rc, nil)
		return false
	}
	st := v.(*reqstate.State)
	sctx := reqstate.With(graphql.WithOperationContext(ctx, rc), st)
	var sub *fastSub
	stop, ok := e.t.fast(sctx, rc, func() FrameSink {
		sub = newFastSub(e.conn, id)
		return sub
	})
	if !ok {
		e.setPreCreated(id, rc, nil)
		return false
	}
	e.ops.Delete(rc)
	e.fmu.Lock()
	if e.fast == nil {
		e.fast = map[string]*fastEntry{}
	}
	e.fast[id] = &fastEntry{sub: sub, stop: stop, st: st}
	e.fmu.Unlock()
	return true
}

func (e *wsExecutor) setPreCreated(id string, rc *graphql.OperationContext, errs gqlerror.List) {
	e.fmu.Lock()
	e.pre = &preCreated{id: id, rc: rc, errs: errs}
	e.fmu.Unlock()
}

// takePreCreated returns the operation the reader made for the subscribe
// message gqlgen is creating now, if any.
func (e *wsExecutor) takePreCreated() *preCreated {
	if e.conn == nil {
		return nil
	}
	id := e.conn.subscribeID()
	e.fmu.Lock()
	defer e.fmu.Unlock()
	pre := e.pre
	e.pre = nil
	if pre == nil || pre.id != id {
		return nil
	}
	return pre
}

// completeFast ends the fast-path subscription id (a complete or stop
// message from the client) and answers complete, as gqlgen does for the
// operations it serves; false: id is not one of the fast path's.
func (e *wsExecutor) completeFast(id string) bool {
	e.fmu.Lock()
	f := e.fast[id]
	delete(e.fast, id)
	e.fmu.Unlock()
	if f == nil {
		return false
	}
	e.endFast(f)
	_ = e.conn.WriteJSON(struct {
		ID   string `json:"id,omitempty"`
		Type string `json:"type"`
	}{id, "complete"})
	return true
}

// stopFast ends every fast-path subscription of the connection (its
// socket has ended).
func (e *wsExecutor) stopFast() {
	e.fmu.Lock()
	fast := e.fast
	e.fast = nil
	e.fmu.Unlock()
	for _, f := range fast {
		e.endFast(f)
	}
}

func (e *wsExecutor) endFast(f *fastEntry) {
	if f.sub != nil {
		f.sub.done.Store(true)
	}
	f.stop()
	e.finish(f.st)
}
