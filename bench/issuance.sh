#!/usr/bin/env bash
# Issuance next to its cryptography (PERFORMANCE.md / issue 11 goal: issuance ≥ 25 % of the raw
# eddsa-jcs-2022 sign rate on SQLite), measured in one run by examples/issuance_rate: COUNT
# credentials issued one transaction each (build, sign, store, status slot, supersede, outbox
# mail) against signing the same credential alone on one thread. Issuance runs one at a time
# (IN_FLIGHT 1, a lone pass) and IN_FLIGHT at a time (passes graded together, which SQLite's
# writer commits in groups); the goal is read on the second. Then the same for eddsa-rdfc-2022
# (the default suite), for reference.
#
# Usage: bench/issuance.sh      COUNT=2000  IN_FLIGHT=32  PROFILE=release|debug
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-2000}
IN_FLIGHT=${IN_FLIGHT:-32}
PROFILE=${PROFILE:-release}
echo "== building ($PROFILE)"
if [ "$PROFILE" = release ]; then
  cargo build --release --locked --bin credo --example issuance_rate 2>&1 | tail -n 1
else
  cargo build --locked --bin credo --example issuance_rate 2>&1 | tail -n 1
fi
BIN=$PWD/target/$PROFILE/credo
WORK=$(mktemp -d /tmp/credo-issuance-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
export CREDO_DATA_DIR="$WORK/data" CREDO_DATABASE_URL="sqlite://$WORK/credo.db" \
  CREDO_BASE_URL="https://credo.example.org" CREDO_MASTER_KEY=$(printf '5a%.0s' $(seq 32)) CREDO_LOG=warn
"$BIN" migrate >/dev/null
printf 'bench-password-123\n' | "$BIN" admin create-user --email owner@bench.example --name Owner --password-stdin >/dev/null
"$BIN" admin create-vendor --slug bench --name 'Northwind Cloud Academy' --owner-email owner@bench.example >/dev/null
for suite in eddsa-jcs-2022 eddsa-rdfc-2022; do
  for in_flight in 1 "$IN_FLIGHT"; do
    read -r issued signed < <("$PWD/target/$PROFILE/examples/issuance_rate" bench "$COUNT" "$suite" "$in_flight")
    ratio=$(awk -v a="$issued" -v b="$signed" 'BEGIN { printf "%.2f", a / b }')
    goal=""
    if [ "$suite" = eddsa-jcs-2022 ] && [ "$in_flight" != 1 ]; then
      goal=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.25 ? "(goal ≥ 0.25: met)" : "(goal ≥ 0.25: NOT met)") }')
    fi
    printf '%-16s %3s in flight: issuance %6s/s | raw sign %6s/s | ratio %s %s\n' \
      "$suite" "$in_flight" "$issued" "$signed" "$ratio" "$goal"
  done
done
