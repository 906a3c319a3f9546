#!/usr/bin/env python3
"""Reads wrk's --latency output for each page and prints the benchmark's table:
req/s, p50, p99, errors, the ratio to the bare handler, and whether the audit
rows written equal the views served (every 2xx view is audited before it is
shown, so the two must be equal).

    python3 bench/views/report.py BACKEND RESULTS_FILE PEAK_RSS_KB
"""
import os
import re
import sys

CONNECTIONS = int(os.environ.get("CONNECTIONS", "64"))


def millis(text):
    value, unit = float(re.match(r"([\d.]+)", text).group(1)), re.sub(r"[\d.]", "", text)
    return value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def parse(path):
    out = open(path).read()
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = millis(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = millis(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, socket.groups())) if socket else 0)
    return requests, rate, p50, p99, errors


backend, results, rss_kb = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = []
for line in open(results):
    page, audited, path = line.split()
    rows.append((page, int(audited), *parse(path)))
bare = next(r for r in rows if r[0] == "bare")[3]
print(f"\n[{backend}] {'page':<10} {'req/s':>9} {'ratio':>6} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}  audited")
ok = True
for page, audited, requests, rate, p50, p99, errors in rows:
    served = requests - errors
    if page == "bare":
        check = "-"
    elif served <= audited <= served + CONNECTIONS:
        check = f"yes ({audited} rows, {served} views)"
    else:
        check = f"NO ({audited} rows, {served} views)"
    ok &= (check == "-" or check.startswith("yes")) and errors == 0
    print(f"[{backend}] {page:<10} {rate:>9,.0f} {rate / bare:>6.3f} {p50:>7.2f} {p99:>7.2f} {errors:>6}  {check}")
print(f"[{backend}] server peak RSS {rss_kb / 1024:.0f} MB")
message = next((r for r in rows if r[0] == "message"), None)
if message and backend == "sqlite":
    rate, p99 = message[3], message[5]
    print(f"[{backend}] message view target (>= 3,000 req/s, p99 <= 25 ms): "
          f"{'met' if rate >= 3000 and p99 <= 25 else 'NOT met'}")
if not ok:
    print(f"[{backend}] errors, or views without their audit rows: see above")
