package graph

import (
	"context"

	"holdfast/graph/loaders"
	"holdfast/graph/model"
	"holdfast/storage"
)

// parseLocationID reads a location id; a malformed one is -1, which no
// location has (0 would mean the default location).
func parseLocationID(s string) int64 {
	id, ok := storage.ParseProductID(s)
	if !ok {
		return -1
	}
	return id
}

// optionalLocationID reads an optional location id: absent is 0, the
// default location.
func optionalLocationID(s *string) int64 {
	if s == nil {
		return 0
	}
	return parseLocationID(*s)
}

func (r *Resolver) locationPayload(ctx context.Context, l *storage.Location, opErr error) (*model.LocationPayload, error) {
	ue, err := userErrors(ctx, opErr)
	if err != nil {
		return nil, err
	}
	loaders.For(ctx, r.Store).Reset()
	return &model.LocationPayload{Location: l, UserErrors: ue}, nil
}
