package graph_test

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

const giftCardCartFields = `id subtotal { amount } discountTotal { amount } total { amount }
	giftCards { lastCharacters amountUsed { amount } balanceAfter { amount } }`

func TestGiftCardsGraphQL(t *testing.T) {
	t.Parallel()
	e := setup(t)
	p, err := e.store.CreateProduct(t.Context(), storage.NewProduct{SKU: "GG1", Name: "Lamp", PriceAmount: "20.00", Currency: "USD", Stock: 10})
	require.NoError(t, err)

	const create = `mutation($in: CreateGiftCardInput!) { createGiftCard(input: $in) {
		giftCard { id lastCharacters initialValue { amount currencyCode } balance { amount } held { amount } disabled }
		code userErrors { code field } } }`
	in := map[string]any{"initialValue": "30.00", "currencyCode": "USD"}
	assert.Equal(t, "UNAUTHENTICATED", e.gql(t, "", create, map[string]any{"in": in}).code())
	var created struct {
		CreateGiftCard struct {
			GiftCard struct {
				ID, LastCharacters string
				Balance            struct{ Amount string }
			}
			Code       *string
			UserErrors []userError
		}
	}
	decode(t, e.gql(t, adminToken, create, map[string]any{"in": in}), &created)
	require.Empty(t, created.CreateGiftCard.UserErrors)
	require.NotNil(t, created.CreateGiftCard.Code)
	code := *created.CreateGiftCard.Code
	card := created.CreateGiftCard.GiftCard
	assert.Equal(t, code[len(code)-4:], card.LastCharacters)
	assert.Equal(t, "30.00", card.Balance.Amount)

	// The code is never shown again.
	var read struct {
		GiftCard struct {
			LastCharacters string
			Held           struct{ Amount string }
		}
	}
	decode(t, e.gql(t, adminToken, `query($id: ID!) { giftCard(id: $id) { lastCharacters held { amount } } }`, map[string]any{"id": card.ID}), &read)
	assert.Equal(t, card.LastCharacters, read.GiftCard.LastCharacters)

	apply := `mutation($c: ID!, $code: String!) { cartApplyGiftCard(cartId: $c, code: $code) { cart { ` + giftCardCartFields + ` } userErrors { code } } }`
	type gcCart struct {
		Total     struct{ Amount string }
		GiftCards []struct {
			LastCharacters string
			AmountUsed     struct{ Amount string }
			BalanceAfter   struct{ Amount string }
		}
	}
	var applied struct {
		CartApplyGiftCard struct {
			Cart       *gcCart
			UserErrors []userError
		}
	}
	c1 := e.createCart(t)
	_, r := addToCart(t, e.srv.URL, c1, pid(p), 2) // 40.00
	require.Empty(t, r.Errors)
	decode(t, e.gql(t, "", apply, map[string]any{"c": c1, "code": "NOPE-NOPE"}), &applied)
	require.Len(t, applied.CartApplyGiftCard.UserErrors, 1)
	assert.Equal(t, "GIFT_CARD_NOT_FOUND", applied.CartApplyGiftCard.UserErrors[0].Code)
	decode(t, e.gql(t, "", apply, map[string]any{"c": c1, "code": code}), &applied)
	require.Empty(t, applied.CartApplyGiftCard.UserErrors)
	got := applied.CartApplyGiftCard.Cart
	assert.Equal(t, "10.00", got.Total.Amount)
	require.Len(t, got.GiftCards, 1)
	assert.Equal(t, "30.00", got.GiftCards[0].AmountUsed.Amount)
	assert.Equal(t, "0.00", got.GiftCards[0].BalanceAfter.Amount)

	const checkout = `mutation($c: ID!) { checkout(input: {cartId: $c, email: "ada@example.com"}) { order { id status total { amount } giftCardTotal { amount } } userErrors { code } } }`
	var co struct {
		Checkout struct {
			Order struct {
				ID, Status    string
				Total         struct{ Amount string }
				GiftCardTotal struct{ Amount string }
			}
			UserErrors []userError
		}
	}
	decode(t, e.gql(t, "", checkout, map[string]any{"c": c1}), &co)
	require.Empty(t, co.Checkout.UserErrors)
	assert.Equal(t, "10.00", co.Checkout.Order.Total.Amount)
	assert.Equal(t, "30.00", co.Checkout.Order.GiftCardTotal.Amount)

	const adjust = `mutation($id: ID!, $a: String!) { adjustGiftCard(giftCardId: $id, amount: $a, reason: "goodwill") { giftCard { balance { amount } } userErrors { code } } }`
	var adj struct {
		AdjustGiftCard struct {
			GiftCard   *struct{ Balance struct{ Amount string } }
			UserErrors []userError
		}
	}
	decode(t, e.gql(t, adminToken, adjust, map[string]any{"id": card.ID, "a": "-1.00"}), &adj)
	require.Len(t, adj.AdjustGiftCard.UserErrors, 1)
	assert.Equal(t, "INVALID_INPUT", adj.AdjustGiftCard.UserErrors[0].Code)
	decode(t, e.gql(t, adminToken, adjust, map[string]any{"id": card.ID, "a": "5.00"}), &adj)
	require.Empty(t, adj.AdjustGiftCard.UserErrors)
	assert.Equal(t, "5.00", adj.AdjustGiftCard.GiftCard.Balance.Amount)

	var audit struct {
		GiftCardAudit []struct {
			OK            bool
			LedgerBalance struct{ Amount string }
		}
	}
	decode(t, e.gql(t, adminToken, `{ giftCardAudit { ok ledgerBalance { amount } } }`, nil), &audit)
	require.Len(t, audit.GiftCardAudit, 1)
	assert.True(t, audit.GiftCardAudit[0].OK)
	assert.Equal(t, "5.00", audit.GiftCardAudit[0].LedgerBalance.Amount)
	storagetest.AssertBooks(t, e.store)
}

