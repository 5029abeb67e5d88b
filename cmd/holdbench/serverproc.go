package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// repoRoot finds the directory of the holdfast module's go.mod, upward from
// the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module holdfast")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the holdfast module (go.mod) above the working directory")
		}
		dir = parent
	}
}

func goBinary() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/local/go/bin/go"); err == nil {
		return "/usr/local/go/bin/go"
	}
	return "go"
}

// devDBURL asks scripts/devdb.sh for the private dev cluster's URL.
func devDBURL(root string) (string, error) {
	cmd := exec.Command(filepath.Join(root, "scripts", "devdb.sh"), "url")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/devdb.sh url: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// benchServerEnv is the environment every benchmarked server gets (the
// replicas of a scaling run too).
func benchServerEnv(pool int) []string {
	return []string{
		"HOLD_TTL=1h",
		"DB_MAX_CONNS=" + strconv.Itoa(pool),
		"LOG_LEVEL=WARN",
		// A load generator is one address hammering a few carts: lift the
		// abuse limits that exist to stop exactly that.
		"RATE_LIMIT_IP=-1",
		"RATE_LIMIT_CART=-1",
		"MAX_LINE_QUANTITY=2000000000",
		"MAX_CART_QUANTITY=2000000000",
		"MAX_CART_LINES=1000000",
		// The watchers scenario opens thousands of sockets from one
		// address (through nginx too, which forwards that address to the
		// replicas): more than the cap, which this lifts for the benchmark.
		"WS_MAX_CONNECTIONS_PER_IP=-1",
	}
}

// server is a Holdfast process holdbench built and started.
type server struct {
	cmd     *exec.Cmd
	baseURL string
	logPath string
	exited  chan struct{}
	waitErr error
}

func buildServer(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "holdfast")
	cmd := exec.CommandContext(ctx, goBinary(), "build", "-o", bin, ".")
	cmd.Dir = root
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build: %w", err)
	}
	return bin, nil
}

func startServer(ctx context.Context, bin, dir, dbURL, token string, pool int) (*server, error) {
	return startServerLog(ctx, bin, filepath.Join(dir, "server.log"), dbURL, token, pool)
}

// startServerLog starts a server logging to logPath, with extra environment
// assignments after the benchmark's own.
func startServerLog(ctx context.Context, bin, logPath, dbURL, token string, pool int, extraEnv ...string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"DATABASE_URL="+dbURL,
		"LISTEN_ADDR="+addr,
		"ADMIN_TOKEN="+token,
		"GRAPHIQL=false",
		"SEED_DEMO=false",
	)
	cmd.Env = append(cmd.Env, benchServerEnv(pool)...)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout = lf
	cmd.Stderr = lf
	// Own process group: a Ctrl-C at the terminal reaches holdbench, which
	// then stops the server in order (and drops its database after).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	s := &server{cmd: cmd, baseURL: "http://" + addr, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		lf.Close()
		close(s.exited)
	}()
	if err := waitReady(ctx, s.baseURL, 60*time.Second, s.exited); err != nil {
		s.stop()
		return nil, fmt.Errorf("server: %w\n%s", err, tail(logPath, 20))
	}
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) alive() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM, then SIGKILL after 10s.
func (s *server) stop() {
	if !s.alive() {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// rssKB reads VmRSS of a process in kB.
func rssKB(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "VmRSS:") {
			fields := strings.Fields(line)
			if len(fields) >= 2 {
				return strconv.ParseInt(fields[1], 10, 64)
			}
		}
	}
	return 0, errors.New("no VmRSS")
}

// rssSampler records the maximum RSS of a set of processes (summed at each
// sample), sampled every 200ms.
type rssSampler struct {
	stopc chan struct{}
	wg    sync.WaitGroup
	maxKB int64
}

func sampleRSS(pids ...int) *rssSampler {
	s := &rssSampler{stopc: make(chan struct{})}
	pids = slices.DeleteFunc(slices.Clone(pids), func(p int) bool { return p <= 0 })
	if len(pids) == 0 {
		s.maxKB = -1
		close(s.stopc)
		return s
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			var sum int64
			for _, pid := range pids {
				if kb, err := rssKB(pid); err == nil {
					sum += kb
				}
			}
			s.maxKB = max(s.maxKB, sum)
			select {
			case <-s.stopc:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// stop returns the maximum RSS in MB, or -1 when not sampled.
func (s *rssSampler) stop() float64 {
	if s.maxKB < 0 {
		return -1
	}
	close(s.stopc)
	s.wg.Wait()
	return float64(s.maxKB) / 1024
}
