package graph_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

const (
	mCustomerCreate = `mutation($in: CustomerCreateInput!) { customerCreate(input: $in) { customer { id email } userErrors { code field } } }`
	mSignIn         = `mutation($in: CustomerAccessTokenCreateInput!) { customerAccessTokenCreate(input: $in) { customerAccessToken { accessToken expiresAt } userErrors { code message } } }`
)

func signUpIn(t *testing.T, url, email string) string {
	t.Helper()
	r := post(t, url, "", mCustomerCreate, map[string]any{"in": map[string]any{"email": email, "password": "correct horse battery"}})
	require.Empty(t, r.Errors)
	r = post(t, url, "", mSignIn, map[string]any{"in": map[string]any{"email": email, "password": "correct horse battery"}})
	var out struct {
		CustomerAccessTokenCreate struct {
			CustomerAccessToken *struct{ AccessToken string } `json:"customerAccessToken"`
			UserErrors          []userError                   `json:"userErrors"`
		} `json:"customerAccessTokenCreate"`
	}
	decode(t, r, &out)
	require.NotNil(t, out.CustomerAccessTokenCreate.CustomerAccessToken, out.CustomerAccessTokenCreate.UserErrors)
	return out.CustomerAccessTokenCreate.CustomerAccessToken.AccessToken
}

func payloadErrors(t *testing.T, r gqlResponse, field string) []userError {
	t.Helper()
	var out map[string]struct {
		UserErrors []userError `json:"userErrors"`
	}
	decode(t, r, &out)
	return out[field].UserErrors
}

