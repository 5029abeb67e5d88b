package graph_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// catalogProduct creates a product with the given name, price (cents) and
// stock.
func catalogProduct(t *testing.T, s *storage.Store, sku, name string, cents, stock int, desc string) *storage.Product {
	t.Helper()
	in := storage.NewProduct{SKU: sku, Name: name, PriceAmount: fmt.Sprintf("%d.%02d", cents/100, cents%100), Currency: "USD", Stock: stock}
	if desc != "" {
		in.Description = &desc
	}
	p, err := s.CreateProduct(context.Background(), in)
	require.NoError(t, err)
	return p
}

type productNode struct {
	ID   string `json:"id"`
	SKU  string `json:"sku"`
	Name string `json:"name"`
}

type productConn struct {
	TotalCount int `json:"totalCount"`
	Edges      []struct {
		Cursor string      `json:"cursor"`
		Node   productNode `json:"node"`
	} `json:"edges"`
	PageInfo struct {
		HasNextPage     bool    `json:"hasNextPage"`
		HasPreviousPage bool    `json:"hasPreviousPage"`
		StartCursor     *string `json:"startCursor"`
		EndCursor       *string `json:"endCursor"`
	} `json:"pageInfo"`
}

func (c productConn) skus() []string {
	out := []string{}
	for _, e := range c.Edges {
		out = append(out, e.Node.SKU)
	}
	return out
}

// productsQuery passes only the variables given: an absent one leaves the
// argument to its default, as if the document did not name it.
const productsQuery = `query($first: Int, $after: String, $last: Int, $before: String, $query: String,
	$inStock: Boolean, $sortKey: ProductSortKeys, $reverse: Boolean) {
	products(first: $first, after: $after, last: $last, before: $before, query: $query, inStock: $inStock,
		sortKey: $sortKey, reverse: $reverse) {
		totalCount
		edges { cursor node { id sku name } }
		pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
	}
}`

func (e *env) products(t *testing.T, vars map[string]any) productConn {
	t.Helper()
	var out struct {
		Products productConn `json:"products"`
	}
	decode(t, e.gql(t, "", productsQuery, vars), &out)
	return out.Products
}

// walk pages through the whole connection, forwards (first/after) or
// backwards (last/before), size at a time, checking on every page that
// the flags say whether pages lie beyond; between pages it calls between.
// It returns the skus in the connection's order.
func (e *env) walk(t *testing.T, vars map[string]any, size int, backward bool, between func()) []string {
	t.Helper()
	var skus []string
	cursor := ""
	for page := 0; ; page++ {
		require.Less(t, page, 500, "the walk does not end")
		v := maps.Clone(vars)
		if v == nil {
			v = map[string]any{}
		}
		if backward {
			v["last"] = size
			if cursor != "" {
				v["before"] = cursor
			}
		} else {
			v["first"] = size
			if cursor != "" {
				v["after"] = cursor
			}
		}
		c := e.products(t, v)
		require.LessOrEqual(t, len(c.Edges), size)
		if len(c.Edges) > 0 {
			require.NotNil(t, c.PageInfo.StartCursor)
			assert.Equal(t, c.Edges[0].Cursor, *c.PageInfo.StartCursor)
			assert.Equal(t, c.Edges[len(c.Edges)-1].Cursor, *c.PageInfo.EndCursor)
		}
		if backward {
			assert.Equal(t, page > 0, c.PageInfo.HasNextPage, "hasNextPage of page %d from the end", page)
			skus = append(c.skus(), skus...)
			if !c.PageInfo.HasPreviousPage {
				return skus
			}
			cursor = *c.PageInfo.StartCursor
		} else {
			assert.Equal(t, page > 0, c.PageInfo.HasPreviousPage, "hasPreviousPage of page %d", page)
			skus = append(skus, c.skus()...)
			if !c.PageInfo.HasNextPage {
				return skus
			}
			cursor = *c.PageInfo.EndCursor
		}
		if between != nil {
			between()
		}
	}
}

// sortedSKUs orders products as the API should: by key, then id, both
// flipped by reverse.
func sortedSKUs(ps []*storage.Product, key func(p *storage.Product) string, reverse bool) []string {
	ps = slices.Clone(ps)
	sort.Slice(ps, func(i, j int) bool {
		ki, kj := key(ps[i]), key(ps[j])
		less := ki < kj || ki == kj && ps[i].ID < ps[j].ID
		if reverse {
			return !less && ps[i].ID != ps[j].ID
		}
		return less
	})
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.SKU
	}
	return out
}

