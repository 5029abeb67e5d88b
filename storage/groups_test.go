package storage_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// tshirt creates a group Size [S, M, L] x Colour [Black, White].
func tshirt(t *testing.T, s *storage.Store, title string) *storage.ProductGroup {
	t.Helper()
	g, err := s.CreateProductGroup(context.Background(), storage.NewProductGroup{Title: title, Options: storage.ProductOptions{
		{Name: "Size", Values: []string{"S", "M", "L"}},
		{Name: "Colour", Values: []string{"Black", "White"}},
	}})
	require.NoError(t, err)
	return g
}

func variant(groupID int64, sku, price string, stock int, sel storage.OptionSelection) storage.NewProduct {
	return storage.NewProduct{SKU: sku, Name: "Variant " + sku, PriceAmount: price, Currency: "USD", Stock: stock, GroupID: &groupID, SelectedOptions: sel}
}

func requireCode(t *testing.T, err error, code storage.Code) {
	t.Helper()
	var se *storage.Error
	require.ErrorAs(t, err, &se, "want a refusal %s", code)
	require.Equal(t, code, se.Code, se.Message)
}

func TestProductGroupOptionRules(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	g := tshirt(t, s, "Holdfast T-shirt")
	assert.Equal(t, "holdfast-t-shirt", g.Handle)
	sm, err := s.CreateProduct(ctx, variant(g.ID, "TS-S-BLK", "20.00", 3, storage.OptionSelection{"Size": "S", "Colour": "Black"}))
	require.NoError(t, err)
	require.NotNil(t, sm.GroupID)
	assert.Equal(t, g.ID, *sm.GroupID)
	assert.Equal(t, storage.OptionSelection{"Size": "S", "Colour": "Black"}, sm.SelectedOptions)
	loose := storagetest.MustProduct(t, s, "LOOSE", 2)

	refused := func(t *testing.T, code storage.Code, op func() error) {
		t.Helper()
		before := storagetest.Snapshot(t, s.DB())
		requireCode(t, op(), code)
		assert.Equal(t, before, storagetest.Snapshot(t, s.DB()), "a refusal writes nothing")
	}
	for name, sel := range map[string]storage.OptionSelection{
		"duplicate combination": {"Size": "S", "Colour": "Black"},
		"missing value":         {"Size": "M"},
		"unknown option":        {"Size": "M", "Colour": "Black", "Fit": "Slim"},
		"unknown value":         {"Size": "XL", "Colour": "Black"},
		"none at all":           nil,
	} {
		t.Run(name, func(t *testing.T) {
			refused(t, storage.CodeVariantOptionsInvalid, func() error {
				_, err := s.CreateProduct(ctx, variant(g.ID, "TS-NEW", "20.00", 1, sel))
				return err
			})
			refused(t, storage.CodeVariantOptionsInvalid, func() error {
				_, err := s.UpdateProduct(ctx, loose.ID, storage.ProductUpdate{SetGroup: true, GroupID: &g.ID, SelectedOptions: sel})
				return err
			})
		})
	}
	t.Run("naming its own group again keeps a variant's options", func(t *testing.T) {
		p, err := s.UpdateProduct(ctx, sm.ID, storage.ProductUpdate{SetGroup: true, GroupID: &g.ID, Name: ptr("Renamed tee")})
		require.NoError(t, err)
		assert.Equal(t, storage.OptionSelection{"Size": "S", "Colour": "Black"}, p.SelectedOptions)
	})
	t.Run("selected options without a group", func(t *testing.T) {
		refused(t, storage.CodeVariantOptionsInvalid, func() error {
			_, err := s.UpdateProduct(ctx, loose.ID, storage.ProductUpdate{SelectedOptions: storage.OptionSelection{"Size": "M"}})
			return err
		})
	})
	t.Run("unknown group", func(t *testing.T) {
		refused(t, storage.CodeProductGroupNotFound, func() error {
			_, err := s.CreateProduct(ctx, variant(g.ID+1000, "TS-NEW", "20.00", 1, storage.OptionSelection{}))
			return err
		})
	})
	t.Run("one currency per group", func(t *testing.T) {
		refused(t, storage.CodeCurrencyMismatch, func() error {
			in := variant(g.ID, "TS-EUR", "20.00", 1, storage.OptionSelection{"Size": "M", "Colour": "Black"})
			in.Currency = "EUR"
			_, err := s.CreateProduct(ctx, in)
			return err
		})
		_, err := s.CreateProduct(ctx, variant(g.ID, "TS-M-BLK", "22.00", 1, storage.OptionSelection{"Size": "M", "Colour": "Black"}))
		require.NoError(t, err)
		refused(t, storage.CodeCurrencyMismatch, func() error {
			// One variant of two cannot change currency alone.
			_, err := s.UpdateProduct(ctx, sm.ID, storage.ProductUpdate{Currency: ptr("EUR")})
			return err
		})
	})
	t.Run("options gain values, never lose used ones", func(t *testing.T) {
		refused(t, storage.CodeVariantOptionsInvalid, func() error {
			_, err := s.UpdateProductGroup(ctx, g.ID, storage.ProductGroupUpdate{Options: storage.ProductOptions{
				{Name: "Size", Values: []string{"M", "L"}}, {Name: "Colour", Values: []string{"Black", "White"}},
			}})
			return err
		})
		refused(t, storage.CodeVariantOptionsInvalid, func() error {
			_, err := s.UpdateProductGroup(ctx, g.ID, storage.ProductGroupUpdate{Options: storage.ProductOptions{
				{Name: "Size", Values: []string{"S", "M", "L"}},
			}})
			return err
		})
		refused(t, storage.CodeVariantOptionsInvalid, func() error {
			_, err := s.UpdateProductGroup(ctx, g.ID, storage.ProductGroupUpdate{Options: storage.ProductOptions{
				{Name: "Size", Values: []string{"S", "M", "L"}}, {Name: "Colour", Values: []string{"Black", "White"}},
				{Name: "Fit", Values: []string{"Slim"}},
			}})
			return err
		})
		g2, err := s.UpdateProductGroup(ctx, g.ID, storage.ProductGroupUpdate{Options: storage.ProductOptions{
			{Name: "Colour", Values: []string{"White", "Black", "Red"}}, {Name: "Size", Values: []string{"XS", "S", "M", "L", "XL"}},
		}})
		require.NoError(t, err)
		assert.Equal(t, "Colour", g2.Options[0].Name)
		_, err = s.CreateProduct(ctx, variant(g.ID, "TS-XL-RED", "25.00", 1, storage.OptionSelection{"Size": "XL", "Colour": "Red"}))
		require.NoError(t, err)
	})
	t.Run("racing admins create one combination once", func(t *testing.T) {
		var ok, dup atomic.Int32
		fns := make([]func(), 8)
		for i := range fns {
			fns[i] = func() {
				_, err := s.CreateProduct(ctx, variant(g.ID, fmt.Sprintf("TS-L-WHT-%d", i), "20.00", 1, storage.OptionSelection{"Size": "L", "Colour": "White"}))
				var se *storage.Error
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &se) && se.Code == storage.CodeVariantOptionsInvalid:
					dup.Add(1)
				default:
					t.Errorf("unexpected: %v", err)
				}
			}
		}
		together(fns...)
		assert.EqualValues(t, 1, ok.Load())
		assert.EqualValues(t, 7, dup.Load())
	})
	t.Run("racing: an option removed while a variant uses it", func(t *testing.T) {
		// Whoever goes second sees the first: never both.
		g := tshirt(t, s, "Race shirt")
		_, err := s.CreateProduct(ctx, variant(g.ID, "RACE-S-BLK", "20.00", 1, storage.OptionSelection{"Size": "S", "Colour": "Black"}))
		require.NoError(t, err)
		var created, narrowed error
		together(func() {
			_, created = s.CreateProduct(ctx, variant(g.ID, "RACE-L-WHT", "20.00", 1, storage.OptionSelection{"Size": "L", "Colour": "White"}))
		}, func() {
			_, narrowed = s.UpdateProductGroup(ctx, g.ID, storage.ProductGroupUpdate{Options: storage.ProductOptions{
				{Name: "Size", Values: []string{"S"}}, {Name: "Colour", Values: []string{"Black"}},
			}})
		})
		require.NotEqual(t, created == nil, narrowed == nil, "exactly one wins: %v / %v", created, narrowed)
		if created != nil {
			requireCode(t, created, storage.CodeVariantOptionsInvalid)
		} else {
			requireCode(t, narrowed, storage.CodeVariantOptionsInvalid)
		}
	})
}

