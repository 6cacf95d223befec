#!/usr/bin/env bash
# Differential test: Tessera against ONNX Runtime (onnxruntime-node) on real-size models.
#
# Usage: tests/differential/run_differential.sh [options] [MODEL...]
#   MODEL            names from `gen_models.py --list` (default: all)
#   --tessera PATH   Tessera CLI (default: $TESSERA or build/tessera)
#   --cache DIR      model cache (default: $TESSERA_DIFF_CACHE or build/differential-models);
#                    models are generated there once, then reused
#   --ort-only       check only ORT against PyTorch's outputs (no Tessera needed)
#   --rtol R --atol A  tolerances (default 1e-3 / 1e-4)
#   --threads N      ORT intra-op threads (default 2)
# Prints one PASS/FAIL line per model and ends with `N passed, N failed`; exit 1 on any failure.
set -u -o pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PY=/usr/bin/python3
TESSERA="${TESSERA:-$REPO/build/tessera}"
CACHE="${TESSERA_DIFF_CACHE:-$REPO/build/differential-models}"
RTOL=1e-3 ATOL=1e-4 THREADS=2 ORT_ONLY=0
MODELS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tessera) TESSERA="$2"; shift 2 ;;
    --cache) CACHE="$2"; shift 2 ;;
    --ort-only) ORT_ONLY=1; shift ;;
    --rtol) RTOL="$2"; shift 2 ;;
    --atol) ATOL="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "run_differential: unknown option $1" >&2; exit 2 ;;
    *) MODELS+=("$1"); shift ;;
  esac
done
[ ${#MODELS[@]} -eq 0 ] && mapfile -t MODELS < <("$PY" "$HERE/gen_models.py" --list)
if [ "$ORT_ONLY" = 0 ] && [ ! -x "$TESSERA" ]; then
  echo "run_differential: Tessera CLI not found at $TESSERA (build target 'tessera', or pass --tessera PATH / --ort-only)" >&2
  exit 2
fi
mkdir -p "$CACHE"
LOG="$CACHE/logs"; mkdir -p "$LOG"

ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

passed=0 failed=0
for m in "${MODELS[@]}"; do
  dir="$CACHE/$m" data="$CACHE/$m/test_data_set_0"
  if ! "$PY" "$HERE/gen_models.py" --out "$CACHE" "$m" >"$LOG/$m.gen.log" 2>&1; then
    echo "FAIL $m: model generation failed (see $LOG/$m.gen.log)"; failed=$((failed + 1)); continue
  fi
  # ORT's outputs are cached beside the model; redone when the model is newer.
  if [ ! -f "$dir/ort_out/.done" ] || [ "$dir/model.onnx" -nt "$dir/ort_out/.done" ]; then
    rm -rf "$dir/ort_out"
    if ! node "$HERE/ort_run.js" "$dir/model.onnx" "$data" "$dir/ort_out" --threads "$THREADS" >"$LOG/$m.ort.log" 2>&1; then
      echo "FAIL $m: onnxruntime failed: $(tail -1 "$LOG/$m.ort.log")"; failed=$((failed + 1)); continue
    fi
    touch "$dir/ort_out/.done"
  fi
  if [ "$ORT_ONLY" = 1 ]; then
    # PyTorch vs ORT: checks the harness and the models themselves.
    if res=$("$PY" "$HERE/compare.py" "$data" "$dir/ort_out" --rtol "$RTOL" --atol "$ATOL"); then
      echo "PASS $m (ort vs torch): $res"; passed=$((passed + 1))
    else
      echo "FAIL $m (ort vs torch): $res"; failed=$((failed + 1))
    fi
    continue
  fi
  out="$dir/tessera_out"
  rm -rf "$out"
  t0=$(date +%s%N)
  if ! "$TESSERA" run "$dir/model.onnx" --data "$data" --output-dir "$out" >"$LOG/$m.tessera.log" 2>&1; then
    echo "FAIL $m: tessera run failed: $(grep -v '^\s*$' "$LOG/$m.tessera.log" | tail -1)"; failed=$((failed + 1)); continue
  fi
  took=$(ms_since "$t0")
  if res=$("$PY" "$HERE/compare.py" "$dir/ort_out" "$out" --rtol "$RTOL" --atol "$ATOL"); then
    echo "PASS $m (${took} ms incl. load): $res"; passed=$((passed + 1))
  else
    echo "FAIL $m: $res"; failed=$((failed + 1))
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
