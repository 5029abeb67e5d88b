package storage

import (
	"context"

	"github.com/lib/pq"
)

// Listings of product groups follow the rules of product listings (see
// ListProducts): the same page parameters, keyset cursors, sort keys,
// search and stock filter, bounded the same way. A group's NAME is its
// title, its PRICE its lowest variant price, and it is in stock when some
// variant has available > 0. A search matches the group's title and
// description and its variants' skus and names (the group's stored
// document, migration 00017).

// GroupPageParams ask for a page of groups: ProductPageParams' paging,
// sort and filter, and optionally only the groups with a variant in
// collection CollectionID.
type GroupPageParams struct {
	ProductPageParams
	CollectionID int64
}

// GroupEdge is a group of a page and its position.
type GroupEdge struct {
	Group    *ProductGroup
	Position ProductPosition
}

// GroupPage is a page of a group listing.
type GroupPage = Page[GroupEdge]

// groupSortKeys are the groups' sort keys (see sortKeys).
var groupSortKeys = sortKeyMap{
	SortID:        {},
	SortName:      {`p.title`, `text`},
	SortPrice:     {`p.min_price_cents`, `bigint`},
	SortCreatedAt: {`p.created_at`, `timestamptz`},
	SortRelevance: {"", `real`},
}

// ListProductGroups returns a page of groups. It costs one query, plus one
// when a cursor is given.
func (s *Store) ListProductGroups(ctx context.Context, p GroupPageParams) (*GroupPage, error) {
	if p.CollectionID < 0 {
		return nil, ErrBadPage
	}
	pages, err := s.groupPages(ctx, p.ProductPageParams, p.CollectionID, nil)
	if err != nil {
		return nil, err
	}
	return pages[0], nil
}

// CollectionGroupPages returns pages of many collections' groups: one
// query for every group of keys with the same parameters (one LATERAL
// subquery per collection), as CollectionProductPages does for products.
// It backs the per-request collection groups dataloader.
func (s *Store) CollectionGroupPages(ctx context.Context, keys []CollectionPageKey) (map[CollectionPageKey]*GroupPage, error) {
	return collectionPages(keys, func(p ProductPageParams, ids []int64) (map[int64]*GroupPage, error) {
		return s.groupPages(ctx, p, 0, ids)
	})
}

// groupPages runs one page of a group listing: of the groups with a
// variant in collectionID (0: all groups) under key 0 when collections is
// nil, else of each of those collections.
func (s *Store) groupPages(ctx context.Context, p ProductPageParams, collectionID int64, collections []int64) (map[int64]*GroupPage, error) {
	if !p.valid() {
		return nil, ErrBadPage
	}
	var b sqlArgs
	var ids string
	if collections != nil {
		ids = b.arg(pq.Array(collections))
	}
	sel := b.pageSelect(p, b.groupListing(p, collectionID, collections), `p.id`)
	q := `
		SELECT 0::bigint AS collection_id, ` + groupColumns + `, x.rank
		FROM (` + sel + `) x
		JOIN product_groups g ON g.id = x.id
		ORDER BY x.ord`
	if collections != nil {
		q = `
		SELECT c.id AS collection_id, ` + groupColumns + `, x.rank
		FROM unnest(` + ids + `::bigint[]) AS c(id)
		CROSS JOIN LATERAL (` + sel + `) x
		JOIN product_groups g ON g.id = x.id
		ORDER BY c.id, x.ord`
	}
	return readPages(ctx, s, p, collections, q, b.args, func(r *groupRow) (int64, GroupEdge) {
		g := r.ProductGroup
		return r.CollectionID, GroupEdge{Group: &g, Position: ProductPosition{
			ID: g.ID, Name: g.Title, PriceCents: g.MinPriceCents, CreatedAt: g.CreatedAt.UnixMicro(), Rank: r.Rank,
		}}
	}, func(b *sqlArgs) listing { return b.groupListing(p, collectionID, collections) })
}