func TestCustomerAccounts(t *testing.T) {
	e := setup(t)
	p := storagetest.MustProduct(t, e.store, "CUST-1", 20)
	ada := signUpIn(t, e.srv.URL, "ada@example.com")
	bob := signUpIn(t, e.srv.URL, "bob@example.com")

	// Sign-up refusals.
	ue := payloadErrors(t, e.gql(t, "", mCustomerCreate, map[string]any{"in": map[string]any{"email": "ADA@example.com", "password": "whatever it is"}}), "customerCreate")
	require.Len(t, ue, 1)
	assert.Equal(t, "EMAIL_TAKEN", ue[0].Code)
	ue = payloadErrors(t, e.gql(t, "", mCustomerCreate, map[string]any{"in": map[string]any{"email": "eve@example.com", "password": "eve@example.com"}}), "customerCreate")
	assert.Equal(t, "PASSWORD_TOO_WEAK", ue[0].Code)

	// Unknown email and wrong password: the same answer, the same work.
	before := storage.PasswordVerifications()
	r1 := e.gql(t, "", mSignIn, map[string]any{"in": map[string]any{"email": "nobody@example.com", "password": "correct horse battery"}})
	mid := storage.PasswordVerifications()
	r2 := e.gql(t, "", mSignIn, map[string]any{"in": map[string]any{"email": "ada@example.com", "password": "wrong horse battery"}})
	after := storage.PasswordVerifications()
	assert.JSONEq(t, string(r1.Data), string(r2.Data))
	assert.EqualValues(t, 1, mid-before, "an unknown email verifies a (dummy) hash")
	assert.EqualValues(t, 1, after-mid)

	// The signed-in customer; none without a token, or with a bad one.
	var me struct {
		Customer *struct{ Email string } `json:"customer"`
	}
	decode(t, e.gql(t, ada, `{ customer { email } }`, nil), &me)
	require.NotNil(t, me.Customer)
	assert.Equal(t, "ada@example.com", me.Customer.Email)
	decode(t, e.gql(t, "", `{ customer { email } }`, nil), &me)
	assert.Nil(t, me.Customer)
	decode(t, e.gql(t, storage.CustomerTokenPrefix+"forged", `{ customer { email } }`, nil), &me)
	assert.Nil(t, me.Customer)
	// A customer token is never the admin's.
	assert.Equal(t, "UNAUTHENTICATED", e.gql(t, ada, `{ customers { edges { node { id } } } }`, nil).code())

	// A cart made with a customer token is theirs.
	var created struct {
		CreateCart cartPayload `json:"createCart"`
	}
	decode(t, e.gql(t, ada, `mutation { createCart { cart { id } userErrors { code } } }`, nil), &created)
	adaCart := created.CreateCart.Cart.ID
	add := func(token, cartID string, qty int) gqlResponse {
		return e.gql(t, token, addToCartMutation, map[string]any{"in": map[string]any{"cartId": cartID, "productId": pid(p), "quantity": qty}})
	}
	require.Empty(t, payloadErrors(t, add(ada, adaCart, 2), "addToCart"))
	for name, tok := range map[string]string{"anonymous": "", "another customer": bob} {
		var c struct {
			Cart *cart `json:"cart"`
		}
		decode(t, e.gql(t, tok, `query($id: ID!) { cart(id: $id) { id } }`, map[string]any{"id": adaCart}), &c)
		assert.Nil(t, c.Cart, name)
		for field, q := range map[string]string{
			"addToCart":      addToCartMutation,
			"updateCartLine": `mutation($in: UpdateCartLineInput!) { updateCartLine(input: $in) { cart { id } userErrors { code } } }`,
			"removeCartLine": `mutation($in: RemoveCartLineInput!) { removeCartLine(input: $in) { cart { id } userErrors { code } } }`,
			"checkout":       `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id } userErrors { code } } }`,
		} {
			in := map[string]any{"cartId": adaCart, "productId": pid(p), "quantity": 1}
			switch field {
			case "removeCartLine":
				delete(in, "quantity")
			case "checkout":
				in = map[string]any{"cartId": adaCart, "email": "x@example.com"}
			}
			for _, key := range []string{"", "owner-check-key-" + field} {
				if key != "" {
					in["idempotencyKey"] = key
				}
				r := e.gql(t, tok, q, map[string]any{"in": in})
				ue := payloadErrors(t, r, field)
				if assert.Len(t, ue, 1, "%s %s %q", name, field, key) {
					assert.Equal(t, "CART_NOT_FOUND", ue[0].Code, "%s %s", name, field)
				}
				assert.NotContains(t, string(r.Data), adaCart, "%s %s %q shows the cart", name, field, key)
			}
		}
	}

	// Sign-in merges the guest cart: warnings name the cart to use.
	guest := e.createCart(t)
	_, _ = addToCart(t, e.srv.URL, guest, pid(p), 3)
	var attached struct {
		CartAttachCustomer struct {
			Cart       *cart       `json:"cart"`
			UserErrors []userError `json:"userErrors"`
			Warnings   []struct {
				Code   string  `json:"code"`
				CartID *string `json:"cartId"`
			} `json:"warnings"`
		} `json:"cartAttachCustomer"`
	}
	decode(t, e.gql(t, ada, `mutation($id: ID!) { cartAttachCustomer(cartId: $id) { cart { id totalQuantity } userErrors { code } warnings { code cartId } } }`,
		map[string]any{"id": guest}), &attached)
	a := attached.CartAttachCustomer
	require.Empty(t, a.UserErrors)
	require.NotNil(t, a.Cart)
	assert.Equal(t, adaCart, a.Cart.ID)
	assert.Equal(t, 5, a.Cart.TotalQuantity)
	require.Len(t, a.Warnings, 1)
	assert.Equal(t, "CART_MERGED", a.Warnings[0].Code)
	assert.Equal(t, adaCart, *a.Warnings[0].CartID)
	var g struct {
		Cart *cart `json:"cart"`
	}
	decode(t, e.gql(t, "", `query($id: ID!) { cart(id: $id) { id status } }`, map[string]any{"id": guest}), &g)
	assert.Equal(t, "MERGED", g.Cart.Status)
	// Without a token, attaching is refused.
	ue = payloadErrors(t, e.gql(t, "", `mutation($id: ID!) { cartAttachCustomer(cartId: $id) { userErrors { code } } }`, map[string]any{"id": e.createCart(t)}), "cartAttachCustomer")
	assert.Equal(t, "CUSTOMER_REQUIRED", ue[0].Code)

	// Checkout without an email takes the account's; the order is theirs.
	var co struct {
		Checkout struct {
			Order *struct {
				ID       string
				Email    string
				Customer *struct{ Email string }
			}
			UserErrors []userError `json:"userErrors"`
		} `json:"checkout"`
	}
	decode(t, e.gql(t, ada, `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id email customer { email } } userErrors { code } } }`,
		map[string]any{"in": map[string]any{"cartId": adaCart}}), &co)
	require.NotNil(t, co.Checkout.Order, co.Checkout.UserErrors)
	assert.Equal(t, "ada@example.com", co.Checkout.Order.Email)
	require.NotNil(t, co.Checkout.Order.Customer)
	var hist struct {
		Customer struct {
			Orders struct {
				Edges []struct{ Node struct{ ID string } }
			}
			ActiveCart *cart `json:"activeCart"`
		}
	}
	decode(t, e.gql(t, ada, `{ customer { orders { edges { node { id } } } activeCart { id } } }`, nil), &hist)
	require.Len(t, hist.Customer.Orders.Edges, 1)
	assert.Equal(t, co.Checkout.Order.ID, hist.Customer.Orders.Edges[0].Node.ID)
	assert.Nil(t, hist.Customer.ActiveCart)
	// Anyone with the order id sees the order, not its customer.
	var anon struct {
		Order struct{ Customer *struct{ Email string } }
	}
	decode(t, e.gql(t, "", `query($id: ID!) { order(id: $id) { customer { email } } }`, map[string]any{"id": co.Checkout.Order.ID}), &anon)
	assert.Nil(t, anon.Order.Customer)

	// Admin: list, search, find.
	var list struct {
		Customers struct {
			Edges []struct{ Node struct{ ID, Email string } }
		}
	}
	decode(t, e.gql(t, adminToken, `{ customers(query: "BOB") { edges { node { id email } } } }`, nil), &list)
	require.Len(t, list.Customers.Edges, 1)
	assert.Equal(t, "bob@example.com", list.Customers.Edges[0].Node.Email)
	var one struct {
		CustomerByID *struct{ Email string } `json:"customerById"`
	}
	decode(t, e.gql(t, adminToken, `query($id: ID!) { customerById(id: $id) { email } }`, map[string]any{"id": list.Customers.Edges[0].Node.ID}), &one)
	require.NotNil(t, one.CustomerByID)

	// Sign-out revokes the request's token.
	var del map[string]bool
	decode(t, e.gql(t, bob, `mutation { customerAccessTokenDelete }`, nil), &del)
	assert.True(t, del["customerAccessTokenDelete"])
	decode(t, e.gql(t, bob, `{ customer { email } }`, nil), &me)
	assert.Nil(t, me.Customer)
	storagetest.AssertBooks(t, e.store)
}

