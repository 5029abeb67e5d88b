package storagetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// occupierApp names the connections Occupy holds.
const occupierApp = "holdfast-test-occupier"

// Connections controls how many connections the database of a test may
// have, as a full max_connections would: LimitConnections sets it.
type Connections struct {
	t     testing.TB
	admin *sql.DB
	url   string
	name  string
}

// LimitConnections caps the connections to the test database at u (which
// tests reach as pgtestdb's role, not a superuser) at limit: one more is
// refused with SQLSTATE 53300 ("too many connections for database"), the
// code of "sorry, too many clients already". Only this database is
// affected, not the shared cluster.
func LimitConnections(t testing.TB, u string, limit int) *Connections {
	t.Helper()
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = DefaultURL
	}
	admin, err := sql.Open("postgres", raw)
	if err != nil {
		t.Fatalf("open admin connection: %v", err)
	}
	admin.SetMaxOpenConns(1)
	t.Cleanup(func() { admin.Close() })
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatalf("database URL: %v", err)
	}
	c := &Connections{t: t, admin: admin, url: u, name: parsed.Path[1:]}
	if _, err := admin.Exec(fmt.Sprintf(`ALTER DATABASE %s CONNECTION LIMIT %d`, pq.QuoteIdentifier(c.name), limit)); err != nil {
		t.Fatalf("limit connections: %v", err)
	}
	return c
}

// count is how many backends serve the database (only those of
// application_name app, unless app is "").
func (c *Connections) count(app string) int {
	c.t.Helper()
	var n int
	err := c.admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND ($2 = '' OR application_name = $2)`,
		c.name, app).Scan(&n)
	if err != nil {
		c.t.Fatalf("count backends: %v", err)
	}
	return n
}

// WaitIdle waits until the database has no backends at all (a closed
// connection's backend exits a moment after its client closed it).
func (c *Connections) WaitIdle() { c.WaitAtMost(0) }

// WaitAtMost waits until the database has at most n backends.
func (c *Connections) WaitAtMost(n int) { c.waitFor("", n) }

func (c *Connections) waitFor(app string, n int) {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for c.count(app) > n {
		if time.Now().After(deadline) {
			c.t.Fatalf("more than %d backends of %s (application %q) after a minute", n, c.name, app)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Occupy opens connections to the database until PostgreSQL refuses one,
// and holds them: every connection slot is then taken. release closes them
// and waits until their backends are gone, so the slots are free again
// when it returns.
func (c *Connections) Occupy() (release func()) {
	t := c.t
	t.Helper()
	u, err := url.Parse(c.url)
	if err != nil {
		t.Fatalf("database URL: %v", err)
	}
	q := u.Query()
	q.Set("application_name", occupierApp)
	u.RawQuery = q.Encode()
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	var held []*sql.Conn
	for {
		conn, err := db.Conn(context.Background())
		if err == nil {
			err = conn.PingContext(context.Background())
		}
		if err != nil {
			if pq.As(err, pqerror.TooManyConnections) == nil {
				t.Fatalf("occupy: want too many connections, got %v", err)
			}
			break
		}
		held = append(held, conn)
		if len(held) == 1000 {
			t.Fatalf("occupy: the connection limit is not in force")
		}
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		for _, conn := range held {
			conn.Close()
		}
		db.Close()
		c.waitFor(occupierApp, 0)
	}
	t.Cleanup(release)
	return release
}
