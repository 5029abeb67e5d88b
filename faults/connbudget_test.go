//go:build faults

package faults

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
)

// The cluster TestTooManyClients starts for itself, with few connections.
const (
	connsDevdbDir = ".data/faults-conns-pg"
	connsPort     = "54449"
	connsMax      = 30
	occupierApp   = "faults-occupier"
)

// TestTooManyClients runs two server processes on a PostgreSQL whose
// max_connections other sessions have used up: every request of a burst
// is answered with a success or SERVICE_UNAVAILABLE (HTTP 503, Retry-After),
// a checkout whose order cannot be rendered included, never an internal
// error; once the connections are free again, every request succeeds. A
// server whose pools cannot fit says so at start-up.
func TestTooManyClients(t *testing.T) {
	t.Parallel()
	if devdbScript == "" {
		t.Skip("FAULTS_DEVDB is not set (run via make test-faults)")
	}
	adminURL := startConnsCluster(t)
	admin := openDB(t, adminURL)
	defer admin.Close()
	admin.SetMaxOpenConns(1) // held throughout, so the test can always look
	const dbName = "faults_too_many_clients"
	mustExec(t, admin, `DROP DATABASE IF EXISTS `+dbName+` WITH (FORCE)`)
	mustExec(t, admin, `CREATE DATABASE `+dbName)
	u, _ := url.Parse(adminURL)
	u.Path = "/" + dbName
	dbURL := u.String()

	// One log per server.
	named := func(name string) *server {
		s := newServer(t, dbURL)
		s.logPath = strings.TrimSuffix(s.logPath, ".log") + "_" + name + ".log"
		os.Remove(s.logPath)
		return s
	}

	// Pools too big for what is free: the start-up check warns.
	big := named("big")
	big.env = []string{"DB_MAX_CONNS=40", "DB_READ_MAX_CONNS=4"}
	big.start()
	if big.logCount(`"level":"WARN","msg":"connection budget`) != 1 {
		t.Errorf("no start-up warning for 40 + 4 + 1 connections against max_connections %d; log:\n%s", connsMax, big.logTail(20))
	}
	shutdownClean(t, big)

	// Two instances of 6 + 4 + 1 connections: 22, which fit.
	const perInstance = 6 + 4 + 1
	a, b := named("a"), named("b")
	for _, s := range []*server{a, b} {
		// Carts that outlive the test: with the harness's 4 s holds, a
		// loaded machine let the cart checked out below expire first, and
		// a checkout of an expired cart is answered (CART_EXPIRED) without
		// the read connection this test shows b cannot get.
		s.env = []string{"DB_MAX_CONNS=6", "DB_READ_MAX_CONNS=4", "RATE_LIMIT_CART=-1", "HOLD_TTL=10m"}
		s.start()
		if s.logCount(`"msg":"connection budget"`) != 1 {
			t.Errorf("no start-up line on the connection budget; log:\n%s", s.logTail(20))
		}
	}
	w := setupWorld(t, a.base(), nProducts, 1000, 0)
	c := newClient(a.base(), true, nil)
	defer c.Close()
	var carts []string
	for range 8 {
		id, o := createCart(c)
		if id == "" {
			t.Fatalf("createCart: %s %s", o.Key(), o.Detail)
		}
		carts = append(carts, id)
	}
	full, o := createCart(c)
	if full == "" {
		t.Fatalf("createCart: %s %s", o.Key(), o.Detail)
	}
	for _, p := range w.Products[:4] {
		if o, _ := c.Do("addToCart", "addToCart", false, qAddToCart, map[string]any{"in": map[string]any{
			"cartId": full, "productId": p, "quantity": 1,
		}}); o.Class != classOK {
			t.Fatalf("addToCart: %s %s", o.Key(), o.Detail)
		}
	}

	// Other sessions take every connection PostgreSQL has left.
	release := occupyAll(t, admin, dbURL, dbName)
	before := backendPIDs(t, admin, dbName)
	var refused int
	for _, ans := range connsBurst(t, []string{a.base(), b.base()}, w.Products, carts, 60) {
		if checkAnswer(t, ans) {
			refused++
		}
	}
	// b has read nothing yet: its read pool has no connection, and none
	// is to be had.
	if refused == 0 {
		t.Errorf("no request was refused while every connection was taken")
	}
	t.Logf("%d of 60 requests answered SERVICE_UNAVAILABLE while every connection was taken", refused)
	ans := connsPost(t, b.base(), qCheckoutLines, map[string]any{"in": map[string]any{"cartId": full, "email": "ada@example.com"}})
	if !checkAnswer(t, ans) {
		// Served: b had a read connection. Only a slot freed after
		// occupyAll filled the server (a backend still exiting when it
		// counted, which a loaded machine can make slow) can give it one.
		if joined := newPIDs(before, backendPIDs(t, admin, dbName)); len(joined) == 0 {
			t.Errorf("a checkout on b, which has no read connection, was served: %s", ans.body)
		} else {
			t.Logf("checkout on b served: a slot freed after the occupation went to backend(s) %v", joined)
		}
	}
	t.Logf("checkout with no connection to be had: HTTP %d: %s", ans.status, ans.body)

	// Free again: everything succeeds.
	release()
	waitBackends(t, admin, dbName, "", 2*perInstance)
	for _, ans := range connsBurst(t, []string{a.base(), b.base()}, w.Products, carts, 60) {
		if checkAnswer(t, ans) {
			t.Errorf("refused after the connections were freed: %s", ans.body)
		}
	}
	for _, s := range []*server{a, b} {
		if n := s.logCount(`"internal error"`); n > 0 {
			t.Errorf("%d internal errors logged: %s", n, s.excerpt(`"internal error"`, 3))
		}
	}
	checkInvariants(t, dbURL)
	// Connections a client opened but never sent a request on would hold
	// up http.Server.Shutdown for 5 s.
	c.Close()
	connsHTTP.CloseIdleConnections()
	shutdownClean(t, a)
	shutdownClean(t, b)
}

