package storage

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lib/pq"
)

// Product is a catalog entry with its stock and the units carts hold.
type Product struct {
	ID          int64     `db:"id" json:"id"`
	SKU         string    `db:"sku" json:"sku"`
	Handle      string    `db:"handle" json:"handle"`
	Name        string    `db:"name" json:"name"`
	Description *string   `db:"description" json:"description"`
	PriceCents  int64     `db:"price_cents" json:"price_cents"`
	Currency    string    `db:"currency" json:"currency"`
	Stock       int       `db:"stock" json:"stock"`
	Held        int       `db:"held" json:"held"`
	CreatedAt   time.Time `db:"created_at" json:"created_at"`
	UpdatedAt   time.Time `db:"updated_at" json:"updated_at"`
	// LowStockThreshold: STOCK_LOW fires when available falls to it or
	// below (nil: never).
	LowStockThreshold *int `db:"low_stock_threshold" json:"low_stock_threshold"`
	// GroupID is the product group the product is a variant of (nil:
	// ungrouped); SelectedOptions its value of each of the group's options.
	GroupID         *int64          `db:"group_id" json:"group_id"`
	SelectedOptions OptionSelection `db:"selected_options" json:"selected_options"`
	// LimitPerCustomer caps the units one customer holds in carts and
	// pending or placed orders together (nil: no limit); see
	// migrations/00024.
	LimitPerCustomer *int `db:"limit_per_customer" json:"limit_per_customer"`
}

// scanDest is where Scan puts productColumns, in their order
// (TestProductScanDestFollowsColumns).
func (p *Product) scanDest() []any {
	return []any{&p.ID, &p.SKU, &p.Handle, &p.Name, &p.Description, &p.PriceCents, &p.Currency, &p.Stock, &p.Held,
		&p.CreatedAt, &p.UpdatedAt, &p.LowStockThreshold, &p.GroupID, &p.SelectedOptions, &p.LimitPerCustomer}
}

// Available is what can still be reserved.
func (p *Product) Available() int { return p.Stock - p.Held }

const productColumns = `id, sku, handle, name, description, price_cents, currency, stock, held, created_at, updated_at, low_stock_threshold, group_id, selected_options, limit_per_customer`

// productJSON builds, in SQL, the row of table alias t as a JSON object of
// productColumns (the keys are the column names, Product's json tags), so a
// statement can return a product in one column, NULL when there is none.
func productJSON(t string) string {
	cols := strings.Split(productColumns, ",")
	for i, c := range cols {
		c = strings.TrimSpace(c)
		cols[i] = "'" + c + "', " + t + "." + c
	}
	return "json_build_object(" + strings.Join(cols, ", ") + ")"
}

// lineProductColumns are productColumns of the products table aliased p,
// named "p.<column>" so that they scan into CartLine.Product.
var lineProductColumns = func() string {
	cols := strings.Split(productColumns, ",")
	for i, c := range cols {
		c = strings.TrimSpace(c)
		cols[i] = "p." + c + ` AS "p.` + c + `"`
	}
	return strings.Join(cols, ", ")
}()

// NewProduct is the input of CreateProduct.
type NewProduct struct {
	SKU         string
	Name        string
	Description *string
	PriceAmount string
	Currency    string
	Stock       int
	// Handle is the product's URL slug; nil derives it from the name.
	Handle *string
	// Images are the product's images, in order.
	Images []NewImage
	// LowStockThreshold, if set, is at least 0.
	LowStockThreshold *int
	// GroupID, if set, makes the product a variant of that group, with
	// SelectedOptions its value of each of the group's options.
	GroupID         *int64
	SelectedOptions OptionSelection
	// LimitPerCustomer, if set, is at least 1 (see Product).
	LimitPerCustomer *int
	// IdempotencyKey, if set, makes a repeat with the same input create
	// nothing and answer what the first attempt answered.
	IdempotencyKey string `json:"-"`
}

