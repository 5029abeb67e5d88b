package storage

import (
	"context"
	"strings"
	"unicode/utf8"

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
type GroupPage struct {
	Edges           []GroupEdge
	HasNextPage     bool
	HasPreviousPage bool
}

// groupSortKeys are the groups' sort keys (see sortKeys).
var groupSortKeys = map[ProductSort]struct{ key, cast string }{
	SortID:        {},
	SortName:      {`p.title`, `text`},
	SortPrice:     {`p.min_price_cents`, `bigint`},
	SortCreatedAt: {`p.created_at`, `timestamptz`},
	SortRelevance: {"", `real`},
}

func groupOrderOf(sort ProductSort, reverse bool, rank string) productOrder {
	k := groupSortKeys[sort]
	o := productOrder{key: k.key, cast: k.cast, idDesc: reverse, keyDesc: reverse}
	if sort == SortRelevance {
		o.key, o.keyDesc = rank, !reverse
	}
	return o
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
	groups := map[ProductPageParams][]int64{}
	for _, k := range keys {
		groups[k.Params] = append(groups[k.Params], k.CollectionID)
	}
	out := make(map[CollectionPageKey]*GroupPage, len(keys))
	for params, ids := range groups {
		pages, err := s.groupPages(ctx, params, 0, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out[CollectionPageKey{CollectionID: id, Params: params}] = pages[id]
		}
	}
	return out, nil
}

// groupPages runs one page of a group listing: of the groups with a
// variant in collectionID (0: all groups) under key 0 when collections is
// nil, else of each of those collections.
func (s *Store) groupPages(ctx context.Context, p ProductPageParams, collectionID int64, collections []int64) (map[int64]*GroupPage, error) {
	if !p.valid() {
		return nil, ErrBadPage
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	forward, n := p.First > 0, p.First
	if !forward {
		n = p.Last
	}
	var b sqlArgs
	var ids string
	if collections != nil {
		ids = b.arg(pq.Array(collections))
	}
	from, conds, rank := b.groupSource(p, b.collection(collectionID, collections))
	o := groupOrderOf(p.Sort, p.Reverse, rank)
	scan := o
	if !forward {
		scan = o.flipped()
	}
	if p.After.ID != 0 {
		conds = append(conds, o.after(&b, p.Sort, p.After))
	}
	if p.Before.ID != 0 {
		conds = append(conds, o.flipped().after(&b, p.Sort, p.Before))
	}
	rankCol := `0::real`
	if p.Sort == SortRelevance {
		rankCol = rank
	}
	sel := `
			SELECT p.id, ` + rankCol + ` AS rank, row_number() OVER (ORDER BY ` + scan.orderBy() + `) AS ord
			FROM ` + from + where(conds) + `
			ORDER BY ` + scan.orderBy() + `
			LIMIT ` + b.arg(n+1)
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
	var rows []struct {
		CollectionID int64 `db:"collection_id"`
		ProductGroup
		Rank float32 `db:"rank"`
	}
	pages := map[int64]*GroupPage{}
	keys := collections
	if keys == nil {
		keys = []int64{0}
	}
	for _, id := range keys {
		pages[id] = &GroupPage{Edges: []GroupEdge{}}
	}
	err := s.read(ctx, p.Filter.Query != "", func(rq queryer) error {
		if err := sqlxSelect(ctx, rq, &rows, q, b.args...); err != nil {
			return err
		}
		for i := range rows {
			page := pages[rows[i].CollectionID]
			if len(page.Edges) == n {
				if forward {
					page.HasNextPage = true
				} else {
					page.HasPreviousPage = true
				}
				continue
			}
			g := rows[i].ProductGroup
			page.Edges = append(page.Edges, GroupEdge{Group: &g, Position: ProductPosition{
				ID: g.ID, Name: g.Title, PriceCents: g.MinPriceCents, CreatedAt: g.CreatedAt.UnixMicro(), Rank: rows[i].Rank,
			}})
		}
		if !forward {
			for _, page := range pages {
				for i, j := 0, len(page.Edges)-1; i < j; i, j = i+1, j-1 {
					page.Edges[i], page.Edges[j] = page.Edges[j], page.Edges[i]
				}
			}
		}
		if p.After.ID == 0 && p.Before.ID == 0 {
			return nil
		}
		return groupsBeyondCursors(ctx, rq, p, collectionID, collections, pages)
	})
	if err != nil {
		return nil, err
	}
	return pages, nil
}

// groupsBeyondCursors sets the flags that groups exist at or before After
// and at or after Before, in one query.
func groupsBeyondCursors(ctx context.Context, rq queryer, p ProductPageParams, collectionID int64, collections []int64, pages map[int64]*GroupPage) error {
	var b sqlArgs
	var ids string
	if collections != nil {
		ids = b.arg(pq.Array(collections))
	}
	from, conds, rank := b.groupSource(p, b.collection(collectionID, collections))
	o := groupOrderOf(p.Sort, p.Reverse, rank)
	exists := func(beyond string) string {
		c := append(conds[:len(conds):len(conds)], "NOT "+beyond)
		return `EXISTS (SELECT 1 FROM ` + from + where(c) + `)`
	}
	prior, following := "false", "false"
	if p.After.ID != 0 {
		prior = exists(o.after(&b, p.Sort, p.After))
	}
	if p.Before.ID != 0 {
		following = exists(o.flipped().after(&b, p.Sort, p.Before))
	}
	q := `SELECT 0::bigint AS collection_id, ` + prior + ` AS prior, ` + following + ` AS following`
	if collections != nil {
		q = `
			SELECT c.id AS collection_id, ` + prior + ` AS prior, ` + following + ` AS following
			FROM unnest(` + ids + `::bigint[]) AS c(id)`
	}
	var rows []struct {
		CollectionID int64 `db:"collection_id"`
		Prior        bool  `db:"prior"`
		Following    bool  `db:"following"`
	}
	if err := sqlxSelect(ctx, rq, &rows, q, b.args...); err != nil {
		return err
	}
	for _, r := range rows {
		if pg := pages[r.CollectionID]; pg != nil {
			pg.HasPreviousPage = pg.HasPreviousPage || r.Prior
			pg.HasNextPage = pg.HasNextPage || r.Following
		}
	}
	return nil
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
	q := `SELECT count(*) FROM product_groups p` + where(conds)
	if f.Query != "" {
		q = `SELECT count(*) FROM (SELECT 1 FROM product_groups p` + where(conds) + `
			LIMIT ` + b.arg(MaxSearchMatches) + `) x`
	}
	var n int
	err := s.read(ctx, f.Query != "", func(rq queryer) error { return sqlxGet(ctx, rq, &n, q, b.args...) })
	return n, err
}

// CollectionGroupCounts counts many collections' groups, one query per
// filter. It backs the per-request collection group count dataloader.
func (s *Store) CollectionGroupCounts(ctx context.Context, keys []CollectionCountKey) (map[CollectionCountKey]int, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	groups := map[ProductFilter][]int64{}
	for _, k := range keys {
		groups[k.Filter] = append(groups[k.Filter], k.CollectionID)
	}
	out := make(map[CollectionCountKey]int, len(keys))
	for f, ids := range groups {
		var b sqlArgs
		in := b.arg(pq.Array(ids))
		conds, _ := b.groupFilter(f, `c.id`)
		n := `(SELECT count(*) FROM product_groups p` + where(conds) + `)`
		if f.Query != "" {
			n = `(SELECT count(*) FROM (SELECT 1 FROM product_groups p` + where(conds) + ` LIMIT ` + b.arg(MaxSearchMatches) + `) x)`
		}
		var rows []struct {
			CollectionID int64 `db:"collection_id"`
			N            int   `db:"n"`
		}
		if err := sqlxSelect(ctx, s.reader(), &rows, `SELECT c.id AS collection_id, `+n+` AS n FROM unnest(`+in+`::bigint[]) AS c(id)`, b.args...); err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[CollectionCountKey{CollectionID: r.CollectionID, Filter: f}] = r.N
		}
	}
	return out, nil
}

// groupSource is source (catalog.go) for groups, aliased p.
func (b *sqlArgs) groupSource(p ProductPageParams, coll string) (from string, conds []string, rank string) {
	conds, rank = b.groupFilter(p.Filter, coll)
	from = `product_groups p`
	if p.Filter.Query == "" {
		return from, conds, rank
	}
	matches := `SELECT p.* FROM ` + from + where(conds) + `
			OFFSET 0`
	if p.Sort == SortRelevance {
		matches = `SELECT p.*, ` + rank + ` AS search_rank FROM (
				SELECT m.* FROM (` + matches + `) m
				ORDER BY m.id
				LIMIT ` + b.arg(MaxSearchMatches) + `
			) p`
		rank = `p.search_rank`
	}
	return `(` + matches + `) p`, nil, rank
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
	var match []string
	if query := b.searchTSQuery(f.Query); query != "" {
		match = append(match, `p.search_vector @@ `+query)
		rank = `ts_rank(p.search_vector, ` + query + `)`
	}
	if utf8.RuneCountInString(f.Query) >= 3 {
		match = append(match, `p.search_text ILIKE `+b.arg(`%`+escapeLike(f.Query)+`%`))
	}
	if len(match) == 0 {
		match = []string{`false`}
	}
	return append(conds, `(`+strings.Join(match, ` OR `)+`)`), rank
}
