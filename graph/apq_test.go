package graph_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage/storagetest"
)

// apqBody is a request carrying query's APQ hash, and query itself unless
// hashOnly.
func apqBody(query string, vars map[string]any, hashOnly bool) []byte {
	sum := sha256.Sum256([]byte(query))
	body := map[string]any{
		"variables":  vars,
		"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(sum[:])}},
	}
	if !hashOnly {
		body["query"] = query
	}
	b, _ := json.Marshal(body)
	return b
}

// Finding 5: a document refused by the limits (or by validation) never
// enters the APQ cache or the query cache, even when sent with its hash; a
// good one enters both.
func TestRefusedDocumentsAreNotPersisted(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	h, queryStats, apqStats := graph.NewHandlerWithCaches(graph.HandlerConfig{Store: store, AdminToken: adminToken})
	srv := httptest.NewServer(httpapi.API(httpapi.APIConfig{AdminToken: adminToken}, h))
	t.Cleanup(srv.Close)
	admin := http.Header{"Authorization": {"Bearer " + adminToken}}
	entries := func() (int, int) {
		q, _, _ := queryStats()
		a, _, _ := apqStats()
		return q, a
	}

	var aliases strings.Builder
	aliases.WriteString("{")
	for i := 0; i < 40; i++ {
		fmt.Fprintf(&aliases, " a%d: __typename", i)
	}
	aliases.WriteString(" }")
	const costly = `query($n: Int) { collections(first: $n) { edges { node { products(first: $n) { edges { node { id } } } } } } }`
	cases := []struct {
		name, query string
		vars        map[string]any
		code        string
	}{
		{"too deep", depthFragments(30), nil, "DEPTH_LIMIT"},
		{"too many aliases", aliases.String(), nil, "ALIAS_LIMIT"},
		{"too costly", `{ orders(first: 100) { edges { node { lines { product { id } } } } } }`, nil, "COMPLEXITY_LIMIT"},
		{"too costly with these variables", costly, map[string]any{"n": 100}, "COMPLEXITY_LIMIT"},
		{"invalid", `{ products { edges { node { nope } } } }`, nil, "GRAPHQL_VALIDATION_FAILED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, _, r := raw(t, srv.URL, "application/json", apqBody(tc.query, tc.vars, false), admin)
			assert.Equal(t, http.StatusUnprocessableEntity, status)
			assert.Equal(t, tc.code, r.code(), "%+v", r.Errors)
			q, a := entries()
			assert.Zero(t, q, "nothing refused is in the query cache")
			assert.Zero(t, a, "nothing refused is in the APQ cache")
			_, _, r = raw(t, srv.URL, "application/json", apqBody(tc.query, tc.vars, true), admin)
			assert.Equal(t, "PERSISTED_QUERY_NOT_FOUND", r.code(), "the hash alone finds nothing")
		})
	}

	t.Run("a good document is kept in both", func(t *testing.T) {
		_, _, r := raw(t, srv.URL, "application/json", apqBody(costly, map[string]any{"n": 2}, false), admin)
		require.Empty(t, r.Errors)
		q, a := entries()
		assert.Equal(t, 1, q)
		assert.Equal(t, 1, a)
		_, _, r = raw(t, srv.URL, "application/json", apqBody(costly, map[string]any{"n": 3}, true), admin)
		assert.Empty(t, r.Errors, "the hash alone runs it")
		_, _, r = raw(t, srv.URL, "application/json", apqBody(costly, map[string]any{"n": 100}, true), admin)
		assert.Equal(t, "COMPLEXITY_LIMIT", r.code(), "the cached document is priced with each request's variables")
	})
}
