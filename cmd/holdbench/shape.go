package main

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Response shapes: what a mutation asks for in its answer.
//
//	storefront  what a cart page renders after "Add to cart": the cart with
//	            its status, expiry, totals and every line with its product
//	minimal     cart { id } and the userErrors: what no storefront sends, but
//	            what holdbench measured before
const (
	shapeStorefront = "storefront"
	shapeMinimal    = "minimal"
)

var allShapes = []string{shapeStorefront, shapeMinimal}

// GraphQL selections of the storefront shape.
const (
	selMoney = `{ amount currencyCode }`
	// selCart is what a cart page renders.
	selCart = `id status expiresAt totalQuantity subtotal ` + selMoney +
		` lines { quantity lineTotal ` + selMoney + ` product { id sku name price ` + selMoney + ` available } }`
	selStorefrontPayload = `{ cart { ` + selCart + ` } userErrors { code message field available } warnings { code message } }`
)

type moneyView struct {
	Amount       string `json:"amount"`
	CurrencyCode string `json:"currencyCode"`
}

type productView struct {
	ID        string    `json:"id"`
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Price     moneyView `json:"price"`
	Available int       `json:"available"`
}

type lineView struct {
	Quantity  int         `json:"quantity"`
	LineTotal moneyView   `json:"lineTotal"`
	Product   productView `json:"product"`
}

// cartView is a cart as the answer renders it: decoded from the API's JSON,
// or built from the raw baseline's rows.
type cartView struct {
	ID            string     `json:"id"`
	Status        string     `json:"status"`
	ExpiresAt     string     `json:"expiresAt"`
	TotalQuantity int        `json:"totalQuantity"`
	Subtotal      moneyView  `json:"subtotal"`
	Lines         []lineView `json:"lines"`
}

type pageInfoView struct {
	HasNextPage bool    `json:"hasNextPage"`
	EndCursor   *string `json:"endCursor"`
}

// GraphQL selections of the browse scenario's shapes (see browse.go): a
// catalog grid's product group (the first image is the one a grid shows,
// but images takes no arguments, so the answer holds them all) and a
// product page's.
const (
	selPriceRange = `priceRange { min ` + selMoney + ` max ` + selMoney + ` }`
	selGroupGrid  = `id title handle ` + selPriceRange + ` available images { url altText }` +
		` variants { id selectedOptions { name value } price ` + selMoney + ` available }`
	selGroupPage = `id title handle description options { name values } ` + selPriceRange + ` available images { url altText }` +
		` variants { id sku selectedOptions { name value } price ` + selMoney + ` available }`
)

type selectedOptionView struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type optionView struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

type imageView struct {
	URL     string  `json:"url"`
	AltText *string `json:"altText"`
}

// variantView is a variant (a Product) as a group renders it; sku only on
// the product page.
type variantView struct {
	ID              string               `json:"id"`
	SKU             string               `json:"sku"`
	SelectedOptions []selectedOptionView `json:"selectedOptions"`
	Price           moneyView            `json:"price"`
	Available       int                  `json:"available"`
}

type priceRangeView struct {
	Min moneyView `json:"min"`
	Max moneyView `json:"max"`
}

// groupView is a product group as the grid (no description, no options) or
// the product page renders it: decoded from the API's JSON, or built from
// the raw baseline's rows.
type groupView struct {
	ID          string         `json:"id"`
	Title       string         `json:"title"`
	Handle      string         `json:"handle"`
	Description *string        `json:"description"`
	Options     []optionView   `json:"options"`
	PriceRange  priceRangeView `json:"priceRange"`
	Available   int            `json:"available"`
	Images      []imageView    `json:"images"`
	Variants    []variantView  `json:"variants"`
}

type groupEdge struct {
	Node groupView `json:"node"`
}

// groupPage is one page of productGroups(first:, after:).
type groupPage struct {
	Edges    []groupEdge  `json:"edges"`
	PageInfo pageInfoView `json:"pageInfo"`
}

// errRender marks an answer that does not hold what it must: a broken render
// must not count as a fast one.
type errRender struct{ msg string }

func (e *errRender) Error() string { return "render check: " + e.msg }

func renderErr(format string, args ...any) error {
	return &errRender{msg: fmt.Sprintf(format, args...)}
}

func isRenderErr(err error) bool {
	var r *errRender
	return errors.As(err, &r)
}

// formatCents writes cents as the API writes an amount: "12.34".
func formatCents(c int64) string {
	sign := ""
	if c < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s%d.%02d", sign, c/100, c%100)
}

