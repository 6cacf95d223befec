#!/usr/bin/env bash
# Cold and dynamic-shape figures of issue 9, with build/bench/cold_dynamic.
# Usage: bench/cold_dynamic.sh [--threads 1,2] [--runs 20] [--rounds 3]
#   cold:   MobileNetV2, ResNet-50, EfficientNet-B0 (batch 1) and BERT-base (1 x 128): session
#           creation, the first run and the median of the steady runs after it, with the page
#           faults of each; target first / steady <= 1.5. Each model three times: "default"
#           (the symbolic batch as declared, SessionOptions' defaults: the warm-up at session
#           creation takes it as 1), "no warm-up" (warm_up off: the first run pays) and "fixed"
#           (the dims as free_dimension_overrides, with the warm-up)
#   unseen: BERT-small with its sequence dim symbolic, run steadily at 16, 32 and 64, then at 48
#           for the first time, against a session of the same model with the dims fixed to 1 x 48
#           (written by python3-onnx to a temporary folder); target: the first run at the new
#           shape within 10% of the static session's steady run
# Models are the differential-test ones (tests/differential/gen_models.py writes them to
# build/differential-models; MODELS=DIR to read them elsewhere). Each figure is the best of
# --rounds rounds (sessions made anew each round). Figures only: no bound fails it.
set -u -o pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${COLD_DYNAMIC:-$REPO/build/bench/cold_dynamic}"
MODELS="${MODELS:-$REPO/build/differential-models}"
PYTHON="${PYTHON:-/usr/bin/python3}"
THREADS=1,2 RUNS=20 ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "cold_dynamic: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "cold_dynamic: $BIN not built (make cold_dynamic in build/)" >&2; exit 2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for t in ${THREADS//,/ }; do
  for m in mobilenet_v2 resnet50 efficientnet_b0 bert_base; do
    model="$MODELS/$m/model.onnx"
    [ -f "$model" ] || { echo "== cold $m: skipped (no $model)"; continue; }
    for config in "default:--fixed 0 --warm-up 1" "no warm-up:--fixed 0 --warm-up 0" "fixed dims + warm-up:--fixed 1 --warm-up 1"; do
      echo "== cold $m, $t threads, ${config%%:*}"
      # shellcheck disable=SC2086 # the flags split on purpose
      "$BIN" cold "$model" --threads "$t" --runs "$RUNS" --rounds "$ROUNDS" --dim batch=1 --dim sequence=128 ${config#*:}
    done
  done
  model="$MODELS/bert_small/model.onnx"
  [ -f "$model" ] || { echo "== unseen: skipped (no $model)"; continue; }
  if [ ! -f "$tmp/static.onnx" ]; then
    "$PYTHON" - "$model" "$tmp/static.onnx" <<'PY' || { echo "== unseen: skipped (python3-onnx could not fix the dims)"; continue; }
import sys, onnx
m = onnx.load(sys.argv[1])
for i in m.graph.input:
    for d in i.type.tensor_type.shape.dim:
        if d.dim_param:
            d.dim_value = {"batch": 1, "sequence": 48}[d.dim_param]
onnx.save(m, sys.argv[2])
PY
  fi
  echo "== unseen bert_small (sequence 48 after 16, 32, 64), $t threads"
  "$BIN" unseen "$model" "$tmp/static.onnx" --threads "$t" --runs "$RUNS" --rounds "$ROUNDS" --seen 16,32,64 --dim batch=1 --dim sequence=48
done
