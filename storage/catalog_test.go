package storage_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

func ptr[T any](v T) *T { return &v }

func newProduct(sku, name string) storage.NewProduct {
	return storage.NewProduct{SKU: sku, Name: name, PriceAmount: "10.00", Currency: "USD", Stock: 1}
}

func TestSlugify(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Holdfast T-shirt, black, M":    "holdfast-t-shirt-black-m",
		"  Café crème -- 250 g  ":       "cafe-creme-250-g",
		"ÅNGSTRÖM ﬁne":                  "angstrom-fine",
		"日本":                            "product",
		"--":                            "product",
		"Limited drop sneaker, size 42": "limited-drop-sneaker-size-42",
	} {
		got := storage.Slugify(in, "product")
		assert.Equal(t, want, got, "Slugify(%q)", in)
		assert.True(t, storage.ValidHandle(got), got)
		assert.LessOrEqual(t, len(got), 235)
	}
	long := storage.Slugify(strings.Repeat("ab ", 200), "product")
	assert.True(t, storage.ValidHandle(long))
	assert.True(t, strings.HasPrefix(long, "ab-ab-"))
	assert.LessOrEqual(t, len(long), 235, "room is left for a suffix")
	for _, bad := range []string{"", "Mug", "-mug", "mug-", "mug--2", "mug 2", "müg", "mug_2", strings.Repeat("a", 256)} {
		assert.False(t, storage.ValidHandle(bad), "%q", bad)
	}
	assert.True(t, storage.ValidHandle(strings.Repeat("a", 255)))
}

func TestProductHandles(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()

	t.Run("derived from the name, then -2, -3", func(t *testing.T) {
		var handles []string
		for i := range 3 {
			p, err := s.CreateProduct(ctx, newProduct(fmt.Sprintf("MUG-%d", i), "Enamel mug"))
			require.NoError(t, err)
			handles = append(handles, p.Handle)
		}
		assert.Equal(t, []string{"enamel-mug", "enamel-mug-2", "enamel-mug-3"}, handles)
	})

	t.Run("the smallest free suffix", func(t *testing.T) {
		in := newProduct("GAP-EXPLICIT", "Gap")
		in.Handle = ptr("gap-3")
		_, err := s.CreateProduct(ctx, in)
		require.NoError(t, err)
		var handles []string
		for i := range 3 {
			p, err := s.CreateProduct(ctx, newProduct(fmt.Sprintf("GAP-%d", i), "Gap"))
			require.NoError(t, err)
			handles = append(handles, p.Handle)
		}
		assert.Equal(t, []string{"gap", "gap-2", "gap-4"}, handles)
	})

	t.Run("a handle given that is taken is DUPLICATE_HANDLE and writes nothing", func(t *testing.T) {
		before := storagetest.Snapshot(t, s.DB())
		in := newProduct("OTHER-MUG", "Another mug")
		in.Handle = ptr("enamel-mug")
		_, err := s.CreateProduct(ctx, in)
		assert.Equal(t, storage.CodeDuplicateHandle, codeOf(err))
		assert.ErrorIs(t, err, storage.ErrDuplicateHandle)
		var se *storage.Error
		require.ErrorAs(t, err, &se)
		assert.Equal(t, []string{"input", "handle"}, se.Field)
		assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))
	})

	t.Run("a malformed handle is INVALID_INPUT", func(t *testing.T) {
		for _, h := range []string{"", "Mug", "mug--1", "-mug", strings.Repeat("a", 256)} {
			in := newProduct("BAD-HANDLE", "Bad")
			in.Handle = ptr(h)
			_, err := s.CreateProduct(ctx, in)
			assert.Equal(t, storage.CodeInvalidInput, codeOf(err), "%q", h)
		}
	})

	t.Run("update: renaming keeps the handle; a taken one is refused", func(t *testing.T) {
		p, err := s.CreateProduct(ctx, newProduct("LAMP", "Desk lamp"))
		require.NoError(t, err)
		p, err = s.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Name: ptr("Floor lamp")})
		require.NoError(t, err)
		assert.Equal(t, "desk-lamp", p.Handle)
		_, err = s.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Handle: ptr("enamel-mug")})
		assert.Equal(t, storage.CodeDuplicateHandle, codeOf(err))
		_, err = s.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Handle: ptr("Floor Lamp")})
		assert.Equal(t, storage.CodeInvalidInput, codeOf(err))
		p, err = s.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Handle: ptr("floor-lamp")})
		require.NoError(t, err)
		assert.Equal(t, "floor-lamp", p.Handle)
		got, err := s.ProductByHandle(ctx, "floor-lamp")
		require.NoError(t, err)
		require.NotNil(t, got)
		assert.Equal(t, p.ID, got.ID)
		got, err = s.ProductByHandle(ctx, "desk-lamp")
		require.NoError(t, err)
		assert.Nil(t, got)
	})

	t.Run("concurrent creations with one name all get distinct handles", func(t *testing.T) {
		const n = 8
		handles := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				p, err := s.CreateProduct(ctx, newProduct(fmt.Sprintf("RACE-%d", i), "Race"))
				if assert.NoError(t, err) {
					handles[i] = p.Handle
				}
			})
		}
		wg.Wait()
		want := []string{"race"}
		for i := 2; i <= n; i++ {
			want = append(want, fmt.Sprintf("race-%d", i))
		}
		assert.ElementsMatch(t, want, handles)
	})
}

