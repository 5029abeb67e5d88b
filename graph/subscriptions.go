package graph

import (
	"context"
	"fmt"
	"holdfast/reqstate"
	"strings"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"holdfast/storage"
)

func notFound(code, msg string) error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code}}
}

type connSubsKey struct{}

// wsInit is the websocket init-payload hook: it gives the connection its
// subscription counter and accepts the admin token as
// {"Authorization": "Bearer <token>"} in the payload (browsers cannot set
// headers on websockets).
func wsInit(adminToken string, shutdown context.Context) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		ctx = context.WithValue(ctx, connSubsKey{}, new(atomic.Int32))
		if shutdown != nil {
			// A graceful stop ends every subscription and closes the socket.
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			context.AfterFunc(shutdown, cancel)
		}
		auth := payload.Authorization()
		if auth == "" {
			if v, ok := payload["Authorization"].(string); ok {
				auth = v
			}
		}
		if tok := reqstate.BearerToken(auth); strings.HasPrefix(tok, reqstate.CustomerTokenPrefix) {
			// A customer's token: their carts may be watched (the
			// operations' middleware names the customer, withCustomer).
			ctx = reqstate.WithCustomerToken(reqstate.WithAdmin(ctx, false), tok)
		} else if auth != "" && adminToken != "" {
			ctx = reqstate.WithAdmin(ctx, reqstate.BearerMatches(adminToken, auth))
		}
		return ctx, nil, nil
	}
}

// claimSubscription counts a subscription against its connection's limit;
// release gives it back.
func (r *Resolver) claimSubscription(ctx context.Context) (release func(), err error) {
	if r.Hub == nil {
		return nil, &gqlerror.Error{Message: "subscriptions are not enabled on this server", Extensions: map[string]any{"code": reqstate.CodeSubscriptionLimit}}
	}
	n, _ := ctx.Value(connSubsKey{}).(*atomic.Int32)
	if n == nil {
		return func() {}, nil
	}
	if n.Add(1) > int32(r.MaxSubscriptionsPerConn) {
		n.Add(-1)
		return nil, &gqlerror.Error{
			Message:    fmt.Sprintf("at most %d subscriptions per connection", r.MaxSubscriptionsPerConn),
			Extensions: map[string]any{"code": reqstate.CodeSubscriptionLimit},
		}
	}
	return func() { n.Add(-1) }, nil
}

// subscriptionProducts validates stockChanged's product ids: within the
// limit, well-formed and existing. Duplicates are ignored.
func (r *Resolver) subscriptionProducts(ctx context.Context, raw []string) ([]int64, error) {
	if len(raw) == 0 {
		return nil, badInput("productIds must not be empty")
	}
	if len(raw) > r.MaxProductsPerSubscription {
		return nil, &gqlerror.Error{
			Message:    fmt.Sprintf("at most %d productIds per subscription", r.MaxProductsPerSubscription),
			Extensions: map[string]any{"code": reqstate.CodeSubscriptionLimit},
		}
	}
	seen := map[int64]bool{}
	var ids []int64
	var unknown []string
	for _, s := range raw {
		id, ok := storage.ParseProductID(s)
		if !ok {
			unknown = append(unknown, s)
			continue
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) > 0 {
		levels, err := r.Store.StockLevels(ctx, ids)
		if err != nil {
			return nil, err
		}
		found := map[int64]bool{}
		for _, l := range levels {
			found[l.ProductID] = true
		}
		for _, id := range ids {
			if !found[id] {
				unknown = append(unknown, storage.FormatProductID(id))
			}
		}
	}
	if len(unknown) > 0 {
		if len(unknown) > 10 {
			unknown = append(unknown[:10], "…")
		}
		return nil, notFound(reqstate.CodeProductNotFound, "unknown product ids: "+strings.Join(unknown, ", "))
	}
	return ids, nil
}
