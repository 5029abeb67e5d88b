package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/lib/pq"
)

// The browse scenario reads what storefronts read most, one shape per cell:
//
//	grid  a catalog grid page: productGroups(first: 20, after:) with, per
//	      group, its title, handle, priceRange, available, images and
//	      every variant's id, selectedOptions, price and available; each
//	      client follows endCursor for up to browsePages pages, then
//	      starts over at the first
//	page  a product page: productGroupByHandle(handle:) of a random group,
//	      with its description, options and every variant's sku too
//
// The catalog is seeded by SQL before the cells, as the admin API would
// have left it (browseCatalog): -browse-groups groups of -browse-variants
// variants each (Colour x Size), 2 images each. API and raw read the same
// rows; nothing writes them.
const (
	shapeGrid = "grid"
	shapePage = "page"
)

var allBrowseShapes = []string{shapeGrid, shapePage}

// browsePageSize and browsePages: a listing reads pages of 20, following
// endCursor for up to 5 pages, then starts over at the first.
const (
	browsePageSize = 20
	browsePages    = 5
	browseImages   = 2
)

// The options of every seeded group: sizes (at most 4) vary fastest.
var (
	browseColours = []string{"Black", "White", "Red", "Navy", "Olive", "Sand", "Grey", "Teal"}
	browseSizes   = []string{"S", "M", "L", "XL"}
)

// browseOptions are the options of a group of n variants: min(n, 4)
// sizes, and as many colours as it takes.
func browseOptions(n int) (colours, sizes []string) {
	sizes = browseSizes[:min(n, len(browseSizes))]
	nc := (n + len(sizes) - 1) / len(sizes)
	for i := range nc {
		if i < len(browseColours) {
			colours = append(colours, browseColours[i])
		} else {
			colours = append(colours, "Colour "+strconv.Itoa(i+1))
		}
	}
	return colours, sizes
}

// browseStock is every variant's stock: large, so availability never
// moves, and small enough that a group's available (their sum) stays a
// GraphQL Int (32 bits).
func browseStock(variants int) int {
	return min(1_000_000_000, math.MaxInt32/variants)
}

// browsePrice is a variant's price: in two of three groups it grows with
// the size (priceRange min < max), in the others it is one price.
func browsePrice(group, size int) int64 {
	if group%3 == 0 {
		return 1500 + int64(group%7)*100
	}
	return 1000 + int64(group%5)*100 + int64(size)*250
}

// browseCatalog is the seeded catalog: its groups in id order, by id
// string too (for the checks).
type browseCatalog struct {
	groups []*seededGroup
	byID   map[string]*seededGroup
	// variants are every variant's id, for the oversell check.
	variants []int64
}

const browseDescription = "A product of the holdbench browse scenario, with a description of the length a product page shows: a sentence or two on what it is, what it is made of and why one would want it."

