#!/usr/bin/env bash
# docs-check.sh — run the documentation's example sessions against a fresh
# server and fail when their answers drift from the recorded output.
#
#   scripts/docs-check.sh [FILE...]           check (default: README.md docs/*.md)
#   scripts/docs-check.sh --update [FILE...]  re-record the output blocks
#
# A session is a fenced shell block right after a line
#   <!-- docs-check:session NAME -->
# and its recorded output the fenced block after
#   <!-- docs-check:output NAME -->
# in the same file. For every session this script creates a fresh database on
# the private dev cluster (scripts/devdb.sh, as `make run` uses), starts the
# server built from this tree on it the way `make run` does (ADMIN_TOKEN=
# dev-admin-token, SEED_DEMO=1) but on 127.0.0.1:<free port>, runs the session
# with only its API address rewritten, and compares what it prints with the
# recorded output. Before comparing, only values that legitimately change
# between runs are normalised: cart and order ids (renumbered in order of
# appearance, so "the same order again" is still checked), timestamps and
# request ids. On exit it stops the server and drops the databases it made
# (the cluster itself keeps running, as after `make run`).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
cd "$ROOT"
export PATH="$PATH:/usr/local/go/bin"
GO="${GO:-go}"
DEVDB="$ROOT/scripts/devdb.sh"
DOC_URL="http://127.0.0.1:8080"   # the address sessions are written against

log() { printf 'docs-check: %s\n' "$*" >&2; }
die() { printf 'docs-check: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

update=0
files=()
for a in "$@"; do
  case "$a" in
    --update) update=1 ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $a (see --help)" ;;
    *) files+=("$a") ;;
  esac
