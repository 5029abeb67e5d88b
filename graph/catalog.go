package graph

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/graph/loaders"
	"holdfast/graph/model"
	"holdfast/storage"
)

// The catalog's resolvers (Query.products and friends, Collection.products)
// translate their arguments here and leave the rest to storage.

// pageArgs are a product connection's paging arguments, as gqlgen passes
// them (schema defaults applied).
type pageArgs struct {
	first, last   *int
	after, before *string
	sortKey       *model.ProductSortKeys
	reverse       *bool
}

// Cursor kinds: the catalog's connection and a collection's products.
const (
	catalogCursor    = "product"
	collectionCursor = "cproduct"
)

// productFilter is the filter of a listing's query and inStock arguments.
func productFilter(query *string, inStock *bool) (storage.ProductFilter, error) {
	var f storage.ProductFilter
	if query != nil {
		if utf8.RuneCountInString(*query) > storage.MaxQueryLen {
			return f, badInput("query must be at most " + strconv.Itoa(storage.MaxQueryLen) + " characters")
		}
		f.Query = storage.NormalizeQuery(*query)
	}
	if inStock != nil {
		f.Stock = storage.OutOfStockOnly
		if *inStock {
			f.Stock = storage.InStockOnly
		}
	}
	return f, nil
}

// catalogProducts answers Query.products.
func (r *Resolver) catalogProducts(ctx context.Context, a pageArgs, query *string, inStock *bool) (*model.ProductConnection, error) {
	f, err := productFilter(query, inStock)
	if err != nil {
		return nil, err
	}
	// Query.products' first and sortKey have defaults.
	p, err := productPageParams(func(name string) bool { return argGiven(ctx, name) }, catalogCursor, a, f)
	if err != nil {
		return nil, err
	}
	skipUnreadFlags(ctx, &p)
	page, err := r.Store.ListProducts(ctx, p)
	if err != nil {
		return nil, err
	}
	r.primeProductFields(ctx, page)
	count := func(ctx context.Context) (int, error) { return r.Store.CountProducts(ctx, f) }
	return productConnection(catalogCursor, p, page, count), nil
}

// collectionProducts answers Collection.products through the request's
// loaders, so a list of collections costs one query for all their pages.
func (r *Resolver) collectionProducts(ctx context.Context, c *storage.Collection, a pageArgs) (*model.ProductConnection, error) {
	p, err := productPageParams(always, collectionCursor, a, storage.ProductFilter{})
	if err != nil {
		return nil, err
	}
	cat := loaders.For(ctx, r.Store).Catalog
	page, err := cat.Page(ctx, storage.CollectionPageKey{CollectionID: c.ID, Params: p})
	if err != nil {
		return nil, err
	}
	r.primeProductFields(ctx, page)
	count := func(ctx context.Context) (int, error) {
		return cat.Count(ctx, storage.CollectionCountKey{CollectionID: c.ID})
	}
	return productConnection(collectionCursor, p, page, count), nil
}

// primeProductFields queues the images and collections of a page's
// products in one batch each when the query selects them, so the
// products' resolvers (run concurrently) find them loaded.
func (r *Resolver) primeProductFields(ctx context.Context, page *storage.ProductPage) {
	if len(page.Edges) == 0 {
		return
	}
	ids := make([]int64, len(page.Edges))
	for i, e := range page.Edges {
		ids[i] = e.Product.ID
	}
	cat := loaders.For(ctx, r.Store).Catalog
	if selects(ctx, "edges", "node", "images") {
		cat.ProductImages.LoadAllThunk(ctx, ids)
	}
	if selects(ctx, "edges", "node", "collections") {
		cat.ProductCollections.LoadAllThunk(ctx, ids)
	}
	if selects(ctx, "edges", "node", "group") || selects(ctx, "edges", "node", "selectedOptions") {
		r.primeProductGroups(ctx, page)
	}
}

// productPageParams checks a product connection's arguments and turns them
// into storage's. given says whether the request gave an argument (rather
// than leaving it to the schema's default): only a first given conflicts
// with last, and without a sortKey given a query orders by relevance.
func productPageParams(given func(string) bool, kind string, a pageArgs, f storage.ProductFilter) (storage.ProductPageParams, error) {
	p := storage.ProductPageParams{Filter: f, Sort: storage.SortID, Reverse: a.reverse != nil && *a.reverse}
	firstGiven := a.first != nil && given("first")
	switch {
	case firstGiven && a.last != nil:
		return p, badInput("first and last cannot be used together")
	case a.last != nil:
		if *a.last < 1 || *a.last > maxPageSize {
			return p, badInput("last must be between 1 and 100")
		}
		p.Last = *a.last
	default:
		n, err := pageSize(a.first)
		if err != nil {
			return p, err
		}
		p.First = n
	}
	switch {
	case a.sortKey != nil && given("sortKey"):
		p.Sort = storage.ProductSort(*a.sortKey)
	case f.Query != "":
		p.Sort = storage.SortRelevance
	}
	var err error
	if p.After, err = decodeProductCursor("after", kind, p, a.after); err != nil {
		return p, err
	}
	p.Before, err = decodeProductCursor("before", kind, p, a.before)
	return p, err
}

