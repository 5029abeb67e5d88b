package loaders

import (
	"context"
	"errors"
	"time"

	"github.com/vikstrous/dataloadgen"

	"holdfast/storage"
)

// Locations batches the per-location reads of one request (admin): a list
// of products with their levels, or of orders with their lines'
// allocations, costs one query each.
type Locations struct {
	Levels      *dataloadgen.Loader[int64, []*storage.InventoryLevel]
	Allocations *dataloadgen.Loader[string, []*storage.Allocation] // by order id
}

func newLocations(store *storage.Store) *Locations {
	wait := dataloadgen.WithWait(250 * time.Microsecond)
	return &Locations{
		Levels:      dataloadgen.NewMappedLoader(store.LevelsByProductIDs, wait),
		Allocations: dataloadgen.NewMappedLoader(store.AllocationsByOrderIDs, wait),
	}
}

func (l *Locations) reset() {
	l.Levels.ClearAll()
	l.Allocations.ClearAll()
}

// LevelsOf loads a product's inventory levels.
func (l *Locations) LevelsOf(ctx context.Context, productID int64) ([]*storage.InventoryLevel, error) {
	return orNone(l.Levels.Load(ctx, productID))
}

// AllocationsOf loads an order line's allocations.
func (l *Locations) AllocationsOf(ctx context.Context, orderID string, productID int64) ([]*storage.Allocation, error) {
	all, err := l.Allocations.Load(ctx, orderID)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return []*storage.Allocation{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := []*storage.Allocation{}
	for _, a := range all {
		if a.ProductID == productID {
			out = append(out, a)
		}
	}
	return out, nil
}
