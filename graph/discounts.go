package graph

import (
	"context"
	"math/big"
	"strconv"

	"holdfast/graph/loaders"
	"holdfast/graph/model"
	"holdfast/storage"
)

// cartPricing prices a cart's lines with its discount code, from the
// request's loaders (the lines and the code are each read once).
func (r *Resolver) cartPricing(ctx context.Context, cartID string) (*storage.CartPricing, error) {
	l := loaders.For(ctx, r.Store)
	// The code's load starts before the lines' wait: both batches run
	// together (one after the other, they were two round trips in a row).
	discount := l.CartDiscountThunk(ctx, cartID)
	lines, err := l.CartLines.Load(ctx, cartID)
	if err != nil {
		return nil, err
	}
	d, err := discount()
	if err != nil {
		return nil, err
	}
	p := storage.PriceCart(storage.PriceLinesOf(lines), d)
	if p.Currency == "" {
		p.Currency = r.Store.DefaultCurrency()
	}
	return p, nil
}

func (r *Resolver) cartDiscounts(ctx context.Context, cartID string) ([]*model.CartDiscount, error) {
	p, err := r.cartPricing(ctx, cartID)
	if err != nil {
		return nil, err
	}
	if p.Code == nil {
		return []*model.CartDiscount{}, nil
	}
	cd := &model.CartDiscount{Code: p.Code.Code, Applicable: p.Applicable, Amount: money(p.Discount, p.Currency)}
	if !p.Applicable {
		reason := model.ErrorCode(p.Reason)
		cd.Reason = &reason
	}
	return []*model.CartDiscount{cd}, nil
}

func (r *Resolver) cartLineDiscounted(ctx context.Context, line *storage.CartLine) (*storage.Money, error) {
	if line.CartID == "" {
		return lineDiscounted(line, nil), nil
	}
	p, err := r.cartPricing(ctx, line.CartID)
	if err != nil {
		return nil, err
	}
	return lineDiscounted(line, p), nil
}

// lineDiscounted is a cart line's total less its share of the cart's
// discount, as p priced it (nil: a line of no cart, not discounted).
func lineDiscounted(line *storage.CartLine, p *storage.CartPricing) *storage.Money {
	total := storage.LineTotal(line.PriceCents, line.Quantity)
	if p == nil {
		return money(total, line.Currency)
	}
	return money(total.Sub(total, big.NewInt(p.LineDiscount(line.ProductID))), line.Currency)
}

// orderDiscountTotal is the order's lines' discounts together.
func (r *Resolver) orderDiscountTotal(ctx context.Context, o *storage.Order) (*storage.Money, error) {
	lines, err := loaders.For(ctx, r.Store).OrderLines.Load(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	d := new(big.Int)
	for _, l := range lines {
		d.Add(d, big.NewInt(l.DiscountCents))
	}
	return money(d, o.Currency), nil
}

// discountScope resolves a code's scope to its products, groups and
// collections (those deleted since are left out).
func (r *Resolver) discountScope(ctx context.Context, d *storage.DiscountCode) (*model.DiscountScope, error) {
	sc, err := r.Store.DiscountScopeOf(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	out := &model.DiscountScope{
		AllProducts:   len(sc.ProductIDs)+len(sc.GroupIDs)+len(sc.CollectionIDs) == 0,
		Products:      []*storage.Product{},
		ProductGroups: []*storage.ProductGroup{},
		Collections:   []*storage.Collection{},
	}
	for _, id := range sc.ProductIDs {
		p, err := r.productByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out.Products = append(out.Products, p)
		}
	}
	for _, id := range sc.GroupIDs {
		g, err := loaders.For(ctx, r.Store).Groups.ByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if g != nil {
			out.ProductGroups = append(out.ProductGroups, g)
		}
	}
	for _, id := range sc.CollectionIDs {
		c, err := r.Store.CollectionByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out.Collections = append(out.Collections, c)
		}
	}
	return out, nil
}

// discountCodePayload answers a discount code mutation.
func discountCodePayload(ctx context.Context, d *storage.DiscountCode, opErr error) (*model.DiscountCodePayload, error) {
	ue, err := userErrors(ctx, opErr)
	if err != nil {
		return nil, err
	}
	return &model.DiscountCodePayload{DiscountCode: d, UserErrors: ue}, nil
}

func newDiscountCode(in model.CreateDiscountCodeInput) storage.NewDiscountCode {
	return storage.NewDiscountCode{
		Code: in.Code, Kind: in.Kind, Value: in.Value,
		Currency:        deref(in.CurrencyCode),
		MinimumSubtotal: deref(in.MinimumSubtotalAmount),
		StartsAt:        in.StartsAt, EndsAt: in.EndsAt,
		UsageLimit:      in.UsageLimit,
		OncePerCustomer: in.OncePerCustomer != nil && *in.OncePerCustomer,
		ProductIDs:      parseProductIDs(in.ProductIds),
		GroupIDs:        parseProductIDs(in.ProductGroupIds),
		CollectionIDs:   parseProductIDs(in.CollectionIds),
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// discountCodes is the admin's list of codes, newest first.
func (r *Resolver) discountCodes(ctx context.Context, first *int, after *string) (*model.DiscountCodeConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	before, err := decodeSeqCursor("discount", after)
	if err != nil {
		return nil, err
	}
	ds, more, err := r.Store.ListDiscountCodes(ctx, n, before)
	if err != nil {
		return nil, err
	}
	conn := &model.DiscountCodeConnection{Edges: make([]*model.DiscountCodeEdge, 0, len(ds)), PageInfo: &model.PageInfo{HasNextPage: more}}
	for _, d := range ds {
		cursor := encodeCursor("discount", strconv.FormatInt(d.ID, 10))
		conn.Edges = append(conn.Edges, &model.DiscountCodeEdge{Cursor: cursor, Node: d})
		conn.PageInfo.EndCursor = &cursor
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
	}
	return conn, nil
}
