package storage_test

import (
	"strconv"
	"strings"
	"testing"

	"holdfast/storage"
)

// FuzzParseProductID: whatever the input, parsing never panics, accepts only
// canonical positive decimals, and round-trips.
func FuzzParseProductID(f *testing.F) {
	for _, s := range []string{"1", "42", "0", "-1", "007", "9223372036854775807", "9223372036854775808", "", " 1", "1e3", "abc", "１"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := storage.ParseProductID(s)
		if !ok {
			return
		}
		if id <= 0 {
			t.Fatalf("accepted non-positive id %d from %q", id, s)
		}
		if storage.FormatProductID(id) != s {
			t.Fatalf("%q parsed to %d which formats differently", s, id)
		}
	})
}

// FuzzSecretID: only ids of the exact generated shape are accepted.
func FuzzSecretID(f *testing.F) {
	f.Add(storage.NewSecretID())
	f.Add("")
	f.Add(strings.Repeat("A", 24))
	f.Add(strings.Repeat("A", 23) + "=")
	f.Add("'; DROP TABLE carts; --  ")
	f.Fuzz(func(t *testing.T, s string) {
		if storage.ValidSecretID(s) && len(s) != len(storage.NewSecretID()) {
			t.Fatalf("accepted %q of the wrong length", s)
		}
	})
}

// FuzzParsePrice: accepted prices are within bounds and survive a round trip
// through FormatCents.
func FuzzParsePrice(f *testing.F) {
	for _, s := range []string{"0", "19.90", "19.9", "5", "10000000.00", "10000000.01", "-1", "1.999", "1e2", " 1", "01.00", "NaN"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cents, ok := storage.ParsePrice(s)
		if !ok {
			return
		}
		if cents < 0 || cents > storage.MaxPriceCents {
			t.Fatalf("%q gave out-of-range cents %d", s, cents)
		}
		back := storage.FormatCents(storage.LineTotal(cents, 1))
		whole, frac, _ := strings.Cut(back, ".")
		w, _ := strconv.ParseInt(whole, 10, 64)
		fr, _ := strconv.ParseInt(frac, 10, 64)
		if w*100+fr != cents {
			t.Fatalf("%q -> %d -> %q does not round-trip", s, cents, back)
		}
	})
}

func TestMoneyFormatting(t *testing.T) {
	cases := map[int64]string{0: "0.00", 5: "0.05", 1990: "19.90", 100000: "1000.00"}
	for cents, want := range cases {
		if got := storage.FormatCents(storage.LineTotal(cents, 1)); got != want {
			t.Errorf("FormatCents(%d) = %q, want %q", cents, got, want)
		}
	}
	// Totals never overflow: max price times max quantity.
	if got := storage.FormatCents(storage.LineTotal(storage.MaxPriceCents, 1<<31-1)); got != "21474836470000000.00" {
		t.Errorf("big total = %s", got)
	}
}
