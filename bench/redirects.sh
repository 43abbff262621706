#!/usr/bin/env bash
# Referral redirects per second with every click persisted (PERFORMANCE.md goal: ≥ 20k/s on
# SQLite), on SQLite and on PostgreSQL, with group commit (default) and without it
# (CREDO_CLICK_FLUSH_MS=0: one INSERT transaction per redirect). Next to each figure: the
# backend's single-row insert rate (one click row per transaction) measured in the same run.
#
# After each load the server is stopped gracefully (SIGTERM: the HTTP server drains, then the
# click buffer is flushed) and the script checks that the clicks in the database equal the
# redirects the server answered (its own /metrics counter) — and reports wrk's count too.
#
# Usage: bench/redirects.sh            (needs wrk: apt-get install -y wrk)
#   DURATION=10s CONNECTIONS=64 THREADS=2   wrk settings (PERFORMANCE.md: -t2 -c64 -d10s)
#   CREDO_BENCH_PG_URL=postgres://postgres@127.0.0.1:55432/postgres   server for the PostgreSQL runs
#   BACKENDS="sqlite postgres"  MODES="group single"  PROFILE=release|debug
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BACKENDS=${BACKENDS:-sqlite postgres}
MODES=${MODES:-group single}
PG_URL=${CREDO_BENCH_PG_URL:-postgres://postgres@127.0.0.1:55432/postgres}
INSERT_ROWS=${INSERT_ROWS:-20000}
UA="Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is missing: apt-get install -y jq" >&2; exit 2; }

# PROFILE=debug only checks that the script works; figures come from release builds.
PROFILE=${PROFILE:-release}
echo "== building ($PROFILE)"
if [ "$PROFILE" = release ]; then
  cargo build --release --locked --bin credo --example click_insert_rate 2>&1 | tail -n 1
  DIR=release
else
  cargo build --locked --bin credo --example click_insert_rate 2>&1 | tail -n 1
  DIR=debug
fi
BIN=$PWD/target/$DIR/credo
INSERT=$PWD/target/$DIR/examples/click_insert_rate

WORK=$(mktemp -d /tmp/credo-bench.XXXXXX)
SERVER_PID=""
PG_DBS=()
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  for db in "${PG_DBS[@]}"; do psql -q "$PG_URL" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

count_clicks() { # $1 backend, $2 database url
  if [ "$1" = sqlite ]; then
    sqlite3 "${2#sqlite://}" "SELECT COUNT(*) FROM clicks"
  else
    psql -qtA "$2" -c "SELECT COUNT(*) FROM clicks"
  fi
}

served_redirects() { # $1 base url: 302 answers of /r/{code} counted by the server itself
  curl -fsS "$1/metrics" | awk '/^credo_http_requests_total\{/ && /route="\/r\/\{code\}"/ && /status="302"/ { sum += $NF } END { printf "%d\n", sum }'
}

declare -a REPORT

