#!/usr/bin/env bash
# Prints the directory of the durable-execution conformance harness: $DURABLE_CONFORMANCE,
# else ../shared/durable-conformance beside the repository, else
# /work/shared/durable-conformance (where the team's machines keep it). Without one it says
# so and exits 75, which the callers pass on as "skipped".
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
harness="${DURABLE_CONFORMANCE:-}"
for candidate in "$root/../shared/durable-conformance" /work/shared/durable-conformance; do
  [ -z "$harness" ] && [ -x "$candidate/run.sh" ] && harness="$candidate"
done
if [ -z "$harness" ] || [ ! -x "$harness/run.sh" ]; then
  echo "durable conformance: no harness found (set DURABLE_CONFORMANCE)" >&2
  exit 75
fi
echo "$harness"
