package main

import (
	"strings"
	"testing"
)

func TestCents(t *testing.T) {
	for _, c := range []int64{0, 5, 100, 1234, 100000000} {
		got, err := parseCents(formatCents(c))
		if err != nil || got != c {
			t.Errorf("parseCents(formatCents(%d)) = %d, %v", c, got, err)
		}
	}
	for _, s := range []string{"", "10", "10.0", "10.000", ".50", "x.00"} {
		if _, err := parseCents(s); err == nil {
			t.Errorf("parseCents(%q): no error", s)
		}
	}
}

func sampleCart() *cartView {
	line := func(id string, q int) lineView {
		return lineView{Quantity: q, LineTotal: moneyView{formatCents(1000 * int64(q)), "USD"},
			Product: productView{ID: id, SKU: "sku" + id, Name: "p" + id, Price: moneyView{"10.00", "USD"}, Available: 5}}
	}
	return &cartView{ID: "c1", Status: "ACTIVE", ExpiresAt: "2030-01-01T00:00:00Z", TotalQuantity: 3,
		Subtotal: moneyView{"30.00", "USD"}, Lines: []lineView{line("1", 1), line("2", 2)}}
}

func TestCheckCart(t *testing.T) {
	if err := checkCart(sampleCart(), "c1", map[int64]int{1: 1, 2: 2}); err != nil {
		t.Fatalf("a good cart: %v", err)
	}
	if err := checkCart(sampleCart(), "c1", nil); err != nil {
		t.Fatalf("a good cart, lines not known: %v", err)
	}
	for name, c := range map[string]struct {
		edit func(*cartView)
		want map[int64]int
		msg  string
	}{
		"other cart":      {func(v *cartView) { v.ID = "c2" }, nil, "not"},
		"no lines":        {func(v *cartView) { v.Lines = nil }, nil, "totalQuantity"},
		"total off":       {func(v *cartView) { v.TotalQuantity = 4 }, nil, "totalQuantity"},
		"subtotal off":    {func(v *cartView) { v.Subtotal.Amount = "31.00" }, nil, "subtotal"},
		"lineTotal off":   {func(v *cartView) { v.Lines[1].LineTotal.Amount = "10.00" }, nil, "lineTotal"},
		"product missing": {func(v *cartView) { v.Lines[0].Product = productView{} }, nil, "product"},
		"expired":         {func(v *cartView) { v.Status = "EXPIRED" }, nil, "status"},
		"line missing":    {func(*cartView) {}, map[int64]int{1: 1, 2: 2, 3: 1}, "lines"},
		"quantity off":    {func(*cartView) {}, map[int64]int{1: 1, 2: 3}, "quantity"},
	} {
		v := sampleCart()
		c.edit(v)
		err := checkCart(v, "c1", c.want)
		if err == nil || !isRenderErr(err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want a render error about %q", name, err, c.msg)
		}
	}
	if err := checkCart(nil, "c1", nil); err == nil {
		t.Error("no cart: no error")
	}
}

func TestCheckPage(t *testing.T) {
	end := "x"
	p := &productPage{PageInfo: pageInfoView{HasNextPage: true, EndCursor: &end}}
	for i := range 2 {
		p.Edges = append(p.Edges, struct {
			Node productView `json:"node"`
		}{productView{ID: pid(int64(i + 1)), Name: "n", Price: moneyView{"1.00", "USD"}}})
	}
	if err := checkPage(p, 2); err != nil {
		t.Fatalf("a good page: %v", err)
	}
	if err := checkPage(p, 3); err == nil {
		t.Error("a short page that says there is more: no error")
	}
	p.Edges = nil
	if err := checkPage(p, 2); err == nil {
		t.Error("an empty page: no error")
	}
}
