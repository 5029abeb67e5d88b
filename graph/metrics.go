package graph

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"holdfast/graph/live"
	"holdfast/storage"
)

// Metrics are the service's Prometheus metrics. Labels are bounded: the
// operation label is the operation type and its first root field (from the
// schema), never client text, and no metric carries a cart or order id.
type Metrics struct {
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	reservations *prometheus.CounterVec
	refusals     *prometheus.CounterVec
}

// NewMetrics registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer, store *storage.Store, hub *live.Hub) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_graphql_requests_total",
			Help: "GraphQL HTTP requests by operation (type.rootField) and outcome.",
		}, []string{"operation", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "holdfast_graphql_request_duration_seconds",
			Help:    "GraphQL HTTP request latency by operation.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
		reservations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_reservations_total",
			Help: "addToCart outcomes: granted, or refused with the refusal's code.",
		}, []string{"result", "code"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "holdfast_refusals_total",
			Help: "Requests refused before execution (malformed requests, shape limits, rate limits) by code.",
		}, []string{"code"}),
	}
	stats := func(name, help string, f func(storage.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f(store.Stats())) })
	}
	reg.MustRegister(m.requests, m.duration, m.reservations, m.refusals,
		collectors.NewDBStatsCollector(store.DB().DB, "holdfast"),
		stats("holdfast_reaper_carts_expired_total", "Carts expired by the reaper.", func(s storage.Stats) int64 { return s.CartsExpired }),
		stats("holdfast_reaper_units_released_total", "Held units released by the reaper.", func(s storage.Stats) int64 { return s.UnitsReleased }),
		stats("holdfast_checkouts_total", "Orders placed.", func(s storage.Stats) int64 { return s.Checkouts }),
		stats("holdfast_checkout_units_total", "Units sold by checkouts.", func(s storage.Stats) int64 { return s.UnitsSold }),
		stats("holdfast_checkout_value_cents_total", "Value of orders placed, in cents (all currencies summed).", func(s storage.Stats) int64 { return s.SalesCents }),
		stats("holdfast_reservation_batches_total", "Coalesced reservation batches (more than one request in one statement).", func(s storage.Stats) int64 { return s.Batches }),
		stats("holdfast_reservation_batch_fallbacks_total", "Batches that failed and fell back to per-request reservations.", func(s storage.Stats) int64 { return s.BatchFallbacks }),
	)
	if hub != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "holdfast_subscriptions",
			Help: "Live subscriptions on this instance.",
		}, func() float64 { return float64(hub.Subscriptions()) }))
	}
	return m
}

// observe records one finished HTTP request.
func (m *Metrics) observe(st *reqState, status int) {
	if m == nil {
		return
	}
	st.mu.Lock()
	op, outcome := st.operation, st.outcome
	st.mu.Unlock()
	if op == "" {
		op = "none"
	}
	if outcome == "" {
		outcome = "ok"
		if status >= 400 {
			outcome = "http_" + strconv.Itoa(status)
		}
	}
	m.requests.WithLabelValues(op, outcome).Inc()
	m.duration.WithLabelValues(op).Observe(time.Since(st.start).Seconds())
	if len(outcome) > len("refused:") && outcome[:len("refused:")] == "refused:" {
		m.refusals.WithLabelValues(outcome[len("refused:"):]).Inc()
	}
}

func (m *Metrics) reservation(code string) {
	if m == nil {
		return
	}
	if code == "" {
		m.reservations.WithLabelValues("granted", "").Inc()
		return
	}
	m.reservations.WithLabelValues("refused", code).Inc()
}