func TestProductGroupFlashSaleOnOneVariant(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	g, err := s.CreateProductGroup(ctx, storage.NewProductGroup{Title: "Drop sneaker", Options: storage.ProductOptions{{Name: "Size", Values: []string{"41", "42", "43"}}}})
	require.NoError(t, err)
	stocks := map[string]int{"41": 20, "42": 3, "43": 20}
	ids := map[string]int64{}
	for size, n := range stocks {
		p, err := s.CreateProduct(ctx, variant(g.ID, "DROP-"+size, "120.00", n, storage.OptionSelection{"Size": size}))
		require.NoError(t, err)
		ids[size] = p.ID
	}
	// 30 buyers on size 42 (3 units), 10 each on 41 and 43, at once.
	var mu sync.Mutex
	sold := map[string]int{}
	var fns []func()
	buy := func(size string) func() {
		return func() {
			c, err := s.CreateCart(ctx)
			if err != nil {
				t.Error(err)
				return
			}
			_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: ids[size], Quantity: 1})
			allowed(t, err, storage.CodeInsufficientStock)
			if err == nil {
				mu.Lock()
				sold[size]++
				mu.Unlock()
			}
		}
	}
	for range 30 {
		fns = append(fns, buy("42"))
	}
	for range 10 {
		fns = append(fns, buy("41"), buy("43"))
	}
	together(fns...)
	assert.Equal(t, map[string]int{"41": 10, "42": 3, "43": 10}, sold)
	for size, id := range ids {
		p, err := s.ProductByID(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, sold[size], p.Held, size)
	}
	g, err = s.ProductGroupByID(ctx, g.ID)
	require.NoError(t, err)
	assert.Equal(t, 10+0+10, g.Available, "the group's available is its variants' sum")
	storagetest.AssertBooks(t, s)
}

