package main

import (
	"errors"
	"fmt"
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
	ID          string    `json:"id"`
	SKU         string    `json:"sku"`
	Name        string    `json:"name"`
	Description *string   `json:"description"`
	Price       moneyView `json:"price"`
	Available   int       `json:"available"`
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

// productPage is one page of products(first:, after:).
type productPage struct {
	Edges []struct {
		Node productView `json:"node"`
	} `json:"edges"`
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

// checkPage verifies a products page: full unless it is the last, every
// node renders, a cursor to follow when there is more.
func checkPage(p *productPage, first int) error {
	if p == nil || len(p.Edges) == 0 || len(p.Edges) > first {
		n := -1
		if p != nil {
			n = len(p.Edges)
		}
		return renderErr("products page with %d edges (first: %d)", n, first)
	}
	if p.PageInfo.HasNextPage && (len(p.Edges) != first || p.PageInfo.EndCursor == nil || *p.PageInfo.EndCursor == "") {
		return renderErr("products page of %d edges says there is more, endCursor %v", len(p.Edges), p.PageInfo.EndCursor)
	}
	for i := range p.Edges {
		if err := checkProductView(&p.Edges[i].Node, false); err != nil {
			return err
		}
	}
	return nil
}
