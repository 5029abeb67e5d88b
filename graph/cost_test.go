package graph

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/config"
)

// The audit query of the issue, with every AuditRow field.
const fullAuditQuery = `{ inventoryAudit { product { id sku } stock ledgerStock held cartHeld pendingHeld ok } }`

func testSchema(t *testing.T) *ast.Schema {
	t.Helper()
	return NewExecutableSchema(Config{Resolvers: &Resolver{}}).Schema()
}

// costs validates src against the schema and prices each of its
// operations with vars.
func costs(t *testing.T, schema *ast.Schema, src string, vars map[string]any) map[string]int64 {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(schema, src, nil)
	require.Empty(t, errs, "the document is valid: %s", src)
	out := map[string]int64{}
	for _, op := range doc.Operations {
		name := op.Name
		if name == "" {
			name = src
		}
		out[name] = operationCost(schema, doc, op, vars)
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// Every document the project's clients send fits the default limit, and
// so does the audit with every field (issue 20, finding 4).
func TestClientDocumentsFitTheComplexityLimit(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	limit := int64(config.Defaults().MaxComplexity)
	docs := map[string]map[string]int64{}

	// The storefront's operations and fragments, one document.
	var sf strings.Builder
	for _, m := range regexp.MustCompile("(?s)graphql\\(`(.*?)`\\)").FindAllStringSubmatch(readFile(t, "../examples/storefront/src/operations.ts"), -1) {
		sf.WriteString(m[1])
	}
	docs["storefront"] = costs(t, schema, sf.String(), nil)
	require.Len(t, docs["storefront"], 27, "every storefront operation was found")
	// The storefront pages 8 products at a time; it fits at 100 too.
	for _, op := range []string{"Catalog", "CollectionCatalog"} {
		assert.LessOrEqual(t, costs(t, schema, sf.String(), map[string]any{"first": 100})[op], limit, op)
		assert.LessOrEqual(t, costs(t, schema, sf.String(), map[string]any{"last": 100})[op], limit, op)
	}

	// GraphiQL's default query.
	js := readFile(t, "../httpapi/graphiql/assets/holdfast-graphiql.js")
	block := regexp.MustCompile(`(?s)var defaultQuery = \[(.*?)\]\.join`).FindStringSubmatch(js)
	require.NotNil(t, block)
	var gq strings.Builder
	for _, line := range regexp.MustCompile(`(?m)^\s*'(.*)',?\s*$`).FindAllStringSubmatch(block[1], -1) {
		gq.WriteString(line[1] + "\n")
	}
	docs["graphiql"] = costs(t, schema, gq.String(), nil)
	require.Len(t, docs["graphiql"], 1)

	// The README's example session: its "query" strings and the shell
	// variables holding documents.
	readme := readFile(t, "../README.md")
	docs["readme"] = map[string]int64{}
	var found int
	for _, m := range regexp.MustCompile(`"query": "([^"']+)"`).FindAllStringSubmatch(readme, -1) {
		for k, v := range costs(t, schema, m[1], nil) {
			docs["readme"][k] = v
		}
		found++
	}
	for _, m := range regexp.MustCompile(`(?m)^[A-Z]+='((?:query|mutation)[^']+)'$`).FindAllStringSubmatch(readme, -1) {
		for k, v := range costs(t, schema, m[1], nil) {
			docs["readme"][k] = v
		}
		found++
	}
	require.GreaterOrEqual(t, found, 8, "the README's session was found")

	// The Go client's operations.
	docs["client"] = costs(t, schema, readFile(t, "../client/operations.graphql"), nil)
	require.NotEmpty(t, docs["client"])

	docs["audit"] = costs(t, schema, fullAuditQuery, nil)

	for source, ops := range docs {
		for op, cost := range ops {
			t.Logf("%s %q: %d", source, op, cost)
			assert.LessOrEqual(t, cost, limit, "%s: %s", source, op)
		}
	}
}

// How documents are priced: objects and connections cost, scalars and
// enums do not, lists by their size; mutations as gqlgen priced them.
func TestOperationCost(t *testing.T) {
	t.Parallel()
	schema := testSchema(t)
	cases := []struct {
		name string
		doc  string
		vars map[string]any
		want int64
	}{
		{"scalars are free", `{ __typename product(id: "1") { id sku name available } }`, nil, 1},
		{"an object costs 1", `{ product(id: "1") { id group { id } } }`, nil, 2},
		{"a value object costs what its scalars cost", `{ product(id: "1") { id price { amount } selectedOptions { name } } }`, nil, 1},
		{"a connection: 1 + its edges (edge and node) + pageInfo", `{ products(first: 10) { totalCount edges { cursor node { id } } pageInfo { hasNextPage } } }`, nil, 1 + 10*2 + 1},
		{"the default page", `{ products { edges { node { id } } } }`, nil, 1 + 20*2},
		{"first from a variable", `query($n: Int) { products(first: $n) { edges { node { id } } } }`, map[string]any{"n": 7}, 1 + 7*2},
		{"a variable's default", `query($n: Int = 3) { products(first: $n) { edges { node { id } } } }`, nil, 1 + 3*2},
		{"a page past its range is priced at its end (the field refuses it)", `{ products(first: 100000) { edges { node { id } } } }`, nil, 1 + 100*2},
		{"last", `{ products(last: 30) { edges { node { id } } } }`, nil, 1 + 30*2},
		{"a list: its size × (1 + an element)", `{ cart(id: "x") { lines { quantity product { id } } } }`, nil, 1 + 50*(1+1)},
		{"a product's images", `{ product(id: "1") { images { url } } }`, nil, 1 + 5},
		{"a product's levels", `{ product(id: "1") { inventoryLevels { stock location { id } } } }`, nil, 1 + 5*(1+1)},
		{"an order's allocations", `{ order(id: "x") { lines { allocations { quantity location { id } } } } }`, nil, 1 + 50*(1+2*(1+1))},
		{"the locations", `{ locations { id name } }`, nil, 20},
		{"the audit's default page", fullAuditQuery, nil, 100 * 2},
		{"the audit's largest page of scalars", `{ inventoryAudit(first: 1000) { stock ok } }`, nil, 1000},
		{"the audit with products, 500 rows", `{ inventoryAudit(first: 500) { product { id } ok } }`, nil, 1000},
		{"a fragment spread twice", `{ a: product(id: "1") { ...P } b: product(id: "2") { ...P } } fragment P on Product { group { id } }`, nil, 4},
		{"a connection's fragment priced at its page", `{ products(first: 5) { ...L } collections(first: 2) { edges { node { products(first: 3) { ...L } } } } }
			fragment L on ProductConnection { edges { node { id } } }`, nil, (1 + 5*2) + (1 + 2*(1+1+(1+3*2)))},
		{"nested connections multiply", `{ collections(first: 10) { edges { node { products(first: 10) { edges { node { id } } } } } } }`, nil, 1 + 10*(1+1+(1+10*2))},
		// Mutations keep gqlgen's default price: every field 1 + its children.
		{"a mutation", `mutation { createCart { cart { id lines { quantity } } userErrors { code } } }`, nil, 1 + (1 + 1 + (1 + 50*1)) + (1 + 1)},
		{"a subscription", `subscription { stockChanged(productIds: ["1", "2"]) { productId available } }`, nil, 1 + 2*2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range costs(t, schema, tc.doc, tc.vars) {
				assert.Equal(t, tc.want, c)
			}
		})
	}
}
