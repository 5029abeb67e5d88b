package graph

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"sync"
	"unsafe"

	"github.com/99designs/gqlgen/graphql"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/graph/loaders"
	"holdfast/graph/model"
	"holdfast/storage"
)

// The compiled cart renderer (issue 26).
//
// gqlgen executes every field of an answer through the same machinery: a
// FieldContext, a derived context, a path and a marshaler per field. For
// the cart a storefront renders after every add, that is about 10 µs and
// 200 allocations per line, most of the answer's cost once the database
// round trips are gone (docs/performance.md). But the selection of a cached
// document is fixed: when the selection under a Cart uses only fields whose
// values are already loaded (the cart row, its lines with their products,
// the totals of those lines), no directives and no arguments, it is
// compiled once into a plan, and every later answer with that document is
// written from the loaded rows by the plan, in one buffer.
//
// The plan calls the same resolvers and the same scalar marshalers as
// gqlgen's path, in the same order of keys, so the bytes are the same
// (TestCompiledRenderIsByteIdentical compares both on every document the
// project's clients send). Anything else takes gqlgen's path: a field the
// plan does not know, a directive anywhere below, an argument, and, at run
// time, any resolver error or null where the schema forbids one — gqlgen
// then runs the selection from the start and reports the error as always
// (the loaders have cached what was read, so it reads nothing twice).

// renderKind is what one field of a plan writes.
type renderKind uint8

const (
	rTypename renderKind = iota
	rCartID
	rCartStatus
	rCartExpiresAt
	rCartCreatedAt
	rCartUpdatedAt
	rCartTotalQuantity
	rCartSubtotal
	rCartLines
	rCartDiscountTotal
	rCartTotal
	rCartDiscounts
	rCartGiftCards
	rLineQuantity
	rLineTotal
	rLineDiscountedTotal
	rLineProduct
	rProductID
	rProductSKU
	rProductName
	rProductHandle
	rProductDescription
	rProductPrice
	rProductAvailable
	rProductImages
	rProductSelectedOptions
	rProductCreatedAt
	rProductLimitPerCustomer
	rGroupCollections
	rCollectionHandle
	rCollectionTitle
	rGroupID
	rGroupHandle
	rGroupTitle
	rGroupDescription
	rGroupOptions
	rGroupVariants
	rGroupImages
	rGroupPriceRange
	rGroupAvailable
	rGroupCreatedAt
	rOptionName
	rOptionValues
	rSelectedName
	rSelectedValue
	rRangeMin
	rRangeMax
	rMoneyAmount
	rMoneyCurrencyCode
	rDiscountCode
	rDiscountApplicable
	rDiscountReason
	rDiscountAmount
	rGiftCardLastCharacters
	rGiftCardAmountUsed
	rGiftCardBalanceAfter
	rImageURL
	rImageAltText
)