func TestImages(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()

	in := newProduct("IMG", "Pictured")
	in.Images = []storage.NewImage{
		{URL: "https://cdn.example.com/a.png", AltText: ptr("front")},
		{URL: "/img/b.jpg"},
		{URL: "data:image/svg+xml;base64,PHN2Zy8+"},
	}
	p, err := s.CreateProduct(ctx, in)
	require.NoError(t, err)
	urls := func() []string {
		m, err := s.ImagesByProductIDs(ctx, []int64{p.ID, p.ID + 1000})
		require.NoError(t, err)
		assert.Empty(t, m[p.ID+1000], "an id without images has an empty entry")
		var out []string
		for _, img := range m[p.ID] {
			out = append(out, img.URL)
		}
		return out
	}
	assert.Equal(t, []string{"https://cdn.example.com/a.png", "/img/b.jpg", "data:image/svg+xml;base64,PHN2Zy8+"}, urls())

	_, err = s.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Images: []storage.NewImage{{URL: "/img/c.png"}, {URL: "/img/a.png"}}})
	require.NoError(t, err)
	assert.Equal(t, []string{"/img/c.png", "/img/a.png"}, urls(), "an update replaces the images, in the new order")
	_, err = s.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Name: ptr("Renamed")})
	require.NoError(t, err)
	assert.Equal(t, []string{"/img/c.png", "/img/a.png"}, urls(), "no images given: unchanged")
	_, err = s.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Images: []storage.NewImage{}})
	require.NoError(t, err)
	assert.Empty(t, urls(), "an empty list removes them")

	t.Run("invalid images are INVALID_INPUT", func(t *testing.T) {
		before := storagetest.Snapshot(t, s.DB())
		many := make([]storage.NewImage, storage.MaxImages+1)
		for i := range many {
			many[i] = storage.NewImage{URL: "/i.png"}
		}
		for name, imgs := range map[string][]storage.NewImage{
			"http":              {{URL: "http://example.com/a.png"}},
			"javascript":        {{URL: "javascript:alert(1)"}},
			"protocol-relative": {{URL: "//evil.example/a.png"}},
			"no host":           {{URL: "https:///a.png"}},
			"credentials":       {{URL: "https://u:p@example.com/a.png"}},
			"data, not image":   {{URL: "data:text/html;base64,PHNjcmlwdD4="}},
			"data, no comma":    {{URL: "data:image/png;base64"}},
			"control character": {{URL: "/a\n.png"}},
			"space":             {{URL: "/a b.png"}},
			"empty":             {{URL: ""}},
			"too long":          {{URL: "/" + strings.Repeat("a", storage.MaxImageURLLen)}},
			"alt text too long": {{URL: "/a.png", AltText: ptr(strings.Repeat("a", 501))}},
			"too many":          many,
		} {
			in := newProduct("IMG-BAD", "Bad")
			in.Images = imgs
			_, err := s.CreateProduct(ctx, in)
			assert.Equal(t, storage.CodeInvalidInput, codeOf(err), name)
			_, err = s.UpdateProduct(ctx, p.ID, storage.ProductUpdate{Images: imgs})
			assert.Equal(t, storage.CodeInvalidInput, codeOf(err), name)
		}
		assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))
	})
}

