#!/usr/bin/env bash
# The parallel execution mode against the sequential one, in Tessera and ONNX Runtime, same run.
#
# Usage: bench/inter_op_bench.sh MODEL [options]
#   --intra LIST      intra-op thread counts (default 1,2)
#   --inter LIST      inter-op thread counts; 1 = sequential mode (default 1,2)
#   --runs N          timed runs per measurement (default 20)
#   --warmup N        untimed runs first (default 3)
#   --rounds N        rounds; each round times every (intra, inter) pair once in Tessera and in
#                     ORT, interleaved, and each pair keeps its best p50 (default 3: the 2 cores
#                     are shared)
#   --dim NAME=VALUE  size of a symbolic input dimension (default 1)
#   --tessera PATH    Tessera CLI (default: $TESSERA or build/tessera)
# Tessera: `tessera bench --threads INTRA --inter-op-threads INTER`; ORT: bench/ort_bench.js with
# the same counts (executionMode 'parallel' when INTER is not 1). Prints the best p50 per pair
# and runtime, and each runtime's speed-up of every INTER over INTER 1 at the same INTRA.
set -u -o pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
TESSERA="${TESSERA:-$REPO/build/tessera}"
INTRA=1,2 INTER=1,2 RUNS=20 WARMUP=3 ROUNDS=3 MODEL=""
DIMS=()
usage() { sed -n '2,18p' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --intra) INTRA="$2"; shift 2 ;;
    --inter) INTER="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --dim) DIMS+=(--dim "$2"); shift 2 ;;
    --tessera) TESSERA="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    -*) echo "inter_op_bench: unknown option $1" >&2; exit 2 ;;
    *) [ -n "$MODEL" ] && { echo "inter_op_bench: one model at a time" >&2; exit 2; }; MODEL="$1"; shift ;;
  esac
done
[ -z "$MODEL" ] && usage 2
[ -f "$MODEL" ] || { echo "inter_op_bench: no such model: $MODEL" >&2; exit 2; }
[ -x "$TESSERA" ] || { echo "inter_op_bench: Tessera CLI not found at $TESSERA (--tessera PATH)" >&2; exit 2; }

p50() { awk -F': ' '$1 == "latency_ms_p50" {print $2}'; }
declare -A best
keep() {  # keep KEY VALUE: the lower p50
  if [ -z "${best[$1]:-}" ] || awk -v a="$2" -v b="${best[$1]}" 'BEGIN {exit !(a < b)}'; then best[$1]=$2; fi
}
common=(--runs "$RUNS" --warmup "$WARMUP" "${DIMS[@]}")
IFS=, read -r -a intras <<<"$INTRA"
IFS=, read -r -a inters <<<"$INTER"
for ((r = 0; r < ROUNDS; r++)); do
  for intra in "${intras[@]}"; do
    for inter in "${inters[@]}"; do
      out=$("$TESSERA" bench "$MODEL" --threads "$intra" --inter-op-threads "$inter" "${common[@]}" 2>&1) ||
        { echo "inter_op_bench: tessera bench failed: $(tail -1 <<<"$out")" >&2; exit 1; }
      keep "tessera $intra $inter" "$(p50 <<<"$out")"
      out=$(node "$HERE/ort_bench.js" "$MODEL" --threads "$intra" --inter-op-threads "$inter" "${common[@]}" 2>&1) ||
        { echo "inter_op_bench: onnxruntime failed: $out" >&2; exit 1; }
      keep "ort $intra $inter" "$(p50 <<<"$out")"
    done
  done
done

echo "model: $MODEL  ($RUNS runs after $WARMUP warmup, best of $ROUNDS interleaved rounds${DIMS:+, ${DIMS[*]}})"
printf "%6s %6s %12s %12s %12s %12s %12s\n" intra inter tessera_p50 ort_p50 tessera/ort tessera_gain ort_gain
for intra in "${intras[@]}"; do
  for inter in "${inters[@]}"; do
    t=${best["tessera $intra $inter"]} o=${best["ort $intra $inter"]}
    t1=${best["tessera $intra ${inters[0]}"]} o1=${best["ort $intra ${inters[0]}"]}
    awk -v i="$intra" -v n="$inter" -v t="$t" -v o="$o" -v t1="$t1" -v o1="$o1" \
      'BEGIN {printf "%6s %6s %12.3f %12.3f %12.2f %11.2fx %11.2fx\n", i, n, t, o, t / o, t1 / t, o1 / o}'
  done
done