// startConnsCluster starts (initialising it the first time) the private
// cluster with max_connections = connsMax and returns its admin URL; it is
// stopped when t ends.
func startConnsCluster(t *testing.T) string {
	t.Helper()
	return startPrivateCluster(t, connsDevdbDir, connsPort, connsMax)
}

// startPrivateCluster starts (initialising it the first time) a private
// cluster in dir (first port tried: port) with the given max_connections
// and returns its admin URL; it is stopped when t ends.
func startPrivateCluster(t *testing.T, dir, port string, maxConns int) string {
	t.Helper()
	env := append(os.Environ(), "DEVDB_DIR="+dir, "DEVDB_PORT="+port,
		fmt.Sprintf("DEVDB_MAX_CONNECTIONS=%d", maxConns), "DEVDB_NAME=postgres")
	run := func(cmd string) string {
		c := exec.Command(devdbScript, cmd)
		c.Env = env
		var stderr bytes.Buffer
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", devdbScript, cmd, err, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}
	// A server left running with other settings would keep them.
	run("stop")
	t.Cleanup(func() { run("stop") })
	return run("url")
}

func mustExec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// occupyAll opens connections to database name at dbURL until PostgreSQL
// refuses one ("sorry, too many clients already") and holds them until
// release, which waits (asking over admin) until their backends are gone.
func occupyAll(t *testing.T, admin *sql.DB, dbURL, name string) (release func()) {
	t.Helper()
	u, _ := url.Parse(dbURL)
	q := u.Query()
	q.Set("application_name", occupierApp)
	u.RawQuery = q.Encode()
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		t.Fatal(err)
	}
	var held []*sql.Conn
	for {
		conn, err := db.Conn(context.Background())
		if err == nil {
			err = conn.PingContext(context.Background())
		}
		if err != nil {
			if pq.As(err, pqerror.TooManyConnections) == nil {
				t.Fatalf("occupy: want too many connections, got %v", err)
			}
			t.Logf("occupied %d connections, then: %v", len(held), err)
			break
		}
		held = append(held, conn)
		if len(held) > connsMax {
			t.Fatalf("occupy: max_connections is not in force")
		}
	}
	done := false
	release = func() {
		if done {
			return
		}
		done = true
		for _, conn := range held {
			conn.Close()
		}
		db.Close()
		waitBackends(t, admin, name, occupierApp, 0)
	}
	t.Cleanup(release)
	return release
}

