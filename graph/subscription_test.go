package graph_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/graph"
	"holdfast/graph/live"
	"holdfast/httpapi"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// liveServer is a server instance with its own pool, LISTEN connection and
// hub, as one process would have.
func liveServer(t *testing.T, dbURL string, opts storage.Options) (*storage.Store, *httptest.Server) {
	t.Helper()
	store := storagetest.OpenStore(t, dbURL, opts)
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.DiscardHandler)
	events, err := storage.Listen(ctx, dbURL+"&application_name=holdfast-listener", log)
	require.NoError(t, err)
	hub := live.New(store, log, 50*time.Millisecond)
	done := make(chan struct{})
	go func() { hub.Run(ctx, events); close(done) }()
	srv := httptest.NewServer(newAPI(graph.HandlerConfig{
		Store: store, AdminToken: adminToken, Hub: hub, MaxProductsPerSubscription: 5, MaxSubscriptionsPerConn: 2,
	}, httpapi.APIConfig{}))
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		<-done
		for range events { // let the listener goroutine finish
		}
	})
	return store, srv
}

type wsMsg struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	ctx  context.Context
}

func dialWS(t *testing.T, srv *httptest.Server) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	if resp.Body != nil {
		resp.Body.Close()
	}
	t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	c := &wsClient{t: t, conn: conn, ctx: ctx}
	require.NoError(t, wsjson.Write(ctx, conn, wsMsg{Type: "connection_init", Payload: json.RawMessage(`{}`)}))
	require.Equal(t, "connection_ack", c.next(5*time.Second).Type)
	return c
}

func (c *wsClient) subscribe(id, query string, vars map[string]any) {
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(c.t, wsjson.Write(c.ctx, c.conn, wsMsg{ID: id, Type: "subscribe", Payload: payload}))
}

// next returns the next message other than a ping (which it answers).
func (c *wsClient) next(timeout time.Duration) wsMsg {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	for {
		var m wsMsg
		if err := wsjson.Read(ctx, c.conn, &m); err != nil {
			c.t.Fatalf("websocket read: %v", err)
		}
		if m.Type == "ping" {
			_ = wsjson.Write(ctx, c.conn, wsMsg{Type: "pong"})
			continue
		}
		return m
	}
}

type level struct {
	ProductID string `json:"productId"`
	Available int    `json:"available"`
}

func (c *wsClient) level(timeout time.Duration) level {
	c.t.Helper()
	m := c.next(timeout)
	require.Equal(c.t, "next", m.Type, "payload: %s", m.Payload)
	var out struct {
		Data struct {
			StockChanged level `json:"stockChanged"`
		} `json:"data"`
	}
	require.NoError(c.t, json.Unmarshal(m.Payload, &out))
	return out.Data.StockChanged
}

// waitLevel reads levels until one equals want.
func (c *wsClient) waitLevel(want int, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l := c.level(time.Until(deadline))
		if l.Available == want {
			return
		}
	}
}

const stockSub = `subscription($ids: [ID!]!) { stockChanged(productIds: $ids) { productId available at } }`

func TestSubscriptionAcrossInstances(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t)
	storeA, a := liveServer(t, dbURL, storagetest.Options())
	_, b := liveServer(t, dbURL, storagetest.Options())
	p := storagetest.MustProduct(t, storeA, "LIVE", 10)
	cart := storagetest.MustCart(t, storeA)

	ws := dialWS(t, a)
	ws.subscribe("1", stockSub, map[string]any{"ids": []string{pid(p)}})
	first := ws.level(5 * time.Second)
	assert.Equal(t, pid(p), first.ProductID)
	assert.Equal(t, 10, first.Available, "the current level comes first")

	_, r := addToCart(t, b.URL, cart.ID, pid(p), 3) // through the other instance
	require.Empty(t, r.Errors)
	ws.waitLevel(7, 5*time.Second)
}

func TestSubscriptionSeesFinalLevelAfterBurst(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t)
	store, srv := liveServer(t, dbURL, storagetest.Options())
	p := storagetest.MustProduct(t, store, "BURST", 1000)
	carts := make([]string, 50)
	for i := range carts {
		carts[i] = storagetest.MustCart(t, store).ID
	}
	ws := dialWS(t, srv)
	ws.subscribe("1", stockSub, map[string]any{"ids": []string{pid(p)}})
	require.Equal(t, 1000, ws.level(5*time.Second).Available)

	race(500, func(i int) {
		if _, r := addToCart(t, srv.URL, carts[i%50], pid(p), 1); len(r.Errors) > 0 {
			t.Errorf("add: %+v", r.Errors)
		}
	})
	ws.waitLevel(500, 10*time.Second)
}

