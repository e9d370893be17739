#!/usr/bin/env bash
# Builds one example for the host architecture and writes target/lambda/<name>/bootstrap.zip,
# ready for `aws lambda create-function --runtime provided.al2023 --handler bootstrap
# --zip-file fileb://target/lambda/<name>/bootstrap.zip`.
#
#   scripts/package.sh hello              # release build (LTO, stripped)
#   PROFILE=dev scripts/package.sh hello  # quick build, for checking the packaging itself
set -euo pipefail
cd "$(dirname "$0")/.."

name="${1:?usage: scripts/package.sh <example-binary> (for example hello)}"
profile="${PROFILE:-release}"
case "$profile" in
  release) cargo build --release -p examples --bin "$name"; built="target/release/$name" ;;
  dev) cargo build -p examples --bin "$name"; built="target/debug/$name" ;;
  *) echo "PROFILE must be release or dev, not $profile" >&2; exit 2 ;;
esac

out="target/lambda/$name"
mkdir -p "$out"
cp "$built" "$out/bootstrap"
chmod 755 "$out/bootstrap"
# Lambda runs the file named bootstrap at the root of the zip; it must keep its exec bit.
python3 - "$out" <<'PY'
import os, sys, zipfile
out = sys.argv[1]
archive = os.path.join(out, "bootstrap.zip")
with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = (0o100755 << 16)
    info.compress_type = zipfile.ZIP_DEFLATED
    with open(os.path.join(out, "bootstrap"), "rb") as f:
        zf.writestr(info, f.read())
print(f"{archive}: {os.path.getsize(archive)} bytes")
PY
