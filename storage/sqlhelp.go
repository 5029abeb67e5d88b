package storage

import (
	"context"

	"github.com/jmoiron/sqlx"
)

func sqlxSelect(ctx context.Context, q queryer, dest any, query string, args ...any) error {
	return translate(sqlx.SelectContext(ctx, q, dest, query, args...))
}

func sqlxGet(ctx context.Context, q queryer, dest any, query string, args ...any) error {
	return translate(sqlx.GetContext(ctx, q, dest, query, args...))
}
