package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/lib/pq"
)

func openDB(dsn string, conns int) (*sql.DB, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

var dsnDBName = regexp.MustCompile(`(^|\s)dbname\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)

// withDatabase returns dsn (URL or key=value form) pointed at database name.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	if dsnDBName.MatchString(dsn) {
		return dsnDBName.ReplaceAllString(dsn, "${1}dbname="+name), nil
	}
	return strings.TrimSpace(dsn + " dbname=" + name), nil
}

// createBenchDB creates a fresh database on the server of dsn.
func createBenchDB(ctx context.Context, dsn, name string) (string, error) {
	db, err := openDB(dsn, 1)
	if err != nil {
		return "", fmt.Errorf("connect %s: %w", redact(dsn), err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return withDatabase(dsn, name)
}

func dropBenchDB(dsn, name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := openDB(dsn, 1)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)")
	return err
}

// redact hides a password in a URL for printing.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	return u.String()
}

// seedProducts inserts n products (sku prefix+i, a handle derived from
// it, USD 10.00) with their 'initial' ledger movements, as the API would,
// and returns their ids in order. A non-empty description is given to each
// (with its number).
func seedProducts(ctx context.Context, db *sql.DB, prefix string, n, stock int, description string) ([]int64, error) {
	const q = `
		WITH p AS (
			INSERT INTO products (sku, handle, name, description, price_cents, currency, stock)
			SELECT $1 || g, 'holdbench-' || md5($1 || g), 'holdbench ' || $1 || g, CASE WHEN $4 <> '' THEN $4 || ' (' || g || ')' END, 1000, 'USD', $2
			FROM generate_series(1, $3) AS g
			RETURNING id, stock
		), m AS (
			INSERT INTO inventory_movements (product_id, delta, kind, reason)
			SELECT id, stock, 'initial', 'holdbench seed' FROM p
		)
		SELECT id FROM p ORDER BY id`
	rows, err := db.QueryContext(ctx, q, prefix, stock, n, description)
	if err != nil {
		return nil, fmt.Errorf("seed %d products: %w", n, err)
	}
	defer rows.Close()
	ids := make([]int64, 0, n)
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// seedCartLines puts 1 unit of products[i] in carts[i], for every i, in one
// transaction and as the API's reservations would have left them: each line
// with its product's currency, the carts' currency and running totals
// (total_quantity, line_count), the products' held. The pairs must be
// distinct and not in the carts yet.
func seedCartLines(ctx context.Context, db *sql.DB, carts []string, products []int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	steps := []string{`
		UPDATE carts c
		SET currency = COALESCE(c.currency, t.currency), updated_at = now(),
		    total_quantity = c.total_quantity + t.n, line_count = c.line_count + t.n
		FROM (SELECT x.c, count(*)::integer AS n, min(p.currency) AS currency
		      FROM unnest($1::text[], $2::bigint[]) AS x(c, p)
		      JOIN products p ON p.id = x.p
		      GROUP BY x.c) t
		WHERE c.id = t.c`, `
		INSERT INTO cart_lines (cart_id, product_id, quantity, currency)
		SELECT x.c, x.p, 1, p.currency
		FROM unnest($1::text[], $2::bigint[]) AS x(c, p)
		JOIN products p ON p.id = x.p`, `
		UPDATE products p
		SET held = p.held + t.n, updated_at = now()
		FROM (SELECT x.p, count(*)::integer AS n FROM unnest($1::text[], $2::bigint[]) AS x(c, p) GROUP BY x.p) t
		WHERE p.id = t.p`,
	}
	for _, q := range steps {
		if _, err := tx.ExecContext(ctx, q, pq.Array(carts), pq.Array(products)); err != nil {
			return rollback(tx, fmt.Errorf("seed %d cart lines: %w", len(carts), err))
		}
	}
	return tx.Commit()
}

// checkResult is the oversell check of a set of products after a cell.
type checkResult struct {
	ran            bool
	err            error
	oversold       int   // products with held > stock
	heldMismatch   int   // products whose held <> sum of their cart lines
	ledgerMismatch int   // products whose stock <> sum of ledger movements
	held, stock    int64 // totals over the set
}

func (c checkResult) ok() bool {
	return c.ran && c.err == nil && c.oversold == 0 && c.heldMismatch == 0 && c.ledgerMismatch == 0
}

func (c checkResult) String() string {
	switch {
	case !c.ran:
		return "n/a"
	case c.err != nil:
		return "check failed: " + c.err.Error()
	case c.ok():
		return "none"
	}
	var parts []string
	if c.oversold > 0 {
		parts = append(parts, fmt.Sprintf("OVERSOLD %d", c.oversold))
	}
	if c.heldMismatch > 0 {
		parts = append(parts, fmt.Sprintf("held≠lines %d", c.heldMismatch))
	}
	if c.ledgerMismatch > 0 {
		parts = append(parts, fmt.Sprintf("stock≠ledger %d", c.ledgerMismatch))
	}
	return strings.Join(parts, ", ")
}

// checkProducts verifies, for every product of ids, held <= stock, held =
// the sum of its cart lines (lines of checked-out and expired carts are
// deleted, as in the API's inventoryAudit), and stock = the sum of its ledger.
func checkProducts(ctx context.Context, db *sql.DB, ids []int64) checkResult {
	const q = `
		WITH ids AS (SELECT unnest($1::bigint[]) AS id),
		l AS (
			SELECT cl.product_id, sum(cl.quantity) AS q
			FROM cart_lines cl
			WHERE cl.product_id IN (SELECT id FROM ids)
			GROUP BY cl.product_id
		), m AS (
			SELECT product_id, sum(delta) AS s
			FROM inventory_movements
			WHERE product_id IN (SELECT id FROM ids)
			GROUP BY product_id
		)
		SELECT
			count(*) FILTER (WHERE p.held > p.stock),
			count(*) FILTER (WHERE p.held <> COALESCE(l.q, 0)),
			count(*) FILTER (WHERE p.stock <> COALESCE(m.s, 0)),
			COALESCE(sum(p.held), 0), COALESCE(sum(p.stock), 0)
		FROM products p
		LEFT JOIN l ON l.product_id = p.id
		LEFT JOIN m ON m.product_id = p.id
		WHERE p.id IN (SELECT id FROM ids)`
	r := checkResult{ran: true}
	r.err = db.QueryRowContext(ctx, q, pq.Array(ids)).Scan(&r.oversold, &r.heldMismatch, &r.ledgerMismatch, &r.held, &r.stock)
	return r
}

func pgVersion(ctx context.Context, db *sql.DB) string {
	var v string
	if err := db.QueryRowContext(ctx, `SELECT version()`).Scan(&v); err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return v
}
