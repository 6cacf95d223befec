#!/usr/bin/env bash
# Every ONNX backend test case, re-saved by `tessera optimize`, still gives the reference outputs:
# each model is saved at LEVEL into a temporary copy of the case tree (data sets linked, not
# copied), then `tessera test` runs the copies against the same expected-failures list.
# Usage: resaved_conformance.sh TESSERA CASES_DIR EXPECTED_FAILURES [LEVEL (default disabled)]
# Exit 77 (skipped) when CASES_DIR is absent.
set -u
tessera=$1 root=$2 expected=$3 level=${4:-disabled}
if [ ! -d "$root" ]; then echo "no backend test data at $root: skipped"; exit 77; fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
problems=0 saved=0

for model in "$root"/*/*/model.onnx; do
  case_dir=$(dirname "$model")
  label="$(basename "$(dirname "$case_dir")")/$(basename "$case_dir")"
  dest="$out/cases/$label"
  mkdir -p "$dest"
  for data_set in "$case_dir"/test_data_set_*; do ln -s "$data_set" "$dest/"; done
  if "$tessera" optimize "$model" -o "$dest/model.onnx" --opt-level "$level" >/dev/null 2>"$out/stderr"; then
    saved=$((saved + 1))
  else
    # A case Tessera cannot load is listed as expected to fail; it keeps its original model, so
    # that `tessera test` reports it like the original run does.
    if ! grep -q "^$label[[:space:]]" "$expected"; then
      echo "FAIL $label: tessera optimize failed: $(cat "$out/stderr")"
      problems=$((problems + 1))
    fi
    cp "$model" "$dest/model.onnx"
  fi
done
echo "re-saved $saved models at opt-level $level"

"$tessera" test "$out/cases" --expected-failures "$expected" --jobs 2 --opt-level "$level" >"$out/test.log" 2>&1
rc=$?
grep -v "^XFAIL " "$out/test.log" | tail -5
[ "$rc" -eq 0 ] && [ "$problems" -eq 0 ]
