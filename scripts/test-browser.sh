#!/usr/bin/env bash
# test-browser.sh — the browser tests (e2e/, Playwright) against fresh servers.
#
#   scripts/test-browser.sh [PLAYWRIGHT-ARGS...]     (make test-browser)
#
# Installs what is missing: Debian's Chromium (apt-get, as root or with
# passwordless sudo; Playwright never downloads a browser) and the npm
# packages of e2e/ and examples/storefront/ (npm ci, when node_modules is
# missing or older than package-lock.json). Runs the storefront's unit tests
# (vitest) and builds it (npm run build: examples/storefront/dist). Then
# creates a fresh database on the private dev cluster (scripts/devdb.sh),
# builds the server from this tree and starts two instances on it, on
# 127.0.0.1:<free port>, both serving the storefront at /shop/
# (STOREFRONT_DIR) with ADMIN_TOKEN=dev-admin-token: the main one
# (SEED_DEMO=1 GRAPHIQL=true), HOLDFAST_URL, and one whose carts expire
# after 20 s and whose carts may make 2 mutations at once, then 1 per 8 s
# (HOLD_TTL=20s RATE_LIMIT_CART=0.125 RATE_LIMIT_CART_BURST=2: wide enough
# that a slow browser still sees the countdown and meets the limit),
# HOLDFAST_SHORT_TTL_URL. It runs `playwright test` with those set, and on
# exit stops the servers and drops the database (the cluster keeps running,
# as after `make run`). The tests write docs/img/graphiql.png and
# docs/img/storefront-{catalog,product,group,cart}.png.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export PATH="$PATH:/usr/local/go/bin"
GO="${GO:-go}"
DEVDB="$ROOT/scripts/devdb.sh"
CHROMIUM=/usr/bin/chromium
E2E="$ROOT/e2e"
SHOP="$ROOT/examples/storefront"

log() { printf 'test-browser: %s\n' "$*" >&2; }
die() { printf 'test-browser: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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
npm_ci() { # DIR
  if [[ ! -f "$1/node_modules/.package-lock.json" || "$1/package-lock.json" -nt "$1/node_modules/.package-lock.json" ]]; then
    log "installing ${1#"$ROOT"/}/'s npm packages (npm ci)"
    (cd "$1" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >&2)
  fi
}
npm_ci "$E2E"
npm_ci "$SHOP"

# ------------------------------------------------------------------ storefront
log "storefront: unit tests, then the build the servers serve"
(cd "$SHOP" && npm test --silent >&2 && npm run build --silent >&2)
[[ -f "$SHOP/dist/index.html" ]] || die "the storefront build left no $SHOP/dist/index.html"

# ------------------------------------------------------------------ cleanup
TMP="$(mktemp -d "${TMPDIR:-/tmp}/holdfast-test-browser.XXXXXX")"
SERVER_PIDS=()
DB_URL=""

stop_servers() {
  local pid
  for pid in "${SERVER_PIDS[@]}"; do stop_pid "$pid"; done
  SERVER_PIDS=()
}

cleanup() {
  local rc=$?
  stop_servers
  [[ -z "$DB_URL" ]] || drop_database "$DB_URL"
  rm -rf -- "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ server

PORT=""
start_server() { # NAME DATABASE_URL [VAR=VALUE...]: sets PORT; logs to $TMP/NAME.log
  local name="$1" db="$2" attempt i code pid
  shift 2
  for attempt in 1 2 3; do
    PORT="$(free_port)"
    env -i PATH="$PATH" \
      DATABASE_URL="$db" LISTEN_ADDR="127.0.0.1:$PORT" ADMIN_TOKEN=dev-admin-token \
      STOREFRONT_DIR="$SHOP/dist" "$@" \
      "$TMP/holdfast" serve >"$TMP/$name.log" 2>&1 &
    pid=$!
    for ((i = 0; i < 300; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      code="$(curl -s --noproxy '*' -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz" || true)"
      if [[ "$code" == 200 ]]; then SERVER_PIDS+=("$pid"); return 0; fi
      sleep 0.2
    done
    stop_pid "$pid"
    if grep -q 'address already in use' "$TMP/$name.log"; then
      log "port $PORT was taken meanwhile; trying another"
      continue
    fi
    tail -n 30 "$TMP/$name.log" >&2
    die "the $name server did not become ready"
  done
  die "could not find a port for the $name server"
}

command -v curl >/dev/null || die "curl is required"
log "building the server"
"$GO" build -o "$TMP/holdfast" .
DB_URL="$(DEVDB_NAME="browser_test_$$_$RANDOM" "$DEVDB" url)"
# One after the other: the first seeds the demo catalog.
start_server main "$DB_URL" SEED_DEMO=1 GRAPHIQL=true
MAIN_URL="http://127.0.0.1:$PORT"
start_server short-ttl "$DB_URL" GRAPHIQL=false HOLD_TTL=20s REAPER_INTERVAL=1s \
  RATE_LIMIT_CART=0.125 RATE_LIMIT_CART_BURST=2
SHORT_URL="http://127.0.0.1:$PORT"
log "servers on $MAIN_URL and $SHORT_URL (HOLD_TTL=20s); storefront at /shop/ (logs: kept on failure)"

mkdir -p "$ROOT/docs/img"
set +e
(cd "$E2E" && HOLDFAST_URL="$MAIN_URL" HOLDFAST_SHORT_TTL_URL="$SHORT_URL" HOLDFAST_ADMIN_TOKEN=dev-admin-token \
   NO_PROXY='127.0.0.1,localhost' no_proxy='127.0.0.1,localhost' \
   ./node_modules/.bin/playwright test "$@")
rc=$?
set -e
if ((rc != 0)); then
  for name in main short-ttl; do
    log "FAILED; the $name server's log ends:"
    tail -n 40 "$TMP/$name.log" >&2
  done
fi
exit "$rc"
