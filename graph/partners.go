package graph

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"holdfast/graph/model"
	"holdfast/storage"
	"holdfast/webhooks"
)

// Partner integrations (issue 14): helpers of the webhook, stock sync and
// orders feed resolvers.

// webhookEndpointPayload answers createWebhookEndpoint and
// deleteWebhookEndpoint.
func webhookEndpointPayload(ctx context.Context, ep *storage.WebhookEndpoint, secret *string, opErr error) (*model.WebhookEndpointPayload, error) {
	ue, err := userErrors(ctx, opErr)
	if err != nil {
		return nil, err
	}
	return &model.WebhookEndpointPayload{Endpoint: ep, Secret: secret, UserErrors: ue}, nil
}

// checkWebhookURL refuses a URL the dispatcher would not call, as a
// userError on input.url: with the same host rules and resolver as every
// delivery (webhooks.CheckHost).
func (r *Resolver) checkWebhookURL(ctx context.Context, raw string) error {
	err := webhooks.CheckURL(ctx, r.WebhookResolver, raw, r.WebhookAllowPrivate)
	if err == nil {
		return nil
	}
	msg := "url: " + err.Error()
	switch {
	case errors.Is(err, webhooks.ErrForbiddenAddress):
		msg = "url must reach a public address (loopback, private, link-local and other special addresses are refused)"
	case errors.Is(err, webhooks.ErrBadHost):
		msg = "url: the host must be a DNS name (ASCII; an international name in its xn-- form) or an IP address in its usual spelling"
	}
	return &storage.Error{Code: storage.CodeInvalidInput, Message: msg, Field: []string{"input", "url"}}
}

// setStockParams translates setStock's input.
func setStockParams(ctx context.Context, in model.SetStockInput) storage.SetStockParams {
	p := storage.SetStockParams{
		Items:          make([]storage.SetStockItem, len(in.Items)),
		AllowPartial:   in.AllowPartial != nil && *in.AllowPartial,
		IdempotencyKey: idempotencyKey(ctx, in.IdempotencyKey),
	}
	if in.Reason != nil {
		p.Reason = *in.Reason
	}
	for i, it := range in.Items {
		item := storage.SetStockItem{Stock: it.Stock, CompareStock: it.CompareStock, LocationID: optionalLocationID(it.LocationID)}
		if it.ProductID != nil {
			item.HasProductID = true
			item.ProductID = parseProductID(*it.ProductID)
		}
		if it.Sku != nil {
			item.SKU = *it.Sku
		}
		p.Items[i] = item
	}
	return p
}

// userErrorList converts refusals, in order.
func userErrorList(ctx context.Context, errs []*storage.Error) []*model.UserError {
	out := make([]*model.UserError, 0, len(errs))
	for _, e := range errs {
		ue, _ := userErrors(ctx, e)
		out = append(out, ue...)
	}
	return out
}

// Orders feed cursors: "orderfeed:<updated_at in µs since the epoch>:<seq>".
func encodeFeedCursor(o *storage.Order) string {
	return encodeCursor("orderfeed", strconv.FormatInt(o.UpdatedAt.UnixMicro(), 10)+":"+strconv.FormatInt(o.Seq, 10))
}

func decodeFeedCursor(after *string) (*storage.FeedCursor, error) {
	s, err := decodeCursor("orderfeed", after)
	if err != nil || s == "" {
		return nil, err
	}
	bad := badInput("after is not a cursor returned by this connection")
	us, seq, ok := strings.Cut(s, ":")
	if !ok {
		return nil, bad
	}
	micros, err1 := strconv.ParseInt(us, 10, 64)
	n, err2 := strconv.ParseInt(seq, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 || !storage.ValidMicros(micros) {
		return nil, bad
	}
	return &storage.FeedCursor{UpdatedAt: time.UnixMicro(micros), Seq: n}, nil
}

// ordersFeed answers orders(updatedAfter: ...).
func (r *Resolver) ordersFeed(ctx context.Context, n int, after *string, updatedAfter time.Time, status []string) (*model.OrderConnection, error) {
	cur, err := decodeFeedCursor(after)
	if err != nil {
		return nil, err
	}
	orders, more, err := r.Store.OrderFeed(ctx, storage.OrderFeedParams{First: n, After: cur, UpdatedAfter: updatedAfter, Statuses: status})
	if err != nil {
		return nil, err
	}
	conn := &model.OrderConnection{Edges: make([]*model.OrderEdge, 0, len(orders)), PageInfo: &model.PageInfo{HasNextPage: more}}
	for _, o := range orders {
		cursor := encodeFeedCursor(o)
		conn.Edges = append(conn.Edges, &model.OrderEdge{Cursor: cursor, Node: o})
		conn.PageInfo.EndCursor = &cursor
	}
	return conn, nil
}

// parseSerialID reads a webhook delivery or endpoint id (0: none).
func parseSerialID(s string) int64 {
	id, _ := storage.ParseProductID(s)
	return id
}
