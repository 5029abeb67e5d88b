package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

const createGroupMutation = `mutation($in: CreateProductGroupInput!) {
	createProductGroup(input: $in) { productGroup { id handle options { name values } } userErrors { code field message } } }`

const createVariantMutation = `mutation($in: CreateProductInput!) {
	createProduct(input: $in) { product { id group { id } selectedOptions { name value } } userErrors { code field message } } }`

type groupPayload struct {
	ProductGroup *struct {
		ID      string `json:"id"`
		Handle  string `json:"handle"`
		Options []struct {
			Name   string   `json:"name"`
			Values []string `json:"values"`
		} `json:"options"`
	} `json:"productGroup"`
	UserErrors []userError `json:"userErrors"`
}

func (e *env) createGroup(t *testing.T, in map[string]any) groupPayload {
	t.Helper()
	var out struct {
		CreateProductGroup groupPayload `json:"createProductGroup"`
	}
	decode(t, e.gql(t, adminToken, createGroupMutation, map[string]any{"in": in}), &out)
	return out.CreateProductGroup
}

type variantPayload struct {
	Product *struct {
		ID              string               `json:"id"`
		Group           *struct{ ID string } `json:"group"`
		SelectedOptions []map[string]string  `json:"selectedOptions"`
	} `json:"product"`
	UserErrors []userError `json:"userErrors"`
}

func (e *env) createVariant(t *testing.T, groupID, sku, price string, stock int, sel ...string) variantPayload {
	t.Helper()
	opts := []map[string]string{}
	for i := 0; i+1 < len(sel); i += 2 {
		opts = append(opts, map[string]string{"name": sel[i], "value": sel[i+1]})
	}
	var out struct {
		CreateProduct variantPayload `json:"createProduct"`
	}
	decode(t, e.gql(t, adminToken, createVariantMutation, map[string]any{"in": map[string]any{
		"sku": sku, "name": "Tee " + sku, "priceAmount": price, "currencyCode": "USD", "stock": stock,
		"groupId": groupID, "selectedOptions": opts,
	}}), &out)
	return out.CreateProduct
}