// always: Collection.products has no defaults that matter (first has
// none; sortKey's is ID, which is also what no query means).
func always(string) bool { return true }

// argGiven reports whether the request gave the field being resolved the
// argument name (a literal, or a variable it supplied) rather than leaving
// it to the schema's default.
func argGiven(ctx context.Context, name string) bool {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || fc.Field.Field == nil {
		return true
	}
	arg := fc.Field.Arguments.ForName(name)
	if arg == nil {
		return false
	}
	if arg.Value != nil && arg.Value.Kind == ast.Variable && graphql.HasOperationContext(ctx) {
		_, ok := graphql.GetOperationContext(ctx).Variables[arg.Value.Raw]
		return ok
	}
	return true
}

// skipUnreadFlags spares a page its second query (the rows beyond its
// cursors) when the connection's selection reads neither flag it sets.
// Pages read through the collections' loaders keep both: their keys are
// the parameters the loaders were primed with.
func skipUnreadFlags(ctx context.Context, p *storage.ProductPageParams) {
	if !graphql.HasOperationContext(ctx) || graphql.GetFieldContext(ctx) == nil {
		return
	}
	p.SkipPrior = !selects(ctx, "pageInfo", "hasPreviousPage")
	p.SkipFollowing = !selects(ctx, "pageInfo", "hasNextPage")
}

// selects reports whether the selection of the field being resolved
// reaches path, through fragments.
func selects(ctx context.Context, path ...string) bool {
	return len(fieldsAt(ctx, path...)) > 0
}

// fieldsAt collects the fields at path (the last name included) below the
// field being resolved, through fragments.
func fieldsAt(ctx context.Context, path ...string) []graphql.CollectedField {
	if !graphql.HasOperationContext(ctx) || graphql.GetFieldContext(ctx) == nil {
		return nil
	}
	return fieldsBelow(graphql.GetOperationContext(ctx), graphql.GetFieldContext(ctx).Field.Selections, path...)
}

func fieldsBelow(oc *graphql.OperationContext, set ast.SelectionSet, path ...string) []graphql.CollectedField {
	var found []graphql.CollectedField
	for i, name := range path {
		found = found[:0]
		var next ast.SelectionSet
		for _, f := range graphql.CollectFields(oc, set, nil) {
			if f.Name == name {
				found = append(found, f)
				next = append(next, f.Selections...)
			}
		}
		if len(found) == 0 || i == len(path)-1 {
			break
		}
		set = next
	}
	return found
}

// primeCollectionProducts loads, for a list of collections, the pages of
// products the query asks of each (one batch per products field), then
// queues those products' images and collections and the pages' counts
// when selected. The collections' resolvers, which run concurrently and
// would each open a batch in their own time, then find it all loaded: the
// list costs the same number of queries however long it is.
func (r *Resolver) primeCollectionProducts(ctx context.Context, cs []*storage.Collection) {
	if len(cs) == 0 {
		return
	}
	cat := loaders.For(ctx, r.Store).Catalog
	primeCollectionPages(ctx, cs, "products", collectionCursor, cat.CollectionCount.LoadAllThunk,
		func(keys []storage.CollectionPageKey, selected func(path ...string) bool) {
			pages, err := cat.CollectionProducts.LoadAll(ctx, keys)
			if err != nil {
				return
			}
			var ids []int64
			for _, pg := range pages {
				for _, e := range pg.Edges {
					ids = append(ids, e.Product.ID)
				}
			}
			if selected("edges", "node", "images") {
				cat.ProductImages.LoadAllThunk(ctx, ids)
			}
			if selected("edges", "node", "collections") {
				cat.ProductCollections.LoadAllThunk(ctx, ids)
			}
		})
}

