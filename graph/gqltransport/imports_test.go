package gqltransport_test

import (
	"go/build"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Imports point one way: graph builds its handler from these transports,
// and they know nothing of graph (what they need of it is handed in:
// WebsocketConfig). Of ours they import only the shared leaf, reqstate.
func TestImportsOnlyTheLeaf(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	require.NoError(t, err)
	for _, imp := range pkg.Imports {
		if imp == "holdfast" || strings.HasPrefix(imp, "holdfast/") {
			assert.Equal(t, "holdfast/reqstate", imp, "gqltransport imports %s", imp)
		}
	}
}