// Every sortKey, both ways round, walked forwards and backwards in pages of
// 2 and 3, gives the whole catalog once in the expected order.
func TestProductSortKeysAndPagination(t *testing.T) {
	t.Parallel()
	e := setup(t)
	// Names of lower-case letters sort alike in every collation; names and
	// prices repeat, so ties fall to the id.
	var ps []*storage.Product
	for i, name := range []string{"kiwi", "apple", "mango", "apple", "banana", "cherry", "kiwi"} {
		ps = append(ps, catalogProduct(t, e.store, fmt.Sprintf("S%d", i), name, []int{500, 120, 999, 120, 4000, 75, 500}[i], 1, ""))
		time.Sleep(2 * time.Millisecond) // distinct created_at, in id order
	}
	keys := map[string]func(p *storage.Product) string{
		"ID":    func(p *storage.Product) string { return fmt.Sprintf("%020d", p.ID) },
		"NAME":  func(p *storage.Product) string { return p.Name },
		"PRICE": func(p *storage.Product) string { return fmt.Sprintf("%020d", p.PriceCents) },
		// Fixed width: RFC3339Nano drops trailing zeros, so its strings
		// do not sort as their times do (".12Z" after ".1203Z").
		"CREATED_AT": func(p *storage.Product) string { return p.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z") },
	}
	for sortKey, key := range keys {
		for _, reverse := range []bool{false, true} {
			want := sortedSKUs(ps, key, reverse)
			vars := map[string]any{"sortKey": sortKey, "reverse": reverse}
			t.Run(fmt.Sprintf("%s reverse=%v", sortKey, reverse), func(t *testing.T) {
				for _, size := range []int{2, 3} {
					assert.Equal(t, want, e.walk(t, vars, size, false, nil), "forwards by %d", size)
					assert.Equal(t, want, e.walk(t, vars, size, true, nil), "backwards by %d", size)
				}
				all := e.products(t, vars)
				assert.Equal(t, want, all.skus(), "the default page holds them all")
				assert.Equal(t, len(ps), all.TotalCount)
				assert.False(t, all.PageInfo.HasNextPage)
				assert.False(t, all.PageInfo.HasPreviousPage)
			})
		}
	}

	t.Run("after and before together bound the range", func(t *testing.T) {
		c := e.products(t, map[string]any{"sortKey": "NAME"})
		require.Len(t, c.Edges, 7)
		mid := e.products(t, map[string]any{"sortKey": "NAME", "after": c.Edges[1].Cursor, "before": c.Edges[5].Cursor})
		assert.Equal(t, c.skus()[2:5], mid.skus())
		assert.True(t, mid.PageInfo.HasPreviousPage, "products exist before after")
		assert.True(t, mid.PageInfo.HasNextPage, "products exist after before")
		last := e.products(t, map[string]any{"sortKey": "NAME", "last": 2, "before": c.Edges[5].Cursor, "after": c.Edges[1].Cursor})
		assert.Equal(t, c.skus()[3:5], last.skus())
		assert.True(t, last.PageInfo.HasPreviousPage)
		assert.True(t, last.PageInfo.HasNextPage)
	})

	t.Run("the first page's flags", func(t *testing.T) {
		c := e.products(t, map[string]any{"first": 7})
		assert.False(t, c.PageInfo.HasNextPage)
		c = e.products(t, map[string]any{"last": 7})
		assert.False(t, c.PageInfo.HasPreviousPage)
		c = e.products(t, map[string]any{"last": 6})
		assert.True(t, c.PageInfo.HasPreviousPage)
		assert.False(t, c.PageInfo.HasNextPage)
	})
}

// Old clients' products(first, after) answers exactly as before: id order,
// cursors "product:<id>", and the cursors they kept still work.
func TestProductsFirstAfterUnchanged(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 3 {
		plainProduct(t, e, fmt.Sprintf("OLD-%d", i))
	}
	var out struct {
		Products productConn `json:"products"`
	}
	decode(t, e.gql(t, "", `{ products(first: 2) { edges { cursor node { sku } } pageInfo { hasNextPage endCursor } } }`, nil), &out)
	assert.Equal(t, []string{"OLD-0", "OLD-1"}, out.Products.skus())
	cursor := base64.RawURLEncoding.EncodeToString([]byte("product:2"))
	assert.Equal(t, cursor, *out.Products.PageInfo.EndCursor)
	decode(t, e.gql(t, "", `query($a: String) { products(after: $a) { edges { node { sku } } pageInfo { hasNextPage } } }`,
		map[string]any{"a": cursor}), &out)
	assert.Equal(t, []string{"OLD-2"}, out.Products.skus())
	assert.False(t, out.Products.PageInfo.HasNextPage)
}

func plainProduct(t *testing.T, e *env, sku string) *storage.Product {
	t.Helper()
	return catalogProduct(t, e.store, sku, "Product "+sku, 1000, 5, "")
}

// Walking the catalog while products are inserted — between pages, before
// and after the cursor, and concurrently — shows every product that
// existed at the start exactly once, in order, and nothing twice.
func TestPaginationStableUnderInserts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		vars     map[string]any
		key      func(*storage.Product) string
		reverse  bool
		backward bool
	}{
		{"NAME forwards", map[string]any{"sortKey": "NAME"}, func(p *storage.Product) string { return p.Name }, false, false},
		{"NAME backwards", map[string]any{"sortKey": "NAME"}, func(p *storage.Product) string { return p.Name }, false, true},
		{"NAME reversed, backwards", map[string]any{"sortKey": "NAME", "reverse": true}, func(p *storage.Product) string { return p.Name }, true, true},
		{"PRICE forwards", map[string]any{"sortKey": "PRICE"}, func(p *storage.Product) string { return fmt.Sprintf("%09d", p.PriceCents) }, false, false},
		{"ID forwards", nil, func(p *storage.Product) string { return fmt.Sprintf("%020d", p.ID) }, false, false},
		{"ID backwards", nil, func(p *storage.Product) string { return fmt.Sprintf("%020d", p.ID) }, false, true},
		{"CREATED_AT reversed", map[string]any{"sortKey": "CREATED_AT", "reverse": true}, func(p *storage.Product) string { return fmt.Sprintf("%020d", p.CreatedAt.UnixMicro()) }, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := setup(t)
			var initial []*storage.Product
			for i := 0; i < 40; i += 2 {
				initial = append(initial, catalogProduct(t, e.store, fmt.Sprintf("I%02d", i), fmt.Sprintf("n%02d", i), 100+i, 1, ""))
			}
			var seq atomic.Int64
			insert := func(name string) {
				n := seq.Add(1)
				catalogProduct(t, e.store, fmt.Sprintf("NEW-%d", n), name, 100+int(n%40), 1, "")
			}
			want := sortedSKUs(initial, tc.key, tc.reverse)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() { // a concurrent writer, bounded so that the walk ends
				for i := range 30 {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
						insert(fmt.Sprintf("n%02d", (i*7)%41))
					}
				}
			})
			page := 0
			// Pages of 5, 3 inserts between pages: the walk gains on the
			// products inserted ahead of it (in id order all of them are).
			got := e.walk(t, tc.vars, 5, tc.backward, func() {
				// Land new products on both sides of the cursor, and on it:
				// an existing name again (a tie broken by the newer id).
				page++
				insert(fmt.Sprintf("n%02d", (page*5)%40+1))
				insert(fmt.Sprintf("n%02d", 40-(page*3)%40))
				insert(fmt.Sprintf("n%02d", (page*2)%40))
			})
			close(stop)
			wg.Wait()
			seen := map[string]int{}
			var existing []string
			for _, sku := range got {
				seen[sku]++
				if sku[0] == 'I' {
					existing = append(existing, sku)
				}
			}
			for sku, n := range seen {
				assert.Equal(t, 1, n, "%s seen %d times", sku, n)
			}
			assert.Equal(t, want, existing, "every product of the start, once, in order")
		})
	}
}