func TestGiftCardGuessRateLimit(t *testing.T) {
	t.Parallel()
	store, _ := storagetest.NewStore(t, storagetest.Options())
	ts := httptest.NewServer(newAPI(graph.HandlerConfig{
		Store: store, AdminToken: adminToken,
		Limits: graph.LimitConfig{
			GiftCardGuessPerCart:    httpapi.NewKeyedLimiter(0.001, 3),
			GiftCardGuessPerAddress: httpapi.NewKeyedLimiter(0.001, 5),
			LimitLoopback:           true,
		},
	}, httpapi.APIConfig{}))
	t.Cleanup(ts.Close)
	e := &env{store: store, srv: ts}
	apply := `mutation($c: ID!, $code: String!) { cartApplyGiftCard(cartId: $c, code: $code) { userErrors { code } } }`
	c1 := e.createCart(t)
	for i := 0; i < 3; i++ {
		r := e.gql(t, "", apply, map[string]any{"c": c1, "code": "GUESS"})
		require.Empty(t, r.Errors)
	}
	r := e.gql(t, "", apply, map[string]any{"c": c1, "code": "GUESS"})
	assert.Equal(t, "RATE_LIMITED", r.code())
	assert.Equal(t, 429, r.Status)
	ms, ok := r.Errors[0].Extensions["retryAfterMs"].(float64)
	assert.True(t, ok && ms > 0)
	// Another cart from the same address: the address's limit (5) next.
	c2 := e.createCart(t)
	assert.Empty(t, e.gql(t, "", apply, map[string]any{"c": c2, "code": "GUESS"}).Errors)
	assert.Empty(t, e.gql(t, "", apply, map[string]any{"c": c2, "code": "GUESS"}).Errors)
	assert.Equal(t, "RATE_LIMITED", e.gql(t, "", apply, map[string]any{"c": c2, "code": "GUESS"}).code())
}
