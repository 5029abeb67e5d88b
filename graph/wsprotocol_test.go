package graph_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/httpapi"
)

// wsWait bounds every wait for the server in these tests: generous, as the
// server answers at once and only a broken one takes this long.
const wsWait = 30 * time.Second

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

// dialProto opens a websocket speaking proto, with no message sent yet.
func dialProto(t *testing.T, ctx context.Context, srv *httptest.Server, proto string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.Dial(ctx, wsURL(srv), &websocket.DialOptions{Subprotocols: []string{proto}})
	require.NoError(t, err)
	if resp.Body != nil {
		resp.Body.Close()
	}
	require.Equal(t, proto, c.Subprotocol())
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

func send(t *testing.T, ctx context.Context, c *websocket.Conn, msg string) {
	t.Helper()
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(msg)))
}

// readUntilClose reads until the server closes the socket and returns its
// close code and the messages it sent first (keep-alives left out).
func readUntilClose(t *testing.T, ctx context.Context, c *websocket.Conn) (websocket.StatusCode, []wsMsg) {
	t.Helper()
	var msgs []wsMsg
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			require.NoError(t, ctx.Err(), "the server did not close the socket (messages: %v)", msgs)
			return websocket.CloseStatus(err), msgs
		}
		var m wsMsg
		require.NoError(t, json.Unmarshal(b, &m), "%s", b)
		if m.Type != "ping" && m.Type != "ka" {
			msgs = append(msgs, m)
		}
	}
}

// openWebsockets is the holdfast_websocket_connections gauge.
func openWebsockets(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "holdfast_websocket_connections" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no holdfast_websocket_connections gauge")
	return 0
}

// Finding 7: a connection_init whose payload is not an object left the
// socket open forever (gqlgen returned without closing it) and, its
// handler done, uncounted by the per-address cap. Now it is closed with
// the protocol's code, and every socket counts from its upgrade until its
// connection is closed.
func TestWebsocketBadInitPayloadIsClosedAndCounted(t *testing.T) {
	t.Parallel()
	payloads := []string{`[]`, `"str"`, `123`}
	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			srv, logs, reg := wsServer(t, graph.HandlerConfig{}, httpapi.APIConfig{MaxWebsocketsPerAddress: len(payloads)})
			ctx, cancel := context.WithTimeout(context.Background(), wsWait)
			defer cancel()

			conns := make([]*websocket.Conn, len(payloads))
			for i := range conns {
				conns[i] = dialProto(t, ctx, srv, proto)
			}
			// The sockets count from their upgrade: one more is refused.
			_, resp, err := websocket.Dial(ctx, wsURL(srv), &websocket.DialOptions{Subprotocols: []string{proto}})
			require.Error(t, err)
			require.NotNil(t, resp)
			resp.Body.Close()
			assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
			assert.InDelta(t, float64(len(payloads)), openWebsockets(t, reg), 0)

			for i, p := range payloads {
				send(t, ctx, conns[i], `{"type":"connection_init","payload":`+p+`}`)
				code, msgs := readUntilClose(t, ctx, conns[i])
				if proto == "graphql-transport-ws" {
					assert.Equal(t, websocket.StatusCode(4400), code, "payload %s", p)
					assert.Empty(t, msgs, "payload %s: no ack", p)
					continue
				}
				assert.Equal(t, websocket.StatusProtocolError, code, "payload %s", p)
				require.Len(t, msgs, 1, "payload %s", p)
				assert.Equal(t, "connection_error", msgs[0].Type)
				assert.Contains(t, string(msgs[0].Payload), `"code":"BAD_REQUEST"`)
			}

			// Each connection is released once closed: the gauge (what the
			// cap counts) returns to zero and a new socket is accepted.
			require.Eventually(t, func() bool { return openWebsockets(t, reg) == 0 }, wsWait, 10*time.Millisecond,
				"the closed sockets' connections are released")
			require.Eventually(t, func() bool {
				return strings.Count(logs.String(), `"status":101,"outcome":"refused:BAD_REQUEST"`) == len(payloads)
			}, wsWait, 10*time.Millisecond, "each socket's access-log line says it was refused: %s", logs)
			c := dialProto(t, ctx, srv, proto)
			send(t, ctx, c, `{"type":"connection_init","payload":{}}`)
			var m wsMsg
			_, b, err := c.Read(ctx)
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(b, &m))
			assert.Equal(t, "connection_ack", m.Type)
		})
	}
}

