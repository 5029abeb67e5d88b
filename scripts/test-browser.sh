#!/usr/bin/env bash
# test-browser.sh — the browser tests (e2e/, Playwright) against a fresh server.
#
#   scripts/test-browser.sh [PLAYWRIGHT-ARGS...]     (make test-browser)
#
# Installs what is missing: Debian's Chromium (apt-get, as root or with
# passwordless sudo; Playwright never downloads a browser) and e2e/'s npm
# packages (npm ci, when e2e/node_modules is missing or older than
# e2e/package-lock.json). Then creates a fresh database on the private dev
# cluster (scripts/devdb.sh), builds the server from this tree and starts it
# on 127.0.0.1:<free port> (ADMIN_TOKEN=dev-admin-token SEED_DEMO=1
# GRAPHIQL=true), runs `playwright test` with HOLDFAST_URL set to it, and on
# exit stops the server and drops the database (the cluster keeps running,
# as after `make run`). The tests write docs/img/graphiql.png.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export PATH="$PATH:/usr/local/go/bin"
GO="${GO:-go}"
DEVDB="$ROOT/scripts/devdb.sh"
CHROMIUM=/usr/bin/chromium
E2E="$ROOT/e2e"

log() { printf 'test-browser: %s\n' "$*" >&2; }
die() { printf 'test-browser: error: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------ tools
if [[ ! -x "$CHROMIUM" ]]; then
  sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    sudo -n true 2>/dev/null || die "$CHROMIUM is missing; install Debian's chromium package (apt-get install chromium)"
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null || die "$CHROMIUM is missing and apt-get is unavailable"
  log "installing Debian's chromium with apt-get"
  "${sudo[@]}" apt-get update >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
  [[ -x "$CHROMIUM" ]] || die "chromium installed but $CHROMIUM is still missing"
fi
command -v npm >/dev/null || die "npm is required (Node 20 or later)"
# npm ci leaves node_modules/.package-lock.json behind: stale when the lock
# file is newer than it, or when it was not written at all.
if [[ ! -f "$E2E/node_modules/.package-lock.json" || "$E2E/package-lock.json" -nt "$E2E/node_modules/.package-lock.json" ]]; then
  log "installing e2e/'s npm packages (npm ci)"
  (cd "$E2E" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2)
fi

# ------------------------------------------------------------------ cleanup
TMP="$(mktemp -d "${TMPDIR:-/tmp}/holdfast-test-browser.XXXXXX")"
SERVER_PID=""
DB_URL=""

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local i
    for ((i = 0; i < 100; i++)); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

find_psql() {
  local d best=""
  if [[ -n "${PG_BINDIR:-}" && -x "$PG_BINDIR/psql" ]]; then echo "$PG_BINDIR/psql"; return 0; fi
  while IFS= read -r d; do [[ -x "$d/psql" ]] && best="$d/psql"; done \
    < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V)
  if [[ -n "$best" ]]; then echo "$best"; return 0; fi
  command -v psql
}

drop_database() { # URL of a database on the dev cluster
  local url="$1" name admin psql
  name="${url##*/}"; name="${name%%\?*}"
  admin="${url%/*}/postgres?sslmode=disable"
  psql="$(find_psql)" || { log "psql not found: database $name left behind"; return 0; }
  if ! "$psql" -X -q -v ON_ERROR_STOP=1 -d "$admin" \
        -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null 2>"$TMP/drop.err"; then
    log "could not drop database $name:"; cat "$TMP/drop.err" >&2
  fi
}

cleanup() {
  local rc=$?
  stop_server
  [[ -z "$DB_URL" ]] || drop_database "$DB_URL"
  rm -rf -- "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ server
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 30000))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free TCP port found"
}

PORT=""
start_server() { # DATABASE_URL
  local attempt i code
  for attempt in 1 2 3; do
    PORT="$(free_port)"
    env -i PATH="$PATH" \
      DATABASE_URL="$1" LISTEN_ADDR="127.0.0.1:$PORT" ADMIN_TOKEN=dev-admin-token \
      SEED_DEMO=1 GRAPHIQL=true \
      "$TMP/holdfast" serve >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < 300; i++)); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      code="$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" || true)"
      [[ "$code" == 200 ]] && return 0
      sleep 0.2
    done
    stop_server
    if grep -q 'address already in use' "$TMP/server.log"; then
      log "port $PORT was taken meanwhile; trying another"
      continue
    fi
    tail -n 30 "$TMP/server.log" >&2
    die "the server did not become ready"
  done
  die "could not find a port for the server"
}

command -v curl >/dev/null || die "curl is required"
log "building the server"
"$GO" build -o "$TMP/holdfast" .
DB_URL="$(DEVDB_NAME="browser_test_$$_$RANDOM" "$DEVDB" url)"
start_server "$DB_URL"
log "server on http://127.0.0.1:$PORT (log: kept on failure)"

mkdir -p "$ROOT/docs/img"
set +e
(cd "$E2E" && HOLDFAST_URL="http://127.0.0.1:$PORT" HOLDFAST_ADMIN_TOKEN=dev-admin-token NO_PROXY='127.0.0.1,localhost' no_proxy='127.0.0.1,localhost' \
   ./node_modules/.bin/playwright test "$@")
rc=$?
set -e
if ((rc != 0)); then
  log "FAILED; the server's log ends:"
  tail -n 40 "$TMP/server.log" >&2
fi
exit "$rc"