// renderable maps the fields a plan can write, per type, to their kind
// and, for fields of object type, the type below.
var renderable = map[string]map[string]struct {
	kind renderKind
	obj  string
}{
	"Cart": {
		"id": {kind: rCartID}, "status": {kind: rCartStatus}, "expiresAt": {kind: rCartExpiresAt},
		"createdAt": {kind: rCartCreatedAt}, "updatedAt": {kind: rCartUpdatedAt},
		"totalQuantity": {kind: rCartTotalQuantity}, "subtotal": {kind: rCartSubtotal, obj: "Money"},
		"lines": {kind: rCartLines, obj: "CartLine"}, "discountTotal": {kind: rCartDiscountTotal, obj: "Money"},
		"total": {kind: rCartTotal, obj: "Money"}, "discounts": {kind: rCartDiscounts, obj: "CartDiscount"},
		"giftCards": {kind: rCartGiftCards, obj: "AppliedGiftCard"},
	},
	"CartLine": {
		"quantity": {kind: rLineQuantity}, "lineTotal": {kind: rLineTotal, obj: "Money"},
		"discountedTotal": {kind: rLineDiscountedTotal, obj: "Money"}, "product": {kind: rLineProduct, obj: "Product"},
	},
	"Product": {
		"id": {kind: rProductID}, "sku": {kind: rProductSKU}, "name": {kind: rProductName},
		"handle": {kind: rProductHandle}, "description": {kind: rProductDescription},
		"price": {kind: rProductPrice, obj: "Money"}, "available": {kind: rProductAvailable},
		"images": {kind: rProductImages, obj: "Image"}, "createdAt": {kind: rProductCreatedAt},
		"limitPerCustomer": {kind: rProductLimitPerCustomer},
		// Only as a group's variant (the group's options give the order).
		"selectedOptions": {kind: rProductSelectedOptions, obj: "SelectedOption"},
	},
	"ProductGroup": {
		"id": {kind: rGroupID}, "handle": {kind: rGroupHandle}, "title": {kind: rGroupTitle},
		"description": {kind: rGroupDescription}, "options": {kind: rGroupOptions, obj: "ProductOption"},
		"variants": {kind: rGroupVariants, obj: "Product"}, "images": {kind: rGroupImages, obj: "Image"},
		"priceRange": {kind: rGroupPriceRange, obj: "PriceRange"}, "available": {kind: rGroupAvailable},
		"createdAt": {kind: rGroupCreatedAt}, "collections": {kind: rGroupCollections, obj: "Collection"},
	},
	"Collection":     {"handle": {kind: rCollectionHandle}, "title": {kind: rCollectionTitle}},
	"ProductOption":  {"name": {kind: rOptionName}, "values": {kind: rOptionValues}},
	"SelectedOption": {"name": {kind: rSelectedName}, "value": {kind: rSelectedValue}},
	"PriceRange":     {"min": {kind: rRangeMin, obj: "Money"}, "max": {kind: rRangeMax, obj: "Money"}},
	"Money":          {"amount": {kind: rMoneyAmount}, "currencyCode": {kind: rMoneyCurrencyCode}},
	"CartDiscount": {
		"code": {kind: rDiscountCode}, "applicable": {kind: rDiscountApplicable},
		"reason": {kind: rDiscountReason}, "amount": {kind: rDiscountAmount, obj: "Money"},
	},
	"AppliedGiftCard": {
		"lastCharacters": {kind: rGiftCardLastCharacters}, "amountUsed": {kind: rGiftCardAmountUsed, obj: "Money"},
		"balanceAfter": {kind: rGiftCardBalanceAfter, obj: "Money"},
	},
	"Image": {"url": {kind: rImageURL}, "altText": {kind: rImageAltText}},
}

// renderPlan writes one object: its fields in the answer's order.
type renderPlan struct {
	typeName string
	fields   []renderField
}

type renderField struct {
	key  []byte // `"alias":`
	kind renderKind
	sub  *renderPlan
	// For a cart's lines: whether a line's discountedTotal is asked (the
	// cart is priced once for all of them); for a cart's lines and a
	// group's variants, whether the products' images are (they are loaded
	// for all of them in one batch before the first is written).
	pricing, images bool
}

// asks reports whether plan writes a field of kind.
func (p *renderPlan) asks(kind renderKind) bool {
	for _, f := range p.fields {
		if f.kind == kind {
			return true
		}
	}
	return false
}

// planKey identifies a selection set by its nodes. gqlgen hands an object
// a fresh copy of its field's selections on every request (CollectFields
// appends them), but the nodes are those of the cached document: the first
// and last node and the count find the entry, which keeps the selection it
// was compiled from (and so its nodes, whose addresses cannot be reused
// while it lives) and is used only if every node matches.
type planKey struct {
	first, last unsafe.Pointer
	n           int
}

func nodeOf(s ast.Selection) unsafe.Pointer {
	switch s := s.(type) {
	case *ast.Field:
		return unsafe.Pointer(s)
	case *ast.FragmentSpread:
		return unsafe.Pointer(s)
	case *ast.InlineFragment:
		return unsafe.Pointer(s)
	}
	return nil
}

// renderPlans caches the plans of selections under a Cart or a
// ProductGroup (nil: not compilable), for as many selections as query
// documents are cached.
type renderPlans struct {
	cache *lru.Cache[planKey, planEntry]
}

type planEntry struct {
	typeName string
	sel      ast.SelectionSet // the nodes compiled (kept alive)
	plan     *renderPlan
}

