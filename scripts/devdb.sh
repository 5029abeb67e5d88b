#!/usr/bin/env bash
# devdb.sh — a private PostgreSQL cluster for Holdfast development and tests.
#
#   scripts/devdb.sh url       ensure the cluster runs and $DEVDB_NAME (default
#                              "holdfast") exists; print ONLY its URL on stdout
#   scripts/devdb.sh start     ensure the cluster exists and runs
#   scripts/devdb.sh stop      stop it (data is kept)
#   scripts/devdb.sh status    report state (exit 0 running, 3 stopped/absent)
#   scripts/devdb.sh destroy   stop it and delete its data directory
#
# Environment: PG_BINDIR (server binaries), DEVDB_NAME (database for `url`),
# DEVDB_DIR / DEVDB_PORT (a second, independent cluster: see below),
# DEVDB_MAX_CONNECTIONS (max_connections when the server starts; default 300;
# a server already running keeps its own).
# The cluster listens on 127.0.0.1 only, trust auth, user "postgres", on a port
# from 54329 upward (recorded in <datadir>/holdfast.port). Data lives in
# <repo>/.data/pg, or — when run as root and the postgres user cannot reach the
# repo — in /var/tmp/holdfast-pg-<hash>, recorded in <repo>/.data/pg-location.
# DEVDB_DIR=<dir> (relative to the repo, or absolute) selects another cluster
# with its own data dir, lock and location file (<repo>/.data/<name>.lock,
# <repo>/.data/<name>-location); DEVDB_PORT sets the first port tried (default
# 54329). `make test-faults` uses DEVDB_DIR=.data/faults-pg so that it can stop
# and start its server without touching the dev/test cluster.
# All diagnostics go to stderr.
set -euo pipefail

