package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lib/pq"
)

// Product groups (issue 22): a group gathers the variants of one article
// and says what they vary by. Each variant is a product, with its own sku,
// price, stock and holds; the group holds no count of its own, so the
// reservation stays the one conditional UPDATE of the variant's row. The
// option rules are enforced by the database (migration 00017); the checks
// here only refuse malformed input early.

// ProductOption is one of a group's options and its values, in display
// order.
type ProductOption struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// ProductOptions are a group's options in display order, stored as jsonb.
type ProductOptions []ProductOption

// Scan reads the jsonb column.
func (o *ProductOptions) Scan(src any) error {
	if b, ok := src.([]byte); ok {
		if opts, ok := parseProductOptions(b); ok {
			*o = opts
			return nil
		}
	}
	return scanJSON(src, o)
}

// Value writes the jsonb column.
func (o ProductOptions) Value() (driver.Value, error) {
	if o == nil {
		return "[]", nil
	}
	b, err := json.Marshal(o)
	return string(b), err
}

// OptionSelection is a variant's value of each option of its group, by
// option name; nil for an ungrouped product.
type OptionSelection map[string]string

// Scan reads the jsonb column (NULL: nil).
func (o *OptionSelection) Scan(src any) error {
	if src == nil {
		*o = nil
		return nil
	}
	if b, ok := src.([]byte); ok {
		if m, ok := parseFlatStrings(b); ok {
			*o = m
			return nil
		}
	}
	return scanJSON(src, o)
}

// flatJSON reads the JSON PostgreSQL writes for the catalog's small jsonb
// columns (strings without escapes, objects, arrays) without
// encoding/json's reflection, which was a tenth of a catalog page's CPU
// (240 variants). Its readers say not ok for anything else (an escape, a
// number, null, malformed input), and encoding/json reads that.
type flatJSON struct {
	b []byte
	i int
}

func (l *flatJSON) ws() {
	for l.i < len(l.b) && (l.b[l.i] == ' ' || l.b[l.i] == '\t' || l.b[l.i] == '\n' || l.b[l.i] == '\r') {
		l.i++
	}
}

// punct skips white space and then c, if c is next.
func (l *flatJSON) punct(c byte) bool {
	l.ws()
	if l.i < len(l.b) && l.b[l.i] == c {
		l.i++
		return true
	}
	return false
}

