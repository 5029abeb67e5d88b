//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"holdfast/internal/blackbox"
)

// The cluster TestFourInstancesAtDefaults starts for itself, with
// PostgreSQL's stock connection settings.
const (
	stockDevdbDir = ".data/faults-stock-pg"
	stockPort     = "54459"
	stockMax      = 100 // PostgreSQL's default max_connections
	stockReserved = 3   // and superuser_reserved_connections
)

// The storm of TestFourInstancesAtDefaults: per instance, more workers
// than its pools have connections (12 + 6), for a set number of
// operations (not a set time: a slow machine gets the same storm).
const (
	fourWorkers  = 40  // storm workers per instance
	fourOps      = 400 // storm steps per instance
	fourReaders  = 10  // read workers per instance
	fourReads    = 150 // reads per instance
	fourPoolConn = 12 + 6 + 1
)

// connUnset are the settings of the connections and pools: the four
// instances of TestFourInstancesAtDefaults run with their defaults.
var connUnset = []string{"DB_MAX_CONNS", "DB_READ_MAX_CONNS", "DB_CONNECT_WAIT", "DB_PREPARE"}

// TestFourInstancesAtDefaults is the set-up that once answered
// INTERNAL_SERVER_ERROR ("pq: sorry, too many clients already"): four
// server processes at their default connection settings on a PostgreSQL
// with stock max_connections, under a storm that wants more connections
// than the pools have. Each instance says at start-up that its budget
// fits; the client backends never exceed what PostgreSQL grants
// non-superusers; every answer is a success, a business refusal, or
// SERVICE_UNAVAILABLE/TIMEOUT, never an internal error; the books balance.
func TestFourInstancesAtDefaults(t *testing.T) {
	t.Parallel()
	if devdbScript == "" {
		t.Skip("FAULTS_DEVDB is not set (run via make test-faults)")
	}
	adminURL := startPrivateCluster(t, stockDevdbDir, stockPort, stockMax)
	admin := openDB(t, adminURL)
	defer admin.Close()
	admin.SetMaxOpenConns(1) // held throughout, so the test can always look
	var maxConns, reserved int
	if err := admin.QueryRow(`SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int`).Scan(&maxConns, &reserved); err != nil {
		t.Fatal(err)
	}
	if maxConns != stockMax || reserved != stockReserved {
		t.Fatalf("max_connections %d, superuser_reserved_connections %d: want PostgreSQL's stock %d and %d", maxConns, reserved, stockMax, stockReserved)
	}
	const dbName = "faults_four_instances"
	mustExec(t, admin, `DROP DATABASE IF EXISTS `+dbName+` WITH (FORCE)`)
	mustExec(t, admin, `CREATE DATABASE `+dbName)
	u, _ := url.Parse(adminURL)
	u.Path = "/" + dbName
	dbURL := u.String()

	var servers []*server
	for i := range 4 {
		s := newServer(t, dbURL)
		s.logPath = strings.TrimSuffix(s.logPath, ".log") + fmt.Sprintf("_%d.log", i)
		os.Remove(s.logPath)
		s.unset = connUnset
		s.env = []string{"RATE_LIMIT_CART=-1"} // the storm hits few carts hard
		s.start()
		servers = append(servers, s)
	}
	for i, s := range servers {
		if n := s.logCount(`"msg":"connection budget"`); n != 1 {
			t.Errorf("instance %d: %d start-up lines on the connection budget, want 1; log:\n%s", i, n, s.logTail(20))
		}
		if n := s.logCount(`"level":"WARN","msg":"connection budget`); n != 0 {
			t.Errorf("instance %d: the start-up check warns; four instances at the defaults fit %d connections: %s",
				i, stockMax-stockReserved, s.excerpt(`"msg":"connection budget`, 1))
		}
		// The warning weighs the connections open at start-up, when the
		// other instances' pools may still be empty: the line's own total
		// says whether four such instances fit.
		var budget struct {
			InstanceTotal int `json:"instance_total"`
		}
		line, _, _ := strings.Cut(s.excerpt(`"msg":"connection budget"`, 1), "\n")
		if err := json.Unmarshal([]byte(line), &budget); err != nil || budget.InstanceTotal == 0 {
			t.Errorf("instance %d: no instance_total in the connection budget line (%v): %s", i, err, line)
		} else if 4*budget.InstanceTotal > stockMax-stockReserved {
			t.Errorf("instance %d: 4 instances of %d connections do not fit %d: %s", i, budget.InstanceTotal, stockMax-stockReserved, line)
		}
	}

	w := setupWorld(t, servers[0].base(), nProducts, initStock, nCarts)

	// Sample the client backends until the storm is over.
	sampleStop := make(chan struct{})
	var peakAll, peakDB, samples int
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			var all, db int
			err := admin.QueryRow(`SELECT count(*), count(*) FILTER (WHERE datname = $1)
				FROM pg_stat_activity WHERE backend_type = 'client backend'`, dbName).Scan(&all, &db)
			if err != nil {
				t.Errorf("sample pg_stat_activity: %v", err)
				return
			}
			samples++
			peakAll, peakDB = max(peakAll, all), max(peakDB, db)
			select {
			case <-sampleStop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()

	rec := &recorder{}
	var clients []*blackbox.Client
	var wg sync.WaitGroup
	for i, s := range servers {
		c := newClient(s.base(), true, rec)
		clients = append(clients, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.RunStorm(c, fourWorkers, uint64(10+i), fourOps)
		}()
		for r := range fourReaders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(100+i), uint64(r)))
				for range fourReads / fourReaders {
					if rng.IntN(2) == 0 {
						c.Do("product", "product", false, qFourProduct, map[string]any{"id": w.Products[rng.IntN(len(w.Products))]})
					} else {
						c.Do("products", "products", false, qFourProducts, nil)
					}
				}
			}()
		}
	}
	wg.Wait()
	close(sampleStop)
	<-sampled

	outs := rec.Snapshot()
	summarize(t, "four instances at their defaults", outs)
	var ok, refused, unavailable int
	for _, o := range outs {
		switch {
		case o.Class == classOK:
			ok++
		case o.Class == classUserError:
			refused++
		case o.Class == classGQLError && (o.Code == "SERVICE_UNAVAILABLE" || o.Code == "TIMEOUT"):
			unavailable++
		default:
			t.Errorf("%s: %s (HTTP %d after %s): %s", o.Op, o.Key(), o.Status, o.Dur.Round(time.Millisecond), o.Detail)
		}
	}
	t.Logf("%d requests: %d succeeded, %d business refusals, %d SERVICE_UNAVAILABLE or TIMEOUT", len(outs), ok, refused, unavailable)
	if ok == 0 {
		t.Errorf("no request succeeded")
	}
	t.Logf("client backends over %d samples: at most %d in all, %d of them on %s (the four pools: %d)",
		samples, peakAll, peakDB, dbName, 4*fourPoolConn)
	if peakAll > stockMax-stockReserved {
		t.Errorf("%d client backends at once, more than max_connections - superuser_reserved_connections = %d", peakAll, stockMax-stockReserved)
	}
	for i, s := range servers {
		if n := s.logCount(`"internal error"`); n > 0 {
			t.Errorf("instance %d: %d internal errors logged: %s", i, n, s.excerpt(`"internal error"`, 3))
		}
	}

	checkInvariants(t, dbURL)
	checkAuditAPI(t, servers[1].base(), nProducts)
	for _, c := range clients {
		c.Close()
	}
	for _, s := range servers {
		shutdownClean(t, s)
	}
}

const (
	qFourProduct  = `query($id: ID!) { product(id: $id) { id name available } }`
	qFourProducts = `{ products(first: 10) { edges { node { id name available } } } }`
)