// query searches sku, name and description (words, word prefixes and from
// three characters substrings); without a sortKey it orders by relevance,
// an explicit one wins; totalCount counts the matches.
func TestProductSearch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	catalogProduct(t, e.store, "TRAIL-1", "Trail sneaker", 9000, 5, "Light and quick")
	catalogProduct(t, e.store, "BAG-1", "Canvas bag", 3000, 5, "Fits a pair of sneakers")
	catalogProduct(t, e.store, "SNEAKER-BOX", "Shoe box", 500, 5, "")
	catalogProduct(t, e.store, "POSTER-9", "Sneakerhead poster", 1500, 0, "")
	catalogProduct(t, e.store, "MUG-1", "Coffee mug", 1200, 5, "Enamel")

	search := func(vars map[string]any) productConn { return e.products(t, vars) }
	t.Run("relevance: name and sku above description", func(t *testing.T) {
		c := search(map[string]any{"query": "sneaker"})
		assert.Equal(t, 4, c.TotalCount)
		require.Len(t, c.Edges, 4)
		assert.ElementsMatch(t, []string{"TRAIL-1", "SNEAKER-BOX", "POSTER-9"}, c.skus()[:3])
		assert.Equal(t, "BAG-1", c.skus()[3], "a match in the description ranks below one in name or sku")
		assert.Equal(t, c.skus(), e.walk(t, map[string]any{"query": "sneaker"}, 1, false, nil), "relevance pages forwards")
		assert.Equal(t, c.skus(), e.walk(t, map[string]any{"query": "sneaker"}, 1, true, nil), "and backwards")
		rev := search(map[string]any{"query": "sneaker", "reverse": true})
		assert.Equal(t, c.skus(), reversed(rev.skus()))
	})
	t.Run("prefixes, several words, the sku, the description", func(t *testing.T) {
		assert.Equal(t, 4, search(map[string]any{"query": "sneak"}).TotalCount)
		assert.Equal(t, []string{"TRAIL-1"}, search(map[string]any{"query": "tra sne"}).skus(), "every word, each a prefix")
		assert.Equal(t, []string{"SNEAKER-BOX"}, search(map[string]any{"query": "sneaker-box"}).skus())
		assert.Equal(t, []string{"MUG-1"}, search(map[string]any{"query": "  ENAMEL "}).skus())
		assert.Empty(t, search(map[string]any{"query": "bicycle"}).skus())
	})
	t.Run("a substring inside a word", func(t *testing.T) {
		c := search(map[string]any{"query": "neake"})
		assert.Equal(t, []string{"TRAIL-1", "BAG-1", "SNEAKER-BOX", "POSTER-9"}, c.skus(), "no word matches: all rank 0, then id")
		assert.Empty(t, search(map[string]any{"query": "ne"}).skus(), "under 3 characters only words match")
	})
	t.Run("an explicit sortKey wins over relevance", func(t *testing.T) {
		assert.Equal(t, []string{"BAG-1", "SNEAKER-BOX", "POSTER-9", "TRAIL-1"}, search(map[string]any{"query": "sneaker", "sortKey": "NAME"}).skus())
		assert.Equal(t, []string{"TRAIL-1", "BAG-1", "SNEAKER-BOX", "POSTER-9"}, search(map[string]any{"query": "sneaker", "sortKey": "ID"}).skus())
		assert.Equal(t, []string{"SNEAKER-BOX", "POSTER-9", "BAG-1", "TRAIL-1"}, search(map[string]any{"query": "sneaker", "sortKey": "PRICE"}).skus())
	})
	t.Run("query with inStock, and totalCount on every page", func(t *testing.T) {
		c := search(map[string]any{"query": "sneaker", "inStock": true, "first": 1})
		assert.Equal(t, 3, c.TotalCount)
		assert.Len(t, c.Edges, 1)
		c = search(map[string]any{"query": "sneaker", "inStock": true, "first": 1, "after": *c.PageInfo.EndCursor})
		assert.Equal(t, 3, c.TotalCount, "totalCount counts the filtered set, not the page")
		assert.Equal(t, []string{"POSTER-9"}, search(map[string]any{"query": "sneaker", "inStock": false}).skus())
	})
	t.Run("an empty query is no filter", func(t *testing.T) {
		assert.Equal(t, 5, search(map[string]any{"query": "   "}).TotalCount)
	})
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

