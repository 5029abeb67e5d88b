package gqltransport

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// writeJSON's shortcut for answers that are data alone writes exactly what
// json.Marshal writes, HTML escaping included.
func TestWriteJSON(t *testing.T) {
	yes := true
	for _, resp := range []*graphql.Response{
		{Data: json.RawMessage(`{"cart":{"id":"c1","lines":[{"quantity":2}]}}`)},
		{Data: json.RawMessage(`null`)},
		{},
		{Data: json.RawMessage(`{"name":"<b>Tom & Jerry</b>"}`)},
		{Data: json.RawMessage("{\"name\":\"a\u2028b\u2029c \u20ac\"}")},
		{Data: json.RawMessage(`{"a":1}`), Errors: gqlerror.List{{Message: "no"}}},
		{Data: json.RawMessage(`{"a":1}`), Extensions: map[string]any{"cost": 3}},
		{Data: json.RawMessage(`{"a":1}`), HasNext: &yes},
	} {
		want, err := json.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		writeJSON(&got, resp)
		if got.String() != string(want) {
			t.Errorf("writeJSON = %s, json.Marshal = %s", got.String(), want)
		}
	}
	if !dataOnly(&graphql.Response{Data: json.RawMessage(`{"a":"x"}`)}) {
		t.Error("a plain answer takes the shortcut")
	}
}
