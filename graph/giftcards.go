package graph

import (
	"context"
	"math/big"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"holdfast/graph/loaders"
	"holdfast/graph/model"
	"holdfast/reqstate"
	"holdfast/storage"
)

// cartGiftCards is what the cart's gift cards would pay of its total after
// its discount, card by card, and the total they pay.
func (r *Resolver) cartGiftCards(ctx context.Context, cartID string) ([]storage.GiftCardUse, *storage.CartPricing, *big.Int, error) {
	// The cards' load starts before pricing's (lines, code): the three
	// batches run together.
	wait := loaders.For(ctx, r.Store).CartGiftCardsThunk(ctx, cartID)
	p, err := r.cartPricing(ctx, cartID)
	if err != nil {
		return nil, nil, nil, err
	}
	cards, err := wait()
	if err != nil {
		return nil, nil, nil, err
	}
	uses, paid := storage.SpendGiftCards(p.Total(), p.Currency, cards)
	return uses, p, paid, nil
}

func (r *Resolver) appliedGiftCards(ctx context.Context, cartID string) ([]*model.AppliedGiftCard, error) {
	uses, _, _, err := r.cartGiftCards(ctx, cartID)
	if err != nil {
		return nil, err
	}
	out := make([]*model.AppliedGiftCard, 0, len(uses))
	for _, u := range uses {
		out = append(out, &model.AppliedGiftCard{
			LastCharacters: u.LastCharacters,
			AmountUsed:     money(big.NewInt(u.UsedCents), u.Currency),
			BalanceAfter:   money(big.NewInt(u.LeftCents), u.Currency),
		})
	}
	return out, nil
}

// cartTotal is subtotal − discount − what the gift cards pay.
func (r *Resolver) cartTotal(ctx context.Context, cartID string) (*storage.Money, error) {
	_, p, paid, err := r.cartGiftCards(ctx, cartID)
	if err != nil {
		return nil, err
	}
	t := p.Total()
	t.Sub(t, paid)
	return money(t, p.Currency), nil
}

func (r *Resolver) orderGiftCardTotal(ctx context.Context, o *storage.Order) (*storage.Money, error) {
	n, err := loaders.For(ctx, r.Store).OrderGiftCardCents(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	return money(big.NewInt(n), o.Currency), nil
}

// giftCardGuessLimited refuses a gift card attempt over the per-cart or
// per-address rate (RATE_LIMIT_GIFT_CARD_GUESS; RATE_LIMITED with
// retryAfterMs), before the code is looked up: every attempt counts, so
// codes cannot be guessed by brute force from one cart or address.
func (r *Resolver) giftCardGuessLimited(ctx context.Context, cartID string) error {
	st := reqstate.From(ctx)
	ip := ""
	if st != nil {
		ip = st.ClientIP
	}
	check := func(l RateLimiter, key, msg string) error {
		if l == nil {
			return nil
		}
		if ok, wait := l.Allow(key); !ok {
			if st != nil {
				st.SetStatus(http.StatusTooManyRequests, wait)
			}
			err := limitErr(reqstate.CodeRateLimited, "%s: retry in %s", msg, wait.Round(time.Millisecond))
			err.Extensions["retryAfterMs"] = wait.Milliseconds()
			err.Path = graphql.GetPath(ctx)
			return err
		}
		return nil
	}
	if err := check(r.GiftCardGuessPerCart, cartID, "too many gift card attempts on this cart"); err != nil {
		return err
	}
	if r.SignInLimitLoopback || !isLoopback(ip) {
		return check(r.GiftCardGuessPerAddress, ip, "too many gift card attempts from this address")
	}
	return nil
}

// giftCardPayload answers a gift card mutation.
func giftCardPayload(ctx context.Context, g *storage.GiftCard, code string, opErr error) (*model.GiftCardPayload, error) {
	ue, err := userErrors(ctx, opErr)
	if err != nil {
		return nil, err
	}
	p := &model.GiftCardPayload{GiftCard: g, UserErrors: ue}
	if code != "" {
		p.Code = &code
	}
	return p, nil
}