func TestCustomerLimitGraphQL(t *testing.T) {
	e := setup(t)
	var created struct {
		CreateProduct struct {
			Product *struct {
				ID               string
				LimitPerCustomer *int `json:"limitPerCustomer"`
			}
			UserErrors []userError `json:"userErrors"`
		} `json:"createProduct"`
	}
	decode(t, e.gql(t, adminToken, `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id limitPerCustomer } userErrors { code message } } }`,
		map[string]any{"in": map[string]any{"sku": "DROP-G", "name": "Drop", "priceAmount": "10.00", "currencyCode": "USD", "stock": 10, "limitPerCustomer": 1}}), &created)
	require.NotNil(t, created.CreateProduct.Product, created.CreateProduct.UserErrors)
	assert.Equal(t, 1, *created.CreateProduct.Product.LimitPerCustomer)
	prod := created.CreateProduct.Product.ID

	guest := e.createCart(t)
	_, r := addToCart(t, e.srv.URL, guest, prod, 1)
	ue := payloadErrors(t, r, "addToCart")
	require.Len(t, ue, 1)
	assert.Equal(t, "CUSTOMER_REQUIRED", ue[0].Code)

	ada := signUpIn(t, e.srv.URL, "ada@example.com")
	carts := make([]string, 2)
	for i := range carts {
		var c struct {
			CreateCart cartPayload `json:"createCart"`
		}
		decode(t, e.gql(t, ada, `mutation { createCart { cart { id } userErrors { code } } }`, nil), &c)
		carts[i] = c.CreateCart.Cart.ID
	}
	add := func(cartID string) []userError {
		return payloadErrors(t, e.gql(t, ada, addToCartMutation, map[string]any{"in": map[string]any{"cartId": cartID, "productId": prod, "quantity": 1}}), "addToCart")
	}
	require.Empty(t, add(carts[0]))
	ue = add(carts[1])
	require.Len(t, ue, 1)
	assert.Equal(t, "PER_CUSTOMER_LIMIT", ue[0].Code)
	require.NotNil(t, ue[0].Available)
	assert.Equal(t, 0, *ue[0].Available)

	var audit struct {
		InventoryAudit []struct {
			OK                      bool `json:"ok"`
			CustomerLimitMismatches int  `json:"customerLimitMismatches"`
		} `json:"inventoryAudit"`
	}
	decode(t, e.gql(t, adminToken, `{ inventoryAudit { ok customerLimitMismatches } }`, nil), &audit)
	for _, row := range audit.InventoryAudit {
		assert.True(t, row.OK)
		assert.Zero(t, row.CustomerLimitMismatches)
	}
	storagetest.AssertBooks(t, e.store)
}

