package main

import (
	"context"
	"database/sql"
	"math"
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

// sampleGroup is a group of 2 colours x 2 sizes priced 10.00-12.50, as
// holdbench seeds it (seeded) and as the product page renders it.
func sampleGroup() (*groupView, *seededGroup) {
	desc := "d"
	g := &groupView{ID: "7", Title: "tee", Handle: "tee", Description: &desc,
		Options:    []optionView{{"Colour", []string{"Black", "Red"}}, {"Size", []string{"S", "M"}}},
		PriceRange: priceRangeView{moneyView{"10.00", "USD"}, moneyView{"12.50", "USD"}},
		Available:  10, Images: []imageView{{URL: "/a.png"}, {URL: "/b.png"}}}
	var ids []int64
	for i, c := range []string{"Black", "Red"} {
		for j, sz := range []string{"S", "M"} {
			id := int64(100 + 2*i + j)
			ids = append(ids, id)
			g.Variants = append(g.Variants, variantView{ID: pid(id), SKU: "sku" + pid(id),
				SelectedOptions: []selectedOptionView{{"Colour", c}, {"Size", sz}},
				Price:           moneyView{formatCents(1000 + 250*int64(j)), "USD"}, Available: 1 + i + 2*j})
		}
	}
	return g, &seededGroup{id: 7, handle: "tee", variants: ids, options: []string{"Colour", "Size"}, images: 2}
}

func TestCheckGroup(t *testing.T) {
	g, want := sampleGroup()
	for _, page := range []bool{false, true} {
		if err := checkGroup(g, want, page); err != nil {
			t.Fatalf("a good group (page %v): %v", page, err)
		}
		if err := checkGroup(g, nil, page); err != nil {
			t.Fatalf("a good group, not seeded (page %v): %v", page, err)
		}
	}
	for name, c := range map[string]struct {
		edit func(*groupView)
		page bool
		msg  string
	}{
		"no variants":         {func(g *groupView) { g.Variants = nil }, false, "without variants"},
		"available off":       {func(g *groupView) { g.Available = 11 }, false, "add up"},
		"variant available":   {func(g *groupView) { g.Variants[0].Available = -1 }, false, "available -1"},
		"min off":             {func(g *groupView) { g.PriceRange.Min.Amount = "9.00" }, false, "priceRange"},
		"max off":             {func(g *groupView) { g.PriceRange.Max.Amount = "12.00" }, false, "priceRange"},
		"range currency":      {func(g *groupView) { g.PriceRange.Max.CurrencyCode = "EUR" }, false, "priceRange"},
		"variant currency":    {func(g *groupView) { g.Variants[1].Price.CurrencyCode = "EUR" }, false, "priced"},
		"bad amount":          {func(g *groupView) { g.Variants[1].Price.Amount = "10" }, false, "priced"},
		"repeated variant":    {func(g *groupView) { g.Variants[1].ID = g.Variants[0].ID }, false, "repeated"},
		"same combination":    {func(g *groupView) { g.Variants[1].SelectedOptions = g.Variants[0].SelectedOptions }, false, "two variants"},
		"no options":          {func(g *groupView) { g.Variants[2].SelectedOptions = nil }, false, "without selectedOptions"},
		"option not seeded":   {func(g *groupView) { g.Variants[2].SelectedOptions[1].Name = "Fit" }, false, "options are"},
		"other variant":       {func(g *groupView) { g.Variants[3].ID = "999" }, false, "variant 3"},
		"order":               {func(g *groupView) { g.Variants[0], g.Variants[1] = g.Variants[1], g.Variants[0] }, false, "display order"},
		"variant missing":     {func(g *groupView) { g.Variants = g.Variants[:3]; g.Available -= 4 }, false, "3 variants"},
		"other group":         {func(g *groupView) { g.ID = "8" }, false, "not the seeded"},
		"image missing":       {func(g *groupView) { g.Images = g.Images[:1] }, false, "1 images"},
		"image without url":   {func(g *groupView) { g.Images[0].URL = "" }, false, "url"},
		"no title":            {func(g *groupView) { g.Title = "" }, false, "title"},
		"page: description":   {func(g *groupView) { g.Description = nil }, true, "description"},
		"page: options":       {func(g *groupView) { g.Options = nil }, true, "options"},
		"page: sku":           {func(g *groupView) { g.Variants[2].SKU = "" }, true, "sku"},
		"page: option order":  {func(g *groupView) { o := g.Variants[0].SelectedOptions; o[0], o[1] = o[1], o[0] }, true, "in order"},
		"page: unknown value": {func(g *groupView) { g.Variants[0].SelectedOptions[1].Value = "XXL" }, true, "in order"},
	} {
		g, want := sampleGroup()
		c.edit(g)
		err := checkGroup(g, want, c.page)
		if err == nil || !isRenderErr(err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want a render error about %q", name, err, c.msg)
		}
	}
	if err := checkGroup(nil, nil, false); err == nil {
		t.Error("no group: no error")
	}
}

func TestCheckGroupPage(t *testing.T) {
	end := "x"
	page := func() (*groupPage, map[string]*seededGroup) {
		p := &groupPage{PageInfo: pageInfoView{HasNextPage: true, EndCursor: &end}}
		seeded := map[string]*seededGroup{}
		for i := range 2 {
			g, want := sampleGroup()
			g.ID, want.id = pid(int64(7+i)), int64(7+i)
			g.Description, g.Options = nil, nil // the grid asks for neither
			for j := range g.Variants {
				g.Variants[j].SKU = ""
			}
			p.Edges = append(p.Edges, groupEdge{Node: *g})
			seeded[g.ID] = want
		}
		return p, seeded
	}
	p, seeded := page()
	if err := checkGroupPage(p, 2, seeded); err != nil {
		t.Fatalf("a good page: %v", err)
	}
	p.PageInfo = pageInfoView{}
	if err := checkGroupPage(p, 3, seeded); err != nil {
		t.Fatalf("a short last page: %v", err)
	}
	for name, c := range map[string]struct {
		edit  func(*groupPage)
		first int
		msg   string
	}{
		"short, more follow": {func(*groupPage) {}, 3, "says there is more"},
		"no cursor":          {func(p *groupPage) { p.PageInfo.EndCursor = nil }, 2, "says there is more"},
		"too long":           {func(*groupPage) {}, 1, "2 edges"},
		"empty":              {func(p *groupPage) { p.Edges = nil }, 2, "0 edges"},
		"out of order":       {func(p *groupPage) { p.Edges[0], p.Edges[1] = p.Edges[1], p.Edges[0] }, 2, "id order"},
		"twice":              {func(p *groupPage) { p.Edges[1] = p.Edges[0] }, 2, "id order"},
		"a broken group":     {func(p *groupPage) { p.Edges[1].Node.Available++ }, 2, "add up"},
		"a page's variants":  {func(p *groupPage) { p.Edges[1].Node.Variants[0].ID = "1" }, 2, "variant 0"},
	} {
		p, seeded := page()
		c.edit(p)
		err := checkGroupPage(p, c.first, seeded)
		if err == nil || !isRenderErr(err) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want a render error about %q", name, err, c.msg)
		}
	}
}