// Finding 15: messages graphql-transport-ws does not allow close the socket
// with its codes (a subscribe before connection_init was closed with 1002;
// one without an id was answered, without an id).
func TestWebsocketProtocolErrorsCloseWithTheProtocolsCode(t *testing.T) {
	t.Parallel()
	srv, _, _ := wsServer(t, graph.HandlerConfig{}, httpapi.APIConfig{})
	const init = `{"type":"connection_init","payload":{}}`
	const sub = `"payload":{"query":"{ __typename }"}`
	for _, tc := range []struct {
		name  string
		proto string
		msgs  []string // after which the socket must be closed
		code  websocket.StatusCode
		acked bool
	}{
		{"subscribe before connection_init", "graphql-transport-ws", []string{`{"id":"1","type":"subscribe",` + sub + `}`}, 4401, false},
		{"subscribe without an id", "graphql-transport-ws", []string{init, `{"type":"subscribe",` + sub + `}`}, 4400, true},
		{"subscribe with an empty id", "graphql-transport-ws", []string{init, `{"id":"","type":"subscribe",` + sub + `}`}, 4400, true},
		{"subscribe with a numeric id", "graphql-transport-ws", []string{init, `{"id":1,"type":"subscribe",` + sub + `}`}, 4400, true},
		{"complete without an id", "graphql-transport-ws", []string{init, `{"type":"complete"}`}, 4400, true},
		{"a second connection_init", "graphql-transport-ws", []string{init, init}, 4429, true},
		{"a message of a server's type", "graphql-transport-ws", []string{init, `{"id":"1","type":"next","payload":{}}`}, 4400, true},
		{"an unknown type", "graphql-transport-ws", []string{`{"type":"hello"}`}, 4400, false},
		{"not JSON", "graphql-transport-ws", []string{`connection_init`}, 4400, false},
		{"start without an id (legacy)", "graphql-ws", []string{init, `{"type":"start",` + sub + `}`}, websocket.StatusProtocolError, true},
		{"start before connection_init (legacy)", "graphql-ws", []string{`{"id":"1","type":"start",` + sub + `}`}, websocket.StatusProtocolError, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), wsWait)
			defer cancel()
			c := dialProto(t, ctx, srv, tc.proto)
			for _, m := range tc.msgs {
				send(t, ctx, c, m)
			}
			code, msgs := readUntilClose(t, ctx, c)
			assert.Equal(t, tc.code, code)
			types := []string{}
			for _, m := range msgs {
				types = append(types, m.Type)
			}
			want := []string{}
			if tc.acked {
				want = append(want, "connection_ack")
			}
			if tc.proto == "graphql-ws" {
				want = append(want, "connection_error")
			}
			assert.Equal(t, want, types, "nothing but the ack (and, legacy, the connection_error) is sent")
		})
	}

	t.Run("ping before connection_init is answered", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), wsWait)
		defer cancel()
		c := dialProto(t, ctx, srv, "graphql-transport-ws")
		send(t, ctx, c, `{"type":"ping"}`)
		send(t, ctx, c, init)
		for _, want := range []string{"pong", "connection_ack"} {
			_, b, err := c.Read(ctx)
			require.NoError(t, err)
			var m wsMsg
			require.NoError(t, json.Unmarshal(b, &m))
			assert.Equal(t, want, m.Type)
		}
	})
}

// A socket that sends no connection_init is closed with 4408 (gqlgen's
// own timeout closed with 1002).
func TestWebsocketInitTimeout(t *testing.T) {
	t.Parallel()
	srv, _, reg := wsServer(t, graph.HandlerConfig{WebsocketInitTimeout: 50 * time.Millisecond}, httpapi.APIConfig{})
	for _, tc := range []struct {
		proto string
		code  websocket.StatusCode
	}{{"graphql-transport-ws", 4408}, {"graphql-ws", websocket.StatusProtocolError}} {
		ctx, cancel := context.WithTimeout(context.Background(), wsWait)
		defer cancel()
		c := dialProto(t, ctx, srv, tc.proto)
		code, _ := readUntilClose(t, ctx, c)
		assert.Equal(t, tc.code, code, tc.proto)
	}
	require.Eventually(t, func() bool { return openWebsockets(t, reg) == 0 }, wsWait, 10*time.Millisecond)
}
