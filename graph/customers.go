package graph

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"holdfast/graph/model"
	"holdfast/reqstate"
	"holdfast/storage"
)

// Customer accounts (issue 24; docs/customers.md).

// DefaultCustomerTokenTTL is CUSTOMER_TOKEN_TTL's default.
const DefaultCustomerTokenTTL = 30 * 24 * time.Hour

func (r *Resolver) tokenTTL() time.Duration {
	if r.CustomerTokenTTL > 0 {
		return r.CustomerTokenTTL
	}
	return DefaultCustomerTokenTTL
}

type viewerKey struct{}

// withCustomer is the operations' middleware: a request with a customer
// token gets its customer (one read, only when a customer token is
// presented; admin requests never read) in the context, for the resolvers
// (Query.customer) and for storage's owner checks (storage.WithViewer). A
// token that is unknown, revoked or expired is no customer.
func (r *Resolver) withCustomer(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	tok := reqstate.CustomerToken(ctx)
	if tok == "" {
		return next(ctx)
	}
	c, err := r.Store.CustomerByToken(ctx, tok)
	if err != nil {
		return graphql.OneShot(graphql.ErrorResponse(ctx, "the customer token could not be checked: retry"))
	}
	if c != nil {
		ctx = context.WithValue(storage.WithViewer(ctx, c.ID), viewerKey{}, c)
	}
	return next(ctx)
}

// viewer is the signed-in customer of the request (nil: none).
func viewer(ctx context.Context) *storage.Customer {
	c, _ := ctx.Value(viewerKey{}).(*storage.Customer)
	return c
}

// signInLimited refuses a sign-in attempt over the per-address or the
// per-email rate (RATE_LIMITED with retryAfterMs), before any hashing.
func (r *Resolver) signInLimited(ctx context.Context, email string) error {
	st := reqstate.From(ctx)
	ip := ""
	if st != nil {
		ip = st.ClientIP
	}
	check := func(l RateLimiter, key, msg string) error {
		if l == nil {
			return nil
		}
		if ok, wait := l.Allow(key); !ok {
			st.SetStatus(http.StatusTooManyRequests, wait)
			err := limitErr(reqstate.CodeRateLimited, "%s: retry in %s", msg, wait.Round(time.Millisecond))
			err.Extensions["retryAfterMs"] = wait.Milliseconds()
			err.Path = graphql.GetPath(ctx)
			return err
		}
		return nil
	}
	if r.SignInLimitLoopback || !isLoopback(ip) {
		if err := check(r.SignInPerAddress, ip, "too many sign-in attempts from this address"); err != nil {
			return err
		}
	}
	return check(r.SignInPerEmail, strings.ToLower(strings.TrimSpace(email)), "too many sign-in attempts for this email")
}

func (r *Resolver) customerCreate(ctx context.Context, in model.CustomerCreateInput) (*model.CustomerPayload, error) {
	c, err := r.Store.CreateCustomer(ctx, storage.NewCustomer{Email: in.Email, Password: in.Password, FirstName: in.FirstName, LastName: in.LastName})
	ue, err := userErrors(ctx, err)
	if err != nil {
		return nil, err
	}
	return &model.CustomerPayload{Customer: c, UserErrors: ue}, nil
}

func tokenPayload(ctx context.Context, t *storage.CustomerToken, err error) (*model.CustomerAccessTokenPayload, error) {
	ue, err := userErrors(ctx, err)
	if err != nil {
		return nil, err
	}
	p := &model.CustomerAccessTokenPayload{UserErrors: ue}
	if t != nil {
		p.CustomerAccessToken = &model.CustomerAccessToken{AccessToken: t.Token, ExpiresAt: t.ExpiresAt}
	}
	return p, nil
}

func (r *Resolver) customerAccessTokenCreate(ctx context.Context, in model.CustomerAccessTokenCreateInput) (*model.CustomerAccessTokenPayload, error) {
	if err := r.signInLimited(ctx, in.Email); err != nil {
		return nil, err
	}
	t, err := r.Store.SignIn(ctx, in.Email, in.Password, r.tokenTTL())
	return tokenPayload(ctx, t, err)
}

func (r *Resolver) customerAccessTokenDelete(ctx context.Context) (bool, error) {
	tok := reqstate.CustomerToken(ctx)
	if tok == "" {
		return false, nil
	}
	return r.Store.RevokeCustomerToken(ctx, tok)
}

func (r *Resolver) customerRecover(ctx context.Context, email string) (bool, error) {
	// Limited like sign-in: it is as good an oracle and writes events.
	if err := r.signInLimited(ctx, email); err != nil {
		return false, err
	}
	if err := r.Store.RecoverCustomer(ctx, email); err != nil {
		return false, err
	}
	return true, nil
}

