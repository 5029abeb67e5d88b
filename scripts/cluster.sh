#!/usr/bin/env bash
# cluster.sh — a local production topology of Holdfast, all from Debian
# packages, under .data/ and on loopback only:
#
#   nginx (127.0.0.1:$CLUSTER_PORT)  ->  N Holdfast replicas  ->  PgBouncer
#   (transaction pooling)  ->  PostgreSQL (scripts/devdb.sh's private cluster);
#   each replica's LISTEN connection and its migrations go straight to
#   PostgreSQL (DATABASE_DIRECT_URL): neither works through transaction pooling.
#
#   scripts/cluster.sh up                  start what is not running; wait until nginx
#                                          answers /readyz through every replica (idempotent)
#   scripts/cluster.sh down                stop replicas (gracefully), nginx and PgBouncer;
#                                          PostgreSQL keeps running
#   scripts/cluster.sh status              what runs (exit 0 all up, 3 otherwise)
#   scripts/cluster.sh env                 shell assignments: CLUSTER_URL, CLUSTER_REPLICA_URLS,
#                                          CLUSTER_DATABASE_URL, CLUSTER_PGBOUNCER_URL, ADMIN_TOKEN,
#                                          CLUSTER_PIDS, CLUSTER_NGINX_PID, CLUSTER_PGBOUNCER_PID
#   scripts/cluster.sh restart-replica I   SIGTERM replica I (1-based), wait for it to exit,
#                                          start it again, wait until it is ready
#   scripts/cluster.sh kill-replica I      SIGKILL replica I (no drain)
#   scripts/cluster.sh start-replica I     start replica I (if not running), wait until ready
#   scripts/cluster.sh stop-pgbouncer      stop PgBouncer at once (SIGTERM: immediate shutdown)
#   scripts/cluster.sh start-pgbouncer     start it again
#   scripts/cluster.sh restart-pgbouncer   both
#
# Environment (read by `up`; later commands, and `up` while anything of the
# cluster runs, use what `up` recorded in $CLUSTER_DIR/cluster.env: to
# change a knob, `down` first):
#   CLUSTER_REPLICAS    replicas (default 3), on 127.0.0.1:$((CLUSTER_PORT+10+I))
#   CLUSTER_DIR         state, configs and logs (default .data/cluster)
#   CLUSTER_PORT        nginx's port on 127.0.0.1 (default 8090)
#   CLUSTER_PGBOUNCER_PORT  PgBouncer's port (default CLUSTER_PORT+9)
#   CLUSTER_PGBOUNCER_POOL  PgBouncer's default_pool_size (default 40)
#   CLUSTER_DB          database on the dev cluster (default holdfast_cluster)
#   CLUSTER_SERVER_ENV  extra assignments for every replica ("DB_MAX_CONNS=20 LOG_LEVEL=warn")
#   CLUSTER_BIN         the server binary (default: go build -o $CLUSTER_DIR/holdfast .)
#   ADMIN_TOKEN         the replicas' admin token (default dev-admin-token)
#
# Replica I logs to $CLUSTER_DIR/replica-I.log; nginx to nginx-error.log and
# nginx-access.log there; PgBouncer to pgbouncer.log in its directory (see
# `status`). Installs nginx and pgbouncer with apt-get when they are missing
# (as root, or with passwordless sudo). Only `env` writes to stdout;
# diagnostics go to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"
DEVDB="$ROOT/scripts/devdb.sh"

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }

IS_ROOT=0
[[ "$(id -u)" -eq 0 ]] && IS_ROOT=1

