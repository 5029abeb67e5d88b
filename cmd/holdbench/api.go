package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	gojson "github.com/goccy/go-json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// outcome of one operation that did not fail outright.
type outcome int

const (
	granted outcome = iota // the reservation (or other change) was made
	refused                // INSUFFICIENT_STOCK: a correct refusal
)

// side is one way of doing the operations: the GraphQL API or raw SQL, each
// asking for (or reading) the answer of its shape. The cart mutations return
// the cart as the answer renders it: the whole cart for the storefront
// shape, only its id (or nothing, raw) for the minimal one.
type side interface {
	name() string
	shape() string
	newCart(ctx context.Context) (string, error)
	add(ctx context.Context, cart string, product int64, qty int) (outcome, *cartView, error)
	update(ctx context.Context, cart string, product int64, qty int) (outcome, *cartView, error)
	remove(ctx context.Context, cart string, product int64) (outcome, *cartView, error)
	checkout(ctx context.Context, cart, email string) (outcome, error)
	// The browse scenario's reads (browse.go): a catalog grid page of
	// product groups, a group's product page (nil when there is none).
	groupsPage(ctx context.Context, first int, after string) (*groupPage, error)
	groupByHandle(ctx context.Context, handle string) (*groupView, error)
}

// gqlClient posts GraphQL requests over one keep-alive http.Client, to one
// endpoint or, round robin per request (as a load balancer does), to several.
type gqlClient struct {
	endpoint  string
	endpoints []string // more than one: round robin
	next      atomic.Uint64
	token     string
	hc        *http.Client
}

// newGQLClients is newGQLClient over several servers, round robin.
func newGQLClients(baseURLs []string, token string, maxClients int) *gqlClient {
	c := newGQLClient(baseURLs[0], token, maxClients)
	for _, u := range baseURLs {
		c.endpoints = append(c.endpoints, strings.TrimRight(u, "/")+"/graphql")
	}
	return c
}

func (c *gqlClient) pick() string {
	if len(c.endpoints) > 1 {
		return c.endpoints[c.next.Add(1)%uint64(len(c.endpoints))]
	}
	return c.endpoint
}

func newGQLClient(baseURL, token string, maxClients int) *gqlClient {
	conns := maxClients + 16
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &gqlClient{
		endpoint: strings.TrimRight(baseURL, "/") + "/graphql",
		token:    token,
		hc:       &http.Client{Transport: tr, Timeout: 30 * time.Second},
	}
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions"`
}

// errGraphQL marks an error reported in the response's "errors" (as opposed
// to a transport failure): the schema may lack the field, for instance.
type errGraphQL struct{ msg string }

func (e *errGraphQL) Error() string { return "graphql: " + e.msg }