// Sign-in attempts are limited per email and per client address; an
// unknown email and a wrong password take about the same time (measured
// and logged; the equal work is asserted in TestCustomerAccounts).
func TestCustomerSignInRateLimit(t *testing.T) {
	store, _ := storagetest.NewStore(t, storagetest.Options())
	ts := httptest.NewServer(newAPI(graph.HandlerConfig{
		Store: store, AdminToken: adminToken,
		Limits: graph.LimitConfig{SignInPerEmail: httpapi.NewKeyedLimiter(0.001, 3), SignInPerAddress: httpapi.NewKeyedLimiter(0.001, 20)},
	}, httpapi.APIConfig{}))
	t.Cleanup(ts.Close)
	srv := ts.URL
	post(t, srv, "", mCustomerCreate, map[string]any{"in": map[string]any{"email": "ada@example.com", "password": "correct horse battery"}})

	attempt := func(email string) gqlResponse {
		return post(t, srv, "", mSignIn, map[string]any{"in": map[string]any{"email": email, "password": "wrong horse battery"}})
	}
	var unknown, wrong []time.Duration
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		assert.Empty(t, attempt("ada@example.com").Errors)
		wrong = append(wrong, time.Since(t0))
		t0 = time.Now()
		assert.Empty(t, attempt("nobody@example.com").Errors)
		unknown = append(unknown, time.Since(t0))
	}
	median := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	t.Logf("sign-in: wrong password median %v, unknown email median %v", median(wrong), median(unknown))

	r := attempt("ADA@example.com")
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "RATE_LIMITED", r.code())
	ms, ok := r.Errors[0].Extensions["retryAfterMs"].(float64)
	assert.True(t, ok && ms > 0, "retryAfterMs: %v", r.Errors[0].Extensions)
	assert.Equal(t, 429, r.Status)
	// Another email from the same address still gets through (until the
	// address's own limit).
	assert.Empty(t, attempt("grace@example.com").Errors)
}

// A customer's cart can be watched with the customer's token in the
// websocket's init payload, and by no one else.
func TestCustomerCartSubscription(t *testing.T) {
	t.Parallel()
	store, srv := liveServer(t, storagetest.URL(t), storagetest.Options())
	tok := signUpIn(t, srv.URL, "ada@example.com")
	var created struct {
		CreateCart cartPayload `json:"createCart"`
	}
	decode(t, post(t, srv.URL, tok, `mutation { createCart { cart { id } userErrors { code } } }`, nil), &created)
	cartID := created.CreateCart.Cart.ID
	require.NotNil(t, store)

	dial := func(init string) *wsClient {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t.Cleanup(cancel)
		conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
		require.NoError(t, err)
		if resp.Body != nil {
			resp.Body.Close()
		}
		t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
		c := &wsClient{t: t, conn: conn, ctx: ctx}
		require.NoError(t, wsjson.Write(ctx, conn, wsMsg{Type: "connection_init", Payload: json.RawMessage(init)}))
		require.Equal(t, "connection_ack", c.next(5*time.Second).Type)
		return c
	}
	const sub = `subscription($id: ID!) { cartChanged(cartId: $id) { id status } }`
	owner := dial(`{"Authorization": "Bearer ` + tok + `"}`)
	owner.subscribe("1", sub, map[string]any{"id": cartID})
	m := owner.next(15 * time.Second)
	assert.Equal(t, "next", m.Type, "%s", m.Payload)
	assert.Contains(t, string(m.Payload), cartID)

	stranger := dial(`{}`)
	stranger.subscribe("1", sub, map[string]any{"id": cartID})
	m = stranger.next(15 * time.Second)
	assert.Contains(t, string(m.Payload), "CART_NOT_FOUND")
	assert.NotContains(t, string(m.Payload), `"status"`)
}