func newRenderPlans(size int) *renderPlans {
	c, err := lru.New[planKey, planEntry](max(size, 16))
	if err != nil {
		panic(err) // only for a size < 1
	}
	return &renderPlans{cache: c}
}

func (p *renderPlans) plan(opCtx *graphql.OperationContext, typeName string, sel ast.SelectionSet) *renderPlan {
	if len(sel) == 0 {
		return nil
	}
	key := planKey{nodeOf(sel[0]), nodeOf(sel[len(sel)-1]), len(sel)}
	if key.first == nil || key.last == nil {
		return nil
	}
	if e, ok := p.cache.Get(key); ok && e.typeName == typeName && sameNodes(e.sel, sel) {
		return e.plan
	}
	var plan *renderPlan
	if !hasDirectives(sel, 0) {
		plan = compilePlan(opCtx, typeName, sel)
	}
	p.cache.Add(key, planEntry{typeName: typeName, sel: append(ast.SelectionSet(nil), sel...), plan: plan})
	return plan
}

func sameNodes(a, b ast.SelectionSet) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if nodeOf(a[i]) != nodeOf(b[i]) {
			return false
		}
	}
	return true
}

// hasDirectives reports whether sel, its fragments or anything below uses
// a directive (@skip and @include depend on variables, @defer on the
// transport: the plan serves all of them only without any).
func hasDirectives(sel ast.SelectionSet, depth int) bool {
	if depth > 64 {
		return true
	}
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if len(s.Directives) > 0 || hasDirectives(s.SelectionSet, depth+1) {
				return true
			}
		case *ast.InlineFragment:
			if len(s.Directives) > 0 || hasDirectives(s.SelectionSet, depth+1) {
				return true
			}
		case *ast.FragmentSpread:
			if len(s.Directives) > 0 || s.Definition == nil || len(s.Definition.Directives) > 0 ||
				hasDirectives(s.Definition.SelectionSet, depth+1) {
				return true
			}
		default:
			return true
		}
	}
	return false
}

// compilePlan builds the plan of sel on typeName, or nil when a field
// cannot be written by one. Fields are collected as gqlgen collects them
// (fragments flattened, same-alias fields merged, in order).
func compilePlan(opCtx *graphql.OperationContext, typeName string, sel ast.SelectionSet) *renderPlan {
	known := renderable[typeName]
	if known == nil {
		return nil
	}
	plan := &renderPlan{typeName: typeName}
	for i, f := range graphql.CollectFields(opCtx, sel, []string{typeName}) {
		rf := renderField{kind: rTypename}
		if f.Name != "__typename" {
			k, ok := known[f.Name]
			if !ok || len(f.Arguments) > 0 || f.Definition == nil || len(f.Definition.Directives) > 0 {
				return nil
			}
			rf.kind = k.kind
			if k.obj != "" {
				if rf.sub = compilePlan(opCtx, k.obj, f.Selections); rf.sub == nil {
					return nil
				}
			} else if len(f.Selections) > 0 {
				return nil
			}
		}
		switch rf.kind {
		case rCartLines:
			rf.pricing = rf.sub.asks(rLineDiscountedTotal)
			for _, lf := range rf.sub.fields {
				if lf.kind == rLineProduct && lf.sub.asks(rProductImages) {
					rf.images = true
				}
			}
		case rLineProduct:
			if rf.sub.asks(rProductSelectedOptions) {
				return nil // a cart line's product has no group at hand
			}
		case rGroupVariants:
			rf.images = rf.sub.asks(rProductImages)
		}
		var key bytes.Buffer
		if i > 0 {
			key.WriteByte(',')
		}
		graphql.MarshalString(f.Alias).MarshalGQL(&key)
		key.WriteByte(':')
		rf.key = key.Bytes()
		plan.fields = append(plan.fields, rf)
	}
	if len(plan.fields) == 0 {
		return nil
	}
	return plan
}

