package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/storage"
)

// The stockChanged fast path. A drop puts thousands of subscribers on one
// product; gqlgen would execute the selection set, marshal the response and
// write it under its connection's lock once per subscriber per push. When a
// subscription is exactly one stockChanged root field selecting only leaf
// fields of StockLevel (aliases and __typename allowed; no fragments or
// directives), the hub renders its payload once per level and selection
// (stockSelection.Key) and every subscriber's writer sends the same bytes,
// wrapped in an envelope whose prefix ({"id":…,"type":"next","payload":) is
// built once per subscription: no marshalling per subscriber. Anything else,
// and any subscription whose arguments fail validation, takes gqlgen's path
// unchanged (which answers the error).

// stockLeaves are StockLevel's fields the fast path renders.
var stockLeaves = map[string]bool{"productId": true, "available": true, "at": true, "__typename": true}

type stockLeaf struct{ key, name string }

// stockSelection renders levels for one selection; selections with the
// same Key render the same bytes.
type stockSelection struct {
	root    string
	fields  []stockLeaf
	key     string
	metrics LiveMetrics
}

func (s *stockSelection) Key() string { return s.key }

func (s *stockSelection) Render(l storage.StockLevel) []byte {
	s.metrics.LiveFrameRendered()
	var b bytes.Buffer
	b.Grow(128)
	b.WriteString(`{"data":{"`)
	b.WriteString(s.root)
	b.WriteString(`":{`)
	for i, f := range s.fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(f.key)
		b.WriteString(`":`)
		switch f.name {
		case "productId":
			graphql.MarshalID(storage.FormatProductID(l.ProductID)).MarshalGQL(&b)
		case "available":
			graphql.MarshalInt(l.Available).MarshalGQL(&b)
		case "at":
			graphql.MarshalTime(l.At).MarshalGQL(&b)
		case "__typename":
			graphql.MarshalString("StockLevel").MarshalGQL(&b)
		}
	}
	b.WriteString(`}}}`)
	return b.Bytes()
}

// planStockFrames says whether the operation can take the fast path, and if
// so how to render it and which product ids it asked for.
func planStockFrames(rc *graphql.OperationContext, m LiveMetrics) (*stockSelection, []string, bool) {
	op := rc.Operation
	if op == nil || op.Operation != ast.Subscription || len(op.Directives) > 0 || len(op.SelectionSet) != 1 {
		return nil, nil, false
	}
	root, ok := op.SelectionSet[0].(*ast.Field)
	if !ok || root.Name != "stockChanged" || len(root.Directives) > 0 || len(root.SelectionSet) == 0 {
		return nil, nil, false
	}
	sel := &stockSelection{root: root.Alias, metrics: m}
	seen := map[string]bool{}
	var key strings.Builder
	key.WriteString(root.Alias)
	for _, s := range root.SelectionSet {
		f, ok := s.(*ast.Field)
		if !ok || !stockLeaves[f.Name] || len(f.Directives) > 0 || len(f.SelectionSet) > 0 || seen[f.Alias] {
			return nil, nil, false
		}
		seen[f.Alias] = true
		sel.fields = append(sel.fields, stockLeaf{key: f.Alias, name: f.Name})
		key.WriteString("|" + f.Alias + ":" + f.Name)
	}
	sel.key = key.String()
	raw, ok := root.ArgumentMap(rc.Variables)["productIds"].([]any)
	if !ok {
		return nil, nil, false
	}
	ids := make([]string, len(raw))
	for i, v := range raw {
		if ids[i], ok = v.(string); !ok {
			return nil, nil, false
		}
	}
	return sel, ids, true
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

// stockFastPath serves rc on the fast path if it can: it returns nil when
// gqlgen's path must serve it.
func (e *wsExecutor) stockFastPath(ctx context.Context, rc *graphql.OperationContext, id string) graphql.ResponseHandler {
	r := e.t.resolver
	if e.conn == nil || r == nil || r.Hub == nil || id == "" {
		return nil
	}
	sel, raw, ok := planStockFrames(rc, e.t.live)
	if !ok {
		return nil
	}
	ids, err := r.subscriptionProducts(ctx, raw)
	if err != nil {
		return nil
	}
	release, err := r.claimSubscription(ctx)
	if err != nil {
		return nil
	}
	sub := newFastSub(e.conn, id)
	stop, err := r.Hub.WatchStockFrames(ctx, ids, sel, sub)
	if err != nil {
		release()
		return nil
	}
	return func(ctx context.Context) *graphql.Response {
		<-ctx.Done()
		sub.done.Store(true)
		stop()
		release()
		return nil
	}
}