// Input limits.
const (
	MaxSKULen         = 64
	MaxNameLen        = 200
	MaxDescriptionLen = 5000
	MaxStock          = 1<<31 - 1
)

func validText(s string, max int) bool {
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= max && !strings.ContainsRune(s, 0)
}

func validSKU(s string) bool {
	if s == "" || len(s) > MaxSKULen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validateNewProduct checks every field before any statement runs.
func validateNewProduct(in *NewProduct) (priceCents int64, err *Error) {
	in.Name = strings.TrimSpace(in.Name)
	if !validSKU(in.SKU) {
		return 0, userErr(CodeInvalidInput, "sku must be 1-64 characters of letters, digits, '-', '_' or '.'", "input", "sku")
	}
	if in.Name == "" || !validText(in.Name, MaxNameLen) {
		return 0, userErr(CodeInvalidInput, "name must be 1-200 characters of valid UTF-8", "input", "name")
	}
	if in.Description != nil && !validText(*in.Description, MaxDescriptionLen) {
		return 0, userErr(CodeInvalidInput, "description must be at most 5000 characters of valid UTF-8", "input", "description")
	}
	cents, ok := ParsePrice(in.PriceAmount)
	if !ok {
		return 0, userErr(CodeInvalidInput, `priceAmount must be a decimal string such as "19.90": no sign, at most 2 decimals, at most 10000000.00`, "input", "priceAmount")
	}
	if !ValidCurrency(in.Currency) {
		return 0, userErr(CodeInvalidInput, "currencyCode must be a three-letter ISO 4217 code such as USD", "input", "currencyCode")
	}
	if in.Stock < 0 || in.Stock > MaxStock {
		return 0, userErr(CodeInvalidInput, "stock must be between 0 and 2147483647", "input", "stock")
	}
	if in.Handle != nil && !ValidHandle(*in.Handle) {
		return 0, handleFormatErr()
	}
	if err := validateImages(in.Images); err != nil {
		return 0, err
	}
	if in.LowStockThreshold != nil && *in.LowStockThreshold < 0 {
		return 0, lowStockErr()
	}
	if in.LimitPerCustomer != nil && *in.LimitPerCustomer < 1 {
		return 0, limitPerCustomerErr()
	}
	if err := validateSelection(in.GroupID != nil, in.SelectedOptions); err != nil {
		return 0, err
	}
	if in.GroupID != nil && in.SelectedOptions == nil {
		in.SelectedOptions = OptionSelection{}
	}
	return cents, nil
}

// createProductSQL inserts a product; $8 says whether $7 is a base handle
// to make unique (derived from the name) or the handle as given.
var createProductSQL = `
	INSERT INTO products (sku, name, description, price_cents, currency, stock, handle, low_stock_threshold, group_id, selected_options, limit_per_customer)
	VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $8 THEN ` + freeHandleSQL("products", "$7::text") + ` ELSE $7 END, $9, $10, $11, $12)
	RETURNING ` + productColumns

// CreateProduct adds a product with its images and records its opening
// stock in the ledger, in one transaction. Without a handle it takes the
// slug of its name, made unique with the first free suffix -2, -3, ...; a
// handle given explicitly that is taken is refused (DUPLICATE_HANDLE).
func (s *Store) CreateProduct(ctx context.Context, in NewProduct) (*Product, error) {
	cents, verr := validateNewProduct(&in)
	if verr != nil {
		return nil, verr
	}
	handle, derived := "", in.Handle == nil
	if derived {
		handle = Slugify(in.Name, "product")
	} else {
		handle = *in.Handle
	}
	var p Product
	create := func(ctx context.Context, tx *Tx) error {
		if derived {
			if err := lockHandleBase(ctx, tx.q, "products", handle); err != nil {
				return err
			}
		}
		if err := tx.q.QueryRowxContext(ctx, createProductSQL, in.SKU, in.Name, in.Description, cents, in.Currency, in.Stock, handle, derived, in.LowStockThreshold, in.GroupID, in.SelectedOptions, in.LimitPerCustomer).StructScan(&p); err != nil {
			return translate(err)
		}
		if len(in.Images) > 0 {
			if err := replaceImages(ctx, tx.q, p.ID, in.Images); err != nil {
				return err
			}
		}
		return recordMovement(ctx, tx.q, movement{ProductID: p.ID, Delta: in.Stock, Kind: MoveInitial, Reason: "created"})
	}
	if in.IdempotencyKey != "" {
		// One transaction with the key's record: the derived handle's retry
		// rolls back to a savepoint instead.
		out, _, err := runKeyed(ctx, s, adminScope, in.IdempotencyKey, "createProduct", inputHash("createProduct", in), func(ctx context.Context, tx *Tx) (*Product, error) {
			var err error
			for attempt := 1; attempt <= handleAttempts; attempt++ {
				if _, err := tx.q.ExecContext(ctx, `SAVEPOINT create_product`); err != nil {
					return nil, translate(err)
				}
				if err = create(ctx, tx); !derived || !errors.Is(err, ErrDuplicateHandle) {
					break
				}
				if _, err := tx.q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT create_product`); err != nil {
					return nil, translate(err)
				}
			}
			if err != nil {
				return nil, err
			}
			return &p, nil
		})
		return out, err
	}
	var err error
	for attempt := 1; attempt <= handleAttempts; attempt++ {
		// A handle given explicitly may take the derived one first: derive again.
		if err = s.WithTx(ctx, create); !derived || !errors.Is(err, ErrDuplicateHandle) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ProductBySKU returns the product with this sku, or nil when there is none.
func (s *Store) ProductBySKU(ctx context.Context, sku string) (*Product, error) {
	if !validSKU(sku) {
		return nil, nil
	}
	return s.productWhere(ctx, `sku = $1`, sku)
}

// ProductByHandle returns the product with this handle, or nil when there is
// none.
func (s *Store) ProductByHandle(ctx context.Context, handle string) (*Product, error) {
	if !ValidHandle(handle) {
		return nil, nil
	}
	return s.productWhere(ctx, `handle = $1`, handle)
}

// productWhere reads the product matching cond (a constant of this package
// on one unique column, with the value in $1), or nil.
func (s *Store) productWhere(ctx context.Context, cond string, arg any) (*Product, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var p Product
	err := sqlxGet(ctx, s.hotReader(), &p, `SELECT `+productColumns+` FROM products WHERE `+cond, arg)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// ProductByID returns the product, or nil when there is none.
func (s *Store) ProductByID(ctx context.Context, id int64) (*Product, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `SELECT ` + productColumns + ` FROM products WHERE id = $1`
	var p Product
	if err := s.pool().QueryRowxContext(ctx, q, id).StructScan(&p); err != nil {
		if err = translate(err); errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	return &p, nil
}

// ProductsByIDs loads many products in one query, keyed by id; missing ids
// are simply absent. It backs the per-request product dataloader.
func (s *Store) ProductsByIDs(ctx context.Context, ids []int64) (map[int64]*Product, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `SELECT ` + productColumns + ` FROM products WHERE id = ANY($1)`
	rows, err := s.hotReader().QueryxContext(ctx, q, pq.Array(ids))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := make(map[int64]*Product, len(ids))
	for rows.Next() {
		p := new(Product)
		if err := rows.StructScan(p); err != nil {
			return nil, translate(err)
		}
		out[p.ID] = p
	}
	return out, translate(rows.Err())
}
func lowStockErr() *Error {
	return userErr(CodeInvalidInput, "lowStockThreshold must be at least 0 (null clears it)", "input", "lowStockThreshold")
}

func limitPerCustomerErr() *Error {
	return userErr(CodeInvalidInput, "limitPerCustomer must be at least 1 (null: no limit)", "input", "limitPerCustomer")
}
