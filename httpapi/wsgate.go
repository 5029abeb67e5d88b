package httpapi

import (
	"bufio"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"holdfast/config"
	"holdfast/reqstate"
)

// WebsocketGate stands in front of the websocket transport: it answers a malformed
// upgrade with a coded JSON error (rather than the websocket library's plain
// text), refuses origins the CORS policy refuses, and caps the sockets one
// client address may hold open. A socket counts from its upgrade until its
// connection is closed (its descriptor released), however long after the
// handler returned that is.
type WebsocketGate struct {
	origin  func(string) bool
	max     int // per client address; < 0: no cap
	metrics *Metrics

	mu     sync.Mutex
	byAddr map[string]int
}

// NewWebsocketGate allows the server's own origin and those origin accepts
// (nil: no others) and max sockets per client address (0: the
// default; negative: no cap).
func NewWebsocketGate(origin func(string) bool, max int) *WebsocketGate {
	if max == 0 {
		max = config.Defaults().MaxWSPerIP
	}
	return &WebsocketGate{origin: origin, max: max, byAddr: map[string]int{}}
}

// WithMetrics records the open sockets in m (nil: nowhere).
func (g *WebsocketGate) WithMetrics(m *Metrics) *WebsocketGate {
	g.metrics = m
	return g
}

// Open is the number of sockets addr holds open (upgrades in progress
// included).
func (g *WebsocketGate) Open(addr string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.byAddr[addr]
}

func (g *WebsocketGate) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !reqstate.IsUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		st := reqstate.From(r.Context())
		if status, msg := badUpgrade(r); status != 0 {
			code := reqstate.CodeBadRequest
			if status == http.StatusUpgradeRequired {
				code = reqstate.CodeUpgradeRequired
				w.Header().Set("Upgrade", "websocket")
				w.Header().Set("Connection", "Upgrade")
			}
			reqstate.Refuse(w, st, status, code, msg)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, r) && (g.origin == nil || !g.origin(o)) {
			reqstate.Refuse(w, st, http.StatusForbidden, reqstate.CodeOriginNotAllowed, "websocket connections from this origin are not allowed")
			return
		}
		addr := wsClientAddr(st)
		if !g.claim(addr) {
			reqstate.Refuse(w, st, http.StatusTooManyRequests, reqstate.CodeConnectionLimit, "too many websocket connections from this address")
			return
		}
		// The place is given back when the handler returns without having
		// taken the connection over, or else when the connection it took
		// over is closed: a socket outlives its handler.
		hw := &hijackWriter{ResponseWriter: w, release: sync.OnceFunc(func() { g.release(addr) })}
		defer func() {
			if !hw.hijacked {
				hw.release()
			}
		}()
		next.ServeHTTP(hw, r)
	})
}

// wsClientAddr is the client address sockets are counted by.
func wsClientAddr(st *reqstate.State) string {
	if st == nil {
		return ""
	}
	return st.ClientIP
}

func (g *WebsocketGate) claim(addr string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.max >= 0 && g.byAddr[addr] >= g.max {
		return false
	}
	g.byAddr[addr]++
	g.metrics.websocketsOpen(1)
	return true
}

func (g *WebsocketGate) release(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.metrics.websocketsOpen(-1)
	if g.byAddr[addr] <= 1 {
		delete(g.byAddr, addr)
		return
	}
	g.byAddr[addr]--
}

// hijackWriter hands the websocket library a connection whose Close gives
// the socket's place back.
type hijackWriter struct {
	http.ResponseWriter
	release  func()
	hijacked bool
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.hijacked = true
	return &releasingConn{Conn: c, release: w.release}, brw, nil
}

func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type releasingConn struct {
	net.Conn
	release func()
}

func (c *releasingConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}

// badUpgrade checks a websocket handshake as RFC 6455 asks (the checks the
// websocket library makes), returning the status and message to refuse it
// with, or 0.
func badUpgrade(r *http.Request) (int, string) {
	switch {
	case !headerHasToken(r.Header, "Upgrade", "websocket"):
		return http.StatusUpgradeRequired, "only websocket upgrades are supported (Upgrade: websocket)"
	case !headerHasToken(r.Header, "Connection", "upgrade"):
		return http.StatusUpgradeRequired, "a websocket handshake needs Connection: Upgrade"
	case r.Method != http.MethodGet:
		return http.StatusMethodNotAllowed, "a websocket handshake must be a GET request"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return http.StatusBadRequest, "unsupported websocket version: only 13 is supported"
	}
	keys := r.Header.Values("Sec-WebSocket-Key")
	if len(keys) != 1 {
		return http.StatusBadRequest, "a websocket handshake needs one Sec-WebSocket-Key"
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(keys[0])); err != nil || len(k) != 16 {
		return http.StatusBadRequest, "Sec-WebSocket-Key must be 16 bytes, base64-encoded"
	}
	return 0, ""
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// sameOrigin reports whether origin names the host the request was sent to
// (a page served by this server, such as GraphiQL).
func sameOrigin(origin string, r *http.Request) bool {
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host)
}