// The raw side orders options and variants as the server does, from rows
// in id order.
func TestRawGroup(t *testing.T) {
	g, err := newRawGroup(7, "tee", "tee", sql.NullString{String: "d", Valid: true},
		[]byte(`[{"name":"Colour","values":["Red","Black"]},{"name":"Size","values":["S","M"]}]`), 1000, 1250, sql.NullString{String: "USD", Valid: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		id        int64
		sel       string
		available int
	}{
		{1, `{"Size": "M", "Colour": "Black"}`, 1},
		{2, `{"Colour": "Red", "Size": "M"}`, 2},
		{3, `{"Size": "S", "Colour": "Black"}`, 3},
		{4, `{"Colour": "Red", "Size": "S"}`, 4},
	} {
		if err := g.addVariant(v.id, "s", 1000+250*(v.id%2), v.available, []byte(v.sel)); err != nil {
			t.Fatal(err)
		}
	}
	got := g.done()
	var order []string
	for _, v := range got.Variants {
		order = append(order, v.ID+":"+v.SelectedOptions[0].Value+"/"+v.SelectedOptions[1].Value)
	}
	if want := "4:Red/S 2:Red/M 3:Black/S 1:Black/M"; strings.Join(order, " ") != want {
		t.Errorf("variants %v, want %s", order, want)
	}
	if got.Available != 10 || got.PriceRange.Min.Amount != "10.00" || got.PriceRange.Max.CurrencyCode != "USD" {
		t.Errorf("available %d, priceRange %+v", got.Available, got.PriceRange)
	}
	if err := checkGroup(got, nil, true); err != nil {
		t.Errorf("checkGroup: %v", err)
	}
}

func TestBrowseSeedShape(t *testing.T) {
	for _, c := range []struct{ n, colours, sizes int }{{12, 3, 4}, {1, 1, 1}, {3, 1, 3}, {5, 2, 4}, {400, 100, 4}} {
		colours, sizes := browseOptions(c.n)
		if len(colours) != c.colours || len(sizes) != c.sizes {
			t.Errorf("%d variants: %d colours x %d sizes, want %d x %d", c.n, len(colours), len(sizes), c.colours, c.sizes)
		}
		if int64(browseStock(c.n))*int64(c.n) > math.MaxInt32 {
			t.Errorf("%d variants of stock %d: the group's available overflows a GraphQL Int", c.n, browseStock(c.n))
		}
	}
	if browsePrice(1, 0) == browsePrice(1, 3) || browsePrice(3, 0) != browsePrice(3, 3) {
		t.Error("group 1 should have a price range, group 3 one price")
	}
}

func TestParseMetrics(t *testing.T) {
	c, err := parseMetrics(strings.NewReader(`# HELP go_memstats_mallocs_total Total number of heap objects allocated.
# TYPE go_memstats_mallocs_total counter
go_memstats_mallocs_total 1.234567e+06
go_memstats_frees_total 5
holdfast_renders_total{path="compiled",type="ProductGroup"} 40
holdfast_renders_total{path="generic",type="Cart"} 2
`))
	if err != nil || c.mallocs != 1234567 || c.renders[`{path="compiled",type="ProductGroup"}`] != 40 || len(c.renders) != 2 {
		t.Fatalf("%+v, %v", c, err)
	}
	if _, err := parseMetrics(strings.NewReader("up 1\n")); err == nil {
		t.Error("no mallocs: no error")
	}
	reads := []serverCounters{{mallocs: 100}, {mallocs: 150}, {mallocs: 1150, renders: map[string]float64{"x": 3}}}
	d := startCounters(t.Context(), func(context.Context) (serverCounters, error) {
		c := reads[0]
		reads = reads[1:]
		return c, nil
	})
	if allocs, renders := d.stop(t.Context()); allocs != 950 || renders["x"] != 3 {
		t.Errorf("allocs %v, renders %v; want 950 (1000 less one read's 50), x 3", allocs, renders)
	}
}