func (r *Resolver) customerResetPassword(ctx context.Context, resetToken, password string) (*model.CustomerAccessTokenPayload, error) {
	t, err := r.Store.ResetPassword(ctx, resetToken, password, r.tokenTTL())
	return tokenPayload(ctx, t, err)
}

func (r *Resolver) cartAttachCustomer(ctx context.Context, cartID string) (*model.CartPayload, error) {
	res, err := r.Store.AttachCart(ctx, cartID)
	if err != nil {
		return r.cartPayload(ctx, cartID, err, nil)
	}
	var ws []*model.CartWarning
	for _, w := range res.Warnings {
		cw := &model.CartWarning{Code: model.CartWarningCode(w.Code), Message: w.Message}
		if w.ProductID != 0 {
			id := storage.FormatProductID(w.ProductID)
			req, got := w.Requested, w.Reserved
			cw.ProductID, cw.Requested, cw.Reserved = &id, &req, &got
		}
		if w.CartID != "" {
			id := w.CartID
			cw.CartID = &id
		}
		ws = append(ws, cw)
	}
	return r.cartPayload(ctx, res.CartID, nil, ws)
}

// customerVisible says whether the request may see customer c: the admin,
// or the customer themself.
func customerVisible(ctx context.Context, id int64) bool {
	if reqstate.IsAdmin(ctx) {
		return true
	}
	v := viewer(ctx)
	return v != nil && v.ID == id
}

func (r *Resolver) customerOrders(ctx context.Context, c *storage.Customer, first *int, after *string) (*model.OrderConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	before, err := decodeSeqCursor("order", after)
	if err != nil {
		return nil, err
	}
	conn := &model.OrderConnection{Edges: []*model.OrderEdge{}, PageInfo: &model.PageInfo{}}
	if !customerVisible(ctx, c.ID) {
		return conn, nil
	}
	orders, more, err := r.Store.ListCustomerOrders(ctx, c.ID, n, before)
	if err != nil {
		return nil, err
	}
	conn.PageInfo.HasNextPage = more
	for _, o := range orders {
		cursor := encodeCursor("order", strconv.FormatInt(o.Seq, 10))
		conn.Edges = append(conn.Edges, &model.OrderEdge{Cursor: cursor, Node: o})
		conn.PageInfo.EndCursor = &cursor
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
	}
	return conn, nil
}

func (r *Resolver) customerActiveCart(ctx context.Context, c *storage.Customer) (*storage.Cart, error) {
	if !customerVisible(ctx, c.ID) {
		return nil, nil
	}
	return r.Store.ActiveCart(ctx, c.ID)
}

func (r *Resolver) orderCustomer(ctx context.Context, o *storage.Order) (*storage.Customer, error) {
	if o.CustomerID == nil || !customerVisible(ctx, *o.CustomerID) {
		return nil, nil
	}
	if v := viewer(ctx); v != nil && v.ID == *o.CustomerID {
		return v, nil
	}
	return r.Store.CustomerByID(ctx, *o.CustomerID)
}

func (r *Resolver) customers(ctx context.Context, first *int, after *string, query *string) (*model.CustomerConnection, error) {
	n, err := pageSize(first)
	if err != nil {
		return nil, err
	}
	before, err := decodeSeqCursor("customer", after)
	if err != nil {
		return nil, err
	}
	q := ""
	if query != nil {
		q = *query
	}
	if len(q) > 254 {
		return nil, gqlerror.Errorf("query must be at most 254 characters")
	}
	cs, more, err := r.Store.ListCustomers(ctx, n, before, q)
	if err != nil {
		return nil, err
	}
	conn := &model.CustomerConnection{Edges: make([]*model.CustomerEdge, 0, len(cs)), PageInfo: &model.PageInfo{HasNextPage: more}}
	for _, c := range cs {
		cursor := encodeCursor("customer", strconv.FormatInt(c.ID, 10))
		conn.Edges = append(conn.Edges, &model.CustomerEdge{Cursor: cursor, Node: c})
		conn.PageInfo.EndCursor = &cursor
	}
	if len(conn.Edges) > 0 {
		conn.PageInfo.StartCursor = &conn.Edges[0].Cursor
	}
	return conn, nil
}

func (r *Resolver) customerByID(ctx context.Context, id string) (*storage.Customer, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, nil
	}
	return r.Store.CustomerByID(ctx, n)
}

// checkoutEmail is the email a checkout records: the one given, else the
// signed-in customer's; "" (refused as invalid) without either.
func checkoutEmail(ctx context.Context, given *string) string {
	if given != nil {
		return *given
	}
	if v := viewer(ctx); v != nil {
		return v.Email
	}
	return ""
}