// inStock reads available (stock - held) as it is now: a product whose
// units carts hold is out of stock.
func TestProductsInStock(t *testing.T) {
	t.Parallel()
	e := setup(t)
	catalogProduct(t, e.store, "A", "alpha", 100, 3, "")
	b := catalogProduct(t, e.store, "B", "bravo", 100, 2, "")
	catalogProduct(t, e.store, "C", "charlie", 100, 0, "")
	in := func() productConn { return e.products(t, map[string]any{"inStock": true}) }
	out := func() productConn { return e.products(t, map[string]any{"inStock": false}) }
	assert.Equal(t, []string{"A", "B"}, in().skus())
	assert.Equal(t, 2, in().TotalCount)
	assert.Equal(t, []string{"C"}, out().skus())
	assert.Equal(t, 3, e.products(t, nil).TotalCount)

	_, r := addToCart(t, e.srv.URL, e.createCart(t), pid(b), 2)
	require.Empty(t, r.Errors)
	assert.Equal(t, []string{"A"}, in().skus(), "both of B's units are held")
	assert.Equal(t, []string{"B", "C"}, out().skus())
	assert.Equal(t, 2, out().TotalCount)
	assert.Equal(t, []string{"C", "B"}, e.walk(t, map[string]any{"inStock": false, "reverse": true}, 1, true, nil))
}

// Bad arguments are GraphQL errors with BAD_USER_INPUT, before any query.
func TestCatalogBadArguments(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for i := range 3 {
		plainProduct(t, e, fmt.Sprintf("BAD-%d", i))
	}
	cursorOf := func(vars map[string]any) string {
		c := e.products(t, vars)
		require.NotEmpty(t, c.Edges)
		return c.Edges[0].Cursor
	}
	idCursor := cursorOf(map[string]any{"first": 1})
	nameCursor := cursorOf(map[string]any{"first": 1, "sortKey": "NAME"})
	priceCursor := cursorOf(map[string]any{"first": 1, "sortKey": "PRICE"})
	queryCursor := cursorOf(map[string]any{"first": 1, "query": "product"})
	stockCursor := cursorOf(map[string]any{"first": 1, "inStock": true})
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

	var collection struct {
		CreateCollection struct {
			Collection struct {
				ID string `json:"id"`
			} `json:"collection"`
		} `json:"createCollection"`
	}
	decode(t, e.gql(t, adminToken, `mutation { createCollection(input: {title: "All"}) { collection { id } } }`, nil), &collection)
	cid := collection.CreateCollection.Collection.ID
	_, err := e.store.AddProductsToCollection(context.Background(), parseID(t, cid), []int64{1, 2, 3})
	require.NoError(t, err)
	var cp struct {
		Collection struct {
			Products productConn `json:"products"`
		} `json:"collection"`
	}
	decode(t, e.gql(t, "", `query($id: ID!) { collection(id: $id) { products(first: 1) { edges { cursor node { sku } } } } }`,
		map[string]any{"id": cid}), &cp)
	collectionCursor := cp.Collection.Products.Edges[0].Cursor

	cases := map[string]map[string]any{
		"first and last":                  {"first": 2, "last": 2},
		"first 0":                         {"first": 0},
		"first 101":                       {"first": 101},
		"last 0":                          {"last": 0},
		"last 101":                        {"last": 101},
		"after: not base64":               {"after": "***"},
		"after: garbage":                  {"after": enc("product:x")},
		"after: id 0":                     {"after": enc("product:0")},
		"after: leading zero":             {"after": enc("product:01")},
		"after: an order cursor":          {"after": enc("order:1")},
		"after: another sort":             {"after": nameCursor},
		"after: another sort (price)":     {"after": priceCursor, "sortKey": "NAME"},
		"after: an id cursor, sorted":     {"after": idCursor, "sortKey": "PRICE"},
		"after: another query":            {"after": queryCursor, "query": "other"},
		"after: query cursor, no query":   {"after": queryCursor},
		"after: another inStock":          {"after": stockCursor, "inStock": false},
		"after: a collection's cursor":    {"after": collectionCursor},
		"before: another sort":            {"before": nameCursor, "last": 1},
		"before: another query":           {"before": queryCursor, "last": 1, "query": "x"},
		"before: garbage":                 {"before": enc("product:n::1:"), "sortKey": "NAME"},
		"a name cursor with a bad number": {"after": enc("product:n::x:Product BAD-0"), "sortKey": "NAME"},
		"a price cursor with no price":    {"after": enc("product:p::1:"), "sortKey": "PRICE"},
		"a rank cursor with NaN":          {"after": withRank(t, queryCursor, "NaN"), "query": "product"},
		"a rank cursor, not canonical":    {"after": withRank(t, queryCursor, "1e0"), "query": "product"},
		"query over 200 characters":       {"query": strings.Repeat("a", 201)},
	}
	// A light selection, so that first: 101 is within the complexity limit
	// and reaches the resolver.
	const light = `query($first: Int, $after: String, $last: Int, $before: String, $query: String,
		$inStock: Boolean, $sortKey: ProductSortKeys) {
		products(first: $first, after: $after, last: $last, before: $before, query: $query, inStock: $inStock,
			sortKey: $sortKey) { edges { node { id } } } }`
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			r := e.gql(t, "", light, vars)
			require.NotEmpty(t, r.Errors)
			assert.Equal(t, "BAD_USER_INPUT", r.code(), "%+v", r.Errors)
		})
	}
	t.Run("the same cursors on the right connection are fine", func(t *testing.T) {
		for _, vars := range []map[string]any{
			{"after": idCursor}, {"after": nameCursor, "sortKey": "NAME"}, {"after": queryCursor, "query": " product "},
			{"before": stockCursor, "last": 1, "inStock": true, "reverse": true},
			{"after": idCursor, "reverse": true},
		} {
			r := e.gql(t, "", productsQuery, vars)
			assert.Empty(t, r.Errors, "%v", vars)
		}
	})
	t.Run("collection products: a catalog cursor, first and last", func(t *testing.T) {
		q := `query($id: ID!, $after: String, $first: Int, $last: Int) { collection(id: $id) { products(after: $after, first: $first, last: $last) { edges { node { id } } } } }`
		for _, vars := range []map[string]any{
			{"id": cid, "after": idCursor}, {"id": cid, "first": 1, "last": 1}, {"id": cid, "last": 101},
		} {
			r := e.gql(t, "", q, vars)
			assert.Equal(t, "BAD_USER_INPUT", r.code(), "%v: %+v", vars, r.Errors)
		}
	})
	t.Run("collections: first and after", func(t *testing.T) {
		for _, q := range []string{`{ collections(first: 0) { edges { cursor } } }`, `{ collections(after: "bm9wZQ") { edges { cursor } } }`} {
			assert.Equal(t, "BAD_USER_INPUT", e.gql(t, "", q, nil).code(), q)
		}
	})
}

