//go:build faults

package faults

import (
	"os"
	"sort"
	"strings"
	"testing"
	"time"
)

// requireNoBad fails t for every response that was not a complete GraphQL
// JSON answer (non-JSON bodies, truncated bodies, null payloads).
func requireNoBad(t *testing.T, outs []outcome) {
	t.Helper()
	bad := filter(outs, func(o outcome) bool { return o.Class == classBad })
	for i, o := range bad {
		if i == 10 {
			t.Errorf("... and %d more bad responses", len(bad)-10)
			break
		}
		t.Errorf("bad response: %s %s (HTTP %d after %s): %s", o.Op, o.Code, o.Status, o.Dur.Round(time.Millisecond), o.Detail)
	}
}

// reportInternal logs (without failing) GraphQL errors coded
// INTERNAL_SERVER_ERROR: during DB faults they should be SERVICE_UNAVAILABLE.
func reportInternal(t *testing.T, what string, outs []outcome) {
	t.Helper()
	n := count(outs, func(o outcome) bool { return o.Class == classGQLError && o.Code == "INTERNAL_SERVER_ERROR" })
	u := count(outs, func(o outcome) bool { return o.Class == classGQLError && o.Code == "SERVICE_UNAVAILABLE" })
	if n > 0 {
		t.Logf("APP ISSUE (tolerated for now): %s: %d GraphQL errors coded INTERNAL_SERVER_ERROR (want SERVICE_UNAVAILABLE; %d were)", what, n, u)
	}
}

// reportUnexpected flags GraphQL errors the storm should never cause: it
// sends only well-formed input, so a code other than SERVICE_UNAVAILABLE,
// TIMEOUT or INTERNAL_SERVER_ERROR is a misclassification, and a message
// with driver or SQL text is a leak. These are logged as APP ISSUE (they
// are not what these fault tests are about); FAULTS_STRICT=1 fails on them.
func reportUnexpected(t *testing.T, what string, outs []outcome) {
	t.Helper()
	byKey := map[string][]outcome{}
	for _, o := range outs {
		if o.Class != classGQLError {
			continue
		}
		switch {
		case o.Code != "SERVICE_UNAVAILABLE" && o.Code != "TIMEOUT" && o.Code != "INTERNAL_SERVER_ERROR":
		case strings.Contains(o.Detail, "pq:"), strings.Contains(o.Detail, "storage:"), strings.Contains(o.Detail, "sql:"):
		default:
			continue
		}
		byKey[o.Op+" "+o.Key()] = append(byKey[o.Op+" "+o.Key()], o)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	report := t.Logf
	if os.Getenv("FAULTS_STRICT") == "1" {
		report = t.Errorf
	}
	for _, k := range keys {
		report("APP ISSUE: %s: %d x %s, e.g. message %q", what, len(byKey[k]), k, byKey[k][0].Detail)
	}
}
