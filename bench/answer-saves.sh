#!/usr/bin/env bash
# Bench, not a test: 1,000 candidates, each holding an open attempt, saving exam answers under an
# open-loop load (each save sent at its scheduled time, latency measured from that time) against a
# release build of `credo serve`, on SQLite and on PostgreSQL, next to each backend's own single-row
# write-transaction rate measured in the same run (the ceiling an answer save, one small write,
# can approach). Prints, per backend, the highest offered rate whose p99 stayed under 20 ms and its
# ratio to the transaction rate; then the same for `GET /healthz` on the same server and schedule
# (no session, no database): the HTTP ceiling of this machine and generator, which bounds any
# endpoint's rate, and the saves' share of it.
#
#   bench/answer-saves.sh
#
# The load comes from `examples/answer_load.rs` (compiled, so it takes little of the CPU the server
# shares). Settings (environment): CANDIDATES (default 1000), RATES (saves/s to offer, ascending;
# default 500,1000,2000,3000,4000,5000,6000,8000,10000,12000,14000,16000,20000), SECONDS_PER_RATE (default 8), BACKENDS
# (default "sqlite postgres"), PG_URL (a server where the bench may create a database; default
# $CREDO_TEST_PG_URL or postgres://postgres@127.0.0.1:55432/postgres), SERVER_BIN (another build of
# `credo` to serve, to compare two builds in one sitting; default the release build made here).
# Needs python3, sqlite3, psql and pgbench. Takes about six minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/.."

CANDIDATES=${CANDIDATES:-1000}
RATES=${RATES:-500,1000,2000,3000,4000,5000,6000,8000,10000,12000,14000,16000,20000}
SECONDS_PER_RATE=${SECONDS_PER_RATE:-8}
BACKENDS=${BACKENDS:-"sqlite postgres"}
PG_URL=${PG_URL:-${CREDO_TEST_PG_URL:-postgres://postgres@127.0.0.1:55432/postgres}}
PASSWORD="bench password 1234"

WORK=$(mktemp -d /tmp/credo-bench.XXXXXX)
SERVER_PID=""
PG_DB=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() {
  stop_server
  if [ -n "$PG_DB" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building the release binary and the load generator"
cargo build --release --locked --bin credo --example answer_load 2>&1 | tail -n 1
BIN=${SERVER_BIN:-$PWD/target/release/credo}
LOAD=$PWD/target/release/examples/answer_load
KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
echo "== machine: $(nproc) CPU(s); $CANDIDATES candidates; rates $RATES saves/s for ${SECONDS_PER_RATE}s each"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

sqlite_transaction_rate() {
  python3 - "$1" <<'EOF'
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.executescript("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;"
                   "CREATE TABLE IF NOT EXISTS bench_rows (k INTEGER PRIMARY KEY, v TEXT NOT NULL, at TEXT NOT NULL);")
count, start = 0, time.perf_counter()
while time.perf_counter() - start < 5:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO bench_rows (k, v, at) VALUES (?, 'x', datetime('now')) "
                 "ON CONFLICT (k) DO UPDATE SET v = excluded.v, at = excluded.at", (count % 10000,))
    conn.execute("COMMIT")
    count += 1
print(f"{count / (time.perf_counter() - start):.0f}")
EOF
}

postgres_transaction_rate() {
  local url=$1
  psql "$url" -qc "CREATE TABLE bench_rows (k INTEGER PRIMARY KEY, v TEXT NOT NULL, at TIMESTAMP NOT NULL)" >/dev/null
  cat >"$WORK/row.sql" <<'EOF'
\set k random(1, 10000)
INSERT INTO bench_rows (k, v, at) VALUES (:k, 'x', now()) ON CONFLICT (k) DO UPDATE SET v = excluded.v, at = excluded.at;
EOF
  # Same concurrency as the server's connection pool (CREDO_POOL_SIZE, default 8).
  pgbench -n -c 8 -j 2 -T 10 -f "$WORK/row.sql" "$url" 2>/dev/null | awk '/^tps/ {printf "%.0f", $3}'
}

for backend in $BACKENDS; do
  echo
  echo "== $backend"
  data="$WORK/$backend"
  mkdir -p "$data"
  if [ "$backend" = sqlite ]; then
    db_url="sqlite://$data/credo.db"
  else
    PG_DB="credo_bench_$$"
    psql "$PG_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null
    db_url="${PG_URL%/*}/$PG_DB"
  fi
  export CREDO_DATA_DIR="$data" CREDO_DATABASE_URL="$db_url" CREDO_MASTER_KEY="$KEY" CREDO_LOG=warn \
    CREDO_LOGIN_ATTEMPTS_PER_MINUTE=1000000

  printf '%s' "$PASSWORD" | "$BIN" admin create-user --email owner@bench.test --password-stdin >/dev/null
  "$BIN" admin create-vendor --slug git --name Git --owner-email owner@bench.test >/dev/null
  "$BIN" bank import exam-banks/git/git-fundamentals.toml --vendor git | tail -n 1

  port=$(free_port)
  "$BIN" serve --bind "127.0.0.1:$port" --base-url "http://127.0.0.1:$port" >"$data/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done

  "$LOAD" "http://127.0.0.1:$port" git/git-fundamentals "$CANDIDATES" "$RATES" "$SECONDS_PER_RATE" \
    "$backend" | tee "$data/load.txt"
  stop_server
  saved=$(python3 - "$db_url" "$data" <<'EOF'
import subprocess, sys
url, data = sys.argv[1], sys.argv[2]
q = "SELECT COUNT(*) FROM attempt_answers"
if url.startswith("sqlite://"):
    out = subprocess.run(["sqlite3", url[len("sqlite://"):], q], capture_output=True, text=True).stdout
else:
    out = subprocess.run(["psql", url, "-tAc", q], capture_output=True, text=True).stdout
print(out.strip())
EOF
)
  echo "$backend: $saved distinct answers stored"

  if [ "$backend" = sqlite ]; then
    rate=$(sqlite_transaction_rate "$data/rows.db")
    echo "$backend: single-row write transactions (one connection, WAL, synchronous=NORMAL): $rate tx/s"
  else
    settings=$(psql "$db_url" -tAc "SELECT 'fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')")
    rate=$(postgres_transaction_rate "$db_url")
    echo "$backend: single-row upsert transactions (pgbench, 8 clients, $settings): $rate tx/s"
    psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $PG_DB" >/dev/null
    PG_DB=""
  fi
  best=$(sed -n 's/.*highest offered rate with p99 < 20 ms for saves: \([0-9]*\).*/\1/p' "$data/load.txt")
  ceiling=$(sed -n 's/.*highest offered rate with p99 < 20 ms for GET \/healthz: \([0-9]*\).*/\1/p' "$data/load.txt")
  if [ -n "$best" ] && [ -n "$rate" ]; then
    python3 -c "print(f'$backend: saves at p99 < 20 ms / single-row transactions = $best / $rate = {$best / $rate:.2f} (goal >= 0.50)')"
  fi
  if [ -n "$best" ] && [ -n "$ceiling" ]; then
    python3 -c "print(f'$backend: saves at p99 < 20 ms / GET /healthz at p99 < 20 ms = $best / $ceiling = {$best / $ceiling:.2f}')"
  fi
done
