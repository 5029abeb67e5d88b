//go:build faults

package faults

import (
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"holdfast/internal/blackbox"
)

// Configuration from the environment (set by `make test-faults`).
var (
	// adminURL is the fault cluster's maintenance database; every test
	// creates its own database next to it.
	adminURL string
	// devdbScript and devdbEnv control the fault cluster:
	// `env $devdbEnv $devdbScript stop|start`.
	devdbScript string
	devdbEnv    []string
	// serverBin is the holdfast binary under test, built once by TestMain.
	serverBin string
)

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	blackbox.AdminToken = adminToken // the servers these tests start use it
	adminURL = os.Getenv("FAULTS_DATABASE_URL")
	if adminURL == "" {
		fmt.Fprintln(os.Stderr, "faults: FAULTS_DATABASE_URL is not set; run these tests with `make test-faults`")
		return 2
	}
	if u, err := url.Parse(adminURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		fmt.Fprintf(os.Stderr, "faults: FAULTS_DATABASE_URL must be a postgres:// URL\n")
		return 2
	}
	devdbScript = os.Getenv("FAULTS_DEVDB")
	devdbEnv = strings.Fields(os.Getenv("FAULTS_DEVDB_ENV"))

	dir, err := os.MkdirTemp("", "holdfast-faults-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 2
	}
	defer os.RemoveAll(dir)
	serverBin = filepath.Join(dir, "holdfast")

	// The server is built with the race detector (unless FAULTS_SERVER_RACE=0):
	// a data race it reports under fault conditions fails the test that ran it.
	args := []string{"build", "-o", serverBin}
	if os.Getenv("FAULTS_SERVER_RACE") != "0" {
		args = append(args, "-race")
	}
	args = append(args, ".")
	start := time.Now()
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = ".." // the module root: package main lives there
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "faults: go %s: %v\n", strings.Join(args, " "), err)
		return 2
	}
	fmt.Fprintf(os.Stderr, "faults: built %s (%s) in %s\n", serverBin, strings.Join(args[3:len(args)-1], " "), time.Since(start).Round(time.Millisecond))
	return m.Run()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}
