#!/usr/bin/env bash
# Builds a binary of the workspace for the host architecture and writes
# <target dir>/lambda/<name>/bootstrap.zip, ready for `aws lambda create-function --runtime
# provided.al2023 --handler bootstrap --zip-file fileb://<that path>`. The target directory
# is cargo's own (CARGO_TARGET_DIR and .cargo/config.toml are honoured); the last line
# printed is the zip's path.
#
# With --extension it writes <target dir>/lambda/<name>/extension.zip instead: a layer whose
# root holds extensions/<name>, where Lambda looks for external extensions (under /opt).
#
#   scripts/package.sh hello                   # release build (LTO, stripped)
#   scripts/package.sh -p my-package my-fn     # a binary of another package
#   scripts/package.sh --extension -F extension report-summary
#                                              # an extension layer (-F: cargo features)
#   PROFILE=dev scripts/package.sh hello       # quick build, for checking the packaging itself
set -euo pipefail
cd "$(dirname "$0")/.."

usage="usage: scripts/package.sh [--extension] [-p PACKAGE] [-F FEATURES] BINARY (for example: scripts/package.sh hello)"
package_args=()
extension=false
while [ $# -gt 1 ]; do
  case "$1" in
    --extension) extension=true; shift ;;
    -p) package_args+=(-p "${2:?$usage}"); shift 2 ;;
    -F) package_args+=(--features "${2:?$usage}"); shift 2 ;;
    *) break ;;
  esac
done
name="${1:?$usage}"
profile="${PROFILE:-release}"
case "$profile" in
  release) profile_args=(--release) ;;
  dev) profile_args=() ;;
  *) echo "PROFILE must be release or dev, not $profile" >&2; exit 2 ;;
esac

# Where cargo put the executable, from its own build messages: right whatever the target
# directory, profile or package.
built="$(cargo build "${profile_args[@]}" "${package_args[@]}" --bin "$name" \
    --message-format=json-render-diagnostics \
  | python3 -c '
import json, sys
name = sys.argv[1]
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message.get("executable") \
            and message["target"]["name"] == name:
        print(message["executable"])
' "$name" | tail -n 1)"
if [ -z "$built" ]; then
  echo "cargo built no executable named $name" >&2
  exit 1
fi
target_dir="$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"

out="$target_dir/lambda/$name"
mkdir -p "$out"
if [ "$extension" = true ]; then
  # A layer lands under /opt; Lambda starts every executable in /opt/extensions.
  entry="extensions/$name"
  archive_name="extension.zip"
else
  # Lambda runs the file named bootstrap at the root of the function's zip.
  entry="bootstrap"
  archive_name="bootstrap.zip"
fi
cp "$built" "$out/$(basename "$entry")"
chmod 755 "$out/$(basename "$entry")"
# The entry must keep its exec bit in the zip.
python3 - "$out" "$entry" "$archive_name" <<'PY'
import os, sys, zipfile
out, entry, archive_name = sys.argv[1:4]
archive = os.path.join(out, archive_name)
with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
    info = zipfile.ZipInfo(entry)
    info.external_attr = (0o100755 << 16)
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(os.path.join(out, os.path.basename(entry)), "rb") as f:
        zf.writestr(info, f.read())
print(f"{archive}: {os.path.getsize(archive)} bytes", file=sys.stderr)
print(archive)
PY
