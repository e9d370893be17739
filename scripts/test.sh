#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, then runs all of it:
# formatting, lints, unit tests, end-to-end tests, doc tests and the packaging check.
set -euo pipefail
cd "$(dirname "$0")/.."

# Rust components the checks use (present on the project's machines; cheap when they are).
rustup component add rustfmt clippy >/dev/null 2>&1 || true

cargo fmt --all --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
cargo test --workspace --all-features

# The deploy package: bootstrap at the root of the zip, executable, and it runs.
PROFILE=dev ./scripts/package.sh hello
python3 scripts/check-package.py target/lambda/hello/bootstrap.zip
