#!/usr/bin/env bash
# The latency cost of SessionOptions::deterministic on one model: `tessera bench` with and without
# --deterministic, alternated for ROUNDS rounds (a shared machine is noisy), best mean of each kept.
# Usage: bench/determinism_cost.sh MODEL [--tessera BIN] [--rounds N] [--runs N] [--threads N] [--dim NAME=VALUE]...
set -euo pipefail
model=${1:?usage: determinism_cost.sh MODEL [--tessera BIN] [--rounds N] [--runs N] [--threads N] [--dim NAME=VALUE]...}
shift
tessera=$(dirname "$0")/../build/tessera rounds=5 runs=20 threads=2 dims=()
while [ $# -gt 0 ]; do
  case $1 in
    --tessera) tessera=$2 ;;
    --rounds) rounds=$2 ;;
    --runs) runs=$2 ;;
    --threads) threads=$2 ;;
    --dim) dims+=(--dim "$2") ;;
    *) echo "unknown flag $1" >&2; exit 1 ;;
  esac
  shift 2
done
mean_ms() { "$tessera" bench "$model" --threads "$threads" --runs "$runs" --warmup 3 "${dims[@]}" --json "$@" |
  sed -E 's/.*"latency_ms": \{"min": [0-9.e+-]+, "mean": ([0-9.e+-]+).*/\1/'; }
best_plain='' best_det=''
for ((r = 0; r < rounds; r++)); do
  plain=$(mean_ms)
  det=$(mean_ms --deterministic)
  best_plain=$(printf '%s\n%s\n' "$plain" "${best_plain:-$plain}" | sort -g | head -1)
  best_det=$(printf '%s\n%s\n' "$det" "${best_det:-$det}" | sort -g | head -1)
  echo "round $((r + 1)): default ${plain} ms, deterministic ${det} ms"
done
awk -v a="$best_plain" -v b="$best_det" -v m="$model" -v t="$threads" \
  'BEGIN { printf "%s, %d threads, best mean of each: default %.3f ms, deterministic %.3f ms, cost %+.1f%%\n", m, t, a, b, 100 * (b / a - 1) }'
