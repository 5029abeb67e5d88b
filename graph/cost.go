package graph

import (
	"encoding/json"
	"math"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/storage"
)

// An operation's cost, checked against MaxComplexity, is what it asks the
// server to produce, priced the way Shopify prices queries:
//
//   - a scalar or enum field costs nothing, and so does a value object
//     (valueTypes: Money, PriceRange, SelectedOption); another object costs
//     1 plus its fields;
//   - a list of objects costs its size × (1 + an element's fields), its size
//     being its page (first, last) or the typical count listSize gives;
//   - a connection costs 1 plus its fields, its edges priced at its page size.
//
// Mutations and subscriptions keep gqlgen's default price (every field 1
// plus its children, a list or connection 1 + size × its children): their
// cost is the writes and the pushes, not the fields they read back.
//
// The walk reads field definitions from the schema by name, so it prices a
// document before gqlgen validates it (MutateOperationParameters: a costly
// document is never validated or cached) as well as after (a cached
// document, with the request's variables). Each fragment is priced once per
// page size it is spread under; a cyclic or unknown fragment, an unknown
// type or field costs nothing (validation refuses those documents).

// valueTypes are objects that are values of their parent's row, read
// with it and holding only scalars or other values (an amount, a price
// range, a variant's option values): in a query they cost what scalars
// cost, nothing, so that a catalog page of groups with every variant's
// price and options (what a storefront grid shows) is priced by the
// groups and variants it reads, not by the amounts written for each.
var valueTypes = map[string]bool{"Money": true, "PriceRange": true, "SelectedOption": true}

// listSize is the number of elements a list or connection field is priced
// at, and whether it is one; arg reads the field's arguments (schema
// defaults applied).
// A page size outside its range (1 to maxPageSize, or to
// storage.MaxAuditPage) is priced at the range's end: the field refuses it
// with BAD_USER_INPUT, which says more than COMPLEXITY_LIMIT would.
func listSize(parent, field string, arg func(string) any) (int64, bool) {
	limit := int64(maxPageSize)
	if parent+"."+field == "Query.inventoryAudit" {
		limit = storage.MaxAuditPage
	}
	first, hasFirst := intArg(arg("first"))
	first = min(max(first, 1), limit)
	page := func() int64 {
		if !hasFirst {
			return defaultPageSize
		}
		return first
	}
	switch parent + "." + field {
	case "Query.products", "Collection.products", "Query.productGroups", "Collection.productGroups":
		// first or last; Query.products' first always has a value (its
		// default), so a last there costs at least a default page.
		last, hasLast := intArg(arg("last"))
		last = min(max(last, 1), limit)
		switch {
		case !hasLast:
			return page(), true
		case !hasFirst:
			return last, true
		}
		return max(page(), last), true
	case "Query.collections", "Query.orders", "Query.webhookDeliveries", "Query.topHolders", "Query.inventoryAudit":
		return page(), true
	case "Product.images", "Product.collections":
		// A product has at most storage.MaxImages images and any number
		// of collections; priced, like a cart's lines, at a typical count.
		return 5, true
	case "Cart.lines", "Order.lines":
		return 50, true
	case "ProductGroup.variants":
		// Sizes times colours: priced at a typical count.
		return 20, true
	case "ProductGroup.images", "ProductGroup.collections", "ProductGroup.options", "Product.selectedOptions":
		return 5, true
	case "Product.inventoryLevels":
		// A level per location: a typical count.
		return 5, true
	case "OrderLine.allocations":
		// Most lines come from one location, some are split over two.
		return 2, true
	case "Query.locations":
		// Every location: a shop has a handful; priced at a generous count.
		return 20, true
	case "Subscription.stockChanged":
		switch ids := arg("productIds").(type) {
		case []any:
			return int64(len(ids)), true
		case []string:
			return int64(len(ids)), true
		}
		return 1, true
	}
	return 0, false
}

// intArg reads an Int argument as the walk may find it: a literal (int64),
// a raw JSON variable (json.Number) or a coerced one. Anything else is not
// an Int (the argument's own check refuses it).
func intArg(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return i, err == nil
	}
	return 0, false
}

type costWalker struct {
	schema *ast.Schema
	vars   map[string]any
	leaf   int64 // a scalar field's price: 0 for queries, 1 otherwise
	frags  map[string]*ast.FragmentDefinition
	memo   map[fragmentAt]int64
	busy   map[string]bool
}

type fragmentAt struct {
	name  string
	edges int64
}

