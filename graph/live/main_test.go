package live

import (
	"testing"

	"go.uber.org/goleak"
)

// The hub's goroutines and the store's pools end with each test: none may
// outlive it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
