#!/usr/bin/env bash
# Verification throughput side by side, in one run (PERFORMANCE.md / issue 11 goals):
#   bare   examples/verify_bare: actix + the same engine, documents in memory, no database
#   credo  POST /api/v1/verify of `credo serve` on SQLite (all checks, status on, verify rate
#          limit off), with the proof cache (default) and without it (VERIFY_PROOF_CACHE_ENTRIES=0)
#   node   the Digital Bazaar peer (bench/node-verify, pinned package.json + lock) on one core
# for an eddsa-jcs-2022 and an eddsa-rdfc-2022 credential. Prints req/s, CPU-seconds per request
# of the server process (utime+stime from /proc/<pid>/stat) and the goals' ratios:
#   credo ≥ 80 % of bare (req/s);  credo ≥ 4× node per CPU-second.
# Every server is checked to answer "verified" for the credential before it is loaded.
#
# Usage: bench/verify.sh           (needs wrk, jq, sqlite3, node + npm; about 2 minutes after the build)
#   DURATION=8s CONNECTIONS=32 THREADS=1   wrk settings
#   PROFILE=release|debug                  debug only checks that the script works
#   SERVER_BIN=path                        another build of `credo` to serve (compare two builds)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
PROFILE=${PROFILE:-release}
for tool in wrk jq sqlite3 node npm curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install -y wrk jq sqlite3 nodejs npm)" >&2; exit 2; }
done

echo "== building ($PROFILE)"
if [ "$PROFILE" = release ]; then
  cargo build --release --locked --bin credo --example verify_bare --example issuance_rate 2>&1 | tail -n 1
else
  cargo build --locked --bin credo --example verify_bare --example issuance_rate 2>&1 | tail -n 1
fi
DIR=$PWD/target/$PROFILE
BIN=${SERVER_BIN:-$DIR/credo}
if [ ! -d bench/node-verify/node_modules ]; then
  (cd bench/node-verify && npm ci --no-audit --no-fund --silent)
fi

WORK=$(mktemp -d /tmp/credo-verify-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 200); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; exit 1; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
CLK_TCK=$(getconf CLK_TCK)

# The instance and its credentials: one vendor, one holder, one credential per cryptosuite.
PORT=$(free_port); BASE="http://127.0.0.1:$PORT"
export CREDO_DATA_DIR="$WORK/data" CREDO_DATABASE_URL="sqlite://$WORK/credo.db" CREDO_BASE_URL="$BASE" \
  CREDO_MASTER_KEY=$(printf '5a%.0s' $(seq 32)) CREDO_LOG=warn CREDO_RATE_LIMIT_VERIFY_PER_MINUTE=0
"$BIN" migrate >/dev/null
printf 'bench-password-123\n' | "$BIN" admin create-user --email owner@bench.example --name Owner --password-stdin >/dev/null
"$BIN" admin create-vendor --slug bench --name 'Northwind Cloud Academy' --owner-email owner@bench.example >/dev/null
for suite in eddsa-rdfc-2022 eddsa-jcs-2022; do
  "$DIR/examples/issuance_rate" bench 1 "$suite" >/dev/null
done

start_credo() { # $1 proof cache entries
  CREDO_VERIFY_PROOF_CACHE_ENTRIES=$1 "$BIN" serve --bind "127.0.0.1:$PORT" >>"$WORK/credo.log" 2>&1 &
  CREDO_PID=$!; PIDS+=("$CREDO_PID")
  wait_up "$BASE/healthz"
}
stop_credo() { kill -TERM "$CREDO_PID"; wait "$CREDO_PID" 2>/dev/null || true; }

start_credo 4096
for suite in eddsa-rdfc-2022 eddsa-jcs-2022; do
  id=$(sqlite3 "$WORK/credo.db" "SELECT id FROM credentials WHERE json LIKE '%\"cryptosuite\":\"$suite\"%' LIMIT 1")
  curl -fsS "$BASE/api/v1/credentials/$id" >"$WORK/$suite.json"
