package graphiql

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMounted serves on a real listener: its connections must not outlive it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