// str reads a string without escapes, after white space.
func (l *flatJSON) str() (string, bool) {
	l.ws()
	if l.i >= len(l.b) || l.b[l.i] != '"' {
		return "", false
	}
	start := l.i + 1
	for j := start; j < len(l.b); j++ {
		switch c := l.b[j]; {
		case c == '"':
			l.i = j + 1
			return string(l.b[start:j]), true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// end reports whether only white space is left.
func (l *flatJSON) end() bool {
	l.ws()
	return l.i == len(l.b)
}

// list reads a comma-separated list of elements closed by close, the
// opening bracket already read; elem reads one element.
func (l *flatJSON) list(close byte, elem func() bool) bool {
	if l.punct(close) {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if l.punct(close) {
			return true
		}
		if !l.punct(',') {
			return false
		}
	}
}

// parseFlatStrings reads a JSON object of strings, as PostgreSQL writes a
// variant's selected options ({"Size": "M", ...}) (TestParseFlatStrings).
func parseFlatStrings(b []byte) (map[string]string, bool) {
	l := &flatJSON{b: b}
	if !l.punct('{') {
		return nil, false
	}
	m := map[string]string{}
	ok := l.list('}', func() bool {
		k, ok := l.str()
		if !ok || !l.punct(':') {
			return false
		}
		v, ok := l.str()
		m[k] = v
		return ok
	})
	if !ok || !l.end() {
		return nil, false
	}
	return m, true
}

// parseProductOptions reads a group's options as PostgreSQL writes them
// ([{"name": "Size", "values": ["S", "M"]}, ...]): each object with
// exactly the keys name and values, once each, as the API stores them
// (TestParseProductOptions). Anything else is not ok, for encoding/json.
func parseProductOptions(b []byte) (ProductOptions, bool) {
	l := &flatJSON{b: b}
	if !l.punct('[') {
		return nil, false
	}
	opts := ProductOptions{}
	ok := l.list(']', func() bool {
		if !l.punct('{') {
			return false
		}
		var o ProductOption
		var name, values bool
		ok := l.list('}', func() bool {
			k, ok := l.str()
			if !ok || !l.punct(':') {
				return false
			}
			switch {
			case k == "name" && !name:
				name = true
				o.Name, ok = l.str()
				return ok
			case k == "values" && !values:
				values = true
				if !l.punct('[') {
					return false
				}
				o.Values = []string{}
				return l.list(']', func() bool {
					v, ok := l.str()
					o.Values = append(o.Values, v)
					return ok
				})
			}
			return false
		})
		opts = append(opts, o)
		return ok && name && values
	})
	if !ok || !l.end() {
		return nil, false
	}
	return opts, true
}

// Value writes the jsonb column (nil: NULL).
func (o OptionSelection) Value() (driver.Value, error) {
	if o == nil {
		return nil, nil
	}
	b, err := json.Marshal(o)
	return string(b), err
}

func scanJSON(src, dst any) error {
	switch v := src.(type) {
	case nil:
		return nil // NULL: dst keeps its zero value
	case []byte:
		return json.Unmarshal(v, dst)
	case string:
		return json.Unmarshal([]byte(v), dst)
	}
	return fmt.Errorf("storage: cannot scan %T as jsonb", src)
}

// ProductGroup is a group of variants as read, with the units its variants
// have available now.
type ProductGroup struct {
	ID            int64          `db:"id"`
	Handle        string         `db:"handle"`
	Title         string         `db:"title"`
	Description   *string        `db:"description"`
	Options       ProductOptions `db:"options"`
	MinPriceCents int64          `db:"min_price_cents"`
	MaxPriceCents int64          `db:"max_price_cents"`
	// Currency is its variants' currency; nil while it has none.
	Currency  *string   `db:"currency"`
	Available int       `db:"available"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

// groupColumns of product_groups aliased g, and the sum of its variants'
// available (read now: held changes with every reservation, so it is never
// stored), capped at a GraphQL Int's maximum: each variant's stock fits
// one, their sum may not.
const groupColumns = `g.id, g.handle, g.title, g.description, g.options, g.min_price_cents, g.max_price_cents, g.currency,
	g.created_at, g.updated_at,
	LEAST(COALESCE((SELECT sum(v.stock - v.held) FROM products v WHERE v.group_id = g.id), 0), 2147483647) AS available`

// Option limits.
const (
	MaxOptions       = 5
	MaxOptionValues  = 100
	MaxOptionNameLen = 100
)

// NewProductGroup is the input of CreateProductGroup.
type NewProductGroup struct {
	Handle      *string // nil: derived from the title
	Title       string
	Description *string
	Options     ProductOptions
	Images      []NewImage
	// IdempotencyKey, if set, makes a repeat with the same input create
	// nothing and answer what the first attempt answered.
	IdempotencyKey string `json:"-"`
}

// ProductGroupUpdate is the input of UpdateProductGroup; nil fields stay
// unchanged.
type ProductGroupUpdate struct {
	Handle      *string
	Title       *string
	Description *string        // "" clears it
	Options     ProductOptions // may gain values and options' order; see UpdateProductGroup
	Images      []NewImage     // nil: unchanged; empty: none
}

func variantOptionsErr(msg string, field ...string) *Error {
	if len(field) == 0 {
		field = []string{"input", "selectedOptions"}
	}
	return userErr(CodeVariantOptionsInvalid, msg, field...)
}

func groupNotFound(field ...string) *Error {
	return userErr(CodeProductGroupNotFound, "no product group with this id", field...)
}

func validOptionText(s string) bool {
	return s != "" && s == strings.TrimSpace(s) && validText(s, MaxOptionNameLen)
}

// validateOptions checks a group's options: at most MaxOptions, each with a
// distinct name and 1..MaxOptionValues distinct values.
func validateOptions(opts ProductOptions) *Error {
	bad := func(msg string) *Error { return userErr(CodeInvalidInput, msg, "input", "options") }
	if len(opts) > MaxOptions {
		return bad("a product group has at most " + strconv.Itoa(MaxOptions) + " options")
	}
	names := map[string]bool{}
	for _, o := range opts {
		if !validOptionText(o.Name) || names[o.Name] {
			return bad("option names must be distinct, 1-100 characters, without leading or trailing spaces")
		}
		names[o.Name] = true
		if len(o.Values) == 0 || len(o.Values) > MaxOptionValues {
			return bad("an option has 1-" + strconv.Itoa(MaxOptionValues) + " values")
		}
		values := map[string]bool{}
		for _, v := range o.Values {
			if !validOptionText(v) || values[v] {
				return bad("an option's values must be distinct, 1-100 characters, without leading or trailing spaces")
			}
			values[v] = true
		}
	}
	return nil
}

// validateSelection checks a product's selected options: well-formed, and
// only for a product that is (or stays) in a group. Whether they fit the
// group is the database's check.
func validateSelection(grouped bool, sel OptionSelection) *Error {
	if sel == nil {
		return nil
	}
	if !grouped {
		return variantOptionsErr("selectedOptions need a groupId: an ungrouped product has none")
	}
	if len(sel) > MaxOptions {
		return variantOptionsErr("a variant selects at most " + strconv.Itoa(MaxOptions) + " options")
	}
	for k, v := range sel {
		if !validOptionText(k) || !validOptionText(v) {
			return variantOptionsErr("option names and values are 1-100 characters, without leading or trailing spaces")
		}
	}
	return nil
}

var createGroupSQL = `
	INSERT INTO product_groups (handle, title, description, options)
	VALUES (CASE WHEN $4 THEN ` + freeHandleSQL("product_groups", "$1::text") + ` ELSE $1 END, $2, $3, $5)
	RETURNING id`

// CreateProductGroup adds a group (with no variants: products join it
// through CreateProduct or UpdateProduct). Its handle follows the rules of
// product handles, in a namespace of its own.
func (s *Store) CreateProductGroup(ctx context.Context, in NewProductGroup) (*ProductGroup, error) {
	if err := validateTitle(&in.Title); err != nil {
		return nil, err
	}
	if err := validateCollectionFields(in.Handle, in.Description); err != nil {
		return nil, err
	}
	if err := validateOptions(in.Options); err != nil {
		return nil, err
	}
	if err := validateImages(in.Images); err != nil {
		return nil, err
	}
	handle, derived := "", in.Handle == nil
	if derived {
		handle = Slugify(in.Title, "product-group")
	} else {
		handle = *in.Handle
	}
	insert := func(tx *Tx) (id int64, err error) {
		if derived {
			if err := lockHandleBase(ctx, tx.q, "product_groups", handle); err != nil {
				return 0, err
			}
		}
		if err := sqlxGet(ctx, tx.q, &id, createGroupSQL, handle, in.Title, in.Description, derived, in.Options); err != nil {
			return 0, err
		}
		return id, replaceGroupImages(ctx, tx.q, id, in.Images)
	}
	return adminTx(ctx, s, in.IdempotencyKey, "createProductGroup", inputHash("createProductGroup", in), func(ctx context.Context, tx *Tx) (*ProductGroup, error) {
		var id int64
		var err error
		for attempt := 1; attempt <= handleAttempts; attempt++ {
			// A handle given explicitly may take the derived one first:
			// derive again.
			if _, err := tx.q.ExecContext(ctx, `SAVEPOINT create_product_group`); err != nil {
				return nil, translate(err)
			}
			if id, err = insert(tx); !derived || !errors.Is(err, ErrDuplicateHandle) {
				break
			}
			if _, err := tx.q.ExecContext(ctx, `ROLLBACK TO SAVEPOINT create_product_group`); err != nil {
				return nil, translate(err)
			}
		}
		if err != nil {
			return nil, err
		}
		var g ProductGroup
		return &g, sqlxGet(ctx, tx.q, &g, `SELECT `+groupColumns+` FROM product_groups g WHERE g.id = $1`, id)
	})
}

// UpdateProductGroup changes a group's handle, title, description, options
// or images. Options may gain values (and options and values may be
// reordered); removing a value or an option some variant uses, or adding
// an option its variants have no value for, is VARIANT_OPTIONS_INVALID and
// changes nothing (the database checks every variant, under the group's
// lock).
func (s *Store) UpdateProductGroup(ctx context.Context, id int64, in ProductGroupUpdate) (*ProductGroup, error) {
	if err := validateTitle(in.Title); err != nil {
		return nil, err
	}
	if err := validateCollectionFields(in.Handle, in.Description); err != nil {
		return nil, err
	}
	if in.Options != nil {
		if err := validateOptions(in.Options); err != nil {
			return nil, err
		}
	}
	if in.Images != nil {
		if err := validateImages(in.Images); err != nil {
			return nil, err
		}
	}
	const q = `
		UPDATE product_groups
		SET handle = COALESCE($2, handle),
		    title = COALESCE($3, title),
		    description = CASE WHEN $4::text IS NULL THEN description ELSE NULLIF($4, '') END,
		    options = COALESCE($5::jsonb, options),
		    updated_at = now()
		WHERE id = $1
		RETURNING id`
	var opts any // NULL unless options are given
	if in.Options != nil {
		opts = in.Options
	}
	err := s.WithTx(ctx, func(ctx context.Context, tx *Tx) error {
		var got int64
		if err := sqlxGet(ctx, tx.q, &got, q, id, in.Handle, in.Title, in.Description, opts); err != nil {
			return err
		}
		if in.Images == nil {
			return nil
		}
		return replaceGroupImages(ctx, tx.q, id, in.Images)
	})
	var e *Error
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, groupNotFound("input", "productGroupId")
	case errors.As(err, &e) && e.Code == CodeVariantOptionsInvalid:
		return nil, variantOptionsErr("options may gain values; an option or value a variant uses cannot be removed, nor an option added that variants have no value for", "input", "options")
	case err != nil:
		return nil, err
	}
	return s.ProductGroupByID(ctx, id)
}

// DeleteProductGroup deletes a group and returns it as it was; its
// products stay in the catalog, ungrouped and sellable.
func (s *Store) DeleteProductGroup(ctx context.Context, id int64) (*ProductGroup, error) {
	return s.DeleteProductGroupKeyed(ctx, id, "")
}

// DeleteProductGroupKeyed is DeleteProductGroup with an idempotency key
// ("" for none): a repeat answers the group the first attempt deleted, not
// PRODUCT_GROUP_NOT_FOUND.
func (s *Store) DeleteProductGroupKeyed(ctx context.Context, id int64, key string) (*ProductGroup, error) {
	return adminTx(ctx, s, key, "deleteProductGroup", requestHash("deleteProductGroup", id), func(ctx context.Context, tx *Tx) (*ProductGroup, error) {
		var g ProductGroup
		err := sqlxGet(ctx, tx.q, &g, `SELECT `+groupColumns+` FROM product_groups g WHERE g.id = $1 FOR UPDATE`, id)
		if errors.Is(err, ErrNotFound) {
			return nil, groupNotFound("productGroupId")
		}
		if err != nil {
			return nil, err
		}
		// Both columns in one statement (products_group_pair), then the
		// group, which no variant references any more.
		const ungroup = `UPDATE products SET group_id = NULL, selected_options = NULL WHERE group_id = $1`
		if _, err := tx.q.ExecContext(ctx, ungroup, id); err != nil {
			return nil, translate(err)
		}
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM product_groups WHERE id = $1`, id); err != nil {
			return nil, translate(err)
		}
		g.Available, g.MinPriceCents, g.MaxPriceCents, g.Currency = 0, 0, 0, nil
		return &g, nil
	})
}

