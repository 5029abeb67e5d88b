package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/httpapi"
)

// A socket holds its place from the upgrade until its connection is closed,
// not until its handler returns: a handler that returned and left its
// socket open (gqlgen after a malformed connection_init) let one address
// hold any number of descriptors.
func TestWebsocketGateCountsUntilTheConnectionCloses(t *testing.T) {
	t.Parallel()
	gate := httpapi.NewWebsocketGate(nil, 1)
	accepted := make(chan *websocket.Conn, 1)
	returned := make(chan struct{}, 1)
	inner := gate.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err == nil {
			accepted <- c // left open
		}
	}))
	srv := httptest.NewServer(httpapi.Guard(httpapi.GuardConfig{}, slog.New(slog.DiscardHandler), nil,
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inner.ServeHTTP(w, r)
			returned <- struct{}{} // the gate is done with the request
		})))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	dial := func() (*websocket.Conn, int) {
		c, resp, err := websocket.Dial(ctx, url, nil)
		require.NotNil(t, resp, "%v", err)
		if resp.Body != nil {
			resp.Body.Close()
		}
		if c != nil {
			t.Cleanup(func() { _ = c.CloseNow() })
		}
		return c, resp.StatusCode
	}

	_, status := dial()
	require.Equal(t, http.StatusSwitchingProtocols, status)
	server := <-accepted
	<-returned
	assert.Equal(t, 1, gate.Open("127.0.0.1"), "the socket outlives its handler")
	_, status = dial()
	assert.Equal(t, http.StatusTooManyRequests, status, "and holds its place")
	<-returned

	require.NoError(t, server.CloseNow())
	assert.Equal(t, 0, gate.Open("127.0.0.1"), "closing the connection gives the place back")
	_, status = dial()
	assert.Equal(t, http.StatusSwitchingProtocols, status)
	_ = (<-accepted).CloseNow()
	<-returned
}
