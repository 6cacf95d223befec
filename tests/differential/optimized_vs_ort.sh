#!/usr/bin/env bash
# A model saved by `tessera optimize --opt-level basic` gives ONNX Runtime (onnxruntime-node) the
# same outputs as the original model, and the reference outputs of its data set.
# Usage: optimized_vs_ort.sh TESSERA CASE_DIR...   (each with model.onnx and test_data_set_0/)
# Exit 77 (skipped) when node, onnxruntime-node (see ort_loader.js) or numpy is missing.
set -u -o pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY=/usr/bin/python3
tessera=$1
shift
source "$HERE/require_ort.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

passed=0 failed=0
for case_dir in "$@"; do
  name=$(basename "$case_dir")
  if [ ! -f "$case_dir/model.onnx" ]; then echo "SKIP $name: no model at $case_dir"; continue; fi
  data="$case_dir/test_data_set_0" work="$out/$name"
  mkdir -p "$work"
  fail() { echo "FAIL $name: $1"; failed=$((failed + 1)); }
  if ! "$tessera" optimize "$case_dir/model.onnx" -o "$work/model.onnx" --opt-level basic >"$work/optimize.log" 2>&1; then
    fail "tessera optimize: $(tail -1 "$work/optimize.log")"; continue
  fi
  # ORT's own optimizer is off, so each model runs in ORT as written.
  if ! node "$HERE/ort_run.js" "$case_dir/model.onnx" "$data" "$work/original" --opt disabled >"$work/ort.log" 2>&1; then
    fail "onnxruntime on the original: $(tail -1 "$work/ort.log")"; continue
  fi
  if ! node "$HERE/ort_run.js" "$work/model.onnx" "$data" "$work/optimized" --opt disabled >"$work/ort.log" 2>&1; then
    fail "onnxruntime on the optimized model: $(tail -1 "$work/ort.log")"; continue
  fi
  if ! same=$("$PY" "$HERE/compare.py" "$work/original" "$work/optimized" --rtol 1e-5 --atol 1e-6); then
    fail "outputs differ from the original's: $same"; continue
  fi
  if ! reference=$("$PY" "$HERE/compare.py" "$data" "$work/optimized"); then
    fail "outputs differ from the reference: $reference"; continue
  fi
  echo "PASS $name: $same"
  passed=$((passed + 1))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
