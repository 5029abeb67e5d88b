package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// marshalList is what the generated executor calls for every list of
// objects, in place of graphql.MarshalSliceConcurrently (the rewrite is
// graph/internal/gqlgen's, run by go generate).
//
// gqlgen starts a goroutine per element so that resolvers below the list
// can wait on a dataloader together: each element's Load joins one batch.
// When the selection under the list reaches no field gqlgen runs
// concurrently (concurrentFields: resolvers and methods that take a
// context), nothing below can wait, and the goroutines only cost: about a
// third of rendering a 100-line cart went to creating them and growing
// their stacks (docs/performance.md). Such a list is marshalled here, in
// the calling goroutine, element by element, with the same per-element
// field context (its Index is the path of any error below) and the same
// panic recovery. Every other list takes gqlgen's path unchanged.
func marshalList(ctx context.Context, sel ast.SelectionSet, length int, workerLimit int64, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) graphql.Array {
	if length <= 1 || reachesConcurrentField(sel) {
		return graphql.MarshalSliceConcurrently(ctx, length, workerLimit, omitPanicHandler, marshalElement)
	}
	ret := make(graphql.Array, length)
	for i := range length {
		ret[i] = marshalElementInline(ctx, i, omitPanicHandler, marshalElement)
	}
	return ret
}

func marshalElementInline(ctx context.Context, i int, omitPanicHandler bool,
	marshalElement func(ctx context.Context, i int) graphql.Marshaler,
) (ret graphql.Marshaler) {
	childCtx := graphql.WithFieldContext(ctx, &graphql.FieldContext{Index: &i})
	if !omitPanicHandler {
		defer func() {
			if r := recover(); r != nil {
				graphql.AddError(childCtx, graphql.Recover(childCtx, r))
				ret = graphql.Null
			}
		}()
	}
	return marshalElement(childCtx, i)
}

// reachesConcurrentField reports whether sel, with its fragments and every
// selection below it, asks for a field that gqlgen runs concurrently. It
// answers true when it cannot tell: a field of an interface or a union
// (the concrete type decides), or a fragment spread without its definition.
func reachesConcurrentField(sel ast.SelectionSet) bool {
	for _, s := range sel {
		switch s := s.(type) {
		case *ast.Field:
			if s.Name == "__typename" {
				continue
			}
			def := s.ObjectDefinition
			if def == nil || def.Kind != ast.Object || concurrentFields[def.Name][s.Name] {
				return true
			}
			if reachesConcurrentField(s.SelectionSet) {
				return true
			}
		case *ast.InlineFragment:
			if reachesConcurrentField(s.SelectionSet) {
				return true
			}
		case *ast.FragmentSpread:
			if s.Definition == nil || reachesConcurrentField(s.Definition.SelectionSet) {
				return true
			}
		default:
			return true
		}
	}
	return false
}
