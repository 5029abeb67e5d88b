package graph

import (
	"context"

	"holdfast/config"
	"holdfast/reqstate"
	"holdfast/storage"
	"net/http"
	"net/netip"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

func init() {
	// Shape refusals are protocol errors: HTTP 422, like validation errors.
	for _, c := range []string{reqstate.CodeComplexityLimit, reqstate.CodeDepthLimit, reqstate.CodeAliasLimit} {
		errcode.RegisterErrorType(c, errcode.KindProtocol)
	}
}

// RateLimiter takes a token for a key (a client address, a cart id), or
// says how long until one is free. httpapi.KeyedLimiter is one.
type RateLimiter interface {
	Allow(key string) (bool, time.Duration)
}

// LimitConfig bounds what one operation may ask for. Zero shape limits take
// the defaults of package config; a nil rate limiter limits nothing.
type LimitConfig struct {
	MaxComplexity int // cost; also bounds the fields selected, fragments expanded
	MaxDepth      int
	MaxRootFields int // root fields (aliases included) per operation
	MaxAliases    int // aliased fields anywhere in the operation
	MaxTokens     int // lexical tokens in a document, checked while parsing

	// Mutations per client address (a flood guard: many shoppers share NAT
	// addresses) and per cart. Admins are not limited.
	PerAddress RateLimiter
	PerCart    RateLimiter
	// Searches limits searches (Query.products with a non-empty
	// query, each one in an operation) per client address, which cost far
	// more than lookups. Admins are not limited; loopback clients are
	// exempt as from PerAddress.
	Searches RateLimiter
	// SignInPerAddress and SignInPerEmail limit customerAccessTokenCreate
	// per client address and per email (nil: unlimited).
	SignInPerAddress, SignInPerEmail RateLimiter
	// GiftCardGuessPerCart and GiftCardGuessPerAddress limit
	// cartApplyGiftCard per cart and per client address (nil: unlimited).
	GiftCardGuessPerCart, GiftCardGuessPerAddress RateLimiter
	// LimitLoopback applies the per-address limit to loopback clients too
	// (by default they are trusted: local tools, a co-located proxy).
	LimitLoopback bool
}

func (c *LimitConfig) setDefaults() {
	d := config.Defaults()
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxComplexity, d.MaxComplexity)
	def(&c.MaxDepth, d.MaxDepth)
	def(&c.MaxRootFields, d.MaxRootFields)
	def(&c.MaxAliases, d.MaxAliases)
	def(&c.MaxTokens, d.MaxTokens)
}

// limits is a gqlgen extension that refuses, before anything executes,
// operations that are too deep, too wide or too costly, and mutations over
// their client's or cart's rate (admins are not rate limited). The shape of
// the document is checked before gqlgen parses and validates it (see
// doclimits.go), and so is its cost with the request's variables; the cost
// of a document found in the query cache, after.
type limits struct {
	cfg   LimitConfig
	cache *boundedCache[*ast.QueryDocument] // gqlgen's query cache: what is in it passed the shape checks
	es    graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
} = &limits{}

func newLimits(cfg LimitConfig, cache *boundedCache[*ast.QueryDocument]) *limits {
	cfg.setDefaults()
	return &limits{
		cfg:   cfg,
		cache: cache,
	}
}

func (l *limits) ExtensionName() string { return "HoldfastLimits" }

func (l *limits) Validate(schema graphql.ExecutableSchema) error {
	l.es = schema
	return nil
}

func limitErr(code, format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, code)
	return err
}

