#!/usr/bin/env bash
# The EOB ingest benchmark: generates COUNT realistic EOBs (bench/eob/generate.py:
# varied items and adjudications, one Bundle with its Patient a line), starts a
# release build on SQLite in a throwaway data directory, bulk-publishes them
# over HTTP in one streamed NDJSON upload, and reports EOB/s and the server's
# peak RSS (VmHWM); PERF_OUT=FILE also records a perf profile of the server. Usage: bench/eob/run.sh [COUNT] (default 100000), or
# `make bench-eob`. Targets on a 2-core machine: >= 5,000 EOB/s, <= 200 MB.
set -euo pipefail
COUNT=${1:-100000}
MEMBERS=${MEMBERS:-5000}
PORT=${PORT:-3190}
cd "$(dirname "$0")/../.."

# BIN=path measures another build (an earlier commit's, to compare).
if [ -z "${BIN:-}" ]; then
  cargo build --release --locked -p portico-server --bin portico
  BIN=$PWD/target/release/portico
fi
WORK=$(mktemp -d /tmp/portico-bench-eob.XXXXXX)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "${KEEP:-}" ] && cp "$WORK/server.log" /tmp/bench-server.log; rm -rf "$WORK"
}
trap cleanup EXIT

echo "generating $COUNT EOBs for $MEMBERS members…"
python3 bench/eob/generate.py --count "$COUNT" --members "$MEMBERS" --seed 1 >"$WORK/eobs.ndjson"
echo "  $(du -h "$WORK/eobs.ndjson" | cut -f1) of NDJSON"

export PORTICO_DATA_DIR="$WORK/data" PORTICO_LISTEN="127.0.0.1:$PORT" \
  PORTICO_PUBLIC_URL="http://localhost:$PORT" PORTICO_LOG=${PORTICO_LOG:-info} PORTICO_MAIL_TRANSPORT=file
"$BIN" migrate
PLAN=$("$BIN" org add --kind health-plan --name "Bench Health Plan" 2>/dev/null)
KEY=$("$BIN" apikey create --org "$PLAN" --scope eob:publish --label bench 2>/dev/null)

"$BIN" serve >"$WORK/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

profiler=""
if [ -n "${PERF_OUT:-}" ]; then # PERF_OUT=/tmp/eob.perf: sample the server with perf while it ingests
  perf record -F 499 -g -p "$server" -o "$PERF_OUT" >/dev/null 2>&1 &
  profiler=$!
  sleep 1
fi
start=$(date +%s.%N)
curl -fsS -X POST -T "$WORK/eobs.ndjson" \
  -H "Authorization: Bearer $KEY" -H "Content-Type: application/fhir+ndjson" \
  "http://127.0.0.1:$PORT/api/v1/eob/\$bulk" -o "$WORK/report.json"
end=$(date +%s.%N)
[ -n "$profiler" ] && kill -INT "$profiler" && wait "$profiler" || true
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")

python3 - "$WORK/report.json" "$start" "$end" "$rss_kb" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
seconds = float(sys.argv[3]) - float(sys.argv[2])
rss_mb = int(sys.argv[4]) / 1024
rate = report["eobs"] / seconds
print(f"lines {report['lines']}, accepted {report['accepted']}, rejected {report['rejected']}, EOBs {report['eobs']}")
print(f"time {seconds:.1f} s, {rate:,.0f} EOB/s (target >= 5,000)")
print(f"server peak RSS {rss_mb:.0f} MB (target <= 200 MB)")
if report["rejected"]:
    print("first rejection:", json.dumps(report["rejections"][0])[:400])
PY
echo "where the server's time went (summed over batches; check and seal use every core):"
sed 's/\x1b\[[0-9;]*m//g' "$WORK/server.log" | grep -o "timings=.*" | tail -1 ||
  echo "(no timings line in the log)"
