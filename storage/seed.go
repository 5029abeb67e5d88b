package storage

import "context"

var demoCatalog = []NewProduct{
	{SKU: "TEE-BLACK-M", Name: "Holdfast T-shirt, black, M", PriceAmount: "24.90", Currency: "USD", Stock: 50},
	{SKU: "MUG-ENAMEL", Name: "Enamel camp mug", PriceAmount: "14.00", Currency: "USD", Stock: 120},
	{SKU: "SNEAKER-DROP-42", Name: "Limited drop sneaker, size 42", PriceAmount: "189.00", Currency: "USD", Stock: 10},
	{SKU: "POSTER-A2", Name: "Screen-printed poster, A2", PriceAmount: "35.00", Currency: "USD", Stock: 3},
	{SKU: "STICKER-PACK", Name: "Sticker pack", PriceAmount: "4.50", Currency: "USD", Stock: 1000},
}

// SeedDemo fills an empty catalog with a few demo products, so a fresh
// `make run` has something to sell. It does nothing when products exist.
func (s *Store) SeedDemo(ctx context.Context) (int, error) {
	var n int
	if err := sqlxGet(ctx, s.pool(), &n, `SELECT count(*) FROM products`); err != nil {
		return 0, err
	}
	if n > 0 {
		return 0, nil
	}
	for _, p := range demoCatalog {
		desc := "Demo product seeded by make run."
		p.Description = &desc
		if _, err := s.CreateProduct(ctx, p); err != nil {
			return 0, err
		}
	}
	return len(demoCatalog), nil
}