// withRank is a relevance cursor with its rank replaced.
func withRank(t *testing.T, cursor, rank string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	require.NoError(t, err)
	parts := strings.Split(string(b), ":")
	require.Len(t, parts, 5, "product:r:<filter>:<id>:<rank>")
	parts[4] = rank
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, ":")))
}

func parseID(t *testing.T, s string) int64 {
	t.Helper()
	id, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return id
}

// Unknown and malformed handles, skus and ids answer null, without errors.
func TestCatalogLookups(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p := catalogProduct(t, e.store, "LAMP-9", "Desk lamp", 3990, 2, "")
	c, err := e.store.CreateCollection(context.Background(), storage.NewCollection{Title: "Lighting"})
	require.NoError(t, err)

	var out struct {
		ByHandle     *productNode                 `json:"byHandle"`
		BySku        *productNode                 `json:"bySku"`
		Coll         *struct{ ID, Handle string } `json:"coll"`
		CollByHandle *struct{ ID, Handle string } `json:"collByHandle"`
	}
	q := `query($h: String!, $s: String!, $id: ID!, $ch: String!) {
		byHandle: productByHandle(handle: $h) { id sku name }
		bySku: productBySku(sku: $s) { id sku name }
		coll: collection(id: $id) { id handle }
		collByHandle: collectionByHandle(handle: $ch) { id handle }
	}`
	decode(t, e.gql(t, "", q, map[string]any{"h": "desk-lamp", "s": "LAMP-9", "id": fmt.Sprint(c.ID), "ch": "lighting"}), &out)
	require.NotNil(t, out.ByHandle)
	assert.Equal(t, pid(p), out.ByHandle.ID)
	require.NotNil(t, out.BySku)
	assert.Equal(t, pid(p), out.BySku.ID)
	require.NotNil(t, out.Coll)
	assert.Equal(t, "lighting", out.Coll.Handle)
	require.NotNil(t, out.CollByHandle)

	for _, vars := range []map[string]any{
		{"h": "no-such-lamp", "s": "NO-SUCH", "id": "999", "ch": "no-such"},
		{"h": "Not A Handle", "s": "not a sku!", "id": "x1", "ch": "--"},
		{"h": "", "s": "", "id": "0", "ch": ""},
	} {
		r := e.gql(t, "", q, vars)
		require.Empty(t, r.Errors, "%v", vars)
		assert.JSONEq(t, `{"byHandle":null,"bySku":null,"coll":null,"collByHandle":null}`, string(r.Data), "%v", vars)
	}
}

type collectionPayload struct {
	Collection *struct {
		ID       string      `json:"id"`
		Handle   string      `json:"handle"`
		Title    string      `json:"title"`
		Products productConn `json:"products"`
	} `json:"collection"`
	UserErrors []userError `json:"userErrors"`
}

