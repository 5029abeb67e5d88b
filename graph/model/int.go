// Package model holds gqlgen's generated models and hand-written scalars.
package model

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
)

// InputError is a client's malformed scalar input: its message is safe and
// meant for the client.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// MarshalInt32 writes a GraphQL Int.
func MarshalInt32(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt32 reads a GraphQL Int, which the spec defines as a signed
// 32-bit integer: 2147483648 is an input error, never a wrap-around or a
// silently accepted 64-bit value.
func UnmarshalInt32(v any) (int, error) {
	var i int64
	switch n := v.(type) {
	case int:
		i = int64(n)
	case int32:
		i = int64(n)
	case int64:
		i = n
	case json.Number:
		var err error
		if i, err = strconv.ParseInt(string(n), 10, 64); err != nil {
			return 0, inputErrorf("Int cannot represent %s: GraphQL Int is a signed 32-bit integer", n)
		}
	default:
		// Strings ("3"), floats and anything else are not Ints.
		return 0, inputErrorf("Int cannot represent a %T value", v)
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		return 0, inputErrorf("Int cannot represent %d: GraphQL Int is a signed 32-bit integer", i)
	}
	return int(i), nil
}