PROJECT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STATE_DIR="$PROJECT/.data"
LOCATION_FILE="$STATE_DIR/pg-location"
LOCK_FILE="$STATE_DIR/devdb.lock"
DEFAULT_DIR="$STATE_DIR/pg"
FALLBACK_KEY="$PROJECT"   # hashed into the /var/tmp fallback dir name
if [[ -n "${DEVDB_DIR:-}" ]]; then
  case "$DEVDB_DIR" in
    /*) DEFAULT_DIR="$DEVDB_DIR" ;;
    *)  DEFAULT_DIR="$PROJECT/$DEVDB_DIR" ;;
  esac
  DEFAULT_DIR="${DEFAULT_DIR%/}"
  [[ "$(basename "$DEFAULT_DIR")" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]*$ ]] \
    || { printf 'devdb: error: DEVDB_DIR=%s: last path element must match [A-Za-z0-9_.-]+\n' "$DEVDB_DIR" >&2; exit 1; }
  if [[ "$DEFAULT_DIR" != "$STATE_DIR/pg" ]]; then
    LOCATION_FILE="$STATE_DIR/$(basename "$DEFAULT_DIR")-location"
    LOCK_FILE="$STATE_DIR/$(basename "$DEFAULT_DIR").lock"
    FALLBACK_KEY="$PROJECT:$DEFAULT_DIR"
  fi
fi
BASE_PORT="${DEVDB_PORT:-54329}"
[[ "$BASE_PORT" =~ ^[0-9]+$ ]] || { printf 'devdb: error: DEVDB_PORT=%s is not a port number\n' "$BASE_PORT" >&2; exit 1; }
DB_NAME="${DEVDB_NAME:-holdfast}"
MAX_CONNECTIONS="${DEVDB_MAX_CONNECTIONS:-300}"
[[ "$MAX_CONNECTIONS" =~ ^[0-9]+$ ]] || { printf 'devdb: error: DEVDB_MAX_CONNECTIONS=%s is not a number\n' "$MAX_CONNECTIONS" >&2; exit 1; }

# Do not let a caller's libpq/pg_ctl environment redirect us elsewhere.
unset PGDATA PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS PGSSLMODE

log() { printf 'devdb: %s\n' "$*" >&2; }
die() { printf 'devdb: error: %s\n' "$*" >&2; exit 1; }

IS_ROOT=0
[[ "$(id -u)" -eq 0 ]] && IS_ROOT=1

# Run a command as the cluster owner: the postgres system user when we are
# root (PostgreSQL refuses to run as root), ourselves otherwise. cd / so that
# the postgres user never trips over an unreadable working directory.
as_pg() {
  if ((IS_ROOT)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# ---------------------------------------------------------------- binaries
find_bindir() {
  if [[ -n "${PG_BINDIR:-}" ]]; then
    [[ -x "$PG_BINDIR/initdb" && -x "$PG_BINDIR/pg_ctl" ]] \
      || die "PG_BINDIR=$PG_BINDIR does not contain initdb and pg_ctl"
    echo "$PG_BINDIR"; return 0
  fi
  local d best=""
  while IFS= read -r d; do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] && best="$d"
  done < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V)
  if [[ -n "$best" ]]; then echo "$best"; return 0; fi
  local p
  if p="$(command -v initdb 2>/dev/null)"; then
    p="$(dirname "$p")"
    [[ -x "$p/pg_ctl" ]] && { echo "$p"; return 0; }
  fi
  return 1
}

install_postgres() {
  local sudo=()
  if ((IS_ROOT)); then
    :
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
  else
    die "PostgreSQL server binaries (initdb, pg_ctl) not found. Install the 'postgresql' package (e.g. 'sudo apt-get install postgresql'), set PG_BINDIR to their directory, or set DATABASE_URL / TEST_DATABASE_URL to an existing database."
  fi
  command -v apt-get >/dev/null 2>&1 \
    || die "PostgreSQL server binaries not found and apt-get is unavailable; install PostgreSQL or set PG_BINDIR / DATABASE_URL."
  log "PostgreSQL server binaries not found; installing the 'postgresql' package with apt-get"
  # stdout of apt goes to stderr: our stdout is reserved for the URL.
  "${sudo[@]}" apt-get update >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
}

BINDIR=""
# need_bindir install: find the server binaries, installing them if allowed.
need_bindir() {
  [[ -n "$BINDIR" ]] && return 0
  if BINDIR="$(find_bindir)"; then return 0; fi
  if [[ "${1:-}" == install ]]; then
    install_postgres
    BINDIR="$(find_bindir)" || die "PostgreSQL installed but initdb/pg_ctl still not found; set PG_BINDIR"
  else
    die "PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BINDIR"
  fi
}

client_bin() { # psql / pg_isready: same dir as the server, else PATH
  if [[ -x "$BINDIR/$1" ]]; then echo "$BINDIR/$1"
  elif command -v "$1" >/dev/null 2>&1; then command -v "$1"
  else die "$1 not found (looked in $BINDIR and PATH)"
  fi
}

ensure_pg_user() {
  if ((IS_ROOT)) && ! id postgres >/dev/null 2>&1; then
    log "creating system user 'postgres' to own the private cluster"
    useradd --system --user-group --home-dir /var/lib/postgresql --no-create-home \
      --shell /usr/sbin/nologin postgres >&2
  fi
}

# ---------------------------------------------------------------- data dir
DATA_DIR=""

# Decide where the data directory lives (creating/fixing ownership as needed).
resolve_data_dir() {
  if [[ -s "$LOCATION_FILE" ]]; then
    DATA_DIR="$(<"$LOCATION_FILE")"
    [[ -n "$DATA_DIR" ]] || die "empty $LOCATION_FILE"
    if [[ ! -d "$DATA_DIR" ]]; then
      log "recorded data dir $DATA_DIR is gone; it will be recreated"
      prepare_dir "$DATA_DIR"
    fi
    return 0
  fi
  DATA_DIR="$DEFAULT_DIR"
  [[ -d "$(dirname "$DATA_DIR")" ]] || mkdir -p -m 755 "$(dirname "$DATA_DIR")"
  if ((IS_ROOT)); then
    if [[ ! -d "$DATA_DIR" ]]; then
      mkdir -m 700 "$DATA_DIR"
    fi
    chown postgres:postgres "$DATA_DIR" 2>/dev/null || true
    if runuser -u postgres -- test -x "$(dirname "$DATA_DIR")" 2>/dev/null \
       && runuser -u postgres -- test -w "$DATA_DIR" 2>/dev/null; then
      return 0
    fi
    # postgres cannot reach the repo (e.g. it lives under /root, mode 700).
    rmdir "$DATA_DIR" 2>/dev/null || true
    local sum
    sum="$(printf '%s' "$FALLBACK_KEY" | sha1sum | cut -c1-12)"
    DATA_DIR="/var/tmp/holdfast-pg-$sum"
    log "postgres user cannot reach $(dirname "$DEFAULT_DIR"); using $DATA_DIR (recorded in $LOCATION_FILE)"
    prepare_dir "$DATA_DIR"
    printf '%s\n' "$DATA_DIR" >"$LOCATION_FILE"
  else
    [[ -d "$DATA_DIR" ]] || mkdir -m 700 "$DATA_DIR"
  fi
}

prepare_dir() {
  mkdir -p "$1"
  chmod 700 "$1"
  if ((IS_ROOT)); then
    chown postgres:postgres "$1"
    runuser -u postgres -- test -w "$1" || die "postgres user cannot write $1"
  fi
}

initialized() { [[ -f "$DATA_DIR/PG_VERSION" ]]; }

# ---------------------------------------------------------------- helpers
port_in_use() { # something accepts TCP connections on 127.0.0.1:$1
  local p="$1"
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then return 0; fi
  if command -v ss >/dev/null 2>&1 \
     && ss -Hltn "sport = :$p" 2>/dev/null | grep -q .; then return 0; fi
  return 1
}

pick_port() { # first free port at or above $1
  local p="$1" last=$(( $1 + 200 ))
  while ((p <= last)); do
    port_in_use "$p" || { echo "$p"; return 0; }
    p=$((p + 1))
  done
  die "no free TCP port found in $1..$last"
}

write_port() {
  printf '%s\n' "$1" >"$DATA_DIR/holdfast.port"
  ((IS_ROOT)) && chown postgres:postgres "$DATA_DIR/holdfast.port"
  return 0
}

pid_file_port() { # port of the running postmaster, from postmaster.pid line 4
  if [[ -f "$DATA_DIR/postmaster.pid" ]]; then
    sed -n 4p "$DATA_DIR/postmaster.pid" 2>/dev/null | tr -dc '0-9' || true
  fi
}

ready() { "$(client_bin pg_isready)" -q -h 127.0.0.1 -p "$1" -U postgres -d postgres >/dev/null 2>&1; }

postmaster_pid() {
  if [[ -f "$DATA_DIR/postmaster.pid" ]]; then head -n1 "$DATA_DIR/postmaster.pid" | tr -dc '0-9' || true; fi
}

is_zombie() { # a killed postmaster may linger as a zombie if nobody reaps it
  [[ -n "$1" && -r "/proc/$1/stat" ]] || return 1
  [[ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" == Z ]]
}

foreign_pid() { # PID is alive but is not a postmaster for $DATA_DIR
  local cmd
  [[ -n "$1" && -r "/proc/$1/cmdline" ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true)"
  [[ -n "$cmd" && "$cmd" != *"$DATA_DIR"* ]]
}

running() {
  local pid; pid="$(postmaster_pid)"
  [[ -n "$pid" ]] || return 1
  is_zombie "$pid" && return 1
  foreign_pid "$pid" && return 1
  as_pg "$BINDIR/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

# A postmaster.pid whose PID now belongs to some unrelated process (common in
# containers after a restart) makes postgres refuse to start. Remove it only if
# that process is provably not a postmaster for this data directory.
clear_foreign_pid_file() {
  local pid; pid="$(postmaster_pid)"
  if is_zombie "$pid" || foreign_pid "$pid"; then
    log "removing stale postmaster.pid (pid $pid is not a live postmaster for this cluster)"
    rm -f "$DATA_DIR/postmaster.pid"
  fi
}

init_cluster() {
  log "initialising private cluster in $DATA_DIR ($BINDIR)"
  local out
  if ! out="$(as_pg "$BINDIR/initdb" -D "$DATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 2>&1)"; then
    log "initdb with C.UTF-8 failed; retrying with --locale=C"
    printf '%s\n' "$out" | tail -n 5 >&2
    find "$DATA_DIR" -mindepth 1 -delete 2>/dev/null || true
    as_pg "$BINDIR/initdb" -D "$DATA_DIR" -U postgres --auth=trust -E UTF8 --locale=C >&2 \
      || die "initdb failed"
  fi
}

start_cluster() {
  initialized || init_cluster
  if running; then
    local p; p="$(pid_file_port)"
    if [[ -n "$p" ]]; then
      local i
      for ((i = 0; i < 60; i++)); do ready "$p" && return 0; sleep 1; done
      die "server in $DATA_DIR runs but is not accepting connections on port $p; see $DATA_DIR/server.log"
    fi
  fi
  clear_foreign_pid_file

  local port="" attempt sockdir
  [[ -f "$DATA_DIR/holdfast.port" ]] && port="$(tr -dc '0-9' <"$DATA_DIR/holdfast.port")"
  for attempt in 1 2 3 4 5; do
    if [[ -z "$port" ]] || port_in_use "$port"; then
      [[ -n "$port" ]] && log "port $port is taken by something else; choosing another"
      port="$(pick_port "${port:-$BASE_PORT}")"
    fi
    write_port "$port"
    # Unix socket paths are limited (~107 bytes); fall back to TCP only.
    sockdir="$DATA_DIR"
    if (( ${#DATA_DIR} + ${#port} + 10 > 100 )) || [[ "$DATA_DIR" == *"'"* ]]; then sockdir=""; fi
    log "starting private cluster on 127.0.0.1:$port"
    # 9>&- : the server must not inherit (and so hold) our flock.
    if as_pg "$BINDIR/pg_ctl" -D "$DATA_DIR" -l "$DATA_DIR/server.log" -w -t 60 \
         -o "-p $port -c listen_addresses=127.0.0.1 -k '$sockdir' -c max_connections=$MAX_CONNECTIONS -c shared_buffers=128MB -c fsync=on" \
         start >&2 9>&-; then
      local i
      for ((i = 0; i < 60; i++)); do ready "$port" && return 0; sleep 1; done
      die "server started but pg_isready fails on port $port; see $DATA_DIR/server.log"
    fi
    if tail -n 20 "$DATA_DIR/server.log" 2>/dev/null | grep -qiE 'address already in use|could not create any TCP/IP sockets'; then
      log "port $port was grabbed concurrently; retrying"
      port=$((port + 1))
      continue
    fi
    tail -n 30 "$DATA_DIR/server.log" >&2 2>/dev/null || true
    die "pg_ctl start failed; see $DATA_DIR/server.log"
  done
  die "could not start the cluster after several port attempts"
}

stop_cluster() {
  if [[ -z "$DATA_DIR" ]] || ! initialized; then log "no cluster to stop"; return 0; fi
  if running; then
    log "stopping private cluster ($DATA_DIR)"
    as_pg "$BINDIR/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >&2
  else
    log "cluster is not running"
  fi
}

ensure_db() {
  local port="$1" psql
  [[ "$DB_NAME" =~ ^[A-Za-z0-9_][A-Za-z0-9_-]*$ ]] \
    || die "DEVDB_NAME='$DB_NAME' must match [A-Za-z0-9_-]+"
  psql="$(client_bin psql)"
  local q=(-X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)
  if [[ "$("$psql" "${q[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname='$DB_NAME'")" != 1 ]]; then
    log "creating database $DB_NAME"
    "$psql" "${q[@]}" -c "CREATE DATABASE \"$DB_NAME\"" >&2
  fi
}

lock() {
  # 755 so that the postgres user can traverse it when we run as root.
  [[ -d "$STATE_DIR" ]] || mkdir -m 755 "$STATE_DIR"
  exec 9>>"$LOCK_FILE"
  flock -w 300 9 || die "timed out waiting for $LOCK_FILE"
}

recorded_data_dir() {
  if [[ -s "$LOCATION_FILE" ]]; then DATA_DIR="$(<"$LOCATION_FILE")"; else DATA_DIR="$DEFAULT_DIR"; fi
}

# ---------------------------------------------------------------- commands
cmd="${1:-}"
case "$cmd" in
  url|start) need_bindir install; ensure_pg_user ;;
  stop|status|destroy)
    recorded_data_dir
    if [[ -f "$DATA_DIR/PG_VERSION" ]]; then need_bindir; fi ;;
esac
case "$cmd" in
  url)
    lock; resolve_data_dir; start_cluster
    port="$(pid_file_port)"
    [[ -n "$port" ]] || die "cannot determine port of running cluster"
    ensure_db "$port"
    printf 'postgres://postgres@127.0.0.1:%s/%s?sslmode=disable\n' "$port" "$DB_NAME"
    ;;
  start)
    lock; resolve_data_dir; start_cluster
    log "running on 127.0.0.1:$(pid_file_port) (data: $DATA_DIR)"
    ;;
  stop)
    [[ -d "$DATA_DIR" ]] || { log "no cluster to stop"; exit 0; }
    lock
    stop_cluster
    ;;
  status)
    if [[ ! -d "$DATA_DIR" ]] || ! initialized; then echo "not initialised ($DATA_DIR)"; exit 3; fi
    if running && p="$(pid_file_port)" && [[ -n "$p" ]] && ready "$p"; then
      echo "running on 127.0.0.1:$p (data: $DATA_DIR)"
    else
      echo "stopped (data: $DATA_DIR)"; exit 3
    fi
    ;;
  destroy)
    [[ -d "$STATE_DIR" || -d "$DATA_DIR" ]] || { log "nothing to destroy"; exit 0; }
    lock
    if [[ -d "$DATA_DIR" ]]; then
      stop_cluster
      case "$DATA_DIR" in
        "$DEFAULT_DIR"|/var/tmp/holdfast-pg-*) ;;
        *) die "refusing to delete unexpected data dir '$DATA_DIR'" ;;
      esac
      log "deleting $DATA_DIR"
      rm -rf -- "$DATA_DIR"
    else
      log "nothing to destroy"
    fi
    rm -f -- "$LOCATION_FILE"
    ;;
  *)
    sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    [[ -z "$cmd" || "$cmd" == -h || "$cmd" == --help || "$cmd" == help ]] && exit 0
    exit 2
    ;;
esac
