# shellcheck shell=bash
# Helpers shared by scripts/docs-check.sh and scripts/test-browser.sh, which
# each start fresh servers on fresh databases of the dev cluster. Source it
# after defining log and die, and TMP (a scratch directory).

# stop_pid PID: SIGTERM, up to 10 s to exit, then SIGKILL; reaps it.
stop_pid() {
  local pid="$1" i
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

# find_psql: the newest server-side psql, else the one on PATH.
find_psql() {
  local d best=""
  if [[ -n "${PG_BINDIR:-}" && -x "$PG_BINDIR/psql" ]]; then echo "$PG_BINDIR/psql"; return 0; fi
  while IFS= read -r d; do [[ -x "$d/psql" ]] && best="$d/psql"; done \
    < <(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V)
  if [[ -n "$best" ]]; then echo "$best"; return 0; fi
  command -v psql
}

# drop_database URL: drops that database of the dev cluster (FORCE first,
# for servers that may still hold connections).
drop_database() {
  local url="$1" name admin psql
  name="${url##*/}"; name="${name%%\?*}"
  admin="${url%/*}/postgres?sslmode=disable"
  psql="$(find_psql)" || { log "psql not found: database $name left behind"; return 0; }
  if ! "$psql" -X -q -v ON_ERROR_STOP=1 -d "$admin" \
        -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null 2>"$TMP/drop.err" \
     && ! "$psql" -X -q -v ON_ERROR_STOP=1 -d "$admin" \
        -c "DROP DATABASE IF EXISTS \"$name\"" >/dev/null 2>>"$TMP/drop.err"; then
    log "could not drop database $name:"; cat "$TMP/drop.err" >&2
  fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  local p i
  for ((i = 0; i < 100; i++)); do
    p=$((20000 + RANDOM % 30000))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free TCP port found"
}