// compiledCart is called first by the generated _Cart (the rewrite of
// graph/internal/gqlgen): the answer written by the selection's plan, or
// nil for gqlgen's own path.
func (ec *executionContext) compiledCart(ctx context.Context, sel ast.SelectionSet, obj *storage.Cart) (m graphql.Marshaler) {
	r, ok := ec.Resolvers.(*Resolver)
	if !ok || obj == nil {
		return nil
	}
	defer func() {
		if recover() != nil { // gqlgen's path runs the selection again and reports it
			r.Metrics.Render("Cart", false)
			m = nil
		}
	}()
	if r.renderPlans == nil {
		r.Metrics.Render("Cart", false)
		return nil
	}
	plan := r.renderPlans.plan(ec.OperationContext, "Cart", sel)
	if plan == nil {
		r.Metrics.Render("Cart", false)
		return nil
	}
	vals, ok := r.loadCart(ctx, plan, obj)
	buf := getRenderBuf()
	if !ok || !ec.writeCart(ctx, plan, obj, vals, buf) {
		putRenderBuf(buf)
		r.Metrics.Render("Cart", false)
		return nil
	}
	r.Metrics.Render("Cart", true)
	return renderedObject(buf)
}

// renderBufs are the compiled renderer's buffers. An object's buffer
// lives until gqlgen writes the answer around it; growing a new one each
// time (a catalog page's group 1, 2 and then 4 KB, a 100-line cart's up to
// 32 KB) was a quarter of the bytes a grid page allocated.
var renderBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledRenderBuf bounds what the pool keeps: one huge answer does not
// pin its buffer.
const maxPooledRenderBuf = 256 << 10

func getRenderBuf() *bytes.Buffer { return renderBufs.Get().(*bytes.Buffer) }

func putRenderBuf(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledRenderBuf {
		buf.Reset()
		renderBufs.Put(buf)
	}
}

// renderedObject is the marshaler of an object written into buf: it
// copies buf into gqlgen's answer and gives buf back. gqlgen writes a
// value once; a second write (there is none) would write nothing rather
// than another answer's bytes.
func renderedObject(buf *bytes.Buffer) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		if buf == nil {
			return
		}
		_, _ = w.Write(buf.Bytes())
		putRenderBuf(buf)
		buf = nil
	})
}

// cartLines is what a plan's lines field writes from: the lines, the
// cart's pricing when a line's discountedTotal is asked.
type cartLines struct {
	lines   []*storage.CartLine
	pricing *storage.CartPricing
}

// loadCart resolves the plan's resolver-backed cart fields, through the
// same resolvers as gqlgen's path and, as gqlgen runs them, concurrently,
// so that their dataloader waits overlap; vals[i] is field i's value.
// false: an error, a panic or a null where the schema has none.
func (r *Resolver) loadCart(ctx context.Context, plan *renderPlan, c *storage.Cart) ([]any, bool) {
	vals := make([]any, len(plan.fields))
	var tasks []func() bool
	for i, f := range plan.fields {
		task := r.cartTask(ctx, f, c, &vals[i])
		if task != nil {
			tasks = append(tasks, task)
		}
	}
	if len(tasks) == 0 {
		return vals, true
	}
	if !runTasks(tasks) {
		return nil, false
	}
	return vals, true
}

// runTasks runs tasks, all but the first in goroutines of their own, as
// gqlgen runs a set of resolver fields (their dataloader waits overlap);
// false if one failed or panicked (gqlgen's path then runs them again and
// reports what went wrong).
func runTasks(tasks []func() bool) bool {
	ok := make([]bool, len(tasks))
	run := func(i int) {
		defer func() {
			if recover() != nil {
				ok[i] = false
			}
		}()
		ok[i] = tasks[i]()
	}
	var wg sync.WaitGroup
	for i := 1; i < len(tasks); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(i)
		}()
	}
	run(0)
	wg.Wait()
	for _, v := range ok {
		if !v {
			return false
		}
	}
	return true
}

// prefetchImages loads the images of every product in ids before the
// first is written; each product's resolver then finds its images in the
// loader's cache. A cart (alone: the only object of its answer that needs
// them) reads them in one query, without the catalog loader's batching
// wait, and primes the loader (a product without any is primed with none,
// which is what the resolver answers for it; on an error nothing is primed
// and the resolvers load as usual). A group's variants join the loader's
// batch instead, so that a page of groups reads them in one query, not one
// per group; the loader's error is not ours (a product without images is
// "not found" to it, which the resolver reads as none).
func (r *Resolver) prefetchImages(ctx context.Context, ids []int64, alone bool) {
	if len(ids) == 0 {
		return
	}
	l := loaders.For(ctx, r.Store).Catalog.ProductImages
	if !alone {
		_, _ = l.LoadAll(ctx, ids)
		return
	}
	imgs, err := r.Store.ImagesByProductIDs(ctx, ids)
	if err != nil {
		return
	}
	for _, id := range ids {
		got := imgs[id]
		if got == nil {
			got = []*storage.Image{}
		}
		l.Prime(id, got)
	}
}

