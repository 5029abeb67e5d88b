package model_test

import (
	"encoding/json"
	"math"
	"testing"

	"holdfast/graph/model"
)

// FuzzUnmarshalInt32: GraphQL Int is 32-bit; nothing outside it is accepted
// and nothing inside it is changed.
func FuzzUnmarshalInt32(f *testing.F) {
	for _, v := range []int64{0, 1, -1, math.MaxInt32, math.MaxInt32 + 1, math.MinInt32, math.MinInt32 - 1, math.MaxInt64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v int64) {
		got, err := model.UnmarshalInt32(json.Number(jsonInt(v)))
		inRange := v >= math.MinInt32 && v <= math.MaxInt32
		if inRange && (err != nil || int64(got) != v) {
			t.Fatalf("%d: got %d, %v", v, got, err)
		}
		if !inRange && err == nil {
			t.Fatalf("%d accepted as %d", v, got)
		}
	})
}

func jsonInt(v int64) string { b, _ := json.Marshal(v); return string(b) }