// parseCents reads an amount with two decimals.
func parseCents(s string) (int64, error) {
	whole, frac, ok := strings.Cut(s, ".")
	if !ok || len(frac) != 2 || whole == "" {
		return 0, fmt.Errorf("amount %q is not a decimal with two decimals", s)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	f, err := strconv.ParseUint(frac, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("amount %q: %w", s, err)
	}
	if strings.HasPrefix(whole, "-") {
		return w*100 - int64(f), nil
	}
	return w*100 + int64(f), nil
}

func checkProductView(p *productView, needSKU bool) error {
	if p.ID == "" || p.Name == "" || (needSKU && p.SKU == "") {
		return renderErr("product without id, name or sku: %+v", *p)
	}
	if _, err := parseCents(p.Price.Amount); err != nil || p.Price.CurrencyCode == "" {
		return renderErr("product %s: price %+v", p.ID, p.Price)
	}
	if p.Available < 0 {
		return renderErr("product %s: available %d", p.ID, p.Available)
	}
	return nil
}

// checkCart verifies a storefront cart answer: it is the worker's cart, it
// adds up (totalQuantity = the sum of its lines' quantities, each lineTotal =
// price × quantity, subtotal = the sum of the lineTotals), every line renders
// its product, and, while the worker knows its cart exactly (want != nil),
// the lines are exactly the ones it holds.
func checkCart(v *cartView, cart string, want map[int64]int) error {
	if v == nil {
		return renderErr("no cart in the answer")
	}
	if v.ID != cart {
		return renderErr("answer is for cart %q, not %q", v.ID, cart)
	}
	if v.Status != "ACTIVE" || v.ExpiresAt == "" {
		return renderErr("cart status %q, expiresAt %q", v.Status, v.ExpiresAt)
	}
	qty := 0
	var sub int64
	seen := make(map[string]bool, len(v.Lines))
	for i := range v.Lines {
		l := &v.Lines[i]
		if err := checkProductView(&l.Product, true); err != nil {
			return err
		}
		if seen[l.Product.ID] {
			return renderErr("product %s on two lines", l.Product.ID)
		}
		seen[l.Product.ID] = true
		if l.Quantity < 1 {
			return renderErr("line of product %s: quantity %d", l.Product.ID, l.Quantity)
		}
		price, _ := parseCents(l.Product.Price.Amount)
		total, err := parseCents(l.LineTotal.Amount)
		if err != nil || total != price*int64(l.Quantity) || l.LineTotal.CurrencyCode != l.Product.Price.CurrencyCode {
			return renderErr("line of product %s: lineTotal %+v for %d × %+v", l.Product.ID, l.LineTotal, l.Quantity, l.Product.Price)
		}
		qty += l.Quantity
		sub += total
		if want != nil {
			id, err := strconv.ParseInt(l.Product.ID, 10, 64)
			if err != nil || want[id] != l.Quantity {
				return renderErr("line of product %s: quantity %d, the cart holds %d", l.Product.ID, l.Quantity, want[id])
			}
		}
	}
	if qty != v.TotalQuantity {
		return renderErr("totalQuantity %d but the lines add up to %d", v.TotalQuantity, qty)
	}
	if s, err := parseCents(v.Subtotal.Amount); err != nil || s != sub {
		return renderErr("subtotal %+v but the lines add up to %s", v.Subtotal, formatCents(sub))
	}
	if want != nil && len(v.Lines) != len(want) {
		return renderErr("%d lines, the cart holds %d", len(v.Lines), len(want))
	}
	return nil
}

// seededGroup is what holdbench put in a group (browse.go): its id,
// handle, variant ids in display order, option names in order, images.
type seededGroup struct {
	id       int64
	handle   string
	variants []int64
	options  []string
	images   int
}

// checkGroup verifies a product group as the grid (page false) or the
// product page renders it: every variant renders (id, price in the range's
// currency, available, one value of each option; and its sku on the page),
// no two variants share an id or a combination, priceRange is the lowest
// and highest variant price, available is the sum of the variants'. On the
// page the description and the options are there, and each variant's
// selectedOptions name them in order with one of their values. When want
// (what holdbench seeded) is known the group is that one, with exactly its
// variants in display order and its images.
func checkGroup(g *groupView, want *seededGroup, page bool) error {
	if g == nil {
		return renderErr("no product group in the answer")
	}
	if g.ID == "" || g.Title == "" || g.Handle == "" {
		return renderErr("product group without id, title or handle: %q %q %q", g.ID, g.Title, g.Handle)
	}
	if len(g.Variants) == 0 {
		return renderErr("product group %s without variants", g.ID)
	}
	cur := g.PriceRange.Min.CurrencyCode
	lo, err1 := parseCents(g.PriceRange.Min.Amount)
	hi, err2 := parseCents(g.PriceRange.Max.Amount)
	if err1 != nil || err2 != nil || cur == "" || g.PriceRange.Max.CurrencyCode != cur {
		return renderErr("product group %s: priceRange %+v", g.ID, g.PriceRange)
	}
	if page {
		if g.Description == nil || *g.Description == "" {
			return renderErr("product group %s without its description", g.ID)
		}
		if len(g.Options) == 0 {
			return renderErr("product group %s without its options", g.ID)
		}
	}
	var vlo, vhi int64
	sum := 0
	ids := make(map[string]bool, len(g.Variants))
	combos := make(map[string]bool, len(g.Variants))
	for i := range g.Variants {
		v := &g.Variants[i]
		if v.ID == "" || ids[v.ID] {
			return renderErr("product group %s: variant id %q missing or repeated", g.ID, v.ID)
		}
		ids[v.ID] = true
		if page && v.SKU == "" {
			return renderErr("product group %s: variant %s without its sku", g.ID, v.ID)
		}
		price, err := parseCents(v.Price.Amount)
		if err != nil || v.Price.CurrencyCode != cur {
			return renderErr("product group %s: variant %s priced %+v, the range is in %q", g.ID, v.ID, v.Price, cur)
		}
		if i == 0 || price < vlo {
			vlo = price
		}
		if i == 0 || price > vhi {
			vhi = price
		}
		if v.Available < 0 {
			return renderErr("product group %s: variant %s available %d", g.ID, v.ID, v.Available)
		}
		sum += v.Available
		if len(v.SelectedOptions) == 0 {
			return renderErr("product group %s: variant %s without selectedOptions", g.ID, v.ID)
		}
		var combo strings.Builder
		for j, so := range v.SelectedOptions {
			if so.Name == "" || so.Value == "" {
				return renderErr("product group %s: variant %s selects %+v", g.ID, v.ID, so)
			}
			if page && (len(v.SelectedOptions) != len(g.Options) || g.Options[j].Name != so.Name || !slices.Contains(g.Options[j].Values, so.Value)) {
				return renderErr("product group %s: variant %s selects %+v, not the options %+v in order", g.ID, v.ID, v.SelectedOptions, g.Options)
			}
			if want != nil && (len(v.SelectedOptions) != len(want.options) || want.options[j] != so.Name) {
				return renderErr("product group %s: variant %s selects %+v, the group's options are %v", g.ID, v.ID, v.SelectedOptions, want.options)
			}
			combo.WriteString(so.Name + "\x00" + so.Value + "\x00")
		}
		if combos[combo.String()] {
			return renderErr("product group %s: two variants select %+v", g.ID, v.SelectedOptions)
		}
		combos[combo.String()] = true
	}
	if lo != vlo || hi != vhi {
		return renderErr("product group %s: priceRange %s-%s but its variants are priced %s-%s", g.ID, g.PriceRange.Min.Amount, g.PriceRange.Max.Amount, formatCents(vlo), formatCents(vhi))
	}
	if g.Available != sum {
		return renderErr("product group %s: available %d but its variants add up to %d", g.ID, g.Available, sum)
	}
	for _, img := range g.Images {
		if img.URL == "" {
			return renderErr("product group %s: an image without its url", g.ID)
		}
	}
	if want == nil {
		return nil
	}
	if g.ID != pid(want.id) || g.Handle != want.handle {
		return renderErr("product group %s (%s) is not the seeded %d (%s)", g.ID, g.Handle, want.id, want.handle)
	}
	if len(g.Variants) != len(want.variants) {
		return renderErr("product group %s: %d variants, it has %d", g.ID, len(g.Variants), len(want.variants))
	}
	for i, id := range want.variants {
		if g.Variants[i].ID != pid(id) {
			return renderErr("product group %s: variant %d is %s, want %d (its variants in display order: %v)", g.ID, i, g.Variants[i].ID, id, want.variants)
		}
	}
	if len(g.Images) != want.images {
		return renderErr("product group %s: %d images, it has %d", g.ID, len(g.Images), want.images)
	}
	return nil
}

// checkGroupPage verifies a page of product groups: full unless it is the
// last, in id order (the listing's default), no group twice, a cursor to
// follow when there is more, every group as checkGroup has it (against
// what holdbench seeded, for the groups it did).
func checkGroupPage(p *groupPage, first int, seeded map[string]*seededGroup) error {
	if p == nil || len(p.Edges) == 0 || len(p.Edges) > first {
		n := -1
		if p != nil {
			n = len(p.Edges)
		}
		return renderErr("product groups page with %d edges (first: %d)", n, first)
	}
	if p.PageInfo.HasNextPage && (len(p.Edges) != first || p.PageInfo.EndCursor == nil || *p.PageInfo.EndCursor == "") {
		return renderErr("product groups page of %d edges says there is more, endCursor %v", len(p.Edges), p.PageInfo.EndCursor)
	}
	var last int64
	for i := range p.Edges {
		g := &p.Edges[i].Node
		id, err := strconv.ParseInt(g.ID, 10, 64)
		if err != nil || (i > 0 && id <= last) {
			return renderErr("product groups page: group %q after %d, not in id order", g.ID, last)
		}
		last = id
		if err := checkGroup(g, seeded[g.ID], false); err != nil {
			return err
		}
	}
	return nil
}