// cartTask returns the work that resolves f into *out (nil: f is written
// from the cart row alone).
func (r *Resolver) cartTask(ctx context.Context, f renderField, c *storage.Cart, out *any) func() bool {
	moneyTask := func(get func(context.Context, *storage.Cart) (*storage.Money, error)) func() bool {
		return func() bool {
			m, err := get(ctx, c)
			*out = m
			return err == nil && m != nil
		}
	}
	switch f.kind {
	case rCartTotalQuantity:
		return func() bool {
			n, err := r.Cart().TotalQuantity(ctx, c)
			*out = n
			return err == nil
		}
	case rCartSubtotal:
		return moneyTask(r.Cart().Subtotal)
	case rCartDiscountTotal:
		return moneyTask(r.Cart().DiscountTotal)
	case rCartTotal:
		return moneyTask(r.Cart().Total)
	case rCartDiscounts:
		return func() bool {
			ds, err := r.Cart().Discounts(ctx, c)
			*out = ds
			return err == nil && ds != nil
		}
	case rCartGiftCards:
		return func() bool {
			gs, err := r.Cart().GiftCards(ctx, c)
			*out = gs
			return err == nil && gs != nil
		}
	case rCartLines:
		return func() bool {
			lines, err := r.Cart().Lines(ctx, c)
			if err != nil || lines == nil {
				return false
			}
			cl := cartLines{lines: lines}
			if f.images {
				ids := make([]int64, 0, len(lines))
				for _, l := range lines {
					if l != nil && l.Product != nil {
						ids = append(ids, l.Product.ID)
					}
				}
				r.prefetchImages(ctx, ids, true)
			}
			if f.pricing {
				if cl.pricing, err = r.cartPricing(ctx, c.ID); err != nil {
					return false
				}
			}
			*out = cl
			return true
		}
	}
	return nil
}

func (ec *executionContext) writeCart(ctx context.Context, plan *renderPlan, c *storage.Cart, vals []any, buf *bytes.Buffer) bool {
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rCartID:
			ec.marshalNID2string(ctx, nil, c.ID).MarshalGQL(buf)
		case rCartStatus:
			ec.marshalNCartStatus2string(ctx, nil, c.Status).MarshalGQL(buf)
		case rCartExpiresAt:
			ec.marshalNTime2timeᚐTime(ctx, nil, c.ExpiresAt).MarshalGQL(buf)
		case rCartCreatedAt:
			ec.marshalNTime2timeᚐTime(ctx, nil, c.CreatedAt).MarshalGQL(buf)
		case rCartUpdatedAt:
			ec.marshalNTime2timeᚐTime(ctx, nil, c.UpdatedAt).MarshalGQL(buf)
		case rCartTotalQuantity:
			writeInt(buf, vals[i].(int))
		case rCartSubtotal, rCartDiscountTotal, rCartTotal:
			if !writeMoney(f.sub, vals[i].(*storage.Money), buf) {
				return false
			}
		case rCartDiscounts:
			ds := vals[i].([]*model.CartDiscount)
			if !writeList(buf, ds, func(d *model.CartDiscount) bool { return ec.writeDiscount(ctx, f.sub, d, buf) }) {
				return false
			}
		case rCartGiftCards:
			gs := vals[i].([]*model.AppliedGiftCard)
			if !writeList(buf, gs, func(g *model.AppliedGiftCard) bool { return writeGiftCard(f.sub, g, buf) }) {
				return false
			}
		case rCartLines:
			cl := vals[i].(cartLines)
			if !writeList(buf, cl.lines, func(l *storage.CartLine) bool { return ec.writeLine(ctx, f.sub, l, cl.pricing, buf) }) {
				return false
			}
		default:
			return false
		}
		return true
	})
}

