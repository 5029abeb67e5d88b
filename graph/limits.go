package graph

import (
	"context"

	"holdfast/config"
	"holdfast/graph/model"
	"holdfast/reqstate"
	"net/http"
	"net/netip"
	"time"

	"github.com/99designs/gqlgen/complexity"
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
// doclimits.go); complexity, which depends on variables, after.
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

	if c := complexity.Calculate(ctx, l.es, op, rc.Variables); c > l.cfg.MaxComplexity {
		return limitErr(reqstate.CodeComplexityLimit, "operation has complexity %d, the limit is %d", c, l.cfg.MaxComplexity)
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

func (l *limits) rateLimited(st *reqstate.State, wait time.Duration, msg string) *gqlerror.Error {
	st.SetStatus(http.StatusTooManyRequests, wait)
	err := limitErr(reqstate.CodeRateLimited, "%s: retry in %s", msg, wait.Round(time.Millisecond))
	err.Extensions["retryAfterMs"] = wait.Milliseconds()
	return err
}

// complexityCosts prices list fields: a connection costs first (or last)
// × its child, a cart or order's lines 50 lines each, the audit 100
// products, a product's images and collections 5 each.
func complexityCosts(c *ComplexityRoot) {
	page := func(first *int) int {
		if first == nil {
			return defaultPageSize
		}
		return max(*first, 1)
	}
	// first or last; Query.products' first always has a value (its
	// default), so a last there costs at least a default page.
	pages := func(first, last *int) int {
		if last == nil {
			return page(first)
		}
		if first == nil {
			return max(*last, 1)
		}
		return max(page(first), *last)
	}
	c.Query.Products = func(child int, first *int, _ *string, last *int, _ *string, _ *string, _ *bool, _ *model.ProductSortKeys, _ *bool) int {
		return 1 + pages(first, last)*child
	}
	c.Collection.Products = func(child int, first *int, _ *string, last *int, _ *string, _ *model.ProductSortKeys, _ *bool) int {
		return 1 + pages(first, last)*child
	}
	c.Query.Collections = func(child int, first *int, _ *string) int { return 1 + page(first)*child }
	// A product has at most storage.MaxImages images and any number of
	// collections; priced, like a cart's lines, at a typical count.
	c.Product.Images = func(child int) int { return 1 + 5*child }
	c.Product.Collections = func(child int) int { return 1 + 5*child }
	c.Query.Orders = func(child int, first *int, _ *string, _ *time.Time, _ []string) int { return 1 + page(first)*child }
	c.Query.WebhookDeliveries = func(child int, _ string, first *int, _ *string) int { return 1 + page(first)*child }
	c.Query.InventoryAudit = func(child int) int { return 1 + 100*child }
	c.Query.TopHolders = func(child int, _ *string, first *int) int { return 1 + page(first)*child }
	c.Cart.Lines = func(child int) int { return 1 + 50*child }
	c.Order.Lines = func(child int) int { return 1 + 50*child }
	c.Subscription.StockChanged = func(child int, ids []string) int { return 1 + len(ids)*child }
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