// The collection mutations are admin-only; they derive and check handles,
// add all or none, and answer userErrors for what they refuse.
func TestCollectionMutations(t *testing.T) {
	t.Parallel()
	e := setup(t)
	a := plainProduct(t, e, "A")
	b := plainProduct(t, e, "B")
	const fields = `collection { id handle title products { totalCount edges { node { id sku } } } } userErrors { code message field }`
	run := func(token, doc string, vars map[string]any) gqlResponse { return e.gql(t, token, doc, vars) }

	create := `mutation($in: CreateCollectionInput!) { createCollection(input: $in) { ` + fields + ` } }`
	update := `mutation($in: UpdateCollectionInput!) { updateCollection(input: $in) { ` + fields + ` } }`
	add := `mutation($id: ID!, $ids: [ID!]!) { addProductsToCollection(collectionId: $id, productIds: $ids) { ` + fields + ` } }`
	remove := `mutation($id: ID!, $ids: [ID!]!) { removeProductsFromCollection(collectionId: $id, productIds: $ids) { ` + fields + ` } }`
	del := `mutation($id: ID!) { deleteCollection(collectionId: $id) { deletedCollectionId userErrors { code field } } }`

	t.Run("UNAUTHENTICATED without the admin token", func(t *testing.T) {
		before := storagetest.Snapshot(t, e.store.DB())
		for name, tc := range map[string]struct {
			doc  string
			vars map[string]any
		}{
			"create": {create, map[string]any{"in": map[string]any{"title": "X"}}},
			"update": {update, map[string]any{"in": map[string]any{"collectionId": "1", "title": "X"}}},
			"add":    {add, map[string]any{"id": "1", "ids": []string{pid(a)}}},
			"remove": {remove, map[string]any{"id": "1", "ids": []string{pid(a)}}},
			"delete": {del, map[string]any{"id": "1"}},
		} {
			for _, token := range []string{"", "wrong-token"} {
				r := run(token, tc.doc, tc.vars)
				assert.Equal(t, "UNAUTHENTICATED", r.code(), "%s with %q", name, token)
			}
		}
		assert.Equal(t, before, storagetest.Snapshot(t, e.store.DB()), "nothing was written")
	})

	var out struct {
		CreateCollection collectionPayload `json:"createCollection"`
	}
	decode(t, run(adminToken, create, map[string]any{"in": map[string]any{"title": "New arrivals", "description": "Fresh"}}), &out)
	require.Empty(t, out.CreateCollection.UserErrors)
	require.NotNil(t, out.CreateCollection.Collection)
	c := *out.CreateCollection.Collection // a copy: out is decoded into again
	assert.Equal(t, "new-arrivals", c.Handle)
	assert.Equal(t, 0, c.Products.TotalCount)

	t.Run("handles: derived -2, given and taken, malformed", func(t *testing.T) {
		decode(t, run(adminToken, create, map[string]any{"in": map[string]any{"title": "New arrivals"}}), &out)
		assert.Equal(t, "new-arrivals-2", out.CreateCollection.Collection.Handle)
		decode(t, run(adminToken, create, map[string]any{"in": map[string]any{"title": "Other", "handle": "new-arrivals"}}), &out)
		assert.Nil(t, out.CreateCollection.Collection)
		require.Len(t, out.CreateCollection.UserErrors, 1)
		assert.Equal(t, "DUPLICATE_HANDLE", out.CreateCollection.UserErrors[0].Code)
		assert.Equal(t, []string{"input", "handle"}, out.CreateCollection.UserErrors[0].Field)
		decode(t, run(adminToken, create, map[string]any{"in": map[string]any{"title": "Other", "handle": "New Arrivals"}}), &out)
		require.Len(t, out.CreateCollection.UserErrors, 1)
		assert.Equal(t, "INVALID_INPUT", out.CreateCollection.UserErrors[0].Code)
	})

	t.Run("update", func(t *testing.T) {
		var up struct {
			UpdateCollection collectionPayload `json:"updateCollection"`
		}
		decode(t, run(adminToken, update, map[string]any{"in": map[string]any{"collectionId": c.ID, "title": "Just in", "handle": "just-in"}}), &up)
		require.Empty(t, up.UpdateCollection.UserErrors)
		assert.Equal(t, "just-in", up.UpdateCollection.Collection.Handle)
		assert.Equal(t, "Just in", up.UpdateCollection.Collection.Title)
		decode(t, run(adminToken, update, map[string]any{"in": map[string]any{"collectionId": c.ID, "handle": "new-arrivals-2"}}), &up)
		assert.Equal(t, "DUPLICATE_HANDLE", up.UpdateCollection.UserErrors[0].Code)
		decode(t, run(adminToken, update, map[string]any{"in": map[string]any{"collectionId": "nope", "title": "X"}}), &up)
		assert.Equal(t, "COLLECTION_NOT_FOUND", up.UpdateCollection.UserErrors[0].Code)
		assert.Equal(t, []string{"input", "collectionId"}, up.UpdateCollection.UserErrors[0].Field)
	})

	t.Run("add all or none, remove", func(t *testing.T) {
		var res struct {
			AddProductsToCollection      collectionPayload `json:"addProductsToCollection"`
			RemoveProductsFromCollection collectionPayload `json:"removeProductsFromCollection"`
		}
		decode(t, run(adminToken, add, map[string]any{"id": c.ID, "ids": []string{pid(a), "999"}}), &res)
		assert.Nil(t, res.AddProductsToCollection.Collection)
		assert.Equal(t, "PRODUCT_NOT_FOUND", res.AddProductsToCollection.UserErrors[0].Code)
		decode(t, run(adminToken, add, map[string]any{"id": c.ID, "ids": []string{pid(a), "not-an-id"}}), &res)
		assert.Equal(t, "PRODUCT_NOT_FOUND", res.AddProductsToCollection.UserErrors[0].Code)
		decode(t, run(adminToken, add, map[string]any{"id": "424242", "ids": []string{pid(a)}}), &res)
		assert.Equal(t, "COLLECTION_NOT_FOUND", res.AddProductsToCollection.UserErrors[0].Code)
		assert.Equal(t, []string{"collectionId"}, res.AddProductsToCollection.UserErrors[0].Field)

		decode(t, run(adminToken, add, map[string]any{"id": c.ID, "ids": []string{pid(b), pid(a), pid(b)}}), &res)
		require.Empty(t, res.AddProductsToCollection.UserErrors)
		assert.Equal(t, []string{"A", "B"}, res.AddProductsToCollection.Collection.Products.skus())
		assert.Equal(t, 2, res.AddProductsToCollection.Collection.Products.TotalCount)

		var pc struct {
			Product struct {
				Collections []struct{ Handle string } `json:"collections"`
			} `json:"product"`
		}
		decode(t, e.gql(t, "", `query($id: ID!) { product(id: $id) { collections { handle } } }`, map[string]any{"id": pid(a)}), &pc)
		require.Len(t, pc.Product.Collections, 1)
		assert.Equal(t, "just-in", pc.Product.Collections[0].Handle)

		decode(t, run(adminToken, remove, map[string]any{"id": c.ID, "ids": []string{pid(a), "777"}}), &res)
		require.Empty(t, res.RemoveProductsFromCollection.UserErrors)
		assert.Equal(t, []string{"B"}, res.RemoveProductsFromCollection.Collection.Products.skus())
	})

	t.Run("delete", func(t *testing.T) {
		var res struct {
			DeleteCollection struct {
				DeletedCollectionID *string     `json:"deletedCollectionId"`
				UserErrors          []userError `json:"userErrors"`
			} `json:"deleteCollection"`
		}
		decode(t, run(adminToken, del, map[string]any{"id": c.ID}), &res)
		require.Empty(t, res.DeleteCollection.UserErrors)
		assert.Equal(t, c.ID, *res.DeleteCollection.DeletedCollectionID)
		decode(t, run(adminToken, del, map[string]any{"id": c.ID}), &res)
		assert.Nil(t, res.DeleteCollection.DeletedCollectionID)
		assert.Equal(t, "COLLECTION_NOT_FOUND", res.DeleteCollection.UserErrors[0].Code)
		r := e.gql(t, "", `query($id: ID!) { collection(id: $id) { id } product(id: "1") { sku } }`, map[string]any{"id": c.ID})
		assert.JSONEq(t, `{"collection":null,"product":{"sku":"A"}}`, string(r.Data))
	})
}

