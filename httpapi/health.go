package httpapi

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// Drain is a server's stopping state: once started, /readyz fails and every
// response asks the client to close its connection, so load balancers and
// keep-alive clients move elsewhere before the listener closes.
type Drain struct{ draining atomic.Bool }

// Start begins draining.
func (d *Drain) Start() { d.draining.Store(true) }

// Draining reports whether Start was called.
func (d *Drain) Draining() bool { return d.draining.Load() }

// Wrap adds Connection: close to responses while draining. (Turning
// keep-alives off would close idle connections at once, racing a client's
// next request on them.)
func (d *Drain) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Draining() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// Healthz answers while the process serves at all.
func Healthz(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }

// Readyz answers 200 while the server should get traffic: not draining,
// and ready (the database reachable and migrated) answering nil within 2 s;
// else 503 with the reason.
func Readyz(d *Drain, ready func(context.Context) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.Draining() {
			http.Error(w, "not ready: shutting down", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	}
}
