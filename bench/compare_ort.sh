#!/usr/bin/env bash
# Latency of one model in ONNX Runtime (onnxruntime-node) and in Tessera, same machine, same run.
#
# Usage: bench/compare_ort.sh MODEL [options]
#   --threads N       intra-op threads for both (default 2)
#   --runs N          timed runs per round (default 20)
#   --warmup N        untimed runs first (default 3)
#   --rounds N        alternate ORT/Tessera this many times and keep each one's best round
#                     (default 2; the 2 cores are shared, so one round can be unlucky)
#   --dim NAME=VALUE  size of a symbolic input dimension (default 1), e.g. --dim batch=8
#   --tessera PATH    Tessera CLI (default: $TESSERA or build/tessera)
#   --ort-only        time only ORT
# Both sides feed random inputs of the same shapes: ORT through bench/ort_bench.js, Tessera
# through `tessera bench MODEL --threads --runs --warmup --dim`. Prints p50/p90 per runtime
# and the p50 ratio.
set -u -o pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
TESSERA="${TESSERA:-$REPO/build/tessera}"
THREADS=2 RUNS=20 WARMUP=3 ROUNDS=2 ORT_ONLY=0 MODEL=""
DIMS=()
usage() { sed -n '2,17p' "$0"; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --dim) DIMS+=(--dim "$2"); shift 2 ;;
    --tessera) TESSERA="$2"; shift 2 ;;
    --ort-only) ORT_ONLY=1; shift ;;
    -h|--help) usage 0 ;;
    -*) echo "compare_ort: unknown option $1" >&2; exit 2 ;;
    *) [ -n "$MODEL" ] && { echo "compare_ort: one model at a time" >&2; exit 2; }; MODEL="$1"; shift ;;
  esac
done
[ -z "$MODEL" ] && usage 2
[ -f "$MODEL" ] || { echo "compare_ort: no such model: $MODEL" >&2; exit 2; }
if [ "$ORT_ONLY" = 0 ] && [ ! -x "$TESSERA" ]; then
  echo "compare_ort: Tessera CLI not found at $TESSERA (pass --tessera PATH or --ort-only)" >&2; exit 2
fi

# key: value output -> "load p50 p90 rss"
fields() { awk -F': ' '{v[$1]=$2} END {printf "%s %s %s %s\n", v["load_ms"], v["latency_ms_p50"], v["latency_ms_p90"], v["peak_rss_mb"]}'; }
# Keeps the line with the lower p50 (field 2).
better() { if [ -z "$1" ]; then echo "$2"; else awk -v a="$1" -v b="$2" 'BEGIN {split(a,x," "); split(b,y," "); print (y[2] < x[2] ? b : a)}'; fi; }

common=(--threads "$THREADS" --runs "$RUNS" --warmup "$WARMUP" "${DIMS[@]}")
ort_best="" tes_best=""
for ((r = 0; r < ROUNDS; r++)); do
  if ! out=$(node "$HERE/ort_bench.js" "$MODEL" "${common[@]}" 2>&1); then
    echo "compare_ort: onnxruntime failed: $out" >&2; exit 1
  fi
  ort_best=$(better "$ort_best" "$(fields <<<"$out")")
  [ "$ORT_ONLY" = 1 ] && continue
  if ! out=$("$TESSERA" bench "$MODEL" "${common[@]}" 2>&1); then
    echo "compare_ort: tessera bench failed: $(tail -1 <<<"$out")" >&2
    ORT_ONLY=1 TES_FAILED=1
    continue
  fi
  tes_best=$(better "$tes_best" "$(fields <<<"$out")")
done

echo "model: $MODEL  (threads $THREADS, $RUNS runs after $WARMUP warmup, best of $ROUNDS rounds${DIMS:+, ${DIMS[*]}})"
printf "%-8s %10s %10s %10s %12s\n" runtime load_ms p50_ms p90_ms peak_rss_mb
# shellcheck disable=SC2086  # the fields are meant to split
printf "%-8s %10s %10s %10s %12s\n" ort $ort_best
if [ -n "$tes_best" ]; then
  # shellcheck disable=SC2086
  printf "%-8s %10s %10s %10s %12s\n" tessera $tes_best
  awk -v a="$ort_best" -v b="$tes_best" 'BEGIN {split(a,o," "); split(b,t," ");
    r = t[2] / o[2];
    printf "tessera/ort p50 ratio: %.2f (%s)\n", r, r <= 1 ? sprintf("Tessera %.2fx faster", 1 / r) : sprintf("Tessera %.2fx slower", r)}'
fi
[ "${TES_FAILED:-0}" = 0 ]