// operationCost prices op, an operation of doc, with the request's
// variables (raw or coerced; the operation's defaults fill what is missing).
func operationCost(schema *ast.Schema, doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) int64 {
	root, leaf := schema.Query, int64(0)
	switch op.Operation {
	case ast.Mutation:
		root, leaf = schema.Mutation, 1
	case ast.Subscription:
		root, leaf = schema.Subscription, 1
	}
	if root == nil {
		return 0
	}
	w := &costWalker{schema: schema, vars: vars, leaf: leaf,
		frags: map[string]*ast.FragmentDefinition{}, memo: map[fragmentAt]int64{}, busy: map[string]bool{}}
	copied := false
	for _, vd := range op.VariableDefinitions {
		if _, given := vars[vd.Variable]; given || vd.DefaultValue == nil {
			continue
		}
		if v, err := vd.DefaultValue.Value(nil); err == nil {
			if !copied {
				w.vars, copied = copyVars(vars), true
			}
			w.vars[vd.Variable] = v
		}
	}
	for _, f := range doc.Fragments {
		if _, dup := w.frags[f.Name]; !dup {
			w.frags[f.Name] = f
		}
	}
	return w.set(root, op.SelectionSet, 0)
}

func copyVars(vars map[string]any) map[string]any {
	out := make(map[string]any, len(vars)+1)
	for k, v := range vars {
		out[k] = v
	}
	return out
}

// set prices a selection set on parent; edges is the page size of the
// connection it belongs to (0: none).
func (w *costWalker) set(parent *ast.Definition, set ast.SelectionSet, edges int64) int64 {
	var total int64
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			total = sadd(total, w.field(parent, s, edges))
		case *ast.InlineFragment:
			on := parent
			if s.TypeCondition != "" {
				on = w.schema.Types[s.TypeCondition]
			}
			total = sadd(total, w.set(on, s.SelectionSet, edges))
		case *ast.FragmentSpread:
			total = sadd(total, w.fragment(s.Name, edges))
		}
	}
	return total
}

func (w *costWalker) fragment(name string, edges int64) int64 {
	key := fragmentAt{name, edges}
	if c, ok := w.memo[key]; ok {
		return c
	}
	f := w.frags[name]
	if f == nil || w.busy[name] {
		return 0
	}
	w.busy[name] = true
	c := w.set(w.schema.Types[f.TypeCondition], f.SelectionSet, edges)
	delete(w.busy, name)
	w.memo[key] = c
	return c
}

func (w *costWalker) field(parent *ast.Definition, f *ast.Field, edges int64) int64 {
	if parent == nil {
		return 0
	}
	def := parent.Fields.ForName(f.Name)
	if def == nil {
		return w.leaf // __typename (or a field validation refuses)
	}
	typ := w.schema.Types[def.Type.Name()]
	switch {
	case typ == nil:
		return 0
	case typ.Kind == ast.Scalar || typ.Kind == ast.Enum:
		return w.leaf
	case typ.Name == "__Schema":
		// Introspection: bounded by the shape limits (and off in production).
		return 0
	}
	n, sized := listSize(parent.Name, f.Name, func(name string) any { return argValue(def, f, name, w.vars) })
	isList := def.Type.Elem != nil
	if w.leaf == 0 && valueTypes[typ.Name] {
		// Priced as the scalars it holds: free.
		return w.set(typ, f.SelectionSet, 0)
	}
	if w.leaf > 0 {
		child := w.set(typ, f.SelectionSet, 0)
		if !sized {
			return sadd(1, child)
		}
		return sadd(1, smul(n, child))
	}
	if sized && !isList {
		// A connection: its edges are the page.
		return sadd(1, w.set(typ, f.SelectionSet, n))
	}
	if !isList {
		return sadd(1, w.set(typ, f.SelectionSet, 0))
	}
	if !sized {
		n = 1
		if f.Name == "edges" && edges > 0 {
			n = edges
		}
	}
	return smul(n, sadd(1, w.set(typ, f.SelectionSet, 0)))
}

// argValue is argument name of field f (defined by def) as the request
// gives it, else its default; nil when neither.
func argValue(def *ast.FieldDefinition, f *ast.Field, name string, vars map[string]any) any {
	ad := def.Arguments.ForName(name)
	if ad == nil {
		return nil
	}
	if a := f.Arguments.ForName(name); a != nil && a.Value != nil {
		if a.Value.Kind == ast.Variable {
			if v, ok := vars[a.Value.Raw]; ok {
				return v
			}
		} else if v, err := a.Value.Value(vars); err == nil {
			return v
		}
	}
	if ad.DefaultValue != nil {
		if v, err := ad.DefaultValue.Value(nil); err == nil {
			return v
		}
	}
	return nil
}

// smul is a saturating product of non-negative counts.
func smul(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > saturate/b {
		return saturate
	}
	return min(a*b, saturate)
}
