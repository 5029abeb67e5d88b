package storage

import (
	"math"
	"math/big"
	"math/bits"
	"regexp"
	"strconv"
)

// MaxPriceCents caps a unit price (10,000,000.00) so that prices stay far
// from int64 limits; totals are summed with math/big all the same.
const MaxPriceCents = 1_000_000_000

var (
	priceRe    = regexp.MustCompile(`^(0|[1-9][0-9]{0,7})(\.[0-9]{1,2})?$`)
	currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)
)

// ParsePrice parses a decimal amount such as "19.90" or "5" into cents. It
// accepts at most two decimals, no sign, no exponent and no spaces.
func ParsePrice(s string) (cents int64, ok bool) {
	m := priceRe.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	whole, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, false
	}
	var frac int64
	if f := m[2]; f != "" {
		f = f[1:]
		if len(f) == 1 {
			f += "0"
		}
		frac, _ = strconv.ParseInt(f, 10, 64)
	}
	cents = whole*100 + frac
	return cents, cents <= MaxPriceCents
}

// ValidCurrency reports whether s is a three-letter upper-case ISO 4217 code.
func ValidCurrency(s string) bool { return currencyRe.MatchString(s) }

// FormatCents renders cents as a decimal string with two decimals.
func FormatCents(cents *big.Int) string {
	if cents.IsInt64() && cents.Int64() != math.MinInt64 {
		return formatCents64(cents.Int64())
	}
	return formatCentsBig(cents)
}

// formatCents64 is FormatCents of an int64 (other than math.MinInt64),
// written into one string without math/big's divisions and allocations
// (a 100-line cart formats 200 amounts); TestFormatCents compares them.
func formatCents64(c int64) string {
	var buf [24]byte
	out := buf[:0]
	if c < 0 {
		out = append(out, '-')
		c = -c
	}
	out = strconv.AppendInt(out, c/100, 10)
	r := c % 100
	out = append(out, '.', '0'+byte(r/10), '0'+byte(r%10))
	return string(out)
}

func formatCentsBig(cents *big.Int) string {
	neg := cents.Sign() < 0
	abs := new(big.Int).Abs(cents)
	q, r := new(big.Int).QuoRem(abs, big.NewInt(100), new(big.Int))
	s := q.String() + "." + leftPad2(r.Int64())
	if neg {
		s = "-" + s
	}
	return s
}

// LineTotal multiplies a unit price by a quantity without overflow.
func LineTotal(priceCents int64, quantity int) *big.Int {
	if priceCents >= 0 && quantity >= 0 {
		// Prices up to MaxPriceCents times quantities up to MaxQuantity
		// always fit: one multiplication, no math/big arithmetic.
		if hi, lo := bits.Mul64(uint64(priceCents), uint64(quantity)); hi == 0 && lo <= math.MaxInt64 {
			return big.NewInt(int64(lo))
		}
	}
	return new(big.Int).Mul(big.NewInt(priceCents), big.NewInt(int64(quantity)))
}

func leftPad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// Money is an amount in a currency as the API shows it: a decimal string
// with two decimals ("19.90") and an ISO 4217 code.
type Money struct {
	Amount       string
	CurrencyCode string
}

// MoneyOf formats cents in currency.
func MoneyOf(cents *big.Int, currency string) *Money {
	return &Money{Amount: FormatCents(cents), CurrencyCode: currency}
}

// moneyOfLine is MoneyOf(LineTotal(priceCents, quantity), currency)
// without the big.Int when the product fits an int64, as it always does
// for prices up to MaxPriceCents and quantities up to MaxQuantity (a
// catalog page formats 240 prices).
func moneyOfLine(priceCents int64, quantity int, currency string) *Money {
	if priceCents >= 0 && quantity >= 0 {
		if hi, lo := bits.Mul64(uint64(priceCents), uint64(quantity)); hi == 0 && lo <= math.MaxInt64 {
			return &Money{Amount: formatCents64(int64(lo)), CurrencyCode: currency}
		}
	}
	return MoneyOf(LineTotal(priceCents, quantity), currency)
}

// Price is the product's unit price.
func (p *Product) Price() *Money { return moneyOfLine(p.PriceCents, 1, p.Currency) }

// LineTotal is the line's quantity at the product's current price.
func (l *CartLine) LineTotal() *Money { return moneyOfLine(l.PriceCents, l.Quantity, l.Currency) }

// UnitPrice is the line's price at checkout.
func (l *OrderLine) UnitPrice() *Money { return moneyOfLine(l.UnitPriceCents, 1, l.Currency) }

// LineTotal is the line's quantity at its checkout price.
func (l *OrderLine) LineTotal() *Money { return moneyOfLine(l.UnitPriceCents, l.Quantity, l.Currency) }