func (l *limits) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	op := rc.Operation
	if op == nil {
		return nil
	}
	if rc.DisableIntrospection && op.Operation == ast.Query {
		for _, f := range rootFields(rc) {
			if f.Name == "__schema" || f.Name == "__type" {
				err := gqlerror.Errorf("introspection is disabled on this server")
				errcode.Set(err, errcode.ValidationFailed)
				return err
			}
		}
	}
	st := reqstate.From(ctx)
	if st != nil {
		label := string(op.Operation)
		if roots := rootFields(rc); len(roots) > 0 {
			label += "." + roots[0].Name
		}
		st.SetOperation(label, rc.OperationName)
	}

	// A document from the query cache was priced, before it was cached,
	// with that request's variables: price it with these.
	if err := l.checkCost(rc.Doc, rc.Operation, rc.Variables); err != nil {
		return err
	}

	if op.Operation == ast.Query && !reqstate.IsAdmin(ctx) && st != nil {
		return l.limitSearches(rc, st)
	}
	if op.Operation != ast.Mutation || reqstate.IsAdmin(ctx) || st == nil {
		return nil
	}
	if l.cfg.PerAddress != nil && (l.cfg.LimitLoopback || !isLoopback(st.ClientIP)) {
		if ok, wait := l.cfg.PerAddress.Allow(st.ClientIP); !ok {
			return l.rateLimited(st, wait, "too many mutations from this address")
		}
	}
	for _, f := range rootFields(rc) {
		if l.cfg.PerCart == nil {
			break
		}
		in, _ := f.ArgumentMap(rc.Variables)["input"].(map[string]any)
		cart, _ := in["cartId"].(string)
		if cart == "" || len(cart) > 64 {
			continue
		}
		if ok, wait := l.cfg.PerCart.Allow(cart); !ok {
			return l.rateLimited(st, wait, "too many changes to this cart")
		}
	}
	return nil
}

// limitSearches takes a token of the client address's search budget for
// every search among the operation's root fields, refusing the operation
// when one is not free.
func (l *limits) limitSearches(rc *graphql.OperationContext, st *reqstate.State) *gqlerror.Error {
	if l.cfg.Searches == nil || (!l.cfg.LimitLoopback && isLoopback(st.ClientIP)) {
		return nil
	}
	for _, f := range rootFields(rc) {
		if f.Name != "products" {
			continue
		}
		q, _ := f.ArgumentMap(rc.Variables)["query"].(string)
		if storage.NormalizeQuery(q) == "" {
			continue // no query: a listing, not a search
		}
		if ok, wait := l.cfg.Searches.Allow(st.ClientIP); !ok {
			return l.rateLimited(st, wait, "too many searches from this address")
		}
	}
	return nil
}

func (l *limits) rateLimited(st *reqstate.State, wait time.Duration, msg string) *gqlerror.Error {
	st.SetStatus(http.StatusTooManyRequests, wait)
	err := limitErr(reqstate.CodeRateLimited, "%s: retry in %s", msg, wait.Round(time.Millisecond))
	err.Extensions["retryAfterMs"] = wait.Milliseconds()
	return err
}

// checkCost refuses op (of doc) if it costs more than MaxComplexity with
// vars (see cost.go).
func (l *limits) checkCost(doc *ast.QueryDocument, op *ast.OperationDefinition, vars map[string]any) *gqlerror.Error {
	if doc == nil || op == nil || l.es == nil {
		return nil
	}
	if c := operationCost(l.es.Schema(), doc, op, vars); c > int64(l.cfg.MaxComplexity) {
		return limitErr(reqstate.CodeComplexityLimit, "operation has complexity %s, the limit is %d", countText(c), l.cfg.MaxComplexity)
	}
	return nil
}

func isLoopback(ip string) bool {
	a, err := netip.ParseAddr(ip)
	return err == nil && a.IsLoopback()
}

// rootFields are the operation's root fields as they execute: through inline
// fragments and fragment spreads, without those @skip or @include leave out.
// Every guard that looks at root fields uses it.
func rootFields(rc *graphql.OperationContext) []graphql.CollectedField {
	if rc == nil || rc.Operation == nil {
		return nil
	}
	root := "Query"
	switch rc.Operation.Operation {
	case ast.Mutation:
		root = "Mutation"
	case ast.Subscription:
		root = "Subscription"
	}
	return graphql.CollectFields(rc, rc.Operation.SelectionSet, []string{root})
}
