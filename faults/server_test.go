//go:build faults

package faults

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"
)

const adminToken = "faults-admin-token"

// ---------------------------------------------------------------- databases

var nonIdent = regexp.MustCompile(`[^a-z0-9]+`)

// createDB creates a fresh database for t on the fault cluster and returns
// its URL; it is dropped when t ends (FAULTS_KEEP_DB=1 keeps it).
func createDB(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("faults_%s_%d", strings.Trim(nonIdent.ReplaceAllString(strings.ToLower(t.Name()), "_"), "_"), time.Now().UnixNano()%1e9)
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	adminExec(t, `CREATE DATABASE "`+name+`"`)
	t.Cleanup(func() {
		if os.Getenv("FAULTS_KEEP_DB") == "1" {
			t.Logf("kept database %s", name)
			return
		}
		adminExec(t, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
	})
	u, _ := url.Parse(adminURL)
	u.Path = "/" + name
	return u.String()
}

func dbName(dbURL string) string {
	u, _ := url.Parse(dbURL)
	return strings.TrimPrefix(u.Path, "/")
}

func adminExec(t *testing.T, q string, args ...any) {
	t.Helper()
	db := openDB(t, adminURL)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// devdb runs the fault cluster's control script (start|stop).
func devdb(t *testing.T, cmd string) time.Duration {
	t.Helper()
	start := time.Now()
	c := exec.Command(devdbScript, cmd)
	c.Env = append(os.Environ(), devdbEnv...)
	out, err := c.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", devdbScript, cmd, err, out)
	}
	return time.Since(start)
}

// requireOwnCluster refuses to take a PostgreSQL server down unless it is
// provably the private fault cluster, never the shared dev/test one.
func requireOwnCluster(t *testing.T) {
	t.Helper()
	if devdbScript == "" {
		t.Skip("FAULTS_DEVDB is not set: cannot stop/start PostgreSQL (run via make test-faults)")
	}
	dir := ""
	for _, kv := range devdbEnv {
		if v, ok := strings.CutPrefix(kv, "DEVDB_DIR="); ok {
			dir = v
		}
	}
	if dir == "" || filepath.Base(filepath.Clean(dir)) == "pg" {
		t.Fatalf("FAULTS_DEVDB_ENV=%q must select a private cluster with DEVDB_DIR (not the dev cluster)", strings.Join(devdbEnv, " "))
	}
	c := exec.Command(devdbScript, "status")
	c.Env = append(os.Environ(), devdbEnv...)
	out, _ := c.Output()
	u, _ := url.Parse(adminURL)
	if !strings.Contains(string(out), "127.0.0.1:"+u.Port()+" ") {
		t.Fatalf("the cluster controlled by FAULTS_DEVDB_ENV (%s) is not the one in FAULTS_DATABASE_URL (port %s)", strings.TrimSpace(string(out)), u.Port())
	}
}

// ---------------------------------------------------------------- server process

// server is one holdfast process (restartable on the same address and DB).
type server struct {
	t       *testing.T
	dbURL   string
	addr    string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	state   *os.ProcessState
	starts  int
	// env is added to (and overrides) the settings start passes.
	env []string
	// unset names settings start passes none of (not even from the test's
	// environment): the server's defaults apply.
	unset []string
}

func newServer(t *testing.T, dbURL string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	// FAULTS_LOG_DIR keeps the server logs (they go to t.TempDir otherwise).
	logDir := os.Getenv("FAULTS_LOG_DIR")
	if logDir == "" {
		logDir = t.TempDir()
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	}
	// One file per server: a test may run several.
	_, port, _ := net.SplitHostPort(addr)
	logPath := filepath.Join(logDir, nonIdent.ReplaceAllString(strings.ToLower(t.Name()), "_")+"_"+port+".log")
	os.Remove(logPath)
	s := &server{t: t, dbURL: dbURL, addr: addr, logPath: logPath}
	t.Cleanup(s.cleanup)
	return s
}

func (s *server) base() string { return "http://" + s.addr }

// start launches the process and waits until /healthz answers.
func (s *server) start() {
	t := s.t
	t.Helper()
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	s.starts++
	fmt.Fprintf(logf, "=== faults: start #%d at %s\n", s.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(serverBin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+s.dbURL,
		"LISTEN_ADDR="+s.addr,
		"ADMIN_TOKEN="+adminToken,
		"HOLD_TTL=4s",
		"REAPER_INTERVAL=500ms",
		"PAYMENT_TTL=3s",
		"PAYMENT_ACTIONS_INTERVAL=500ms",
		"DB_MAX_CONNS=10",
		"GRAPHIQL=false",
		"SEED_DEMO=false",
		"GORACE=halt_on_error=0 atexit_sleep_ms=100", // the default 1 s exit pause would hide shutdown time
	)
	cmd.Env = append(cmd.Env, s.env...)
	cmd.Env = slices.DeleteFunc(cmd.Env, func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(s.unset, name)
	})
	cmd.Stdout, cmd.Stderr = logf, logf
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start holdfast: %v", err)
	}
	s.cmd, s.exited, s.state = cmd, make(chan struct{}), nil
	exited := s.exited
	go func() {
		_ = cmd.Wait() // the exit state is read from cmd.ProcessState
		logf.Close()
		s.state = cmd.ProcessState
		close(exited)
	}()
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get(s.base() + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Logf("holdfast start #%d on %s healthy after %s", s.starts, s.addr, time.Since(begin).Round(time.Millisecond))
				return
			}
		}
		select {
		case <-exited:
			t.Fatalf("holdfast exited during startup (%v); log:\n%s", s.state, s.logTail(40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("holdfast not healthy after 60s; log:\n%s", s.logTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and reaps the process.
func (s *server) kill() {
	if !s.running() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGKILL) // fails only if it already exited
	<-s.exited
}

// terminate sends SIGTERM and waits up to limit for the exit. It returns
// the exit code (-1 if the process had to be killed) and the time it took.
func (s *server) terminate(limit time.Duration) (int, time.Duration) {
	if !s.running() {
		return s.state.ExitCode(), 0
	}
	begin := time.Now()
	_ = s.cmd.Process.Signal(syscall.SIGTERM) // fails only if it already exited
	select {
	case <-s.exited:
		return s.state.ExitCode(), time.Since(begin)
	case <-time.After(limit):
		s.kill()
		return -1, time.Since(begin)
	}
}

func (s *server) readLog() []byte {
	b, _ := os.ReadFile(s.logPath)
	return b
}

func (s *server) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(string(s.readLog()), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logCount counts log lines containing substr.
func (s *server) logCount(substr string) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(s.readLog()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if strings.Contains(sc.Text(), substr) {
			n++
		}
	}
	return n
}

func (s *server) cleanup() {
	s.kill()
	t := s.t
	if s.cmd == nil {
		return
	}
	if n := s.logCount("WARNING: DATA RACE"); n > 0 {
		t.Errorf("holdfast reported %d data race(s); log:\n%s", n, s.excerpt("WARNING: DATA RACE", 60))
	}
	if n := s.logCount("panic"); n > 0 {
		t.Errorf("holdfast logged %d line(s) mentioning a panic; log:\n%s", n, s.excerpt("panic", 30))
	}
	t.Logf("holdfast log: %d lines mention \"internal error\", %d \"database unavailable\"",
		s.logCount(`"internal error"`), s.logCount(`"database unavailable"`))
	// Only the path: a tail of every server's log here would push the
	// test's own failure out of the end of the output, which is what CI
	// shows. make test-faults keeps the logs (FAULTS_LOG_DIR).
	if t.Failed() {
		t.Logf("holdfast log: %s", s.logPath)
	}
}

// excerpt returns up to n lines of the log starting at the first line that
// contains substr.
func (s *server) excerpt(substr string, n int) string {
	lines := strings.Split(string(s.readLog()), "\n")
	for i, l := range lines {
		if strings.Contains(l, substr) {
			end := min(i+n, len(lines))
			return strings.Join(lines[i:end], "\n")
		}
	}
	return ""
}
