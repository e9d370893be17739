#!/usr/bin/env bash
# Runs the durable examples on this machine against AWS's local durable-execution emulator
# (the team's conformance harness provides it and a fake Lambda that starts the bootstraps),
# and checks what each scenario of offline/scenarios.py expects.
#
#   examples/durable/offline/run.sh
#
# Finds the harness as lambda-kit-durable/conformance/run.sh does; exits 75 without one.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
harness="$("$root/lambda-kit-durable/conformance/harness.sh")" || exit $?
(cd "$root" && cargo build -p examples-durable --bins)
target="${CARGO_TARGET_DIR:-$root/target}/debug"
"$harness/setup.sh" >/dev/null
py="$(. "$harness/lib/common.sh" && echo "$DC_PY")"
lib="$harness/lib"
logs="$(mktemp -d "${TMPDIR:-/tmp}/durable-examples.XXXXXX")"
template="$here/../template.yaml"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

read -r runner_port lambda_port < <("$py" "$lib/svc.py" free-ports 2)
runner="http://127.0.0.1:$runner_port"
lambda="http://127.0.0.1:$lambda_port"
"$py" "$lib/svc.py" function-configs "$template" > "$logs/function_configs.json"
AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-west-2 \
  "$py" "$lib/dex_runner_patched.py" start-server --host 127.0.0.1 --port "$runner_port" \
  --lambda-endpoint "$lambda" --local-runner-endpoint "$runner" --local-runner-region us-west-2 \
  --log-level WARNING --invocation-timeout 60 \
  --function-configs "file://$logs/function_configs.json" > "$logs/runner.log" 2>&1 &
pids+=($!)
"$py" "$lib/fake_lambda.py" --template "$template" --code-root "$target" --port "$lambda_port" \
  --checkpoint-endpoint "$runner" --log-dir "$logs" > "$logs/fake_lambda.log" 2>&1 &
pids+=($!)
"$py" "$lib/svc.py" wait-http "$runner/health" 60 "${pids[0]}"
"$py" "$lib/svc.py" wait-http "$lambda/health" 30 "${pids[1]}"
echo "== emulator $runner, fake Lambda $lambda, logs in $logs"
"$py" "$here/scenarios.py" "$runner"