// createProduct and updateProduct take handle and images.
func TestProductHandleAndImagesThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	const create = `mutation($in: CreateProductInput!) { createProduct(input: $in) {
		product { id handle images { url altText } createdAt } userErrors { code field } } }`
	type payload struct {
		Product *struct {
			ID     string `json:"id"`
			Handle string `json:"handle"`
			Images []struct {
				URL     string  `json:"url"`
				AltText *string `json:"altText"`
			} `json:"images"`
			CreatedAt string `json:"createdAt"`
		} `json:"product"`
		UserErrors []userError `json:"userErrors"`
	}
	in := func(sku string, extra map[string]any) map[string]any {
		m := map[string]any{"sku": sku, "name": "Café crème", "priceAmount": "3.50", "currencyCode": "EUR", "stock": 1}
		maps.Copy(m, extra)
		return map[string]any{"in": m}
	}
	type result struct {
		CreateProduct payload `json:"createProduct"`
		UpdateProduct payload `json:"updateProduct"`
	}
	run := func(doc string, vars map[string]any) result {
		var out result
		decode(t, e.gql(t, adminToken, doc, vars), &out)
		return out
	}
	out := run(create, in("CAFE-1", map[string]any{"images": []map[string]any{
		{"url": "https://img.example.com/cafe.jpg", "altText": "A cup"}, {"url": "/cafe-2.png"},
	}}))
	p := out.CreateProduct.Product
	require.NotNil(t, p)
	assert.Equal(t, "cafe-creme", p.Handle)
	require.Len(t, p.Images, 2)
	assert.Equal(t, "https://img.example.com/cafe.jpg", p.Images[0].URL)
	assert.Equal(t, "A cup", *p.Images[0].AltText)
	assert.Nil(t, p.Images[1].AltText)
	_, err := time.Parse(time.RFC3339, p.CreatedAt)
	assert.NoError(t, err)

	out = run(create, in("CAFE-2", nil))
	assert.Equal(t, "cafe-creme-2", out.CreateProduct.Product.Handle)
	assert.Empty(t, out.CreateProduct.Product.Images)

	out = run(create, in("CAFE-3", map[string]any{"handle": "cafe-creme"}))
	assert.Nil(t, out.CreateProduct.Product)
	require.Len(t, out.CreateProduct.UserErrors, 1)
	assert.Equal(t, "DUPLICATE_HANDLE", out.CreateProduct.UserErrors[0].Code)
	assert.Equal(t, []string{"input", "handle"}, out.CreateProduct.UserErrors[0].Field)

	out = run(create, in("CAFE-4", map[string]any{"images": []map[string]any{{"url": "http://plain.example.com/a.png"}}}))
	require.Len(t, out.CreateProduct.UserErrors, 1)
	assert.Equal(t, "INVALID_INPUT", out.CreateProduct.UserErrors[0].Code)
	assert.Equal(t, []string{"input", "images", "0", "url"}, out.CreateProduct.UserErrors[0].Field)

	const update = `mutation($in: UpdateProductInput!) { updateProduct(input: $in) {
		product { id handle images { url altText } } userErrors { code field } } }`
	out = run(update, map[string]any{"in": map[string]any{"productId": p.ID, "name": "Flat white", "images": []map[string]any{{"url": "/fw.png"}}}})
	require.Empty(t, out.UpdateProduct.UserErrors)
	assert.Equal(t, "cafe-creme", out.UpdateProduct.Product.Handle, "renaming keeps the handle")
	require.Len(t, out.UpdateProduct.Product.Images, 1)
	assert.Equal(t, "/fw.png", out.UpdateProduct.Product.Images[0].URL)
	out = run(update, map[string]any{"in": map[string]any{"productId": p.ID, "handle": "flat-white", "images": []any{}}})
	assert.Equal(t, "flat-white", out.UpdateProduct.Product.Handle)
	assert.Empty(t, out.UpdateProduct.Product.Images)
	out = run(update, map[string]any{"in": map[string]any{"productId": p.ID, "handle": "cafe-creme-2"}})
	require.Len(t, out.UpdateProduct.UserErrors, 1)
	assert.Equal(t, "DUPLICATE_HANDLE", out.UpdateProduct.UserErrors[0].Code)
}

