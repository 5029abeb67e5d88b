//go:build cluster

package cluster

import (
	"strings"
	"testing"
	"time"
)

// requireNoFailures fails t for every outcome that is not an answer (a
// transport error, a GraphQL error, a bad response), naming up to 10.
func requireNoFailures(t *testing.T, what string, outs []outcome) {
	t.Helper()
	bad := filter(outs, func(o outcome) bool { return o.Class != classOK && o.Class != classUserError })
	for i, o := range bad {
		if i == 10 {
			t.Errorf("... and %d more failed requests", len(bad)-10)
			break
		}
		t.Errorf("%s: %s failed: %s (HTTP %d after %s, upstream %q): %s", what, o.Op, o.Key(), o.Status, o.Dur.Round(time.Millisecond), o.Upstream, o.Detail)
	}
}

// servedBy counts outcomes per replica that answered them (the last
// address of X-Holdfast-Upstream).
func servedBy(outs []outcome) map[string]int {
	m := map[string]int{}
	for _, o := range outs {
		if o.Upstream == "" {
			continue
		}
		addrs := strings.Split(o.Upstream, ",")
		m[strings.TrimSpace(addrs[len(addrs)-1])]++
	}
	return m
}

// requireEveryReplica fails t unless every replica answered some of outs.
func requireEveryReplica(t *testing.T, what string, outs []outcome) {
	t.Helper()
	by := servedBy(outs)
	for _, r := range replicas {
		if by[r.hostPort()] == 0 {
			t.Errorf("%s: replica %s answered none of %d requests (by replica: %v)", what, r.url, len(outs), by)
		}
	}
	t.Logf("%s: requests by replica: %v", what, by)
}
