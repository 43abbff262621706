#!/usr/bin/env bash
# Bench, not a test: resident memory of a release `credo serve` on SQLite with the demo data —
# idle after start, idle after every kind of page was served once (a badge PNG rendered, a
# credential verified), and the peak under an answer-save load of 1,000 candidates (the load
# generator of bench/answer-saves.sh). Goals: idle < 64 MiB, loaded < 256 MiB.
#
#   bench/memory.sh
#
# Settings (environment): CANDIDATES (default 1000), RATE (saves/s offered, default 2000),
# SECONDS_UNDER_LOAD (default 10). Prints what the resident memory is made of: the binary's own
# pages (file-backed), anonymous memory (heap arenas, thread stacks), and the threads.
set -euo pipefail
cd "$(dirname "$0")/.."

CANDIDATES=${CANDIDATES:-1000}
RATE=${RATE:-2000}
SECONDS_UNDER_LOAD=${SECONDS_UNDER_LOAD:-10}

WORK=$(mktemp -d /tmp/credo-memory.XXXXXX)
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== building the release binary and the load generator"
cargo build --release --locked --bin credo --example answer_load 2>&1 | tail -n 1
BIN=$PWD/target/release/credo
LOAD=$PWD/target/release/examples/answer_load

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export CREDO_DATA_DIR="$WORK" CREDO_DATABASE_URL="sqlite://$WORK/credo.db" CREDO_LOG=warn \
  CREDO_MASTER_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
"$BIN" demo --base-url "$base" >"$WORK/demo.txt"

"$BIN" serve --bind "127.0.0.1:$port" --base-url "$base" >"$WORK/serve.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 200); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

mib() { awk -v kb="$1" 'BEGIN { printf "%.1f MiB", kb / 1024 }'; }
status() { awk -v key="$1:" '$1 == key { print $2 }' "/proc/$SERVER_PID/status"; }
report() {
  local label=$1 rss
  rss=$(status VmRSS)
  printf '%-28s RSS %-10s (binary and libraries, file-backed: %s; anonymous: %s); %s threads\n' \
    "$label" "$(mib "$rss")" "$(mib "$(status RssFile)")" "$(mib "$(status RssAnon)")" "$(status Threads)"
}

sleep 2
report "idle after start"
idle_kb=$(status VmRSS)

certificate=$(grep -oE "$base/c/[0-9a-f-]+" "$WORK/demo.txt" | head -n 1)
for path in / /exams /verify /login /api/openapi.json /api/v1/exams /static/style.css; do
  curl -fsS -o /dev/null "$base$path"
done
curl -fsS -o /dev/null "$certificate"
curl -fsS -o /dev/null "$certificate/badge.svg"
curl -fsS -o /dev/null "$certificate/badge.png"
sleep 2
report "idle after every page once"
warm_kb=$(status VmRSS)
echo "   by mapping (kB):"
awk '/^[0-9a-f]+-[0-9a-f]+ /{name=$6; if (name == "") name = "[anonymous]"} /^Rss:/{rss[name] += $2}
     END {for (n in rss) if (rss[n] >= 256) printf "   %8d  %s\n", rss[n], n}' "/proc/$SERVER_PID/smaps" | sort -rn
echo "   threads: $(for t in /proc/$SERVER_PID/task/*; do cat "$t/comm"; done | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')"

"$LOAD" "$base" acme/git-fundamentals "$CANDIDATES" "$RATE" "$SECONDS_UNDER_LOAD" load &
load_pid=$!
peak=0
while kill -0 "$load_pid" 2>/dev/null; do
  now=$(status VmRSS)
  [ "$now" -gt "$peak" ] && peak=$now
  sleep 0.2
done
wait "$load_pid"
report "after the load"
echo "peak RSS under the load: $(mib "$peak") (VmHWM $(mib "$(status VmHWM)"))"
echo
echo "idle: $(mib "$idle_kb") after start, $(mib "$warm_kb") after every page once (goal < 64 MiB);" \
  "loaded: $(mib "$(status VmHWM)") peak (goal < 256 MiB)"
