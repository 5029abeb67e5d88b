package graph

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// Metrics are what the GraphQL layer records itself: addToCart's outcomes
// and the stock fast path's frames (websocket operations are counted in
// the request metrics, through HandlerConfig.Observe). A nil *Metrics
// records nothing.
type Metrics struct {
	reservations *prometheus.CounterVec

	liveRendered  prometheus.Counter
	liveSent      prometheus.Counter
	liveConflated prometheus.Counter
	liveDropped   *prometheus.CounterVec

	renders *prometheus.CounterVec
}

// NewMetrics registers the GraphQL layer's metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	f := promauto.With(reg)
	return &Metrics{
		reservations: f.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_reservations_total",
			Help: "addToCart outcomes: granted, or refused with the refusal's code.",
		}, []string{"result", "code"}),
		liveRendered: f.NewCounter(prometheus.CounterOpts{
			Name: "holdfast_live_frames_rendered_total",
			Help: "stockChanged payloads rendered on the fast path: one per product level and selection per push, however many subscribers share it.",
		}),
		liveSent: f.NewCounter(prometheus.CounterOpts{
			Name: "holdfast_live_frames_sent_total",
			Help: "stockChanged fast-path frames written to sockets.",
		}),
		liveConflated: f.NewCounter(prometheus.CounterOpts{
			Name: "holdfast_live_frames_conflated_total",
			Help: "stockChanged fast-path frames replaced, unsent, by a newer level (a slow reader).",
		}),
		liveDropped: f.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_live_connections_dropped_total",
			Help: "Websocket connections closed by the server because their reader stalled (write_timeout), their queue overflowed (queue_full) or a write failed (write_error).",
		}, []string{"reason"}),
		renders: f.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_renders_total",
			Help: "Carts and product groups rendered in answers, by type: by their selection's compiled plan (path compiled), or by gqlgen's field execution (generic: a selection the plan cannot write, or a resolver error).",
		}, []string{"type", "path"}),
	}
}

// Render records one object of type typ rendered, compiled or not.
func (m *Metrics) Render(typ string, compiled bool) {
	if m == nil {
		return
	}
	path := "generic"
	if compiled {
		path = "compiled"
	}
	m.renders.WithLabelValues(typ, path).Inc()
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

// LiveFrameRendered counts one fast-path stock payload rendered (once per
// level and selection, however many subscribers it goes to).
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
