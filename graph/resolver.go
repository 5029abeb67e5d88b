// Package graph is Holdfast's GraphQL layer: gqlgen's generated executor and
// thin resolvers that translate between GraphQL and package storage.
package graph

//go:generate go run ./internal/gqlgen

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"time"

	"holdfast/graph/live"
	"holdfast/graph/loaders"
	"holdfast/graph/model"
	"holdfast/payments"
	"holdfast/storage"
	"holdfast/webhooks"
)

// Resolver holds the dependencies every resolver needs.
type Resolver struct {
	Store   *storage.Store
	Log     *slog.Logger
	Hub     *live.Hub
	Metrics *Metrics // nil: records nothing
	// Payments takes the payments of beginCheckout and confirmPayment.
	Payments *payments.Service

	MaxSubscriptionsPerConn    int
	MaxProductsPerSubscription int

	// WebhookAllowPrivate lets webhook endpoints be http:// and private
	// addresses (WEBHOOK_ALLOW_PRIVATE).
	WebhookAllowPrivate bool
	// WebhookResolver looks webhook hosts up (nil: net.DefaultResolver).
	WebhookResolver webhooks.Resolver

	// CustomerTokenTTL is how long customer access tokens live.
	CustomerTokenTTL time.Duration
	// SignInPerAddress and SignInPerEmail limit sign-in attempts (nil: no
	// limit).
	SignInPerAddress, SignInPerEmail RateLimiter
	// SignInLimitLoopback applies SignInPerAddress to loopback clients
	// too (RATE_LIMIT_LOOPBACK), as the other per-address limits.
	SignInLimitLoopback bool
	// GiftCardGuessPerCart and GiftCardGuessPerAddress limit
	// cartApplyGiftCard attempts (nil: no limit).
	GiftCardGuessPerCart, GiftCardGuessPerAddress RateLimiter

	// renderPlans holds the compiled plans of cart selections
	// (compiled_render.go); nil: every answer takes gqlgen's path.
	renderPlans *renderPlans
}

// productByID loads a product through the request's dataloader.
func (r *Resolver) productByID(ctx context.Context, id int64) (*storage.Product, error) {
	return loaders.For(ctx, r.Store).ProductByID(ctx, id)
}

// subtotal sums a cart's lines (in the lines' currency, or the shop's
// default for an empty cart).
func (r *Resolver) subtotal(lines []*storage.CartLine) *storage.Money {
	total := new(big.Int)
	currency := r.Store.DefaultCurrency()
	for _, l := range lines {
		total.Add(total, storage.LineTotal(l.PriceCents, l.Quantity))
		currency = l.Currency
	}
	return money(total, currency)
}

// cartPayload answers a cart mutation: the cart as it is now (changed, or
// unchanged after a refusal) and the refusal as userErrors.
func (r *Resolver) cartPayload(ctx context.Context, cartID string, opErr error, warnings []*model.CartWarning) (*model.CartPayload, error) {
	ue, err := userErrors(ctx, opErr)
	if err != nil {
		return nil, err
	}
	loaders.For(ctx, r.Store).Reset()
	cart, err := r.Store.CartByID(ctx, cartID)
	if err != nil {
		return nil, err
	}
	if ue == nil {
		ue = []*model.UserError{}
	}
	return &model.CartPayload{Cart: cart, UserErrors: ue, Warnings: orEmpty(warnings)}, nil
}

func orEmpty(w []*model.CartWarning) []*model.CartWarning {
	if w == nil {
		return []*model.CartWarning{}
	}
	return w
}

// productPayload answers a product mutation.
func (r *Resolver) productPayload(ctx context.Context, p *storage.Product, opErr error) (*model.ProductPayload, error) {
	ue, err := userErrors(ctx, opErr)
	if err != nil {
		return nil, err
	}
	if ue == nil {
		ue = []*model.UserError{}
	}
	loaders.For(ctx, r.Store).Reset()
	return &model.ProductPayload{Product: p, UserErrors: ue}, nil
}

// withProducts makes sure every line carries its product (CartLine.product
// binds to the field, rendered inline). Lines read by the cart loader, or
// told by a reservation statement, already do; a snapshot's lines (see
// storage.CartSnapshot) get theirs in one batch, as they are now except for
// the stock figures the snapshot kept, so a replayed answer has the first
// answer's available.
func (r *Resolver) withProducts(ctx context.Context, lines []*storage.CartLine) ([]*storage.CartLine, error) {
	var ids []int64
	for _, l := range lines {
		if l.Product == nil {
			ids = append(ids, l.ProductID)
		}
	}
	if len(ids) == 0 {
		return lines, nil
	}
	products, err := loaders.For(ctx, r.Store).Product.LoadAll(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*storage.CartLine, len(lines))
	i := 0
	for n, l := range lines {
		out[n] = l
		if l.Product != nil {
			continue
		}
		p := products[i]
		i++
		if p == nil {
			return nil, fmt.Errorf("graph: cart line of missing product %d", l.ProductID)
		}
		line := *l
		kept := *p
		if l.ProductStock != nil && l.ProductHeld != nil {
			kept.Stock, kept.Held = *l.ProductStock, *l.ProductHeld
		}
		line.Product = &kept
		out[n] = &line
	}
	return out, nil
}

// parseProductID maps a malformed id to 0, which matches no product, so the
// caller answers PRODUCT_NOT_FOUND like for any other id that does not exist.
func parseProductID(s string) int64 {
	id, _ := storage.ParseProductID(s)
	return id
}

// snapshotPayload answers a keyed cart mutation from the snapshot its
// transaction took (the same snapshot on every replay): the request's cart
// loader is primed with its lines, so status, quantities, line totals,
// subtotal, available units and userErrors are exactly the first
// attempt's. The snapshot keeps no product rows (see storage.CartSnapshot):
// a line's other product fields render as the product is now.
func (r *Resolver) snapshotPayload(ctx context.Context, snap *storage.CartSnapshot, opErr error, warnings []*model.CartWarning) (*model.CartPayload, error) {
	ue, err := userErrors(ctx, opErr)
	if err != nil {
		return nil, err
	}
	l := loaders.For(ctx, r.Store)
	l.Reset()
	if c := snap.Cart; c != nil && c.CustomerID != nil && (viewer(ctx) == nil || viewer(ctx).ID != *c.CustomerID) {
		// A replay to someone else than the cart's customer shows no cart.
		return &model.CartPayload{UserErrors: ue, Warnings: orEmpty(warnings)}, nil
	}
	if snap.Cart != nil {
		l.CartLines.Prime(snap.Cart.ID, snap.Lines)
	}
	return &model.CartPayload{Cart: snap.Cart, UserErrors: ue, Warnings: orEmpty(warnings)}, nil
}
