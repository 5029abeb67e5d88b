package storage

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// ProductSort is the order of a product listing. Every order ends with the
// product id, so it is total and a position in it (a keyset cursor) stays
// where it is however many products are inserted.
type ProductSort string

// Product orders. SortRelevance is search rank, highest first (then id); the
// others run low to high. Reverse flips the whole order.
const (
	SortID        ProductSort = "ID"
	SortName      ProductSort = "NAME"
	SortPrice     ProductSort = "PRICE"
	SortCreatedAt ProductSort = "CREATED_AT"
	SortRelevance ProductSort = "RELEVANCE"
)

// StockFilter narrows a listing by what can be reserved now.
type StockFilter int8

// Stock filters: in stock is available (stock - held) > 0.
const (
	AnyStock StockFilter = iota
	InStockOnly
	OutOfStockOnly
)

// ProductFilter selects the products of a listing. It is comparable, so it
// can key a dataloader.
type ProductFilter struct {
	// Query is searched for in sku, name and description: products having
	// every word of it, or a word it begins, as written (no stop words, so
	// "be" finds "bet") or stemmed ("stories" finds "story"); and, from 3
	// characters, the whole text as a substring. "" matches every product.
	// Callers pass it through NormalizeQuery.
	Query string
	Stock StockFilter
}

// MaxQueryLen bounds a search query, in characters; MaxPageSize a page.
const (
	MaxQueryLen = 200
	MaxPageSize = 100
)

// maxQueryWords bounds the words of a query that full-text search uses.
const maxQueryWords = 16

// MaxSearchMatches bounds the work of a search whatever it matches. The
// relevance order ranks only the first MaxSearchMatches matches in id order
// (the oldest products), which the index finds without ranking anything:
// the listing holds those, best first. Counting a query's matches stops at
// MaxSearchMatches: a count of MaxSearchMatches means that many or more.
const MaxSearchMatches = 1000

// NormalizeQuery trims a search query and collapses its runs of white space
// and control characters into single spaces.
func NormalizeQuery(q string) string {
	return strings.Join(strings.FieldsFunc(q, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError
	}), " ")
}

// ProductPosition is a product's place in a listing's order: its id and
// its value of the sort key (only the field of the listing's sort counts).
// The zero value (ID 0) is no position.
type ProductPosition struct {
	ID         int64
	Name       string
	PriceCents int64
	CreatedAt  int64 // Unix microseconds, the database's precision
	Rank       float32
}

// ProductPageParams ask for one page of a listing: the first First
// products after After, or the last Last products before Before (After and
// Before may also both bound the range), in the order Sort, flipped by
// Reverse. Exactly one of First and Last is set, 1..MaxPageSize. The type
// is comparable, so it can key a dataloader.
type ProductPageParams struct {
	Filter        ProductFilter
	Sort          ProductSort
	Reverse       bool
	First, Last   int
	After, Before ProductPosition
	// SkipPrior and SkipFollowing say the caller will not read
	// HasPreviousPage or HasNextPage where only the rows beyond After or
	// Before decide them: when neither is read, a page after a cursor
	// costs one query, not two (a grid following endCursor asks only
	// hasNextPage and endCursor).
	SkipPrior, SkipFollowing bool
}

// ProductEdge is a product of a page and its position.
type ProductEdge struct {
	Product  *Product
	Position ProductPosition
}

// Page is a page of a listing. HasNextPage and HasPreviousPage say
// whether the listing has rows after and before the page, as Relay defines
// them: past the First or Last asked for, or beyond the Before or After
// given.
type Page[E any] struct {
	Edges           []E
	HasNextPage     bool
	HasPreviousPage bool
}

// ProductPage is a page of a product listing.
type ProductPage = Page[ProductEdge]

// ErrBadPage is page parameters (a ProductPageParams, an audit or feed
// page) the API layer should have refused.
var ErrBadPage = errors.New("storage: invalid page parameters")

