package graph

import (
	"bytes"
	"encoding/json"
	"holdfast/reqstate"
	"io"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// postTransport and getTransport replace gqlgen's POST and GET transports,
// whose own refusals (undecodable bodies or parameters, a mutation over
// GET) are written without an extensions.code and can echo Go type names.
// Every answer here goes through the executor's error presenter.
type postTransport struct{}

type getTransport struct{}

var (
	_ graphql.Transport = postTransport{}
	_ graphql.Transport = getTransport{}
)

// Supports: the guard has already refused other media types with 415.
func (postTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && r.Header.Get("Upgrade") == ""
}

func (postTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeRefusal(w, r, exec, http.StatusBadRequest, codeBadRequest, "could not read the request body")
		return
	}
	params := &graphql.RawParams{Headers: r.Header}
	if err := decodeJSON(body, params); err != nil {
		writeRefusal(w, r, exec, http.StatusBadRequest, codeBadRequest,
			`the request body is not a JSON object of the form {"query": "...", "variables": {...}, "extensions": {...}}`)
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, params, false)
}

func (getTransport) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && r.Header.Get("Upgrade") == ""
}

func (getTransport) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	q := r.URL.Query()
	params := &graphql.RawParams{Query: q.Get("query"), OperationName: q.Get("operationName"), Headers: r.Header}
	for _, p := range []struct {
		name string
		into *map[string]any
	}{{"variables", &params.Variables}, {"extensions", &params.Extensions}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		if err := decodeJSON([]byte(v), p.into); err != nil || !isJSONObject(v) {
			writeRefusal(w, r, exec, http.StatusBadRequest, codeBadRequest, p.name+" must be a JSON object")
			return
		}
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, params, true)
}

// execute runs one operation and writes its answer.
func execute(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, params *graphql.RawParams, queryOnly bool) {
	ctx := r.Context()
	w.Header().Set("Content-Type", responseType(r))
	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		status := http.StatusOK
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			status = http.StatusUnprocessableEntity
		}
		w.WriteHeader(status)
		writeJSON(w, exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs))
		return
	}
	if queryOnly && rc.Operation.Operation != ast.Query {
		w.Header().Set("Allow", "POST")
		writeRefusal(w, r, exec, http.StatusMethodNotAllowed, codeMethodNotAllowed,
			"GET requests may only run queries: send "+string(rc.Operation.Operation)+"s with POST")
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	writeJSON(w, responses(ctx))
}

// writeRefusal answers with one coded error, presented like every other.
func writeRefusal(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, status int, code, msg string) {
	err := &gqlerror.Error{Message: msg, Extensions: map[string]any{"code": code}}
	reqstate.From(r.Context()).SetOutcome("refused:" + code)
	resp := exec.DispatchError(graphql.WithOperationContext(r.Context(), &graphql.OperationContext{}), gqlerror.List{err})
	w.Header().Set("Content-Type", responseType(r))
	w.WriteHeader(status)
	writeJSON(w, resp)
}

// responseType: application/graphql-response+json when the client asks for
// it by name, else application/json (what every client accepts).
func responseType(r *http.Request) string {
	if strings.Contains(r.Header.Get("Accept"), "application/graphql-response+json") {
		return "application/graphql-response+json"
	}
	return "application/json"
}

func decodeJSON(b []byte, into any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(into)
}

func isJSONObject(s string) bool {
	t := strings.TrimSpace(s)
	return t == "null" || strings.HasPrefix(t, "{")
}

func writeJSON(w io.Writer, resp *graphql.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	_, _ = w.Write(b)
}
