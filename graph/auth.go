package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"holdfast/reqstate"
)

func errUnauthenticated() error { return newErrUnauthenticated() }

func newErrUnauthenticated() *gqlerror.Error {
	return &gqlerror.Error{
		Message:    "this field requires the admin token (Authorization: Bearer <ADMIN_TOKEN>)",
		Extensions: map[string]any{"code": reqstate.CodeUnauthenticated},
	}
}

// adminDirective implements @admin: it refuses, loudly, before the field's
// resolver runs. Who is admin is decided by the transport (the
// Authorization header) or the websocket init payload (wsInit).
func adminDirective(ctx context.Context, _ any, next graphql.Resolver) (any, error) {
	if !reqstate.IsAdmin(ctx) {
		return nil, errUnauthenticated()
	}
	return next(ctx)
}

// refuseAdminField refuses an @admin root field to a caller without the
// admin token, before gqlgen reads the field's arguments (which it does
// before it runs the directive): an anonymous request gets UNAUTHENTICATED
// whatever arguments it sent, never an argument error that tells it more.
// It reports whether it refused (the field then resolves to null).
func refuseAdminField(ctx context.Context) bool {
	rf := graphql.GetRootFieldContext(ctx)
	if rf == nil || rf.Field.Definition == nil || rf.Field.Definition.Directives.ForName("admin") == nil || reqstate.IsAdmin(ctx) {
		return false
	}
	err := newErrUnauthenticated()
	err.Path = ast.Path{ast.PathName(rf.Field.Alias)}
	graphql.AddError(ctx, err)
	return true
}

// idempotencyKey is the input's key, else the Idempotency-Key header when
// the operation has a single root field (a header cannot say which of
// several mutations it belongs to, so it is ignored for those).
func idempotencyKey(ctx context.Context, fromInput *string) string {
	if fromInput != nil {
		if *fromInput == "" {
			return "\x00" // present but empty: refused as invalid
		}
		return *fromInput
	}
	k := reqstate.IdempotencyHeader(ctx)
	if k == "" || !graphql.HasOperationContext(ctx) {
		return ""
	}
	if len(rootFields(graphql.GetOperationContext(ctx))) != 1 {
		return ""
	}
	return k
}

// keyArgument is idempotencyKey, for resolvers whose idempotencyKey
// argument hides the function's name.
func keyArgument(ctx context.Context, fromArgument *string) string {
	return idempotencyKey(ctx, fromArgument)
}
