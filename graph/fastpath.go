package graph

import (
	"bytes"
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/graph/gqltransport"
	"holdfast/storage"
)

// The stockChanged fast path. A drop puts thousands of subscribers on one
// product; gqlgen would execute the selection set, marshal the response and
// write it under its connection's lock once per subscriber per push. When a
// subscription is exactly one stockChanged root field selecting only leaf
// fields of StockLevel (aliases and __typename allowed; no fragments or
// directives), the hub renders its payload once per level and selection
// (stockSelection.Key) and every subscriber's writer sends the same bytes
// (the websocket transport's side: graph/gqltransport/fastsub.go). Anything
// else, and any subscription whose arguments fail validation, takes
// gqlgen's path unchanged (which answers the error). The planning and
// rendering live here, beside the schema they follow.

// stockLeaves are StockLevel's fields the fast path renders.
var stockLeaves = map[string]bool{"productId": true, "available": true, "at": true, "__typename": true}

type stockLeaf struct{ key, name string }

// stockSelection renders levels for one selection; selections with the
// same Key render the same bytes.
type stockSelection struct {
	root    string
	fields  []stockLeaf
	key     string
	metrics *Metrics
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
func planStockFrames(rc *graphql.OperationContext, m *Metrics) (*stockSelection, []string, bool) {
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

// stockFastPath is the websocket transport's fast path
// (gqltransport.FastPath): a stockChanged subscription it can render
// watches the hub's shared frames instead of running gqlgen's executor.
func (r *Resolver) stockFastPath(m *Metrics) gqltransport.FastPath {
	return func(ctx context.Context, rc *graphql.OperationContext, newSink func() gqltransport.FrameSink) (func(), bool) {
		if r.Hub == nil {
			return nil, false
		}
		sel, raw, ok := planStockFrames(rc, m)
		if !ok {
			return nil, false
		}
		ids, err := r.subscriptionProducts(ctx, raw)
		if err != nil {
			return nil, false
		}
		release, err := r.claimSubscription(ctx)
		if err != nil {
			return nil, false
		}
		stop, err := r.Hub.WatchStockFrames(ctx, ids, sel, newSink())
		if err != nil {
			release()
			return nil, false
		}
		return func() {
			stop()
			release()
		}, true
	}
}
