package reqstate

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// IsUpgrade reports whether r asks for a protocol upgrade (a websocket):
// such a request is not one GraphQL operation but a connection for many.
func IsUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != ""
}

// Refuse answers with one GraphQL-shaped error carrying code (and st's
// request id), before any execution, and records the refusal as st's
// outcome. The body is application/json unless the caller set a
// Content-Type.
func Refuse(w http.ResponseWriter, st *State, status int, code, msg string) {
	st.SetOutcome("refused:" + code)
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{RefusalError(st, code, msg)}})
}

// RefusalError is the GraphQL error a refusal shows, over HTTP (Refuse)
// or on a websocket: msg, with extensions.code and, given st,
// extensions.requestId.
func RefusalError(st *State, code, msg string) map[string]any {
	ext := map[string]any{"code": code}
	if st != nil {
		ext["requestId"] = st.ID
	}
	return map[string]any{"message": msg, "extensions": ext}
}

// LogAccess writes the access-log line ("request") of a finished HTTP
// request or websocket operation: its id, the transport's head attributes
// (who asked, how), what the GraphQL layer found out (operation, outcome),
// how long it took, and the transport's tail attributes.
func LogAccess(log *slog.Logger, st *State, head []any, tail ...any) {
	sum := st.Summary()
	attrs := make([]any, 0, 2+len(head)+8+len(tail))
	attrs = append(attrs, "request_id", st.ID)
	attrs = append(attrs, head...)
	attrs = append(attrs, "operation", sum.Operation, "operation_name", sum.OperationName, "outcome", sum.Outcome,
		"duration_ms", Millis(time.Since(st.Start)))
	attrs = append(attrs, tail...)
	log.Info("request", attrs...)
}

// Millis is d in milliseconds, to the microsecond (the access log's
// duration_ms).
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
