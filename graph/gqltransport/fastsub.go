package gqltransport

import (
	"context"
	"encoding/json"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
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

// fastPath serves rc on the fast path if it can: it returns nil when
// gqlgen's path must serve it.
func (e *wsExecutor) fastPath(ctx context.Context, rc *graphql.OperationContext, id string) graphql.ResponseHandler {
	if e.t.fast == nil || e.conn == nil || id == "" {
		return nil
	}
	var sub *fastSub
	stop, ok := e.t.fast(ctx, rc, func() FrameSink {
		sub = newFastSub(e.conn, id)
		return sub
	})
	if !ok {
		return nil
	}
	return func(ctx context.Context) *graphql.Response {
		<-ctx.Done()
		if sub != nil {
			sub.done.Store(true)
		}
		stop()
		return nil
	}
}