done
if ((${#files[@]} == 0)); then
  files=(README.md)
  for f in docs/*.md; do [[ -e "$f" ]] && files+=("$f"); done
fi
for tool in curl sed diff awk; do
  command -v "$tool" >/dev/null || die "$tool is required"
done

# ------------------------------------------------------------------ cleanup
TMP="$(mktemp -d "${TMPDIR:-/tmp}/holdfast-docs-check.XXXXXX")"
SERVER_PID=""
DATABASES=()   # URLs of the databases this run created

stop_server() {
  stop_pid "$SERVER_PID"
  SERVER_PID=""
}

cleanup() {
  local rc=$?
  stop_server
  local url
  for url in "${DATABASES[@]}"; do drop_database "$url"; done
  rm -rf -- "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ blocks
# block FILE KIND NAME: the fenced block after <!-- docs-check:KIND NAME -->.
block() {
  awk -v m="<!-- docs-check:$2 $3 -->" '
    state == 0 && $0 == m { state = 1; next }
    state == 1 && /^```/  { state = 2; next }
    state == 1 && /^[ \t]*$/ { next }
    state == 1            { exit 3 }   # something other than a fence follows the marker
    state == 2 && /^```/  { state = 3; exit }
    state == 2            { print }
    END { if (state != 3) exit 3 }
  ' "$1" || die "$1: no fenced block right after <!-- docs-check:$2 $3 -->"
}

# replace_block FILE NAME CONTENT-FILE: re-record an output block in place.
replace_block() {
  awk -v m="<!-- docs-check:output $2 -->" -v f="$3" '
    state == 0 && $0 == m { state = 1; print; next }
    state == 1 && /^```/  { print; while ((getline l < f) > 0) print l; state = 2; next }
    state == 2 && /^```/  { state = 3 }
    state == 2            { next }
    { print }
  ' "$1" >"$TMP/replaced"
  cat "$TMP/replaced" >"$1"
}

# normalise: blank out what legitimately changes between runs. Cart and
# order ids (24 URL-safe characters) are renumbered in order of appearance.
normalise() {
  local line id pat re='"id":"([A-Za-z0-9_-]{24})"' n=0
  local -A seen=()
  while IFS= read -r line || [[ -n "$line" ]]; do
    while [[ "$line" =~ $re ]]; do
      id="${BASH_REMATCH[1]}"
      if [[ -z "${seen[$id]:-}" ]]; then n=$((n + 1)); seen[$id]=$n; fi
      pat="\"id\":\"$id\""
      line="${line//"$pat"/\"id\":\"<id-${seen[$id]}>\"}"
    done
    printf '%s\n' "$line"
  done | sed -E \
    -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})/<time>/g' \
    -e 's/"requestId":"[0-9a-f]{16}"/"requestId":"<request-id>"/g'
}

# ------------------------------------------------------------------ server

PORT=""
# start_server DATABASE_URL: serve on 127.0.0.1:$PORT, as `make run` would.
start_server() {
  local attempt i code
  for attempt in 1 2 3; do
    PORT="$(free_port)"
    env -i PATH="$PATH" \
      DATABASE_URL="$1" LISTEN_ADDR="127.0.0.1:$PORT" ADMIN_TOKEN=dev-admin-token SEED_DEMO=1 \
      "$TMP/holdfast" serve >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < 300; i++)); do
      if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
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

# ------------------------------------------------------------------ main
sessions=()   # "FILE NAME"
for f in "${files[@]}"; do
  [[ -f "$f" ]] || die "no such file: $f"
  while IFS= read -r name; do
    grep -qxF "<!-- docs-check:output $name -->" "$f" \
      || die "$f: session $name has no <!-- docs-check:output $name --> block"
    sessions+=("$f $name")
  done < <(sed -nE 's/^<!-- docs-check:session ([A-Za-z0-9_-]+) -->$/\1/p' "$f")
done
((${#sessions[@]})) || die "no <!-- docs-check:session NAME --> blocks in ${files[*]}"

log "building the server"
"$GO" build -o "$TMP/holdfast" .

failed=0
n=0
for s in "${sessions[@]}"; do
  f="${s% *}" name="${s##* }"
  n=$((n + 1))
  block "$f" session "$name" >"$TMP/session.txt"
  block "$f" output "$name" >"$TMP/expected"
  grep -qF "$DOC_URL" "$TMP/session.txt" || die "$f: session $name does not use $DOC_URL"

  db="docs_check_$$_${n}_$RANDOM"
  url="$(DEVDB_NAME="$db" "$DEVDB" url)"
  DATABASES+=("$url")
  start_server "$url"

  # Only the API address changes; the session runs in a clean environment
  # (no proxies, no ~/.curlrc) in a scratch directory.
  sed "s#${DOC_URL//./\\.}#http://127.0.0.1:$PORT#g" "$TMP/session.txt" >"$TMP/session.sh"
  mkdir -p "$TMP/home"
  if ! (cd "$TMP/home" && env -i PATH="$PATH" HOME="$TMP/home" LANG=C.UTF-8 \
          NO_PROXY='127.0.0.1,localhost' no_proxy='127.0.0.1,localhost' \
          bash --noprofile --norc -eu -o pipefail "$TMP/session.sh") >"$TMP/actual" 2>"$TMP/session.err"; then
    log "$f: session $name failed:"
    cat "$TMP/session.err" >&2
    tail -n 20 "$TMP/server.log" >&2
    failed=1
  fi
  stop_server

  if ((update)); then
    ((failed)) && die "$f: not re-recording session $name: it failed"
    replace_block "$f" "$name" "$TMP/actual"
    log "$f: session $name: output re-recorded"
  elif diff -u --label "$f ($name, recorded)" --label "$f ($name, now)" \
         <(normalise <"$TMP/expected") <(normalise <"$TMP/actual") >"$TMP/diff"; then
    log "$f: session $name: ok"
  else
    log "$f: session $name: the answers differ from the recorded output:"
    cat "$TMP/diff" >&2
    failed=1
  fi
done

if ((failed)); then
  log "FAILED. If the new answers are right, re-record them with scripts/docs-check.sh --update and review the diff."
  exit 1
fi
if ((update)); then
  log "re-recorded ${#sessions[@]} session(s); review the diff (git diff) before committing"
else
  log "all ${#sessions[@]} session(s) match"
fi