func (ec *executionContext) writeLine(ctx context.Context, plan *renderPlan, l *storage.CartLine, pricing *storage.CartPricing, buf *bytes.Buffer) bool {
	if l == nil {
		return false
	}
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rLineQuantity:
			writeInt(buf, l.Quantity)
		case rLineTotal:
			if !writeMoney(f.sub, l.LineTotal(), buf) {
				return false
			}
		case rLineDiscountedTotal:
			// As cartLineDiscounted: priced with the cart, unless the line
			// has none.
			p := pricing
			if l.CartID == "" {
				p = nil
			} else if p == nil {
				return false
			}
			if !writeMoney(f.sub, lineDiscounted(l, p), buf) {
				return false
			}
		case rLineProduct:
			if !ec.writeProduct(ctx, f.sub, l.Product, nil, buf) {
				return false
			}
		default:
			return false
		}
		return true
	})
}

// writeProduct writes p; group is the group p is written as a variant of
// (nil: none), which gives its selected options their order.
func (ec *executionContext) writeProduct(ctx context.Context, plan *renderPlan, p *storage.Product, group *storage.ProductGroup, buf *bytes.Buffer) bool {
	if p == nil {
		return false
	}
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rProductID:
			ec.marshalNID2int64(ctx, nil, p.ID).MarshalGQL(buf)
		case rProductSKU:
			writeString(buf, p.SKU)
		case rProductName:
			writeString(buf, p.Name)
		case rProductHandle:
			writeString(buf, p.Handle)
		case rProductDescription:
			writeOptString(buf, p.Description)
		case rProductPrice:
			if !writeMoney(f.sub, p.Price(), buf) {
				return false
			}
		case rProductAvailable:
			writeInt(buf, p.Available())
		case rProductCreatedAt:
			ec.marshalNTime2timeᚐTime(ctx, nil, p.CreatedAt).MarshalGQL(buf)
		case rProductLimitPerCustomer:
			writeOptInt(buf, p.LimitPerCustomer)
		case rProductSelectedOptions:
			// As the resolver answers, with the group at hand instead of
			// read again: its options' order, the variant's values.
			if group == nil || p.GroupID == nil || *p.GroupID != group.ID {
				return false
			}
			if !writeList(buf, group.Options.Selected(p.SelectedOptions), func(o storage.ProductSelectedOption) bool { return writeSelected(f.sub, o, buf) }) {
				return false
			}
		case rProductImages:
			// Loaded for every line before the first was written.
			imgs, err := ec.Resolvers.Product().Images(ctx, p)
			if err != nil || imgs == nil {
				return false
			}
			if !writeList(buf, imgs, func(img *storage.Image) bool { return writeImage(f.sub, img, buf) }) {
				return false
			}
		default:
			return false
		}
		return true
	})
}

func writeSelected(plan *renderPlan, o storage.ProductSelectedOption, buf *bytes.Buffer) bool {
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rSelectedName:
			writeString(buf, o.Name)
		case rSelectedValue:
			writeString(buf, o.Value)
		default:
			return false
		}
		return true
	})
}

func writeImage(plan *renderPlan, img *storage.Image, buf *bytes.Buffer) bool {
	if img == nil {
		return false
	}
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rImageURL:
			writeString(buf, img.URL)
		case rImageAltText:
			writeOptString(buf, img.AltText)
		default:
			return false
		}
		return true
	})
}

func (ec *executionContext) writeDiscount(ctx context.Context, plan *renderPlan, d *model.CartDiscount, buf *bytes.Buffer) bool {
	if d == nil {
		return false
	}
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rDiscountCode:
			writeString(buf, d.Code)
		case rDiscountApplicable:
			ec.marshalNBoolean2bool(ctx, nil, d.Applicable).MarshalGQL(buf)
		case rDiscountReason:
			ec.marshalOErrorCode2ᚖholdfastᚋgraphᚋmodelᚐErrorCode(ctx, nil, d.Reason).MarshalGQL(buf)
		case rDiscountAmount:
			if !writeMoney(f.sub, d.Amount, buf) {
				return false
			}
		default:
			return false
		}
		return true
	})
}

