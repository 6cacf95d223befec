#!/usr/bin/env bash
# Models saved by ONNX Runtime's own optimizer (level extended: com.microsoft FusedConv,
# FusedGemm, FusedMatMul, BiasGelu, ...) run in Tessera with ONNX Runtime's outputs on the same
# saved model (rtol 1e-3 / atol 1e-4).
# Usage: ort_optimized_models.sh TESSERA CASE_DIR...   (each with model.onnx and test_data_set_0/)
# Exit 77 (skipped) when node, onnxruntime-node (see tests/differential/ort_loader.js), numpy or
# every model is missing; a missing model is reported as SKIP.
set -u -o pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIFF="$HERE/../differential"
PY=/usr/bin/python3
tessera=$1
shift
source "$DIFF/require_ort.sh"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

passed=0 failed=0
for case_dir in "$@"; do
  name=$(basename "$case_dir")
  if [ ! -f "$case_dir/model.onnx" ]; then echo "SKIP $name: no model at $case_dir"; continue; fi
  data="$case_dir/test_data_set_0" work="$out/$name"
  mkdir -p "$work"
  fail() { echo "FAIL $name: $1"; failed=$((failed + 1)); }
  if ! node "$HERE/ort_optimize.js" "$case_dir/model.onnx" "$work/model.onnx" --level extended >"$work/optimize.log" 2>&1; then
    fail "onnxruntime's optimizer: $(tail -1 "$work/optimize.log")"; continue
  fi
  ops=$("$PY" -c "import onnx,sys,collections; m=onnx.load(sys.argv[1]); c=collections.Counter(n.op_type for n in m.graph.node if n.domain=='com.microsoft'); print(' '.join(f'{k}x{v}' for k,v in sorted(c.items())) or 'none')" "$work/model.onnx" 2>/dev/null || echo "?")
  if ! node "$DIFF/ort_run.js" "$work/model.onnx" "$data" "$work/ort" --opt disabled >"$work/ort.log" 2>&1; then
    fail "onnxruntime on the saved model: $(tail -1 "$work/ort.log")"; continue
  fi
  if ! "$tessera" run "$work/model.onnx" --data "$data" --output-dir "$work/tessera" >"$work/tessera.log" 2>&1; then
    fail "tessera run: $(grep -v '^\s*$' "$work/tessera.log" | tail -1)"; continue
  fi
  if ! res=$("$PY" "$DIFF/compare.py" "$work/ort" "$work/tessera" --rtol 1e-3 --atol 1e-4); then
    fail "outputs differ from onnxruntime's (com.microsoft ops: $ops): $res"; continue
  fi
  echo "PASS $name (com.microsoft ops: $ops): $res"
  passed=$((passed + 1))
done
echo "$passed passed, $failed failed"
[ "$passed" -eq 0 ] && [ "$failed" -eq 0 ] && { echo "no model found: skipped"; exit 77; }
[ "$failed" -eq 0 ]
