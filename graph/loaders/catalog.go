package loaders

import (
	"context"
	"errors"
	"time"

	"github.com/vikstrous/dataloadgen"

	"holdfast/storage"
)

// Catalog batches the catalog's reads of one request: a list of products
// with their images and collections, or of collections with their products,
// costs a constant number of queries however long it is.
type Catalog struct {
	ProductImages      *dataloadgen.Loader[int64, []*storage.Image]
	ProductCollections *dataloadgen.Loader[int64, []*storage.Collection]
	CollectionProducts *dataloadgen.Loader[storage.CollectionPageKey, *storage.ProductPage]
	CollectionCount    *dataloadgen.Loader[storage.CollectionCountKey, int]
}

func newCatalog(store *storage.Store) *Catalog {
	wait := dataloadgen.WithWait(time.Millisecond)
	return &Catalog{
		ProductImages:      dataloadgen.NewMappedLoader(store.ImagesByProductIDs, wait),
		ProductCollections: dataloadgen.NewMappedLoader(store.CollectionsByProductIDs, wait),
		CollectionProducts: dataloadgen.NewMappedLoader(store.CollectionProductPages, wait),
		CollectionCount:    dataloadgen.NewMappedLoader(store.CollectionProductCounts, wait),
	}
}

func (c *Catalog) reset() {
	c.ProductImages.ClearAll()
	c.ProductCollections.ClearAll()
	c.CollectionProducts.ClearAll()
	c.CollectionCount.ClearAll()
}

// Images loads a product's images (none for an unknown id).
func (c *Catalog) Images(ctx context.Context, productID int64) ([]*storage.Image, error) {
	return orNone(c.ProductImages.Load(ctx, productID))
}

// Collections loads the collections a product is in.
func (c *Catalog) Collections(ctx context.Context, productID int64) ([]*storage.Collection, error) {
	return orNone(c.ProductCollections.Load(ctx, productID))
}

func orNone[T any](v []T, err error) ([]T, error) {
	if errors.Is(err, dataloadgen.ErrNotFound) || (err == nil && v == nil) {
		return []T{}, nil
	}
	return v, err
}

// Page loads a page of a collection's products.
func (c *Catalog) Page(ctx context.Context, key storage.CollectionPageKey) (*storage.ProductPage, error) {
	return loadPage(ctx, c.CollectionProducts, key)
}

// Count loads how many of a collection's products a filter selects.
func (c *Catalog) Count(ctx context.Context, key storage.CollectionCountKey) (int, error) {
	return loadCount(ctx, c.CollectionCount, key)
}

// loadPage loads a page of a collection's products or groups (an empty
// page for none).
func loadPage[E any](ctx context.Context, l *dataloadgen.Loader[storage.CollectionPageKey, *storage.Page[E]], key storage.CollectionPageKey) (*storage.Page[E], error) {
	p, err := l.Load(ctx, key)
	if errors.Is(err, dataloadgen.ErrNotFound) || (err == nil && p == nil) {
		return &storage.Page[E]{Edges: []E{}}, nil
	}
	return p, err
}

// loadCount loads a collection's count of products or groups (0 for none).
func loadCount(ctx context.Context, l *dataloadgen.Loader[storage.CollectionCountKey, int], key storage.CollectionCountKey) (int, error) {
	n, err := l.Load(ctx, key)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return 0, nil
	}
	return n, err
}

// Groups batches the reads of product groups (issue 22): a product page
// (a group, its variants and images) and a grid of groups cost a constant
// number of queries however many groups and variants they show.
type Groups struct {
	Group       *dataloadgen.Loader[int64, *storage.ProductGroup]
	Variants    *dataloadgen.Loader[int64, []*storage.Product]
	Images      *dataloadgen.Loader[int64, []*storage.Image]
	Collections *dataloadgen.Loader[int64, []*storage.Collection]
	// A collection's groups (Collection.productGroups) and their count.
	CollectionGroups *dataloadgen.Loader[storage.CollectionPageKey, *storage.GroupPage]
	CollectionCount  *dataloadgen.Loader[storage.CollectionCountKey, int]
}

func newGroups(store *storage.Store) *Groups {
	wait := dataloadgen.WithWait(time.Millisecond)
	return &Groups{
		Group:       dataloadgen.NewMappedLoader(store.ProductGroupsByIDs, wait),
		Variants:    dataloadgen.NewMappedLoader(store.VariantsByGroupIDs, wait),
		Images:      dataloadgen.NewMappedLoader(store.ImagesByGroupIDs, wait),
		Collections: dataloadgen.NewMappedLoader(store.CollectionsByGroupIDs, wait),

		CollectionGroups: dataloadgen.NewMappedLoader(store.CollectionGroupPages, wait),
		CollectionCount:  dataloadgen.NewMappedLoader(store.CollectionGroupCounts, wait),
	}
}

func (g *Groups) reset() {
	g.Group.ClearAll()
	g.Variants.ClearAll()
	g.Images.ClearAll()
	g.Collections.ClearAll()
	g.CollectionGroups.ClearAll()
	g.CollectionCount.ClearAll()
}

// Page loads a page of a collection's groups.
func (g *Groups) Page(ctx context.Context, key storage.CollectionPageKey) (*storage.GroupPage, error) {
	return loadPage(ctx, g.CollectionGroups, key)
}

// Count loads how many groups a collection has.
func (g *Groups) Count(ctx context.Context, key storage.CollectionCountKey) (int, error) {
	return loadCount(ctx, g.CollectionCount, key)
}

// ByID loads a group; nil when there is none.
func (g *Groups) ByID(ctx context.Context, id int64) (*storage.ProductGroup, error) {
	v, err := g.Group.Load(ctx, id)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// Prime records groups already read (by a page or a lookup), so their
// variants' group fields cost nothing more.
func (g *Groups) Prime(gs ...*storage.ProductGroup) {
	for _, v := range gs {
		g.Group.Prime(v.ID, v)
	}
}