func writeGiftCard(plan *renderPlan, g *model.AppliedGiftCard, buf *bytes.Buffer) bool {
	if g == nil {
		return false
	}
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rGiftCardLastCharacters:
			writeString(buf, g.LastCharacters)
		case rGiftCardAmountUsed:
			if !writeMoney(f.sub, g.AmountUsed, buf) {
				return false
			}
		case rGiftCardBalanceAfter:
			if !writeMoney(f.sub, g.BalanceAfter, buf) {
				return false
			}
		default:
			return false
		}
		return true
	})
}

func writeMoney(plan *renderPlan, m *storage.Money, buf *bytes.Buffer) bool {
	if m == nil {
		return false
	}
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rMoneyAmount:
			writeString(buf, m.Amount)
		case rMoneyCurrencyCode:
			writeString(buf, m.CurrencyCode)
		default:
			return false
		}
		return true
	})
}

// writeObject writes one object of plan: its keys in order, __typename
// itself, every other field by field (i is the field's index in plan);
// false from field stops it.
func writeObject(plan *renderPlan, buf *bytes.Buffer, field func(i int, f renderField) bool) bool {
	buf.WriteByte('{')
	for i, f := range plan.fields {
		buf.Write(f.key)
		if f.kind == rTypename {
			writeString(buf, plan.typeName)
			continue
		}
		if !field(i, f) {
			return false
		}
	}
	buf.WriteByte('}')
	return true
}

// writeList writes items as a JSON array, each by write; false from write
// stops it.
func writeList[T any](buf *bytes.Buffer, items []T, write func(T) bool) bool {
	buf.WriteByte('[')
	for j, it := range items {
		if j > 0 {
			buf.WriteByte(',')
		}
		if !write(it) {
			return false
		}
	}
	buf.WriteByte(']')
	return true
}

// compiledProductGroup is called first by the generated _ProductGroup: the
// group written by its selection's plan, or nil for gqlgen's own path. In
// a list of groups (a catalog page) gqlgen marshals each group in a
// goroutine of its own (the selection reaches resolvers), so the groups'
// loads still join one batch per loader.
func (ec *executionContext) compiledProductGroup(ctx context.Context, sel ast.SelectionSet, g *storage.ProductGroup) (m graphql.Marshaler) {
	r, ok := ec.Resolvers.(*Resolver)
	if !ok || g == nil {
		return nil
	}
	if r.renderPlans == nil {
		r.Metrics.Render("ProductGroup", false)
		return nil
	}
	defer func() {
		if recover() != nil {
			m = nil
		}
	}()
	plan := r.renderPlans.plan(ec.OperationContext, "ProductGroup", sel)
	if plan == nil {
		r.Metrics.Render("ProductGroup", false)
		return nil
	}
	compiled := false
	defer func() { r.Metrics.Render("ProductGroup", compiled) }()
	vals := make([]any, len(plan.fields))
	var tasks []func() bool
	for i, f := range plan.fields {
		out := &vals[i]
		switch f.kind {
		case rGroupVariants:
			tasks = append(tasks, func() bool {
				vs, err := r.ProductGroup().Variants(ctx, g)
				if err != nil || vs == nil {
					return false
				}
				if f.images {
					ids := make([]int64, 0, len(vs))
					for _, v := range vs {
						if v != nil {
							ids = append(ids, v.ID)
						}
					}
					r.prefetchImages(ctx, ids, false)
				}
				*out = vs
				return true
			})
		case rGroupImages:
			tasks = append(tasks, func() bool {
				imgs, err := r.ProductGroup().Images(ctx, g)
				*out = imgs
				return err == nil && imgs != nil
			})
		case rGroupCollections:
			tasks = append(tasks, func() bool {
				cs, err := r.ProductGroup().Collections(ctx, g)
				*out = cs
				return err == nil && cs != nil
			})
		case rGroupOptions:
			tasks = append(tasks, func() bool {
				opts, err := r.ProductGroup().Options(ctx, g)
				*out = opts
				return err == nil && opts != nil
			})
		}
	}
	if len(tasks) > 0 && !runTasks(tasks) {
		return nil
	}
	buf := getRenderBuf()
	if !ec.writeGroup(ctx, plan, g, vals, buf) {
		putRenderBuf(buf)
		return nil
	}
	compiled = true
	return renderedObject(buf)
}