// primeCollectionPages calls load, for every field of a list of
// collections' nodes that asks for a page of their products or groups
// (field, with cursors of kind cursor), with the keys of those pages and
// a test of what the field selects, after queueing the pages' counts with
// count when selected. A field with invalid arguments is left to the
// resolvers, which report it.
func primeCollectionPages[V any](ctx context.Context, cs []*storage.Collection, field, cursor string,
	count func(context.Context, []storage.CollectionCountKey) func() ([]V, error),
	load func(keys []storage.CollectionPageKey, selected func(path ...string) bool),
) {
	oc := graphql.GetOperationContext(ctx)
	for _, f := range fieldsAt(ctx, "edges", "node", field) {
		a, ok := pageArgsOf(f.ArgumentMap(oc.Variables))
		if !ok {
			continue
		}
		p, err := productPageParams(always, cursor, a, storage.ProductFilter{})
		if err != nil {
			continue // the resolvers report it
		}
		keys := make([]storage.CollectionPageKey, len(cs))
		counts := make([]storage.CollectionCountKey, len(cs))
		for i, c := range cs {
			keys[i] = storage.CollectionPageKey{CollectionID: c.ID, Params: p}
			counts[i] = storage.CollectionCountKey{CollectionID: c.ID}
		}
		selected := func(path ...string) bool { return len(fieldsBelow(oc, f.Selections, path...)) > 0 }
		if selected("totalCount") {
			count(ctx, counts)
		}
		load(keys, selected)
	}
}

// pageArgsOf reads a Collection.products field's arguments, as
// CollectedField.ArgumentMap gives them.
func pageArgsOf(m map[string]any) (a pageArgs, ok bool) {
	ok = true
	intArg := func(name string) *int {
		v := m[name]
		if v == nil {
			return nil
		}
		n, err := model.UnmarshalInt32(v)
		ok = ok && err == nil
		return &n
	}
	strArg := func(name string) *string {
		v := m[name]
		if v == nil {
			return nil
		}
		s, err := graphql.UnmarshalString(v)
		ok = ok && err == nil
		return &s
	}
	a.first, a.last = intArg("first"), intArg("last")
	a.after, a.before = strArg("after"), strArg("before")
	if v := m["sortKey"]; v != nil {
		var k model.ProductSortKeys
		ok = ok && k.UnmarshalGQL(v) == nil
		a.sortKey = &k
	}
	if v := m["reverse"]; v != nil {
		b, err := graphql.UnmarshalBoolean(v)
		ok = ok && err == nil
		a.reverse = &b
	}
	return a, ok
}

// productConnection renders a page.
func productConnection(kind string, p storage.ProductPageParams, page *storage.ProductPage, count func(context.Context) (int, error)) *model.ProductConnection {
	conn := &model.ProductConnection{
		Edges:    make([]*model.ProductEdge, 0, len(page.Edges)),
		PageInfo: &model.PageInfo{HasNextPage: page.HasNextPage, HasPreviousPage: page.HasPreviousPage},
		Count:    count,
	}
	tag := filterTag(p.Filter)
	for _, e := range page.Edges {
		conn.Edges = append(conn.Edges, &model.ProductEdge{Cursor: productCursor(kind, p.Sort, tag, e.Position), Node: e.Product})
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[n-1].Cursor
	}
	return conn
}

// Product cursors are base64url, like every cursor (see encodeCursor), of
//
//	product:<id>                                 the catalog in id order, unfiltered: today's cursors
//	<kind>:<sort>:<filter>:<id>:<sort key value> any other listing
//
// where <filter> is a hash of the query and inStock ("" for none), so that a
// cursor of another connection, sort or filter is refused rather than
// misread. reverse is not part of it: a position is the same either way.
var sortCodes = map[storage.ProductSort]string{
	storage.SortID: "i", storage.SortName: "n", storage.SortPrice: "p", storage.SortCreatedAt: "c", storage.SortRelevance: "r",
}

// maxCursorLen admits a cursor holding a name of MaxNameLen 4-byte characters.
const maxCursorLen = 1200

func filterTag(f storage.ProductFilter) string {
	if f == (storage.ProductFilter{}) {
		return ""
	}
	h := sha256.Sum256([]byte(strconv.Itoa(int(f.Stock)) + "\x00" + f.Query))
	return base64.RawURLEncoding.EncodeToString(h[:6])
}

func legacyCursor(kind string, sort storage.ProductSort, tag string) bool {
	return kind == catalogCursor && sort == storage.SortID && tag == ""
}

func productCursor(kind string, sort storage.ProductSort, tag string, pos storage.ProductPosition) string {
	id := strconv.FormatInt(pos.ID, 10)
	if legacyCursor(kind, sort, tag) {
		return encodeCursor(kind, id)
	}
	var v string
	switch sort {
	case storage.SortName:
		v = pos.Name
	case storage.SortPrice:
		v = strconv.FormatInt(pos.PriceCents, 10)
	case storage.SortCreatedAt:
		v = strconv.FormatInt(pos.CreatedAt, 10)
	case storage.SortRelevance:
		v = strconv.FormatFloat(float64(pos.Rank), 'g', -1, 32)
	}
	return encodeCursor(kind, sortCodes[sort]+":"+tag+":"+id+":"+v)
}