// seedBrowseCatalog inserts the browse catalog in one transaction, by SQL
// and as createProductGroup and createProduct would have left it: groups
// (handle, title, description, options as jsonb [{name, values}]) with
// their images (positions 1..), then their variants (products with
// group_id and selected_options {"Colour": .., "Size": ..}, whose triggers
// check the options and derive the groups' price range and search
// document), each with its 'initial' ledger movement (its default
// inventory level is the products trigger's).
func seedBrowseCatalog(ctx context.Context, db *sql.DB, prefix string, groups, variants int) (*browseCatalog, error) {
	colours, sizes := browseOptions(variants)
	opts, err := json.Marshal([]optionView{{Name: "Colour", Values: colours}, {Name: "Size", Values: sizes}})
	if err != nil {
		return nil, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	fail := func(what string, err error) (*browseCatalog, error) {
		return nil, rollback(tx, fmt.Errorf("seed the browse catalog: %s: %w", what, err))
	}
	handleBase := prefix + "browse-"
	rows, err := tx.QueryContext(ctx, `
		INSERT INTO product_groups (handle, title, description, options)
		SELECT $1 || g, 'holdbench tee ' || $1 || g, $2 || ' (' || g || ')', $3::jsonb
		FROM generate_series(1, $4) AS g
		RETURNING id, handle`, handleBase, browseDescription, string(opts), groups)
	if err != nil {
		return fail("groups", err)
	}
	cat := &browseCatalog{byID: map[string]*seededGroup{}}
	byHandle := map[string]*seededGroup{}
	for rows.Next() {
		g := &seededGroup{options: []string{"Colour", "Size"}, images: browseImages}
		if err := rows.Scan(&g.id, &g.handle); err != nil {
			rows.Close()
			return fail("groups", err)
		}
		byHandle[g.handle] = g
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail("groups", err)
	}
	var (
		gids, prices      []int64
		skus, names, sels []string
		imgGroups         []int64
		imgPos            []int
		imgURLs           []string
		imgAlts           []sql.NullString
		variantOf         = map[string]*seededGroup{}
	)
	for i := 1; i <= groups; i++ {
		h := handleBase + strconv.Itoa(i)
		g := byHandle[h]
		if g == nil {
			return fail("groups", fmt.Errorf("group %s not returned", h))
		}
		cat.groups = append(cat.groups, g)
		cat.byID[pid(g.id)] = g
		n := 0
		for _, c := range colours {
			for si, sz := range sizes {
				if n == variants {
					break
				}
				n++
				sku := fmt.Sprintf("%sbrowse-%d-%s-%s", prefix, i, c, sz)
				sel, _ := json.Marshal(map[string]string{"Colour": c, "Size": sz})
				gids, skus, sels = append(gids, g.id), append(skus, sku), append(sels, string(sel))
				names = append(names, fmt.Sprintf("holdbench tee %d %s %s", i, c, sz))
				prices = append(prices, browsePrice(i, si))
				variantOf[sku] = g
			}
		}
		for pos := 1; pos <= browseImages; pos++ {
			imgGroups, imgPos = append(imgGroups, g.id), append(imgPos, pos)
			imgURLs = append(imgURLs, fmt.Sprintf("/holdbench/%s-%d.png", g.handle, pos))
			alt := sql.NullString{}
			if pos == 1 {
				alt = sql.NullString{String: fmt.Sprintf("holdbench tee %d, front", i), Valid: true}
			}
			imgAlts = append(imgAlts, alt)
		}
	}
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO product_group_images (group_id, position, url, alt_text)
		SELECT * FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[])`,
		pq.Array(imgGroups), pq.Array(imgPos), pq.Array(imgURLs), pq.Array(imgAlts)); err != nil {
		return fail("images", err)
	}
	// In array order, so ids ascend in display order (colour, then size).
	rows, err = tx.QueryContext(ctx, `
		WITH p AS (
			INSERT INTO products (sku, handle, name, price_cents, currency, stock, group_id, selected_options)
			SELECT x.sku, 'holdbench-' || md5(x.sku), x.name, x.price, 'USD', $6, x.gid, x.sel::jsonb
			FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[]) WITH ORDINALITY AS x(sku, name, price, gid, sel, ord)
			ORDER BY x.ord
			RETURNING id, sku, stock
		), m AS (
			INSERT INTO inventory_movements (product_id, delta, kind, reason)
			SELECT id, stock, 'initial', 'holdbench seed' FROM p
		)
		SELECT id, sku FROM p ORDER BY id`,
		pq.Array(skus), pq.Array(names), pq.Array(prices), pq.Array(gids), pq.Array(sels), browseStock(variants))
	if err != nil {
		return fail("variants", err)
	}
	for rows.Next() {
		var (
			id  int64
			sku string
		)
		if err := rows.Scan(&id, &sku); err != nil {
			rows.Close()
			return fail("variants", err)
		}
		g := variantOf[sku]
		g.variants = append(g.variants, id)
		cat.variants = append(cat.variants, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail("variants", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("seed the browse catalog: %w", err)
	}
	return cat, nil
}

// browseGridStep reads the worker's next page of the grid and checks it.
func browseGridStep(cat *browseCatalog) stepFn {
	return func(ctx context.Context, s side, w *worker) (string, outcome, error) {
		p, err := s.groupsPage(ctx, browsePageSize, w.after)
		if err == nil {
			err = checkGroupPage(p, browsePageSize, cat.byID)
		}
		if err != nil {
			w.after, w.pages = "", 0
			return shapeGrid, 0, err
		}
		w.pages++
		if p.PageInfo.HasNextPage && w.pages < browsePages {
			w.after = *p.PageInfo.EndCursor
		} else {
			w.after, w.pages = "", 0
		}
		return shapeGrid, granted, nil
	}
}

// browsePageStep reads the product page of a random group and checks it.
func browsePageStep(cat *browseCatalog) stepFn {
	return func(ctx context.Context, s side, w *worker) (string, outcome, error) {
		want := cat.groups[w.rng.IntN(len(cat.groups))]
		g, err := s.groupByHandle(ctx, want.handle)
		switch {
		case err != nil:
		case g == nil:
			err = renderErr("product group %s not found", want.handle)
		default:
			err = checkGroup(g, want, true)
		}
		return shapePage, granted, err
	}
}