func TestDeleteProductGroupKeepsProductsSellable(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	g := tshirt(t, s, "Gone shirt")
	p, err := s.CreateProduct(ctx, variant(g.ID, "GONE-S-BLK", "20.00", 2, storage.OptionSelection{"Size": "S", "Colour": "Black"}))
	require.NoError(t, err)
	c := storagetest.MustCart(t, s)
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err)

	deleted, err := s.DeleteProductGroup(ctx, g.ID)
	require.NoError(t, err)
	assert.Equal(t, g.ID, deleted.ID)
	got, err := s.ProductGroupByID(ctx, g.ID)
	require.NoError(t, err)
	assert.Nil(t, got)
	p, err = s.ProductByID(ctx, p.ID)
	require.NoError(t, err)
	assert.Nil(t, p.GroupID)
	assert.Nil(t, p.SelectedOptions)
	assert.Equal(t, 1, p.Held, "the hold stays")
	_, err = s.AddToCart(ctx, storage.AddToCartParams{CartID: c.ID, ProductID: p.ID, Quantity: 1})
	require.NoError(t, err, "still sellable")
	_, err = s.DeleteProductGroup(ctx, g.ID)
	requireCode(t, err, storage.CodeProductGroupNotFound)
	storagetest.AssertBooks(t, s)
}

