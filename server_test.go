package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"holdfast/config"
	"holdfast/storage/storagetest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("database/sql.(*DB).connectionOpener"))
}

// The wiring, end to end: serve on a real listener with the default
// configuration, then check each endpoint and a graceful stop.
func TestServeWiring(t *testing.T) {
	store, dbURL := storagetest.NewStore(t, storagetest.Options())
	cfg := config.Defaults()
	cfg.DatabaseURL, cfg.AdminToken, cfg.ShutdownDrainDelay = dbURL, "wiring-token", 10*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, store, ln, slog.New(slog.DiscardHandler)) }()
	base := "http://" + ln.Addr().String()

	get := func(path, token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	require.Eventually(t, func() bool { s, _ := get("/readyz", ""); return s == 200 }, 10*time.Second, 20*time.Millisecond)

	status, body := get("/healthz", "")
	assert.Equal(t, 200, status)
	assert.Equal(t, "ok\n", body)
	status, body = get("/graphql?query=%7B__typename%7D", "")
	assert.Equal(t, 200, status)
	assert.JSONEq(t, `{"data":{"__typename":"Query"}}`, body)
	status, _ = get("/", "")
	assert.Equal(t, 200, status, "GraphiQL")
	status, body = get("/metrics", "")
	assert.Equal(t, 401, status, "metrics are not public")
	assert.NotContains(t, body, "holdfast_")
	status, body = get("/metrics", "wiring-token")
	assert.Equal(t, 200, status)
	for _, m := range []string{"holdfast_graphql_requests_total", "go_sql_max_open_connections", "holdfast_subscriptions", "holdfast_checkouts_total"} {
		assert.Contains(t, body, m)
	}

	stop()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestWithParam(t *testing.T) {
	assert.Equal(t, "postgres://h/db?connect_timeout=3&sslmode=disable", withConnectTimeout("postgres://h/db?sslmode=disable"))
	assert.Equal(t, "postgres://h/db?connect_timeout=9", withConnectTimeout("postgres://h/db?connect_timeout=9"))
	assert.Equal(t, "host=h connect_timeout=3", withConnectTimeout("host=h"))
	assert.True(t, strings.HasSuffix(listenerURL("host=h"), "application_name=holdfast-listener"))
	assert.Equal(t, "postgres://h/db?application_name=holdfast-listener", listenerURL("postgres://h/db?application_name=x"))
}
