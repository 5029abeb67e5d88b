package model_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph/model"
)

// A Time argument is RFC 3339 between years 1 and 9999 (UTC); anything else
// is the client's input error (an InputError), never an internal one.
func TestUnmarshalTime(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Time{
		"2026-01-02T15:04:05Z":                time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"2026-01-02T15:04:05.123456789+02:00": time.Date(2026, 1, 2, 13, 4, 5, 123456789, time.UTC),
		"2026-01-02 15:04:05":                 time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC),
		"0001-01-01T00:00:00Z":                model.MinTime,
		"9999-12-31T23:59:59.999999999Z":      model.MaxTime,
		"":                                    {},
	} {
		got, err := model.UnmarshalTime(in)
		require.NoError(t, err, in)
		assert.True(t, want.Equal(got), "%s: %s", in, got)
	}
	for _, in := range []any{
		"yesterday", "2026-01-01", "10000-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00",
		"2026-13-01T00:00:00Z", "2026-01-01T00:00:00", json.Number("1700000000"), int64(1700000000), 1.5, true,
		map[string]any{}, []any{"2026-01-01T00:00:00Z"},
	} {
		_, err := model.UnmarshalTime(in)
		var ie *model.InputError
		assert.ErrorAs(t, err, &ie, "%v", in)
	}
}