func TestCollections(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	a := storagetest.MustProduct(t, s, "A", 1)
	b := storagetest.MustProduct(t, s, "B", 1)

	c, err := s.CreateCollection(ctx, storage.NewCollection{Title: " Summer sale "})
	require.NoError(t, err)
	assert.Equal(t, "summer-sale", c.Handle)
	assert.Equal(t, "Summer sale", c.Title)
	c2, err := s.CreateCollection(ctx, storage.NewCollection{Title: "Summer sale"})
	require.NoError(t, err)
	assert.Equal(t, "summer-sale-2", c2.Handle, "derived collection handles are made unique too")
	_, err = s.CreateCollection(ctx, storage.NewCollection{Title: "X", Handle: ptr("summer-sale")})
	assert.Equal(t, storage.CodeDuplicateHandle, codeOf(err))
	_, err = s.CreateCollection(ctx, storage.NewCollection{Title: "  "})
	assert.Equal(t, storage.CodeInvalidInput, codeOf(err))
	_, err = s.UpdateCollection(ctx, c2.ID, storage.CollectionUpdate{Handle: ptr("summer-sale")})
	assert.Equal(t, storage.CodeDuplicateHandle, codeOf(err))
	_, err = s.UpdateCollection(ctx, c2.ID+100, storage.CollectionUpdate{Title: ptr("Y")})
	assert.Equal(t, storage.CodeCollectionNotFound, codeOf(err))

	collectionsOf := func(id int64) []int64 {
		m, err := s.CollectionsByProductIDs(ctx, []int64{id})
		require.NoError(t, err)
		var out []int64
		for _, c := range m[id] {
			out = append(out, c.ID)
		}
		return out
	}

	t.Run("adding is all or none", func(t *testing.T) {
		before := storagetest.Snapshot(t, s.DB())
		_, err := s.AddProductsToCollection(ctx, c.ID, []int64{a.ID, b.ID + 100})
		assert.Equal(t, storage.CodeProductNotFound, codeOf(err))
		_, err = s.AddProductsToCollection(ctx, c.ID, []int64{a.ID, 0})
		assert.Equal(t, storage.CodeProductNotFound, codeOf(err), "0 stands for a malformed id")
		_, err = s.AddProductsToCollection(ctx, c.ID+100, []int64{a.ID})
		assert.Equal(t, storage.CodeCollectionNotFound, codeOf(err))
		assert.Equal(t, before, storagetest.Snapshot(t, s.DB()))
		assert.Empty(t, collectionsOf(a.ID))
	})

	t.Run("add, add again, remove", func(t *testing.T) {
		_, err := s.AddProductsToCollection(ctx, c.ID, []int64{a.ID, b.ID, a.ID})
		require.NoError(t, err)
		_, err = s.AddProductsToCollection(ctx, c.ID, []int64{a.ID})
		require.NoError(t, err, "adding a member again changes nothing")
		_, err = s.AddProductsToCollection(ctx, c2.ID, []int64{a.ID})
		require.NoError(t, err)
		assert.Equal(t, []int64{c.ID, c2.ID}, collectionsOf(a.ID))
		n, err := s.CollectionProductCounts(ctx, []storage.CollectionCountKey{{CollectionID: c.ID}, {CollectionID: c2.ID}})
		require.NoError(t, err)
		assert.Equal(t, 2, n[storage.CollectionCountKey{CollectionID: c.ID}])
		assert.Equal(t, 1, n[storage.CollectionCountKey{CollectionID: c2.ID}])

		_, err = s.RemoveProductsFromCollection(ctx, c.ID, []int64{a.ID, 12345})
		require.NoError(t, err)
		assert.Equal(t, []int64{c2.ID}, collectionsOf(a.ID))
		_, err = s.RemoveProductsFromCollection(ctx, c.ID+100, []int64{a.ID})
		assert.Equal(t, storage.CodeCollectionNotFound, codeOf(err))
	})

	t.Run("too many products per call", func(t *testing.T) {
		_, err := s.AddProductsToCollection(ctx, c.ID, make([]int64, storage.MaxCollectionProducts+1))
		assert.Equal(t, storage.CodeInvalidInput, codeOf(err))
	})

	t.Run("delete keeps the products", func(t *testing.T) {
		require.NoError(t, s.DeleteCollection(ctx, c2.ID))
		assert.Empty(t, collectionsOf(a.ID))
		p, err := s.ProductByID(ctx, a.ID)
		require.NoError(t, err)
		assert.NotNil(t, p)
		assert.Equal(t, storage.CodeCollectionNotFound, codeOf(s.DeleteCollection(ctx, c2.ID)))
		got, err := s.CollectionByHandle(ctx, c2.Handle)
		require.NoError(t, err)
		assert.Nil(t, got)
	})
}