func TestSubscriptionSurvivesListenerKill(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t)
	store, srv := liveServer(t, dbURL, storagetest.Options())
	p := storagetest.MustProduct(t, store, "KILL", 10)
	cart := storagetest.MustCart(t, store)
	ws := dialWS(t, srv)
	ws.subscribe("1", stockSub, map[string]any{"ids": []string{pid(p)}})
	require.Equal(t, 10, ws.level(5*time.Second).Available)

	var killed int
	require.NoError(t, store.DB().Get(&killed, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = 'holdfast-listener' AND datname = current_database()`))
	require.Equal(t, 1, killed)

	_, r := addToCart(t, srv.URL, cart.ID, pid(p), 4)
	require.Empty(t, r.Errors)
	ws.waitLevel(6, 15*time.Second)
}

func TestCartChangedOnExpiry(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t)
	// Holds live for an hour: the test, not the machine's speed, decides
	// when this one runs out.
	opts := storagetest.Options()
	opts.HoldTTL = time.Hour
	store, srv := liveServer(t, dbURL, opts)
	p := storagetest.MustProduct(t, store, "CC", 10)
	cart := storagetest.MustCart(t, store)

	ws := dialWS(t, srv)
	ws.subscribe("1", `subscription($id: ID!) { cartChanged(cartId: $id) { id status totalQuantity expiresAt } }`, map[string]any{"id": cart.ID})
	type cartState struct {
		ID            string    `json:"id"`
		Status        string    `json:"status"`
		TotalQuantity int       `json:"totalQuantity"`
		ExpiresAt     time.Time `json:"expiresAt"`
	}
	read := func() cartState {
		m := ws.next(15 * time.Second)
		require.Equal(t, "next", m.Type, "payload %s", m.Payload)
		var out struct {
			Data struct {
				CartChanged cartState `json:"cartChanged"`
			} `json:"data"`
		}
		require.NoError(t, json.Unmarshal(m.Payload, &out))
		return out.Data.CartChanged
	}
	assert.Equal(t, "ACTIVE", read().Status)
	_, r := addToCart(t, srv.URL, cart.ID, pid(p), 2)
	require.Empty(t, r.Errors)
	for {
		got := read()
		if got.Status == "ACTIVE" && got.TotalQuantity == 2 {
			break
		}
	}

	// The hold is set to run out a moment from now, and the hub told to
	// re-read the cart (as a change of it would). No reaper runs here and
	// nothing else changes: once the hub has seen the cart ACTIVE with that
	// expiresAt, only its own expiry timer can report it EXPIRED. Should a
	// loaded machine re-read it only after the moment passed, the moment is
	// set again, further off.
	for margin := 500 * time.Millisecond; ; margin *= 2 {
		require.Less(t, margin, time.Minute, "the hub never re-read the cart before its hold ran out")
		var until time.Time
		require.NoError(t, store.DB().Get(&until, `
			WITH moved AS (
				UPDATE carts SET expires_at = now() + $2 * interval '1 millisecond'
				WHERE id = $1
				RETURNING expires_at
			)
			SELECT expires_at FROM moved, pg_notify('holdfast_cart', $1)`, cart.ID, margin.Milliseconds()))
		got := read()
		for got.Status == "ACTIVE" && !got.ExpiresAt.Equal(until) {
			got = read() // an earlier change
		}
		if got.Status != "ACTIVE" {
			t.Logf("the hub re-read the cart after %s had passed; trying again", margin)
			continue
		}
		for got.Status == "ACTIVE" {
			got = read()
		}
		assert.Equal(t, "EXPIRED", got.Status)
		assert.Equal(t, 0, got.TotalQuantity)
		return
	}
}

func TestSubscriptionLimitsAndErrors(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t)
	store, srv := liveServer(t, dbURL, storagetest.Options())
	p := storagetest.MustProduct(t, store, "LIM", 10)
	ws := dialWS(t, srv)

	// forID reads until a message for subscription id (others may get more
	// levels meanwhile).
	forID := func(id string) wsMsg {
		for {
			if m := ws.next(5 * time.Second); m.ID == id {
				return m
			}
		}
	}
	// A refused subscription answers with errors: an "error" message, or a
	// "next" carrying errors and no data followed by "complete".
	errCode := func(id string) string {
		m := forID(id)
		var errs []gqlError
		switch m.Type {
		case "error":
			require.NoError(t, json.Unmarshal(m.Payload, &errs))
		case "next":
			var r gqlResponse
			require.NoError(t, json.Unmarshal(m.Payload, &r))
			assert.Equal(t, "null", string(r.Data))
			errs = r.Errors
			assert.Equal(t, "complete", forID(id).Type)
		default:
			t.Fatalf("unexpected %s: %s", m.Type, m.Payload)
		}
		require.NotEmpty(t, errs)
		c, _ := errs[0].Extensions["code"].(string)
		return c
	}
	ws.subscribe("unknown", stockSub, map[string]any{"ids": []string{pid(p), "999999", "not-an-id"}})
	assert.Equal(t, "PRODUCT_NOT_FOUND", errCode("unknown"))

	ws.subscribe("wide", stockSub, map[string]any{"ids": []string{"1", "2", "3", "4", "5", "6"}})
	assert.Equal(t, "SUBSCRIPTION_LIMIT", errCode("wide"))

	for i := 0; i < 2; i++ {
		id := fmt.Sprint("ok", i)
		ws.subscribe(id, stockSub, map[string]any{"ids": []string{pid(p)}})
		assert.Equal(t, "next", forID(id).Type)
	}
	ws.subscribe("third", stockSub, map[string]any{"ids": []string{pid(p)}})
	assert.Equal(t, "SUBSCRIPTION_LIMIT", errCode("third"))
}
