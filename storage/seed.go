package storage

import (
	"context"
	"encoding/base64"
	"fmt"
)

var demoCatalog = []NewProduct{
	{SKU: "TEE-BLACK-M", Name: "Holdfast T-shirt, black, M", PriceAmount: "24.90", Currency: "USD", Stock: 50,
		Images: demoImages("#111827", "Tee", "Black T-shirt, front", "Black T-shirt, back")},
	{SKU: "MUG-ENAMEL", Name: "Enamel camp mug", PriceAmount: "14.00", Currency: "USD", Stock: 120,
		Images: demoImages("#0e7490", "Mug", "White enamel mug with a blue rim")},
	{SKU: "SNEAKER-DROP-42", Name: "Limited drop sneaker, size 42", PriceAmount: "189.00", Currency: "USD", Stock: 10,
		Images: demoImages("#b91c1c", "Drop", "Red high-top sneaker, side view")},
	{SKU: "POSTER-A2", Name: "Screen-printed poster, A2", PriceAmount: "35.00", Currency: "USD", Stock: 3,
		Images: demoImages("#a16207", "A2", "Two-colour screen print")},
	{SKU: "STICKER-PACK", Name: "Sticker pack", PriceAmount: "4.50", Currency: "USD", Stock: 1000,
		Images: demoImages("#7c3aed", "Stickers", "Five die-cut stickers")},
}

// demoCollections group the demo products by sku.
var demoCollections = []struct {
	NewCollection
	SKUs []string
}{
	{NewCollection{Title: "Merch", Description: ptr("Everyday things with the Holdfast mark.")},
		[]string{"TEE-BLACK-M", "MUG-ENAMEL", "STICKER-PACK"}},
	{NewCollection{Title: "Limited drops", Description: ptr("Few units, gone when they are gone.")},
		[]string{"SNEAKER-DROP-42", "POSTER-A2"}},
}

// demoGroups gather demo products into articles with variants (issue 22):
// the first product of each is one of the catalog's above, the others are
// created with the group. The rest of the catalog stays ungrouped.
var demoGroups = []struct {
	NewProductGroup
	// Variants by sku: the product's value of each option, in option order.
	Variants []demoVariant
}{
	{NewProductGroup{Title: "Holdfast T-shirt", Description: ptr("Heavy cotton, printed in small runs."),
		Options: ProductOptions{{Name: "Size", Values: []string{"S", "M", "L"}}, {Name: "Colour", Values: []string{"Black", "White"}}},
		Images:  demoImages("#111827", "Tee", "Holdfast T-shirt")},
		[]demoVariant{
			{"TEE-BLACK-M", "", []string{"M", "Black"}, 0},
			{"TEE-BLACK-S", "Holdfast T-shirt, black, S", []string{"S", "Black"}, 30},
			{"TEE-BLACK-L", "Holdfast T-shirt, black, L", []string{"L", "Black"}, 30},
			{"TEE-WHITE-S", "Holdfast T-shirt, white, S", []string{"S", "White"}, 20},
			{"TEE-WHITE-M", "Holdfast T-shirt, white, M", []string{"M", "White"}, 20},
			{"TEE-WHITE-L", "Holdfast T-shirt, white, L", []string{"L", "White"}, 0},
		}},
	{NewProductGroup{Title: "Limited drop sneaker", Description: ptr("One drop, a few pairs per size."),
		Options: ProductOptions{{Name: "Size", Values: []string{"41", "42", "43", "44"}}},
		Images:  demoImages("#b91c1c", "Drop", "Limited drop sneaker")},
		[]demoVariant{
			{"SNEAKER-DROP-42", "", []string{"42"}, 0},
			{"SNEAKER-DROP-41", "Limited drop sneaker, size 41", []string{"41"}, 3},
			{"SNEAKER-DROP-43", "Limited drop sneaker, size 43", []string{"43"}, 4},
			{"SNEAKER-DROP-44", "Limited drop sneaker, size 44", []string{"44"}, 2},
		}},
}

// demoVariant is a variant of a demo group: an existing product (no name)
// joining it, or a new one with its stock (priced like the group's first).
type demoVariant struct {
	SKU, Name string
	Values    []string
	Stock     int
}

func ptr(s string) *string { return &s }

// demoImages are small SVG placeholders as data: URLs, one per alt text:
// a square of colour with a label, so the demo needs no image host.
func demoImages(colour, label string, alts ...string) []NewImage {
	imgs := make([]NewImage, len(alts))
	for i, alt := range alts {
		svg := fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" viewBox="0 0 400 400">`+
			`<rect width="400" height="400" fill="%s"/>`+
			`<text x="200" y="215" font-family="sans-serif" font-size="56" fill="#fff" text-anchor="middle">%s %d</text></svg>`,
			colour, label, i+1)
		imgs[i] = NewImage{URL: "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(svg)), AltText: ptr(alt)}
	}
	return imgs
}

// SeedDemo fills an empty catalog with a few demo products, their images,
// two articles with variants (a T-shirt in sizes and colours, a sneaker
// drop in sizes) beside ungrouped products, and two collections, so a fresh `make run` has something to sell. It does
// nothing when products exist.
func (s *Store) SeedDemo(ctx context.Context) (int, error) {
	var n int
	if err := sqlxGet(ctx, s.pool(), &n, `SELECT count(*) FROM products`); err != nil {
		return 0, err
	}
	if n > 0 {
		return 0, nil
	}
	ids := map[string]int64{}
	seeded := 0
	for _, p := range demoCatalog {
		desc := "Demo product seeded by make run."
		p.Description = &desc
		created, err := s.CreateProduct(ctx, p)
		if err != nil {
			return 0, err
		}
		ids[p.SKU] = created.ID
		seeded++
	}
	for _, dg := range demoGroups {
		g, err := s.CreateProductGroup(ctx, dg.NewProductGroup)
		if err != nil {
			return 0, err
		}
		first := demoCatalog[0]
		for _, v := range dg.Variants {
			sel := OptionSelection{}
			for i, o := range dg.Options {
				sel[o.Name] = v.Values[i]
			}
			if v.Name == "" {
				if _, err := s.UpdateProduct(ctx, ids[v.SKU], ProductUpdate{SetGroup: true, GroupID: &g.ID, SelectedOptions: sel}); err != nil {
					return 0, err
				}
				for _, p := range demoCatalog {
					if p.SKU == v.SKU {
						first = p
					}
				}
				continue
			}
			desc := "Demo variant seeded by make run."
			if _, err := s.CreateProduct(ctx, NewProduct{
				SKU: v.SKU, Name: v.Name, Description: &desc, PriceAmount: first.PriceAmount, Currency: first.Currency,
				Stock: v.Stock, GroupID: &g.ID, SelectedOptions: sel,
			}); err != nil {
				return 0, err
			}
			seeded++
		}
	}
	for _, dc := range demoCollections {
		c, err := s.CreateCollection(ctx, dc.NewCollection)
		if err != nil {
			return 0, err
		}
		members := make([]int64, len(dc.SKUs))
		for i, sku := range dc.SKUs {
			members[i] = ids[sku]
		}
		if _, err := s.AddProductsToCollection(ctx, c.ID, members); err != nil {
			return 0, err
		}
	}
	return seeded, nil
}
