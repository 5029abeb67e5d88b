package graph

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error codes of operations refused for their shape or rate.
const (
	codeComplexityLimit = "COMPLEXITY_LIMIT"
	codeDepthLimit      = "DEPTH_LIMIT"
	codeAliasLimit      = "ALIAS_LIMIT"
	codeRateLimited     = "RATE_LIMITED"
)

func init() {
	// Shape refusals are protocol errors: HTTP 422, like validation errors.
	for _, c := range []string{codeComplexityLimit, codeDepthLimit, codeAliasLimit} {
		errcode.RegisterErrorType(c, errcode.KindProtocol)
	}
}

// LimitConfig bounds what one operation may ask for. Zero values take the
// defaults; a negative rate disables that rate limit.
type LimitConfig struct {
	MaxComplexity int // default 1000
	MaxDepth      int // default 12
	MaxRootFields int // default 10: root fields (aliases included) per operation
	MaxAliases    int // default 30: aliased fields anywhere in the operation

	MutationsPerSecondPerIP   float64 // default 1000 (a flood guard: many shoppers share NAT addresses)
	MutationBurstPerIP        int     // default 2000
	MutationsPerSecondPerCart float64 // default 50
	MutationBurstPerCart      int     // default 500
	// LimitLoopback applies the per-address limit to loopback clients too
	// (by default they are trusted: local tools, a co-located proxy).
	LimitLoopback bool
}

func (c *LimitConfig) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.MaxComplexity, 1000)
	def(&c.MaxDepth, 12)
	def(&c.MaxRootFields, 10)
	def(&c.MaxAliases, 30)
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	deff(&c.MutationsPerSecondPerIP, 1000)
	deff(&c.MutationsPerSecondPerCart, 50)
	def(&c.MutationBurstPerIP, 2*int(c.MutationsPerSecondPerIP))
	def(&c.MutationBurstPerCart, 10*int(c.MutationsPerSecondPerCart))
}

// limits is a gqlgen extension that refuses, before anything executes,
// operations that are too deep, too wide or too costly, and mutations over
// their client's or cart's rate (admins are not rate limited).
type limits struct {
	cfg    LimitConfig
	es     graphql.ExecutableSchema
	perIP  *keyedLimiter
	perCar *keyedLimiter
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &limits{}

func newLimits(cfg LimitConfig) *limits {
	cfg.setDefaults()
	return &limits{
		cfg:    cfg,
		perIP:  newKeyedLimiter(cfg.MutationsPerSecondPerIP, cfg.MutationBurstPerIP),
		perCar: newKeyedLimiter(cfg.MutationsPerSecondPerCart, cfg.MutationBurstPerCart),
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
	st := stateFrom(ctx)
	if st != nil {
		label := string(op.Operation)
		if len(op.SelectionSet) > 0 {
			if f, ok := op.SelectionSet[0].(*ast.Field); ok {
				label += "." + f.Name
			}
		}
		st.mu.Lock()
		st.operation = label
		if len(rc.OperationName) <= 64 {
			st.opName = rc.OperationName
		}
		st.mu.Unlock()
	}

	roots, aliases, depth := shape(op.SelectionSet, 1, map[string]bool{})
	switch {
	case roots > l.cfg.MaxRootFields:
		return limitErr(codeAliasLimit, "operation has %d root fields, the limit is %d", roots, l.cfg.MaxRootFields)
	case aliases > l.cfg.MaxAliases:
		return limitErr(codeAliasLimit, "operation has %d aliased fields, the limit is %d", aliases, l.cfg.MaxAliases)
	case depth > l.cfg.MaxDepth:
		return limitErr(codeDepthLimit, "operation is %d levels deep, the limit is %d", depth, l.cfg.MaxDepth)
	}
	if c := complexity.Calculate(ctx, l.es, op, rc.Variables); c > l.cfg.MaxComplexity {
		return limitErr(codeComplexityLimit, "operation has complexity %d, the limit is %d", c, l.cfg.MaxComplexity)
	}

	if op.Operation != ast.Mutation || IsAdmin(ctx) || st == nil {
		return nil
	}
	if l.cfg.LimitLoopback || !isLoopback(st.clientIP) {
		if ok, wait := l.perIP.allow(st.clientIP); !ok {
			return l.rateLimited(st, wait, "too many mutations from this address")
		}
	}
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		in, _ := f.ArgumentMap(rc.Variables)["input"].(map[string]any)
		cart, _ := in["cartId"].(string)
		if cart == "" || len(cart) > 64 {
			continue
		}
		if ok, wait := l.perCar.allow(cart); !ok {
			return l.rateLimited(st, wait, "too many changes to this cart")
		}
	}
	return nil
}

func (l *limits) rateLimited(st *reqState, wait time.Duration, msg string) *gqlerror.Error {
	st.setStatus(http.StatusTooManyRequests, wait)
	err := limitErr(codeRateLimited, "%s: retry in %s", msg, wait.Round(time.Millisecond))
	err.Extensions["retryAfterMs"] = wait.Milliseconds()
	return err
}

// shape counts root fields and aliases and measures the depth of a
// selection set, following fragments (each fragment once per path).
func shape(set ast.SelectionSet, level int, seen map[string]bool) (roots, aliases, depth int) {
	depth = level - 1
	for _, sel := range set {
		var sub ast.SelectionSet
		switch s := sel.(type) {
		case *ast.Field:
			if level == 1 {
				roots++
			}
			if s.Alias != "" && s.Alias != s.Name {
				aliases++
			}
			if len(s.SelectionSet) == 0 {
				depth = max(depth, level)
				continue
			}
			_, a, d := shape(s.SelectionSet, level+1, seen)
			aliases += a
			depth = max(depth, d)
			continue
		case *ast.InlineFragment:
			sub = s.SelectionSet
		case *ast.FragmentSpread:
			if s.Definition == nil || seen[s.Name] {
				continue
			}
			seen[s.Name] = true
			sub = s.Definition.SelectionSet
			defer delete(seen, s.Name)
		}
		r, a, d := shape(sub, level, seen)
		roots += r
		aliases += a
		depth = max(depth, d)
	}
	return roots, aliases, depth
}

// complexityCosts prices list fields: a connection costs first × its
// child, a cart or order's lines up to 100 lines each, the audit every
// product.
func complexityCosts(c *ComplexityRoot) {
	page := func(first *int) int {
		if first == nil {
			return defaultPageSize
		}
		return max(*first, 1)
	}
	c.Query.Products = func(child int, first *int, _ *string) int { return 1 + page(first)*child }
	c.Query.Orders = func(child int, first *int, _ *string) int { return 1 + page(first)*child }
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
