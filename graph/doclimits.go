package graph

import (
	"context"
	"errors"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"

	"holdfast/reqstate"
)

// Refusing a document must cost little whatever its shape. gqlgen parses,
// then validates (overlapping-field merging is quadratic in repeated fields,
// and walks expand fragment spreads), then caches the document, and only
// then runs MutateOperationContext. So the shape limits run earlier, in
// MutateOperationParameters: the document is parsed with a token limit (the
// parser's cost and memory are linear in tokens) and walked once, each
// fragment's shape computed once and multiplied at every spread. A document
// refused here is never validated, executed or cached.

// docShape is what one walk of a document finds.
type docShape struct {
	nodes   int64 // fields, directives and arguments written in the text (all definitions)
	fields  int64 // field selections of the operations, fragments expanded
	aliases int64 // aliased selections of the operations, fragments expanded
	roots   int64 // root fields of the operations, through fragments
	depth   int64 // deepest selection of the operations, through fragments
}

// selShape is a selection set's contribution, fragments expanded.
type selShape struct {
	fields, aliases, direct, depth int64
}

// introspectionDepthAllowance is how many levels below __schema or __type
// do not count against the depth limit.
const introspectionDepthAllowance = 10

// saturate keeps expanded counts from overflowing: anything past it is far
// over every limit anyway.
const saturate = int64(1) << 40

func sadd(a, b int64) int64 { return min(a+b, saturate) }

type shapeWalker struct {
	frags map[string]*ast.FragmentDefinition
	memo  map[string]selShape
	busy  map[string]bool // fragments being walked: a cycle (validation refuses it)
	nodes int64
}

// measureDocument walks doc once. Each fragment is walked once whatever the
// number of spreads of it; a cyclic or unknown fragment counts as empty (the
// validator refuses those documents anyway, at bounded cost).
func measureDocument(doc *ast.QueryDocument) docShape {
	w := &shapeWalker{frags: map[string]*ast.FragmentDefinition{}, memo: map[string]selShape{}, busy: map[string]bool{}}
	for _, f := range doc.Fragments {
		if _, dup := w.frags[f.Name]; !dup { // the validator uses the first too
			w.frags[f.Name] = f
		}
		w.countNodes(f.SelectionSet)
		w.nodes += int64(len(f.Directives))
	}
	var out docShape
	for _, op := range doc.Operations {
		w.countNodes(op.SelectionSet)
		w.nodes += int64(len(op.Directives) + len(op.VariableDefinitions))
		s := w.set(op.SelectionSet)
		out.fields = sadd(out.fields, s.fields)
		out.aliases = sadd(out.aliases, s.aliases)
		out.roots = sadd(out.roots, s.direct)
		out.depth = max(out.depth, s.depth)
	}
	out.nodes = w.nodes
	return out
}

// countNodes counts what the text holds, without following spreads.
func (w *shapeWalker) countNodes(set ast.SelectionSet) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			w.nodes += 1 + int64(len(s.Directives)+len(s.Arguments))
			w.countNodes(s.SelectionSet)
		case *ast.InlineFragment:
			w.nodes += 1 + int64(len(s.Directives))
			w.countNodes(s.SelectionSet)
		case *ast.FragmentSpread:
			w.nodes += 1 + int64(len(s.Directives))
		}
	}
}

func (w *shapeWalker) set(set ast.SelectionSet) selShape {
	var out selShape
	for _, sel := range set {
		var sub selShape
		switch s := sel.(type) {
		case *ast.Field:
			child := w.set(s.SelectionSet)
			out.fields = sadd(out.fields, sadd(1, child.fields))
			out.aliases = sadd(out.aliases, child.aliases)
			if s.Alias != "" && s.Alias != s.Name {
				out.aliases = sadd(out.aliases, 1)
			}
			out.direct = sadd(out.direct, 1)
			d := child.depth
			if s.Name == "__schema" || s.Name == "__type" {
				// Type references nest ofType once per wrapper (the
				// standard introspection query goes 8 deep); the
				// validator's own MaxIntrospectionDepth bounds the rest.
				d = max(0, d-introspectionDepthAllowance)
			}
			out.depth = max(out.depth, 1+d)
			continue
		case *ast.InlineFragment:
			sub = w.set(s.SelectionSet)
		case *ast.FragmentSpread:
			sub = w.fragment(s.Name)
		}
		out.fields = sadd(out.fields, sub.fields)
		out.aliases = sadd(out.aliases, sub.aliases)
		out.direct = sadd(out.direct, sub.direct)
		out.depth = max(out.depth, sub.depth)
	}
	return out
}

func (w *shapeWalker) fragment(name string) selShape {
	if s, ok := w.memo[name]; ok {
		return s
	}
	f := w.frags[name]
	if f == nil || w.busy[name] {
		return selShape{}
	}
	w.busy[name] = true
	s := w.set(f.SelectionSet)
	delete(w.busy, name)
	w.memo[name] = s
	return s
}

