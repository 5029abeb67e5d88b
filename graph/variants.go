package graph

import (
	"context"

	"holdfast/graph/loaders"
	"holdfast/graph/model"
	"holdfast/storage"
)

// Product groups (issue 22): their listings, lookups and mutations
// translate their arguments here and leave the rest to storage.

// Cursor kinds of the group listings.
const (
	groupCursor           = "group"
	collectionGroupCursor = "cgroup"
)

// productGroups answers Query.productGroups and Collection.productGroups
// (with the collection's id and always as given).
func (r *Resolver) productGroups(ctx context.Context, kind string, given func(string) bool, a pageArgs, query *string, inStock *bool, collectionID int64) (*model.ProductGroupConnection, error) {
	f, err := productFilter(query, inStock)
	if err != nil {
		return nil, err
	}
	pp, err := productPageParams(given, kind, a, f)
	if err != nil {
		return nil, err
	}
	if collectionID < 0 {
		// A malformed collectionId: no collection, so no groups.
		return &model.ProductGroupConnection{
			Edges: []*model.ProductGroupEdge{}, PageInfo: &model.PageInfo{},
			Count: func(context.Context) (int, error) { return 0, nil },
		}, nil
	}
	var page *storage.GroupPage
	count := func(ctx context.Context) (int, error) { return r.Store.CountProductGroups(ctx, f, collectionID) }
	if kind == collectionGroupCursor {
		// Through the request's loaders: a list of collections costs one
		// query for all their pages.
		groups := loaders.For(ctx, r.Store).Groups
		page, err = groups.Page(ctx, storage.CollectionPageKey{CollectionID: collectionID, Params: pp})
		count = func(ctx context.Context) (int, error) {
			return groups.Count(ctx, storage.CollectionCountKey{CollectionID: collectionID, Filter: f})
		}
	} else {
		skipUnreadFlags(ctx, &pp)
		page, err = r.Store.ListProductGroups(ctx, storage.GroupPageParams{ProductPageParams: pp, CollectionID: collectionID})
	}
	if err != nil {
		return nil, err
	}
	conn := &model.ProductGroupConnection{
		Edges:    make([]*model.ProductGroupEdge, 0, len(page.Edges)),
		PageInfo: &model.PageInfo{HasNextPage: page.HasNextPage, HasPreviousPage: page.HasPreviousPage},
		Count:    count,
	}
	tag := filterTag(f)
	groups := make([]*storage.ProductGroup, 0, len(page.Edges))
	for _, e := range page.Edges {
		conn.Edges = append(conn.Edges, &model.ProductGroupEdge{Cursor: productCursor(kind, pp.Sort, tag, e.Position), Node: e.Group})
		groups = append(groups, e.Group)
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[n-1].Cursor
	}
	r.primeGroupFields(ctx, groups, "edges", "node")
	return conn, nil
}

