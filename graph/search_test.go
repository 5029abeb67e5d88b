package graph_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage/storagetest"
)

// Type-ahead: each prefix of a word finds it, also the prefixes that are
// English stop words ("be", "a", "s", "t", "i"); results never vanish and
// come back as the shopper types.
func TestSearchPrefixesThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := setup(t)
	catalogProduct(t, e.store, "SLIP-1", "Bet slip", 100, 1, "Paper")
	catalogProduct(t, e.store, "CRATE-1", "Apple crate", 100, 1, "Seasoned timber, ideal for storage")
	count := func(q string) int {
		var out struct {
			Products struct {
				TotalCount int `json:"totalCount"`
			} `json:"products"`
		}
		decode(t, e.gql(t, "", `query($q: String) { products(query: $q, first: 1) { totalCount } }`, map[string]any{"q": q}), &out)
		return out.Products.TotalCount
	}
	for q, want := range map[string]int{"b": 1, "be": 1, "bet": 1, "a": 1, "ap": 1, "s": 2, "t": 1, "i": 1} {
		assert.Equal(t, want, count(q), "totalCount for %q", q)
	}
}

// Searches are limited per client address (RATE_LIMIT_SEARCH): each search
// among an operation's root fields takes a token, and over the budget the
// operation is refused with RATE_LIMITED and retryAfterMs before it runs.
// Listings without a query and admins are not limited.
func TestSearchRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	srv := httptest.NewServer(newAPI(graph.HandlerConfig{
		Store: store, AdminToken: adminToken,
		// 3 at once, then one per 1000 s: the test never waits for a token.
		Limits: graph.LimitConfig{Searches: httpapi.NewKeyedLimiter(0.001, 3), LimitLoopback: true},
	}, httpapi.APIConfig{}))
	t.Cleanup(srv.Close)
	storagetest.MustProduct(t, store, "RATE-1", 1)

	search := `query($q: String) { products(query: $q) { edges { node { sku } } } }`
	two := `{ a: products(query: "rate") { totalCount } b: products(query: "prod") { totalCount } }`
	r := post(t, srv.URL, "", search, map[string]any{"q": "rate"})
	require.Empty(t, r.Errors)
	r = post(t, srv.URL, "", two, nil)
	require.Empty(t, r.Errors, "two searches: two tokens, the last ones")
	for _, q := range []string{"", "   "} {
		r = post(t, srv.URL, "", search, map[string]any{"q": q})
		assert.Empty(t, r.Errors, "an empty query is no search: %q", q)
	}
	r = post(t, srv.URL, "", `{ products(first: 5) { edges { node { sku } } } }`, nil)
	assert.Empty(t, r.Errors, "a listing is no search")

	status, hdr, r := raw(t, srv.URL, "application/json", gqlBody(search, map[string]any{"q": "rate"}), nil)
	assert.Equal(t, http.StatusTooManyRequests, status)
	require.Equal(t, "RATE_LIMITED", r.code())
	assert.Greater(t, r.Errors[0].Extensions["retryAfterMs"], float64(0))
	assert.NotEmpty(t, hdr.Get("Retry-After"))
	assert.NotContains(t, string(r.Data), "RATE-1", "refused before it ran")

	status, _, r = raw(t, srv.URL, "application/json", gqlBody(search, map[string]any{"q": "rate"}),
		http.Header{"Authorization": {"Bearer " + adminToken}})
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, r.Errors, "admins are not limited")
}

// A search the database stops at SEARCH_STATEMENT_TIMEOUT is answered with
// its own code, not as an internal error. The search is held up by a lock
// that stays taken until the answer is in, so the test does not depend on
// how fast anything runs.
func TestSearchTimeoutCode(t *testing.T) {
	t.Parallel()
	opts := storagetest.Options()
	opts.SearchTimeout = time.Second // the lock holds the search to it; the search after needs far less
	store, _ := storagetest.NewStore(t, opts)
	srv := newServer(t, store)
	storagetest.MustProduct(t, store, "SLOW-1", 1)
	ctx := context.Background()

	lock, err := store.DB().BeginTx(ctx, nil)
	require.NoError(t, err)
	defer lock.Rollback()
	_, err = lock.ExecContext(ctx, `LOCK TABLE products IN ACCESS EXCLUSIVE MODE`)
	require.NoError(t, err)
	r := post(t, srv.URL, "", `{ products(query: "slow") { edges { node { sku } } } }`, nil)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "SEARCH_TIMEOUT", r.code())
	assert.NotContains(t, r.Errors[0].Message, "statement")
	assert.Equal(t, http.StatusOK, r.Status)
	require.NoError(t, lock.Rollback())

	r = post(t, srv.URL, "", `{ products(query: "slow") { totalCount edges { node { sku } } } }`, nil)
	assert.Empty(t, r.Errors)
}
