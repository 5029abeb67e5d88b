package model

import (
	"encoding/json"
	"io"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
)

// MarshalInt64ID writes an int64 key (a product id) as a GraphQL ID: a
// decimal string. Binding it directly saves a resolver (and a goroutine)
// per product rendered.
func MarshalInt64ID(id int64) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, `"`+strconv.FormatInt(id, 10)+`"`)
	})
}

// UnmarshalInt64ID reads a GraphQL ID holding a positive decimal int64.
func UnmarshalInt64ID(v any) (int64, error) {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = string(t)
	case int64:
		return t, nil
	case int:
		return int64(t), nil
	default:
		return 0, inputErrorf("an ID must be a string")
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, inputErrorf("%q is not an id of this kind", s)
	}
	return id, nil
}
