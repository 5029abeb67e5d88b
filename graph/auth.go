package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"holdfast/reqstate"
)

func errUnauthenticated() error {
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
