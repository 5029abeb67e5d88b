package graph_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage/storagetest"
)

type auditRow struct {
	Product     struct{ ID, Sku string }
	Stock       int
	LedgerStock int
	Held        int
	CartHeld    int
	PendingHeld int
	OK          bool
}

// Finding 4: the audit can be asked for every one of its fields, a page at
// a time, and for the rows that are not ok.
func TestInventoryAuditPages(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, pid(storagetest.MustProduct(t, e.store, fmt.Sprintf("AUDIT-%d", i), 10+i)))
	}
	// Books that do not add up: stock moved without a ledger row.
	_, err := e.store.DB().Exec(`UPDATE products SET stock = stock + 1 WHERE id = $1`, ids[3])
	require.NoError(t, err)

	audit := func(t *testing.T, q string, vars map[string]any) []auditRow {
		t.Helper()
		var out struct{ InventoryAudit []auditRow }
		decode(t, e.gql(t, adminToken, q, vars), &out)
		return out.InventoryAudit
	}
	rowIDs := func(rows []auditRow) []string {
		out := []string{}
		for _, r := range rows {
			out = append(out, r.Product.ID)
		}
		return out
	}

	t.Run("every field, the query of the issue", func(t *testing.T) {
		rows := audit(t, `{ inventoryAudit { product { id sku } stock ledgerStock held cartHeld pendingHeld ok } }`, nil)
		require.Equal(t, ids, rowIDs(rows))
		assert.Equal(t, "AUDIT-0", rows[0].Product.Sku)
		assert.Equal(t, auditRow{Product: rows[0].Product, Stock: 10, LedgerStock: 10, OK: true}, rows[0])
		assert.Equal(t, 14, rows[3].Stock)
		assert.Equal(t, 13, rows[3].LedgerStock)
		assert.False(t, rows[3].OK)
	})

	t.Run("paged by product id", func(t *testing.T) {
		const q = `query($first: Int, $after: ID) { inventoryAudit(first: $first, after: $after) { product { id } ok } }`
		var got []string
		var after any
		for pages := 0; ; pages++ {
			require.Less(t, pages, 5)
			rows := audit(t, q, map[string]any{"first": 2, "after": after})
			got = append(got, rowIDs(rows)...)
			if len(rows) < 2 {
				break
			}
			after = rows[len(rows)-1].Product.ID
		}
		assert.Equal(t, ids, got)
	})

	t.Run("only problems", func(t *testing.T) {
		rows := audit(t, `{ inventoryAudit(onlyProblems: true) { product { id } ok } }`, nil)
		assert.Equal(t, []string{ids[3]}, rowIDs(rows))
		rows = audit(t, `query($a: ID) { inventoryAudit(onlyProblems: true, after: $a) { product { id } } }`, map[string]any{"a": ids[3]})
		assert.Empty(t, rows)
	})

	t.Run("the largest pages fit the limit", func(t *testing.T) {
		assert.Len(t, audit(t, `{ inventoryAudit(first: 1000) { stock ledgerStock held cartHeld pendingHeld ok } }`, nil), 5)
		assert.Len(t, audit(t, `{ inventoryAudit(first: 500) { product { id sku } stock ok } }`, nil), 5)
		r := e.gql(t, adminToken, `{ inventoryAudit(first: 1000) { product { id } ok } }`, nil)
		assert.Equal(t, "COMPLEXITY_LIMIT", r.code(), "1000 rows with their products: 2000")
	})

	t.Run("bad arguments", func(t *testing.T) {
		for _, vars := range []map[string]any{
			{"first": 0}, {"first": -1}, {"first": 1001}, {"after": "abc"}, {"after": "-1"}, {"after": "0"}, {"after": "99999999999999999999"},
		} {
			r := e.gql(t, adminToken, `query($first: Int, $after: ID) { inventoryAudit(first: $first, after: $after) { ok } }`, vars)
			assert.Equal(t, "BAD_USER_INPUT", r.code(), "%v", vars)
		}
		r := e.gql(t, "", `{ inventoryAudit(first: 0) { ok } }`, nil)
		assert.Equal(t, "UNAUTHENTICATED", r.code(), "admin only, whatever the arguments")
	})
}