abspath() { case "$1" in /*) printf '%s\n' "${1%/}" ;; *) printf '%s\n' "$ROOT/${1%/}" ;; esac; }

DIR="$(abspath "${CLUSTER_DIR:-.data/cluster}")"
STATE="$DIR/cluster.env"
NGINX_PID_FILE="$DIR/nginx.pid"

# ------------------------------------------------------------------ settings
# load_settings: what `up` recorded (or, before the first `up`, the knobs).
load_settings() {
  if [[ -f "$STATE" ]]; then
    # shellcheck disable=SC1090
    . "$STATE"
    return 0
  fi
  REPLICAS="${CLUSTER_REPLICAS:-3}"
  PORT="${CLUSTER_PORT:-8090}"
  PGB_PORT="${CLUSTER_PGBOUNCER_PORT:-$((PORT + 9))}"
  PGB_POOL="${CLUSTER_PGBOUNCER_POOL:-40}"
  DB="${CLUSTER_DB:-holdfast_cluster}"
  SERVER_ENV="${CLUSTER_SERVER_ENV:-}"
  BIN="${CLUSTER_BIN:-}"
  TOKEN="${ADMIN_TOKEN:-dev-admin-token}"
  PGB_DIR=""
  DIRECT_URL=""
}

check_settings() {
  [[ "$REPLICAS" =~ ^[1-9][0-9]?$ ]] || die "CLUSTER_REPLICAS=$REPLICAS: want 1..99"
  [[ "$PORT" =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT + 10 + REPLICAS < 65536)) || die "CLUSTER_PORT=$PORT is not a usable port"
  [[ "$PGB_PORT" =~ ^[0-9]+$ ]] || die "CLUSTER_PGBOUNCER_PORT=$PGB_PORT is not a port"
  [[ "$PGB_POOL" =~ ^[1-9][0-9]*$ ]] || die "CLUSTER_PGBOUNCER_POOL=$PGB_POOL is not a positive number"
  [[ "$DB" =~ ^[A-Za-z0-9_][A-Za-z0-9_-]*$ ]] || die "CLUSTER_DB=$DB must match [A-Za-z0-9_-]+"
  [[ "$TOKEN" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "ADMIN_TOKEN must be a plain token (letters, digits, ._~+/=-)"
}

save_settings() {
  local tmp="$STATE.tmp"
  {
    printf 'REPLICAS=%q\nPORT=%q\nPGB_PORT=%q\nPGB_POOL=%q\nDB=%q\n' "$REPLICAS" "$PORT" "$PGB_PORT" "$PGB_POOL" "$DB"
    printf 'SERVER_ENV=%q\nBIN=%q\nTOKEN=%q\nPGB_DIR=%q\nDIRECT_URL=%q\n' "$SERVER_ENV" "$BIN" "$TOKEN" "$PGB_DIR" "$DIRECT_URL"
  } >"$tmp"
  mv "$tmp" "$STATE"
}

replica_port() { echo $((PORT + 10 + $1)); }
replica_url() { echo "http://127.0.0.1:$(replica_port "$1")"; }
pgbouncer_url() { echo "postgres://postgres@127.0.0.1:$PGB_PORT/$DB?sslmode=disable"; }

check_index() {
  [[ "${1:-}" =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= REPLICAS)) || die "replica index '${1:-}': want 1..$REPLICAS"
}

# ------------------------------------------------------------------ processes
pid_of() { # pid file -> live pid, or nothing
  local pid
  [[ -s "$1" ]] || return 1
  pid="$(tr -dc '0-9' <"$1")"
  [[ -n "$pid" ]] && alive "$pid" && echo "$pid"
}

alive() { # a live process, not a zombie
  [[ -r "/proc/$1/stat" ]] || return 1
  [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]]
}

# wait_gone PID SECONDS: until the process is gone (or a zombie).
wait_gone() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    alive "$1" || return 0
    sleep 0.1
  done
  return 1
}

# http_status URL: the HTTP status (000 when nothing answered), within 3 s.
http_status() {
  curl -s -o /dev/null -m 3 -w '%{http_code}' "$1" 2>/dev/null || true
}

# ------------------------------------------------------------------ packages
ensure_packages() {
  local missing=()
  command -v nginx >/dev/null 2>&1 || missing+=(nginx)
  command -v pgbouncer >/dev/null 2>&1 || missing+=(pgbouncer)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  ((${#missing[@]})) || return 0
  local sudo=()
  if ((!IS_ROOT)); then
    sudo -n true 2>/dev/null || die "missing ${missing[*]}: install Debian's packages (apt-get install ${missing[*]})"
    sudo=(sudo -n)
  fi
  command -v apt-get >/dev/null || die "missing ${missing[*]} and apt-get is unavailable"
  log "installing Debian's ${missing[*]} with apt-get"
  "${sudo[@]}" apt-get update >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
  local p
  for p in "${missing[@]}"; do command -v "$p" >/dev/null || die "$p installed but still not on PATH"; done
  # Debian starts nginx on port 80 where an init system runs: not ours.
  if ((IS_ROOT)) && command -v systemctl >/dev/null && systemctl is-active --quiet nginx 2>/dev/null; then
    systemctl stop nginx >&2 || true
    systemctl disable nginx >&2 2>/dev/null || true
  fi
}

# ------------------------------------------------------------------ PgBouncer
# PgBouncer refuses to run as root: as root it runs as the postgres user
# (which scripts/devdb.sh already created), with its files in a directory
# that user owns — $CLUSTER_DIR/pgbouncer, or a /var/tmp directory when
# postgres cannot reach $CLUSTER_DIR (the repo under /root, mode 700).
as_pgb() {
  if ((IS_ROOT)); then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

resolve_pgb_dir() {
  [[ -n "$PGB_DIR" ]] && { mkdir -p "$PGB_DIR"; ((IS_ROOT)) && chown postgres: "$PGB_DIR"; return 0; }
  PGB_DIR="$DIR/pgbouncer"
  mkdir -p "$PGB_DIR"
  if ((IS_ROOT)); then
    chown postgres: "$PGB_DIR"
    if ! runuser -u postgres -- test -w "$PGB_DIR" 2>/dev/null; then
      rmdir "$PGB_DIR" 2>/dev/null || true
      PGB_DIR="/var/tmp/holdfast-pgbouncer-$(printf '%s' "$DIR" | sha1sum | cut -c1-12)"
      log "postgres user cannot reach $DIR; PgBouncer's files go to $PGB_DIR"
      mkdir -p -m 700 "$PGB_DIR"
      chown postgres: "$PGB_DIR"
    fi
  fi
}

write_pgbouncer_config() {
  local pg_port="$1" ini="$PGB_DIR/pgbouncer.ini" max_client
  # Every replica opens up to DB_MAX_CONNS + DB_READ_MAX_CONNS client
  # connections (12 + 6 by default; CLUSTER_SERVER_ENV may raise them).
  max_client=$((REPLICAS * 200 + 100))
  printf '"postgres" ""\n' >"$PGB_DIR/userlist.txt"
  cat >"$ini" <<EOF
; Generated by scripts/cluster.sh — edits are overwritten by the next \`up\`.
[databases]
; Any database name goes to the private dev cluster as user postgres.
* = host=127.0.0.1 port=$pg_port user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGB_PORT
; No unix socket: its default directory (/var/run/postgresql) is the
; system's, and loopback TCP is all the replicas use.
unix_socket_dir =
pidfile = $PGB_DIR/pgbouncer.pid
logfile = $PGB_DIR/pgbouncer.log
; Loopback development only: no passwords. trust still needs the user
; listed in auth_file.
auth_type = trust
auth_file = $PGB_DIR/userlist.txt
admin_users = postgres
pool_mode = transaction
; Transaction pooling: a server connection is a client's only for one
; transaction, so there is no session state to reset.
server_reset_query =
; The dev cluster allows max_connections=300 (scripts/devdb.sh). Each
; database/user pair gets default_pool_size server connections; what is
; left serves the replicas' LISTEN connections (one each, direct), the
; migrations, the tests' audit connections and the other databases.
default_pool_size = $PGB_POOL
max_db_connections = $((PGB_POOL + 20))
reserve_pool_size = 0
max_client_conn = $max_client
; lib/pq sends extra_float_digits; drivers commonly send application_name
; as a startup parameter, which PgBouncer would otherwise refuse.
ignore_startup_parameters = extra_float_digits,application_name
; A client waits at most this long for a server connection.
query_wait_timeout = 15
server_connect_timeout = 3
server_login_retry = 1
log_connections = 0
log_disconnections = 0
EOF
  ((IS_ROOT)) && chown postgres: "$ini" "$PGB_DIR/userlist.txt"
  return 0
}

pgbouncer_pid() { pid_of "$PGB_DIR/pgbouncer.pid"; }

start_pgbouncer() {
  if pgbouncer_pid >/dev/null; then return 0; fi
  port_free "$PGB_PORT" || die "port $PGB_PORT (PgBouncer) is taken by something else; set CLUSTER_PGBOUNCER_PORT"
  rm -f "$PGB_DIR/pgbouncer.pid"
  as_pgb pgbouncer -d -q "$PGB_DIR/pgbouncer.ini" >&2 9>&- \
    || { tail -n 20 "$PGB_DIR/pgbouncer.log" >&2 2>/dev/null; die "pgbouncer did not start; see $PGB_DIR/pgbouncer.log"; }
  local i
  for ((i = 0; i < 100; i++)); do
    if pgbouncer_pid >/dev/null && port_open "$PGB_PORT"; then return 0; fi
    sleep 0.1
  done
  tail -n 20 "$PGB_DIR/pgbouncer.log" >&2 2>/dev/null || true
  die "pgbouncer does not accept connections on 127.0.0.1:$PGB_PORT; see $PGB_DIR/pgbouncer.log"
}

stop_pgbouncer() {
  local pid
  pid="$(pgbouncer_pid)" || return 0
  # SIGTERM is PgBouncer's immediate shutdown (SIGINT would wait for the
  # clients' transactions): the replicas see their connections drop.
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone "$pid" 10 || { kill -KILL "$pid" 2>/dev/null || true; wait_gone "$pid" 5 || true; }
  rm -f "$PGB_DIR/pgbouncer.pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port_free() { ! port_open "$1"; }

# ------------------------------------------------------------------ nginx
write_nginx_config() {
  local i user=""
  mkdir -p "$DIR/nginx-tmp"
  ((IS_ROOT)) && user="user nobody nogroup;"
  {
    cat <<EOF
# Generated by scripts/cluster.sh — edits are overwritten by the next \`up\`.
# nginx -p $DIR -c nginx.conf -e $DIR/nginx-error.log
$user
worker_processes 1;
daemon on;
pid $NGINX_PID_FILE;
error_log $DIR/nginx-error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log $DIR/nginx-access.log combined buffer=64k flush=1s;
    client_body_temp_path $DIR/nginx-tmp/body;
    proxy_temp_path       $DIR/nginx-tmp/proxy;
    fastcgi_temp_path     $DIR/nginx-tmp/fastcgi;
    uwsgi_temp_path       $DIR/nginx-tmp/uwsgi;
    scgi_temp_path        $DIR/nginx-tmp/scgi;
    client_max_body_size 2m;

    # Websockets: pass the client's Upgrade on; any other request gets an
    # empty Connection header, so the upstream connection stays keep-alive.
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      '';
    }

    upstream holdfast {
EOF
    for ((i = 1; i <= REPLICAS; i++)); do
      # A replica nginx failed to reach (connect refused: stopped or killed)
      # is skipped for fail_timeout, then tried again.
      printf '        server 127.0.0.1:%s max_fails=1 fail_timeout=2s;\n' "$(replica_port "$i")"
    done
    cat <<EOF
        # Idle upstream connections are kept, and closed by nginx after
        # keepalive_timeout: shorter than the replicas' SHUTDOWN_DRAIN_DELAY
        # (3s here), so by the time a stopping replica closes its idle
        # connections nginx holds none of them and cannot send a request
        # down one just as it closes (which for a POST would be a 502: nginx
        # does not resend a request it has sent). Connections used during
        # the drain get Connection: close from the replica and are not
        # kept. Go's own IdleTimeout (120s) is far longer.
        keepalive 32;
        keepalive_timeout 2s;
        keepalive_requests 10000;
    }

    server {
        listen 127.0.0.1:$PORT;
        server_name localhost;

        location / {
            proxy_pass http://holdfast;
            proxy_http_version 1.1;
            proxy_set_header Host \$host;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            # nginx is the edge: the client is the peer it sees. Overwrite
            # (never append to) whatever X-Forwarded-For the client sent;
            # the replicas trust this header from nginx only
            # (TRUSTED_PROXIES).
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;

            # Retry on the next replica only where that is safe. "error"
            # and "timeout" cover connect() failing (refused: the replica is
            # stopped or killed; nothing was sent), which nginx retries for
            # every method. Once a request has been sent, nginx passes a
            # POST, PATCH or LOCK to the next server only with
            # "non_idempotent", which is deliberately absent: GraphQL
            # mutations are POSTs and may have taken effect. GETs (/readyz,
            # /healthz, GraphQL GET queries) are retried after a send error.
            # http_502/http_504 are here for completeness (the replicas do
            # not answer them). http_503 is NOT: a replica answers 503 with
            # a typed SERVICE_UNAVAILABLE when the database (shared by all
            # replicas) is unreachable, and counting those as failures
            # would mark every replica down and turn them into nginx's own
            # untyped 502 ("no live upstreams"); a draining replica answers
            # requests normally (with Connection: close), and only its
            # /readyz says 503.
            proxy_next_upstream error timeout http_502 http_504;
            proxy_next_upstream_tries $REPLICAS;
            proxy_connect_timeout 1s;
            # Websockets idle at most WS_KEEPALIVE (10s) between pings.
            proxy_read_timeout 75s;
            proxy_send_timeout 75s;
            proxy_buffering on;

            # Which replica answered (tests and the benchmark count them).
            add_header X-Holdfast-Upstream \$upstream_addr always;
        }
    }
}
EOF
  } >"$DIR/nginx.conf"
}

nginx_pid() { pid_of "$NGINX_PID_FILE"; }

nginx_cmd() { nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/nginx-error.log" "$@"; }

start_nginx() {
  nginx_cmd -t -q 2>&1 | grep -v 'test is successful' >&2 || true
  nginx_cmd -t -q >/dev/null 2>&1 || die "nginx rejects $DIR/nginx.conf (see above)"
  local pid
  if pid="$(nginx_pid)"; then
    kill -HUP "$pid" # the config may have changed: reload it
    return 0
  fi
  port_free "$PORT" || die "port $PORT (nginx) is taken by something else; set CLUSTER_PORT"
  nginx_cmd 9>&- || die "nginx did not start; see $DIR/nginx-error.log"
  local i
  for ((i = 0; i < 50; i++)); do
    nginx_pid >/dev/null && port_open "$PORT" && return 0
    sleep 0.1
  done
  die "nginx does not listen on 127.0.0.1:$PORT; see $DIR/nginx-error.log"
}

stop_nginx() {
  local pid
  pid="$(nginx_pid)" || return 0
  kill -QUIT "$pid" 2>/dev/null || true # graceful: finish open requests
  wait_gone "$pid" 10 || { kill -TERM "$pid" 2>/dev/null || true; wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null || true; }
  rm -f "$NGINX_PID_FILE"
}

# ------------------------------------------------------------------ replicas
replica_pid() { pid_of "$DIR/replica-$1.pid"; }

start_replica() {
  local i="$1" port pid
  port="$(replica_port "$i")"
  if replica_pid "$i" >/dev/null; then
    wait_replica_ready "$i"
    return 0
  fi
  port_free "$port" || die "port $port (replica $i) is taken by something else; set CLUSTER_PORT"
  local envs=(
    "DATABASE_URL=$(pgbouncer_url)"
    "DATABASE_DIRECT_URL=$DIRECT_URL"
    "DB_PREPARE=false"
    "LISTEN_ADDR=127.0.0.1:$port"
    "ADMIN_TOKEN=$TOKEN"
    # > nginx's upstream keepalive_timeout (2s): see nginx.conf.
    "SHUTDOWN_DRAIN_DELAY=3s"
    # Draining, a replica refuses new connections at once: nginx retries
    # them on the next replica, nothing having been sent (see nginx.conf).
    "SHUTDOWN_REFUSE_NEW_CONNECTIONS=true"
    # nginx's address: its X-Forwarded-For names the client, so the
    # per-address limits and the websocket cap count each shopper, not
    # nginx.
    "TRUSTED_PROXIES=127.0.0.1/32"
    "GRAPHIQL=false"
    # The replicas share this machine's cores, as pods share a node: each
    # gets its share, as a CPU limit would give it (Go sizes GOMAXPROCS
    # from a cgroup limit by itself). Measured with holdbench -replicas:
    # 4 replicas on 2 cores with GOMAXPROCS=2 each spend a third more CPU
    # per reservation on scheduling than with 1. CLUSTER_SERVER_ENV
    # overrides it.
    "GOMAXPROCS=$(( $(nproc) / REPLICAS > 0 ? $(nproc) / REPLICAS : 1 ))"
  )
  local extra=()
  # shellcheck disable=SC2206 # word splitting of "A=1 B=2" is the point
  [[ -n "$SERVER_ENV" ]] && extra=($SERVER_ENV)
  printf '\n==== cluster.sh: starting replica %s (%s) ====\n' "$i" "$(date -u +%FT%TZ)" >>"$DIR/replica-$i.log"
  # setsid: the replica is nobody's child but init's, and survives this
  # script; 9>&- keeps it from holding our lock.
  setsid env "${envs[@]}" "${extra[@]}" "$BIN" serve </dev/null >>"$DIR/replica-$i.log" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$DIR/replica-$i.pid"
  wait_replica_ready "$i"
}

wait_replica_ready() {
  local i="$1" url pid n
  url="$(replica_url "$i")/readyz"
  for ((n = 0; n < 600; n++)); do
    [[ "$(http_status "$url")" == 200 ]] && return 0
    if ! pid="$(replica_pid "$i")"; then
      tail -n 20 "$DIR/replica-$i.log" >&2 || true
      die "replica $i exited; see $DIR/replica-$i.log"
    fi
    sleep 0.1
  done
  tail -n 20 "$DIR/replica-$i.log" >&2 || true
  die "replica $i is not ready at $url after 60 s; see $DIR/replica-$i.log"
}

# stop_replica I [KILL]: SIGTERM (drain) and wait for the exit, or SIGKILL.
stop_replica() {
  local i="$1" pid
  pid="$(replica_pid "$i")" || { rm -f "$DIR/replica-$i.pid"; return 0; }
  if [[ "${2:-}" == KILL ]]; then
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "replica $i (pid $pid) survived SIGKILL"
  else
    kill -TERM "$pid" 2>/dev/null || true
    # SHUTDOWN_DRAIN_DELAY + SHUTDOWN_TIMEOUT at most (3s + 15s by default).
    if ! wait_gone "$pid" 30; then
      log "replica $i (pid $pid) did not stop within 30 s of SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || true
    fi
  fi
  rm -f "$DIR/replica-$i.pid"
}

# wait_through_nginx: nginx answers /readyz from every replica (it names the
# one that answered in X-Holdfast-Upstream).
wait_through_nginx() {
  local seen=" " n up want i
  for ((n = 0; n < 300; n++)); do
    up="$(curl -s -o /dev/null -m 3 -D - "http://127.0.0.1:$PORT/readyz" 2>/dev/null \
      | tr -d '\r' | awk 'tolower($1) == "http/1.1" { code = $2 } tolower($1) == "x-holdfast-upstream:" && code == 200 { print $2 }')" || true
    [[ -n "$up" && "$seen" != *" $up "* ]] && seen="$seen$up "
    want=0
    for ((i = 1; i <= REPLICAS; i++)); do
      [[ "$seen" == *" 127.0.0.1:$(replica_port "$i") "* ]] && want=$((want + 1))
    done
    ((want == REPLICAS)) && return 0
    sleep 0.05
  done
  die "nginx on 127.0.0.1:$PORT did not answer /readyz through every replica (seen:$seen); see $DIR/nginx-error.log"
}

# ------------------------------------------------------------------ commands
lock() {
  mkdir -p "$DIR"
  exec 9>>"$DIR/cluster.lock"
  flock -w 120 9 || die "timed out waiting for $DIR/cluster.lock"
}

build_server() {
  if [[ -n "${CLUSTER_BIN:-}" ]]; then
    BIN="$(abspath "$CLUSTER_BIN")"
    [[ -x "$BIN" ]] || die "CLUSTER_BIN=$CLUSTER_BIN is not an executable"
    return 0
  fi
  BIN="$DIR/holdfast"
  log "building the server into $BIN"
  "${GO:-go}" build -o "$BIN.new" . >&2 || die "go build failed"
  mv "$BIN.new" "$BIN"
}

any_running() {
  local i
  nginx_pid >/dev/null && return 0
  [[ -n "$PGB_DIR" ]] && pgbouncer_pid >/dev/null && return 0
  for ((i = 1; i <= REPLICAS; i++)); do replica_pid "$i" >/dev/null && return 0; done
  return 1
}

cmd_up() {
  lock
  ensure_packages
  if [[ -f "$STATE" ]]; then
    . "$STATE"
    if ! any_running; then
      # Nothing of a previous `up` runs: this call's knobs count, not the
      # recorded ones.
      rm -f "$STATE"
    fi
  fi
  load_settings
  check_settings
  if [[ -n "${CLUSTER_BIN:-}" || -z "$BIN" || ! -x "$BIN" ]] || ! any_running; then
    build_server
  fi
  DIRECT_URL="$(DEVDB_NAME="$DB" "$DEVDB" url 9>&-)" || die "scripts/devdb.sh url failed"
  local pg_port
  pg_port="$(printf '%s' "$DIRECT_URL" | sed -E 's#^[^@]*@[^:]*:([0-9]+)/.*#\1#')"
  [[ "$pg_port" =~ ^[0-9]+$ ]] || die "cannot read the port of $DIRECT_URL"
  resolve_pgb_dir
  save_settings
  write_pgbouncer_config "$pg_port"
  start_pgbouncer
  local i
  # One at a time: the first migrates, the others find the schema current.
  start_replica 1
  for ((i = 2; i <= REPLICAS; i++)); do start_replica "$i"; done
  write_nginx_config
  start_nginx
  wait_through_nginx
  local ports=()
  for ((i = 1; i <= REPLICAS; i++)); do ports+=("$(replica_port "$i")"); done
  log "up: nginx http://127.0.0.1:$PORT -> $REPLICAS replicas (${ports[*]}) -> PgBouncer :$PGB_PORT -> PostgreSQL :$pg_port/$DB"
}

cmd_down() {
  [[ -f "$STATE" ]] || { log "no cluster in $DIR"; return 0; }
  lock
  load_settings
  local i pids=()
  # Replicas first (in parallel; each drains), then nginx, then PgBouncer.
  for ((i = 1; i <= REPLICAS; i++)); do
    stop_replica "$i" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || true; done
  stop_nginx
  [[ -n "$PGB_DIR" ]] && stop_pgbouncer
  log "down (PostgreSQL keeps running: scripts/devdb.sh stop stops it)"
}

cmd_status() {
  [[ -f "$STATE" ]] || { echo "no cluster in $DIR"; exit 3; }
  load_settings
  local ok=0 pid i
  if pid="$(nginx_pid)"; then echo "nginx       pid $pid  http://127.0.0.1:$PORT  ($DIR/nginx-error.log)"; else echo "nginx       stopped"; ok=3; fi
  for ((i = 1; i <= REPLICAS; i++)); do
    if pid="$(replica_pid "$i")"; then
      echo "replica $i   pid $pid  $(replica_url "$i")  readyz $(http_status "$(replica_url "$i")/readyz")  ($DIR/replica-$i.log)"
    else
      echo "replica $i   stopped"; ok=3
    fi
  done
  if pid="$(pgbouncer_pid)"; then echo "pgbouncer   pid $pid  127.0.0.1:$PGB_PORT  ($PGB_DIR/pgbouncer.log)"; else echo "pgbouncer   stopped"; ok=3; fi
  echo "postgresql  $DIRECT_URL"
  exit "$ok"
}

cmd_env() {
  [[ -f "$STATE" ]] || die "no cluster in $DIR (run: scripts/cluster.sh up)"
  load_settings
  local i urls=() pids=() pid
  for ((i = 1; i <= REPLICAS; i++)); do
    urls+=("$(replica_url "$i")")
    pid="$(replica_pid "$i" || true)"
    pids+=("${pid:-0}")
  done
  # Single-quoted: eval-able, and readable by line (no value holds a quote).
  q() { printf "%s='%s'\n" "$1" "$2"; }
  q CLUSTER_URL "http://127.0.0.1:$PORT"
  q CLUSTER_REPLICA_URLS "${urls[*]}"
  q CLUSTER_DATABASE_URL "$DIRECT_URL"
  q CLUSTER_PGBOUNCER_URL "$(pgbouncer_url)"
  q ADMIN_TOKEN "$TOKEN"
  q CLUSTER_PIDS "${pids[*]}"
  q CLUSTER_NGINX_PID "$(nginx_pid || echo 0)"
  q CLUSTER_PGBOUNCER_PID "$(pgbouncer_pid || echo 0)"
}

need_state() {
  [[ -f "$STATE" ]] || die "no cluster in $DIR (run: scripts/cluster.sh up)"
  lock
  load_settings
}

cmd="${1:-}"
case "$cmd" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  restart-replica) need_state; check_index "${2:-}"; stop_replica "$2"; start_replica "$2" ;;
  kill-replica) need_state; check_index "${2:-}"; stop_replica "$2" KILL ;;
  start-replica) need_state; check_index "${2:-}"; start_replica "$2" ;;
  stop-pgbouncer) need_state; stop_pgbouncer ;;
  start-pgbouncer) need_state; start_pgbouncer ;;
  restart-pgbouncer) need_state; stop_pgbouncer; start_pgbouncer ;;
  *)
    sed -n '2,38p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    [[ -z "$cmd" || "$cmd" == -h || "$cmd" == --help || "$cmd" == help ]] && exit 0
    exit 2
    ;;
esac
