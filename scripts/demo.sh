#!/usr/bin/env bash
# Tessera demo: classify handwritten digits with the bundled model (models/digits, a small CNN
# trained by scripts/train_digits.py on scikit-learn's 8x8 digits, 99.3% test accuracy).
# Usage: scripts/demo.sh [--tessera PATH]   (default: $TESSERA or build/tessera)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TESSERA="${TESSERA:-$REPO/build/tessera}"
if [ "${1:-}" = "--tessera" ]; then TESSERA="$2"; fi
MODEL="$REPO/models/digits/model.onnx"
SAMPLES="$REPO/models/digits/samples"
[ -x "$TESSERA" ] || { echo "demo: no Tessera CLI at $TESSERA; build it first (scripts/build.sh)" >&2; exit 2; }
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

status=0
if command -v python3 >/dev/null; then
  echo "\$ tessera run models/digits/model.onnx --data models/digits/samples --output-dir OUT"
  summary=$("$TESSERA" run "$MODEL" --data "$SAMPLES" --output-dir "$OUT")
  echo
  python3 "$REPO/scripts/digits_report.py" "$SAMPLES" "$OUT" || status=$?
else  # no python3: Tessera's own summary, which names the top class of each row
  echo "\$ tessera run models/digits/model.onnx --data models/digits/samples"
  summary=$("$TESSERA" run "$MODEL" --data "$SAMPLES")
  echo "$summary" | sed '$d'
  echo "  labels:           $(sed 's/.*"labels": *\[\([^]]*\)\].*/\1/; s/,//g' "$SAMPLES/labels.json")"
fi
# `tessera run` ends with "load X ms, run Y ms": one cold run, batch of 10.
echo "cold: ${summary##*$'\n'} (batch of 10, first run)"
bench=$("$TESSERA" bench "$MODEL" --dim batch=10 --runs 200 --warmup 20 --threads 1)
awk -F': ' '/latency_ms_p50/ {p50=$2} /latency_ms_p90/ {p90=$2}
  END {printf "warm: %.3f ms p50, %.3f ms p90 per batch of 10 (tessera bench, 1 thread, 200 runs)\n", p50, p90}' <<<"$bench"
exit "$status"
