package storage_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// Every constraint name the error mapping relies on is one the migrations
// give explicitly, so a refusal can never turn into an internal error
// because PostgreSQL generated a different name.
func TestMappedConstraintsExist(t *testing.T) {
	t.Parallel()
	s, _ := storagetest.NewStore(t, storagetest.Options())
	for _, name := range storage.Constraints {
		var n int
		require.NoError(t, s.DB().Get(&n, `SELECT count(*) FROM pg_constraint WHERE conname = $1`, name))
		assert.Equal(t, 1, n, "constraint %s", name)
	}
}
