package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"holdfast/reqstate"
)

// Metrics are the request metrics (HTTP requests, and through Observe the
// operations on websockets) and the open sockets; the GraphQL layer's own
// (reservations, live frames) are graph.Metrics, on the same registry.
// Labels are bounded: the operation label is the operation type and its
// first root field (from the schema), never client text, and no metric
// carries a cart or order id.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	refusals *prometheus.CounterVec

	websockets prometheus.Gauge
}

// NewMetrics registers the request metrics on reg (a nil Metrics records
// nothing).
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_graphql_requests_total",
			Help: "GraphQL operations (HTTP requests, and operations on websockets) by operation (type.rootField) and outcome.",
		}, []string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "holdfast_graphql_request_duration_seconds",
			Help:    "GraphQL operation latency by operation.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_refusals_total",
			Help: "Operations refused before execution (malformed requests, shape limits, rate limits) by code.",
		}, []string{"code"}),
		websockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "holdfast_websocket_connections",
			Help: "Websocket connections open, from the upgrade until the connection is closed and its descriptor released.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.refusals, m.websockets)
	return m
}

// Observe records one finished operation.
func (m *Metrics) Observe(st *reqstate.State, status int) {
	if m == nil {
		return
	}
	sum := st.Summary()
	op, outcome := sum.Operation, sum.Outcome
	if op == "" {
		op = "none"
	}
	if outcome == "ok" && status >= 400 {
		outcome = "http_" + strconv.Itoa(status)
	}
	m.requests.WithLabelValues(op, outcome).Inc()
	if st != nil {
		m.duration.WithLabelValues(op).Observe(time.Since(st.Start).Seconds())
	}
	if code, ok := strings.CutPrefix(outcome, "refused:"); ok {
		m.refusals.WithLabelValues(code).Inc()
	}
}

// websocketsOpen counts sockets opened (1) and closed (-1).
func (m *Metrics) websocketsOpen(delta int) {
	if m != nil {
		m.websockets.Add(float64(delta))
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