// ListProducts returns a page of the catalog.
func (s *Store) ListProducts(ctx context.Context, p ProductPageParams) (*ProductPage, error) {
	pages, err := s.productPages(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	return pages[0], nil
}

// CountProducts counts the products a filter selects (every page); with a
// query, at most MaxSearchMatches.
func (s *Store) CountProducts(ctx context.Context, f ProductFilter) (int, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	q, args := countSQL(f)
	var n int
	err := s.read(ctx, f.Query != "", func(rq queryer) error { return sqlxGet(ctx, rq, &n, q, args...) })
	return n, err
}

// read runs fn's statements on the read pool. Those of a search run in a
// read-only transaction whose statement_timeout is Options.SearchTimeout,
// so the database itself stops a search that runs too long (the connection
// stays usable, unlike a cancelled one) and fn fails with ErrSearchTimeout.
// Sequential scans are off in it: the planner, which prices reading a
// stored document as cheap as a column, would otherwise read the whole
// catalog (and every description, for a substring) rather than its search
// indexes once a word looks common; the indexes bound that work.
func (s *Store) read(ctx context.Context, search bool, fn func(queryer) error) error {
	if !search {
		// Prepared: a listing's statement text is one of a bounded set
		// (sort key, direction, cursors, filter and collection shape; every
		// value a placeholder), and parsing and planning a catalog page's
		// query cost PostgreSQL more than running it.
		return fn(s.hotReader())
	}
	tx, err := s.reads.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return translate(err)
	}
	defer tx.Rollback() // nothing to commit
	q := counted{tx, &s.queries}
	const settings = `SELECT set_config('statement_timeout', $1, true), set_config('enable_seqscan', 'off', true)`
	if _, err := q.ExecContext(ctx, settings, strconv.FormatInt(s.opts.SearchTimeout.Milliseconds(), 10)); err != nil {
		return translate(err)
	}
	err = fn(q)
	if ctx.Err() == nil && pq.As(err, pqerror.QueryCanceled) != nil {
		// Not the caller's cancellation: the statement timeout.
		return ErrSearchTimeout
	}
	return err
}

// CollectionPageKey asks for a page of one collection's products.
type CollectionPageKey struct {
	CollectionID int64
	Params       ProductPageParams
}

// CollectionProductPages returns pages of many collections' products: one
// query for every group of keys with the same parameters (one LATERAL
// subquery per collection), so a list of collections costs what one does.
// It backs the per-request collection products dataloader.
func (s *Store) CollectionProductPages(ctx context.Context, keys []CollectionPageKey) (map[CollectionPageKey]*ProductPage, error) {
	return collectionPages(keys, func(p ProductPageParams, ids []int64) (map[int64]*ProductPage, error) {
		return s.productPages(ctx, p, ids)
	})
}

// collectionPages runs pages once for every group of keys with the same
// parameters, with the collections of the group.
func collectionPages[E any](keys []CollectionPageKey, pages func(ProductPageParams, []int64) (map[int64]*Page[E], error)) (map[CollectionPageKey]*Page[E], error) {
	groups := map[ProductPageParams][]int64{}
	for _, k := range keys {
		groups[k.Params] = append(groups[k.Params], k.CollectionID)
	}
	out := make(map[CollectionPageKey]*Page[E], len(keys))
	for params, ids := range groups {
		pgs, err := pages(params, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out[CollectionPageKey{CollectionID: id, Params: params}] = pgs[id]
		}
	}
	return out, nil
}

// CollectionCountKey asks for the number of one collection's products a
// filter selects.
type CollectionCountKey struct {
	CollectionID int64
	Filter       ProductFilter
}

// CollectionProductCounts counts many collections' products, one query per
// filter (with a query, at most MaxSearchMatches each). It backs the
// per-request collection count dataloader.
func (s *Store) CollectionProductCounts(ctx context.Context, keys []CollectionCountKey) (map[CollectionCountKey]int, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	return collectionCounts(keys, func(f ProductFilter, ids []int64) ([]collectionCount, error) {
		var b sqlArgs
		in := b.arg(pq.Array(ids))
		n := `count(*)`
		if f.Query != "" {
			// The same answer as CountProducts gives (the API has no
			// query on a collection's products).
			n = `least(count(*), ` + b.arg(MaxSearchMatches) + `)`
		}
		q := `
			SELECT cp.collection_id, ` + n + ` AS n
			FROM collection_products cp
			JOIN products p ON p.id = cp.product_id
			WHERE cp.collection_id = ANY(` + in + `)` + and(b.filter(f)) + `
			GROUP BY cp.collection_id`
		var rows []collectionCount
		err := sqlxSelect(ctx, s.reader(), &rows, q, b.args...)
		return rows, err
	})
}

// collectionCount is a collection's count.
type collectionCount struct {
	CollectionID int64 `db:"collection_id"`
	N            int   `db:"n"`
}

