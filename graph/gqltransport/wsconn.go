package gqltransport

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"

	"holdfast/reqstate"
)

// Metrics is what the websocket writers record; graph.Metrics is one.
type Metrics interface {
	// LiveFramesSent counts fast-path frames written to sockets.
	LiveFramesSent(n int)
	// LiveFrameConflated counts a frame replaced, unsent, by a newer one.
	LiveFrameConflated()
	// LiveConnectionDropped counts a connection closed by its writer.
	LiveConnectionDropped(reason string)
}

type noMetrics struct{}

func (noMetrics) LiveFramesSent(int)           {}
func (noMetrics) LiveFrameConflated()          {}
func (noMetrics) LiveConnectionDropped(string) {}

// wsImplementation accepts websockets with coder/websocket and gives each
// connection its writer (wsConn). Compression stays off: a frame of stock
// is ~100 bytes and permessage-deflate costs tens of KB per connection.
type wsImplementation struct {
	accept       websocket.AcceptOptions
	log          *slog.Logger
	metrics      Metrics
	writeTimeout time.Duration
	maxQueued    int
	pool         *writerPool
	// initTimeout is how long a socket may go without a connection_init.
	initTimeout time.Duration
	// accepted, if set, is told of each connection (the executor of the
	// same request uses it for the fast path).
	accepted func(*wsConn)
	// keepAlive is the interval of the server's keep-alive messages.
	keepAlive time.Duration
}

func (i wsImplementation) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	for k, vs := range o.ResponseHeader {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	opts := i.accept
	for _, p := range o.Subprotocols {
		if !slices.Contains(opts.Subprotocols, p) {
			opts.Subprotocols = append(opts.Subprotocols, p)
		}
	}
	hw := &hijackRecorder{ResponseWriter: w}
	ws, err := websocket.Accept(hw, r, &opts)
	if err != nil {
		return nil, err
	}
	if hw.conn == nil { // coder/websocket hijacked through hw, always
		_ = ws.CloseNow()
		return nil, errors.New("websocket: the connection was not recorded at accept")
	}
	c := &wsConn{ws: ws, raw: hw.conn, active: map[string]bool{}, log: i.log, metrics: i.metrics,
		writeTimeout: i.writeTimeout, maxQueued: i.maxQueued, pool: i.pool, st: reqstate.From(r.Context()),
		keepAliveEvery: i.keepAlive}
	if i.initTimeout > 0 {
		c.initTimer = time.AfterFunc(i.initTimeout, func() {
			c.amu.Lock()
			inited := c.initReceived
			c.amu.Unlock()
			if !inited {
				_ = c.protocolError(closeInitTimeout, reqstate.CodeTimeout, "Connection initialisation timeout")
			}
		})
	}
	if i.accepted != nil {
		i.accepted(c)
	}
	return c, nil
}

// wsConn is one websocket. It enforces the protocol where gqlgen does not
// (see NextReader: a message that breaks it closes the socket with the
// protocol's code, and so does an init timeout), and it owns the socket's
// writes: every message goes through a queue that a worker of the
// handler's writerPool drains when there is something to write (an idle
// connection has no goroutine for writing), so nobody who produces a
// message ever waits on the socket.
//
// gqlgen's messages (acks, pings, errors, completes, and every result of
// the general path) queue in order, bounded by maxQueued bytes. Stock
// frames of the fast path keep only the latest per subscription and
// product (a stalled reader is conflated, never buffered). A write that
// does not finish within writeTimeout, or a full queue, drops the
// connection (logged, and counted as LiveConnectionDropped).
type wsConn struct {
	ws *websocket.Conn
	// raw is the socket under ws: the writer writes its batches of
	// messages there itself (writeBatch).
	raw          net.Conn
	log          *slog.Logger
	metrics      Metrics
	writeTimeout time.Duration
	maxQueued    int
	pool         *writerPool
	// st is the upgrade request's state: its access-log line says why the
	// server closed the socket.
	st *reqstate.State

	amu    sync.Mutex
	active map[string]bool
	// initReceived: a connection_init has been read (and passed to gqlgen).
	initReceived bool
	initTimer    *time.Timer
	// lastSubscribe is the id of the subscribe message read last: gqlgen
	// creates the operation's context before it reads the next message.
	lastSubscribe string
	// onSubscribe, if set, is offered each subscribe (or start) message
	// before gqlgen: true means it serves the operation (the fast path,
	// fastsub.go), and gqlgen never sees the message. onComplete is told of
	// each complete (or stop): true means the id was onSubscribe's.
	onSubscribe func(id string, p *graphql.RawParams) bool
	onComplete  func(id string) bool

	// The keep-alive: graphql-transport-ws pings, graphql-ws "ka"
	// messages, every keepAliveEvery from connection_init on. A timer, not
	// gqlgen's goroutine per connection.
	keepAliveEvery time.Duration
	keepAlive      *time.Timer

	mu        sync.Mutex
	ctrl      [][]byte
	ctrlBytes int
	order     []frameKey
	payloads  map[frameKey][]byte
	writing   bool
	closeReq  *closeRequest
	dead      bool

	dmu               sync.Mutex
	readDeadlineTimer *time.Timer
}

