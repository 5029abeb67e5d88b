// Package model holds gqlgen's generated models and hand-written scalars.
package model

import (
	"fmt"
	"math"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalInt32 writes a GraphQL Int.
func MarshalInt32(i int) graphql.Marshaler { return graphql.MarshalInt(i) }

// UnmarshalInt32 reads a GraphQL Int, which the spec defines as a signed
// 32-bit integer: 2147483648 is an input error, never a wrap-around or a
// silently accepted 64-bit value.
func UnmarshalInt32(v any) (int, error) {
	i, err := graphql.UnmarshalInt64(v)
	if err != nil {
		return 0, fmt.Errorf("Int must be a whole number: %w", err)
	}
	if i < math.MinInt32 || i > math.MaxInt32 {
		return 0, fmt.Errorf("Int cannot represent %d: GraphQL Int is a signed 32-bit integer", i)
	}
	return int(i), nil
}