done
curl -fsS "$BASE/issuers/bench/did.json" >"$WORK/did.json"
LIST_URL=$(jq -r .credentialStatus.statusListCredential "$WORK/eddsa-jcs-2022.json")
curl -fsS "$LIST_URL" >"$WORK/list.json"
jq -n --slurpfile did "$WORK/did.json" --slurpfile list "$WORK/list.json" \
  '{($did[0].id): $did[0], ($list[0].id): $list[0]}' >"$WORK/documents.json"

BARE_PORT=$(free_port)
"$DIR/examples/verify_bare" "127.0.0.1:$BARE_PORT" "$WORK/did.json" "$WORK/list.json" >"$WORK/bare.log" 2>&1 &
BARE_PID=$!; PIDS+=("$BARE_PID")
NODE_PORT=$(free_port)
PORT=$NODE_PORT DOCUMENTS="$WORK/documents.json" taskset -c 0 node bench/node-verify/server.js >"$WORK/node.log" 2>&1 &
NODE_PID=$!; PIDS+=("$NODE_PID")
sleep 0.5

declare -A RPS CPU
measure() { # $1 label, $2 pid, $3 url, $4 credential file
  local label=$1 pid=$2 url=$3 body=$4 before after out
  curl -fsS -H 'Content-Type: application/json' --data-binary "@$body" "$url" | jq -e '.verified == true' >/dev/null \
    || { echo "$label does not verify $body" >&2; exit 1; }
  cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$body", "rb"); wrk.body = f:read("*a"); f:close()
LUA
  before=$(cpu_ticks "$pid")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/post.lua" "$url")
  after=$(cpu_ticks "$pid")
  local rps requests errors
  rps=$(awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<<"$out")
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  errors=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
  RPS[$label]=$rps
  CPU[$label]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$requests" 'BEGIN { printf "%.1f", 1e6 * t / hz / n }')
  printf '%-28s %8s req/s  %8s CPU-µs/request  %s\n' "$label" "$rps" "${CPU[$label]}" "${errors:+($errors)}"
}

for suite in eddsa-jcs-2022 eddsa-rdfc-2022; do
  echo "== $suite"
  measure "bare $suite" "$BARE_PID" "http://127.0.0.1:$BARE_PORT/verify" "$WORK/$suite.json"
  measure "credo $suite" "$CREDO_PID" "$BASE/api/v1/verify" "$WORK/$suite.json"
  measure "node $suite" "$NODE_PID" "http://127.0.0.1:$NODE_PORT/" "$WORK/$suite.json"
done
stop_credo
start_credo 0
for suite in eddsa-jcs-2022 eddsa-rdfc-2022; do
  measure "credo-nocache $suite" "$CREDO_PID" "$BASE/api/v1/verify" "$WORK/$suite.json"
done
stop_credo

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "== ratios (wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) CPUs shared by client and servers; node on one core)"
for suite in eddsa-jcs-2022 eddsa-rdfc-2022; do
  for credo in credo credo-nocache; do
    share=$(ratio "${RPS[$credo $suite]}" "${RPS[bare $suite]}")
    per_cpu=$(ratio "${CPU[node $suite]}" "${CPU[$credo $suite]}")
    printf '%-15s %-14s %5s of bare (goal ≥ 0.80: %s)   %6s× node per CPU-second (goal ≥ 4: %s)   %5s× node req/s\n' \
      "$suite" "$credo" "$share" "$(awk -v r="$share" 'BEGIN { print (r >= 0.8 ? "met" : "NOT met") }')" \
      "$per_cpu" "$(awk -v r="$per_cpu" 'BEGIN { print (r >= 4 ? "met" : "NOT met") }')" \
      "$(ratio "${RPS[$credo $suite]}" "${RPS[node $suite]}")"
  done
done
