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

// parseProductOptions reads what encoding/json reads, or declines.
func TestParseProductOptions(t *testing.T) {
	for _, in := range []string{
		`[]`, ` [ ] `, `[{"name": "Size", "values": ["S", "M", "L"]}]`,
		`[{"name": "Colour", "values": ["Red", "Blue", "Green"]}, {"name": "Size", "values": ["S", "M", "L", "XL"]}]`,
		`[{"values":["a"],"name":"n"}]`, `[{"name": "", "values": []}]`, `[{"name": "Größe", "values": ["色"]}]`,
	} {
		got, ok := parseProductOptions([]byte(in))
		if !ok {
			t.Errorf("%s: declined", in)
			continue
		}
		var want ProductOptions
		if err := json.Unmarshal([]byte(in), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %#v, encoding/json %#v", in, got, want)
		}
		var scanned ProductOptions
		if err := scanned.Scan([]byte(in)); err != nil || !reflect.DeepEqual(scanned, want) {
			t.Errorf("%s: Scan gave %#v, %v", in, scanned, err)
		}
	}
	for _, in := range []string{
		``, `null`, `{}`, `[{}]`, `[{"name": "a"}]`, `[{"values": []}]`, `[{"name": "a", "values": [], "x": 1}]`,
		`[{"name": "a", "name": "b", "values": []}]`, `[{"Name": "a", "values": []}]`, `[{"name": null, "values": []}]`,
		`[{"name": "a", "values": null}]`, `[{"name": "a", "values": [1]}]`, `[{"name": "a\"", "values": []}]`,
		`[{"name": "a", "values": ["b",]}]`, `[{"name": "a", "values": []},]`, `[{"name": "a", "values": []}] x`, `[`,
	} {
		if o, ok := parseProductOptions([]byte(in)); ok {
			t.Errorf("%q: read as %#v, should be left to encoding/json", in, o)
		}
	}
	// What it declines, Scan still reads as encoding/json does.
	var o ProductOptions
	if err := o.Scan([]byte(`[{"name": "a\u00e9", "values": ["b"]}]`)); err != nil || o[0].Name != "aé" {
		t.Errorf("escaped name: %#v, %v", o, err)
	}
}
