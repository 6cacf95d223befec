#!/usr/bin/env bash
# The sanitizer stage (docs/testing.md). Run by hand or nightly with its defaults (the full stage);
# .ci/run runs a sample of it after scripts/test.sh (EVERY=8 FUZZ_SECONDS=60 TSAN=0, its header
# says why and what it costs). Two builds:
#   build-fuzz/ (preset fuzz: clang, ASan + UBSan, libraries instrumented for libFuzzer) serves
#     1. every unit test under ASan + UBSan + LSan, in nproc shards at once (UNIT_FILTER narrows
#        them);
#     2. the whole ONNX conformance suite at optimization levels all and disabled, against
#        tests/conformance_expected_failures.txt;
#     3. each libFuzzer target for FUZZ_SECONDS (default 60; nproc targets at once) from seeds of
#        every EVERY-th conformance case (default 4; tests/fuzz/make_seeds.sh);
#   build-tsan/ (preset tsan; only with TSAN=1, the default) builds only tessera_tsan_tests: the
#     thread pool's, the profiler's and the session concurrency tests (tests/CMakeLists.txt)
#     under TSan.
# Both builds compile the CPU kernels and the test code at -O0, and under ASan without UBSan
# (cmake/sanitizers.cmake says why); neither builds the server or the Python package.
# Findings fail the stage, after every phase has run (a failed build stops it at once). No
# suppressions: add one only for third-party code (oneDNN, OpenMP, protobuf), with its reason,
# as LSAN_OPTIONS/TSAN_OPTIONS suppressions=FILE.
# Environment: EVERY, FUZZ_SECONDS, TSAN, UNIT_FILTER, BACKEND_TESTS (default ../shared/onnx-backend-tests).
# Needs clang and libclang-rt-14-dev (scripts/install_deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
every="${EVERY:-4}"
fuzz_seconds="${FUZZ_SECONDS:-60}"
tsan="${TSAN:-1}"
backend_tests="${BACKEND_TESTS:-../shared/onnx-backend-tests}"
jobs="$(nproc)"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1"
# Each phase prints the wall time so far and the CPU time its children used (user, sys). `times`
# runs in this shell, not in a $(...) subshell, which would report only its own children.
phase() {
  times >"$work/times"
  echo "== $1 (at ${SECONDS} s; CPU so far: $(tail -n 1 "$work/times"))"
}
# A failing run phase is recorded and the next phases still run, so one run reports every
# finding; the stage fails at the end. A failing build stops it at once.
failed=()
fail() { echo "== FAILED: $1"; failed+=("$1"); }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

phase "ASan + UBSan build: the fuzz targets (build-fuzz)"
cmake --preset fuzz -DTESSERA_WERROR="${TESSERA_WERROR:-OFF}" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_model_load fuzz_session_run fuzz_value_decode
phase "ASan + UBSan build: the unit tests and the CLI"
cmake --build build-fuzz -j"$jobs" --target tessera_unit_tests tessera_cli

phase "unit tests under ASan + UBSan + LSan, ${jobs} shards"
# gtest's sharding splits the tests among the shards; if one fails, every shard's log is printed.
for ((i = 0; i < jobs; ++i)); do
  (cd build-fuzz/tests && GTEST_TOTAL_SHARDS="$jobs" GTEST_SHARD_INDEX="$i" \
     ./tessera_unit_tests --gtest_brief=1 --gtest_filter="${UNIT_FILTER:-*}" >"$work/unit_$i.txt" 2>&1) &
done
unit_status=0
for ((i = 0; i < jobs; ++i)); do wait -n || unit_status=1; done
if [ "$unit_status" -ne 0 ]; then
  tail -n 60 "$work"/unit_*.txt
  fail "unit tests under ASan + UBSan + LSan"
else
  tail -q -n 2 "$work"/unit_*.txt
fi

# The whole suite, at both levels like scripts/test.sh: under ASan it takes about a CPU-minute per
# level (docs/testing.md), so it is not sampled.
if [ -d "$backend_tests" ]; then
  for level in all disabled; do
    phase "conformance under ASan + UBSan + LSan, optimization ${level}"
    build-fuzz/tessera test "$backend_tests" --jobs "$jobs" --opt-level "$level" \
      --expected-failures tests/conformance_expected_failures.txt >"$work/conformance.txt" ||
      { grep -v "^XFAIL " "$work/conformance.txt"; fail "conformance under ASan, ${level}"; }
    tail -n 2 "$work/conformance.txt"
  done
else
  phase "no conformance cases at $backend_tests: skipped"
fi

phase "fuzz targets, ${fuzz_seconds} s each, ${jobs} at once"
tests/fuzz/make_seeds.sh "$work/seeds" "$backend_tests" "$every"
# Findings stay in build-fuzz/stage-fuzz/<target>/ for reproduction (tests/fuzz/run_long.sh).
rm -rf build-fuzz/stage-fuzz
tests/fuzz/run_long.sh -t "$fuzz_seconds" -j "$jobs" -b build-fuzz -o build-fuzz/stage-fuzz -s "$work/seeds" ||
  { tail -n 40 build-fuzz/stage-fuzz/*/log.txt; fail "fuzz targets"; }

if [ "$tsan" = 1 ]; then
  phase "TSan build (build-tsan, tessera_tsan_tests only)"
  cmake --preset tsan -DTESSERA_WERROR="${TESSERA_WERROR:-OFF}" >/dev/null
  cmake --build build-tsan -j"$jobs" --target tessera_tsan_tests

  phase "thread pool, profiler and session concurrency tests under TSan"
  (cd build-tsan/tests && ./tessera_tsan_tests --gtest_brief=1) || fail "concurrency tests under TSan"
else
  phase "TSan skipped (TSAN=0)"
fi
if [ ${#failed[@]} -gt 0 ]; then
  phase "sanitizer stage FAILED: $(IFS=,; echo "${failed[*]}")"
  exit 1
fi
phase "sanitizer stage passed"
