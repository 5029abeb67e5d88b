package migrations_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The tests open their own pools on fresh databases: each must be closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
