#!/usr/bin/env bash
# Runs the cross-process idempotency tests (four processes started together with one
# order, on Redis and on the DynamoDB-compatible server) ROUNDS times, and reports how
# many rounds saw anything but exactly one charge per order. Not part of CI: a long run.
#
#   scripts/charge-once-rounds.sh [ROUNDS]     (default 50)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-50}"
# shellcheck source=scripts/test-servers.sh
source ./scripts/test-servers.sh
export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=line-tables-only
cargo test -p examples-idempotency --test idempotent_payment --no-run --quiet
failed=0
for round in $(seq "$ROUNDS"); do
  if ! cargo test -p examples-idempotency --test idempotent_payment --quiet -- processes_on_ >"$SERVERS_DIR/round.log" 2>&1; then
    failed=$((failed + 1))
    echo "round $round: not exactly one charge per order"
    grep -E -A3 "panicked" "$SERVERS_DIR/round.log" | head -20 || true
  fi
done
echo "charge-once rounds: $((ROUNDS - failed)) passed, $failed failed (each round: one order on Redis, one on DynamoDB, 4 processes each)"
[ "$failed" -eq 0 ]
