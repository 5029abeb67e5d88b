// Package paymentstest runs Stripe's own mock server (stripe-mock) for
// tests and signs webhook payloads the way Stripe does.
package paymentstest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v82/webhook"
)

// StripeMock is a running stripe-mock.
type StripeMock struct {
	// URL is its HTTP base URL on loopback, for STRIPE_API_BASE.
	URL string
	cmd *exec.Cmd
}

// ErrNoStripeMock means the stripe-mock binary is not installed.
var ErrNoStripeMock = errors.New("stripe-mock is not installed (make test installs it: go install github.com/stripe/stripe-mock@" + StripeMockVersion + ")")

// StripeMockVersion is the stripe-mock the Makefile installs.
const StripeMockVersion = "v0.203.0"

// stripeMockBinary finds stripe-mock: $STRIPE_MOCK, then PATH, then
// $GOBIN, $GOPATH/bin and ~/go/bin.
func stripeMockBinary() (string, error) {
	if p := os.Getenv("STRIPE_MOCK"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	var dirs []string
	if d := os.Getenv("GOBIN"); d != "" {
		dirs = append(dirs, d)
	}
	if d := os.Getenv("GOPATH"); d != "" {
		dirs = append(dirs, filepath.Join(strings.Split(d, string(os.PathListSeparator))[0], "bin"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", ErrNoStripeMock
}

// StartStripeMock starts stripe-mock on free loopback ports (HTTP, and
// HTTPS, which it would otherwise open on every interface) and waits until
// it listens. Stop it with Stop.
func StartStripeMock() (*StripeMock, error) {
	bin, err := stripeMockBinary()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sent := false
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok && !sent {
				found <- a
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, out)
		if !sent {
			close(found)
		}
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			_ = cmd.Wait()
			return nil, fmt.Errorf("stripe-mock exited before listening")
		}
		return &StripeMock{URL: "http://" + addr, cmd: cmd}, nil
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("stripe-mock did not listen within 30s")
	}
}

// Stop stops it.
func (m *StripeMock) Stop() {
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
}

// Event is a Stripe event about a PaymentIntent, for webhook tests.
type Event struct {
	ID, Type, IntentID, OrderID string
	// Created is the event's time (default now); the signature's
	// timestamp is Signed (default now).
	Signed time.Time
}

// Payload renders the event as Stripe posts it.
func (e Event) Payload(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"id": e.ID, "object": "event", "api_version": "2025-07-30.basil", "created": time.Now().Unix(),
		"livemode": false, "pending_webhooks": 1, "type": e.Type,
		"data": map[string]any{"object": map[string]any{
			"id": e.IntentID, "object": "payment_intent", "amount": 1000, "currency": "usd",
			"metadata": map[string]string{"order_id": e.OrderID},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Sign returns the event's payload and its Stripe-Signature header, signed
// with secret at e.Signed (default now).
func (e Event) Sign(t testing.TB, secret string) (payload []byte, header string) {
	t.Helper()
	s := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: e.Payload(t), Secret: secret, Timestamp: e.Signed})
	return s.Payload, s.Header
}