func TestProductGroupListing(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	var groups []*storage.ProductGroup
	for i := range 5 {
		g, err := s.CreateProductGroup(ctx, storage.NewProductGroup{Title: fmt.Sprintf("Article %d", i), Options: storage.ProductOptions{{Name: "Size", Values: []string{"S", "M"}}}})
		require.NoError(t, err)
		groups = append(groups, g)
		// Prices: the lowest variant is 50 - 10*i, so PRICE runs backwards.
		for j, size := range []string{"S", "M"} {
			stock := 0
			if i%2 == 0 {
				stock = 1
			}
			_, err := s.CreateProduct(ctx, variant(g.ID, fmt.Sprintf("ART%d-%s", i, size), fmt.Sprintf("%d.00", 50-10*i+j*100), stock, storage.OptionSelection{"Size": size}))
			require.NoError(t, err)
		}
	}
	storagetest.MustProduct(t, s, "UNGROUPED", 1)
	list := func(p storage.GroupPageParams) *storage.GroupPage {
		t.Helper()
		page, err := s.ListProductGroups(ctx, p)
		require.NoError(t, err)
		return page
	}
	ids := func(page *storage.GroupPage) []int64 {
		var out []int64
		for _, e := range page.Edges {
			out = append(out, e.Group.ID)
		}
		return out
	}

	t.Run("price sorts by the lowest variant", func(t *testing.T) {
		page := list(storage.GroupPageParams{ProductPageParams: storage.ProductPageParams{Sort: storage.SortPrice, First: 5}})
		assert.Equal(t, []int64{groups[4].ID, groups[3].ID, groups[2].ID, groups[1].ID, groups[0].ID}, ids(page))
		assert.EqualValues(t, 1000, page.Edges[0].Group.MinPriceCents)
		assert.EqualValues(t, 11000, page.Edges[0].Group.MaxPriceCents)
	})
	t.Run("in stock: some variant available", func(t *testing.T) {
		page := list(storage.GroupPageParams{ProductPageParams: storage.ProductPageParams{Sort: storage.SortID, First: 10, Filter: storage.ProductFilter{Stock: storage.InStockOnly}}})
		assert.Equal(t, []int64{groups[0].ID, groups[2].ID, groups[4].ID}, ids(page))
		assert.Equal(t, 2, page.Edges[0].Group.Available)
		n, err := s.CountProductGroups(ctx, storage.ProductFilter{Stock: storage.OutOfStockOnly}, 0)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
	})
	t.Run("search matches a variant's sku", func(t *testing.T) {
		page := list(storage.GroupPageParams{ProductPageParams: storage.ProductPageParams{Sort: storage.SortRelevance, First: 10, Filter: storage.ProductFilter{Query: "art3-m"}}})
		assert.Equal(t, []int64{groups[3].ID}, ids(page))
	})
	t.Run("a collection's groups, one collection or many", func(t *testing.T) {
		a, err := s.CreateCollection(ctx, storage.NewCollection{Title: "Shelf A"})
		require.NoError(t, err)
		b, err := s.CreateCollection(ctx, storage.NewCollection{Title: "Shelf B"})
		require.NoError(t, err)
		member := func(c *storage.Collection, gs ...*storage.ProductGroup) {
			for _, g := range gs {
				vs, err := s.VariantsByGroupIDs(ctx, []int64{g.ID})
				require.NoError(t, err)
				_, err = s.AddProductsToCollection(ctx, c.ID, []int64{vs[g.ID][1].ID})
				require.NoError(t, err)
			}
		}
		member(a, groups[0], groups[1], groups[3])
		member(b, groups[4])
		first := storage.ProductPageParams{Sort: storage.SortID, First: 2}
		pages, err := s.CollectionGroupPages(ctx, []storage.CollectionPageKey{{CollectionID: a.ID, Params: first}, {CollectionID: b.ID, Params: first}})
		require.NoError(t, err)
		pa, pb := pages[storage.CollectionPageKey{CollectionID: a.ID, Params: first}], pages[storage.CollectionPageKey{CollectionID: b.ID, Params: first}]
		assert.Equal(t, []int64{groups[0].ID, groups[1].ID}, ids(pa))
		assert.True(t, pa.HasNextPage)
		assert.Equal(t, []int64{groups[4].ID}, ids(pb))
		assert.False(t, pb.HasNextPage)
		next := first
		next.After = pa.Edges[1].Position
		page := list(storage.GroupPageParams{ProductPageParams: next, CollectionID: a.ID})
		assert.Equal(t, []int64{groups[3].ID}, ids(page))
		assert.True(t, page.HasPreviousPage)
		assert.False(t, page.HasNextPage)
		counts, err := s.CollectionGroupCounts(ctx, []storage.CollectionCountKey{{CollectionID: a.ID}, {CollectionID: b.ID}})
		require.NoError(t, err)
		assert.Equal(t, 3, counts[storage.CollectionCountKey{CollectionID: a.ID}])
		assert.Equal(t, 1, counts[storage.CollectionCountKey{CollectionID: b.ID}])
	})
	t.Run("paging is stable under inserts", func(t *testing.T) {
		p := storage.GroupPageParams{ProductPageParams: storage.ProductPageParams{Sort: storage.SortName, First: 2}}
		first := list(p)
		require.True(t, first.HasNextPage)
		// A group inserted before the cursor does not shift the next page.
		_, err := s.CreateProductGroup(ctx, storage.NewProductGroup{Title: "Article 0a"})
		require.NoError(t, err)
		p.After = first.Edges[1].Position
		second := list(p)
		assert.Equal(t, []int64{groups[2].ID, groups[3].ID}, ids(second))
		assert.True(t, second.HasPreviousPage)
	})
}

