package graph_test

import (
	"os"
	"sort"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
	"holdfast/reqstate"
)

// Metric names and labels are a contract (docs/operations.md): graph's and
// the transport's metrics share one registry, as the server wires them,
// under the names and labels the operations guide lists.
func TestMetricNamesAndLabels(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	hm := httpapi.NewMetrics(reg)
	gm := graph.NewMetrics(reg)

	st := reqstate.New("192.0.2.1", "websocket")
	st.SetOutcome("refused:" + reqstate.CodeRateLimited)
	hm.Observe(st, 200)
	gm.Reservation("")
	gm.Reservation("INSUFFICIENT_STOCK")
	gm.LiveFrameRendered()
	gm.LiveFramesSent(2)
	gm.LiveFrameConflated()
	gm.LiveConnectionDropped("write_timeout")
	var none *graph.Metrics // records nothing, and does not panic
	none.Reservation("")
	none.LiveFramesSent(1)

	families, err := reg.Gather()
	require.NoError(t, err)
	got := map[string][]string{}
	for _, f := range families {
		var labels []string
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels = append(labels, l.GetName())
		}
		sort.Strings(labels)
		got[f.GetName()] = labels
	}
	want := map[string][]string{
		"holdfast_graphql_requests_total":           {"operation", "outcome"},
		"holdfast_graphql_request_duration_seconds": {"operation"},
		"holdfast_refusals_total":                   {"code"},
		"holdfast_reservations_total":               {"code", "result"},
		"holdfast_live_frames_rendered_total":       nil,
		"holdfast_live_frames_sent_total":           nil,
		"holdfast_live_frames_conflated_total":      nil,
		"holdfast_live_connections_dropped_total":   {"reason"},
		"holdfast_websocket_connections":            nil,
	}
	assert.Equal(t, want, got)

	guide, err := os.ReadFile("../docs/operations.md")
	require.NoError(t, err)
	for name := range want {
		assert.Contains(t, string(guide), "`"+name+"`", "docs/operations.md lists %s", name)
	}
}
