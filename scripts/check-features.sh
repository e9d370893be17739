#!/usr/bin/env bash
# Checks each cargo feature of the published crates on its own (and none at all), with
# warnings as errors, so that no feature depends on another one by accident. Its own
# target directory keeps the main build's artifacts (and their RUSTFLAGS) untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/features"
export RUSTFLAGS="-D warnings"
for package in lambda-kit lambda-kit-idempotency lambda-kit-parameters lambda-kit-durable; do
  features="$(cargo metadata --no-deps --format-version 1 | python3 -c "
import json, sys
package = next(p for p in json.load(sys.stdin)['packages'] if p['name'] == '$package')
print(' '.join(name for name in package['features'] if name != 'default'))")"
  for feature in "" $features; do
    echo "cargo check -p $package --no-default-features ${feature:+--features $feature}"
    cargo check --quiet -p "$package" --no-default-features ${feature:+--features "$feature"}
  done
done
# Release builds leave the `--serve` emulator out of the default features (lambda-kit's
# build.rs): that build, and one with the testing kit beside it, must be warning-free too.
echo "cargo check --release -p lambda-kit (the emulator compiled out)"
cargo check --quiet --release -p lambda-kit
cargo check --quiet --release -p lambda-kit --features testing
echo "check-features: every feature builds on its own"
