#!/usr/bin/env bash
# The view load benchmark (`make bench`): a release build on SQLite, then the
# same on PostgreSQL, each seeded by `portico bench-seed` (PATIENTS patients,
# MESSAGES messages, EOBS EOBs, SESSIONS signed-in patients), then wrk with
# CONNECTIONS connections for DURATION against each page: the bare handler
# (/ping, the ceiling), the inbox, a message thread and an EOB statement, each
# request as one of the signed-in patients opening one of their own items.
# Prints req/s, p50, p99, errors, each rate as a ratio to the bare handler,
# the server's peak RSS, and whether the audit rows written equal the views
# served. Usage: bench/views/run.sh [sqlite|postgres|both] (default both).
# Targets on a 2-core machine, SQLite: message view >= 3,000 req/s, p99 <= 25 ms,
# no errors, every view audited.
set -euo pipefail
WHICH=${1:-both}
PATIENTS=${PATIENTS:-10000}
MESSAGES=${MESSAGES:-100000}
EOBS=${EOBS:-100000}
SESSIONS=${SESSIONS:-64}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-30s}
PORT=${PORT:-3191}
PG_ADMIN=${PG_ADMIN:-postgres://postgres@127.0.0.1:5432/postgres}
cd "$(dirname "$0")/../.."

command -v wrk >/dev/null || { echo "wrk is missing: make bench installs it" >&2; exit 2; }
cargo build --release --locked -p portico-server --bin portico
BIN=$PWD/target/release/portico
WORK=$(mktemp -d /tmp/portico-bench-views.XXXXXX)
server=""
pgdb=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "$pgdb" ] && python3 bench/views/sql.py "$PG_ADMIN" "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT

run() { # run BACKEND
  local backend=$1 data="$WORK/$1"
  export PORTICO_DATA_DIR="$data" PORTICO_LISTEN="127.0.0.1:$PORT" PORTICO_LOG=${PORTICO_LOG:-warn} \
    PORTICO_PUBLIC_URL="http://localhost:$PORT" PORTICO_MAIL_TRANSPORT=file
  if [ "$backend" = postgres ]; then
    pgdb="portico_bench_$$"
    python3 bench/views/sql.py "$PG_ADMIN" "CREATE DATABASE $pgdb" >/dev/null
    export PORTICO_DATABASE_URL="${PG_ADMIN%/*}/$pgdb"
  else
    unset PORTICO_DATABASE_URL
  fi
  local db=${PORTICO_DATABASE_URL:-sqlite://$data/portico.db}
  "$BIN" migrate
  local started=$SECONDS
  "$BIN" bench-seed --patients "$PATIENTS" --messages "$MESSAGES" --eobs "$EOBS" \
    --sessions "$SESSIONS" >"$WORK/seed.json"
  echo "[$backend] seeded in $((SECONDS - started)) s: $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["patients"], "patients,", d["messages"], "messages,", d["eobs"], "EOBs,", len(d["sessions"]), "sessions")' "$WORK/seed.json")"
  "$BIN" serve >"$WORK/server-$backend.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$PORT/ping" >/dev/null 2>&1 && break; sleep 0.1; done
  local results="$WORK/results-$backend.txt"
  : >"$results"
  for page in bare inbox message statement; do
    python3 bench/views/paths.py "$WORK/seed.json" "$page" >"$WORK/$page.lua"
    local action before after
    action=$(python3 bench/views/paths.py --action "$page")
    before=$(python3 bench/views/sql.py "$db" "SELECT COUNT(*) FROM audit_events WHERE action = '$action'")
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/$page.lua" "http://127.0.0.1:$PORT" \
      >"$WORK/wrk-$page.txt"
    after=$(python3 bench/views/sql.py "$db" "SELECT COUNT(*) FROM audit_events WHERE action = '$action'")
    echo "$page $((after - before)) $WORK/wrk-$page.txt" >>"$results"
  done
  local rss_kb
  rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
  kill "$server"; wait "$server" 2>/dev/null || true; server=""
  python3 bench/views/report.py "$backend" "$results" "$rss_kb"
  if [ "$backend" = postgres ]; then
    python3 bench/views/sql.py "$PG_ADMIN" "DROP DATABASE IF EXISTS $pgdb" >/dev/null; pgdb=""
  fi
}

case "$WHICH" in
  sqlite) run sqlite ;;
  postgres) run postgres ;;
  both) run sqlite; run postgres ;;
  *) echo "usage: $0 [sqlite|postgres|both]" >&2; exit 2 ;;
esac
