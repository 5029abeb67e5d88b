// Package loaders holds the per-request dataloaders that keep a query's
// database cost constant however many cart lines or products it touches.
package loaders

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/vikstrous/dataloadgen"

	"holdfast/reqstate"
	"holdfast/storage"
)

type ctxKey struct{}

// Loaders batch the reads of one request.
type Loaders struct {
	Product    *dataloadgen.Loader[int64, *storage.Product]
	CartLines  *dataloadgen.Loader[string, []*storage.CartLine]
	OrderLines *dataloadgen.Loader[string, []*storage.OrderLine]
	Payment    *dataloadgen.Loader[string, *storage.Payment] // by order id
	// CartDiscount is a cart's discount code as pricing needs it (absent:
	// none).
	CartDiscount *dataloadgen.Loader[string, *storage.CartDiscountState]
	// CartGiftCards are the cards applied to a cart, in ascending id.
	CartGiftCards *dataloadgen.Loader[string, []*storage.CartGiftCard]
	// OrderGiftCards is what gift cards paid of an order (absent: none).
	OrderGiftCards *dataloadgen.Loader[string, int64]
	Catalog        *Catalog
	Groups         *Groups
	Locations      *Locations
}

// New builds a fresh set of loaders over store.
func New(store *storage.Store) *Loaders {
	// Siblings resolve concurrently and ask within microseconds of each
	// other; a longer wait is latency on every request with a single load.
	wait := dataloadgen.WithWait(250 * time.Microsecond)
	return &Loaders{
		// Mapped loaders key results by id, so missing or reordered rows
		// cannot misalign results.
		Product: dataloadgen.NewMappedLoader(store.ProductsByIDs, wait),
		CartLines: dataloadgen.NewMappedLoader(func(ctx context.Context, ids []string) (map[string][]*storage.CartLine, error) {
			return store.CartLinesByCartIDs(ctx, ids)
		}, wait),
		OrderLines:     dataloadgen.NewMappedLoader(store.OrderLinesByOrderIDs, wait),
		Payment:        dataloadgen.NewMappedLoader(store.PaymentsByOrderIDs, wait),
		CartDiscount:   dataloadgen.NewMappedLoader(store.CartDiscountsByCartIDs, wait),
		CartGiftCards:  dataloadgen.NewMappedLoader(store.CartGiftCardsByCartIDs, wait),
		OrderGiftCards: dataloadgen.NewMappedLoader(store.GiftCardTotalsByOrderIDs, wait),
		Catalog:        newCatalog(store),
		Groups:         newGroups(store),
		Locations:      newLocations(store),
	}
}

// ProductByID loads one product; a product that does not exist is nil, not
// an error (a stale link, or a line whose product was deleted).
func (l *Loaders) ProductByID(ctx context.Context, id int64) (*storage.Product, error) {
	p, err := l.Product.Load(ctx, id)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return p, err
}

// CartDiscountOf loads a cart's discount code (nil: none).
func (l *Loaders) CartDiscountOf(ctx context.Context, cartID string) (*storage.CartDiscountState, error) {
	return l.CartDiscountThunk(ctx, cartID)()
}

// CartDiscountThunk starts loading a cart's discount code and returns the
// wait for it: a caller that needs other loads first starts this one
// before them, so that the batches run together instead of one after the
// other.
func (l *Loaders) CartDiscountThunk(ctx context.Context, cartID string) func() (*storage.CartDiscountState, error) {
	thunk := l.CartDiscount.LoadThunk(ctx, cartID)
	return func() (*storage.CartDiscountState, error) {
		d, err := thunk()
		if errors.Is(err, dataloadgen.ErrNotFound) {
			return nil, nil
		}
		return d, err
	}
}

// CartGiftCardsOf loads the cards applied to a cart (none: empty).
func (l *Loaders) CartGiftCardsOf(ctx context.Context, cartID string) ([]*storage.CartGiftCard, error) {
	return l.CartGiftCardsThunk(ctx, cartID)()
}

// CartGiftCardsThunk starts loading the cards applied to a cart and
// returns the wait for them (see CartDiscountThunk).
func (l *Loaders) CartGiftCardsThunk(ctx context.Context, cartID string) func() ([]*storage.CartGiftCard, error) {
	thunk := l.CartGiftCards.LoadThunk(ctx, cartID)
	return func() ([]*storage.CartGiftCard, error) { return orNone(thunk()) }
}

// OrderGiftCardCents loads what gift cards paid of an order.
func (l *Loaders) OrderGiftCardCents(ctx context.Context, orderID string) (int64, error) {
	n, err := l.OrderGiftCards.Load(ctx, orderID)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return 0, nil
	}
	return n, err
}

// Reset forgets everything loaded so far. Mutations call it after they
// write, so a payload never shows data cached before the write.
func (l *Loaders) Reset() {
	l.Product.ClearAll()
	l.CartLines.ClearAll()
	l.OrderLines.ClearAll()
	l.Payment.ClearAll()
	l.CartDiscount.ClearAll()
	l.CartGiftCards.ClearAll()
	l.OrderGiftCards.ClearAll()
	l.Catalog.reset()
	l.Groups.reset()
	l.Locations.reset()
}

// Middleware gives every request its own loaders. A websocket lives for
// many operations and events, so it gets none: its resolvers load fresh
// data for every event.
func Middleware(store *storage.Store, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reqstate.IsUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(With(r.Context(), New(store))))
	})
}

// With returns ctx carrying l.
func With(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// From returns the request's loaders, or nil outside an HTTP request.
func From(ctx context.Context) *Loaders {
	l, _ := ctx.Value(ctxKey{}).(*Loaders)
	return l
}

// For returns the request's loaders. Outside an HTTP request (websocket
// subscriptions, tests) it returns fresh, unshared loaders.
func For(ctx context.Context, store *storage.Store) *Loaders {
	if l, ok := ctx.Value(ctxKey{}).(*Loaders); ok {
		return l
	}
	return New(store)
}
