//go:build faults

package faults

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// hookReceiver records the deliveries it gets; while hang is set it holds
// each request until released.
type hookReceiver struct {
	mu      sync.Mutex
	got     []hookDelivery
	hang    bool
	release chan struct{}
	hung    chan struct{} // closed when a request starts hanging
	once    sync.Once
}

type hookDelivery struct {
	eventID string
	topic   string
	attempt int
	answer  int
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.ReadAll(r.Body)
	d := hookDelivery{eventID: r.Header.Get("Holdfast-Event-Id"), topic: r.Header.Get("Holdfast-Topic")}
	d.attempt, _ = strconv.Atoi(r.Header.Get("Holdfast-Attempt"))
	h.mu.Lock()
	hang := h.hang
	h.mu.Unlock()
	if hang {
		h.once.Do(func() { close(h.hung) })
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
		d.answer = 0 // the sender is gone
		h.mu.Lock()
		h.got = append(h.got, d)
		h.mu.Unlock()
		return
	}
	d.answer = http.StatusOK
	h.mu.Lock()
	h.got = append(h.got, d)
	h.mu.Unlock()
}

func (h *hookReceiver) delivered(topic string) []hookDelivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hookDelivery
	for _, d := range h.got {
		if d.topic == topic && d.answer == http.StatusOK {
			out = append(out, d)
		}
	}
	return out
}

// hookGQL sends one admin request and decodes data into v.
func hookGQL(t *testing.T, base, query string, vars map[string]any, v any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, base+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("graphql: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Data   json.RawMessage `json:"data"`
		Errors []any           `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || len(out.Errors) > 0 {
		t.Fatalf("graphql %q: %s", query, raw)
	}
	if v != nil {
		if err := json.Unmarshal(out.Data, v); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebhooksSurviveKill: an event committed while no dispatcher could
// send it, and an event whose delivery was in flight, both survive
// SIGKILL: the restarted server delivers each, with its event id. Not
// parallel: it sets the server's environment.
func TestWebhooksSurviveKill(t *testing.T) {
	rc := &hookReceiver{release: make(chan struct{}), hung: make(chan struct{})}
	recv := httptest.NewServer(rc)
	t.Cleanup(recv.Close)
	t.Cleanup(func() {
		select {
		case <-rc.release:
		default:
			close(rc.release)
		}
	})

	dbURL := createDB(t)
	srv := newServer(t, dbURL)
	t.Setenv("WEBHOOK_ALLOW_PRIVATE", "true")
	// Room for an attempt on a loaded machine: a timed-out attempt would be
	// retried and break the attempt counts below.
	t.Setenv("WEBHOOK_TIMEOUT", "5s")
	// First life: one look at the outbox at start, then none for an hour.
	t.Setenv("WEBHOOK_DISPATCH_INTERVAL", "1h")
	srv.start()

	hookGQL(t, srv.base(), `mutation($u: String!) { createWebhookEndpoint(input: {url: $u, topics: [STOCK_ADJUSTED]}) { userErrors { code } } }`,
		map[string]any{"u": recv.URL + "/hooks"}, nil)
	var created struct {
		CreateProduct struct{ Product struct{ ID string } }
	}
	hookGQL(t, srv.base(), `mutation { createProduct(input: {sku: "HOOK-KILL", name: "Hook", priceAmount: "1.00", currencyCode: "USD", stock: 5}) { product { id } } }`, nil, &created)
	adjust := func() {
		hookGQL(t, srv.base(), `mutation($id: ID!) { adjustStock(input: {productId: $id, delta: 1}) { userErrors { code } } }`,
			map[string]any{"id": created.CreateProduct.Product.ID}, nil)
	}
	adjust() // committed; nobody sends it in this life
	time.Sleep(300 * time.Millisecond)
	if n := len(rc.delivered("STOCK_ADJUSTED")); n != 0 {
		t.Fatalf("delivered %d before the restart", n)
	}
	srv.kill()
	t.Log("SIGKILLed holdfast between the commit and the delivery")

	t.Setenv("WEBHOOK_DISPATCH_INTERVAL", "50ms")
	srv.start()
	waitFor(t, "the committed event", 30*time.Second, func() bool { return len(rc.delivered("STOCK_ADJUSTED")) == 1 })
	first := rc.delivered("STOCK_ADJUSTED")[0]

	// Second: kill the server while the receiver holds its delivery.
	rc.mu.Lock()
	rc.hang = true
	rc.mu.Unlock()
	adjust()
	select {
	case <-rc.hung:
	case <-time.After(30 * time.Second):
		t.Fatal("the delivery never started")
	}
	srv.kill()
	t.Log("SIGKILLed holdfast mid-delivery")
	rc.mu.Lock()
	rc.hang = false
	rc.mu.Unlock()
	close(rc.release)
	srv.start()
	// The dead attempt's lease (2 × WEBHOOK_TIMEOUT + 5 s) runs out first.
	waitFor(t, "the interrupted event", 60*time.Second, func() bool { return len(rc.delivered("STOCK_ADJUSTED")) == 2 })
	second := rc.delivered("STOCK_ADJUSTED")[1]
	if second.eventID == first.eventID {
		t.Errorf("the second delivery repeats event %s", first.eventID)
	}
	if second.attempt != 2 {
		t.Errorf("interrupted delivery arrived on attempt %d, want 2 (the killed one counts)", second.attempt)
	}
	rc.mu.Lock()
	var interrupted []hookDelivery
	for _, d := range rc.got {
		if d.eventID == second.eventID {
			interrupted = append(interrupted, d)
		}
	}
	rc.mu.Unlock()
	if len(interrupted) != 2 || interrupted[0].attempt != 1 {
		t.Errorf("the interrupted event's requests: %+v (want attempt 1 cut, attempt 2 delivered, one event id)", interrupted)
	}
	shutdownClean(t, srv)
}
