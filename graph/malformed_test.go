package graph_test

import (
	"encoding/base64"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage/storagetest"
)

// cursor forges a cursor as the server writes them: base64url of text.
func cursor(text string) string { return base64.RawURLEncoding.EncodeToString([]byte(text)) }

// Finding 10: malformed scalars, cursors and ids are the client's input
// errors (BAD_USER_INPUT, or nothing found), never internal errors or
// database errors, and never an ERROR log line; an anonymous request to an
// admin field is UNAUTHENTICATED whatever its arguments.
func TestMalformedInputIsBadUserInput(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv := httptest.NewServer(newAPI(graph.HandlerConfig{Store: store, AdminToken: adminToken, Log: log}, httpapi.APIConfig{Log: log}))
	t.Cleanup(srv.Close)
	storagetest.MustProduct(t, store, "MALFORMED", 3)

	const (
		feed       = `query($t: Time, $after: String) { orders(updatedAfter: $t, after: $after) { edges { node { id } } } }`
		orders     = `query($after: String) { orders(after: $after) { edges { node { id } } } }`
		products   = `query($after: String, $before: String, $sort: ProductSortKeys) { products(after: $after, before: $before, sortKey: $sort) { edges { node { id } } } }`
		colls      = `query($after: String) { collections(after: $after) { edges { node { id } } } }`
		deliveries = `query($id: ID!, $after: String) { webhookDeliveries(endpointId: $id, after: $after) { edges { node { id } } } }`
	)
	type tc struct {
		name, token, query string
		vars               map[string]any
		code               string // "" when the answer is data (null, empty)
	}
	var cases []tc
	// The times, as literals and as variables, anonymous and admin.
	for _, bad := range []any{"yesterday", "2026-01-01", "10000-01-01T00:00:00Z", 1700000000, "0001-01-01T00:00:00+01:00", true, map[string]any{}} {
		cases = append(cases,
			tc{"anonymous, time variable", "", feed, map[string]any{"t": bad}, "UNAUTHENTICATED"},
			tc{"admin, time variable", adminToken, feed, map[string]any{"t": bad}, "BAD_USER_INPUT"},
		)
	}
	for _, lit := range []string{`"yesterday"`, `"2026-01-01"`, `"10000-01-01T00:00:00Z"`, `1700000000`} {
		q := `{ orders(updatedAfter: ` + lit + `) { edges { node { id } } } }`
		cases = append(cases,
			tc{"anonymous, time literal " + lit, "", q, nil, "UNAUTHENTICATED"},
			tc{"admin, time literal " + lit, adminToken, q, nil, "BAD_USER_INPUT"},
		)
	}
	now := map[string]any{"t": "2026-01-01T00:00:00Z"}
	with := func(k string, v any) map[string]any {
		out := map[string]any{"t": now["t"]}
		out[k] = v
		return out
	}
	for _, c := range []string{
		cursor("orderfeed:-1:1"), cursor("orderfeed:-9223372036854775808:1"), cursor("orderfeed:9223372036854775807:1"),
		cursor("orderfeed:253402300800000000:1"), cursor("orderfeed:1:0"), cursor("orderfeed:1:-1"), cursor("orderfeed:1"),
		cursor("orderfeed:x:y"), cursor("order:1"), "%%%", strings.Repeat("A", 5000),
	} {
		cases = append(cases, tc{"feed cursor " + c[:min(len(c), 24)], adminToken, feed, with("after", c), "BAD_USER_INPUT"})
	}
	for _, c := range []string{cursor("order:-1"), cursor("order:0"), cursor("order:18446744073709551616"), cursor("order:01"), cursor("orderfeed:1:1")} {
		cases = append(cases, tc{"orders cursor", adminToken, orders, map[string]any{"after": c}, "BAD_USER_INPUT"})
	}
	for _, v := range []map[string]any{
		{"after": cursor("product:-1")}, {"after": cursor("product:0")}, {"after": cursor("product:99999999999999999999")},
		{"before": cursor("product:1e3")},
		{"after": cursor("product:c::1:-1"), "sort": "CREATED_AT"},
		{"after": cursor("product:c::1:9223372036854775807"), "sort": "CREATED_AT"},
		{"after": cursor("product:c::1:253402300800000000"), "sort": "CREATED_AT"},
		{"after": cursor("product:p::1:-5"), "sort": "PRICE"},
		{"after": cursor("product:p::1:99999999999999999999"), "sort": "PRICE"},
		{"after": cursor("product:n::1:a\x00b"), "sort": "NAME"},
		{"after": cursor("product:n::-1:a"), "sort": "NAME"},
	} {
		cases = append(cases, tc{"product cursor", "", products, v, "BAD_USER_INPUT"})
	}
	for _, c := range []string{cursor("collection:-1"), cursor("collection:abc"), "not base64!"} {
		cases = append(cases, tc{"collections cursor", "", colls, map[string]any{"after": c}, "BAD_USER_INPUT"})
	}
	for _, v := range []map[string]any{
		{"id": "1", "after": cursor("delivery:-1")}, {"id": "1", "after": cursor("delivery:99999999999999999999")},
	} {
		cases = append(cases, tc{"deliveries cursor", adminToken, deliveries, v, "BAD_USER_INPUT"})
	}
	for _, id := range []string{"-1", "0", "abc", "99999999999999999999", "1e3", strings.Repeat("9", 5000)} {
		cases = append(cases,
			tc{"deliveries of endpoint " + id[:min(len(id), 24)], adminToken, deliveries, map[string]any{"id": id}, ""},
			tc{"product " + id[:min(len(id), 24)], "", `query($id: ID!) { product(id: $id) { id } }`, map[string]any{"id": id}, ""},
			tc{"collection " + id[:min(len(id), 24)], "", `query($id: ID!) { collection(id: $id) { id } }`, map[string]any{"id": id}, ""},
			tc{"order " + id[:min(len(id), 24)], "", `query($id: ID!) { order(id: $id) { id } }`, map[string]any{"id": id}, ""},
			tc{"cart " + id[:min(len(id), 24)], "", `query($id: ID!) { cart(id: $id) { id } }`, map[string]any{"id": id}, ""},
			tc{"top holders of " + id[:min(len(id), 24)], adminToken, `query($id: ID) { topHolders(productId: $id) { quantity } }`, map[string]any{"id": id}, ""},
			tc{"audit after " + id[:min(len(id), 24)], adminToken, `query($id: ID) { inventoryAudit(after: $id) { ok } }`, map[string]any{"id": id}, "BAD_USER_INPUT"},
			tc{"anonymous audit after " + id[:min(len(id), 24)], "", `query($id: ID) { inventoryAudit(after: $id) { ok } }`, map[string]any{"id": id}, "UNAUTHENTICATED"},
		)
	}
	for _, first := range []int64{0, -1, 101, 2147483647, 2147483648, -2147483649} {
		for _, q := range []string{orders, colls, `query($first: Int) { topHolders(first: $first) { quantity } }`} {
			q = strings.Replace(q, "($after: String)", "($after: String, $first: Int)", 1)
			q = strings.Replace(q, "(after: $after)", "(after: $after, first: $first)", 1)
			cases = append(cases, tc{"first", adminToken, q, map[string]any{"first": first}, "BAD_USER_INPUT"})
		}
	}

	for _, c := range cases {
		r := post(t, srv.URL, c.token, c.query, c.vars)
		assert.Less(t, r.Status, 500, "%s %v", c.name, c.vars)
		if c.code == "" {
			assert.Empty(t, r.Errors, "%s %v", c.name, c.vars)
			continue
		}
		if !assert.NotEmpty(t, r.Errors, "%s %v", c.name, c.vars) {
			continue
		}
		assert.Equal(t, c.code, r.code(), "%s %v: %+v", c.name, c.vars, r.Errors)
	}
	assert.NotContains(t, logs.String(), `"level":"ERROR"`, "no input is an internal error")
}
