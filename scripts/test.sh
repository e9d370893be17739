#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, then runs all of it:
# formatting, lints, unit tests, end-to-end tests, doc tests and the packaging check.
set -euo pipefail
cd "$(dirname "$0")/.."

# Rust components the checks use (present on the project's machines; cheap when they are).
rustup component add rustfmt clippy >/dev/null 2>&1 || true

# cargo-lambda, for the test that runs a bootstrap under `cargo lambda watch` (a PyPI wheel
# with the binary). If it cannot be installed, that test says so and checks nothing.
python3 -m pip install --quiet --disable-pip-version-check cargo-lambda==1.9.2 \
  || echo "cargo-lambda could not be installed; tests/cargo_lambda.rs will skip"
# cfn-lint, for the SAM template of the examples.
python3 -m pip install --quiet --disable-pip-version-check cfn-lint
# aws-sam-cli, whose `sam local generate-event` (no Docker needed) gives the event shapes the
# local HTTP API's events are compared with (tests/serve_http.rs).
python3 -m pip install --quiet --disable-pip-version-check "aws-sam-cli==1.170.0"
# Headless Chromium (Debian's package), for the browser test of the server-sent events
# example (examples/http/tests/sse.rs).
if ! command -v chromium >/dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# Powertools for AWS Lambda (Python) itself, which the compatibility tests run next to
# lambda-kit: lambda-kit-idempotency/tests/powertools_python.rs and tests/powertools_logs.rs.
python3 -m pip install --quiet --disable-pip-version-check "aws-lambda-powertools==3.37.0"
# pip puts it in Python's scripts folder, which need not be on PATH (or shimmed) yet.
PATH="$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'):$PATH"
export PATH

# redis-server and a DynamoDB-compatible server (moto) on free 127.0.0.1 ports, for the
# idempotency stores' tests; stopped when this script exits.
# shellcheck source=scripts/test-servers.sh
source ./scripts/test-servers.sh

# A one-off build on a fresh machine: incremental caches and full debug info only cost disk
# (tens of GB across clippy, tests and examples) and link time. Line tables keep panics'
# backtraces readable.
export CARGO_INCREMENTAL=0
export CARGO_PROFILE_DEV_DEBUG=line-tables-only

cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo test --workspace --all-features

# Each feature on its own, as a user who picks one would build it.
./scripts/check-features.sh

# The API docs build without a broken link, as docs.rs builds them (all features).
RUSTDOCFLAGS="-D warnings" cargo doc --quiet --no-deps --all-features \
  -p lambda-kit -p lambda-kit-macros -p lambda-kit-idempotency -p lambda-kit-parameters \
  -p lambda-kit-durable
echo "cargo doc: no warnings"

# The published crates package and build from their packages (what crates.io would get).
cargo package --quiet --allow-dirty -p lambda-kit-macros -p lambda-kit -p lambda-kit-idempotency \
  -p lambda-kit-parameters
echo "cargo package: lambda-kit-macros, lambda-kit, lambda-kit-idempotency, lambda-kit-parameters"

# The deploy package: bootstrap at the root of the zip, executable, and it runs.
zip="$(PROFILE=dev ./scripts/package.sh hello | tail -n 1)"
python3 scripts/check-package.py "$zip"
# An extension as a layer: extensions/report-summary at its root.
layer="$(PROFILE=dev ./scripts/package.sh --extension -p examples -F extension report-summary | tail -n 1)"
python3 scripts/check-package.py --extension report-summary "$layer"

# Release builds leave the emulator out (lambda-kit/build.rs): such a bootstrap refuses
# `--serve` with exit 2 and names the feature that brings it back, and `--event` still works.
cargo build --quiet --profile no-debug-assertions -p examples --bin hello
hello="${CARGO_TARGET_DIR:-target}/no-debug-assertions/hello"
status=0; refusal="$("$hello" --serve 2>&1)" || status=$?
[ "$status" -eq 2 ] && grep -q "serve-in-release" <<<"$refusal" \
  || { echo "--serve in a build without debug assertions: exit $status, $refusal" >&2; exit 1; }
[ "$("$hello" --event '{"name":"Ada"}')" = '{"message":"Hello, Ada!"}' ]
echo "no-debug-assertions build: --serve refused (exit 2, names serve-in-release), --event works"

# The SAM template of the examples.
cfn-lint examples/template.yaml
echo "cfn-lint: examples/template.yaml is valid"

# lambda-kit-durable against AWS's durable-execution conformance suite, offline: all 155
# requirements, about two minutes (its last result is in the README). The harness is not
# part of this repository: run.sh looks for it beside it, and says so and exits 75 without
# it.
status=0
lambda-kit-durable/conformance/run.sh --suite all || status=$?
case "$status" in
  0) echo "durable conformance: every suite passed" ;;
  75) echo "durable conformance: skipped, no harness on this machine" ;;
  *) exit "$status" ;;
esac

# The durable examples (order saga, human approval), built with
# #[lambda_kit::handler(durable)], on the same emulator: each scenario's result checked.
status=0
examples/durable/offline/run.sh || status=$?
case "$status" in
  0) echo "durable examples: every scenario ended as expected on the emulator" ;;
  75) echo "durable examples: skipped, no harness on this machine" ;;
  *) exit "$status" ;;
esac
