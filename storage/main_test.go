package storage_test

import (
	"testing"

	"go.uber.org/goleak"
)

// The store starts goroutines (coalescers, the listener, the reaper): every
// test must leave none behind, and close every pool it opens.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
