package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"holdfast/config"
	"holdfast/storage"
	"holdfast/storage/storagetest"
)

// Four instances at the defaults share a stock PostgreSQL (max_connections
// 100, superuser_reserved_connections 3) with room for an operator.
func TestConnBudgetDefaultsFit(t *testing.T) {
	t.Parallel()
	stock := storage.ServerConnections{MaxConnections: 100, SuperuserReserved: 3}
	b := budgetOf(config.Defaults())
	const instances, headroom = 4, 10 // psql sessions, a migration, monitoring
	assert.LessOrEqual(t, instances*(b.Direct()+b.Migrate)+headroom, stock.Available(),
		"4 instances starting together, each with its migrations' session, and the operator's headroom")

	// The fourth instance starts while three serve at their most and an
	// operator has two psql sessions open: it fits, and says so.
	sc := stock
	sc.InUse = 3*b.Direct() + 2 + 1 // + the session reading
	fits, _ := b.judge(sc, 1)
	assert.True(t, fits)

	// The old defaults (20 + 10 + LISTEN) did not.
	old := b
	old.Write, old.Read = 20, 10
	sc.InUse = 3*old.Direct() + 2 + 1
	fits, _ = old.judge(sc, 1)
	assert.False(t, fits)

	// Behind PgBouncer only the LISTEN connection goes straight to
	// PostgreSQL.
	cfg := config.Defaults()
	cfg.DatabaseURL, cfg.DatabaseDirectURL = "postgres://pgbouncer:6432/shop", "postgres://pg:5432/shop"
	assert.Equal(t, 1, budgetOf(cfg).Direct())
}

// At start-up the server reads what PostgreSQL allows and warns when its
// pools do not fit.
func TestConnBudgetStartupCheck(t *testing.T) {
	t.Parallel()
	store, dbURL := storagetest.NewStore(t, storagetest.Options())
	check := func(cfg config.Config) []map[string]any {
		var buf bytes.Buffer
		checkConnBudget(context.Background(), cfg, store, slog.New(slog.NewJSONHandler(&buf, nil)))
		var lines []map[string]any
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			require.NoError(t, json.Unmarshal([]byte(l), &m), l)
			lines = append(lines, m)
		}
		return lines
	}
	cfg := config.Defaults()
	cfg.DatabaseURL = dbURL
	cfg.DBMaxConns = 100000 // more than any server allows
	lines := check(cfg)
	require.Len(t, lines, 1)
	assert.Equal(t, "WARN", lines[0]["level"])
	assert.Contains(t, lines[0]["msg"], "connection budget")
	assert.EqualValues(t, 100000+cfg.DBReadMaxConns+1, lines[0]["instance_total"])
	assert.Positive(t, lines[0]["max_connections"])

	cfg.DatabaseDirectURL = dbURL + "&application_name=direct" // the pools go through a pooler
	lines = check(cfg)
	require.Len(t, lines, 1)
	assert.EqualValues(t, 1, lines[0]["instance_total"], "only LISTEN goes straight to PostgreSQL")
	assert.Contains(t, lines[0]["pools"], "default_pool_size")
}

