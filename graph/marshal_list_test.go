package graph

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// linesSelection parses a cart query and returns the selection under
// Cart.lines, which is what the CartLine list marshaller is handed.
func linesSelection(t *testing.T, schema *ast.Schema, src string) ast.SelectionSet {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(schema, src, nil)
	require.Empty(t, errs, src)
	var find func(ast.SelectionSet) ast.SelectionSet
	find = func(sel ast.SelectionSet) ast.SelectionSet {
		for _, s := range sel {
			if f, ok := s.(*ast.Field); ok {
				if f.Name == "lines" {
					return f.SelectionSet
				}
				if got := find(f.SelectionSet); got != nil {
					return got
				}
			}
		}
		return nil
	}
	got := find(doc.Operations[0].SelectionSet)
	require.NotNil(t, got, src)
	return got
}

// A list is marshalled in the calling goroutine exactly when nothing under
// it is a field gqlgen runs concurrently (a resolver that may wait on a
// dataloader with the other elements); fragments count like fields.
func TestListsReachingNoResolverAreMarshalledInline(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	for _, c := range []struct {
		name, src  string
		concurrent bool
	}{
		{"the storefront's line fields", `query { cart(id: "1") { lines { quantity lineTotal { amount currencyCode }
			product { id sku name price { amount currencyCode } available } } } }`, false},
		{"a line's discounted total (a resolver)", `query { cart(id: "1") { lines { quantity discountedTotal { amount } } } }`, true},
		{"a product's images, two levels down", `query { cart(id: "1") { lines { product { id images { url } } } } }`, true},
		{"__typename only", `query { cart(id: "1") { lines { __typename } } }`, false},
		{"an inline fragment of bound fields", `query { cart(id: "1") { lines { ... on CartLine { quantity product { name } } } } }`, false},
		{"a fragment spread of bound fields", `query { cart(id: "1") { lines { ...L } } } fragment L on CartLine { quantity }`, false},
		{"a fragment spread reaching a resolver", `query { cart(id: "1") { lines { ...L } } }
			fragment L on CartLine { product { ...P } } fragment P on Product { group { id } }`, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.concurrent, reachesConcurrentField(linesSelection(t, schema, c.src)))
		})
	}
}

// Marshalled inline, each element still has its own field context: an
// error below element i has i in its path, and a panic in one element
// nulls that element alone, reported as an error.
func TestInlineListKeepsPathsAndRecovers(t *testing.T) {
	t.Parallel()
	recovered := func(_ context.Context, v any) error { return fmt.Errorf("recovered: %v", v) }
	ctx := graphql.WithResponseContext(context.Background(), graphql.DefaultErrorPresenter, recovered)
	ctx = graphql.WithFieldContext(ctx, &graphql.FieldContext{Field: graphql.CollectedField{Field: &ast.Field{Alias: "lines"}}})
	var goroutineChecks []bool
	ret := marshalList(ctx, nil, 4, 0, false, func(ctx context.Context, i int) graphql.Marshaler {
		goroutineChecks = append(goroutineChecks, true) // not synchronised: -race fails if elements run in goroutines
		switch i {
		case 1:
			graphql.AddError(ctx, errors.New("element one"))
		case 2:
			panic("element two")
		}
		return graphql.MarshalInt(i)
	})
	require.Len(t, ret, 4)
	var out bytes.Buffer
	ret.MarshalGQL(&out)
	assert.Equal(t, "[0,1,null,3]", out.String(), "the panicking element is null, the others are marshalled")
	assert.Len(t, goroutineChecks, 4)
	errs := graphql.GetErrors(ctx)
	require.Len(t, errs, 2)
	assert.Equal(t, ast.Path{ast.PathName("lines"), ast.PathIndex(1)}, errs[0].Path)
	assert.Equal(t, ast.Path{ast.PathName("lines"), ast.PathIndex(2)}, errs[1].Path)
}

// A selection's plan is compiled once: gqlgen hands the cart a fresh copy
// of its selections on every request, and the plan is found by their nodes.
// A selection with a directive has none, and a plan is never served for
// another selection with the same first and last node.
func TestRenderPlansAreFoundByTheirNodes(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	doc, errs := gqlparser.LoadQueryWithRules(schema, `query($id: ID!) {
		a: cart(id: $id) { id lines { quantity } totalQuantity }
		b: cart(id: $id) { id totalQuantity }
		c: cart(id: $id) { id lines @include(if: true) { quantity } }
	}`, nil)
	require.Empty(t, errs)
	opCtx := &graphql.OperationContext{Doc: doc, Variables: map[string]any{"id": "x"}}
	root := graphql.CollectFields(opCtx, doc.Operations[0].SelectionSet, []string{"Query"})
	require.Len(t, root, 3)
	fresh := func(i int) ast.SelectionSet {
		// What gqlgen passes: CollectFields' copy of the field's selections.
		return graphql.CollectFields(opCtx, doc.Operations[0].SelectionSet, []string{"Query"})[i].Selections
	}
	p := newRenderPlans(16)
	first := p.plan(opCtx, "Cart", fresh(0))
	require.NotNil(t, first)
	assert.Same(t, first, p.plan(opCtx, "Cart", fresh(0)), "found again, not compiled again")
	assert.Equal(t, 1, p.cache.Len())
	other := p.plan(opCtx, "Cart", fresh(1))
	require.NotNil(t, other)
	assert.NotSame(t, first, other)
	assert.Nil(t, p.plan(opCtx, "Cart", fresh(2)), "a directive below: gqlgen's path")
	// Same first and last node, another middle: not the cached plan.
	a := fresh(0)
	swapped := ast.SelectionSet{a[0], fresh(1)[1], a[2]}
	assert.NotSame(t, first, p.plan(opCtx, "Cart", swapped))
}
