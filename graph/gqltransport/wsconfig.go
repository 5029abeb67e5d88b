package gqltransport

import (
	"context"
	"log/slog"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"

	"holdfast/reqstate"
)

// WebsocketConfig is what the websocket transport needs. Zero durations
// and sizes are the caller's to default (graph.HandlerConfig does).
type WebsocketConfig struct {
	Log *slog.Logger
	// Observe records each operation on a socket in the request metrics
	// (HTTP requests are recorded by the transport in front); nil: nowhere.
	Observe func(st *reqstate.State, status int)
	// Metrics records the frames written and the connections dropped;
	// nil: nowhere.
	Metrics Metrics
	// Init is the connection_init hook (gqlgen's InitFunc).
	Init transport.WebsocketInitFunc
	// KeepAlive is the interval of graphql-ws "ka" messages and of
	// graphql-transport-ws pings.
	KeepAlive time.Duration
	// WriteTimeout bounds one batch of writes to a socket; a connection
	// whose reader stalls longer is dropped.
	WriteTimeout time.Duration
	// MaxQueued bounds the bytes of messages (other than the conflated
	// stock frames) queued for one socket; past it the connection is
	// dropped.
	MaxQueued int
	// InitTimeout is how long a socket may go without its connection_init
	// before it is closed (graphql-transport-ws: 4408).
	InitTimeout time.Duration
	// RequestTimeout bounds each query and mutation on a socket.
	RequestTimeout time.Duration
	// FastPath, if set, serves the subscriptions it can without gqlgen's
	// executor.
	FastPath FastPath
}

// FastPath serves a subscription on shared, pre-rendered frames when it
// can: it starts the subscription's frames into the sink newSink makes and
// returns stop (called when the subscription ends), or ok=false for
// gqlgen's executor to serve the operation.
type FastPath func(ctx context.Context, rc *graphql.OperationContext, newSink func() FrameSink) (stop func(), ok bool)

// NewWebsocket is the websocket transport (graphql-transport-ws, and
// graphql-ws for older clients). Origins are checked in front, by the
// transport's websocket gate (httpapi.WebsocketGate), against the CORS
// allowlist.
func NewWebsocket(cfg WebsocketConfig) graphql.Transport {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Observe == nil {
		cfg.Observe = func(*reqstate.State, int) {}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	return wsTransport{
		impl: wsImplementation{
			accept:       websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled},
			log:          cfg.Log,
			metrics:      cfg.Metrics,
			writeTimeout: cfg.WriteTimeout,
			maxQueued:    cfg.MaxQueued,
			initTimeout:  cfg.InitTimeout,
			keepAlive:    cfg.KeepAlive,
			pool:         newWriterPool(),
		},
		Websocket: transport.Websocket{
			InitFunc: cfg.Init,
			// The init timeout is the connection's (wsConn): gqlgen's
			// closes with 1002, not graphql-transport-ws's 4408.
			InitTimeout: 0,
			// The keep-alive (graphql-ws "ka", graphql-transport-ws ping)
			// is the connection's too (wsConn.sendKeepAlive): a timer,
			// where gqlgen's is a goroutine per socket. A client that
			// answers no ping stays connected, as with gqlgen's
			// MissingPongOk.
		},
		log:     cfg.Log,
		observe: cfg.Observe,
		timeout: cfg.RequestTimeout,
		fast:    cfg.FastPath,
	}
}
