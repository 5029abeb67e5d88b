package loaders

import (
	"context"
	"errors"

	"github.com/vikstrous/dataloadgen"

	"holdfast/storage"
)

// PaymentByOrderID loads an order's payment; an order without one (placed
// by checkout) has nil.
func (l *Loaders) PaymentByOrderID(ctx context.Context, orderID string) (*storage.Payment, error) {
	p, err := l.Payment.Load(ctx, orderID)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return p, err
}
