package graph

import (
	"bytes"
	"testing"

	"github.com/99designs/gqlgen/graphql"
)

// The compiled path's scalar writers write what gqlgen's marshalers write.
func TestScalarWriters(t *testing.T) {
	for _, s := range []string{"", "plain", `quote " and \ backslash`, "tab\tcr\rnl\n", "\x00\x01\x1f\x7f", "é 色 😀", "bad \xff\xfe utf8", "</script>&"} {
		var want, got bytes.Buffer
		graphql.MarshalString(s).MarshalGQL(&want)
		writeString(&got, s)
		if got.String() != want.String() {
			t.Errorf("writeString(%q) = %s, gqlgen %s", s, got.String(), want.String())
		}
		got.Reset()
		writeOptString(&got, &s)
		if got.String() != want.String() {
			t.Errorf("writeOptString(%q) = %s, gqlgen %s", s, got.String(), want.String())
		}
	}
	for _, n := range []int{0, 1, -1, 42, 2147483647, -2147483648, 1 << 40} {
		var want, got bytes.Buffer
		graphql.MarshalInt(n).MarshalGQL(&want)
		writeInt(&got, n)
		if got.String() != want.String() {
			t.Errorf("writeInt(%d) = %s, gqlgen %s", n, got.String(), want.String())
		}
	}
	var got bytes.Buffer
	writeOptString(&got, nil)
	writeOptInt(&got, nil)
	if got.String() != "nullnull" {
		t.Errorf("nil: %s", got.String())
	}
}
