#!/usr/bin/env bash
# test-cluster.sh — the cluster tests (package ./cluster, build tag
# "cluster") against a cluster of their own (make test-cluster).
#
#   scripts/test-cluster.sh [GO-TEST-ARGS...]   e.g. -run RollingRestart
#
# Brings up scripts/cluster.sh with CLUSTER_DIR=.data/test-cluster,
# CLUSTER_PORT=8190 (nginx; replicas on 8201.., PgBouncer on 8199) and
# CLUSTER_DB=holdfast_cluster_test on the private dev PostgreSQL cluster —
# never the ports, directory or database of `make cluster-up` — with a
# fresh database and the server built with the race detector
# (TEST_CLUSTER_RACE=0: without). cluster.sh installs nginx and pgbouncer
# (apt-get) if they are missing. Runs
#   go test -tags cluster -race -count=1 -v -timeout 8m ./cluster/
# with what `scripts/cluster.sh env` prints, then brings the cluster down,
# drops the database, and fails if a replica reported a data race.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export PATH="$PATH:/usr/local/go/bin"
GO="${GO:-go}"

log() { printf 'test-cluster: %s\n' "$*" >&2; }
die() { printf 'test-cluster: error: %s\n' "$*" >&2; exit 1; }
TMP="$(mktemp -d "${TMPDIR:-/tmp}/holdfast-test-cluster.XXXXXX")"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

export CLUSTER_DIR="$ROOT/.data/test-cluster" CLUSTER_PORT=8190 CLUSTER_DB=holdfast_cluster_test
unset CLUSTER_PGBOUNCER_PORT CLUSTER_REPLICAS
export CLUSTER_SERVER_ENV="${TEST_CLUSTER_SERVER_ENV:-}"
CLUSTER="$ROOT/scripts/cluster.sh"

DB_URL=""
cleanup() {
  local rc=$?
  "$CLUSTER" down || rc=1
  [[ -n "$DB_URL" ]] && drop_database "$DB_URL"
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT

# A fresh database: left over from an interrupted run, it would carry its
# products into this run's audit.
"$CLUSTER" down
DB_URL="$(DEVDB_NAME=postgres scripts/devdb.sh url)"
DB_URL="${DB_URL%/*}/$CLUSTER_DB?sslmode=disable"
drop_database "$DB_URL"

export CLUSTER_BIN="$CLUSTER_DIR/holdfast-test"
mkdir -p "$CLUSTER_DIR"
rm -f "$CLUSTER_DIR"/replica-*.log "$CLUSTER_DIR"/nginx-*.log # this run's logs only (the data race check reads them)
race=(-race)
[[ "${TEST_CLUSTER_RACE:-1}" == 0 ]] && race=()
log "building the server (${race[*]:-no race detector}) into $CLUSTER_BIN"
"$GO" build "${race[@]}" -o "$CLUSTER_BIN" .

log "bringing up the test cluster (nginx 127.0.0.1:$CLUSTER_PORT)"
"$CLUSTER" up
eval "$("$CLUSTER" env)"
export CLUSTER_URL CLUSTER_REPLICA_URLS CLUSTER_DATABASE_URL CLUSTER_PGBOUNCER_URL ADMIN_TOKEN CLUSTER_PIDS CLUSTER_NGINX_PID CLUSTER_PGBOUNCER_PID
export CLUSTER_SCRIPT="$CLUSTER"
unset DATABASE_URL TEST_DATABASE_URL

rc=0
"$GO" test -tags cluster -race -count=1 -v -timeout 8m ./cluster/ "$@" || rc=$?

# The replicas (built with -race) report data races to their logs.
if grep -l 'WARNING: DATA RACE' "$CLUSTER_DIR"/replica-*.log >/dev/null 2>&1; then
  log "a replica reported a data race:"
  grep -A 30 'WARNING: DATA RACE' "$CLUSTER_DIR"/replica-*.log | head -n 80 >&2
  rc=1
fi
exit "$rc"
