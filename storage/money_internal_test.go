package storage

import (
	"math"
	"math/big"
	"testing"
)

// FormatCents' int64 path writes what the math/big path writes.
func TestFormatCents(t *testing.T) {
	vals := []int64{0, 1, 5, 9, 10, 11, 99, 100, 101, 105, 1990, 123456789, MaxPriceCents, math.MaxInt64, math.MinInt64 + 1}
	for _, v := range append([]int64{}, vals...) {
		vals = append(vals, -v)
	}
	for _, v := range vals {
		b := big.NewInt(v)
		if got, want := FormatCents(b), formatCentsBig(b); got != want {
			t.Errorf("FormatCents(%d) = %q, math/big says %q", v, got, want)
		}
	}
	min := big.NewInt(math.MinInt64)
	if got, want := FormatCents(min), "-92233720368547758.08"; got != want {
		t.Errorf("FormatCents(MinInt64) = %q, want %q", got, want)
	}
	if got, want := FormatCents(big.NewInt(-5)), "-0.05"; got != want {
		t.Errorf("FormatCents(-5) = %q, want %q", got, want)
	}
}

// LineTotal's int64 path multiplies as math/big does, and leaves what
// does not fit to math/big.
func TestLineTotal(t *testing.T) {
	for _, c := range []struct {
		price int64
		qty   int
	}{{0, 0}, {1990, 3}, {MaxPriceCents, MaxQuantity}, {math.MaxInt64, 2}, {math.MaxInt64 / 2, 2}, {-5, 3}, {5, -3}} {
		want := new(big.Int).Mul(big.NewInt(c.price), big.NewInt(int64(c.qty)))
		if got := LineTotal(c.price, c.qty); got.Cmp(want) != 0 {
			t.Errorf("LineTotal(%d, %d) = %s, want %s", c.price, c.qty, got, want)
		}
	}
}

// moneyOfLine's int64 path formats what MoneyOf of math/big's product does.
func TestMoneyOfLine(t *testing.T) {
	for _, c := range []struct {
		price int64
		qty   int
	}{{0, 0}, {5, 1}, {1990, 3}, {MaxPriceCents, MaxQuantity}, {math.MaxInt64, 1}, {math.MaxInt64, 2}, {-5, 3}, {5, -3}, {math.MinInt64, 1}} {
		want := MoneyOf(new(big.Int).Mul(big.NewInt(c.price), big.NewInt(int64(c.qty))), "EUR")
		if got := moneyOfLine(c.price, c.qty, "EUR"); *got != *want {
			t.Errorf("moneyOfLine(%d, %d) = %+v, want %+v", c.price, c.qty, got, want)
		}
	}
}