// collectionCounts runs count once for every group of keys with the same
// filter, with the collections of the group; every key has an entry (0
// where count gives no row).
func collectionCounts(keys []CollectionCountKey, count func(ProductFilter, []int64) ([]collectionCount, error)) (map[CollectionCountKey]int, error) {
	groups := map[ProductFilter][]int64{}
	for _, k := range keys {
		groups[k.Filter] = append(groups[k.Filter], k.CollectionID)
	}
	out := make(map[CollectionCountKey]int, len(keys))
	for f, ids := range groups {
		rows, err := count(f, ids)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			out[CollectionCountKey{CollectionID: id, Filter: f}] = 0
		}
		for _, r := range rows {
			out[CollectionCountKey{CollectionID: r.CollectionID, Filter: f}] = r.N
		}
	}
	return out, nil
}

func (p ProductPageParams) valid() bool {
	n := p.First
	if p.Last > 0 {
		n = p.Last
	}
	_, known := sortKeys[p.Sort]
	return known && (p.First > 0) != (p.Last > 0) && n <= MaxPageSize &&
		utf8.RuneCountInString(p.Filter.Query) <= MaxQueryLen && validText(p.After.Name, MaxNameLen) &&
		validText(p.Before.Name, MaxNameLen) && finite(p.After.Rank) && finite(p.Before.Rank) &&
		ValidMicros(p.After.CreatedAt) && ValidMicros(p.Before.CreatedAt)
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// productPages runs one page of a listing: of the whole catalog (under key
// 0) when collections is nil, else of each of those collections. It costs
// one query, plus one when a cursor is given (for the flags beyond it).
func (s *Store) productPages(ctx context.Context, p ProductPageParams, collections []int64) (map[int64]*ProductPage, error) {
	if !p.valid() {
		return nil, ErrBadPage
	}
	q, args := pageSQL(p, collections)
	return readPages(ctx, s, p, collections, q, args, func(r *pageRow) (int64, ProductEdge) {
		prod := r.Product
		return r.CollectionID, ProductEdge{Product: &prod, Position: ProductPosition{
			ID: prod.ID, Name: prod.Name, PriceCents: prod.PriceCents, CreatedAt: prod.CreatedAt.UnixMicro(), Rank: r.Rank,
		}}
	}, func(b *sqlArgs) listing { return b.productListing(p, collections) })
}

// readPages runs a page's statement q (of products or groups, see
// productPages), its rows R becoming edges E, and then, when a cursor is
// given, beyondCursors on the listing source gives, in one read.
func readPages[R, E any](ctx context.Context, s *Store, p ProductPageParams, collections []int64, q string, args []any,
	edge func(*R) (int64, E), source func(*sqlArgs) listing,
) (map[int64]*Page[E], error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	forward, n := p.First > 0, p.First
	if !forward {
		n = p.Last
	}
	var rows []R
	var pages map[int64]*Page[E]
	err := s.read(ctx, p.Filter.Query != "", func(rq queryer) error {
		if err := sqlxSelect(ctx, rq, &rows, q, args...); err != nil {
			return err
		}
		pages = pagesOf(collections, n, forward, rows, edge)
		if (p.After.ID == 0 || p.SkipPrior) && (p.Before.ID == 0 || p.SkipFollowing) {
			return nil
		}
		return beyondCursors(ctx, rq, p, collections, source, pages)
	})
	return pages, err
}

// pageRow is a row of pageSQL's statement.
type pageRow struct {
	Product
	CollectionID int64   `db:"collection_id"`
	Rank         float32 `db:"rank"`
	Ord          int64   `db:"ord"`
}

// pagesOf puts the rows a page's statement read (of products or groups)
// into pages of n, in order; edge is a row's collection and edge.
func pagesOf[R, E any](collections []int64, n int, forward bool, rows []R, edge func(*R) (int64, E)) map[int64]*Page[E] {
	pages := map[int64]*Page[E]{}
	keys := collections
	if keys == nil {
		keys = []int64{0}
	}
	for _, id := range keys {
		pages[id] = &Page[E]{Edges: []E{}}
	}
	for i := range rows {
		id, e := edge(&rows[i])
		pg := pages[id]
		if len(pg.Edges) == n {
			// The extra row: more follow in the order read.
			if forward {
				pg.HasNextPage = true
			} else {
				pg.HasPreviousPage = true
			}
			continue
		}
		pg.Edges = append(pg.Edges, e)
	}
	if !forward {
		for _, pg := range pages {
			for i, j := 0, len(pg.Edges)-1; i < j; i, j = i+1, j-1 {
				pg.Edges[i], pg.Edges[j] = pg.Edges[j], pg.Edges[i]
			}
		}
	}
	return pages
}

// pageSQL is the statement of productPages and its arguments. It reads one
// row more than the page, to tell whether more follow in the order it reads
// (backwards for last).
func pageSQL(p ProductPageParams, collections []int64) (string, []any) {
	var b sqlArgs
	var ids string
	if collections != nil {
		ids = b.arg(pq.Array(collections))
	}
	sel := b.pageSelect(p, b.productListing(p, collections), qualifiedProductColumns)
	q := `SELECT 0::bigint AS collection_id, x.* FROM (` + sel + `) x ORDER BY x.ord`
	if collections != nil {
		q = `
			SELECT c.id AS collection_id, x.*
			FROM unnest(` + ids + `::bigint[]) AS c(id)
			CROSS JOIN LATERAL (` + sel + `) x
			ORDER BY c.id, x.ord`
	}
	return q, b.args
}

// pageSelect is the statement of one page of listing l, selecting cols,
// the rank and the order read (ord). It reads one row more than the page,
// to tell whether more follow in the order it reads (backwards for last).
func (b *sqlArgs) pageSelect(p ProductPageParams, l listing, cols string) string {
	n := p.First
	if n == 0 {
		n = p.Last
	}
	conds, o := l.conds, l.order
	scan := o
	if p.First == 0 {
		scan = o.flipped()
	}
	if p.After.ID != 0 {
		conds = append(conds, o.after(b, p.Sort, p.After))
	}
	if p.Before.ID != 0 {
		conds = append(conds, o.flipped().after(b, p.Sort, p.Before))
	}
	rankCol := `0::real` // ranked only when sorting by rank
	if p.Sort == SortRelevance {
		rankCol = l.rank
	}
	return `
		SELECT ` + cols + `, ` + rankCol + ` AS rank, row_number() OVER (ORDER BY ` + scan.orderBy() + `) AS ord
		FROM ` + l.from + where(conds) + `
		ORDER BY ` + scan.orderBy() + `
		LIMIT ` + b.arg(n+1)
}

// countSQL is the statement of CountProducts. A query's count stops at
// MaxSearchMatches.
func countSQL(f ProductFilter) (string, []any) {
	var b sqlArgs
	return b.count(`products p`, b.filter(f), f.Query != ""), b.args
}

// count is the statement counting the rows of from that conds select; a
// search's count stops at MaxSearchMatches.
func (b *sqlArgs) count(from string, conds []string, search bool) string {
	if !search {
		return `SELECT count(*) FROM ` + from + where(conds)
	}
	return `SELECT count(*) FROM (SELECT 1 FROM ` + from + where(conds) + `
		LIMIT ` + b.arg(MaxSearchMatches) + `) x`
}

// beyondCursors sets the flags that rows exist at or before After
// (HasPreviousPage) and at or after Before (HasNextPage), in one query, of
// the listing of products or groups that source gives.
func beyondCursors[E any](ctx context.Context, rq queryer, p ProductPageParams, collections []int64, source func(*sqlArgs) listing, pages map[int64]*Page[E]) error {
	var b sqlArgs
	var ids string
	if collections != nil {
		ids = b.arg(pq.Array(collections))
	}
	l := source(&b) // its rank refers to this statement's placeholders
	from, conds, o := l.from, l.conds, l.order
	exists := func(beyond string) string {
		c := append(conds[:len(conds):len(conds)], "NOT "+beyond)
		return `EXISTS (SELECT 1 FROM ` + from + where(c) + `)`
	}
	prior, following := "false", "false"
	if p.After.ID != 0 && !p.SkipPrior {
		prior = exists(o.after(&b, p.Sort, p.After))
	}
	if p.Before.ID != 0 && !p.SkipFollowing {
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

// The listing statements are put together from the constant fragments
// below; every value travels as a placeholder ($n) added by sqlArgs.

var qualifiedProductColumns = "p." + strings.ReplaceAll(productColumns, ", ", ", p.")

// searchTextSQL is the text the trigram index (migration 00010) holds.
const searchTextSQL = `product_search_text(p.sku, p.name, p.description)`

// sqlArgs collects a statement's arguments.
type sqlArgs struct{ args []any }

// arg adds v and returns its placeholder.
func (b *sqlArgs) arg(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

func (b *sqlArgs) filter(f ProductFilter) []string {
	conds, _ := b.filterRanked(f)
	return conds
}

// source is the FROM of a page's statements (products p, of the collection
// c.id when there are collections), the conditions left for their WHERE
// and the SQL of a row's rank.
//
// A search's matches are a subquery planned alone (OFFSET 0 keeps the
// page's ORDER BY and LIMIT out of it), so they are found through the search
// indexes, never by walking a sort key's index and filtering the catalog
// until a page is full, which reads every product when few match. Ordered
// by relevance, a search ranks only its candidates: the first
// MaxSearchMatches matches in id order, picked without ranking any, so at
// most MaxSearchMatches ranks are computed whatever the query matches. The
// candidates are the same on every page while the catalog does not change,
// so a cursor's (rank, id) keeps its place among them.
func (b *sqlArgs) source(p ProductPageParams, collections []int64) (from string, conds []string, rank string) {
	conds, rank = b.filterRanked(p.Filter)
	return b.searched(p, `products p`+scope(collections), conds, rank)
}

// listing is what a page's statements read: the FROM (aliased p), the
// conditions left for their WHERE, the SQL of a row's rank and the order.
type listing struct {
	from  string
	conds []string
	rank  string
	order productOrder
}

// productListing is the listing of products source gives.
func (b *sqlArgs) productListing(p ProductPageParams, collections []int64) listing {
	from, conds, rank := b.source(p, collections)
	return listing{from: from, conds: conds, rank: rank, order: sortKeys.order(p.Sort, p.Reverse, rank)}
}

// searched is the FROM, conditions and rank of source (for products) and
// groupSource (for groups) once the rows of from that conds select are
// known: unchanged without a query, else the subquery of the matches.
func (b *sqlArgs) searched(p ProductPageParams, from string, conds []string, rank string) (string, []string, string) {
	if p.Filter.Query == "" {
		return from, conds, rank
	}
	matches := `SELECT p.* FROM ` + from + where(conds) + `
			OFFSET 0`
	if p.Sort == SortRelevance {
		// Ranked a level above the LIMIT: once per candidate, and only
		// for them.
		matches = `SELECT p.*, ` + rank + ` AS search_rank FROM (
				SELECT m.* FROM (` + matches + `) m
				ORDER BY m.id
				LIMIT ` + b.arg(MaxSearchMatches) + `
			) p`
		rank = `p.search_rank`
	}
	return `(` + matches + `) p`, nil, rank
}

// filterRanked returns the conditions of f and the SQL of the rows' search
// rank (0 without a query).
func (b *sqlArgs) filterRanked(f ProductFilter) (conds []string, rank string) {
	rank = `0::real`
	switch f.Stock {
	case InStockOnly:
		conds = append(conds, `p.stock - p.held > 0`)
	case OutOfStockOnly:
		conds = append(conds, `p.stock - p.held <= 0`)
	}
	if f.Query == "" {
		return conds, rank
	}
	match, rank := b.search(f.Query, searchTextSQL, func(query string) (match, rank string) {
		// Both on the stored document, in a table of its own (migration
		// 00012): its index finds the matches, once for the statement
		// (an InitPlan, which the products primary key then finds,
		// alongside the trigram index's matches), and a rank reads the
		// document, never re-parses the text.
		return `p.id = ANY(ARRAY(SELECT ps.product_id FROM product_search ps WHERE ps.search_vector @@ ` + query + `))`,
			`ts_rank((SELECT ps.search_vector FROM product_search ps WHERE ps.product_id = p.id), ` + query + `)`
	})
	return append(conds, match), rank
}

// search is the condition that a row matches query q and the SQL of its
// rank (0 without words): document is the condition that the row's stored
// document matches a tsquery and its rank, text the SQL of its text for
// a substring.
func (b *sqlArgs) search(q, text string, document func(tsquery string) (match, rank string)) (cond, rank string) {
	rank = `0::real`
	var match []string
	if query := b.searchTSQuery(q); query != "" {
		var m string
		m, rank = document(query)
		match = append(match, m)
	}
	if utf8.RuneCountInString(q) >= 3 {
		// Trigram indexes need three characters to narrow anything down.
		match = append(match, text+` ILIKE `+b.arg(`%`+escapeLike(q)+`%`))
	}
	if len(match) == 0 {
		match = []string{`false`}
	}
	return `(` + strings.Join(match, ` OR `) + `)`, rank
}

// searchTSQuery is the SQL of the tsquery of a query's words ("" for none):
// products having every word, or a word it begins ("sneak" finds
// "sneakers"). Each word is a prefix both as written, in the 'simple'
// configuration, which drops nothing (a prefix that is an English stop
// word, "be" or "a", still finds "bet" and "apple"), and stemmed, in the
// 'english' one ("stories" finds "story"); a word that is a stop word in
// English is left to the first. Only letters and digits reach to_tsquery,
// so a word needs no quoting.
func (b *sqlArgs) searchTSQuery(q string) string {
	words := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > maxQueryWords {
		words = words[:maxQueryWords]
	}
	terms := make([]string, len(words))
	for i, w := range words {
		arg := b.arg(w + ":*")
		terms[i] = `(to_tsquery('simple', ` + arg + `) || to_tsquery('english', ` + arg + `))`
	}
	if len(terms) == 0 {
		return ""
	}
	return "(" + strings.Join(terms, " && ") + ")"
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return "\n\t\tWHERE " + strings.Join(conds, "\n\t\t  AND ")
}

func and(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return "\n\t\t  AND " + strings.Join(conds, "\n\t\t  AND ")
}

// scope joins a listing's products to the collection c.id of the
// enclosing LATERAL query, when there is one.
func scope(collections []int64) string {
	if collections == nil {
		return ""
	}
	return `
		JOIN collection_products cp ON cp.product_id = p.id AND cp.collection_id = c.id`
}

// sortKeyMap maps a listing's sorts to their keys' SQL and the type their
// cursor values are sent as; the id sort has no key but the id.
type sortKeyMap map[ProductSort]struct{ key, cast string }

// sortKeys are the products' sort keys.
var sortKeys = sortKeyMap{
	SortID:        {},
	SortName:      {`p.name`, `text`},
	SortPrice:     {`p.price_cents`, `bigint`},
	SortCreatedAt: {`p.created_at`, `timestamptz`},
	SortRelevance: {"", `real`}, // key: the filter's rank
}

// productOrder is a listing's order: the sort key, then the id.
type productOrder struct {
	key, cast       string
	keyDesc, idDesc bool
}

// order is the order of sort, reversed or not; the relevance sort's key is
// rank.
func (keys sortKeyMap) order(sort ProductSort, reverse bool, rank string) productOrder {
	k := keys[sort]
	o := productOrder{key: k.key, cast: k.cast, idDesc: reverse, keyDesc: reverse}
	if sort == SortRelevance {
		o.key, o.keyDesc = rank, !reverse // highest rank first, then lowest id
	}
	return o
}

func (o productOrder) flipped() productOrder {
	o.keyDesc, o.idDesc = !o.keyDesc, !o.idDesc
	return o
}

func (o productOrder) orderBy() string {
	dir := func(desc bool) string {
		if desc {
			return " DESC"
		}
		return ""
	}
	if o.key == "" {
		return "p.id" + dir(o.idDesc)
	}
	return o.key + dir(o.keyDesc) + ", p.id" + dir(o.idDesc)
}

// after is the condition that a row comes strictly after pos in order o.
// Where key and id run the same way it is a row comparison, which an index
// on (key, id) answers directly.
func (o productOrder) after(b *sqlArgs, sort ProductSort, pos ProductPosition) string {
	cmp := func(desc bool) string {
		if desc {
			return " < "
		}
		return " > "
	}
	id := b.arg(pos.ID)
	if o.key == "" {
		return "p.id" + cmp(o.idDesc) + id
	}
	k := b.arg(pos.value(sort)) + "::" + o.cast
	if o.keyDesc == o.idDesc {
		return "(" + o.key + ", p.id)" + cmp(o.keyDesc) + "(" + k + ", " + id + ")"
	}
	return "(" + o.key + cmp(o.keyDesc) + k + " OR (" + o.key + " = " + k + " AND p.id" + cmp(o.idDesc) + id + "))"
}

// value is the position's sort key value as a statement argument. The rank
// travels as the shortest decimal that reads back as the same float4, so
// the comparison with the recomputed rank is exact.
func (pos ProductPosition) value(sort ProductSort) any {
	switch sort {
	case SortName:
		return pos.Name
	case SortPrice:
		return pos.PriceCents
	case SortCreatedAt:
		return time.UnixMicro(pos.CreatedAt).UTC()
	case SortRelevance:
		return strconv.FormatFloat(float64(pos.Rank), 'g', -1, 32)
	}
	return nil
}
