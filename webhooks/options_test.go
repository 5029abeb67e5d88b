package webhooks_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"holdfast/webhooks"
)

// TestDispatcherNeedsConcurrency: WEBHOOK_CONCURRENCY's default is package
// config's, which the server passes; options without it are incomplete
// like options without the other WEBHOOK_* settings.
func TestDispatcherNeedsConcurrency(t *testing.T) {
	t.Parallel()
	opts := options()
	opts.Concurrency = 0
	assert.Panics(t, func() { webhooks.New(nil, opts) })
	assert.NotPanics(t, func() { webhooks.New(nil, options()) })
}
