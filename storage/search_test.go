package storage_test

import (
	"context"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// A search ranks at most MaxSearchMatches products whatever it matches: the
// first ones in id order. A product past them that would rank first is not
// in the relevance listing (it is in the others), the count stops at the
// cap, and paging through the relevance listing gives each candidate once.
func TestSearchRanksAtMostMaxSearchMatches(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	n := storage.MaxSearchMatches + 5
	_, err := s.DB().ExecContext(ctx, `
		INSERT INTO products (sku, handle, name, description, price_cents, currency, stock)
		SELECT 'BLUE-' || g, 'blue-' || g, 'Item ' || g, 'A blue one', 100, 'USD', 1
		FROM generate_series(1, $1) AS g`, n-1)
	require.NoError(t, err)
	best, err := s.CreateProduct(ctx, storage.NewProduct{SKU: "BLUE-BEST", Name: "Blue blue blue", PriceAmount: "1.00", Currency: "USD", Stock: 1})
	require.NoError(t, err)
	blue := storage.ProductFilter{Query: "blue"}

	count, err := s.CountProducts(ctx, blue)
	require.NoError(t, err)
	assert.Equal(t, storage.MaxSearchMatches, count, "the count stops at the cap")
	all, err := s.CountProducts(ctx, storage.ProductFilter{})
	require.NoError(t, err)
	assert.Equal(t, n, all, "a count without a query does not")

	byID, err := s.ListProducts(ctx, storage.ProductPageParams{Filter: blue, Sort: storage.SortID, Last: 1})
	require.NoError(t, err)
	require.Len(t, byID.Edges, 1)
	assert.Equal(t, best.ID, byID.Edges[0].Product.ID, "other orders list every match")

	seen := map[int64]bool{}
	var maxID int64
	p := storage.ProductPageParams{Filter: blue, Sort: storage.SortRelevance, First: storage.MaxPageSize}
	for page := 0; ; page++ {
		require.Less(t, page, 20)
		pg, err := s.ListProducts(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, page > 0, pg.HasPreviousPage)
		for _, e := range pg.Edges {
			require.False(t, seen[e.Product.ID], "product %d twice", e.Product.ID)
			seen[e.Product.ID] = true
			maxID = max(maxID, e.Product.ID)
		}
		if !pg.HasNextPage {
			break
		}
		p.After = pg.Edges[len(pg.Edges)-1].Position
	}
	assert.Len(t, seen, storage.MaxSearchMatches)
	assert.False(t, seen[best.ID], "past the candidates, the best match is not ranked")
	assert.Less(t, maxID, best.ID)
}

// Prefixes find the words they begin, also when the prefix is an English
// stop word ("be", "a", "s", "t", "i"), and whole words are still matched
// stemmed ("stories" finds "story").
func TestSearchPrefixesThatAreStopWords(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	mk := func(sku, name, desc string) int64 {
		p, err := s.CreateProduct(ctx, storage.NewProduct{SKU: sku, Name: name, Description: &desc, PriceAmount: "1.00", Currency: "USD", Stock: 1})
		require.NoError(t, err)
		return p.ID
	}
	bet := mk("P-1", "Bet slip", "Paper")
	apple := mk("P-2", "Apple crate", "Wooden")
	other := mk("P-3", "Oak stool", "Seats one; tidy island kitchens; a story in wood")

	find := func(q string) []int64 {
		t.Helper()
		pg, err := s.ListProducts(ctx, storage.ProductPageParams{Filter: storage.ProductFilter{Query: q}, Sort: storage.SortID, First: 10})
		require.NoError(t, err)
		var ids []int64
		for _, e := range pg.Edges {
			ids = append(ids, e.Product.ID)
		}
		return ids
	}
	for q, want := range map[string][]int64{
		"b":       {bet},
		"be":      {bet},
		"bet":     {bet},
		"a":       {apple, other},
		"s":       {bet, other},
		"t":       {other},
		"i":       {other},
		"stories": {other},
		"be sl":   {bet},
		"the":     nil,
	} {
		assert.Equal(t, want, find(q), "query %q", q)
	}
}

// A search's statements stop at Options.SearchTimeout: a search blocked on
// a lock (held here until the search has failed, so no timing is raced)
// fails with ErrSearchTimeout, and the store then searches again normally.
func TestSearchStatementTimeout(t *testing.T) {
	t.Parallel()
	opts := storagetest.Options()
	opts.SearchTimeout = time.Second // the lock holds the search to it; the search after needs far less
	s, _ := storagetest.NewStore(t, opts)
	ctx := context.Background()
	storagetest.MustProduct(t, s, "TIMEOUT-1", 1)

	lock, err := s.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = lock.ExecContext(ctx, `LOCK TABLE products IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	q := storage.ProductFilter{Query: "timeout"}
	for _, sort := range []storage.ProductSort{storage.SortRelevance, storage.SortName} {
		_, err = s.ListProducts(ctx, storage.ProductPageParams{Filter: q, Sort: sort, First: 5})
		assert.ErrorIs(t, err, storage.ErrSearchTimeout)
	}
	_, err = s.CountProducts(ctx, q)
	assert.ErrorIs(t, err, storage.ErrSearchTimeout)
	require.NoError(t, lock.Rollback())

	pg, err := s.ListProducts(ctx, storage.ProductPageParams{Filter: q, Sort: storage.SortRelevance, First: 5})
	require.NoError(t, err)
	assert.Len(t, pg.Edges, 1)
}

// search_vector follows sku, name and description, whoever writes them.
func TestSearchVectorFollowsTheProduct(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	p := storagetest.MustProduct(t, s, "VEC-1", 5)
	count := func(q string) int {
		t.Helper()
		n, err := s.CountProducts(ctx, storage.ProductFilter{Query: q})
		require.NoError(t, err)
		return n
	}
	require.Equal(t, 1, count("vec"))
	_, err := s.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Name: ptr("Walnut tray"), Description: ptr("Oiled by hand")})
	require.NoError(t, err)
	assert.Equal(t, 1, count("walnut oil"))
	assert.Equal(t, 0, count("product"), "the old name is gone")
	_, err = s.DB().ExecContext(ctx, `UPDATE product_search SET search_vector = '' WHERE product_id = $1`, p.ID)
	require.NoError(t, err)
	assert.Equal(t, 1, count("walnut"), "a write of the column itself is recomputed")
}

// A reservation of a product with a description, short or 2 KB long, is a
// HOT update (its new row version goes on the row's page, no index is
// touched) when the page has the room of a few short rows. The row keeps
// its search document in a table of its own and a long description out of
// line (migration 00012's toast_tuple_target), so it is a few hundred bytes
// at most: with the document in the row, a 200-byte description made it
// ~750 bytes, and a 2 KB one, compressed inline, ~1.4 KB, more than that
// room.
//
// The page's room is fixed without dead rows, whose removal depends on
// every transaction of the server: the test gives products a fillfactor of
// 95, so inserts stop short of the last 5% of a page (409 bytes), and fills
// the row's page with short products until one lands on the next page.
// Whether the update was HOT is read from the row's ctid, not from
// statistics, which are flushed asynchronously: the new version stays on
// the page exactly when the update is HOT, as a reservation changes no
// indexed column.
func TestSearchVectorLeavesReservationsHOT(t *testing.T) {
	t.Parallel()
	for _, n := range []int{200, 2000} {
		t.Run(strconv.Itoa(n)+" bytes of description", func(t *testing.T) {
			t.Parallel()
			s, _ := storagetest.NewStore(t, storagetest.Options())
			ctx := context.Background()
			_, err := s.DB().ExecContext(ctx, `ALTER TABLE products SET (fillfactor = 95)`)
			require.NoError(t, err)
			desc := prose(n)
			p, err := s.CreateProduct(ctx, storage.NewProduct{SKU: "DESC-1", Name: "Walnut tray", Description: &desc, PriceAmount: "1.00", Currency: "USD", Stock: 10})
			require.NoError(t, err)
			page := func(id int64) int64 {
				t.Helper()
				var n int64
				require.NoError(t, s.DB().GetContext(ctx, &n, `SELECT (ctid::text::point)[0]::bigint FROM products WHERE id = $1`, id))
				return n
			}
			home := page(p.ID)
			for i := 0; ; i++ {
				require.Less(t, i, 200, "the page never filled")
				if page(storagetest.MustProduct(t, s, "F-"+strconv.Itoa(i), 1).ID) != home {
					break
				}
			}

			c := storagetest.MustCart(t, s)
			r, err := s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
			require.NoError(t, err)
			require.Equal(t, 1, r.Reserved)
			assert.Equal(t, home, page(p.ID), "the reservation's new row version left the page: not a HOT update")
			got, err := s.ProductByID(ctx, p.ID)
			require.NoError(t, err)
			assert.Equal(t, desc, *got.Description)
			assert.Equal(t, 1, got.Held)
		})
	}
}

// prose is n bytes of words that read (and compress) like a product
// description: a few hundred words from a vocabulary, the same every run.
func prose(n int) string {
	words := strings.Fields(`the a of and to in with for on by from as is it this that each its
		walnut oak ash maple linen cotton wool leather steel brass copper glass stone clay paper
		hand turned oiled waxed woven stitched finished cut shaped fired glazed sanded polished
		table tray bowl board shelf stool lamp vase basket blanket cushion jug mug plate spoon
		small large deep wide narrow heavy light warm soft smooth rough plain bright dark natural
		kitchen garden table room window morning evening winter summer workshop maker village
		holds keeps serves carries lasts ages wears weathers darkens softens brightens fits`)
	rng := rand.New(rand.NewPCG(20, 12))
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(words[rng.IntN(len(words))])
		if rng.IntN(9) == 0 {
			b.WriteString(". ")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()[:n]
}