// checkShape applies the limits to a measured document, in the order (and
// with the codes) the limits always had: root fields and aliases
// (ALIAS_LIMIT), depth (DEPTH_LIMIT), then cost: the expanded field count
// and the document's size (COMPLEXITY_LIMIT: every field costs at least 1).
func (c *LimitConfig) checkShape(s docShape) *gqlerror.Error {
	max := int64(c.MaxComplexity)
	switch {
	case s.roots > int64(c.MaxRootFields):
		return limitErr(reqstate.CodeAliasLimit, "operation has %s root fields, the limit is %d", countText(s.roots), c.MaxRootFields)
	case s.aliases > int64(c.MaxAliases):
		return limitErr(reqstate.CodeAliasLimit, "operation has %s aliased fields, the limit is %d", countText(s.aliases), c.MaxAliases)
	case s.depth > int64(c.MaxDepth):
		return limitErr(reqstate.CodeDepthLimit, "operation is %d levels deep, the limit is %d", s.depth, c.MaxDepth)
	case s.fields > max:
		return limitErr(reqstate.CodeComplexityLimit, "operation selects %s fields once fragments are expanded, the limit is %d", countText(s.fields), max)
	case s.nodes > max:
		return limitErr(reqstate.CodeComplexityLimit, "document has %d fields, arguments and directives, the limit is %d", s.nodes, max)
	}
	return nil
}

func countText(n int64) string {
	if n >= saturate {
		return "more than " + fmt.Sprint(saturate)
	}
	return fmt.Sprint(n)
}

// MutateOperationParameters refuses, before gqlgen parses, validates or
// caches it (and before APQ stores it), a document over the shape limits or
// whose operation costs too much. A document found in the query cache
// passed these checks when it was added (its cost with other variables is
// checked in MutateOperationContext).
func (l *limits) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" || (l.cache != nil && l.cache.has(p.Query)) {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, l.cfg.MaxTokens)
	if err != nil {
		var gqlErr *gqlerror.Error
		errors.As(err, &gqlErr)
		if gqlErr != nil && isTokenLimit(gqlErr) {
			return l.cfg.tooManyTokens(p.Query)
		}
		if gqlErr != nil {
			errcode.Set(gqlErr, errcode.ParseFailed)
			return gqlErr // a syntax error (or nesting past the parser's own bound)
		}
		return nil
	}
	if err := l.cfg.checkShape(measureDocument(doc)); err != nil {
		return err
	}
	// The cost, with the request's variables, of the operation it names
	// (of the costliest when it names none that is there: gqlgen refuses
	// the request after caching the document).
	vars := p.Variables
	if op := doc.Operations.ForName(p.OperationName); op != nil {
		return l.checkCost(doc, op, vars)
	}
	for _, op := range doc.Operations {
		if err := l.checkCost(doc, op, vars); err != nil {
			return err
		}
	}
	return nil
}

func isTokenLimit(e *gqlerror.Error) bool {
	return len(e.Message) >= 14 && e.Message[:14] == "exceeded token"
}

// tooManyTokens refuses a document over the token limit. One pass of the
// lexer (no syntax tree) finds whether it is also over the root-field or
// alias limit, so that it is refused with the code those limits give.
func (c *LimitConfig) tooManyTokens(query string) *gqlerror.Error {
	lex := lexer.New(&ast.Source{Input: query})
	var roots, aliases int64
	braces, parens := 0, 0
	var prev lexer.Token
	for {
		tok, err := lex.ReadToken()
		if err != nil || tok.Kind == lexer.EOF {
			break
		}
		switch tok.Kind {
		case lexer.BraceL:
			braces++
		case lexer.BraceR:
			braces--
		case lexer.ParenL:
			parens++
		case lexer.ParenR:
			parens--
		case lexer.Colon:
			if parens == 0 && braces > 0 && prev.Kind == lexer.Name {
				aliases++ // "alias: field" (argument names sit inside parentheses)
				if braces == 1 {
					roots-- // the field after the alias is counted, not the alias
				}
			}
		case lexer.Name:
			if parens == 0 && braces == 1 && prev.Kind != lexer.Spread && prev.Kind != lexer.At && tok.Value != "on" {
				roots++
			}
		}
		prev = tok
	}
	switch {
	case roots > int64(c.MaxRootFields):
		return limitErr(reqstate.CodeAliasLimit, "operation has more than %d root fields, the limit", c.MaxRootFields)
	case aliases > int64(c.MaxAliases):
		return limitErr(reqstate.CodeAliasLimit, "operation has more than %d aliased fields, the limit", c.MaxAliases)
	}
	return limitErr(reqstate.CodeComplexityLimit, "document has more than %d tokens, the limit", c.MaxTokens)
}
