package graph_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"holdfast/graph"
)

// The schema is the API's documentation: the one the server serves (and
// introspection shows) describes every type, field and enum value.
func TestSchemaDescribesEveryTypeAndField(t *testing.T) {
	t.Parallel()
	schema := graph.NewExecutableSchema(graph.Config{Resolvers: &graph.Resolver{}}).Schema()
	var missing []string
	for name, def := range schema.Types {
		if def.BuiltIn {
			continue
		}
		if strings.TrimSpace(def.Description) == "" {
			missing = append(missing, name)
		}
		for _, f := range def.Fields {
			if !strings.HasPrefix(f.Name, "__") && strings.TrimSpace(f.Description) == "" {
				missing = append(missing, name+"."+f.Name)
			}
		}
		for _, v := range def.EnumValues {
			if strings.TrimSpace(v.Description) == "" {
				missing = append(missing, name+"."+v.Name)
			}
		}
	}
	for name, d := range schema.Directives {
		if d.Position != nil && d.Position.Src != nil && !d.Position.Src.BuiltIn && strings.TrimSpace(d.Description) == "" {
			missing = append(missing, "@"+name)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "undescribed in the schema")
}

// schema/*.graphqls is split by domain, each type defined once, in full, in
// its domain's file: only the root types (declared in schema.graphqls) are
// extended, by the domains that add queries, mutations or subscriptions.
// The descriptions are for the API's readers, not the project's history.
func TestSchemaFilesDefineEachTypeOnce(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../schema/*.graphqls")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	roots := map[string]bool{"Query": true, "Mutation": true, "Subscription": true}
	history := regexp.MustCompile(`(?i)\bissue\s*#?\d+`)
	definedIn := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		assert.Empty(t, history.FindAllString(string(b), -1), "%s names issues", f)
		doc, err := parser.ParseSchema(&ast.Source{Name: f, Input: string(b)})
		require.NoError(t, err, f)
		for _, def := range doc.Definitions {
			assert.Empty(t, definedIn[def.Name], "%s is defined in %s and again in %s", def.Name, definedIn[def.Name], f)
			definedIn[def.Name] = f
		}
		for _, ext := range doc.Extensions {
			assert.True(t, roots[ext.Name], "%s extends %s: define it once, in full", f, ext.Name)
		}
	}
	for name := range roots {
		assert.Equal(t, filepath.Join("..", "schema", "schema.graphqls"), definedIn[name], "where %s is declared", name)
	}
}