// The rules hold for any writer, not only this package's code: SQL that
// bypasses it is refused by the database.
func TestProductGroupRulesInTheDatabase(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	g := tshirt(t, s, "Raw shirt")
	p := storagetest.MustProduct(t, s, "RAW-1", 1)
	q := storagetest.MustProduct(t, s, "RAW-2", 1)
	set := func(id int64, sel string) error {
		_, err := s.DB().Exec(`UPDATE products SET group_id = $2, selected_options = $3::jsonb WHERE id = $1`, id, g.ID, sel)
		return err
	}
	require.NoError(t, set(p.ID, `{"Colour": "White", "Size": "M"}`))
	for name, sel := range map[string]string{
		"duplicate (keys in another order)": `{"Size": "M", "Colour": "White"}`,
		"missing value":                     `{"Size": "L"}`,
		"unknown value":                     `{"Size": "XL", "Colour": "White"}`,
		"not a string":                      `{"Size": 3, "Colour": "White"}`,
	} {
		assert.Error(t, set(q.ID, sel), name)
	}
	_, err := s.DB().Exec(`UPDATE products SET group_id = NULL WHERE id = $1`, p.ID)
	assert.Error(t, err, "selected options without a group")
	_, err = s.DB().Exec(`DELETE FROM product_groups WHERE id = $1`, g.ID)
	assert.Error(t, err, "a group is not deleted from under its variants")
	_, err = s.DB().Exec(`UPDATE product_groups SET options = '[{"name": "Size", "values": ["M"]}]' WHERE id = $1`, g.ID)
	assert.Error(t, err, "an option a variant uses stays")
}

// Product events carry the variant's groupId.
func TestProductEventsCarryGroupID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	subscribeAll(t, s)
	g := tshirt(t, s, "Event shirt")
	p, err := s.CreateProduct(ctx, variant(g.ID, "EV-S-BLK", "20.00", 1, storage.OptionSelection{"Size": "S", "Colour": "Black"}))
	require.NoError(t, err)
	_, err = s.AdjustStock(ctx, p.ID, 2, "restock")
	require.NoError(t, err)
	_, err = s.SetStock(ctx, storage.SetStockParams{Items: []storage.SetStockItem{{ProductID: p.ID, HasProductID: true, Stock: 0}}})
	require.NoError(t, err)
	var got []struct {
		Topic   string  `db:"topic"`
		GroupID *string `db:"group_id"`
	}
	require.NoError(t, s.DB().Select(&got, `SELECT topic, data->>'groupId' AS group_id FROM webhook_events WHERE key = $1 ORDER BY id`, productKey(p)))
	want := storage.FormatProductID(g.ID)
	require.Len(t, got, 3, "STOCK_ADJUSTED twice, PRODUCT_SOLD_OUT")
	for _, ev := range got {
		require.NotNil(t, ev.GroupID, ev.Topic)
		assert.Equal(t, want, *ev.GroupID, ev.Topic)
	}
}

