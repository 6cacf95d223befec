#!/usr/bin/env bash
# Runs each libFuzzer target for a while and reports executions, exec/s and findings per target.
#   tests/fuzz/run_long.sh [-t SECONDS] [-j JOBS] [-b BUILD] [-o OUT] [-s SEEDS] [TARGET...]
#   -t  seconds per target (default 7200: two hours); -j  targets run at once (default 1)
#   -b  build folder of the fuzz preset (default build-fuzz); -o  where corpora, findings and
#       logs go (default fuzz-out); -s  a seed folder made by make_seeds.sh (default: made in OUT)
# FUZZ_FLAGS in the environment adds libFuzzer flags (e.g. -keep_seed=1, -dict=FILE).
# Findings (crash-*, leak-*, timeout-*, oom-*) land in OUT/<target>/; reproduce one with
# `BUILD/tests/fuzz/<target> FILE`, shrink it with `<target> -minimize_crash=1 -runs=10000 FILE`.
# Exits 1 when any target found something in this run (files from earlier runs in OUT do not
# count). Each target stops at its first finding (libFuzzer's default): fix it, then run again.
# Resuming: run again with the same OUT; the grown corpora are kept, and each run appends one line
# per target to OUT/runs.log (date, target, seconds, executions, exec/s, findings), so the
# executions of all runs can be summed honestly:
#   awk '{ n[$2] += $4 } END { for (t in n) print t, n[t] }' OUT/runs.log
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds=7200 jobs=1 build="$root/build-fuzz" out="$root/fuzz-out" seeds=""
while getopts "t:j:b:o:s:" opt; do
  case "$opt" in
    t) seconds="$OPTARG" ;; j) jobs="$OPTARG" ;; b) build="$OPTARG" ;; o) out="$OPTARG" ;; s) seeds="$OPTARG" ;;
    *) sed -n 2,10p "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_model_load fuzz_session_run fuzz_value_decode)
mkdir -p "$out"
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
stamp="$(mktemp "$out/.started.XXXXXX")"  # findings newer than this are this run's
trap 'rm -f "$stamp"' EXIT
if [ -z "$seeds" ]; then
  seeds="$out/seeds"
  [ -d "$seeds" ] || "$root/tests/fuzz/make_seeds.sh" "$seeds"
fi

# Leaks are findings; a run that asks for more than 2 GiB is reported as an OOM finding.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# -entropic=0: libFuzzer's default entropic schedule updated per-feature frequencies after every
# input, which with the whole runtime instrumented (282 K counters) took 60% of the session
# targets' CPU (perf). Off, the same 1,500 inputs from the same seeds took 2.5-2.9x less CPU
# for the same coverage (docs/testing.md); FUZZ_FLAGS=-entropic=1 turns it back on.
run_target() {
  local target="$1" dir="$out/$1"
  mkdir -p "$dir/corpus"
  # New coverage goes to corpus/ (kept between runs), the seeds are read only.
  "$build/tests/fuzz/$target" "$dir/corpus" "$seeds/$target" -max_total_time="$seconds" -timeout=20 \
    -rss_limit_mb=2048 -max_len=65536 -entropic=0 -print_final_stats=1 -artifact_prefix="$dir/" ${FUZZ_FLAGS:-} \
    >"$dir/log.txt" 2>&1 || true
}
running=0
for target in "${targets[@]}"; do
  [ -x "$build/tests/fuzz/$target" ] || { echo "run_long: no $build/tests/fuzz/$target (cmake --preset fuzz)" >&2; exit 2; }
  run_target "$target" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait

status=0
printf "%-20s %12s %8s %9s  %s\n" target executions exec/s findings files
for target in "${targets[@]}"; do
  dir="$out/$target"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log.txt" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log.txt" | tail -1)
  found=$(find "$dir" -maxdepth 1 -newer "$stamp" \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
  count=$(printf "%s" "$found" | grep -c . || true)
  [ "$count" -eq 0 ] || status=1
  printf "%-20s %12s %8s %9s  %s\n" "$target" "${execs:-?}" "${rate:-?}" "$count" "$(echo $found)"
  printf "%s %s %s %s %s %s\n" "$started" "$target" "$seconds" "${execs:-0}" "${rate:-0}" "$count" >>"$out/runs.log"
done
exit "$status"
