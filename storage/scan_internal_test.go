package storage

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// Product.scanDest names productColumns' fields in their order: each
// pointer is the field whose db tag is the column at its position.
func TestProductScanDestFollowsColumns(t *testing.T) {
	var p Product
	cols := strings.Split(productColumns, ",")
	dest := p.scanDest()
	if len(dest) != len(cols) {
		t.Fatalf("scanDest has %d fields, productColumns %d", len(dest), len(cols))
	}
	v := reflect.ValueOf(&p).Elem()
	byAddr := map[uintptr]string{}
	for i := range v.NumField() {
		byAddr[v.Field(i).Addr().Pointer()] = v.Type().Field(i).Tag.Get("db")
	}
	for i, d := range dest {
		want := strings.TrimSpace(cols[i])
		if got := byAddr[reflect.ValueOf(d).Pointer()]; got != want {
			t.Errorf("scanDest[%d] is %q, column %q", i, got, want)
		}
	}
}

// parseFlatStrings reads what encoding/json reads, or declines.
func TestParseFlatStrings(t *testing.T) {
	for _, in := range []string{
		`{}`, ` { } `, `{"Size": "M", "Colour": "Red"}`, `{"a":"b","c":"d"}`, `{"": ""}`,
		`{"Größe": "XL", "色": "赤"}`, `{"a": "b", "a": "c"}`,
	} {
		got, ok := parseFlatStrings([]byte(in))
		if !ok {
			t.Errorf("%s: declined", in)
			continue
		}
		var want map[string]string
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, encoding/json %v", in, got, want)
		}
	}
	for _, in := range []string{
		``, `null`, `[]`, `{"a":1}`, `{"a":"b\"c"}`, `{"a":"\u00e9"}`, `{"a":"b",}`, `{"a":"b"} x`, `{"a" "b"}`, `{"a":"b"`, `{"a":"b` + "\n" + `"}`, `{,}`,
	} {
		if m, ok := parseFlatStrings([]byte(in)); ok {
			t.Errorf("%q: read as %v, should be left to encoding/json", in, m)
		}
	}
}
