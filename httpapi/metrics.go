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

// Metrics are the request metrics. Labels are bounded: the operation label
// is the operation type and its first root field (from the schema), never
// client text, and no metric carries a cart or order id.
type Metrics struct {
	reg          *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	reservations *prometheus.CounterVec
	refusals     *prometheus.CounterVec

	liveRendered  prometheus.Counter
	liveSent      prometheus.Counter
	liveConflated prometheus.Counter
	liveDropped   *prometheus.CounterVec

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
		reservations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_reservations_total",
			Help: "addToCart outcomes: granted, or refused with the refusal's code.",
		}, []string{"result", "code"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_refusals_total",
			Help: "Operations refused before execution (malformed requests, shape limits, rate limits) by code.",
		}, []string{"code"}),
		liveRendered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "holdfast_live_frames_rendered_total",
			Help: "stockChanged payloads rendered on the fast path: one per product level and selection per push, however many subscribers share it.",
		}),
		liveSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "holdfast_live_frames_sent_total",
			Help: "stockChanged fast-path frames written to sockets.",
		}),
		liveConflated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "holdfast_live_frames_conflated_total",
			Help: "stockChanged fast-path frames replaced, unsent, by a newer level (a slow reader).",
		}),
		liveDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_live_connections_dropped_total",
			Help: "Websocket connections closed by the server because their reader stalled (write_timeout), their queue overflowed (queue_full) or a write failed (write_error).",
		}, []string{"reason"}),
		websockets: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "holdfast_websocket_connections",
			Help: "Websocket connections open, from the upgrade until the connection is closed and its descriptor released.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.reservations, m.refusals,
		m.liveRendered, m.liveSent, m.liveConflated, m.liveDropped, m.websockets)
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

// Reservation records one addToCart outcome ("" for granted).
func (m *Metrics) Reservation(code string) {
	if m == nil {
		return
	}
	if code == "" {
		m.reservations.WithLabelValues("granted", "").Inc()
		return
	}
	m.reservations.WithLabelValues("refused", code).Inc()
}

// LiveFrameRendered counts one fast-path stock payload rendered.
func (m *Metrics) LiveFrameRendered() {
	if m != nil {
		m.liveRendered.Inc()
	}
}

// LiveFramesSent counts fast-path frames written to sockets.
func (m *Metrics) LiveFramesSent(n int) {
	if m != nil && n > 0 {
		m.liveSent.Add(float64(n))
	}
}

// LiveFrameConflated counts a frame replaced by a newer one before it was
// written.
func (m *Metrics) LiveFrameConflated() {
	if m != nil {
		m.liveConflated.Inc()
	}
}

// LiveConnectionDropped counts a websocket the server closed for a stalled
// or failed write.
func (m *Metrics) LiveConnectionDropped(reason string) {
	if m != nil {
		m.liveDropped.WithLabelValues(reason).Inc()
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
