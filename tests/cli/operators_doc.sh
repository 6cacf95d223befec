#!/usr/bin/env bash
# The checked-in docs/operators.md is what `tessera ops --markdown` prints today.
# Usage: operators_doc.sh path/to/tessera path/to/docs/operators.md
source "$(dirname "$0")/common.sh" "$@"
doc=$2
if ! "$tessera" ops --markdown >"$out/operators.md"; then
  fail "tessera ops --markdown exited non-zero"
elif ! diff -u "$doc" "$out/operators.md" >"$out/diff"; then
  fail "$doc is out of date: run scripts/gen_operators_doc.sh ($(grep -c '^[-+]|' "$out/diff") table lines differ)"
else
  echo "ok   $doc is up to date"
fi
finish "operators doc"
