package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// outcome of one operation that did not fail outright.
type outcome int

const (
	granted outcome = iota // the reservation (or other change) was made
	refused                // INSUFFICIENT_STOCK: a correct refusal
)

// side is one way of doing the operations: the GraphQL API or raw SQL.
type side interface {
	name() string
	newCart(ctx context.Context) (string, error)
	add(ctx context.Context, cart string, product int64, qty int) (outcome, error)
	update(ctx context.Context, cart string, product int64, qty int) (outcome, error)
	remove(ctx context.Context, cart string, product int64) (outcome, error)
	checkout(ctx context.Context, cart, email string) (outcome, error)
}

// gqlClient posts GraphQL requests over one keep-alive http.Client.
type gqlClient struct {
	endpoint string
	token    string
	hc       *http.Client
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

// do runs one operation and returns its data object's fields.
func (c *gqlClient) do(ctx context.Context, query string, vars map[string]any, admin bool) (map[string]json.RawMessage, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
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
		Data   map[string]json.RawMessage `json:"data"`
		Errors []gqlError                 `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
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
	Code    string `json:"code"`
	Message string `json:"message"`
}

type payload struct {
	Cart       *struct{ ID string } `json:"cart"`
	Order      *struct{ ID string } `json:"order"`
	Product    *struct{ ID string } `json:"product"`
	UserErrors []userError          `json:"userErrors"`
}

// mutate runs a single-field mutation and classifies its payload.
func (c *gqlClient) mutate(ctx context.Context, field, query string, vars map[string]any, admin bool) (*payload, outcome, error) {
	data, err := c.do(ctx, query, vars, admin)
	if err != nil {
		return nil, 0, err
	}
	raw, ok := data[field]
	if !ok || string(raw) == "null" {
		return nil, 0, fmt.Errorf("%s: no data", field)
	}
	var p payload
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", field, err)
	}
	if len(p.UserErrors) > 0 {
		ue := p.UserErrors[0]
		if ue.Code == "INSUFFICIENT_STOCK" {
			return &p, refused, nil
		}
		return &p, 0, fmt.Errorf("%s: %s: %s", field, ue.Code, ue.Message)
	}
	return &p, granted, nil
}

// mutationFields lists the Mutation type's fields by introspection; nil when
// introspection is unavailable.
func (c *gqlClient) mutationFields(ctx context.Context) (map[string]bool, error) {
	data, err := c.do(ctx, `{ __schema { mutationType { fields { name } } } }`, nil, false)
	if err != nil {
		return nil, err
	}
	var s struct {
		MutationType struct {
			Fields []struct{ Name string } `json:"fields"`
		} `json:"mutationType"`
	}
	if err := json.Unmarshal(data["__schema"], &s); err != nil {
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
	qAddToCart     = `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { id } userErrors { code message available } } }`
	// The later mutations take their input inline so that the name of their
	// input type does not matter.
	qUpdateLine = `mutation($c: ID!, $p: ID!, $q: Int!) { updateCartLine(input: {cartId: $c, productId: $p, quantity: $q}) { cart { id } userErrors { code message } } }`
	qRemoveLine = `mutation($c: ID!, $p: ID!) { removeCartLine(input: {cartId: $c, productId: $p}) { cart { id } userErrors { code message } } }`
	qCheckout   = `mutation($c: ID!, $e: String!) { checkout(input: {cartId: $c, email: $e}) { order { id } userErrors { code message } } }`
)

// apiSide drives the GraphQL API.
type apiSide struct{ c *gqlClient }

func (a *apiSide) name() string { return "api" }

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

func (a *apiSide) add(ctx context.Context, cart string, product int64, qty int) (outcome, error) {
	_, o, err := a.c.mutate(ctx, "addToCart", qAddToCart, map[string]any{"in": map[string]any{
		"cartId": cart, "productId": pid(product), "quantity": qty,
	}}, false)
	return o, err
}

func (a *apiSide) update(ctx context.Context, cart string, product int64, qty int) (outcome, error) {
	_, o, err := a.c.mutate(ctx, "updateCartLine", qUpdateLine, map[string]any{"c": cart, "p": pid(product), "q": qty}, false)
	return o, err
}

func (a *apiSide) remove(ctx context.Context, cart string, product int64) (outcome, error) {
	_, o, err := a.c.mutate(ctx, "removeCartLine", qRemoveLine, map[string]any{"c": cart, "p": pid(product)}, false)
	return o, err
}

func (a *apiSide) checkout(ctx context.Context, cart, email string) (outcome, error) {
	p, o, err := a.c.mutate(ctx, "checkout", qCheckout, map[string]any{"c": cart, "e": email}, false)
	if err == nil && o == granted && (p.Order == nil || p.Order.ID == "") {
		return 0, errors.New("checkout: no order returned")
	}
	return o, err
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
