#!/usr/bin/env bash
# Runs AWS's durable-execution conformance suite offline against this crate's functions.
#
#   lambda-kit-durable/conformance/run.sh [run.sh options of the harness, e.g. --suite step wait]
#
# harness.sh finds the harness; without one this exits 75. The bootstrap is built in debug
# (quicker to build; the suite checks behaviour, not speed); DURABLE_PROFILE=release builds
# it in release.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
harness="$("$here/harness.sh")" || exit $?
profile="${DURABLE_PROFILE:-debug}"
flag=""
[ "$profile" = release ] && flag="--release"
(cd "$root" && cargo build $flag -p lambda-kit-durable-conformance --bin durable-conformance)
target="${CARGO_TARGET_DIR:-$root/target}"
# With moto: 3-12 counts attempts in a DynamoDB table.
"$harness/setup.sh" --with-moto >/dev/null
DURABLE_BOOTSTRAP="$target/$profile/durable-conformance" exec "$harness/run.sh" "$here/template.yaml" "$@"
