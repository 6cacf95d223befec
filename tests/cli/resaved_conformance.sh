#!/usr/bin/env bash
# Every ONNX backend test case, re-saved by `tessera optimize`, still gives the reference outputs:
# each model is saved at LEVEL into a temporary copy of the case tree (data sets linked, not
# copied), then `tessera test` runs the copies at LEVEL against the same expected-failures list.
# Usage: resaved_conformance.sh TESSERA CASES_DIR EXPECTED_FAILURES [LEVEL (default disabled)] [EVERY]
# EVERY > 1 samples every EVERY-th case in name order (one process per save is the cost: the
# ctests sample 1 in 8 to keep CI short; the in-process round trip of every model is in
# tests/unit/model/model_writer_test.cc). Exit 77 (skipped) when CASES_DIR is absent.
set -u
export tessera=$1 expected=$3 level=${4:-disabled}
every=${5:-1}
root=$(cd "$2" 2>/dev/null && pwd) || root=$2  # absolute: the data sets are linked from elsewhere
if [ ! -d "$root" ]; then echo "no backend test data at $root: skipped"; exit 77; fi
out=$(mktemp -d)
export out
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/cases" "$out/problems"

# Saves one case's model; a model that does not load must be listed as expected to fail, and keeps
# its original so that `tessera test` reports it like the original run does.
save_case() {
  local model=$1
  local case_dir label dest
  case_dir=$(dirname "$model")
  label="$(basename "$(dirname "$case_dir")")/$(basename "$case_dir")"
  dest="$out/cases/$label"
  mkdir -p "$dest"
  for data_set in "$case_dir"/test_data_set_*; do ln -s "$data_set" "$dest/"; done
  if ! "$tessera" optimize "$model" -o "$dest/model.onnx" --opt-level "$level" >/dev/null 2>"$dest.stderr"; then
    if ! grep -q "^$label[[:space:]]" "$expected"; then
      echo "FAIL $label: tessera optimize failed: $(cat "$dest.stderr")" >"$out/problems/${label//\//_}"
    fi
    cp "$model" "$dest/model.onnx"
  fi
  rm -f "$dest.stderr"
}
export -f save_case

# Two at a time: most of the time goes to starting processes.
printf '%s\n' "$root"/*/*/model.onnx | awk -v every="$every" '(NR - 1) % every == 0' | xargs -P 2 -I{} bash -c 'save_case "$1"' _ {}
problems=$(ls "$out/problems" | wc -l)
cat "$out/problems"/* 2>/dev/null
echo "re-saved $(find "$out/cases" -name model.onnx | wc -l) models at opt-level $level"

# Only the expectations of the cases in the sample.
(cd "$out/cases" && ls -d */*) | awk 'NR == FNR { run[$1] = 1; next } /^#/ || NF == 0 || ($1 in run)' - "$expected" >"$out/expected.txt"
"$tessera" test "$out/cases" --expected-failures "$out/expected.txt" --jobs 2 --opt-level "$level" >"$out/test.log" 2>&1
rc=$?
grep -v "^XFAIL " "$out/test.log" | tail -8
[ "$rc" -eq 0 ] && [ "$problems" -eq 0 ]
