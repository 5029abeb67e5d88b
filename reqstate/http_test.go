package reqstate_test

import (
	"bytes"
	"encoding/json"
	"go/build"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/reqstate"
)

func TestIsUpgrade(t *testing.T) {
	t.Parallel()
	for upgrade, want := range map[string]bool{"": false, "websocket": true, "h2c": true} {
		r := httptest.NewRequest(http.MethodGet, "/graphql", nil)
		if upgrade != "" {
			r.Header.Set("Upgrade", upgrade)
		}
		assert.Equal(t, want, reqstate.IsUpgrade(r), "Upgrade: %q", upgrade)
	}
}

func TestRefuse(t *testing.T) {
	t.Parallel()
	t.Run("coded error with the request id, recorded as the outcome", func(t *testing.T) {
		t.Parallel()
		st := reqstate.New("192.0.2.1", "")
		rec := httptest.NewRecorder()
		reqstate.Refuse(rec, st, http.StatusBadRequest, reqstate.CodeBadRequest, "no")
		assert.Equal(t, http.StatusBadRequest, rec.Code)
		assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
		var body struct {
			Errors []struct {
				Message    string         `json:"message"`
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
		require.Len(t, body.Errors, 1)
		assert.Equal(t, "no", body.Errors[0].Message)
		assert.Equal(t, map[string]any{"code": "BAD_REQUEST", "requestId": st.ID}, body.Errors[0].Extensions)
		assert.NotContains(t, rec.Body.String(), `"data"`, "a request error has no data entry")
		assert.Equal(t, "refused:BAD_REQUEST", st.Summary().Outcome)
	})
	t.Run("keeps the media type the caller chose", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", "application/graphql-response+json")
		reqstate.Refuse(rec, nil, http.StatusMethodNotAllowed, reqstate.CodeMethodNotAllowed, "no")
		assert.Equal(t, "application/graphql-response+json", rec.Header().Get("Content-Type"))
		assert.JSONEq(t, `{"errors":[{"message":"no","extensions":{"code":"METHOD_NOT_ALLOWED"}}]}`, rec.Body.String())
	})
}

func TestErrorOutcome(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]string{
		reqstate.CodeRateLimited:       "refused:RATE_LIMITED",
		reqstate.CodeDepthLimit:        "refused:DEPTH_LIMIT",
		reqstate.CodeAliasLimit:        "refused:ALIAS_LIMIT",
		reqstate.CodeComplexityLimit:   "refused:COMPLEXITY_LIMIT",
		reqstate.CodeSubscriptionLimit: "refused:SUBSCRIPTION_LIMIT",
		reqstate.CodeBadInput:          "error:BAD_USER_INPUT",
		reqstate.CodeBadRequest:        "error:BAD_REQUEST",
		reqstate.CodeTimeout:           "error:TIMEOUT",
	} {
		assert.Equal(t, want, reqstate.ErrorOutcome(code))
	}
}

// The access log's fields, in the order docs/operations.md shows them.
func TestLogAccess(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey:
				return slog.Attr{}
			case "duration_ms":
				return slog.Float64(a.Key, 2.5) // it varies; its place does not
			}
			return a
		},
	}))
	st := reqstate.New("203.0.113.9", "")
	st.SetOperation("mutation.addToCart", "Add")
	st.SetOutcome("user_error:INSUFFICIENT_STOCK")
	reqstate.LogAccess(log, st, []any{"client", st.ClientIP, "method", "POST", "status", 200}, "bytes", 143)
	assert.Equal(t, `{"level":"INFO","msg":"request","request_id":"`+st.ID+`","client":"203.0.113.9","method":"POST","status":200,`+
		`"operation":"mutation.addToCart","operation_name":"Add","outcome":"user_error:INSUFFICIENT_STOCK","duration_ms":2.5,"bytes":143}`,
		strings.TrimSpace(buf.String()))
}

// reqstate is the leaf that the transport and the GraphQL layer share: it
// imports nothing of ours.
func TestImportsNothingOfOurs(t *testing.T) {
	t.Parallel()
	pkg, err := build.ImportDir(".", 0)
	require.NoError(t, err)
	for _, imp := range pkg.Imports {
		assert.False(t, imp == "holdfast" || strings.HasPrefix(imp, "holdfast/"), "reqstate imports %s", imp)
	}
}