// groupRow is a row of groupPages' statement.
type groupRow struct {
	CollectionID int64 `db:"collection_id"`
	ProductGroup
	Rank float32 `db:"rank"`
}

// groupListing is the listing of groups groupSource gives, of the
// collection of b.collection.
func (b *sqlArgs) groupListing(p ProductPageParams, collectionID int64, collections []int64) listing {
	from, conds, rank := b.groupSource(p, b.collection(collectionID, collections))
	return listing{from: from, conds: conds, rank: rank, order: groupSortKeys.order(p.Sort, p.Reverse, rank)}
}

// collection is the SQL of the collection a group listing is scoped to:
// the enclosing LATERAL query's c.id, collectionID's placeholder, or ""
// for none.
func (b *sqlArgs) collection(collectionID int64, collections []int64) string {
	switch {
	case collections != nil:
		return `c.id`
	case collectionID != 0:
		return b.arg(collectionID)
	}
	return ""
}

// CountProductGroups counts the groups a filter selects (with a query, at
// most MaxSearchMatches), of collection collectionID when it is not 0.
func (s *Store) CountProductGroups(ctx context.Context, f ProductFilter, collectionID int64) (int, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var b sqlArgs
	conds, _ := b.groupFilter(f, b.collection(collectionID, nil))
	q := b.count(`product_groups p`, conds, f.Query != "")
	var n int
	err := s.read(ctx, f.Query != "", func(rq queryer) error { return sqlxGet(ctx, rq, &n, q, b.args...) })
	return n, err
}

// CollectionGroupCounts counts many collections' groups, one query per
// filter. It backs the per-request collection group count dataloader.
func (s *Store) CollectionGroupCounts(ctx context.Context, keys []CollectionCountKey) (map[CollectionCountKey]int, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return collectionCounts(keys, func(f ProductFilter, ids []int64) ([]collectionCount, error) {
		var b sqlArgs
		in := b.arg(pq.Array(ids))
		conds, _ := b.groupFilter(f, `c.id`)
		n := `(` + b.count(`product_groups p`, conds, f.Query != "") + `)`
		var rows []collectionCount
		err := sqlxSelect(ctx, s.reader(), &rows, `SELECT c.id AS collection_id, `+n+` AS n FROM unnest(`+in+`::bigint[]) AS c(id)`, b.args...)
		return rows, err
	})
}

// groupSource is source (catalog.go) for groups, aliased p.
func (b *sqlArgs) groupSource(p ProductPageParams, coll string) (from string, conds []string, rank string) {
	conds, rank = b.groupFilter(p.Filter, coll)
	return b.searched(p, `product_groups p`, conds, rank)
}

// groupFilter is filterRanked (catalog.go) for groups.
// coll is the SQL of the collection the groups must have a variant in
// ("" for none).
func (b *sqlArgs) groupFilter(f ProductFilter, coll string) (conds []string, rank string) {
	rank = `0::real`
	switch f.Stock {
	case InStockOnly:
		conds = append(conds, `EXISTS (SELECT 1 FROM products v WHERE v.group_id = p.id AND v.stock - v.held > 0)`)
	case OutOfStockOnly:
		conds = append(conds, `NOT EXISTS (SELECT 1 FROM products v WHERE v.group_id = p.id AND v.stock - v.held > 0)`)
	}
	if coll != "" {
		conds = append(conds, `EXISTS (
			SELECT 1 FROM products v
			JOIN collection_products cp ON cp.product_id = v.id
			WHERE v.group_id = p.id AND cp.collection_id = `+coll+`)`)
	}
	if f.Query == "" {
		return conds, rank
	}
	match, rank := b.search(f.Query, `p.search_text`, func(query string) (match, rank string) {
		return `p.search_vector @@ ` + query, `ts_rank(p.search_vector, ` + query + `)`
	})
	return append(conds, match), rank
}
