package storage

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// byOwner puts rows, in order, into lists by owner (of for a row gives its
// owner and item); every id of ids has a list, empty when no row is its.
func byOwner[R, T any](ids []int64, rows []R, of func(*R) (int64, T)) map[int64][]T {
	out := make(map[int64][]T, len(ids))
	for _, id := range ids {
		out[id] = []T{}
	}
	for i := range rows {
		id, v := of(&rows[i])
		out[id] = append(out[id], v)
	}
	return out
}

func sqlxSelect(ctx context.Context, q queryer, dest any, query string, args ...any) error {
	return translate(sqlx.SelectContext(ctx, q, dest, query, args...))
}

func sqlxGet(ctx context.Context, q queryer, dest any, query string, args ...any) error {
	return translate(sqlx.GetContext(ctx, q, dest, query, args...))
}