// doAs runs one operation and decodes its data object's fields as D, in
// one pass over the answer (nil for a field that is null). The load
// generator shares the cores with the server, so its decoding is kept
// cheap (goccy/go-json, one pass): see docs/benchmarks.md.
func doAs[D any](ctx context.Context, c *gqlClient, query string, vars map[string]any, admin bool) (map[string]*D, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.pick(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if admin {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out struct {
		Data   map[string]*D `json:"data"`
		Errors []gqlError    `json:"errors"`
	}
	if err := gojson.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		msg := e.Message
		if code, ok := e.Extensions["code"].(string); ok {
			msg = code + ": " + msg
		}
		return nil, &errGraphQL{msg: msg}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %.200s", resp.StatusCode, raw)
	}
	return out.Data, nil
}

type userError struct {
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	Field     []string `json:"field"`
	Available *int     `json:"available"`
}

type payload struct {
	Cart       *cartView            `json:"cart"`
	Order      *struct{ ID string } `json:"order"`
	Product    *struct{ ID string } `json:"product"`
	UserErrors []userError          `json:"userErrors"`
	Warnings   []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"warnings"`
}

// mutate runs a single-field mutation and classifies its payload.
func (c *gqlClient) mutate(ctx context.Context, field, query string, vars map[string]any, admin bool) (*payload, outcome, error) {
	data, err := doAs[payload](ctx, c, query, vars, admin)
	if err != nil {
		return nil, 0, err
	}
	p := data[field]
	if p == nil {
		return nil, 0, fmt.Errorf("%s: no data", field)
	}
	if len(p.UserErrors) > 0 {
		ue := p.UserErrors[0]
		if ue.Code == "INSUFFICIENT_STOCK" {
			return p, refused, nil
		}
		return p, 0, fmt.Errorf("%s: %s: %s", field, ue.Code, ue.Message)
	}
	return p, granted, nil
}

// mutationFields lists the Mutation type's fields by introspection; nil when
// introspection is unavailable.
func (c *gqlClient) mutationFields(ctx context.Context) (map[string]bool, error) {
	data, err := doAs[json.RawMessage](ctx, c, `{ __schema { mutationType { fields { name } } } }`, nil, false)
	if err != nil {
		return nil, err
	}
	if data["__schema"] == nil {
		return nil, errors.New("introspection: no __schema")
	}
	var s struct {
		MutationType struct {
			Fields []struct{ Name string } `json:"fields"`
		} `json:"mutationType"`
	}
	if err := gojson.Unmarshal(*data["__schema"], &s); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range s.MutationType.Fields {
		out[f.Name] = true
	}
	return out, nil
}

const (
	qCreateProduct = `mutation($in: CreateProductInput!) { createProduct(input: $in) { product { id } userErrors { code message } } }`
	qCreateCart    = `mutation { createCart { cart { id } userErrors { code message } } }`
	qCheckout      = `mutation($c: ID!, $e: String!) { checkout(input: {cartId: $c, email: $e}) { order { id } userErrors { code message } } }`

	// The browse scenario's reads.
	qGroupGrid = `query($n: Int!, $a: String) { productGroups(first: $n, after: $a) { edges { node { ` + selGroupGrid + ` } } pageInfo { hasNextPage endCursor } } }`
	qGroupPage = `query($h: String!) { productGroupByHandle(handle: $h) { ` + selGroupPage + ` } }`
)

// cartMutations are the documents of the cart mutations of one shape. The
// later mutations take their input inline so that the name of their input
// type does not matter.
type cartMutations struct{ add, update, remove string }

func mutationsFor(shape string) cartMutations {
	if shape == shapeStorefront {
		return cartMutations{
			add:    `mutation($in: AddToCartInput!) { addToCart(input: $in) ` + selStorefrontPayload + ` }`,
			update: `mutation($c: ID!, $p: ID!, $q: Int!) { updateCartLine(input: {cartId: $c, productId: $p, quantity: $q}) ` + selStorefrontPayload + ` }`,
			remove: `mutation($c: ID!, $p: ID!) { removeCartLine(input: {cartId: $c, productId: $p}) ` + selStorefrontPayload + ` }`,
		}
	}
	return cartMutations{
		add:    `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { id } userErrors { code message available } } }`,
		update: `mutation($c: ID!, $p: ID!, $q: Int!) { updateCartLine(input: {cartId: $c, productId: $p, quantity: $q}) { cart { id } userErrors { code message } } }`,
		remove: `mutation($c: ID!, $p: ID!) { removeCartLine(input: {cartId: $c, productId: $p}) { cart { id } userErrors { code message } } }`,
	}
}

// apiSide drives the GraphQL API, asking for answers of one shape.
type apiSide struct {
	c     *gqlClient
	shp   string
	mutns cartMutations
}

func newAPISide(c *gqlClient, shape string) *apiSide {
	return &apiSide{c: c, shp: shape, mutns: mutationsFor(shape)}
}

func (a *apiSide) name() string  { return "api" }
func (a *apiSide) shape() string { return a.shp }

func (a *apiSide) createProduct(ctx context.Context, sku string, stock int) (int64, error) {
	p, _, err := a.c.mutate(ctx, "createProduct", qCreateProduct, map[string]any{"in": map[string]any{
		"sku": sku, "name": "holdbench " + sku, "description": "created by holdbench",
		"priceAmount": "10.00", "currencyCode": "USD", "stock": stock,
	}}, true)
	if err != nil {
		return 0, err
	}
	if p.Product == nil {
		return 0, errors.New("createProduct: no product returned")
	}
	return strconv.ParseInt(p.Product.ID, 10, 64)
}

func (a *apiSide) newCart(ctx context.Context) (string, error) {
	p, _, err := a.c.mutate(ctx, "createCart", qCreateCart, nil, false)
	if err != nil {
		return "", err
	}
	if p.Cart == nil || p.Cart.ID == "" {
		return "", errors.New("createCart: no cart returned")
	}
	return p.Cart.ID, nil
}

func pid(id int64) string { return strconv.FormatInt(id, 10) }

// cartOp runs a cart mutation; an answer without its cart is an error
// whatever the shape (the API answers with the cart on refusals too).
func (a *apiSide) cartOp(ctx context.Context, field, query string, vars map[string]any) (outcome, *cartView, error) {
	p, o, err := a.c.mutate(ctx, field, query, vars, false)
	if err != nil {
		return o, nil, err
	}
	if p.Cart == nil || p.Cart.ID == "" {
		return o, nil, renderErr("%s: answer without the cart", field)
	}
	if a.shp == shapeStorefront && p.Warnings == nil {
		return o, nil, renderErr("%s: answer without warnings", field)
	}
	return o, p.Cart, nil
}

func (a *apiSide) add(ctx context.Context, cart string, product int64, qty int) (outcome, *cartView, error) {
	return a.cartOp(ctx, "addToCart", a.mutns.add, map[string]any{"in": map[string]any{
		"cartId": cart, "productId": pid(product), "quantity": qty,
	}})
}

func (a *apiSide) update(ctx context.Context, cart string, product int64, qty int) (outcome, *cartView, error) {
	return a.cartOp(ctx, "updateCartLine", a.mutns.update, map[string]any{"c": cart, "p": pid(product), "q": qty})
}

func (a *apiSide) remove(ctx context.Context, cart string, product int64) (outcome, *cartView, error) {
	return a.cartOp(ctx, "removeCartLine", a.mutns.remove, map[string]any{"c": cart, "p": pid(product)})
}

func (a *apiSide) checkout(ctx context.Context, cart, email string) (outcome, error) {
	p, o, err := a.c.mutate(ctx, "checkout", qCheckout, map[string]any{"c": cart, "e": email}, false)
	if err == nil && o == granted && (p.Order == nil || p.Order.ID == "") {
		return 0, errors.New("checkout: no order returned")
	}
	return o, err
}

// queryField runs a query of one root field and decodes it as T; nil when
// the field is null.
func queryField[T any](ctx context.Context, a *apiSide, field, query string, vars map[string]any) (*T, error) {
	data, err := doAs[T](ctx, a.c, query, vars, false)
	if err != nil {
		return nil, err
	}
	return data[field], nil
}

func (a *apiSide) groupsPage(ctx context.Context, first int, after string) (*groupPage, error) {
	vars := map[string]any{"n": first, "a": nil}
	if after != "" {
		vars["a"] = after
	}
	p, err := queryField[groupPage](ctx, a, "productGroups", qGroupGrid, vars)
	if err == nil && p == nil {
		err = renderErr("productGroups: no data")
	}
	return p, err
}

func (a *apiSide) groupByHandle(ctx context.Context, handle string) (*groupView, error) {
	return queryField[groupView](ctx, a, "productGroupByHandle", qGroupPage, map[string]any{"h": handle})
}

// waitReady polls /readyz until it answers 200.
func waitReady(ctx context.Context, baseURL string, timeout time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	u := strings.TrimRight(baseURL, "/") + "/readyz"
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("server exited before it became ready")
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready after %s: %w", u, timeout, last)
}
