package storage

import (
	"context"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MaxHandleLen bounds a handle (products and collections alike).
const MaxHandleLen = 255

// maxDerivedBase leaves room for the "-<n>" a derived handle may need to be
// unique: 235 + 1 + 19 digits of an int64 = 255.
const maxDerivedBase = 235

// ValidHandle reports whether s is a handle: 1-255 lower-case ASCII letters
// and digits in groups joined by single hyphens (no leading, trailing or
// double hyphen). The migrations' *_handle_format constraints say the same.
func ValidHandle(s string) bool {
	if s == "" || len(s) > MaxHandleLen || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// Slugify derives a handle from a name: accents are dropped ("Café" gives
// "cafe"), letters lower-cased, and every run of anything else becomes one
// hyphen. It is cut to leave room for a uniqueness suffix, and is fallback
// when nothing of the name is left.
func Slugify(name, fallback string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range norm.NFKD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // a combining accent of the letter before it
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		default:
			hyphen = b.Len() > 0
			continue
		}
		if hyphen {
			b.WriteByte('-')
			hyphen = false
		}
		if b.Len() >= maxDerivedBase {
			break
		}
		b.WriteRune(r)
	}
	s := strings.TrimRight(b.String(), "-")
	if s == "" {
		return fallback
	}
	return s
}

// freeHandleSQL is a scalar subquery choosing a handle for a new row of
// table from the base handle in parameter base: the base itself when no row
// has it, else base-n for the smallest n >= 2 that no row has. Callers hold
// lockHandleBase, so concurrent inserts of one base take turns (and each
// sees the one before); table and base are constants of this package,
// never input.
func freeHandleSQL(table, base string) string {
	return `(
		WITH taken AS (
			SELECT substr(handle, length(` + base + `) + 2)::bigint AS n
			FROM ` + table + `
			WHERE handle LIKE ` + base + ` || '-%'
			  AND substr(handle, length(` + base + `) + 2) ~ '^[1-9][0-9]{0,17}$'
		)
		SELECT CASE
			WHEN NOT EXISTS (SELECT 1 FROM ` + table + ` WHERE handle = ` + base + `) THEN ` + base + `
			ELSE ` + base + ` || '-' || (
				SELECT min(c.n)
				FROM (SELECT 2::bigint AS n UNION ALL SELECT n + 1 FROM taken) c
				WHERE c.n NOT IN (SELECT n FROM taken))
		END)`
}

// lockHandleBase serialises, until the transaction ends, the inserts into
// table that derive a handle from base. Run as a statement of its own
// before the insert, so that the insert's snapshot (READ COMMITTED: one
// per statement) sees the row of whoever held the lock before.
func lockHandleBase(ctx context.Context, q queryer, table, base string) error {
	_, err := q.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))`, "holdfast.handle."+table, base)
	return translate(err)
}

// handleAttempts bounds the retries of an insert whose derived handle was
// taken anyway, by a handle given explicitly (which takes no lock).
const handleAttempts = 3