// A catalog page, or a list of collections with their products, costs the
// same number of queries for 1 item as for many: images, collections,
// pages and counts are each loaded in one batch.
func TestCatalogQueryCountIsConstant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	var ids []int64
	for i := range 30 {
		p := catalogProduct(t, e.store, fmt.Sprintf("N1-%02d", i), fmt.Sprintf("item %02d", i), 100+i, 3, "")
		_, err := e.store.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Images: []storage.NewImage{{URL: "/a.png"}, {URL: "/b.png"}}})
		require.NoError(t, err)
		ids = append(ids, p.ID)
	}
	for i := range 6 {
		c, err := e.store.CreateCollection(ctx, storage.NewCollection{Title: fmt.Sprintf("Shelf %d", i)})
		require.NoError(t, err)
		_, err = e.store.AddProductsToCollection(ctx, c.ID, ids[i*4:i*4+8])
		require.NoError(t, err)
	}
	cost := func(q string, vars map[string]any) (int64, string) {
		before := e.store.QueryCount()
		r := e.gql(t, "", q, vars)
		require.Empty(t, r.Errors)
		return e.store.QueryCount() - before, string(r.Data)
	}

	products := `query($n: Int) { products(first: $n, sortKey: NAME) { totalCount edges { node { id handle images { url } collections { id handle } } } } }`
	oneCost, one := cost(products, map[string]any{"n": 1})
	manyCost, many := cost(products, map[string]any{"n": 30})
	assert.Contains(t, one, `"handle":"shelf-0"`)
	assert.Contains(t, many, `"handle":"shelf-5"`)
	assert.Equal(t, oneCost, manyCost, "products: the query count must not grow with the page")
	assert.LessOrEqual(t, manyCost, int64(4), "page + count + images + collections")

	collections := `query($n: Int) { collections(first: $n) { edges { node { handle
		products(first: 4) { totalCount edges { node { id images { url } collections { handle } } } } } } } }`
	oneCost, one = cost(collections, map[string]any{"n": 1})
	manyCost, many = cost(collections, map[string]any{"n": 6})
	assert.Contains(t, one, `"totalCount":8`)
	assert.Contains(t, many, `"handle":"shelf-5"`)
	assert.Equal(t, oneCost, manyCost, "collections: the query count must not grow with the list")
	assert.LessOrEqual(t, manyCost, int64(5), "collections + pages + counts + images + collections")
}

// A deep catalog query is priced, and refused over the limit.
func TestCatalogComplexity(t *testing.T) {
	t.Parallel()
	e := setup(t)
	for _, q := range []string{
		`{ products(first: 100) { edges { node { collections { products(first: 100) { edges { node { id } } } } } } } }`,
		`{ collections(first: 100) { edges { node { products(last: 100) { edges { node { images { url } } } } } } } }`,
	} {
		r := e.gql(t, "", q, nil)
		assert.Equal(t, "COMPLEXITY_LIMIT", r.code(), q)
	}
	r := e.gql(t, "", `{ products(first: 20) { totalCount edges { node { id name handle images { url altText } collections { handle } } } } }`, nil)
	assert.Empty(t, r.Errors, "a storefront's listing page fits")
}
