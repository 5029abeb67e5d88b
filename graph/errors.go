package graph

import (
	"context"
	"errors"
	"fmt"
	"holdfast/reqstate"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"holdfast/graph/model"
	"holdfast/storage"
)

func badInput(msg string) error {
	return &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": reqstate.CodeBadInput}}
}

// errorPresenter decides what a client sees of an error. Errors that carry
// an extensions.code were written for clients and pass through; database
// outages and timeouts get their own codes; everything else is logged with
// its detail and shown only as "internal error", so no SQL, driver or stack
// text ever reaches a client.
func errorPresenter(log *slog.Logger) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		// gqlgen wraps every resolver error in a *gqlerror.Error (with Err
		// set) before it gets here, so "is a gqlerror" says nothing. What
		// may reach a client as is: errors created as gqlerrors (ours, with
		// a code, and gqlgen's own) and malformed scalar input. Anything
		// else wrapped inside is treated as an internal error below.
		var gqlErr *gqlerror.Error
		if errors.As(err, &gqlErr) && clientFacing(gqlErr) {
			out := graphql.DefaultErrorPresenter(ctx, err)
			out.Message = plainMessage(out.Message)
			if out.Extensions == nil {
				out.Extensions = map[string]any{}
			}
			if out.Extensions["code"] == nil {
				out.Extensions["code"] = reqstate.CodeBadInput
			}
			if code, ok := out.Extensions["code"].(string); ok {
				reqstate.From(ctx).SetOutcome(reqstate.ErrorOutcome(code))
			}
			if rid := reqstate.RequestID(ctx); rid != "" {
				out.Extensions["requestId"] = rid
			}
			return out
		}
		out := &gqlerror.Error{Path: graphql.GetPath(ctx)}
		st := reqstate.From(ctx)
		rid := reqstate.RequestID(ctx)
		switch {
		case errors.Is(err, storage.ErrBadPage):
			// The resolvers refuse bad pages first; this is the backstop.
			out.Message = "invalid page arguments"
			out.Extensions = map[string]any{"code": reqstate.CodeBadInput}
		case errors.Is(err, storage.ErrUnavailable):
			log.WarnContext(ctx, "database unavailable", "request_id", rid, "err", err.Error())
			out.Message = "the service is temporarily unavailable, please retry"
			out.Extensions = map[string]any{"code": reqstate.CodeUnavailable}
			st.SetStatus(http.StatusServiceUnavailable, time.Second)
		case errors.Is(err, storage.ErrSearchTimeout):
			// The database stopped a search past SEARCH_STATEMENT_TIMEOUT:
			// the same search would fail again, so no Retry-After.
			log.WarnContext(ctx, "search timed out", "request_id", rid)
			out.Message = "the search took too long: search for more or longer words"
			out.Extensions = map[string]any{"code": reqstate.CodeSearchTimeout}
		case errors.Is(err, context.DeadlineExceeded):
			log.WarnContext(ctx, "request timed out", "request_id", rid, "err", err.Error())
			out.Message = "the request timed out"
			out.Extensions = map[string]any{"code": reqstate.CodeTimeout}
			st.SetStatus(http.StatusGatewayTimeout, 0)
		default:
			log.ErrorContext(ctx, "internal error", "request_id", rid, "err", err.Error(), "path", out.Path.String())
			out.Message = "internal error"
			out.Extensions = map[string]any{"code": reqstate.CodeInternal}
		}
		if rid != "" {
			out.Extensions["requestId"] = rid
		}
		st.SetOutcome("error:" + out.Extensions["code"].(string))
		return out
	}
}

// recoverFunc turns a panic in a resolver into an internal error, logged
// with its stack.
func recoverFunc(log *slog.Logger) graphql.RecoverFunc {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
		return errors.New("panic recovered")
	}
}

// userErrors converts a business refusal into the payload's userErrors.
// Any other error is returned as is (and becomes an internal error).
func userErrors(ctx context.Context, err error) ([]*model.UserError, error) {
	var se *storage.Error
	if err == nil {
		return []*model.UserError{}, nil
	}
	if !errors.As(err, &se) {
		return nil, err
	}
	reqstate.From(ctx).SetOutcome("user_error:" + string(se.Code))
	return []*model.UserError{{
		Code:      model.ErrorCode(se.Code),
		Message:   se.Message,
		Field:     se.Field,
		Available: se.Available,

		CurrentStock: se.CurrentStock,
	}}, nil
}

// refusalCode is the business code of err ("" for none or a non-business
// error).
func refusalCode(err error) string {
	var se *storage.Error
	if errors.As(err, &se) {
		return string(se.Code)
	}
	if err != nil {
		return "ERROR"
	}
	return ""
}

// clientFacing reports whether a gqlerror was written for clients (rather
// than wrapping some internal error).
func clientFacing(e *gqlerror.Error) bool {
	inner := e.Unwrap()
	if inner == nil {
		return true
	}
	var input *model.InputError
	var nested *gqlerror.Error
	return errors.As(inner, &input) || (errors.As(inner, &nested) && nested != e && nested.Unwrap() == nil)
}

// gqlparser's variable coercion names Go kinds ("cannot use string as Int"
// for the JSON number 1.5, read as a json.Number). plainMessage says the
// same in the client's terms.
var (
	goKindCannotUse = regexp.MustCompile(`^cannot use [a-z0-9]+ as ([A-Za-z_][A-Za-z0-9_]*)$`)
	goKindMustBe    = regexp.MustCompile(`^must be a ([A-Za-z_][A-Za-z0-9_]*), not a [a-z0-9]+$`)
	goValue         = regexp.MustCompile(`<[a-z0-9.\[\]{} ]+ Value>`)
)

func plainMessage(msg string) string {
	if m := goKindCannotUse.FindStringSubmatch(msg); m != nil {
		if m[1] == "Int" {
			return "Int cannot represent this value: a GraphQL Int is a whole number from -2147483648 to 2147483647"
		}
		return m[1] + " cannot represent this value"
	}
	if m := goKindMustBe.FindStringSubmatch(msg); m != nil {
		return "must be a " + m[1] + " (a JSON object)"
	}
	return goValue.ReplaceAllString(msg, "this value")
}
