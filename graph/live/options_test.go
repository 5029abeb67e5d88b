package live

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHubNeedsInterval: STOCK_PUSH_INTERVAL's default is package config's,
// which the server passes; a hub without an interval is a programming
// error, not a second copy of the default.
func TestHubNeedsInterval(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { New(nil, nil, 0) })
}
