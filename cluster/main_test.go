//go:build cluster

package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"holdfast/internal/blackbox"
)

// The cluster under test, from `scripts/cluster.sh env` (make test-cluster).
var (
	baseURL    string    // CLUSTER_URL: nginx
	replicas   []replica // CLUSTER_REPLICA_URLS, in order (replica I is replicas[I-1])
	dbURL      string    // CLUSTER_DATABASE_URL: straight to PostgreSQL, for the audit
	adminToken string    // ADMIN_TOKEN
	script     string    // CLUSTER_SCRIPT: scripts/cluster.sh (CLUSTER_DIR is inherited)
)

type replica struct {
	index int // 1-based, as scripts/cluster.sh counts
	url   string
}

func (r replica) hostPort() string {
	u, _ := url.Parse(r.url)
	return u.Host
}

func TestMain(m *testing.M) {
	baseURL = strings.TrimRight(os.Getenv("CLUSTER_URL"), "/")
	for i, u := range strings.Fields(os.Getenv("CLUSTER_REPLICA_URLS")) {
		replicas = append(replicas, replica{index: i + 1, url: strings.TrimRight(u, "/")})
	}
	dbURL = os.Getenv("CLUSTER_DATABASE_URL")
	adminToken = os.Getenv("ADMIN_TOKEN")
	blackbox.AdminToken = adminToken
	script = os.Getenv("CLUSTER_SCRIPT")
	if script == "" {
		script = "../scripts/cluster.sh"
	}
	if baseURL != "" && (len(replicas) < 2 || dbURL == "" || adminToken == "") {
		fmt.Fprintln(os.Stderr, "cluster: CLUSTER_URL is set but CLUSTER_REPLICA_URLS (2 or more), CLUSTER_DATABASE_URL or ADMIN_TOKEN is not; run these tests with `make test-cluster`")
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// need skips t without a cluster (CLUSTER_URL unset), or fails it under
// CI=true, where a skipped cluster test would hide that nothing ran.
func need(t *testing.T) {
	t.Helper()
	if baseURL != "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CLUSTER_URL is not set: under CI=true the cluster tests must run (make test-cluster brings up a cluster and sets it)")
	}
	t.Skip("CLUSTER_URL is not set; run these tests with `make test-cluster` (it brings up a cluster of its own)")
}

// cluster runs `scripts/cluster.sh args...` and fails t if it fails.
func cluster(t *testing.T, args ...string) {
	t.Helper()
	if err := clusterErr(args...); err != nil {
		t.Fatal(err)
	}
}

func clusterErr(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	begin := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w after %s\n%s", script, strings.Join(args, " "), err, time.Since(begin).Round(time.Millisecond), out.String())
	}
	return nil
}

// clusterEnv is what `scripts/cluster.sh env` prints now (pids change as
// replicas restart).
func clusterEnv(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command(script, "env").Output()
	if err != nil {
		t.Fatalf("%s env: %v", script, err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s env: unexpected line %q", script, line)
		}
		env[k] = strings.Trim(v, "'")
	}
	return env
}
