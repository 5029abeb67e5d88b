package model

import (
	"time"

	"github.com/99designs/gqlgen/graphql"
)

// MinTime and MaxTime bound the Times the API reads: years 1 to 9999 in
// UTC, which RFC 3339 can write and PostgreSQL and lib/pq hold.
var (
	MinTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// MarshalTime writes a Time as RFC 3339 with nanoseconds (null for the
// zero time), as gqlgen's own Time scalar does.
func MarshalTime(t time.Time) graphql.Marshaler { return graphql.MarshalTime(t) }

// UnmarshalTime reads a Time: an RFC 3339 string (or, as gqlgen's own Time
// scalar accepted, "2006-01-02 15:04:05" in UTC; "" is the zero time)
// between MinTime and MaxTime. Anything else (a date alone, a Unix number,
// year 10000) is the client's input error, never an internal one.
func UnmarshalTime(v any) (time.Time, error) {
	const format = `a Time is an RFC 3339 date and time with an offset, e.g. "2026-01-02T15:04:05Z"`
	if v == nil {
		return time.Time{}, nil
	}
	s, ok := v.(string)
	if !ok {
		return time.Time{}, inputErrorf("%s, not a %s", format, jsonKind(v))
	}
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		if t, err = time.Parse(time.DateTime, s); err != nil {
			return time.Time{}, inputErrorf("%s", format)
		}
	}
	if t.Before(MinTime) || t.After(MaxTime) {
		return time.Time{}, inputErrorf("a Time must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z")
	}
	return t, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	case string:
		return "string"
	}
	return "number"
}
