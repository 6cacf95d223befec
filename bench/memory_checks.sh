#!/usr/bin/env bash
# Idle CPU, memory return and varying-shape RSS (issue 9's bounds), with build/bench/memory_checks.
# Usage: bench/memory_checks.sh [--threads N] [--runs N]
#   idle:      the bundled digits CNN, 20 runs, then CPU in the 10 ms..1 s after run() (< 2% of a
#              core) and a 6 Hz loop of runs for 3 s (<= 5%)
#   lifecycle: RSS before a session of ResNet-50 and BERT-small, after 5 runs, after destroying
#              it (within 5 MB)
#   shapes:    BERT-small, `--runs` runs (default 10000) with sequence in 1..64; RSS after warm-up
#              within +-2%
# Models are the differential-test ones (tests/differential/gen_models.py writes them to
# build/differential-models; MODELS=DIR to read them elsewhere). Exits non-zero when any figure
# is over its bound.
set -u -o pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${MEMORY_CHECKS:-$REPO/build/bench/memory_checks}"
MODELS="${MODELS:-$REPO/build/differential-models}"
THREADS=2 RUNS=10000
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "memory_checks: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "memory_checks: $BIN not built (make memory_checks in build/)" >&2; exit 2; }
status=0
check() {
  echo "== $*"
  "$BIN" "$@" --threads "$THREADS" || status=1
}
check idle "$REPO/models/digits/model.onnx"
for m in resnet50 bert_small; do
  if [ -f "$MODELS/$m/model.onnx" ]; then check lifecycle "$MODELS/$m/model.onnx"; else echo "== lifecycle $m: skipped (no $MODELS/$m/model.onnx)"; fi
done
if [ -f "$MODELS/bert_small/model.onnx" ]; then
  check shapes "$MODELS/bert_small/model.onnx" --dim sequence --max 64 --runs "$RUNS"
else
  echo "== shapes: skipped (no $MODELS/bert_small/model.onnx)"
fi
exit $status
