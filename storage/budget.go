package storage

import (
	"context"
	"database/sql"

	"github.com/jmoiron/sqlx"
)

// ServerConnections is what a PostgreSQL server allows and has in use.
type ServerConnections struct {
	MaxConnections int `db:"max_connections"`
	// SuperuserReserved and Reserved (reserved_connections, PostgreSQL 16;
	// 0 before) are slots ordinary roles cannot use.
	SuperuserReserved int `db:"superuser_reserved_connections"`
	Reserved          int `db:"reserved_connections"`
	// InUse counts the client connections open now, to every database,
	// the one reading this included.
	InUse int `db:"in_use"`
}

// Available is how many connections ordinary roles may open in all.
func (c ServerConnections) Available() int {
	return c.MaxConnections - c.SuperuserReserved - c.Reserved
}

// ReadServerConnections reads the server's connection limits and use over
// db, which must reach PostgreSQL itself (not a pooler).
func ReadServerConnections(ctx context.Context, db *sql.DB) (ServerConnections, error) {
	const q = `
		SELECT current_setting('max_connections')::int AS max_connections,
		       current_setting('superuser_reserved_connections')::int AS superuser_reserved_connections,
		       COALESCE(current_setting('reserved_connections', true), '0')::int AS reserved_connections,
		       (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS in_use`
	var c ServerConnections
	err := sqlx.NewDb(db, "postgres").GetContext(ctx, &c, q)
	return c, translate(err)
}

// OpenConnections is how many connections the write and read pools hold
// now.
func (s *Store) OpenConnections() (write, read int) {
	write = s.db.Stats().OpenConnections
	if s.reads != s.db {
		read = s.reads.Stats().OpenConnections
	}
	return write, read
}

// ReadDB exposes the read pool (for its metrics); it is DB() when the Store
// was made with New.
func (s *Store) ReadDB() *sqlx.DB { return s.reads }