type frameKey struct {
	sub     *fastSub
	product int64
}

type closeRequest struct {
	code   int
	reason string
}

var (
	_ transport.WebsocketReadLimiter   = (*wsConn)(nil)
	_ transport.WebsocketReadDeadliner = (*wsConn)(nil)
)

// envelope is the part of a message the server writes that says what it
// is.
type envelope struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// clientMessage is a graphql-ws / graphql-transport-ws message as read
// from a client, before gqlgen decodes it.
type clientMessage struct {
	Type    string          `json:"type"`
	ID      json.RawMessage `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

// subscribeMessage is a subscribe (or legacy start) message's payload, as
// gqlgen will decode it.
type subscribeMessage struct {
	Payload *graphql.RawParams `json:"payload"`
}

func (c *wsConn) Subprotocol() string { return c.ws.Subprotocol() }

// transportWS reports whether the socket speaks graphql-transport-ws (else
// the legacy graphql-ws of subscriptions-transport-ws, gqlgen's default).
func (c *wsConn) transportWS() bool { return c.Subprotocol() == graphqlTransportWS }

// NextReader returns the next message for gqlgen, after checking it against
// the protocol: gqlgen answers some violations with no close at all (a
// connection_init whose payload is not an object left the socket open
// forever), others with 1002 or 1000 rather than the protocol's codes.
// Here a message that breaks graphql-transport-ws closes the socket with
// 4400 (malformed, of an unknown type, without the id it needs, a
// connection_init payload that is not an object), 4401 (an operation before
// connection_init), 4409 (an id in use) or 4429 (a second
// connection_init); on graphql-ws, which has no codes, the client is sent a
// connection_error and the socket is closed with 1002. Pings and pongs
// before connection_init are answered (and ignored) here, as
// graphql-transport-ws allows them at any time.
func (c *wsConn) NextReader() (int, io.Reader, error) {
	for {
		mt, b, err := c.ws.Read(context.Background())
		if err != nil {
			switch websocket.CloseStatus(err) {
			case websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
				return int(mt), nil, transport.ErrWebsocketClosed
			}
			return int(mt), nil, err
		}
		var m clientMessage
		if json.Unmarshal(b, &m) != nil {
			return int(mt), nil, c.protocolError(closeBadRequest, reqstate.CodeBadRequest, "Invalid message received: not a JSON object with a type")
		}
		id, idOK := messageID(m.ID)
		if !idOK {
			return int(mt), nil, c.protocolError(closeBadRequest, reqstate.CodeBadRequest, "Invalid message received: id must be a string")
		}
		transportWS := c.transportWS()
		var sub subscribeMessage
		c.amu.Lock()
		inited := c.initReceived
		switch m.Type {
		case "connection_init":
			if inited {
				c.amu.Unlock()
				return int(mt), nil, c.protocolError(closeTooManyInitRequests, reqstate.CodeBadRequest, "Too many initialisation requests")
			}
			if !objectOrNull(m.Payload) {
				c.amu.Unlock()
				return int(mt), nil, c.protocolError(closeBadRequest, reqstate.CodeBadRequest, "Invalid connection_init: its payload must be an object")
			}
			c.initReceived = true
			if c.initTimer != nil {
				c.initTimer.Stop()
			}
			if c.keepAliveEvery > 0 {
				c.keepAlive = time.AfterFunc(c.keepAliveEvery, c.sendKeepAlive)
			}
		case "ping", "pong":
			if !transportWS {
				c.amu.Unlock()
				return int(mt), nil, c.protocolError(closeBadRequest, reqstate.CodeBadRequest, "Invalid message type "+truncate(m.Type, 32))
			}
			if !inited {
				// gqlgen would close the socket: answer a ping here.
				c.amu.Unlock()
				if m.Type == "ping" {
					pong := map[string]any{"type": "pong"}
					if objectOrNull(m.Payload) && len(m.Payload) > 0 {
						pong["payload"] = m.Payload
					}
					if err := c.WriteJSON(pong); err != nil {
						return int(mt), nil, err
					}
				}
				continue
			}
		case "subscribe", "start", "complete", "stop":
			if (m.Type == "subscribe" || m.Type == "complete") != transportWS {
				c.amu.Unlock()
				return int(mt), nil, c.protocolError(closeBadRequest, reqstate.CodeBadRequest, "Invalid message type "+truncate(m.Type, 32))
			}
			if !inited {
				c.amu.Unlock()
				return int(mt), nil, c.protocolError(closeUnauthorized, reqstate.CodeBadRequest, "Unauthorized: send connection_init first")
			}
			if id == "" {
				c.amu.Unlock()
				return int(mt), nil, c.protocolError(closeBadRequest, reqstate.CodeBadRequest, "Invalid message received: "+m.Type+" needs an id")
			}
			if m.Type == "complete" || m.Type == "stop" {
				delete(c.active, id)
				break
			}
			if c.active[id] {
				c.amu.Unlock()
				_ = c.WriteClose(closeDuplicateID, "Subscriber for "+truncate(id, 64)+" already exists")
				return int(mt), nil, transport.ErrWebsocketClosed
			}
			if json.Unmarshal(b, &sub) != nil || sub.Payload == nil {
				// gqlgen would answer "invalid json" with no code: answer
				// here, and read on.
				c.amu.Unlock()
				if err := c.refuse(id, "the subscribe payload must be an object of the form {\"query\": \"...\", \"variables\": {...}}"); err != nil {
					return int(mt), nil, err
				}
				continue
			}
			c.active[id] = true
			c.lastSubscribe = id
		case "connection_terminate":
			if transportWS {
				c.amu.Unlock()
				return int(mt), nil, c.protocolError(closeBadRequest, reqstate.CodeBadRequest, "Invalid message type "+truncate(m.Type, 32))
			}
		default:
			c.amu.Unlock()
			return int(mt), nil, c.protocolError(closeBadRequest, reqstate.CodeBadRequest, "Invalid message type "+truncate(m.Type, 32))
		}
		c.amu.Unlock()
		switch m.Type {
		case "subscribe", "start":
			if c.onSubscribe != nil && c.onSubscribe(id, sub.Payload) {
				continue
			}
		case "complete", "stop":
			if c.onComplete != nil && c.onComplete(id) {
				continue
			}
		}
		return int(mt), bytes.NewReader(b), nil
	}
}

// sendKeepAlive queues the protocol's keep-alive message and schedules
// the next, until the socket closes.
func (c *wsConn) sendKeepAlive() {
	msg := []byte(`{"type":"ka"}`)
	if c.transportWS() {
		msg = []byte(`{"type":"ping"}`)
	}
	c.mu.Lock()
	if c.dead || c.closeReq != nil {
		c.mu.Unlock()
		return
	}
	c.ctrl = append(c.ctrl, msg)
	c.ctrlBytes += len(msg)
	c.kickLocked()
	c.mu.Unlock()
	c.amu.Lock()
	c.keepAlive.Reset(c.keepAliveEvery)
	c.amu.Unlock()
}

// messageID decodes a message's id: absent or null is "", anything but a
// string is not ok.
func messageID(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", true
	}
	var id string
	if json.Unmarshal(raw, &id) != nil {
		return "", false
	}
	return id, true
}

// objectOrNull reports whether a payload is absent, null or an object.
func objectOrNull(raw json.RawMessage) bool {
	t := bytes.TrimLeft(raw, " \t\r\n")
	return len(t) == 0 || t[0] == '{' || string(t) == "null"
}

// protocolError ends the socket for a breach of its protocol:
// graphql-transport-ws closes with code; graphql-ws, which has no codes,
// is sent a connection_error (with errCode) and closed with 1002.
func (c *wsConn) protocolError(code int, errCode, msg string) error {
	c.st.SetOutcome("refused:" + errCode)
	if !c.transportWS() {
		_ = c.WriteJSON(map[string]any{"type": "connection_error", "payload": reqstate.RefusalError(nil, errCode, msg)})
		code = int(websocket.StatusProtocolError)
	}
	_ = c.WriteClose(code, truncate(msg, 120))
	return transport.ErrWebsocketClosed
}

// closeIfOpen closes a socket that gqlgen left open (it has returned from
// the connection): every socket whose handler ends is closed.
func (c *wsConn) closeIfOpen() {
	c.amu.Lock()
	if c.initTimer != nil {
		c.initTimer.Stop()
	}
	if c.keepAlive != nil {
		c.keepAlive.Stop()
	}
	c.amu.Unlock()
	_ = c.WriteClose(int(websocket.StatusInternalError), "internal error")
}

// subscribeID is the id of the subscribe message read last.
func (c *wsConn) subscribeID() string {
	c.amu.Lock()
	defer c.amu.Unlock()
	return c.lastSubscribe
}

// refuse answers one operation with a coded error, in the socket's
// protocol: graphql-transport-ws sends a list of errors, graphql-ws one.
func (c *wsConn) refuse(id, msg string) error {
	e := reqstate.RefusalError(nil, reqstate.CodeBadRequest, msg)
	var payload any = []any{e}
	if c.Subprotocol() != "graphql-transport-ws" {
		payload = e
	}
	return c.WriteJSON(map[string]any{"id": id, "type": "error", "payload": payload})
}

// WriteJSON queues one of gqlgen's messages.
func (c *wsConn) WriteJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// Only a complete or an error ends an id; most frames are neither.
	var m envelope
	if (bytes.Contains(b, []byte(`"complete"`)) || bytes.Contains(b, []byte(`"error"`))) &&
		json.Unmarshal(b, &m) == nil && m.ID != "" && (m.Type == "complete" || m.Type == "error") {
		c.amu.Lock()
		delete(c.active, m.ID)
		c.amu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closeReq != nil {
		return transport.ErrWebsocketClosed
	}
	if c.ctrlBytes+len(b) > c.maxQueued {
		c.failLocked("queue_full", nil)
		return transport.ErrWebsocketClosed
	}
	c.ctrl = append(c.ctrl, b)
	c.ctrlBytes += len(b)
	c.kickLocked()
	return nil
}

// queueFrame queues a fast-path frame, replacing one still unsent for the
// same subscription and product.
func (c *wsConn) queueFrame(s *fastSub, product int64, payload []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closeReq != nil {
		return
	}
	k := frameKey{s, product}
	if c.payloads == nil {
		c.payloads = map[frameKey][]byte{}
	}
	if _, pending := c.payloads[k]; pending {
		c.metrics.LiveFrameConflated()
	} else {
		c.order = append(c.order, k)
	}
	c.payloads[k] = payload
	c.kickLocked()
}

// kickLocked hands the connection to a writer unless one has it. Called
// with c.mu held.
func (c *wsConn) kickLocked() {
	if !c.writing && !c.dead {
		c.writing = true
		if c.pool != nil {
			c.pool.submit(c)
		} else {
			go c.writeLoop()
		}
	}
}

// writeLoop writes what is queued until nothing is, then ends (or closes
// the socket, if asked to).
func (c *wsConn) writeLoop() {
	for {
		c.mu.Lock()
		if c.dead {
			c.writing = false
			c.mu.Unlock()
			return
		}
		ctrl, order, payloads := c.ctrl, c.order, c.payloads
		c.ctrl, c.ctrlBytes, c.order, c.payloads = nil, 0, nil, nil
		if len(ctrl) == 0 && len(order) == 0 {
			req := c.closeReq
			if req != nil {
				c.dead = true
			}
			c.writing = false
			c.mu.Unlock()
			if req != nil {
				// The close handshake waits for the peer (5 s at most):
				// not on a worker of the pool, which a crowd of sockets
				// refused at once would otherwise hold.
				go func() { _ = c.ws.Close(websocket.StatusCode(req.code), req.reason) }()
			}
			return
		}
		c.mu.Unlock()

		err := c.writeBatch(ctrl, order, payloads)
		if err != nil {
			reason := "write_error"
			if errors.Is(err, os.ErrDeadlineExceeded) {
				reason = "write_timeout"
			}
			c.mu.Lock()
			if c.closeReq == nil || reason == "write_timeout" {
				c.failLocked(reason, err)
			} else {
				c.dead = true // a socket closing anyway
			}
			c.writing = false
			c.mu.Unlock()
			_ = c.ws.CloseNow()
			return
		}
	}
}

// failLocked drops the connection: queues are discarded, the socket is
// closed (so gqlgen's reader ends and cancels every operation on it).
// Called with c.mu held.
func (c *wsConn) failLocked(reason string, err error) {
	if c.dead {
		return
	}
	c.dead = true
	c.ctrl, c.ctrlBytes, c.order, c.payloads = nil, 0, nil, nil
	c.metrics.LiveConnectionDropped(reason)
	if c.log != nil {
		attrs := []any{"reason", reason}
		if err != nil {
			attrs = append(attrs, "err", err.Error())
		}
		c.log.Warn("websocket dropped", attrs...)
	}
	go func() { _ = c.ws.CloseNow() }()
}

// WriteClose closes the socket once what is queued is written.
func (c *wsConn) WriteClose(code int, reason string) error {
	c.clearReadDeadline()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead || c.closeReq != nil {
		return nil
	}
	c.closeReq = &closeRequest{code: code, reason: reason}
	c.kickLocked()
	return nil
}

// Close closes the socket now, unless WriteClose asked the writer to close
// it after what is queued (then the writer closes it, with the close
// handshake, or has dropped it).
func (c *wsConn) Close() error {
	c.clearReadDeadline()
	c.mu.Lock()
	closing := c.closeReq != nil
	c.mu.Unlock()
	if closing {
		return nil
	}
	return c.ws.CloseNow()
}

func (c *wsConn) SetReadLimit(n int64) { c.ws.SetReadLimit(n) }

// SetReadDeadline closes the socket at t (coder/websocket reads take a
// context, not a deadline).
func (c *wsConn) SetReadDeadline(t time.Time) error {
	c.dmu.Lock()
	if c.readDeadlineTimer != nil {
		c.readDeadlineTimer.Stop()
		c.readDeadlineTimer = nil
	}
	now := false
	if !t.IsZero() {
		if d := time.Until(t); d <= 0 {
			now = true
		} else {
			c.readDeadlineTimer = time.AfterFunc(d, func() { _ = c.ws.CloseNow() })
		}
	}
	c.dmu.Unlock()
	if now {
		return c.ws.CloseNow()
	}
	return nil
}

func (c *wsConn) clearReadDeadline() {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if c.readDeadlineTimer != nil {
		c.readDeadlineTimer.Stop()
		c.readDeadlineTimer = nil
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// hijackRecorder keeps the connection coder/websocket hijacks.
type hijackRecorder struct {
	http.ResponseWriter
	conn net.Conn
}

// Hijack hands coder/websocket the connection with a small writer in
// place of net/http's 4 KB one, which an idle socket would keep for its
// whole life: it only carries coder's control frames (pongs and the close
// frame, at most 139 bytes: one write each); every other message is
// written by writeBatch.
func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return conn, brw, err
	}
	h.conn = conn
	return conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriterSize(conn, controlWriteBuffer)), nil
}

// controlWriteBuffer holds coder/websocket's largest control frame (a
// 125-byte payload and a 14-byte header) whole.
const controlWriteBuffer = 256

func (h *hijackRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// batchBufs are the writers' buffers, reused.
var batchBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// writeBatch writes queued messages to the socket: gqlgen's messages, then
// the stock frames (each wrapped in its subscription's envelope), framed
// here into one buffer and written with one write(2) under one deadline.
// coder/websocket's Write would take its frame lock, arm a context and
// flush its buffer once per message: at a drop's scale that was most of
// the writers' time besides the syscall itself. The socket's other writes
// (coder's pongs and close frames, from the reader or Close) never land
// inside one of these: each side writes whole frames in a single Write,
// and the connection serialises Writes (net.Conn's write lock).
func (c *wsConn) writeBatch(ctrl [][]byte, order []frameKey, payloads map[frameKey][]byte) error {
	bp := batchBufs.Get().(*[]byte)
	b := (*bp)[:0]
	for _, m := range ctrl {
		b = appendFrameHeader(b, len(m))
		b = append(b, m...)
	}
	sent := 0
	for _, k := range order {
		if k.sub.ended() {
			continue
		}
		p := payloads[k]
		b = appendFrameHeader(b, len(k.sub.prefix)+len(p)+1)
		b = k.sub.envelope(b, p)
		sent++
	}
	_ = c.raw.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	_, err := c.raw.Write(b)
	if err == nil {
		// coder/websocket's own writes (its close frame) have no deadline.
		_ = c.raw.SetWriteDeadline(time.Time{})
		c.metrics.LiveFramesSent(sent)
	}
	if cap(b) <= 1<<16 {
		*bp = b[:0]
		batchBufs.Put(bp)
	}
	return err
}

// appendFrameHeader appends the header of an unmasked, final text frame of
// n bytes (RFC 6455 5.2; a server's frames are never masked).
func appendFrameHeader(b []byte, n int) []byte {
	b = append(b, 0x81)
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xffff:
		return append(b, 126, byte(n>>8), byte(n))
	default:
		return append(b, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}