func (ec *executionContext) writeGroup(ctx context.Context, plan *renderPlan, g *storage.ProductGroup, vals []any, buf *bytes.Buffer) bool {
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rGroupID:
			ec.marshalNID2int64(ctx, nil, g.ID).MarshalGQL(buf)
		case rGroupHandle:
			writeString(buf, g.Handle)
		case rGroupTitle:
			writeString(buf, g.Title)
		case rGroupDescription:
			writeOptString(buf, g.Description)
		case rGroupAvailable:
			writeInt(buf, g.Available)
		case rGroupCreatedAt:
			ec.marshalNTime2timeᚐTime(ctx, nil, g.CreatedAt).MarshalGQL(buf)
		case rGroupPriceRange:
			pr := g.PriceRange()
			return writeObject(f.sub, buf, func(_ int, rf renderField) bool {
				switch rf.kind {
				case rRangeMin:
					return writeMoney(rf.sub, pr.Min, buf)
				case rRangeMax:
					return writeMoney(rf.sub, pr.Max, buf)
				}
				return false
			})
		case rGroupOptions:
			if !writeList(buf, vals[i].([]*storage.ProductOption), func(o *storage.ProductOption) bool { return ec.writeOption(ctx, f.sub, o, buf) }) {
				return false
			}
		case rGroupCollections:
			return writeList(buf, vals[i].([]*storage.Collection), func(c *storage.Collection) bool {
				return c != nil && writeObject(f.sub, buf, func(_ int, cf renderField) bool {
					switch cf.kind {
					case rCollectionHandle:
						writeString(buf, c.Handle)
					case rCollectionTitle:
						writeString(buf, c.Title)
					default:
						return false
					}
					return true
				})
			})
		case rGroupImages:
			if !writeList(buf, vals[i].([]*storage.Image), func(img *storage.Image) bool { return writeImage(f.sub, img, buf) }) {
				return false
			}
		case rGroupVariants:
			if !writeList(buf, vals[i].([]*storage.Product), func(v *storage.Product) bool { return ec.writeProduct(ctx, f.sub, v, g, buf) }) {
				return false
			}
		default:
			return false
		}
		return true
	})
}

func (ec *executionContext) writeOption(ctx context.Context, plan *renderPlan, o *storage.ProductOption, buf *bytes.Buffer) bool {
	if o == nil {
		return false
	}
	return writeObject(plan, buf, func(i int, f renderField) bool {
		switch f.kind {
		case rOptionName:
			writeString(buf, o.Name)
		case rOptionValues:
			if o.Values == nil {
				return false
			}
			ec.marshalNString2ᚕstringᚄ(ctx, nil, o.Values).MarshalGQL(buf)
		default:
			return false
		}
		return true
	})
}

// The scalars the compiled path writes most, written as gqlgen's
// marshalers write them (graphql.MarshalString's quoting, MarshalInt's
// digits) but straight into the buffer: gqlgen allocates a closure per
// value (a catalog page writes ~1,500 of them). TestScalarWriters compares
// them with gqlgen's.

func writeString(buf *bytes.Buffer, s string) {
	const hex = "0123456789ABCDEF"
	buf.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '\\' && c != '"' {
			continue
		}
		buf.WriteString(s[start:i])
		switch c {
		case '\t':
			buf.WriteString(`\t`)
		case '\r':
			buf.WriteString(`\r`)
		case '\n':
			buf.WriteString(`\n`)
		case '\\':
			buf.WriteString(`\\`)
		case '"':
			buf.WriteString(`\"`)
		default:
			buf.WriteString(`\u00`)
			buf.WriteByte(hex[c>>4])
			buf.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	buf.WriteString(s[start:])
	buf.WriteByte('"')
}

func writeOptString(buf *bytes.Buffer, s *string) {
	if s == nil {
		buf.WriteString("null")
		return
	}
	writeString(buf, *s)
}

func writeInt(buf *bytes.Buffer, n int) {
	var b [20]byte
	buf.Write(strconv.AppendInt(b[:0], int64(n), 10))
}

func writeOptInt(buf *bytes.Buffer, n *int) {
	if n == nil {
		buf.WriteString("null")
		return
	}
	writeInt(buf, *n)
}
