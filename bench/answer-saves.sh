#!/usr/bin/env bash
# Bench, not a test: N candidates saving exam answers concurrently against a release build of `credo serve`,
# on SQLite and on PostgreSQL, next to each backend's own single-row write-transaction rate measured in the
# same run (the ceiling an answer save, one small write transaction, can approach).
#
#   bench/answer-saves.sh
#
# Settings (environment): CANDIDATES (default 100), RATES (saves/s to offer, default 200,1000,3000),
# SECONDS_PER_RATE (default 10), BACKENDS (default "sqlite postgres"), PG_URL (a server where the bench may
# create a database; default $CREDO_TEST_PG_URL or postgres://postgres@127.0.0.1:55432/postgres).
# Needs python3, sqlite3, psql and pgbench. Takes about two minutes after the build.
set -euo pipefail
cd "$(dirname "$0")/.."

CANDIDATES=${CANDIDATES:-100}
RATES=${RATES:-200,1000,3000}
SECONDS_PER_RATE=${SECONDS_PER_RATE:-10}
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

echo "== building the release binary"
cargo build --release --locked --bin credo 2>&1 | tail -n 1
BIN=$PWD/target/release/credo
KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
EMAILS=$(python3 -c "print(','.join(f'bench-{i}@bench.test' for i in range($CANDIDATES)))")
echo "== machine: $(nproc) CPU(s); $CANDIDATES candidates; rates $RATES saves/s for ${SECONDS_PER_RATE}s each"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# SQL copying candidate 0 (same password hash) into candidates 1..N-1.
more_candidates_sql() {
  python3 - "$CANDIDATES" <<'EOF'
import sys, uuid
for i in range(1, int(sys.argv[1])):
    print(
        "INSERT INTO users (id, email, display_name, password_hash, is_operator, email_verified_at, created_at, updated_at) "
        f"SELECT '{uuid.uuid4()}', 'bench-{i}@bench.test', 'Candidate {i}', password_hash, is_operator, "
        "email_verified_at, created_at, updated_at FROM users WHERE email = 'bench-0@bench.test';"
    )
EOF
}

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
  printf '%s' "$PASSWORD" | "$BIN" admin create-user --email bench-0@bench.test --password-stdin >/dev/null
  "$BIN" admin create-vendor --slug git --name Git --owner-email owner@bench.test >/dev/null
  "$BIN" bank import exam-banks/git/git-fundamentals.toml --vendor git | tail -n 1
  more_candidates_sql >"$data/candidates.sql"
  if [ "$backend" = sqlite ]; then
    sqlite3 "$data/credo.db" <"$data/candidates.sql"
  else
    psql "$db_url" -q -f "$data/candidates.sql" >/dev/null
  fi

  port=$(free_port)
  "$BIN" serve --bind "127.0.0.1:$port" --base-url "http://127.0.0.1:$port" >"$data/serve.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 200); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.1
  done

  python3 bench/answer_load.py --base "http://127.0.0.1:$port" --exam git/git-fundamentals \
    --emails "$EMAILS" --password "$PASSWORD" --rates "$RATES" --seconds "$SECONDS_PER_RATE" \
    --label "$backend" | tee "$data/load.txt"
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
done