// decodeProductCursor reads the cursor given as argument arg of a
// connection of kind with params p; the zero position when there is none.
func decodeProductCursor(arg, kind string, p storage.ProductPageParams, c *string) (storage.ProductPosition, error) {
	var pos storage.ProductPosition
	if c == nil || *c == "" {
		return pos, nil
	}
	bad := badInput(arg + " is not a cursor returned by this connection with this sortKey, query and inStock")
	b, err := base64.RawURLEncoding.DecodeString(*c)
	rest, ok := strings.CutPrefix(string(b), kind+":")
	if err != nil || len(*c) > maxCursorLen || !ok {
		return pos, bad
	}
	tag := filterTag(p.Filter)
	if legacyCursor(kind, p.Sort, tag) {
		if pos.ID, ok = canonicalInt(rest); !ok || pos.ID == 0 {
			return pos, bad
		}
		return pos, nil
	}
	parts := strings.SplitN(rest, ":", 4)
	if len(parts) != 4 || parts[0] != sortCodes[p.Sort] || parts[1] != tag {
		return pos, bad
	}
	if pos.ID, ok = canonicalInt(parts[2]); !ok || pos.ID == 0 {
		return pos, bad
	}
	v := parts[3]
	switch p.Sort {
	case storage.SortID:
		ok = v == ""
	case storage.SortName:
		pos.Name = v
		ok = v != "" && utf8.ValidString(v) && !strings.ContainsRune(v, 0) && utf8.RuneCountInString(v) <= storage.MaxNameLen
	case storage.SortPrice:
		pos.PriceCents, ok = canonicalInt(v)
	case storage.SortCreatedAt:
		pos.CreatedAt, ok = canonicalInt(v)
		ok = ok && storage.ValidMicros(pos.CreatedAt)
	case storage.SortRelevance:
		f, err := strconv.ParseFloat(v, 32)
		pos.Rank = float32(f)
		ok = err == nil && f >= 0 && f <= 1e30 && strconv.FormatFloat(f, 'g', -1, 32) == v
	}
	if !ok {
		return storage.ProductPosition{}, bad
	}
	return pos, nil
}

// canonicalInt parses a non-negative decimal int64 written as
// strconv.FormatInt writes it.
func canonicalInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0 && strconv.FormatInt(n, 10) == s
}

// collectionConnection answers Query.collections.
func (r *Resolver) collectionConnection(ctx context.Context, first *int, after *string) (*model.CollectionConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	afterID, err := decodeSeqCursor("collection", after)
	if err != nil {
		return nil, err
	}
	cs, more, prior, err := r.Store.ListCollections(ctx, n, afterID)
	if err != nil {
		return nil, err
	}
	r.primeCollectionProducts(ctx, cs)
	r.primeCollectionGroups(ctx, cs)
	conn := &model.CollectionConnection{
		Edges:    make([]*model.CollectionEdge, 0, len(cs)),
		PageInfo: &model.PageInfo{HasNextPage: more, HasPreviousPage: prior},
	}
	for _, c := range cs {
		conn.Edges = append(conn.Edges, &model.CollectionEdge{Cursor: encodeCursor("collection", formatID(c.ID)), Node: c})
	}
	if n := len(conn.Edges); n > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
		conn.PageInfo.EndCursor = &conn.Edges[n-1].Cursor
	}
	return conn, nil
}

// Collection ids are written like product ids: positive decimals. A
// malformed one is 0, which matches no collection.
func parseCollectionID(s string) int64 {
	id, _ := storage.ParseProductID(s)
	return id
}

func formatID(id int64) string { return strconv.FormatInt(id, 10) }

// parseProductIDs maps malformed ids to 0, which matches no product.
func parseProductIDs(ids []string) []int64 {
	out := make([]int64, len(ids))
	for i, s := range ids {
		out[i] = parseProductID(s)
	}
	return out
}

func newImages(in []*model.ImageInput) []storage.NewImage {
	if in == nil {
		return nil
	}
	out := make([]storage.NewImage, len(in))
	for i, img := range in {
		out[i] = storage.NewImage{URL: img.URL, AltText: img.AltText}
	}
	return out
}

// collectionPayload answers a collection mutation.
func (r *Resolver) collectionPayload(ctx context.Context, c *storage.Collection, opErr error) (*model.CollectionPayload, error) {
	ue, err := userErrors(ctx, opErr)
	if err != nil {
		return nil, err
	}
	loaders.For(ctx, r.Store).Reset()
	return &model.CollectionPayload{Collection: c, UserErrors: ue}, nil
}
