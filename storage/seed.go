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

// SeedDemo fills an empty catalog with a few demo products, their images
// and two collections, so a fresh `make run` has something to sell. It does
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
	for _, p := range demoCatalog {
		desc := "Demo product seeded by make run."
		p.Description = &desc
		created, err := s.CreateProduct(ctx, p)
		if err != nil {
			return 0, err
		}
		ids[p.SKU] = created.ID
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
	return len(demoCatalog), nil
}
