#!/usr/bin/env python3
"""One SQL statement against the benchmark's database; prints the first value.

    python3 bench/views/sql.py DATABASE_URL "SELECT COUNT(*) FROM audit_events"

sqlite://PATH through Python's sqlite3; postgres://… through psql.
"""
import sqlite3
import subprocess
import sys

url, sql = sys.argv[1], sys.argv[2]
if url.startswith("sqlite://"):
    db = sqlite3.connect(url[len("sqlite://"):], timeout=30)
    db.isolation_level = None
    row = db.execute(sql).fetchone()
    print("" if row is None else row[0])
else:
    out = subprocess.run(["psql", url, "-tAc", sql], check=True, capture_output=True, text=True)
    print(out.stdout.strip())