// The product page of issue 22: one query renders the group, its options
// and every variant's id, selected options, price and available; the
// option rules answer VARIANT_OPTIONS_INVALID; a deleted group leaves its
// products sellable.
func TestProductGroupAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	g := e.createGroup(t, map[string]any{"title": "Holdfast Tee", "options": []map[string]any{
		{"name": "Size", "values": []string{"S", "M", "L"}}, {"name": "Colour", "values": []string{"Black", "White"}},
	}, "images": []map[string]any{{"url": "/tee.png"}}})
	require.Empty(t, g.UserErrors)
	gid := g.ProductGroup.ID
	assert.Equal(t, "holdfast-tee", g.ProductGroup.Handle)

	// Created out of display order; listed in it.
	for _, v := range [][]string{{"TEE-L-W", "L", "White"}, {"TEE-S-B", "S", "Black"}, {"TEE-M-B", "M", "Black"}, {"TEE-S-W", "S", "White"}} {
		p := e.createVariant(t, gid, v[0], "25.00", 4, "Colour", v[2], "Size", v[1])
		require.Empty(t, p.UserErrors)
		assert.Equal(t, gid, p.Product.Group.ID)
		assert.Equal(t, []map[string]string{{"name": "Size", "value": v[1]}, {"name": "Colour", "value": v[2]}}, p.Product.SelectedOptions, "in the group's option order")
	}

	t.Run("option rules", func(t *testing.T) {
		for name, sel := range map[string][]string{
			"duplicate":      {"Size", "S", "Colour", "Black"},
			"missing value":  {"Size", "M"},
			"unknown option": {"Size", "M", "Colour", "Black", "Fit", "Slim"},
			"repeated name":  {"Size", "M", "Size", "L", "Colour", "Black"},
		} {
			p := e.createVariant(t, gid, "TEE-NEW", "25.00", 1, sel...)
			require.Len(t, p.UserErrors, 1, name)
			assert.Equal(t, "VARIANT_OPTIONS_INVALID", p.UserErrors[0].Code, name)
			assert.Nil(t, p.Product, name)
		}
		var upd struct {
			UpdateProductGroup groupPayload `json:"updateProductGroup"`
		}
		decode(t, e.gql(t, adminToken, `mutation($in: UpdateProductGroupInput!) {
			updateProductGroup(input: $in) { productGroup { id } userErrors { code field } } }`, map[string]any{"in": map[string]any{
			"productGroupId": gid, "options": []map[string]any{{"name": "Size", "values": []string{"M", "L"}}, {"name": "Colour", "values": []string{"Black", "White"}}},
		}}), &upd)
		require.Len(t, upd.UpdateProductGroup.UserErrors, 1)
		assert.Equal(t, "VARIANT_OPTIONS_INVALID", upd.UpdateProductGroup.UserErrors[0].Code)
		assert.Equal(t, []string{"input", "options"}, upd.UpdateProductGroup.UserErrors[0].Field)
	})

	page := `query($h: String!) { productGroupByHandle(handle: $h) {
		id title handle options { name values } images { url } available
		priceRange { min { amount currencyCode } max { amount } }
		variants { id sku selectedOptions { name value } price { amount } available } } }`
	var out struct {
		ProductGroupByHandle struct {
			Available  int `json:"available"`
			PriceRange struct {
				Min struct{ Amount, CurrencyCode string }
			} `json:"priceRange"`
			Images   []struct{ URL string } `json:"images"`
			Variants []struct {
				Sku       string `json:"sku"`
				Available int    `json:"available"`
			} `json:"variants"`
		} `json:"productGroupByHandle"`
	}
	decode(t, e.gql(t, "", page, map[string]any{"h": "holdfast-tee"}), &out)
	var skus []string
	for _, v := range out.ProductGroupByHandle.Variants {
		skus = append(skus, v.Sku)
	}
	assert.Equal(t, []string{"TEE-S-B", "TEE-S-W", "TEE-M-B", "TEE-L-W"}, skus, "sizes, then colours, in display order")
	assert.Equal(t, 16, out.ProductGroupByHandle.Available)
	assert.Equal(t, "25.00", out.ProductGroupByHandle.PriceRange.Min.Amount)
	assert.Equal(t, "USD", out.ProductGroupByHandle.PriceRange.Min.CurrencyCode)
	assert.Equal(t, "/tee.png", out.ProductGroupByHandle.Images[0].URL)

	t.Run("search matches the title and the variants' skus", func(t *testing.T) {
		for _, q := range []string{"holdfast", "TEE-M-B", "tee m"} {
			r := e.gql(t, "", `query($q: String) { productGroups(query: $q) { totalCount edges { node { handle } } } }`, map[string]any{"q": q})
			assert.JSONEq(t, `{"productGroups":{"totalCount":1,"edges":[{"node":{"handle":"holdfast-tee"}}]}}`, string(r.Data), q)
		}
		r := e.gql(t, "", `{ productGroups(query: "lamp") { totalCount } }`, nil)
		assert.JSONEq(t, `{"productGroups":{"totalCount":0}}`, string(r.Data))
	})
	t.Run("deep group queries are priced", func(t *testing.T) {
		r := e.gql(t, "", `{ productGroups(first: 100) { edges { node { variants { collections { productGroups(first: 100) { edges { node { id } } } } } } } } }`, nil)
		assert.Equal(t, "COMPLEXITY_LIMIT", r.code())
		r = e.gql(t, "", `{ productGroups(first: 101) { edges { node { id } } } }`, nil)
		assert.Equal(t, "BAD_USER_INPUT", r.code())
		r = e.gql(t, "", `{ productGroups(first: 1, last: 1) { edges { node { id } } } }`, nil)
		assert.Equal(t, "BAD_USER_INPUT", r.code())
		r = e.gql(t, "", `{ productGroups(after: "bm9wZQ") { edges { node { id } } } }`, nil)
		assert.Equal(t, "BAD_USER_INPUT", r.code())
		r = e.gql(t, "", `{ productGroups(collectionId: "x") { totalCount edges { node { id } } } }`, nil)
		assert.JSONEq(t, `{"productGroups":{"totalCount":0,"edges":[]}}`, string(r.Data))
		r = e.gql(t, "", `{ productGroup(id: "x") { id } productGroupByHandle(handle: "Nope") { id } }`, nil)
		assert.JSONEq(t, `{"productGroup":null,"productGroupByHandle":null}`, string(r.Data))
	})
	t.Run("a product leaves its group through updateProduct", func(t *testing.T) {
		p, err := e.store.ProductBySKU(context.Background(), "TEE-L-W")
		require.NoError(t, err)
		r := e.gql(t, adminToken, `mutation($id: ID!) { updateProduct(input: {productId: $id, groupId: null}) {
			product { group { id } selectedOptions { name } } userErrors { code } } }`, map[string]any{"id": pid(p)})
		assert.JSONEq(t, `{"updateProduct":{"product":{"group":null,"selectedOptions":[]},"userErrors":[]}}`, string(r.Data))
	})

	t.Run("deleting the group leaves its products sellable", func(t *testing.T) {
		r := e.gql(t, adminToken, `mutation($id: ID!) { deleteProductGroup(productGroupId: $id) { productGroup { id } userErrors { code } } }`, map[string]any{"id": gid})
		assert.JSONEq(t, `{"deleteProductGroup":{"productGroup":{"id":"`+gid+`"},"userErrors":[]}}`, string(r.Data))
		p, err := e.store.ProductBySKU(context.Background(), "TEE-S-B")
		require.NoError(t, err)
		assert.Nil(t, p.GroupID)
		cart, r := addToCart(t, e.srv.URL, e.createCart(t), pid(p), 2)
		require.Empty(t, r.Errors)
		assert.Empty(t, cart.UserErrors)
		r = e.gql(t, adminToken, `mutation($id: ID!) { deleteProductGroup(productGroupId: $id) { productGroup { id } userErrors { code } } }`, map[string]any{"id": gid})
		assert.JSONEq(t, `{"deleteProductGroup":{"productGroup":null,"userErrors":[{"code":"PRODUCT_GROUP_NOT_FOUND"}]}}`, string(r.Data))
	})
}