// primeGroupFields queues, in one batch each, what the query selects of
// groups (at path below the field being resolved): their images,
// collections and variants, and the variants' images and collections. The
// groups' resolvers, which run concurrently, then find it all loaded, so a
// page costs the same number of queries however many groups and variants
// it shows.
func (r *Resolver) primeGroupFields(ctx context.Context, gs []*storage.ProductGroup, path ...string) {
	if len(gs) == 0 {
		return
	}
	l := loaders.For(ctx, r.Store)
	l.Groups.Prime(gs...)
	ids := make([]int64, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	at := func(rest ...string) bool { return selects(ctx, append(path[:len(path):len(path)], rest...)...) }
	if at("images") {
		l.Groups.Images.LoadAllThunk(ctx, ids)
	}
	if at("collections") {
		l.Groups.Collections.LoadAllThunk(ctx, ids)
	}
	if !at("variants") {
		return
	}
	images, collections := at("variants", "images"), at("variants", "collections")
	if !images && !collections {
		l.Groups.Variants.LoadAllThunk(ctx, ids)
		return
	}
	lists, err := l.Groups.Variants.LoadAll(ctx, ids)
	if err != nil {
		return // the resolvers report it
	}
	var vids []int64
	for _, vs := range lists {
		for _, v := range vs {
			vids = append(vids, v.ID)
		}
	}
	if images {
		l.Catalog.ProductImages.LoadAllThunk(ctx, vids)
	}
	if collections {
		l.Catalog.ProductCollections.LoadAllThunk(ctx, vids)
	}
}

// productGroup answers a lookup of one group, priming what the query
// selects of it.
func (r *Resolver) productGroup(ctx context.Context, g *storage.ProductGroup, err error) (*storage.ProductGroup, error) {
	if err != nil || g == nil {
		return nil, err
	}
	r.primeGroupFields(ctx, []*storage.ProductGroup{g})
	return g, nil
}

// groupPayload answers a group mutation.
func (r *Resolver) groupPayload(ctx context.Context, g *storage.ProductGroup, opErr error) (*model.ProductGroupPayload, error) {
	ue, err := userErrors(ctx, opErr)
	if err != nil {
		return nil, err
	}
	loaders.For(ctx, r.Store).Reset()
	return &model.ProductGroupPayload{ProductGroup: g, UserErrors: ue}, nil
}

func productOptions(in []*model.ProductOptionInput) storage.ProductOptions {
	if in == nil {
		return nil
	}
	out := make(storage.ProductOptions, len(in))
	for i, o := range in {
		out[i] = storage.ProductOption{Name: o.Name, Values: o.Values}
	}
	return out
}

// selection converts a variant's selectedOptions (nil stays nil).
func selection(in []*model.SelectedOptionInput) (storage.OptionSelection, error) {
	if in == nil {
		return nil, nil
	}
	pairs := make([][2]string, len(in))
	for i, o := range in {
		pairs[i] = [2]string{o.Name, o.Value}
	}
	return storage.NewSelection(pairs)
}

// groupID parses a group id given as input; a malformed one is 0, which
// no group has (PRODUCT_GROUP_NOT_FOUND).
func groupID(s *string) *int64 {
	if s == nil {
		return nil
	}
	id := parseCollectionID(*s)
	return &id
}

// primeCollectionGroups loads, for a list of collections, the pages of
// groups the query asks of each (one batch per productGroups field) and
// what it selects of those groups, as primeCollectionProducts does for
// products.
func (r *Resolver) primeCollectionGroups(ctx context.Context, cs []*storage.Collection) {
	if len(cs) == 0 {
		return
	}
	l := loaders.For(ctx, r.Store)
	primeCollectionPages(ctx, cs, "productGroups", collectionGroupCursor, l.Groups.CollectionCount.LoadAllThunk,
		func(keys []storage.CollectionPageKey, selected func(path ...string) bool) {
			pages, err := l.Groups.CollectionGroups.LoadAll(ctx, keys)
			if err != nil {
				return
			}
			var gs []*storage.ProductGroup
			for _, pg := range pages {
				for _, e := range pg.Edges {
					gs = append(gs, e.Group)
				}
			}
			if len(gs) == 0 {
				return
			}
			l.Groups.Prime(gs...)
			ids := make([]int64, len(gs))
			for i, g := range gs {
				ids[i] = g.ID
			}
			if selected("edges", "node", "images") {
				l.Groups.Images.LoadAllThunk(ctx, ids)
			}
			if selected("edges", "node", "variants") {
				l.Groups.Variants.LoadAllThunk(ctx, ids)
			}
		})
}

// primeProductGroups queues, in one batch, the groups of a page's
// products, which Product.group and Product.selectedOptions read.
func (r *Resolver) primeProductGroups(ctx context.Context, page *storage.ProductPage) {
	var ids []int64
	seen := map[int64]bool{}
	for _, e := range page.Edges {
		if g := e.Product.GroupID; g != nil && !seen[*g] {
			seen[*g] = true
			ids = append(ids, *g)
		}
	}
	if len(ids) > 0 {
		loaders.For(ctx, r.Store).Groups.Group.LoadAllThunk(ctx, ids)
	}
}
