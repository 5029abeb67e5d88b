// Package gqltransport holds the GraphQL handler's transports (gqlgen's
// graphql.Transport): POST and GET, and the websocket transport with its
// connections (wsConn), their writers (writerPool), the stock fast path's
// frames and each operation's access-log line. It knows nothing of the
// schema: package graph builds the handler, hands in what it needs (the
// init hook, the fast path, metrics) and adds these transports to it.
package gqltransport

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"

	"holdfast/reqstate"
)

// POST and GET replace gqlgen's POST and GET transports, whose own
// refusals (undecodable bodies or parameters, a mutation over GET) are
// written without an extensions.code and can echo Go type names. Every
// answer here is a coded refusal (reqstate.Refuse) or goes through the
// executor's error presenter.
type POST struct{}

type GET struct{}

var (
	_ graphql.Transport = POST{}
	_ graphql.Transport = GET{}
)

// Supports: the guard has already refused other media types with 415.
func (POST) Supports(r *http.Request) bool {
	return r.Method == http.MethodPost && !reqstate.IsUpgrade(r)
}

func (POST) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeRefusal(w, r, http.StatusBadRequest, reqstate.CodeBadRequest, "could not read the request body")
		return
	}
	params := &graphql.RawParams{Headers: r.Header}
	if err := decodeJSON(body, params); err != nil {
		writeRefusal(w, r, http.StatusBadRequest, reqstate.CodeBadRequest,
			`the request body is not a JSON object of the form {"query": "...", "variables": {...}, "extensions": {...}}`)
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	execute(w, r, exec, params, false)
}

func (GET) Supports(r *http.Request) bool {
	return r.Method == http.MethodGet && !reqstate.IsUpgrade(r)
}

func (GET) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
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
			writeRefusal(w, r, http.StatusBadRequest, reqstate.CodeBadRequest, p.name+" must be a JSON object")
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
		writeRefusal(w, r, http.StatusMethodNotAllowed, reqstate.CodeMethodNotAllowed,
			"GET requests may only run queries: send "+string(rc.Operation.Operation)+"s with POST")
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	writeJSON(w, responses(ctx))
}

// writeRefusal answers with one coded error, in the media type the client
// asked for.
func writeRefusal(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	w.Header().Set("Content-Type", responseType(r))
	reqstate.Refuse(w, reqstate.From(r.Context()), status, code, msg)
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
	if dataOnly(resp) {
		// In three writes: the response writer buffers them, and a
		// catalog page's data is not copied once more to be framed.
		_, _ = io.WriteString(w, `{"data":`)
		_, _ = w.Write(resp.Data)
		_, _ = io.WriteString(w, `}`)
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		b = []byte(`{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}`)
	}
	_, _ = w.Write(b)
}

// dataOnly reports whether an answer is data alone, which writeJSON
// writes as {"data":...} without json.Marshal: that validates and
// compacts the already compact data gqlgen wrote, byte by byte, and copies
// it (a 100-line cart's answer: 8% of the server's CPU). json.Marshal also
// escapes <, >, & and U+2028/2029 inside it (HTML-safe output); data
// holding any of them is left to json.Marshal, so the bytes are the same
// either way (TestWriteJSON).
func dataOnly(resp *graphql.Response) bool {
	return len(resp.Errors) == 0 && len(resp.Extensions) == 0 && resp.Label == "" && resp.Path == nil &&
		resp.HasNext == nil && len(resp.Data) > 0 && !needsEscape(resp.Data)
}

// needsEscape reports whether json.Marshal would change data: <, > or &,
// or a byte that may start U+2028 or U+2029 (0xE2, as do other
// characters, which then take json.Marshal's path too).
func needsEscape(data []byte) bool {
	for _, c := range []byte{'<', '>', '&', 0xE2} {
		if bytes.IndexByte(data, c) >= 0 {
			return true
		}
	}
	return false
}