// A product page and a grid of groups cost a constant number of SQL
// statements whatever the number of groups and variants they show.
func TestProductGroupQueryCountIsConstant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	sizes := []string{"XS", "S", "M", "L", "XL", "XXL"}
	colours := []string{"Black", "White"}
	mk := func(title string, nSizes, nColours int) *storage.ProductGroup {
		g, err := e.store.CreateProductGroup(ctx, storage.NewProductGroup{Title: title, Options: storage.ProductOptions{
			{Name: "Size", Values: sizes}, {Name: "Colour", Values: colours},
		}, Images: []storage.NewImage{{URL: "/g.png"}}})
		require.NoError(t, err)
		for _, s := range sizes[:nSizes] {
			for _, c := range colours[:nColours] {
				_, err := e.store.CreateProduct(ctx, storage.NewProduct{
					SKU: fmt.Sprintf("%s-%s-%s", g.Handle, s, c), Name: title + " " + s, PriceAmount: "30.00", Currency: "USD", Stock: 2,
					GroupID: &g.ID, SelectedOptions: storage.OptionSelection{"Size": s, "Colour": c},
					Images: []storage.NewImage{{URL: "/v.png"}},
				})
				require.NoError(t, err)
			}
		}
		return g
	}
	small := mk("Small article", 1, 1)
	big := mk("Big article", 6, 2)
	for i := range 9 {
		mk(fmt.Sprintf("Grid article %d", i), 2, 1)
	}
	cost := func(q string, vars map[string]any) (int64, string) {
		t.Helper()
		before := e.store.QueryCount()
		r := e.gql(t, "", q, vars)
		require.Empty(t, r.Errors)
		return e.store.QueryCount() - before, string(r.Data)
	}

	page := `query($h: String!) { productGroupByHandle(handle: $h) { id title options { name values } images { url }
		variants { id selectedOptions { name value } price { amount } available images { url } group { id } } } }`
	smallCost, one := cost(page, map[string]any{"h": small.Handle})
	bigCost, many := cost(page, map[string]any{"h": big.Handle})
	assert.Equal(t, 1, strings.Count(one, `"available":2`))
	assert.Equal(t, 12, strings.Count(many, `"available":2`))
	assert.Contains(t, many, `"value":"XXL"`)
	assert.Equal(t, smallCost, bigCost, "a product page's statements must not grow with its variants")
	assert.LessOrEqual(t, bigCost, int64(4), "group + variants + group images + variant images")

	grid := `query($n: Int) { productGroups(first: $n, sortKey: PRICE) { totalCount edges { node { id title available
		priceRange { min { amount } max { amount } } images { url } } } } }`
	oneCost, one := cost(grid, map[string]any{"n": 1})
	manyCost, many := cost(grid, map[string]any{"n": 11})
	assert.Contains(t, one, `"totalCount":11`)
	assert.Contains(t, many, `"available":24`)
	assert.Equal(t, oneCost, manyCost, "a grid's statements must not grow with its groups")
	assert.LessOrEqual(t, manyCost, int64(3), "page + count + images")

	// A grid following endCursor reads only hasNextPage: the rows before
	// its cursor (hasPreviousPage's second query) are not looked for;
	// asked, they are.
	next := `query($after: String) { productGroups(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`
	firstCost, first := cost(next, nil)
	var fp struct {
		ProductGroups struct{ PageInfo struct{ EndCursor string } }
	}
	require.NoError(t, json.Unmarshal([]byte(first), &fp))
	afterCost, after := cost(next, map[string]any{"after": fp.ProductGroups.PageInfo.EndCursor})
	assert.Contains(t, after, `"hasNextPage":true`)
	assert.Equal(t, firstCost, afterCost, "a page after a cursor, hasPreviousPage not asked: one query")
	prev := `query($after: String) { productGroups(first: 2, after: $after) { pageInfo { hasPreviousPage } } }`
	prevCost, withPrev := cost(prev, map[string]any{"after": fp.ProductGroups.PageInfo.EndCursor})
	assert.Contains(t, withPrev, `"hasPreviousPage":true`)
	assert.Equal(t, firstCost+1, prevCost, "hasPreviousPage asked after a cursor: the second query")

	// A product listing with each product's group and options.
	products := `query($n: Int) { products(first: $n, sortKey: NAME) { edges { node { sku group { handle } selectedOptions { name value } } } } }`
	oneCost, one = cost(products, map[string]any{"n": 1})
	manyCost, many = cost(products, map[string]any{"n": 40})
	assert.Contains(t, one, `"selectedOptions":[{"name":"Size"`)
	assert.Contains(t, many, `"handle":"small-article"`)
	assert.Equal(t, oneCost, manyCost, "products: the statements must not grow with the groups shown")
	assert.LessOrEqual(t, manyCost, int64(2), "page + groups")

	// Collections with their groups: one batch per field, however many.
	for i := range 4 {
		c, err := e.store.CreateCollection(ctx, storage.NewCollection{Title: fmt.Sprintf("Shelf %d", i)})
		require.NoError(t, err)
		for _, h := range []string{"grid-article-" + fmt.Sprint(i), "grid-article-" + fmt.Sprint(i+1), "big-article"} {
			g, err := e.store.ProductGroupByHandle(ctx, h)
			require.NoError(t, err)
			vs, err := e.store.VariantsByGroupIDs(ctx, []int64{g.ID})
			require.NoError(t, err)
			_, err = e.store.AddProductsToCollection(ctx, c.ID, []int64{vs[g.ID][0].ID})
			require.NoError(t, err)
		}
	}
	shelves := `query($n: Int) { collections(first: $n) { edges { node { handle
		productGroups(first: 2, sortKey: NAME) { totalCount edges { node { title available images { url } } } } } } } }`
	oneCost, one = cost(shelves, map[string]any{"n": 1})
	manyCost, many = cost(shelves, map[string]any{"n": 4})
	assert.Contains(t, one, `"totalCount":3`)
	assert.Contains(t, many, `"handle":"shelf-3"`)
	assert.Equal(t, oneCost, manyCost, "collections: the statements must not grow with the list")
	assert.LessOrEqual(t, manyCost, int64(4), "collections + group pages + counts + images")
}

