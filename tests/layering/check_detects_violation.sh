#!/usr/bin/env bash
# Proves the layering check can fail: a copy of src/ with one deliberate upward include
# (core including a framework header) must be rejected, and the untouched copy accepted.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: check_detects_violation.sh SRC_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src" "$tmp/src"
if ! "$here/check_layering.sh" "$tmp/src" >/dev/null; then
  echo "FAIL: the check rejects the untouched tree"; exit 1
fi
printf '#include "framework/kernel.h"\n' > "$tmp/src/core/deliberate_violation.h"
if "$here/check_layering.sh" "$tmp/src" >"$tmp/out"; then
  echo "FAIL: the check accepted core including framework"; exit 1
fi
grep -q "core must not see framework" "$tmp/out" || { echo "FAIL: unexpected message:"; cat "$tmp/out"; exit 1; }
printf '#include <google/protobuf/message.h>\n' > "$tmp/src/graph/deliberate_violation.h"
rm "$tmp/src/core/deliberate_violation.h"
if "$here/check_layering.sh" "$tmp/src" >/dev/null; then
  echo "FAIL: the check accepted protobuf in graph/"; exit 1
fi
echo "ok: upward include and protobuf outside model/ are both rejected"
