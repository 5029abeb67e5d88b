package storage

import (
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