// A flash sale on one variant of a group, through the real handler, while
// the group's other variants sell: each variant sells exactly its stock,
// and the group's available is the sum of its variants'.
func TestProductGroupFlashSaleOnOneVariant(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	g, err := e.store.CreateProductGroup(ctx, storage.NewProductGroup{Title: "Drop", Options: storage.ProductOptions{{Name: "Size", Values: []string{"41", "42", "43"}}}})
	require.NoError(t, err)
	stock := map[string]int{"41": 12, "42": 3, "43": 12}
	ids := map[string]string{}
	for size, n := range stock {
		p, err := e.store.CreateProduct(ctx, storage.NewProduct{SKU: "DROP-" + size, Name: "Drop " + size, PriceAmount: "150.00", Currency: "USD",
			Stock: n, GroupID: &g.ID, SelectedOptions: storage.OptionSelection{"Size": size}})
		require.NoError(t, err)
		ids[size] = pid(p)
	}
	buyers := map[string]int{"41": 8, "42": 25, "43": 8}
	type buy struct{ size, cart string }
	var all []buy
	for size, n := range buyers {
		for range n {
			all = append(all, buy{size, e.createCart(t)})
		}
	}
	var mu sync.Mutex
	sold := map[string]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, b := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out, r := addToCart(t, e.srv.URL, b.cart, ids[b.size], 1)
			if len(r.Errors) > 0 {
				t.Errorf("errors: %v", r.Errors)
				return
			}
			if len(out.UserErrors) == 0 {
				mu.Lock()
				sold[b.size]++
				mu.Unlock()
			} else if out.UserErrors[0].Code != "INSUFFICIENT_STOCK" {
				t.Errorf("unexpected %s", out.UserErrors[0].Code)
			}
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, map[string]int{"41": 8, "42": 3, "43": 8}, sold)

	var out struct {
		ProductGroup struct {
			Available int `json:"available"`
			Variants  []struct {
				Sku       string `json:"sku"`
				Available int    `json:"available"`
			} `json:"variants"`
		} `json:"productGroup"`
	}
	decode(t, e.gql(t, "", `query($id: ID!) { productGroup(id: $id) { available variants { sku available } } }`, map[string]any{"id": fmt.Sprint(g.ID)}), &out)
	sum := 0
	for _, v := range out.ProductGroup.Variants {
		sum += v.Available
	}
	assert.Equal(t, 4+0+4, out.ProductGroup.Available)
	assert.Equal(t, sum, out.ProductGroup.Available, "the group's available is its variants' sum")
	storagetest.AssertBooks(t, e.store)
}
