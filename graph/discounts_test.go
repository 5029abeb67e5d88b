package graph_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/storage"
	"holdfast/storage/storagetest"
)

const discountCartFields = `id subtotal { amount } discountTotal { amount } total { amount currencyCode }
	discounts { code applicable reason amount { amount } } lines { quantity discountedTotal { amount } }`

type discountCart struct {
	Subtotal      struct{ Amount string } `json:"subtotal"`
	DiscountTotal struct{ Amount string } `json:"discountTotal"`
	Total         struct{ Amount string } `json:"total"`
	Discounts     []struct {
		Code       string                  `json:"code"`
		Applicable bool                    `json:"applicable"`
		Reason     *string                 `json:"reason"`
		Amount     struct{ Amount string } `json:"amount"`
	} `json:"discounts"`
	Lines []struct {
		Quantity        int                     `json:"quantity"`
		DiscountedTotal struct{ Amount string } `json:"discountedTotal"`
	} `json:"lines"`
}

type discountCartPayload struct {
	Cart       *discountCart `json:"cart"`
	UserErrors []userError   `json:"userErrors"`
}

func TestDiscountCodesGraphQL(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p, err := e.store.CreateProduct(t.Context(), storage.NewProduct{SKU: "DG1", Name: "Mug", PriceAmount: "12.34", Currency: "USD", Stock: 10})
	require.NoError(t, err)

	const create = `mutation($in: CreateDiscountCodeInput!) { createDiscountCode(input: $in) {
		discountCode { id code kind value currencyCode minimumSubtotal { amount } usageLimit usesHeld usesCount oncePerCustomer active
		               appliesTo { allProducts products { id } productGroups { id } collections { id } } }
		userErrors { code field } } }`
	in := map[string]any{"code": "Save5", "kind": "FIXED_AMOUNT", "value": "5", "currencyCode": "USD",
		"minimumSubtotalAmount": "20.00", "usageLimit": 1, "productIds": []string{pid(p)}}
	assert.Equal(t, "UNAUTHENTICATED", e.gql(t, "", create, map[string]any{"in": in}).code())
	var created struct {
		CreateDiscountCode struct {
			DiscountCode struct {
				ID, Code, Kind, Value string
				CurrencyCode          *string
				UsageLimit            *int
				AppliesTo             struct {
					AllProducts bool
					Products    []struct{ ID string }
				}
			}
			UserErrors []userError
		}
	}
	decode(t, e.gql(t, adminToken, create, map[string]any{"in": in}), &created)
	require.Empty(t, created.CreateDiscountCode.UserErrors)
	d := created.CreateDiscountCode.DiscountCode
	assert.Equal(t, "Save5", d.Code)
	assert.Equal(t, "5.00", d.Value)
	assert.Equal(t, "FIXED_AMOUNT", d.Kind)
	assert.False(t, d.AppliesTo.AllProducts)
	require.Len(t, d.AppliesTo.Products, 1)
	bad := map[string]any{"code": "X", "kind": "PERCENTAGE", "value": "150"}
	decode(t, e.gql(t, adminToken, create, map[string]any{"in": bad}), &created)
	require.Len(t, created.CreateDiscountCode.UserErrors, 1)
	assert.Equal(t, "INVALID_INPUT", created.CreateDiscountCode.UserErrors[0].Code)

	apply := `mutation($c: ID!, $code: String!) { cartApplyDiscountCode(cartId: $c, code: $code) { cart { ` + discountCartFields + ` } userErrors { code field } } }`
	applyTo := func(cartID, code string) discountCartPayload {
		var out struct {
			CartApplyDiscountCode discountCartPayload `json:"cartApplyDiscountCode"`
		}
		decode(t, e.gql(t, "", apply, map[string]any{"c": cartID, "code": code}), &out)
		return out.CartApplyDiscountCode
	}
	c1 := e.createCart(t)
	_, r := addToCart(t, e.srv.URL, c1, pid(p), 2) // 24.68
	require.Empty(t, r.Errors)
	assert.Equal(t, "DISCOUNT_CODE_NOT_FOUND", applyTo(c1, "nope").UserErrors[0].Code)
	got := applyTo(c1, "SAVE5")
	require.Empty(t, got.UserErrors)
	require.Len(t, got.Cart.Discounts, 1)
	assert.True(t, got.Cart.Discounts[0].Applicable)
	assert.Equal(t, "5.00", got.Cart.Discounts[0].Amount.Amount)
	assert.Equal(t, "5.00", got.Cart.DiscountTotal.Amount)
	assert.Equal(t, "19.68", got.Cart.Total.Amount)
	assert.Equal(t, "19.68", got.Cart.Lines[0].DiscountedTotal.Amount)

	c2 := e.createCart(t)
	_, r = addToCart(t, e.srv.URL, c2, pid(p), 2)
	require.Empty(t, r.Errors)
	ue := applyTo(c2, "save5").UserErrors
	require.Len(t, ue, 1)
	assert.Equal(t, "DISCOUNT_CODE_EXHAUSTED", ue[0].Code)

	// Below the minimum: the code stays, gives nothing and says why.
	const update = `mutation($c: ID!, $p: ID!, $q: Int!) { updateCartLine(input: {cartId: $c, productId: $p, quantity: $q}) { cart { ` + discountCartFields + ` } userErrors { code } } }`
	var upd struct {
		UpdateCartLine discountCartPayload `json:"updateCartLine"`
	}
	decode(t, e.gql(t, "", update, map[string]any{"c": c1, "p": pid(p), "q": 1}), &upd)
	dc := upd.UpdateCartLine.Cart
	require.Len(t, dc.Discounts, 1)
	assert.False(t, dc.Discounts[0].Applicable)
	require.NotNil(t, dc.Discounts[0].Reason)
	assert.Equal(t, "MINIMUM_SUBTOTAL_NOT_MET", *dc.Discounts[0].Reason)
	assert.Equal(t, "0.00", dc.DiscountTotal.Amount)
	assert.Equal(t, "12.34", dc.Total.Amount)
	decode(t, e.gql(t, "", update, map[string]any{"c": c1, "p": pid(p), "q": 3}), &upd)
	assert.Equal(t, "32.02", upd.UpdateCartLine.Cart.Total.Amount)

	const checkout = `mutation($c: ID!) { checkout(input: {cartId: $c, email: "ada@example.com"}) { order { id total { amount } discountTotal { amount } lines { lineTotal { amount } discount { amount } } } userErrors { code } } }`
	var co struct {
		Checkout struct {
			Order struct {
				Total         struct{ Amount string }
				DiscountTotal struct{ Amount string }
				Lines         []struct {
					LineTotal struct{ Amount string }
					Discount  struct{ Amount string }
				}
			}
			UserErrors []userError
		}
	}
	decode(t, e.gql(t, "", checkout, map[string]any{"c": c1}), &co)
	require.Empty(t, co.Checkout.UserErrors)
	assert.Equal(t, "32.02", co.Checkout.Order.Total.Amount)
	assert.Equal(t, "5.00", co.Checkout.Order.DiscountTotal.Amount)
	assert.Equal(t, "5.00", co.Checkout.Order.Lines[0].Discount.Amount)

	var list struct {
		DiscountCodes struct {
			Edges []struct {
				Node struct{ UsesHeld, UsesCount int }
			}
		}
		DiscountAudit []struct{ OK bool }
	}
	decode(t, e.gql(t, adminToken, `{ discountCodes(first: 10) { edges { node { usesHeld usesCount } } } discountAudit { ok } }`, nil), &list)
	require.Len(t, list.DiscountCodes.Edges, 1)
	assert.Equal(t, 0, list.DiscountCodes.Edges[0].Node.UsesHeld)
	assert.Equal(t, 1, list.DiscountCodes.Edges[0].Node.UsesCount)
	require.Len(t, list.DiscountAudit, 1)
	assert.True(t, list.DiscountAudit[0].OK)

	var rm struct {
		CartRemoveDiscountCode json.RawMessage `json:"cartRemoveDiscountCode"`
	}
	decode(t, e.gql(t, "", `mutation($c: ID!) { cartRemoveDiscountCode(cartId: $c, code: "save5") { userErrors { code } } }`, map[string]any{"c": c2}), &rm)
	storagetest.AssertBooks(t, e.store)
}
