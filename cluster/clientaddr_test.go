//go:build cluster

package cluster

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// wsCapPerAddress is the replicas' WS_MAX_CONNECTIONS_PER_IP: the server's
// default, which scripts/cluster.sh leaves on.
const wsCapPerAddress = 100

// fromAddr is an HTTP client whose connections leave from the local
// address ip (loopback is all of 127.0.0.0/8 on Linux): a shopper of its
// own as nginx and the replicas see it.
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil}}
}

// wsAttempt is one websocket handshake's result: the socket (status 101)
// or the refusal's code, and the replica that answered.
type wsAttempt struct {
	conn     *websocket.Conn
	status   int
	code     string
	upstream string
}

// openSocket opens a graphql-transport-ws socket to base from hc, with
// header, and keeps it alive (acknowledged, answering pings) until ctx
// ends; t's cleanup closes it.
func openSocket(ctx context.Context, t *testing.T, hc *http.Client, base string, header http.Header) wsAttempt {
	t.Helper()
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(base, "http")+"/graphql", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"},
		HTTPClient:   hc,
		HTTPHeader:   header,
	})
	if resp == nil {
		t.Fatalf("websocket to %s: no answer: %v", base, err)
	}
	a := wsAttempt{status: resp.StatusCode, upstream: resp.Header.Get("X-Holdfast-Upstream")}
	if err != nil {
		var body struct{ Errors []gqlError }
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if json.Unmarshal(b, &body) == nil && len(body.Errors) > 0 {
			a.code, _ = body.Errors[0].Extensions["code"].(string)
		}
		return a
	}
	t.Cleanup(func() { _ = conn.CloseNow() })
	if err := wsjson.Write(dctx, conn, wsMsg{Type: "connection_init", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatalf("connection_init: %v", err)
	}
	var ack wsMsg
	if err := wsjson.Read(dctx, conn, &ack); err != nil || ack.Type != "connection_ack" {
		t.Fatalf("connection_ack from %s: got %q, %v", a.upstream, ack.Type, err)
	}
	go func() {
		for {
			var m wsMsg
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				return
			}
			if m.Type == "ping" {
				_ = wsjson.Write(ctx, conn, wsMsg{Type: "pong"})
			}
		}
	}()
	a.conn = conn
	return a
}

// TestClientAddressThroughNginx: nginx, the edge, forwards the address it
// sees (X-Forwarded-For $remote_addr) and the replicas trust it from nginx
// alone (TRUSTED_PROXIES=127.0.0.1/32), so the per-address websocket cap
// is on and counts each shopper apart. Shopper A (from 127.0.0.2) fills
// its cap on every replica; shopper B (127.0.0.3), behind the same nginx,
// still connects; and what a client writes into X-Forwarded-For itself —
// through nginx, straight to a replica, or from nginx's own address —
// moves it to no other bucket.
func TestClientAddressThroughNginx(t *testing.T) {
	need(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := fromAddr("127.0.0.2"), fromAddr("127.0.0.3")
	defer a.CloseIdleConnections()
	defer b.CloseIdleConnections()

	// A opens sockets through nginx until every replica has refused one:
	// then it holds exactly the cap on each.
	refusedBy := map[string]bool{}
	open := 0
	for attempts := 0; len(refusedBy) < len(replicas); attempts++ {
		if attempts > 2*wsCapPerAddress*len(replicas) {
			t.Fatalf("after %d handshakes from 127.0.0.2, %d sockets open and only %v refused", attempts, open, refusedBy)
		}
		r := openSocket(ctx, t, a, baseURL, nil)
		switch {
		case r.status == http.StatusSwitchingProtocols:
			open++
		case r.status == http.StatusTooManyRequests && r.code == "CONNECTION_LIMIT":
			refusedBy[r.upstream] = true
		default:
			t.Fatalf("handshake %d from 127.0.0.2: HTTP %d %q from %q", attempts, r.status, r.code, r.upstream)
		}
	}
	if want := wsCapPerAddress * len(replicas); open != want {
		t.Fatalf("127.0.0.2 holds %d sockets across %d replicas, want %d (the cap, %d, on each)", open, len(replicas), want, wsCapPerAddress)
	}
	t.Logf("127.0.0.2: %d sockets open, then refused by %d replicas", open, len(refusedBy))

	spoofs := []string{"203.0.113.7", "127.0.0.3", "127.0.0.3, 203.0.113.7"}
	for _, xff := range spoofs {
		for range replicas { // every replica is full for A, whichever answers
			r := openSocket(ctx, t, a, baseURL, http.Header{"X-Forwarded-For": {xff}})
			if r.status != http.StatusTooManyRequests {
				t.Errorf("127.0.0.2 claiming X-Forwarded-For %q through nginx: HTTP %d from %s, want 429 (nginx overwrites the header)", xff, r.status, r.upstream)
			}
		}
	}
	for _, rep := range replicas {
		r := openSocket(ctx, t, a, rep.url, http.Header{"X-Forwarded-For": {"203.0.113.7"}})
		if r.status != http.StatusTooManyRequests {
			t.Errorf("127.0.0.2 claiming X-Forwarded-For straight to replica %d: HTTP %d, want 429 (only nginx is trusted)", rep.index, r.status)
		}
	}

	// B has a bucket of its own, on every replica, and claiming A's
	// address does not put it in A's.
	for i := range replicas {
		var header http.Header
		if i%2 == 1 {
			header = http.Header{"X-Forwarded-For": {"127.0.0.2"}}
		}
		r := openSocket(ctx, t, b, baseURL, header)
		if r.status != http.StatusSwitchingProtocols {
			t.Errorf("127.0.0.3 (socket %d, X-Forwarded-For %v) through nginx: HTTP %d %q from %s, want 101", i+1, header, r.status, r.code, r.upstream)
		}
	}
	// A client on nginx's own (trusted) address: had nginx appended to
	// the header it sent instead of overwriting it, the replicas would
	// skip 127.0.0.1 as a proxy hop and believe the claim.
	local := fromAddr("127.0.0.1")
	defer local.CloseIdleConnections()
	r := openSocket(ctx, t, local, baseURL, http.Header{"X-Forwarded-For": {"127.0.0.2"}})
	if r.status != http.StatusSwitchingProtocols {
		t.Errorf("127.0.0.1 claiming X-Forwarded-For 127.0.0.2 through nginx: HTTP %d %q from %s, want 101 (its own bucket)", r.status, r.code, r.upstream)
	}
}
