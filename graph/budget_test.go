package graph_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage/storagetest"
)

// hostileDocument builds one document of a random hostile shape, up to
// about maxBytes: fragment chains, repeats, aliases, nesting, directives,
// variables, or a mix.
func hostileDocument(r *rand.Rand, maxBytes int) (string, int) {
	var b strings.Builder
	kind := r.IntN(7)
	switch kind {
	case 0: // fragment chain: width spreads per level
		levels, width := 2+r.IntN(60), 2+r.IntN(4)
		b.WriteString(`{ __schema { types { ...F0 } } }`)
		for i := 0; i < levels; i++ {
			fmt.Fprintf(&b, " fragment F%d on __Type { name", i)
			if i < levels-1 {
				for j := 0; j < width; j++ {
					fmt.Fprintf(&b, " ...F%d", i+1)
				}
			}
			b.WriteString(" }")
		}
	case 1: // one field repeated
		b.WriteString("{")
		for b.Len() < maxBytes-20 {
			b.WriteString(" __typename")
		}
		b.WriteString(" }")
	case 2: // distinct aliases
		b.WriteString("{")
		for i := 0; b.Len() < maxBytes-40; i++ {
			fmt.Fprintf(&b, " x%d_%d: __typename", r.IntN(1000), i)
		}
		b.WriteString(" }")
	case 3: // nesting
		n := 1 + r.IntN(3000)
		b.WriteString("{ __schema { types {" + strings.Repeat(" ofType {", n) + " name" + strings.Repeat(" }", n) + " } } }")
	case 4: // directives on one field
		b.WriteString("{ __typename")
		for b.Len() < maxBytes-40 {
			b.WriteString(" @include(if: true)")
		}
		b.WriteString(" }")
	case 5: // variable definitions
		b.WriteString("query(")
		for i := 0; b.Len() < maxBytes-40; i++ {
			fmt.Fprintf(&b, "$v%d: Int ", i)
		}
		b.WriteString(") { __typename }")
	default: // a mix: fragments spread many times, each with aliases
		b.WriteString("{ products { edges { node {")
		for i := 0; i < 1+r.IntN(5000) && b.Len() < maxBytes/2; i++ {
			b.WriteString(" ...P")
		}
		b.WriteString(" } } } } fragment P on Product {")
		for i := 0; i < 1+r.IntN(50); i++ {
			fmt.Fprintf(&b, " a%d: id", i)
		}
		b.WriteString(" }")
	}
	return b.String(), kind
}

// TestHostileDocumentsCostABoundedBudget drives random hostile documents up
// to the body limit through the real handler chain and checks the budget
// each refusal may spend: it never reaches gqlgen's validation or query
// cache, and it allocates at most a fixed amount. It does not run in
// parallel, so the process's allocation counter is its own.
func TestHostileDocumentsCostABoundedBudget(t *testing.T) {
	store, _ := storagetest.NewStore(t, storagetest.Options())
	gql, stats := graph.NewHandlerWithCacheStats(graph.HandlerConfig{Store: store, Introspection: true})
	h := httpapi.API(httpapi.APIConfig{}, gql)
	const budget = 64 << 20 // bytes allocated per refused document, whatever its shape
	r := rand.New(rand.NewPCG(9, 9))
	accepted := 0
	kinds := map[int]bool{}
	for i := 0; i < 24; i++ { // every shape comes up several times (the seed is fixed)
		doc, kind := hostileDocument(r, 1<<20-100)
		body := gqlBody(doc, nil)
		if len(body) > 1<<20 {
			continue
		}
		kinds[kind] = true
		_, _, lookups := stats()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		runtime.ReadMemStats(&after)
		if rec.Code == http.StatusOK {
			accepted++
			continue // within the limits: answered (small chains, shallow nesting)
		}
		require.Equal(t, http.StatusUnprocessableEntity, rec.Code, "document %d (%d bytes): %s", i, len(doc), rec.Body.String())
		assert.Regexp(t, `"code":"(COMPLEXITY_LIMIT|ALIAS_LIMIT|DEPTH_LIMIT|GRAPHQL_PARSE_FAILED)"`, rec.Body.String())
		_, _, lookupsAfter := stats()
		assert.Equal(t, lookups, lookupsAfter, "document %d was refused before validation", i)
		assert.LessOrEqual(t, after.TotalAlloc-before.TotalAlloc, uint64(budget),
			"document %d (%d bytes) allocated %d bytes to be refused", i, len(doc), after.TotalAlloc-before.TotalAlloc)
	}
	entries, _, _ := stats()
	assert.LessOrEqual(t, entries, accepted, "nothing refused is cached")
	assert.Len(t, kinds, 7, "every hostile shape was tried")
}

// FuzzDocumentLimits: whatever the document, the handler answers without a
// panic or a 5xx, and a refusal carries a code.
func FuzzDocumentLimits(f *testing.F) {
	for _, seed := range []string{
		fragmentChain(3), fragmentChain(30), "{" + strings.Repeat(" __typename", 50) + " }",
		"fragment A on Query { ...B } fragment B on Query { ...A } { ...A }",
		"{ ...Missing }", "{ a: __typename @skip(if: $x) }", "query($a: Int = 1) { __typename }", "{",
		depthFragments(40), introspectionQuery,
	} {
		f.Add(seed)
	}
	h := newAPI(graph.HandlerConfig{Introspection: true}, httpapi.APIConfig{})
	f.Fuzz(func(t *testing.T, doc string) {
		if strings.Contains(doc, "product") || strings.Contains(doc, "cart") || strings.Contains(doc, "order") || strings.Contains(doc, "utation") {
			t.Skip("no store behind this handler: only documents that read nothing")
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(gqlBody(doc, nil))))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		require.Less(t, rec.Code, 500, rec.Body.String())
		if rec.Code != http.StatusOK {
			require.Contains(t, rec.Body.String(), `"code":`)
		}
	})
}

// BenchmarkRefusal measures what refusing costs, against answering a small
// query in the same run (make bench-refusal).
func BenchmarkRefusal(b *testing.B) {
	h := newAPI(graph.HandlerConfig{Introspection: true}, httpapi.APIConfig{})
	distinct := func() string {
		var s strings.Builder
		s.WriteString("{")
		for i := 0; s.Len() < 940<<10; i++ {
			fmt.Fprintf(&s, " a%d: __typename", i)
		}
		return s.String() + " }"
	}
	for _, c := range []struct{ name, doc string }{
		{"baseline: { __typename }", "{ __typename }"},
		{"fragment chain 25 levels", fragmentChain(25)},
		{"fragment chain 60 levels", fragmentChain(60)},
		{"40000 repeats", "{" + strings.Repeat(" __typename", 40_000) + " }"},
		{"940 KB distinct aliases", distinct()},
		{"nesting 3000", "{ __schema { types {" + strings.Repeat(" ofType {", 3000) + " name" + strings.Repeat(" }", 3000) + " } } }"},
	} {
		body := string(gqlBody(c.doc, nil))
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(rec, req)
				if rec.Code >= 500 {
					b.Fatal(rec.Body.String())
				}
			}
		})
	}
}