run() { # $1 backend, $2 mode (group|single)
  local backend=$1 mode=$2 dir="$WORK/$1-$2" url port base flush
  mkdir -p "$dir"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$dir/credo.db"
  else
    local name="credo_bench_$(date +%s)_$RANDOM"
    psql -q "$PG_URL" -c "CREATE DATABASE $name" >/dev/null
    PG_DBS+=("$name")
    url="${PG_URL%/*}/$name"
  fi
  flush=5; [ "$mode" = single ] && flush=0
  port=$(free_port); base="http://127.0.0.1:$port"
  export CREDO_DATA_DIR="$dir" CREDO_DATABASE_URL="$url" CREDO_BASE_URL="$base" \
    CREDO_MASTER_KEY=$(printf '5a%.0s' $(seq 32)) CREDO_LOG=warn CREDO_CLICK_FLUSH_MS=$flush \
    CREDO_LOGIN_ATTEMPTS_PER_MINUTE=100
  "$BIN" migrate >/dev/null
  printf 'bench-password-123\n' | "$BIN" admin create-user --email owner@bench.example --name Owner --password-stdin >/dev/null
  printf 'bench-password-123\n' | "$BIN" admin create-user --email ada@bench.example --name Ada --password-stdin >/dev/null
  "$BIN" admin create-vendor --slug bench --name Bench --owner-email owner@bench.example >/dev/null
  "$BIN" serve --bind "127.0.0.1:$port" >"$dir/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

  login() { curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"bench-password-123\"}" | jq -r .token; }
  local owner ada program code enrollment
  owner=$(login owner@bench.example); ada=$(login ada@bench.example)
  program=$(curl -fsS -X PUT "$base/api/v1/vendors/bench/program" -H "Authorization: Bearer $owner" \
    -H 'Content-Type: application/json' -d '{"currency":"EUR","landing_url":"https://bench.example/pricing?plan=team",
    "attribution_window_days":30,"hold_days":14,"commission_months":12,"min_payout_minor":1000,
    "terms_version":"1","tiers":[{"code":"member","rank":0,"rate_bps":1000}]}' | jq -r .id)
  read -r code enrollment < <(curl -fsS "$base/api/v1/programs/$program/enrollments" -H "Authorization: Bearer $ada" \
    -H 'Content-Type: application/json' -d '{"accept_terms_version":"1"}' | jq -r '"\(.referral_code) \(.id)"')
  curl -fsS -o /dev/null -w '%{http_code}' "$base/r/$code" | grep -q 302

  # Anchor: single-row insert transactions on this backend (1 connection, and 8 on PostgreSQL).
  local anchor anchor8=""
  anchor=$("$INSERT" "$url" "$program" "$enrollment" "$INSERT_ROWS" 1)
  if [ "$backend" = postgres ]; then anchor8=$("$INSERT" "$url" "$program" "$enrollment" "$INSERT_ROWS" 8); fi

  local before served_before
  before=$(count_clicks "$backend" "$url")
  served_before=$(served_redirects "$base")
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -H "User-Agent: $UA" "$base/r/$code" >"$dir/wrk.txt"
  local rps wrk_requests served
  rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$dir/wrk.txt")
  wrk_requests=$(awk '/requests in/ { print $1 }' "$dir/wrk.txt")
  sleep 1 # requests in flight when wrk stopped finish before the server's count is read
  served=$(( $(served_redirects "$base") - served_before ))
  kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=""
  local stored=$(( $(count_clicks "$backend" "$url") - before ))
  local check="OK"; [ "$stored" -eq "$served" ] || check="MISMATCH"
  local ratio
  ratio=$(awk -v a="$rps" -v b="$anchor" 'BEGIN { printf "%.2f", a / b }')
  REPORT+=("$(printf '%-8s %-6s %9s redirects/s | single-row inserts: %6s/s%s | ratio %s | served %s, wrk %s, stored %s: %s' \
    "$backend" "$mode" "$rps" "$anchor" "${anchor8:+ (8 conns: $anchor8/s)}" "$ratio" "$served" "$wrk_requests" "$stored" "$check")")
  echo "${REPORT[-1]}"
  grep -E "Latency|Non-2xx|Socket errors" "$dir/wrk.txt" | sed 's/^/    /' || true
}

for backend in $BACKENDS; do
  if [ "$backend" = postgres ] && ! psql -q "$PG_URL" -c 'SELECT 1' >/dev/null 2>&1; then
    echo "PostgreSQL at $PG_URL is not reachable; skipping" >&2; continue
  fi
  for mode in $MODES; do
    echo "== $backend, $mode"
    run "$backend" "$mode"
  done
done

echo
echo "== summary (wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) CPUs shared by client and server)"
printf '%s\n' "${REPORT[@]}"
if printf '%s\n' "${REPORT[@]}" | grep -q MISMATCH; then exit 1; fi