// backendPIDs lists the client backends connected to database name.
func backendPIDs(t *testing.T, admin *sql.DB, name string) map[int]bool {
	t.Helper()
	rows, err := admin.Query(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`, name)
	if err != nil {
		t.Fatalf("list backends: %v", err)
	}
	defer rows.Close()
	pids := map[int]bool{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatalf("list backends: %v", err)
		}
		pids[pid] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("list backends: %v", err)
	}
	return pids
}

// newPIDs returns the pids in after that are not in before.
func newPIDs(before, after map[int]bool) []int {
	var out []int
	for pid := range after {
		if !before[pid] {
			out = append(out, pid)
		}
	}
	return out
}

// waitBackends waits until database name has at most n client backends
// (of application app, unless "").
func waitBackends(t *testing.T, admin *sql.DB, name, app string, n int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var got int
		err := admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND ($2 = '' OR application_name = $2)`, name, app).Scan(&got)
		if err != nil {
			t.Fatalf("count backends: %v", err)
		}
		if got <= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends of %s (application %q) after a minute, want at most %d", got, name, app, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// connsHTTP sends the test's requests.
var connsHTTP = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: time.Minute}

const qCheckoutLines = `mutation($in: CheckoutInput!) { checkout(input: $in) { order { id lines { quantity product { name } } } userErrors { code } } }`

type connsAnswer struct {
	status     int
	retryAfter string
	body       string
	codes      []string
}

func connsPost(t *testing.T, base, query string, vars map[string]any) connsAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	resp, err := connsHTTP.Post(base+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Errorf("POST %s: %v", base, err)
		return connsAnswer{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	ans := connsAnswer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(raw)}
	var out struct {
		Errors []struct{ Extensions map[string]any }
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Errorf("not JSON (HTTP %d): %s", resp.StatusCode, raw)
	}
	for _, e := range out.Errors {
		code, _ := e.Extensions["code"].(string)
		ans.codes = append(ans.codes, code)
	}
	return ans
}

// checkAnswer requires a plain success (false) or a 503 with Retry-After
// whose errors are all SERVICE_UNAVAILABLE (true).
func checkAnswer(t *testing.T, ans connsAnswer) bool {
	t.Helper()
	if ans.status == http.StatusOK && len(ans.codes) == 0 {
		return false
	}
	ok := ans.status == http.StatusServiceUnavailable && ans.retryAfter != "" && len(ans.codes) > 0
	for _, c := range ans.codes {
		ok = ok && c == "SERVICE_UNAVAILABLE"
	}
	if !ok {
		t.Errorf("want 200, or 503 with Retry-After and SERVICE_UNAVAILABLE; got HTTP %d (Retry-After %q): %s", ans.status, ans.retryAfter, ans.body)
	}
	return true
}

// connsBurst sends n requests at once over the servers: cart creation,
// reservations rendering their cart's products, product reads, pages.
func connsBurst(t *testing.T, bases, products, carts []string, n int) []connsAnswer {
	t.Helper()
	const (
		qAdd      = `mutation($in: AddToCartInput!) { addToCart(input: $in) { cart { id lines { quantity product { name available } } } userErrors { code } } }`
		qProduct  = `query($id: ID!) { product(id: $id) { id name available } }`
		qProducts = `{ products(first: 5) { edges { node { id name available } } } }`
	)
	out := make([]connsAnswer, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			base := bases[i%len(bases)]
			switch i % 4 {
			case 0:
				out[i] = connsPost(t, base, qCreateCart, nil)
			case 1:
				out[i] = connsPost(t, base, qAdd, map[string]any{"in": map[string]any{
					"cartId": carts[i%len(carts)], "productId": products[i%len(products)], "quantity": 1,
				}})
			case 2:
				out[i] = connsPost(t, base, qProduct, map[string]any{"id": products[i%len(products)]})
			case 3:
				out[i] = connsPost(t, base, qProducts, nil)
			}
		}()
	}
	close(gate)
	wg.Wait()
	return out
}
