// Package migrations holds Holdfast's schema as numbered goose SQL files,
// embedded in the binary and applied at start-up and in tests.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed *.sql
var files embed.FS

// Up applies every pending migration. A PostgreSQL session advisory lock
// serialises replicas that start together, so only one of them migrates.
func Up(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migrations: locker: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithSessionLocker(locker)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, files, opts...)
	if err != nil {
		return fmt.Errorf("migrations: provider: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrations: up: %w", err)
	}
	return nil
}

// Checker answers readiness probes: are the embedded migrations applied?
// It builds its provider once, and once it has seen them all applied it
// answers without asking the database again (applied migrations stay
// applied).
type Checker struct {
	mu       sync.Mutex
	p        *goose.Provider
	migrated bool
}

// NewChecker makes a Checker for db.
func NewChecker(db *sql.DB) (*Checker, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, files)
	if err != nil {
		return nil, fmt.Errorf("migrations: provider: %w", err)
	}
	return &Checker{p: p}, nil
}

// Migrated reports whether no embedded migration is pending.
func (c *Checker) Migrated(ctx context.Context) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.migrated {
		return true, nil
	}
	pending, err := c.p.HasPending(ctx)
	if err != nil {
		return false, err
	}
	c.migrated = !pending
	return c.migrated, nil
}

// Hash identifies the schema the embedded files produce (used by tests to
// share one migrated template database).
func Hash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(files, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}