// The search runs in the database on its indexes: the GIN index on the
// stored search_vector for words, the trigram GIN index for substrings
// (combined by a BitmapOr), never by reading every product, and never
// parsing a product's text (to_tsvector) per row: ranks read the stored
// document, and only for the candidates a LIMIT bounds.
// byIDs is a plan's lookup of products by the ids of a search's matches.
var byIDs = regexp.MustCompile(`Index Scan using products_pkey on products \w+\s+\(cost=[^)]*\)\n\s+Index Cond: \(id = ANY \(\$\d+\)\)`)

func TestSearchUsesIndexes(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	storagetest.MustProduct(t, s, "SNEAKER-1", 1)

	for _, p := range []storage.ProductPageParams{
		{Filter: storage.ProductFilter{Query: "sneaker"}, Sort: storage.SortRelevance, First: 20},
		{Filter: storage.ProductFilter{Query: "black tee", Stock: storage.InStockOnly}, Sort: storage.SortName, Last: 5},
	} {
		for _, count := range []bool{false, true} {
			plan, err := s.ExplainListProducts(ctx, p, count, true)
			require.NoError(t, err)
			assert.NotContains(t, plan, "Seq Scan", plan)
			assert.NotContains(t, plan, "to_tsvector", plan)
			assert.Contains(t, plan, "Bitmap Index Scan on product_search_vector_idx", plan)
			assert.Contains(t, plan, "Bitmap Index Scan on products_search_trgm_idx", plan)
		}
	}

	t.Run("a catalog big enough for the planner to choose them", func(t *testing.T) {
		_, err := s.DB().ExecContext(ctx, `
			INSERT INTO products (sku, handle, name, description, price_cents, currency, stock)
			SELECT 'BULK-' || g, 'bulk-' || g, 'Bulk item ' || g, 'Filler for the planner', 100, 'USD', 1
			FROM generate_series(1, 5000) AS g`)
		require.NoError(t, err)
		_, err = s.DB().ExecContext(ctx, `ANALYZE products`)
		require.NoError(t, err)
		for _, q := range []string{"sneaker", "bulk", "b"} {
			for _, sort := range []storage.ProductSort{storage.SortRelevance, storage.SortName} {
				p := storage.ProductPageParams{Filter: storage.ProductFilter{Query: q}, Sort: sort, First: 20}
				plan, err := s.ExplainListProducts(ctx, p, false, false)
				require.NoError(t, err)
				assert.Contains(t, plan, "Bitmap Index Scan on product_search_vector_idx", plan)
				assert.NotContains(t, plan, "Seq Scan", plan)
				assert.NotContains(t, plan, "to_tsvector", plan)
				// The primary key finds the document's matches by id
				// (= ANY of the InitPlan's array): no walk.
				walks := byIDs.ReplaceAllString(plan, "")
				assert.NotContains(t, walks, "Index Scan using products_", "no walk of a sort key's index: "+plan)
			}
		}
	})
}