// More requests than PostgreSQL has connections for: two instances on one
// database whose connections are all taken answer every request with a
// success or SERVICE_UNAVAILABLE (HTTP 503, Retry-After), never an internal
// error, also when the refusal comes while rendering a half-finished
// answer; once connections are free again, every request succeeds.
//
// The database's CONNECTION LIMIT refuses with SQLSTATE 53300, the code of
// "sorry, too many clients already" (max_connections), without touching
// the shared cluster.
func TestServeTooManyClients(t *testing.T) {
	t.Parallel()
	u := storagetest.URL(t)
	const perInstance = 4 + 4 + 1 // write pool, read pool, LISTEN
	conns := storagetest.LimitConnections(t, u, 2*perInstance+2)

	type instance struct {
		base  string
		store *storage.Store
	}
	start := func() instance {
		cfg := config.Defaults()
		cfg.DatabaseURL, cfg.AdminToken, cfg.ShutdownDrainDelay = u, "budget-token", 10*time.Millisecond
		cfg.DBMaxConns, cfg.DBReadMaxConns = 4, 4
		cfg.DBConnectWait = 100 * time.Millisecond
		cfg.RequestTimeout = time.Minute // so that nothing here times out on a slow machine
		store, err := storage.Open(context.Background(), u, cfg.DBMaxConns, storageOptions(cfg))
		require.NoError(t, err)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- serve(ctx, cfg, store, ln, slog.New(slog.DiscardHandler)) }()
		t.Cleanup(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			store.Close()
		})
		return instance{base: "http://" + ln.Addr().String(), store: store}
	}
	a, b := start(), start()

	ctx := context.Background()
	var products []string
	for i := range 4 {
		p := storagetest.MustProduct(t, a.store, fmt.Sprintf("BUDGET-%d", i), 100000)
		products = append(products, storage.FormatProductID(p.ID))
	}
	var carts []string
	for range 8 {
		carts = append(carts, storagetest.MustCart(t, a.store).ID)
	}
	// A cart of four lines to check out while nothing is to be had: the
	// order's lines render their products through the read pool.
	full := storagetest.MustCart(t, a.store)
	for i := range 4 {
		id, _ := storage.ParseProductID(products[i])
		_, err := a.store.AddToCart(ctx, storage.AddToCartParams{CartID: full.ID, ProductID: id, Quantity: 1})
		require.NoError(t, err)
	}

	type answer struct {
		status     int
		retryAfter string
		body       string
		errors     []struct {
			Message    string
			Path       []any
			Extensions map[string]any
		}
	}
	post := func(base, query string, vars map[string]any) answer {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		resp, err := http.Post(base+"/graphql", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		a := answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(raw)}
		var out struct {
			Errors []struct {
				Message    string
				Path       []any
				Extensions map[string]any
			}
		}
		require.NoError(t, json.Unmarshal(raw, &out), string(raw))
		a.errors = out.Errors
		return a
	}
	// unavailable: a 503 with Retry-After whose errors all say
	// SERVICE_UNAVAILABLE. Anything else must be a plain success.
	unavailable := func(t *testing.T, a answer) bool {
		t.Helper()
		if a.status == http.StatusOK && len(a.errors) == 0 {
			return false
		}
		assert.Equal(t, http.StatusServiceUnavailable, a.status, a.body)
		assert.NotEmpty(t, a.retryAfter, "Retry-After: %s", a.body)
		for _, e := range a.errors {
			assert.Equal(t, "SERVICE_UNAVAILABLE", e.Extensions["code"], a.body)
		}
		return true
	}
	const (
		qCreateCart = `mutation { createCart { cart { id } userErrors { code } } }`
		qAddToCart  = `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { id lines { quantity product { name available } } } userErrors { code } } }`
		qProduct    = `query($id: ID!) { product(id: $id) { id name available } }`
		qProducts   = `{ products(first: 5) { edges { node { id name available } } } }`
		qCheckout   = `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id lines { quantity product { name } } } userErrors { code } } }`
	)
	// burst sends n requests at once, spread over both instances and over
	// the write and read pools' paths.
	burst := func(n int) []answer {
		out := make([]answer, n)
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				base := []string{a.base, b.base}[i%2]
				switch i % 4 {
				case 0:
					out[i] = post(base, qCreateCart, nil)
				case 1:
					out[i] = post(base, qAddToCart, map[string]any{"in": map[string]any{
						"cartId": carts[i%len(carts)], "productId": products[i%len(products)], "quantity": 1,
					}})
				case 2:
					out[i] = post(base, qProduct, map[string]any{"id": products[i%len(products)]})
				case 3:
					out[i] = post(base, qProducts, nil)
				}
			}()
		}
		close(gate)
		wg.Wait()
		return out
	}

	// Every connection PostgreSQL would give this database is taken.
	release := conns.Occupy()
	t.Run("exhausted", func(t *testing.T) {
		n := 0
		for _, ans := range burst(40) {
			if unavailable(t, ans) {
				n++
			}
		}
		// The read pools had no connection when the slots ran out, so
		// every read needed one it could not get.
		assert.Positive(t, n, "no request was refused")
		t.Logf("%d of 40 requests answered SERVICE_UNAVAILABLE", n)

		// A checkout whose order renders its lines' products through
		// the read pool: refused there, the half-finished answer is
		// SERVICE_UNAVAILABLE too.
		ans := post(a.base, qCheckout, map[string]any{"in": map[string]any{"cartId": full.ID, "email": "ada@example.com"}})
		require.True(t, unavailable(t, ans), "checkout was served: %s", ans.body)
		t.Logf("checkout: %s", ans.body)
		assert.Positive(t, a.store.Stats().ConnectRefusals+b.store.Stats().ConnectRefusals)
	})
	if t.Failed() {
		return
	}

	// The connections are free again (and the refused attempts' backends
	// gone): the pools fit the limit, so everything succeeds.
	release()
	conns.WaitAtMost(2 * perInstance)
	t.Run("recovered", func(t *testing.T) {
		for _, ans := range burst(40) {
			assert.False(t, unavailable(t, ans), "after the burst: %s", ans.body)
		}
		ans := post(a.base, `query($id: ID!) { cart(id: $id) { status } }`, map[string]any{"id": full.ID})
		assert.False(t, unavailable(t, ans), ans.body)
	})
}