// createProductGroup and deleteProductGroup honour idempotency keys: a
// retry creates nothing more and answers what the first attempt did.
func TestProductGroupIdempotencyKeys(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	in := storage.NewProductGroup{Title: "Keyed tee", Options: storage.ProductOptions{{Name: "Size", Values: []string{"S"}}}, IdempotencyKey: "group-1"}
	a, err := s.CreateProductGroup(ctx, in)
	require.NoError(t, err)
	b, err := s.CreateProductGroup(ctx, in)
	require.NoError(t, err)
	assert.Equal(t, a.ID, b.ID)
	assert.Equal(t, "keyed-tee", b.Handle)
	assert.Equal(t, a.Options, b.Options)
	in.Title = "Other tee"
	_, err = s.CreateProductGroup(ctx, in)
	requireCode(t, err, storage.CodeIdempotencyKeyReused)
	var n int
	require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM product_groups`))
	assert.Equal(t, 1, n)

	d1, err := s.DeleteProductGroupKeyed(ctx, a.ID, "delete-1")
	require.NoError(t, err)
	d2, err := s.DeleteProductGroupKeyed(ctx, a.ID, "delete-1")
	require.NoError(t, err, "the retry answers the deleted group")
	assert.Equal(t, d1.ID, d2.ID)
	_, err = s.DeleteProductGroupKeyed(ctx, a.ID, "delete-2")
	requireCode(t, err, storage.CodeProductGroupNotFound)
}

// TestProductGroupImagesAndCollections pins what the group loaders read:
// a group's images in order (an alt text kept or absent), replaced whole by
// an update, and the collections holding some variant, each once, in id
// order; an unknown id has empty lists.
func TestProductGroupImagesAndCollections(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	g, err := s.CreateProductGroup(ctx, storage.NewProductGroup{Title: "Pictured", Options: storage.ProductOptions{{Name: "Size", Values: []string{"S", "M"}}},
		Images: []storage.NewImage{{URL: "https://img.example/a.png", AltText: ptr("front")}, {URL: "https://img.example/b.png"}}})
	require.NoError(t, err)
	small, err := s.CreateProduct(ctx, variant(g.ID, "PIC-S", "10.00", 1, storage.OptionSelection{"Size": "S"}))
	require.NoError(t, err)
	medium, err := s.CreateProduct(ctx, variant(g.ID, "PIC-M", "10.00", 1, storage.OptionSelection{"Size": "M"}))
	require.NoError(t, err)
	c1, err := s.CreateCollection(ctx, storage.NewCollection{Title: "First"})
	require.NoError(t, err)
	c2, err := s.CreateCollection(ctx, storage.NewCollection{Title: "Second"})
	require.NoError(t, err)
	_, err = s.CreateCollection(ctx, storage.NewCollection{Title: "Unrelated"})
	require.NoError(t, err)
	_, err = s.AddProductsToCollection(ctx, c2.ID, []int64{small.ID})
	require.NoError(t, err)
	_, err = s.AddProductsToCollection(ctx, c1.ID, []int64{small.ID, medium.ID})
	require.NoError(t, err)
	unknown := g.ID + 1000

	type img struct {
		URL string
		Alt *string
	}
	imagesOf := func() map[int64][]img {
		t.Helper()
		m, err := s.ImagesByGroupIDs(ctx, []int64{g.ID, unknown})
		require.NoError(t, err)
		out := map[int64][]img{}
		for id, imgs := range m {
			out[id] = []img{}
			for _, i := range imgs {
				require.Equal(t, id, i.ProductID)
				out[id] = append(out[id], img{i.URL, i.AltText})
			}
		}
		return out
	}
	assert.Equal(t, map[int64][]img{
		g.ID:    {{"https://img.example/a.png", ptr("front")}, {"https://img.example/b.png", nil}},
		unknown: {},
	}, imagesOf())

	_, err = s.UpdateProductGroup(ctx, g.ID, storage.ProductGroupUpdate{Images: []storage.NewImage{{URL: "https://img.example/c.png"}, {URL: "https://img.example/a.png", AltText: ptr("")}}})
	require.NoError(t, err)
	assert.Equal(t, map[int64][]img{
		g.ID:    {{"https://img.example/c.png", nil}, {"https://img.example/a.png", ptr("")}},
		unknown: {},
	}, imagesOf())

	cs, err := s.CollectionsByGroupIDs(ctx, []int64{g.ID, unknown})
	require.NoError(t, err)
	require.Len(t, cs, 2)
	require.NotNil(t, cs[unknown])
	assert.Empty(t, cs[unknown])
	var ids []int64
	for _, c := range cs[g.ID] {
		ids = append(ids, c.ID)
		assert.NotEmpty(t, c.Handle)
	}
	assert.Equal(t, []int64{c1.ID, c2.ID}, ids)
}

// A group's available is the sum of its variants', capped at the largest
// GraphQL Int: each variant's stock fits one, their sum may not.
func TestGroupAvailableFitsAnInt(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	g, err := s.CreateProductGroup(ctx, storage.NewProductGroup{Title: "Huge", Options: storage.ProductOptions{{Name: "Size", Values: []string{"S", "M"}}}})
	require.NoError(t, err)
	for _, size := range []string{"S", "M"} {
		_, err := s.CreateProduct(ctx, storage.NewProduct{
			SKU: "HUGE-" + size, Name: "Huge " + size, PriceAmount: "1.00", Currency: "USD", Stock: 1_500_000_000,
			GroupID: &g.ID, SelectedOptions: storage.OptionSelection{"Size": size},
		})
		require.NoError(t, err)
	}
	got, err := s.ProductGroupByID(ctx, g.ID)
	require.NoError(t, err)
	assert.Equal(t, math.MaxInt32, got.Available)
}

// A product page's one-query read gives what the group's read and its
// variants' read give, variants in display order; a group without variants
// and an unknown handle too.
func TestProductGroupWithVariantsByHandle(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	ctx := context.Background()
	g, err := s.CreateProductGroup(ctx, storage.NewProductGroup{Title: "Page tee", Options: storage.ProductOptions{{Name: "Size", Values: []string{"L", "S", "M"}}}})
	require.NoError(t, err)
	for _, size := range []string{"S", "M", "L"} {
		_, err := s.CreateProduct(ctx, variant(g.ID, "PAGE-"+size, "20.00", 5, storage.OptionSelection{"Size": size}))
		require.NoError(t, err)
	}
	wantG, err := s.ProductGroupByHandle(ctx, g.Handle)
	require.NoError(t, err)
	wantVs, err := s.VariantsByGroupIDs(ctx, []int64{g.ID})
	require.NoError(t, err)
	gotG, gotVs, err := s.ProductGroupWithVariantsByHandle(ctx, g.Handle)
	require.NoError(t, err)
	assert.Equal(t, wantG, gotG)
	assert.Equal(t, wantVs[g.ID], gotVs)
	require.Len(t, gotVs, 3)
	assert.Equal(t, "L", gotVs[0].SelectedOptions["Size"], "display order")

	empty, err := s.CreateProductGroup(ctx, storage.NewProductGroup{Title: "Page empty"})
	require.NoError(t, err)
	gotG, gotVs, err = s.ProductGroupWithVariantsByHandle(ctx, empty.Handle)
	require.NoError(t, err)
	require.NotNil(t, gotG)
	assert.Equal(t, empty.ID, gotG.ID)
	assert.Empty(t, gotVs)

	gotG, gotVs, err = s.ProductGroupWithVariantsByHandle(ctx, "no-such-group")
	require.NoError(t, err)
	assert.Nil(t, gotG)
	assert.Nil(t, gotVs)
}