func TestSeedDemo(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	n, err := s.SeedDemo(ctx)
	require.NoError(t, err)
	assert.Equal(t, 13, n)
	n, err = s.SeedDemo(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "a catalog with products is left alone")

	// The README's session depends on these.
	page, err := s.ListProducts(ctx, storage.ProductPageParams{Sort: storage.SortID, First: 5})
	require.NoError(t, err)
	var got []string
	ids := make([]int64, len(page.Edges))
	for i, e := range page.Edges {
		p := e.Product
		got = append(got, fmt.Sprintf("%d %s %d %d %s", p.ID, p.SKU, p.PriceCents, p.Stock, p.Handle))
		ids[i] = p.ID
	}
	assert.Equal(t, []string{
		"1 TEE-BLACK-M 2490 50 holdfast-t-shirt-black-m",
		"2 MUG-ENAMEL 1400 120 enamel-camp-mug",
		"3 SNEAKER-DROP-42 18900 10 limited-drop-sneaker-size-42",
		"4 POSTER-A2 3500 3 screen-printed-poster-a2",
		"5 STICKER-PACK 450 1000 sticker-pack",
	}, got)
	imgs, err := s.ImagesByProductIDs(ctx, ids)
	require.NoError(t, err)
	for _, id := range ids {
		require.NotEmpty(t, imgs[id])
		assert.True(t, strings.HasPrefix(imgs[id][0].URL, "data:image/svg+xml;base64,"))
	}
	merch, err := s.CollectionByHandle(ctx, "merch")
	require.NoError(t, err)
	require.NotNil(t, merch)
	drops, err := s.CollectionByHandle(ctx, "limited-drops")
	require.NoError(t, err)
	require.NotNil(t, drops)
	counts, err := s.CollectionProductCounts(ctx, []storage.CollectionCountKey{{CollectionID: merch.ID}, {CollectionID: drops.ID}})
	require.NoError(t, err)
	assert.Equal(t, 3, counts[storage.CollectionCountKey{CollectionID: merch.ID}])
	assert.Equal(t, 2, counts[storage.CollectionCountKey{CollectionID: drops.ID}])

	// Two grouped articles beside ungrouped products (issue 22).
	tee, err := s.ProductGroupByHandle(ctx, "holdfast-t-shirt")
	require.NoError(t, err)
	require.NotNil(t, tee)
	sneaker, err := s.ProductGroupByHandle(ctx, "limited-drop-sneaker")
	require.NoError(t, err)
	require.NotNil(t, sneaker)
	variants, err := s.VariantsByGroupIDs(ctx, []int64{tee.ID, sneaker.ID})
	require.NoError(t, err)
	assert.Len(t, variants[tee.ID], 6)
	assert.Equal(t, "TEE-BLACK-S", variants[tee.ID][0].SKU)
	var sizes []string
	for _, v := range variants[sneaker.ID] {
		sizes = append(sizes, v.SKU)
	}
	assert.Equal(t, []string{"SNEAKER-DROP-41", "SNEAKER-DROP-42", "SNEAKER-DROP-43", "SNEAKER-DROP-44"}, sizes)
	assert.Equal(t, 3+10+4+2, sneaker.Available)
	mug, err := s.ProductBySKU(ctx, "MUG-ENAMEL")
	require.NoError(t, err)
	assert.Nil(t, mug.GroupID, "the rest stays ungrouped")
}
