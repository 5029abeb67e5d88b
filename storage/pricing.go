package storage

import (
	"math/big"
	"sort"
)

// Pricing rules (docs/discounts.md), in integer minor units throughout:
//
//   - PERCENTAGE: each eligible line's discount is lineTotal × percent,
//     rounded half-even to the minor unit; the cart's discount is the sum
//     of the lines' (so every order line carries exactly its own share).
//   - FIXED_AMOUNT: the amount, capped at the eligible subtotal, is spread
//     over the eligible lines in proportion to their totals, each share
//     rounded down; the minor units left over go one each to the largest
//     eligible lines (ties: the lower product id first).
//
// A line's discount never exceeds its total, so the discount never exceeds
// the eligible subtotal and a total never goes below 0.

// CartDiscountState is what pricing needs to know of a cart's code, as the
// database saw it (Live is decided by its clock).
type CartDiscountState struct {
	CartID string `db:"cart_id"`
	DiscountCode
	// Live: active, started and not ended, now.
	Live bool `db:"live"`
	// AllProducts: the code has no scope rows.
	AllProducts bool `db:"all_products"`
	// Eligible lists the products of the cart's lines in the code's scope.
	Eligible []int64 `db:"-"`
}

// CartPricing is a cart's totals with its discount applied.
type CartPricing struct {
	Currency string
	Subtotal *big.Int
	// Discount is the sum of LineDiscounts (0 when the code does not apply).
	Discount *big.Int
	// LineDiscounts is each line's share, by product id (absent: 0).
	LineDiscounts map[int64]int64
	// Code is the cart's code (nil: none); Applicable and Reason say
	// whether it gives its discount now, and if not why.
	Code       *DiscountCode
	Applicable bool
	Reason     Code
}

// Total is Subtotal − Discount, never below 0.
func (p *CartPricing) Total() *big.Int {
	t := new(big.Int).Sub(p.Subtotal, p.Discount)
	if t.Sign() < 0 {
		t.SetInt64(0)
	}
	return t
}

// LineDiscount is the discount of the line of productID.
func (p *CartPricing) LineDiscount(productID int64) int64 { return p.LineDiscounts[productID] }

// PriceLine is what pricing needs of a line.
type PriceLine struct {
	ProductID  int64
	Quantity   int
	PriceCents int64
	Currency   string
}

// PriceLinesOf adapts cart lines.
func PriceLinesOf(lines []*CartLine) []PriceLine {
	out := make([]PriceLine, len(lines))
	for i, l := range lines {
		out[i] = PriceLine{ProductID: l.ProductID, Quantity: l.Quantity, PriceCents: l.PriceCents, Currency: l.Currency}
	}
	return out
}

// PriceCart computes a cart's subtotal and discount from its lines and its
// code (d nil: none).
func PriceCart(lines []PriceLine, d *CartDiscountState) *CartPricing {
	p := &CartPricing{Subtotal: new(big.Int), Discount: new(big.Int), LineDiscounts: map[int64]int64{}}
	for _, l := range lines {
		p.Subtotal.Add(p.Subtotal, LineTotal(l.PriceCents, l.Quantity))
		if p.Currency == "" {
			p.Currency = l.Currency
		}
	}
	if d == nil {
		return p
	}
	code := d.DiscountCode
	p.Code = &code
	eligible := make(map[int64]bool, len(d.Eligible))
	for _, id := range d.Eligible {
		eligible[id] = true
	}
	var in []PriceLine
	for _, l := range lines {
		if d.AllProducts || eligible[l.ProductID] {
			in = append(in, l)
		}
	}
	switch {
	case !d.Live:
		p.Reason = CodeDiscountNotActive
	case code.Currency != nil && p.Currency != "" && *code.Currency != p.Currency:
		p.Reason = CodeCurrencyMismatch
	case code.MinimumSubtotalCents != nil && p.Subtotal.Cmp(big.NewInt(*code.MinimumSubtotalCents)) < 0:
		p.Reason = CodeMinimumSubtotalNotMet
	case len(in) == 0:
		p.Reason = CodeDiscountNotApplicable
	default:
		p.Applicable = true
	}
	if !p.Applicable {
		return p
	}
	var shares map[int64]int64
	if code.Kind == DiscountPercentage {
		shares = percentShares(in, int64(*code.PercentBP))
	} else {
		shares = fixedShares(in, *code.AmountCents)
	}
	for id, c := range shares {
		if c > 0 {
			p.LineDiscounts[id] = c
			p.Discount.Add(p.Discount, big.NewInt(c))
		}
	}
	return p
}

// percentShares: each line's total × bp / 10000, rounded half-even.
func percentShares(lines []PriceLine, bp int64) map[int64]int64 {
	out := make(map[int64]int64, len(lines))
	den := big.NewInt(10000)
	for _, l := range lines {
		num := new(big.Int).Mul(LineTotal(l.PriceCents, l.Quantity), big.NewInt(bp))
		out[l.ProductID] = roundHalfEven(num, den)
	}
	return out
}

// roundHalfEven divides num by den (both ≥ 0), rounding half to even.
func roundHalfEven(num, den *big.Int) int64 {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	switch new(big.Int).Lsh(r, 1).Cmp(den) {
	case 1:
		q.Add(q, big.NewInt(1))
	case 0:
		if q.Bit(0) == 1 {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}

// fixedShares spreads amount (capped at the lines' sum) over the lines in
// proportion, rounding down, then gives the units left over one each to
// the largest lines (the lower product id first among equals).
func fixedShares(lines []PriceLine, amount int64) map[int64]int64 {
	out := make(map[int64]int64, len(lines))
	totals := make([]*big.Int, len(lines))
	sum := new(big.Int)
	for i, l := range lines {
		totals[i] = LineTotal(l.PriceCents, l.Quantity)
		sum.Add(sum, totals[i])
	}
	if sum.Sign() == 0 {
		return out
	}
	d := big.NewInt(amount)
	if d.Cmp(sum) > 0 {
		d.Set(sum)
	}
	given := new(big.Int)
	for i, l := range lines {
		s := new(big.Int).Mul(d, totals[i])
		s.Quo(s, sum)
		out[l.ProductID] = s.Int64()
		given.Add(given, s)
	}
	left := new(big.Int).Sub(d, given).Int64() // < len(lines)
	order := make([]int, len(lines))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool {
		ta, tb := totals[order[a]], totals[order[b]]
		if c := ta.Cmp(tb); c != 0 {
			return c > 0
		}
		return lines[order[a]].ProductID < lines[order[b]].ProductID
	})
	for k := 0; int64(k) < left; k++ {
		out[lines[order[k]].ProductID]++
	}
	return out
}

// Discount is the line's share of its order's discount.
func (l *OrderLine) Discount() *Money { return MoneyOf(big.NewInt(l.DiscountCents), l.Currency) }