// ProductGroupByID returns the group, or nil when there is none.
func (s *Store) ProductGroupByID(ctx context.Context, id int64) (*ProductGroup, error) {
	return s.groupWhere(ctx, `g.id = $1`, id)
}

// ProductGroupByHandle returns the group with this handle, or nil.
func (s *Store) ProductGroupByHandle(ctx context.Context, handle string) (*ProductGroup, error) {
	if !ValidHandle(handle) {
		return nil, nil
	}
	return s.groupWhere(ctx, `g.handle = $1`, handle)
}

// ProductGroupWithVariantsByHandle reads a group and its variants (in
// display order) in one query, for a product page, which shows both: one
// round trip where ProductGroupByHandle and VariantsByGroupIDs are two. A
// group without variants costs a second query; no group: nil.
func (s *Store) ProductGroupWithVariantsByHandle(ctx context.Context, handle string) (*ProductGroup, []*Product, error) {
	if !ValidHandle(handle) {
		return nil, nil, nil
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	rows, err := s.hotReader().QueryContext(ctx, groupWithVariantsSQL, handle)
	if err != nil {
		return nil, nil, translate(err)
	}
	defer rows.Close()
	var g *ProductGroup
	var vs []*Product
	// The group's columns repeat on every row: read on the first, skipped
	// (not decoded) on the others.
	var skip [11]sql.RawBytes
	skipDest := make([]any, len(skip))
	for i := range skip {
		skipDest[i] = &skip[i]
	}
	for rows.Next() {
		v := new(Product)
		dest := skipDest
		if g == nil {
			g = new(ProductGroup)
			dest = []any{&g.ID, &g.Handle, &g.Title, &g.Description, &g.Options, &g.MinPriceCents, &g.MaxPriceCents,
				&g.Currency, &g.CreatedAt, &g.UpdatedAt, &g.Available}
		}
		if err := rows.Scan(append(dest[:len(dest):len(dest)], v.scanDest()...)...); err != nil {
			return nil, nil, translate(err)
		}
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, translate(err)
	}
	if g == nil {
		g, err := s.ProductGroupByHandle(ctx, handle)
		if g == nil || err != nil {
			return nil, nil, err
		}
		return g, []*Product{}, nil
	}
	SortVariants(g.Options, vs)
	return g, vs, nil
}

// groupWithVariantsSQL: groupColumns (their order is the Scan's in
// ProductGroupWithVariantsByHandle), then each variant's productColumns.
var groupWithVariantsSQL = `
	SELECT ` + groupColumns + `, ` + qualifiedProductColumns + `
	FROM product_groups g
	JOIN products p ON p.group_id = g.id
	WHERE g.handle = $1
	ORDER BY p.id`

func (s *Store) groupWhere(ctx context.Context, cond string, arg any) (*ProductGroup, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var g ProductGroup
	err := sqlxGet(ctx, s.hotReader(), &g, `SELECT `+groupColumns+` FROM product_groups g WHERE `+cond, arg)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &g, nil
}

// ProductGroupsByIDs loads many groups in one query; missing ids are
// absent. It backs the per-request group dataloader.
func (s *Store) ProductGroupsByIDs(ctx context.Context, ids []int64) (map[int64]*ProductGroup, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	var gs []*ProductGroup
	if err := sqlxSelect(ctx, s.reader(), &gs, `SELECT `+groupColumns+` FROM product_groups g WHERE g.id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, err
	}
	out := make(map[int64]*ProductGroup, len(gs))
	for _, g := range gs {
		out[g.ID] = g
	}
	return out, nil
}

// VariantsByGroupIDs loads the variants of many groups in one query, each
// group's in display order (see SortVariants); every id asked for has an
// entry.
func (s *Store) VariantsByGroupIDs(ctx context.Context, ids []int64) (map[int64][]*Product, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	q := `
		SELECT ` + qualifiedProductColumns + `,
		       -- The group's options (for the display order) on its first
		       -- variant's row only: decoded once per group, not per variant.
		       CASE WHEN p.id = min(p.id) OVER (PARTITION BY p.group_id) THEN g.options END AS group_options
		-- From the ids, each group and its variants by index: with
		-- p.group_id = ANY($1), PostgreSQL hash-joined a scan of every
		-- group and tested every product against the array, ten times
		-- the work for a catalog page's 20 groups.
		FROM unnest($1::bigint[]) AS k(id)
		JOIN product_groups g ON g.id = k.id
		JOIN products p ON p.group_id = g.id
		ORDER BY p.group_id, p.id`
	// Plain Scan, not sqlx: reflection per row and field was most of a
	// catalog page's read (see scanCartLines).
	rows, err := s.hotReader().QueryContext(ctx, q, pq.Array(ids))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	out := make(map[int64][]*Product, len(ids))
	opts := map[int64]ProductOptions{}
	for _, id := range ids {
		out[id] = []*Product{}
	}
	for rows.Next() {
		p := new(Product)
		var groupOptions ProductOptions
		if err := rows.Scan(append(p.scanDest(), &groupOptions)...); err != nil {
			return nil, translate(err)
		}
		out[*p.GroupID] = append(out[*p.GroupID], p)
		if groupOptions != nil {
			opts[*p.GroupID] = groupOptions
		}
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	for id, vs := range out {
		SortVariants(opts[id], vs)
	}
	return out, nil
}

// SortVariants puts a group's variants in display order: by the position
// of their value of the first option, then of the second..., then by id.
func SortVariants(opts ProductOptions, vs []*Product) {
	pos := make([]map[string]int, len(opts))
	for i, o := range opts {
		pos[i] = make(map[string]int, len(o.Values))
		for j, v := range o.Values {
			pos[i][v] = j
		}
	}
	sort.SliceStable(vs, func(a, b int) bool {
		for i, o := range opts {
			pa, pb := pos[i][vs[a].SelectedOptions[o.Name]], pos[i][vs[b].SelectedOptions[o.Name]]
			if pa != pb {
				return pa < pb
			}
		}
		return vs[a].ID < vs[b].ID
	})
}

// Selected returns a variant's selected options in the order of its
// group's options.
func (o ProductOptions) Selected(sel OptionSelection) []ProductSelectedOption {
	out := make([]ProductSelectedOption, 0, len(sel))
	for _, opt := range o {
		if v, ok := sel[opt.Name]; ok {
			out = append(out, ProductSelectedOption{Name: opt.Name, Value: v})
		}
	}
	return out
}

// ProductSelectedOption is one option of a variant and its value.
type ProductSelectedOption struct{ Name, Value string }

// replaceGroupImages makes imgs the group's images, in order.
func replaceGroupImages(ctx context.Context, q queryer, groupID int64, imgs []NewImage) error {
	const del = `DELETE FROM product_group_images WHERE group_id = $1`
	const ins = `
		INSERT INTO product_group_images (group_id, position, url, alt_text)
		SELECT $1, t.position, t.url, t.alt_text
		FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(url, alt_text, position)`
	return writeImages(ctx, q, del, ins, groupID, imgs)
}

// ImagesByGroupIDs loads the images of many groups in one query, in order;
// every id asked for has an entry.
func (s *Store) ImagesByGroupIDs(ctx context.Context, ids []int64) (map[int64][]*Image, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT group_id AS product_id, position, url, alt_text
		FROM product_group_images
		WHERE group_id = ANY($1)
		ORDER BY group_id, position`
	return imagesByOwner(ctx, s.hotReader(), q, ids)
}

// CollectionsByGroupIDs loads, in one query, the collections holding some
// variant of each group, in collection id order; every id asked for has an
// entry.
func (s *Store) CollectionsByGroupIDs(ctx context.Context, ids []int64) (map[int64][]*Collection, error) {
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	const q = `
		SELECT DISTINCT v.group_id AS product_id, c.id, c.handle, c.title, c.description, c.created_at, c.updated_at
		FROM products v
		JOIN collection_products cp ON cp.product_id = v.id
		JOIN collections c ON c.id = cp.collection_id
		WHERE v.group_id = ANY($1)
		ORDER BY v.group_id, c.id`
	return collectionsByOwner(ctx, s.reader(), q, ids)
}

// PriceRange is the lowest and highest price of a group's variants.
type PriceRange struct{ Min, Max *Money }

// NoCurrency is the currency of a group without variants (ISO 4217's
// "no currency"); its price range is 0.00 to 0.00.
const NoCurrency = "XXX"

// PriceRange is the range of its variants' prices.
func (g *ProductGroup) PriceRange() *PriceRange {
	cur := NoCurrency
	if g.Currency != nil {
		cur = *g.Currency
	}
	return &PriceRange{Min: MoneyOf(LineTotal(g.MinPriceCents, 1), cur), Max: MoneyOf(LineTotal(g.MaxPriceCents, 1), cur)}
}

// NewSelection builds a variant's selection from (name, value) pairs; a
// name given twice is VARIANT_OPTIONS_INVALID.
func NewSelection(pairs [][2]string) (OptionSelection, error) {
	sel := make(OptionSelection, len(pairs))
	for _, p := range pairs {
		if _, dup := sel[p[0]]; dup {
			return nil, variantOptionsErr("selectedOptions name the option " + strconv.Quote(p[0]) + " twice")
		}
		sel[p[0]] = p[1]
	}
	return sel, nil
}
