package migrations

import (
	"context"
	"database/sql"

	"github.com/pressly/goose/v3"
)

// UpTo applies the migrations up to version, so that a test can write rows
// the way an older schema had them before the next migration runs.
func UpTo(ctx context.Context, db *sql.DB, version int64) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, files)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}

// DownTo rolls the migrations back to version.
func DownTo(ctx context.Context, db *sql.DB, version int64) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, files)
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}
