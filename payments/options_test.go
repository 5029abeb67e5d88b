package payments_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"holdfast/payments"
)

// TestServiceNeedsTTL: the payment TTL's default is package config's
// (PAYMENT_TTL), which the server passes; a Service without one is a
// programming error, not a second copy of the default.
func TestServiceNeedsTTL(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { payments.NewService(nil, payments.Manual{}, payments.Options{}) })
}
